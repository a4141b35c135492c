-- medusa.json: the public face of the C JSON codec. encode/decode raise on bad input
-- (as cjson does); json.safe.encode/decode return nil, err instead.
local core = require "medusa.core"

local json = {
  null = core.null,          -- the same value as cjson.null
  array_mt = core.array_mt,  -- the metatable decoded arrays carry
  encode = core.json_encode, -- (value [, array_keys]) -> string
}

-- (string) -> value. Objects come back plain: the client's results pass the C decoder a
-- metatable for them (it prints them), this public decoder passes none, and takes exactly
-- one argument so an extra one (assert's message, say) changes nothing.
function json.decode(text)
  return core.json_decode(text)
end

-- Marks t (default: a new table) as a JSON array, so it encodes as [] even when empty.
function json.array(t)
  t = t or {}
  if type(t) ~= "table" then error("medusa.json: array() expects a table", 2) end
  return setmetatable(t, core.array_mt)
end

local function trim(message)
  return (tostring(message):gsub("^.-(medusa%.json: )", "%1"))
end

json.safe = {}
function json.safe.encode(value, array_keys)
  local ok, result = pcall(core.json_encode, value, array_keys)
  if ok then return result end
  return nil, trim(result)
end
function json.safe.decode(text)
  local ok, result = pcall(core.json_decode, text)
  if ok then return result end
  return nil, trim(result)
end

return json
