-- fuzz/seeds.lua: writes the seed corpora fuzz/corpus/<target>/ from the recorded traffic
-- of a real Medusa backend (../shared/reference/recordings), so the fuzzers start from what
-- the client really sends and receives. Run by `make fuzz-seeds`; the output is committed,
-- so the repository needs no recordings to fuzz.
--   lua5.4 fuzz/seeds.lua RECORDINGS_DIR OUT_DIR   (LUA_CPATH with build/5.4, LUA_PATH with fuzz/)
local core = require "medusa.core"
local V = require "fuzz.lib.value"

local recordings, out_dir = arg[1], arg[2]
assert(recordings and out_dir, "usage: seeds.lua RECORDINGS_DIR OUT_DIR")

local function read(path)
  local f = assert(io.open(path, "rb"))
  local s = f:read("a")
  f:close()
  return s
end

local counts = {}
local function seed(target, name, bytes)
  local f = assert(io.open(("%s/%s/%s"):format(out_dir, target, name), "wb"))
  f:write(bytes)
  f:close()
  counts[target] = (counts[target] or 0) + 1
end

local files = {}
for name in io.popen("ls " .. recordings):lines() do
  if name:match("%.json$") then files[#files + 1] = name end
end

local function u16(n) return string.char(n // 256 % 256, n % 256) end

for _, name in ipairs(files) do
  local base = name:gsub("%.json$", "")
  local text = read(recordings .. "/" .. name)
  local doc = core.json_decode(text)
  -- the recording itself (pretty-printed JSON), and each body as the wire carries it
  seed("json_decode", base, text)
  seed("json_roundtrip", base, text)
  local req, res = doc.request, doc.response
  if type(res) == "table" then
    if type(res.body) == "table" then
      local body = core.json_encode(res.body)
      seed("json_decode", base .. "-response", body)
      seed("json_roundtrip", base .. "-response", body)
      seed("json_encode", base .. "-response", V.program(res.body))
      seed("query", base .. "-response", V.program(res.body))
    end
    -- the response head as libcurl hands it over, under a generous and a tight size cap
    local head = { ("HTTP/1.1 %d %s\r\n"):format(res.status, res.status_text or "") }
    local names = {}
    for k in pairs(res.headers or {}) do names[#names + 1] = k end
    table.sort(names)
    for _, k in ipairs(names) do head[#head + 1] = k .. ": " .. res.headers[k] .. "\r\n" end
    head[#head + 1] = "\r\n"
    seed("headers", base, u16(65535) .. table.concat(head))
    seed("headers", base .. "-cap", u16(100) .. table.concat(head))
  end
  if type(req) == "table" then
    if req.body ~= nil then
      local body = core.json_encode(req.body)
      seed("json_decode", base .. "-request", body)
      seed("json_encode", base .. "-request", V.program(req.body))
      seed("query", base .. "-request", V.program(req.body))
    end
    if req.raw_body then seed("json_decode", base .. "-raw-request", req.raw_body) end
    local query = type(req.path) == "string" and req.path:match("%?(.*)$")
    if query then
      local q = {}
      for k, v in query:gmatch("([^&=]+)=([^&]*)") do q[k] = v end
      seed("query", base .. "-query", V.program(q))
    end
  end
end

-- numbers: the recorded amounts as text, and the doubles whose formatting is the hardest
local numbers = { "5000", "0", "-0", "3000", "2000", "1", "0.1", "1e21", "1e-7", "123456789012345680000",
  "9007199254740993", "-9223372036854775808", "9223372036854775808", "2.2250738585072014e-308",
  "5e-324", "1.7976931348623157e308", "1e400", "0.30000000000000004", "1.5e+300", "-2.5E-3" }
for i, s in ipairs(numbers) do seed("number", ("text-%02d"):format(i), s) end
local doubles = { 5000.0, 0.1, 1 / 3, 2 ^ 53 + 2, 1e21, 1e-7, 5e-324, 2 ^ -1074 * 3, 1.7976931348623157e308,
  9007199254740993.0, 2 ^ 60, 0.000001, 123e-20, 4.35, 2 ^ -1022 }
for i, d in ipairs(doubles) do seed("number", ("double-%02d"):format(i), string.pack("<d", d)) end

local names = {}
for t in pairs(counts) do names[#names + 1] = t end
table.sort(names)
for _, t in ipairs(names) do print(("seeds %s: %d"):format(t, counts[t])) end
