-- fuzz/targets/query.lua: a Lua value built from the bytes (lib/value.lua) goes to
-- query_encode, and the bytes themselves to path_segment. Both are compared with plain-Lua
-- references of the same rules (lib/qs.lua): same success, same bytes; failures raise
-- with the module's own prefix.
local core = require "medusa.core"
local P = require "fuzz.lib.props"
local V = require "fuzz.lib.value"
local qs = require "fuzz.lib.qs"

return function(data)
  local v = V.build(data)
  local ok, got = pcall(core.query_encode, v)
  local want = qs.query(v, core.array_mt, core.json_encode)
  if not ok then
    P.raised_with("medusa.query: ", got)
    P.check(want == nil, "query_encode refused what qs accepts (%s): %s", got, want)
  else
    P.check(got == want, "query_encode wrote %s, qs %s", got, want)
  end

  ok, got = pcall(core.path_segment, data)
  want = qs.segment(data)
  if not ok then
    P.raised_with("medusa.path: ", got)
    P.check(want == nil, "path_segment refused a valid segment (%s)", got)
  else
    P.check(got == want, "path_segment wrote %s, expected %s", got, want)
  end
end
