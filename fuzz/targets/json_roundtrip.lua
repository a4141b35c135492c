-- fuzz/targets/json_roundtrip.lua: bytes that json_decode accepts must encode (unless they
-- hold a number too large for a double: 1e999 decodes to inf, which JSON cannot carry),
-- decode again to the same value, and encode to the same bytes a second time.
local core = require "medusa.core"
local P = require "fuzz.lib.props"

return function(data)
  local ok, v = pcall(core.json_decode, data)
  if not ok then return end
  local encoded, s = pcall(core.json_encode, v)
  if not encoded then
    P.check(P.raised_with("medusa.json: ", s):find("cannot encode %-?inf"), "a decoded value does not encode: %s", s)
    return
  end
  P.check(utf8.len(s), "the encoding is not UTF-8: %s", s)
  local again = core.json_decode(s)
  P.same(v, again)
  P.check(core.json_encode(again) == s, "encoding is not stable: %s", s)
end
