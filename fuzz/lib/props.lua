-- fuzz/lib/props.lua: what the fuzz checks share: raising on a failed property with the
-- offending values shown, and deep equality of decoded JSON values.
local P = {}

local function show(v)
  if type(v) == "string" then return ("%q"):format(#v > 200 and v:sub(1, 200) .. "..." or v) end
  return tostring(v)
end
P.show = show

-- Raises "fmt" (formatted with the shown args) unless cond holds.
function P.check(cond, fmt, ...)
  if cond then return cond end
  local args = table.pack(...)
  for i = 1, args.n do args[i] = show(args[i]) end
  error(fmt:format(table.unpack(args, 1, args.n)), 2)
end

-- An error raised by the codec must be a string with the codec's own prefix.
function P.raised_with(prefix, err)
  P.check(type(err) == "string" and err:sub(1, #prefix) == prefix,
    "raised something else than a %s error: %s", prefix, err)
  return err
end

-- a and b are equal JSON values: same numbers (an integer stays an integer), same strings,
-- same keys, and the same metatable (arrays keep theirs, objects have none).
function P.same(a, b, path)
  path = path or "$"
  P.check(type(a) == type(b), "%s: %s became %s", path, type(a), type(b))
  if type(a) == "number" then
    -- A float past 2^53 is written as JavaScript writes it ("44444444444444410" for
    -- 44444444444444408.0), and reading that back gives the integer it spells, not the
    -- float; both stand for the same double, which is what JSON can carry.
    if math.type(a) == "float" and math.type(b) == "integer" and math.abs(a) >= 2 ^ 53 then b = b + 0.0 end
    P.check(a == b, "%s: %s became %s", path, a, b)
    if math.type(a) == "integer" then P.check(math.type(b) == "integer", "%s: integer %s became a float", path, a) end
    if a == 0 and math.type(a) == "float" and math.type(b) == "float" then
      P.check(1 / a == 1 / b, "%s: the sign of zero changed", path)
    end
  elseif type(a) == "table" then
    P.check(getmetatable(a) == getmetatable(b), "%s: metatable changed", path)
    for k, v in pairs(a) do
      P.check(b[k] ~= nil, "%s: key %s lost", path, k)
      P.same(v, b[k], path .. "." .. tostring(k))
    end
    for k in pairs(b) do P.check(a[k] ~= nil, "%s: key %s appeared", path, k) end
  else
    P.check(a == b, "%s: %s became %s", path, a, b)
  end
end

return P
