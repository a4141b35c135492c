-- fuzz/targets/headers.lua: a response head parsed by src/http.c (on_header, as libcurl
-- calls it line by line, then push_headers and push_header_map) against the plain-Lua
-- reading of the same rules in lib/head.lua and medusa.headers: same status, same refusals,
-- same fields, same map. The first two bytes of the input are the response-size cap.
local internals = require "fuzz.internals"
local P = require "fuzz.lib.props"
local H = require "fuzz.lib.head"
local Headers = require "medusa.headers"

return function(data)
  local cap = (data:byte(1) or 0) * 256 + (data:byte(2) or 0)
  local head = data:sub(3)
  local status, too_large, got, head_len, map = internals.head(head, cap, Headers.RULES)
  local want_status, want_too_large, want_head = H.read(head, cap)
  P.check(status == want_status, "status %s, expected %s", status, want_status)
  P.check(too_large == want_too_large, "too_large %s, expected %s", too_large, want_too_large)
  P.check(head_len == #want_head, "kept %s bytes of head, expected %s", head_len, #want_head)
  local want = H.fields(want_head)
  P.check(#got == #want, "%s header fields, expected %s", #got, #want)
  for i = 1, #want do
    P.check(got[i] == want[i], "field %s is %s, expected %s", i, got[i], want[i])
  end
  P.same(Headers.map(want, Headers.RULES), map, "map")
end
