-- fuzz/targets/json_decode.lua: any bytes go to json_decode. It returns a value, or raises
-- "medusa.json: <what> at byte N" with N inside the input (1 .. #data + 1); nothing else.
local core = require "medusa.core"
local P = require "fuzz.lib.props"

return function(data)
  local ok, v = pcall(core.json_decode, data)
  if ok then return end
  local at = tonumber(P.raised_with("medusa.json: ", v):match(" at byte (%d+)$"))
  P.check(at and at >= 1 and at <= #data + 1, "error without a position inside the input: %s", v)
end
