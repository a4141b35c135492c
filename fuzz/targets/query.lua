-- fuzz/targets/query.lua: a Lua value built from the bytes (lib/value.lua) goes to
-- query_encode, and the bytes themselves to path_segment. Both are compared with plain-Lua
-- references of the same rules (lib/qs.lua): same success, same bytes; failures raise
-- with the module's own prefix.
local core = require "medusa.core"
local P = require "fuzz.lib.props"
local V = require "fuzz.lib.value"
local qs = require "fuzz.lib.qs"

-- A float as JavaScript's String(n) prints it, which is what qs writes. json_encode prints
-- the same, but for integral floats from 2^53 to 2^63, whose exact digits it writes so they
-- decode to themselves; there the shortest digits that read back, padded with zeros.
local function js_number(d)
  if d ~= math.floor(d) or math.abs(d) < 2 ^ 53 or math.abs(d) >= 2 ^ 63 then return core.json_encode(d) end
  for p = 1, 17 do
    local s = ("%." .. (p - 1) .. "e"):format(math.abs(d))
    if tonumber(s) == math.abs(d) then
      local digits, exp = s:match("^(%d[%d.]*)e%+(%d+)$")
      digits = digits:gsub("%.", "")
      return (d < 0 and "-" or "") .. digits .. ("0"):rep(tonumber(exp) + 1 - #digits)
    end
  end
end

return function(data)
  local v = V.build(data)
  local ok, got = pcall(core.query_encode, v)
  local want = qs.query(v, core.array_mt, js_number)
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
