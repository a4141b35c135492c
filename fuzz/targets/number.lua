-- fuzz/targets/number.lua: the number paths of the JSON codec against the C library's.
-- (1) The first 8 bytes as a double: json_encode writes an integral one from 2^53 to 2^63
-- with its exact digits, any other as the shortest decimal that reads back exactly (never
-- more digits than the nearest correctly rounded one that does), laid out as JavaScript's
-- Number#toString; json_decode reads it back to the same double. (2) The bytes
-- as text: when json_decode reads a number, it is the one strtod (Lua's tonumber) reads.
local core = require "medusa.core"
local P = require "fuzz.lib.props"

-- Significant digits and decimal exponent of a JS-style number text.
local function digits_of(text)
  local mantissa, exp = text:match("^%-?([%d%.]+)e([%+%-]%d+)$")
  mantissa = mantissa or text:match("^%-?([%d%.]+)$")
  local int, frac = mantissa:match("^(%d*)%.?(%d*)$")
  local all = (int .. frac):gsub("^0+", "")
  local significant = all:gsub("0+$", "")
  return #significant, tonumber(exp or 0)
end

local function shortest_nearest(d)
  for p = 1, 17 do
    local s = ("%." .. (p - 1) .. "e"):format(d)
    if tonumber(s) == d then return p end
  end
end

local function check_double(d)
  if d ~= d or d == math.huge or d == -math.huge then
    P.check(not pcall(core.json_encode, d), "encoded a non-finite number %s", d)
    return
  end
  local text = core.json_encode(d)
  if d == math.floor(d) and math.abs(d) >= 2 ^ 53 and math.abs(d) < 2 ^ 63 then
    -- Integral floats that fit in 64 bits go out with their exact digits, which read back
    -- as this very value (JavaScript's shortest digits would read as another integer).
    P.check(text == ("%d"):format(math.tointeger(d)), "%s is not the exact digits of %s", text, ("%.17g"):format(d))
    P.check(core.json_decode(text) == d, "json_decode(%s) is not %s", text, ("%.17g"):format(d))
    return
  end
  -- (an integral text may read as a Lua integer: compared as the double it rounds to)
  P.check(tonumber(text) + 0.0 == d, "%s reads back as %s, not %s", text, tonumber(text), ("%.17g"):format(d))
  P.check(core.json_decode(text) + 0.0 == d, "json_decode(%s) is not %s", text, ("%.17g"):format(d))
  P.check(text:match("^%-?%d+$") or text:match("^%-?%d+%.%d*[1-9]$") or text:match("^%-?%de[%+%-][1-9]%d*$")
    or text:match("^%-?%d%.%d*[1-9]e[%+%-][1-9]%d*$"), "not a JavaScript number layout: %s", text)
  if d ~= 0 then
    local n, exp = digits_of(text)
    local limit = shortest_nearest(d)
    P.check(n <= limit, "%s has %s significant digits, %s suffice", text, n, limit)
    local magnitude = math.floor(math.log(math.abs(d), 10) + 1e-9)
    -- JavaScript switches to the exponent form from 1e21 and below 1e-6 (+-1 for log10's rounding)
    if exp ~= 0 then
      P.check(magnitude >= 20 or magnitude <= -6, "exponent form for %s", text)
    else
      P.check(magnitude <= 21 and magnitude >= -8, "no exponent form for %s", text)
    end
  end
end

return function(data)
  if #data >= 8 then check_double((string.unpack("<d", data))) end
  local ok, v = pcall(core.json_decode, data)
  if ok and type(v) == "number" then
    local text = data:match("^[ \t\r\n]*(.-)[ \t\r\n]*$")
    local want = tonumber(text)
    P.check(want ~= nil, "json_decode read %s from %s, which is not a number", v, text)
    P.check(v == want and math.type(v) == math.type(want), "json_decode read %s (%s) from %s, strtod %s (%s)",
      v, math.type(v), text, want, math.type(want))
    if v == 0 and math.type(v) == "float" then P.check(1 / v == 1 / want, "sign of zero lost in %s", text) end
  end
end
