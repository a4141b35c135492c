-- fuzz/targets/json_encode.lua: a Lua value built from the bytes (cycles, mixed and sparse
-- keys, functions, NaN, deep nesting, invalid UTF-8: see lib/value.lua) goes to json_encode.
-- It raises a "medusa.json: " error, or returns UTF-8 JSON that decodes to a value which
-- encodes to the same bytes; the same value always gives the same bytes.
local core = require "medusa.core"
local P = require "fuzz.lib.props"
local V = require "fuzz.lib.value"

return function(data)
  local v, array_keys = V.build(data)
  local ok, s = pcall(core.json_encode, v, array_keys)
  if not ok then
    P.raised_with("medusa.json: ", s)
    return
  end
  P.check(utf8.len(s), "the encoding is not UTF-8: %s", s)
  P.check(core.json_encode(v, array_keys) == s, "two encodings of one value differ: %s", s)
  local decoded, w = pcall(core.json_decode, s)
  P.check(decoded, "the encoder wrote what the decoder refuses: %s (%s)", s, w)
  P.check(core.json_encode(w) == s, "decode(encode(v)) encodes differently: %s", s)
end
