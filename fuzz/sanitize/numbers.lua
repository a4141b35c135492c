-- fuzz/sanitize/numbers.lua: prints a digest of json_encode over N pseudo-random doubles
-- (raw bit patterns, everyday magnitudes 1e-7..1e21, and prices in cents). check-valgrind
-- compares the digest of a native run with one under memcheck: natively json.c formats
-- most of these on its x87 fast path, under valgrind (no 80-bit precision) on the fallback,
-- and both must write the same bytes.
--   lua5.4 fuzz/sanitize/numbers.lua [N]
local core = require "medusa.core"

local n = tonumber(arg[1]) or 30000
local state = 0x2545F4914F6CDD1D
local function next64()
  state = state ~ (state << 13)
  state = state ~ (state >> 7)
  state = state ~ (state << 17)
  return state
end

local hash, fast_range = 0xcbf29ce484222325, 0
for i = 1, n do
  local x = next64()
  local d
  if i % 3 == 0 then
    d = string.unpack("<d", string.pack("<i8", x))
  elseif i % 3 == 1 then
    d = ((x >> 11) * 2.0 ^ -53) * 10.0 ^ ((x & 31) - 7)
  else
    d = (x >> 1) % 1000000000 / 100
  end
  if d == d and d ~= math.huge and d ~= -math.huge then
    local text = core.json_encode(d)
    if math.abs(d) >= 1e-7 and math.abs(d) < 1e22 then fast_range = fast_range + 1 end
    for k = 1, #text do hash = (hash ~ text:byte(k)) * 0x100000001b3 end
  end
end
print(("numbers: %d doubles (%d in the fast path's range), digest %016x"):format(n, fast_range, hash))
