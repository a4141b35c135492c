-- medusa.pretty: indented, key-sorted JSON text for people (the REPL, logs). The compact
-- codec in C stays the one for the wire; this only lays its output out over lines.
local core = require "medusa.core"

local encode = core.json_encode
local array_mt = core.array_mt

-- Values people should not see on a screen or in a log; the data itself keeps them.
local Headers = require "medusa.headers"
local SECRET, REDACTED = Headers.SECRET, Headers.REDACTED

local function is_array(t)
  if getmetatable(t) == array_mt then return true end
  local n = #t
  if n == 0 then return false end
  local count = 0
  for _ in pairs(t) do count = count + 1 end
  return count == n
end

local function write(value, indent, out, seen)
  if type(value) ~= "table" then
    local ok, text = pcall(encode, value)
    out[#out + 1] = ok and text or ("<%s>"):format(tostring(value))
    return
  end
  if seen[value] then
    out[#out + 1] = '"<cycle>"'
    return
  end
  seen[value] = true
  local inner = indent .. "  "
  if is_array(value) then
    if #value == 0 then
      out[#out + 1] = "[]"
    else
      out[#out + 1] = "[\n"
      for i = 1, #value do
        out[#out + 1] = inner
        write(value[i], inner, out, seen)
        out[#out + 1] = i < #value and ",\n" or "\n"
      end
      out[#out + 1] = indent .. "]"
    end
  else
    local keys = {}
    for k in pairs(value) do keys[#keys + 1] = tostring(k) end
    table.sort(keys)
    if #keys == 0 then
      out[#out + 1] = "{}"
    else
      out[#out + 1] = "{\n"
      for i, k in ipairs(keys) do
        local v = value[k]
        if v == nil then v = value[tonumber(k)] end
        if SECRET[k:lower()] and v ~= nil then v = REDACTED end
        out[#out + 1] = inner .. encode(k) .. ": "
        write(v, inner, out, seen)
        out[#out + 1] = i < #keys and ",\n" or "\n"
      end
      out[#out + 1] = indent .. "}"
    end
  end
  seen[value] = nil
end

local function pretty(value)
  local out = {}
  write(value, "", out, {})
  return table.concat(out)
end

-- Arrays print themselves (in the REPL, with print or tostring) as this text too.
array_mt.__tostring = pretty

return pretty
