-- bench/lua/codec.lua: one codec measurement per process, so /usr/bin/time -v around it gives
-- that codec's own peak RSS. Prints one JSON line.
--
--   lua5.4 bench/lua/codec.lua medusa|cjson PAYLOAD_FILE OP ITERATIONS
-- OP decode|encode: {"us"}: CPU microseconds per call, after a warm-up pass of the same length.
-- OP hold: decodes ITERATIONS times keeping every value (what decoding costs in memory, big
--   enough for RSS to see); {"heap_kb"}: the Lua heap one decoded value keeps.
-- OP baseline: loads the codec and reads the payload only, the RSS every run starts from.
local codec_name, file, op, iterations = arg[1], arg[2], arg[3], tonumber(arg[4])

-- Both codecs are loaded whichever one is measured: the process image, and so the
-- allocator's state before the first decode, is the same for both (medusa.core alone
-- brings libcurl and OpenSSL, whose start-up allocations moved the measured RSS by a few
-- hundred kB either way). Only the codec that runs differs.
local codecs = { medusa = require("medusa").json, cjson = require("cjson") }
local decode, encode
if codecs[codec_name] then
  decode, encode = codecs[codec_name].decode, codecs[codec_name].encode
end
if not (decode and (op == "decode" or op == "encode" or op == "hold" or op == "baseline") and iterations) then
  io.stderr:write("usage: codec.lua medusa|cjson PAYLOAD_FILE decode|encode|hold|baseline ITERATIONS\n")
  os.exit(2)
end

local f = assert(io.open(file, "rb"))
local text = f:read("*a")
f:close()

if op == "baseline" then
  io.write('{"us":0}\n')
  os.exit(0)
end

if op == "hold" then
  local held = {}
  collectgarbage("collect")
  local heap0 = collectgarbage("count")
  for i = 1, iterations do held[i] = decode(text) end
  collectgarbage("collect")
  assert(#held == iterations)
  io.write(('{"heap_kb":%.2f}\n'):format((collectgarbage("count") - heap0) / iterations))
  os.exit(0)
end

local work
if op == "decode" then
  work = function() return decode(text) end
else
  local value = decode(text)
  work = function() return encode(value) end
end

local function loop()
  local last
  for _ = 1, iterations do last = work() end
  return last
end

loop()
local cpu0 = os.clock()
local last = loop()
local us = (os.clock() - cpu0) * 1e6 / iterations
assert(last ~= nil)
io.write(('{"us":%.4f}\n'):format(us))
