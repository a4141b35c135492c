-- json_spec: the contract of the C JSON codec (medusa.core json_encode / json_decode):
-- numbers, null, empty containers, array_keys, key order, escapes, every class of invalid
-- input, limits, and a cross-check against lua-cjson on generated documents.
-- Bytes are written as decimal escapes ("\237\160\128"): Lua 5.1 and 5.2 have no \x or
-- \u{} escapes (5.1 even reads "\x41" as "x41"), and this file runs under every Lua.
local core = require "medusa.core"
local cjson = require "cjson"

local encode, decode = core.json_encode, core.json_decode
local null = core.null
local mtype = math.type or function() return nil end
local INT = math.type ~= nil -- Lua 5.3+: integers are their own subtype

-- Asserts that fn(...) raises a "medusa.json: " error whose message matches `pattern`.
local function raises(pattern, fn, ...)
  local ok, err = pcall(fn, ...)
  assert(not ok, "expected an error matching " .. pattern)
  assert(type(err) == "string", "error is not a string: " .. tostring(err))
  assert(err:find("^medusa%.json: "), "error lacks the medusa.json prefix: " .. err)
  assert(err:find(pattern), ("error %q does not match %q"):format(err, pattern))
  return err
end

local function decode_error(text, pattern)
  return raises(pattern, decode, text)
end

-- the exact bits of a double, so that 0.0 and -0.0 differ; and a double from two 32-bit
-- words. Without string.pack (5.1, 5.2, LuaJIT) both are done by arithmetic: frexp's
-- mantissa times 2^53 is an exact integer, and powers of two scale exactly.
local bits, double_from_words
if string.pack then
  bits = function(x) return (string.pack("<d", x)) end
  double_from_words = function(lo, hi) return (string.unpack("<d", string.pack("<I4I4", lo, hi))) end
else
  bits = function(x)
    if x ~= x then return "nan" end
    local sign = (x < 0 or 1 / x < 0) and "-" or "+"
    x = math.abs(x)
    if x == math.huge then return sign .. "inf" end
    local m, e = rawget(math, "frexp")(x) -- in every Lua without string.pack
    return ("%s%.0f*2^%d"):format(sign, m * 2 ^ 53, e)
  end
  double_from_words = function(lo, hi)
    local exp, frac = math.floor(hi / 0x100000) % 0x800, (hi % 0x100000) * 2 ^ 32 + lo
    -- NaN and infinity bit patterns as canonical values, as before with LuaJIT's FFI.
    if exp == 0x7ff then return 0 / 0 end
    local x = exp == 0 and frac * 2 ^ -1074 or (2 ^ 52 + frac) * 2 ^ (exp - 1075)
    return hi >= 0x80000000 and -x or x
  end
end

-- math.random(m, n) for bounds beyond a C int (10^12, 2^53): PUC 5.1 reads its bounds as
-- ints; 5.2+ and LuaJIT take them as numbers.
local random = math.random
if _VERSION == "Lua 5.1" and not rawget(_G, "jit") then
  random = function(m, n) return m + math.floor(math.random() * (n - m + 1)) end
end

-- An object whose finalizer runs fn (Lua 5.1/LuaJIT run __gc for userdata only).
local function with_finalizer(fn)
  local newproxy = rawget(_G, "newproxy")
  if newproxy then
    local proxy = newproxy(true)
    getmetatable(proxy).__gc = fn
    return proxy
  end
  return setmetatable({}, {__gc = fn})
end

local function nested(n, open, close)
  return string.rep(open, n) .. string.rep(close, n)
end

describe("json decode", function()
  describe("numbers", function()
    it("decodes integral numbers to integers", function()
      assert.are.equal(0, decode("0"))
      assert.are.equal(42, decode("42"))
      assert.are.equal(-7, decode("-7"))
      if INT then
        assert.are.equal("integer", mtype(decode("42")))
        assert.are.equal("integer", mtype(decode("-7")))
      end
    end)

    it("decodes -0 to the integer 0", function()
      local v = decode("-0")
      assert.are.equal(0, v)
      if INT then assert.are.equal("integer", mtype(v)) end
      assert.are.equal(math.huge, 1 / (v + 0.0)) -- +0, not -0
    end)

    it("decodes the int64 extremes exactly", function()
      if not INT then return end
      assert.are.equal(math.maxinteger, decode("9223372036854775807"))
      assert.are.equal("integer", mtype(decode("9223372036854775807")))
      assert.are.equal(math.mininteger, decode("-9223372036854775808"))
      assert.are.equal("integer", mtype(decode("-9223372036854775808")))
      assert.are.equal(9007199254740993, decode("9007199254740993")) -- 2^53 + 1, not a double
      assert.are.equal("integer", mtype(decode("9007199254740993")))
      assert.are.equal(-9007199254740993, decode("-9007199254740993"))
    end)

    it("decodes integers beyond int64 to floats", function()
      local v = decode("9223372036854775808")
      assert.are.equal(2.0 ^ 63, v)
      if INT then assert.are.equal("float", mtype(v)) end
      v = decode("-9223372036854775809")
      assert.are.equal(-(2.0 ^ 63), v)
      if INT then assert.are.equal("float", mtype(v)) end
      assert.are.equal(1.2345678901234568e29, decode("123456789012345678901234567890"))
      assert.are.equal(math.huge, decode("1e400")) -- as JSON.parse gives Infinity
      assert.are.equal(-math.huge, decode("-1e400"))
    end)

    it("decodes fractions and exponents to floats", function()
      local cases = {
        ["5000.0"] = 5000.0, ["1e3"] = 1000.0, ["1E3"] = 1000.0, ["1e+3"] = 1000.0,
        ["1e-3"] = 0.001, ["0.1"] = 0.1, ["1.5"] = 1.5, ["-1.5"] = -1.5, ["1e21"] = 1e21,
        ["1e-7"] = 1e-7, ["5e-324"] = 5e-324, ["1.7976931348623157e308"] = 1.7976931348623157e308,
        ["2.2250738585072014e-308"] = 2.2250738585072014e-308, ["0.30000000000000004"] = 0.1 + 0.2,
        ["3.14159265358979323846264338327950288"] = math.pi, ["0.000001"] = 1e-6,
        ["123456789012345678901234567890.5e-10"] = 12345678901234567890.12345, ["0e0"] = 0.0,
      }
      for text, want in pairs(cases) do
        local got = decode(text)
        assert.are.equal(want, got, text)
        if INT then assert.are.equal("float", mtype(got), text) end
      end
    end)

    it("keeps the sign of -0.0", function()
      -- Made at run time: Lua 5.1 keeps one constant for 0.0 and -0.0 in a function.
      local zero = tonumber("0.0")
      assert.are.equal(bits(-zero), bits(decode("-0.0")))
      assert.are.equal(bits(-zero), bits(decode("-0e5")))
      assert.are.equal(bits(zero), bits(decode("0.0")))
    end)

    it("rounds like tonumber on many random decimal strings", function()
      math.randomseed(7)
      for _ = 1, 3000 do
        local text = ("%s%d%s%s"):format(
          math.random(2) == 1 and "-" or "",
          random(0, 10 ^ math.random(0, 9)),
          math.random(3) > 1 and ("." .. ("%d"):format(random(0, 10 ^ math.random(1, 12)))) or "",
          math.random(3) == 1 and ("e%d"):format(math.random(-330, 310)) or "")
        local want, got = tonumber(text), decode(text)
        assert.are.equal(bits(want + 0.0), bits(got + 0.0), text)
        assert.are.equal(mtype(want), mtype(got), text)
      end
    end)
  end)

  describe("values", function()
    it("decodes null to the shared null light userdata", function()
      local v = decode("null")
      assert.are.equal("userdata", type(v))
      assert.are.equal(null, v)
      assert.are.equal(cjson.null, v)
      assert.are.equal(null, decode("[null]")[1])
      assert.are.equal(null, decode('{"a":null}').a)
    end)

    it("decodes booleans, strings and scalars at the top level", function()
      assert.are.equal(true, decode("true"))
      assert.are.equal(false, decode("false"))
      assert.are.equal("x", decode('"x"'))
      assert.are.equal("", decode('""'))
      assert.are.equal(12, decode(" \t\r\n12 \t\r\n"))
    end)

    it("marks every array with the medusa.array metatable, objects with none", function()
      local registry_mt = debug.getregistry()["medusa.array"]
      assert.is_table(registry_mt)
      assert.are.equal(registry_mt, core.array_mt)
      local doc = decode('{"a":[1,[2,[]],{"b":[]}],"c":{}}')
      assert.is_nil(getmetatable(doc))
      assert.are.equal(registry_mt, getmetatable(doc.a))
      assert.are.equal(registry_mt, getmetatable(doc.a[2]))
      assert.are.equal(registry_mt, getmetatable(doc.a[2][2]))
      assert.is_nil(getmetatable(doc.a[3]))
      assert.are.equal(registry_mt, getmetatable(doc.a[3].b))
      assert.is_nil(getmetatable(doc.c))
      assert.are.equal(0, #doc.a[2][2])
      assert.is_nil(next(doc.c))
    end)

    it("decodes arrays and objects of every size with their contents in order", function()
      for _, n in ipairs {1, 2, 127, 128, 129, 255, 256, 257, 1000, 5000} do
        local items, members = {}, {}
        for i = 1, n do
          items[i] = tostring(i)
          members[i] = ('"k%d":%d'):format(i, i)
        end
        local arr = decode("[" .. table.concat(items, ",") .. "]")
        assert.are.equal(n, #arr)
        for i = 1, n do assert.are.equal(i, arr[i]) end
        local obj = decode("{" .. table.concat(members, ",") .. "}")
        local count = 0
        for k, v in pairs(obj) do
          count = count + 1
          assert.are.equal("k" .. v, k)
        end
        assert.are.equal(n, count)
      end
    end)

    it("keeps the last of duplicate keys", function()
      assert.are.equal(2, decode('{"a":1,"a":2}').a)
      assert.are.equal(3, decode('{"a":1,"b":0,"a":2,"a":3}').a)
      -- the first occurrence among the first members, the last one far after them
      local parts = {'"dup":"first"'}
      for i = 1, 300 do parts[#parts + 1] = ('"k%d":%d'):format(i, i) end
      parts[#parts + 1] = '"dup":"last"'
      assert.are.equal("last", decode("{" .. table.concat(parts, ",") .. "}").dup)
    end)

    it("decodes keys right however often they repeat or share the key cache's slots", function()
      -- the decoder caches object keys of up to 40 bytes across calls: keys of one length
      -- with the same first, middle and last bytes share a slot; many evict each other
      local keys = {"", "a", "\\u0041", "A", string.rep("k", 40), string.rep("k", 41), "caf\195\169"}
      for i = 1, 600 do keys[#keys + 1] = ("k%03dk"):format(i) end
      for i = 1, 50 do keys[#keys + 1] = "x" .. string.rep("y", i % 7) .. "z" end
      for round = 1, 3 do
        local parts, want = {}, {}
        for i, k in ipairs(keys) do
          local plain = k == "\\u0041" and "A" or k
          if (i + round) % 3 ~= 0 then
            parts[#parts + 1] = ('"%s":%d'):format(k, i)
            want[plain] = i
          end
        end
        -- the same keys nested, so each object's keys come from the cache filled just before
        local text = "{" .. table.concat(parts, ",") .. ',"inner":{' .. table.concat(parts, ",") .. "}}"
        local doc = decode(text)
        want.inner = nil
        for k, v in pairs(want) do
          assert.are.equal(v, doc[k], k)
          assert.are.equal(v, doc.inner[k], k)
        end
        doc.inner = nil
        for k in pairs(doc) do assert.is_not_nil(want[k], k) end
      end
    end)

    it("decodes objects that the parking budget makes build early", function()
      -- 14 levels of 200 parked values each, then objects of 150 members: the budget of
      -- parked values runs out inside the first (and the per-object cap inside the last), so
      -- their tables are built with the members so far and take the rest one by one
      local open, close = {}, {}
      for level = 1, 14 do
        open[level] = "[" .. string.rep(tostring(level) .. ",", 200)
        close[level] = "]"
      end
      local members = {}
      for i = 1, 150 do members[i] = ('"k%d":[%d,{"i":%d}]'):format(i, i, i) end
      members[#members + 1] = '"k1":"last"'
      local obj = "{" .. table.concat(members, ",") .. "}"
      local doc = decode(table.concat(open) .. "[" .. obj .. "," .. obj .. "]" .. table.concat(close))
      local t = doc
      for level = 1, 14 do
        assert.are.equal(201, #t)
        assert.are.equal(level, t[200])
        t = t[201]
      end
      for j = 1, 2 do
        local o, count = t[j], 0
        for _ in pairs(o) do count = count + 1 end
        assert.are.equal(150, count)
        assert.are.equal("last", o.k1)
        for i = 2, 150 do
          assert.are.equal(i, o["k" .. i][1])
          assert.are.equal(i, o["k" .. i][2].i)
        end
      end
    end)

    it("decodes containers that nest below many parked values", function()
      -- 60 levels, each holding 200 values before the next level: more than LuaJIT's stack allows
      local open, close = {}, {}
      for level = 1, 60 do
        open[level] = "[" .. string.rep(tostring(level) .. ",", 200)
        close[level] = "]"
      end
      local doc = decode(table.concat(open) .. "0" .. table.concat(close))
      local t = doc
      for level = 1, 60 do
        assert.are.equal(201, #t)
        assert.are.equal(level, t[1])
        assert.are.equal(level, t[200])
        t = t[201]
      end
      assert.are.equal(0, t)
    end)
  end)

  describe("strings", function()
    it("decodes every escape", function()
      assert.are.equal('"\\/\b\f\n\r\t', decode([["\"\\\/\b\f\n\r\t"]]))
      assert.are.equal("\0", decode([["\u0000"]]))
      assert.are.equal("a\0b", decode([["a\u0000b"]]))
      assert.are.equal("é", decode([["\u00e9"]]))
      assert.are.equal("é", decode([["\u00E9"]]))
      assert.are.equal("€", decode([["\u20ac"]]))
      assert.are.equal("\223\191\224\160\128\239\191\191", decode([["\u07ff\u0800\uffff"]])) -- U+07FF U+0800 U+FFFF
    end)

    it("combines surrogate pairs into UTF-8", function()
      assert.are.equal("😀", decode([["\ud83d\ude00"]]))
      assert.are.equal("\240\144\128\128", decode([["\uD800\uDC00"]])) -- U+10000
      assert.are.equal("\244\143\191\191", decode([["\udbff\udfff"]])) -- U+10FFFF
      assert.are.equal("x😀y", decode([["x\ud83d\ude00y"]]))
    end)

    it("passes raw UTF-8 through", function()
      local s = "é€😀中\244\143\191\191\238\128\128\237\159\191\194\128" -- ... U+10FFFF U+E000 U+D7FF U+0080
      assert.are.equal(s, decode('"' .. s .. '"'))
    end)

    it("decodes long strings with escapes anywhere", function()
      local plain = string.rep("abcdefghé", 20000)
      assert.are.equal(plain .. "\n" .. plain, decode('"' .. plain .. "\\n" .. plain .. '"'))
      local parts, want = {}, {}
      for i = 1, 5000 do
        parts[i] = "x\\t\\u00e9"
        want[i] = "x\té"
      end
      assert.are.equal(table.concat(want), decode('"' .. table.concat(parts) .. '"'))
    end)
  end)

  describe("rejects invalid input", function()
    it("rejects empty input", function()
      decode_error("", "empty input")
      decode_error("   ", "end of input")
    end)

    it("rejects leading zeros and '+'", function()
      for _, text in ipairs {"01", "-01", "00", "[00]", "001.5"} do decode_error(text, "leading zeros") end
      decode_error("+1", "expected a value")
      decode_error("[+1]", "expected a value")
      decode_error("1e+", "end of input")
    end)

    it("rejects malformed numbers", function()
      for _, text in ipairs {".5", "-", "-a", "1.", "1.e5", "1e", "1.5e", "--1", "[1.]", "[-]", "0x10", "1e5.5", "[1e]"} do
        decode_error(text, ".")
      end
      decode_error("[1.]", "expected a digit after '%.'")
      decode_error("[1e]", "expected a digit in the exponent")
      decode_error("0x10", "unexpected data after the JSON value")
    end)

    it("rejects NaN and Infinity", function()
      for _, text in ipairs {"NaN", "nan", "Infinity", "-Infinity", "[NaN]", "inf"} do decode_error(text, ".") end
      decode_error("NaN", "expected a value")
      decode_error("-Infinity", "expected a digit")
    end)

    it("rejects trailing commas", function()
      decode_error("[1,]", "trailing comma at byte 4")
      decode_error('{"a":1,}', "trailing comma at byte 8")
      decode_error("[1, ]", "trailing comma")
      decode_error("[,1]", "expected a value")
      decode_error('{,"a":1}', "expected a string key")
      decode_error("[1,,2]", "expected a value")
    end)

    it("rejects comments", function()
      for _, text in ipairs {"[1]//x", "/*x*/[1]", "[1,/*x*/2]", "# x\n1", "[1]/**/"} do decode_error(text, ".") end
    end)

    it("rejects single quotes and bare keys", function()
      decode_error("'a'", "expected a value")
      decode_error("{'a':1}", "expected a string key")
      decode_error("{a:1}", "expected a string key")
      decode_error("{1:2}", "expected a string key")
    end)

    it("rejects raw control characters inside strings", function()
      for c = 0, 31 do
        decode_error('"a' .. string.char(c) .. 'b"', "control character in string at byte 3")
      end
    end)

    it("rejects invalid escapes", function()
      for _, esc in ipairs {[[\x]], [[\a]], [[\']], [[\U0041]], [[\0]], [[\v]], [[\ ]]} do
        decode_error('"' .. esc .. '"', "invalid escape")
      end
      for _, esc in ipairs {[[\u12]], [[\u12G4]], [[\u]], [[\uXYZW]], [[\u-123]]} do
        decode_error('"' .. esc .. '"', "invalid \\u escape")
      end
    end)

    it("rejects lone surrogates", function()
      for _, esc in ipairs {[[\ud800]], [[\udc00]], [[\udfff]], [[\ud800\u0041]], [[\ud800x]], [[\ud800\ud800]],
                            [[\ude00\ud83d]], [[a\udbff]], [[\ud800\ue000]], [[\udbff\uffff]]} do
        decode_error('"' .. esc .. '"', "lone surrogate")
      end
    end)

    it("rejects invalid UTF-8 in strings", function()
      local bad = {
        "\192\175", "\193\191", "\224\128\175", "\224\159\191", "\240\128\128\175", "\240\143\191\191", -- overlong
        "\237\160\128", "\237\191\191", -- UTF-16 surrogates
        "\244\144\128\128", "\245\128\128\128", "\247\191\191\191", "\255", "\254", -- past U+10FFFF
        "\226\130", "\195", "\240\159\152", "\226\130x", -- truncated
        "\128", "\191", "a\128b", -- lone continuation bytes
      }
      for _, s in ipairs(bad) do
        decode_error('"' .. s .. '"', "invalid UTF%-8")
        decode_error('"ab\\n' .. s .. '"', "invalid UTF%-8") -- the path that unescapes
      end
      decode_error('"a\255"', "invalid UTF%-8 in string at byte 3")
    end)

    it("accepts the UTF-8 boundary code points", function()
      for _, s in ipairs {"\194\128", "\223\191", "\224\160\128", "\237\159\191", "\238\128\128", "\239\191\191",
                          "\240\144\128\128", "\244\143\191\191"} do
        assert.are.equal(s, decode('"' .. s .. '"'))
      end
    end)

    it("rejects trailing garbage but not trailing whitespace", function()
      for _, text in ipairs {"[1] x", "1 2", "{}{}", "nullx", "truex", '"a""b"', "[1]]", "{} ,", "1\0"} do
        decode_error(text, "unexpected data after the JSON value")
      end
      assert.are.equal(1, decode("[1] \n\t\r")[1])
    end)

    it("rejects whitespace JSON does not allow", function()
      for _, text in ipairs {"\f1", "\v1", "[1,\f2]", "\194\1601"} do decode_error(text, "expected a value") end
    end)

    it("rejects truncated documents", function()
      for _, text in ipairs {"[", "[1", "[1,", '{"a"', '{"a":', '{"a":1', '"abc', "{", '"\\', '"\\u12'} do
        decode_error(text, ".")
      end
      decode_error("[1", "unexpected end of input at byte 3")
      decode_error('"abc', "unterminated string at byte 5")
      decode_error("tru", "invalid literal")
      decode_error("nul", "invalid literal")
      decode_error("fals", "invalid literal")
    end)

    it("rejects missing separators", function()
      decode_error("[1 2]", "expected ',' or ']' but found \"2\" at byte 4")
      decode_error('{"a" 1}', "expected ':'")
      decode_error('{"a":1 "b":2}', "expected ',' or '}'")
      decode_error('{"a":01}', "at byte 6")
    end)

    it("rejects what is not a string", function()
      raises("expects a string", decode, nil)
      raises("expects a string", decode, {})
    end)
  end)

  describe("nesting", function()
    local function depth_of(v)
      local d = 0
      while type(v) == "table" do
        d = d + 1
        v = v[1] or v.a
      end
      return d
    end

    it("accepts 1000 levels", function()
      assert.are.equal(1000, depth_of(decode(nested(1000, "[", "]"))))
      assert.are.equal(1000, depth_of(decode(string.rep('{"a":', 999) .. "[]" .. string.rep("}", 999))))
    end)

    it("rejects 1001 levels", function()
      decode_error(nested(1001, "[", "]"), "nesting deeper than 1000 at byte 1001")
      decode_error(string.rep('{"a":', 1000) .. "[]" .. string.rep("}", 1000), "nesting deeper than 1000")
    end)

    it("fails cleanly far deeper", function()
      decode_error(nested(10000, "[", "]"), "nesting deeper than 1000")
      decode_error(string.rep("[", 100000), "nesting deeper than 1000")
      decode_error(string.rep('{"a":', 10000), "nesting deeper than 1000")
    end)
  end)
end)

describe("json decode, objects sized by what came under the same key before", function()
  -- The decoder remembers per key (and for the top level) how many members the last object
  -- had, and fills a table made at that size as it reads; a count that changes must still
  -- give exactly the object that was sent. Each document below is decoded after the others,
  -- so every guess is wrong at least once: more members, fewer, none, duplicates, a key whose
  -- cache slot another key took, and arrays of objects of changing size.
  local function obj(n, prefix)
    local parts = {}
    for i = 1, n do parts[#parts + 1] = ('"%s%d":%d'):format(prefix or "k", i, i) end
    return "{" .. table.concat(parts, ",") .. "}"
  end
  local function list(sizes)
    local parts = {}
    for i, n in ipairs(sizes) do parts[i] = obj(n) end
    return "[" .. table.concat(parts, ",") .. "]"
  end
  local docs = {
    '{"a":' .. obj(3) .. ',"b":' .. obj(20) .. ',"c":' .. list { 2, 2, 2 } .. '}',
    '{"a":' .. obj(40) .. ',"b":' .. obj(1) .. ',"c":' .. list { 5, 1, 30, 0, 3 } .. '}',
    '{"a":' .. obj(3) .. ',"b":{},"c":' .. list { 200, 2 } .. ',"d":1}',
    '{"a":{"x":1,"x":2,"x":3},"b":' .. obj(20) .. ',"c":[' .. obj(2) .. ',[' .. obj(7) .. '],' .. obj(9) .. ']}',
    obj(3), obj(150), obj(1), "{}", '{"a":' .. obj(2, "z") .. '}',
  }
  for round = 1, 2 do
    for i, text in ipairs(docs) do
      it(("decodes document %d as sent (round %d)"):format(i, round), function()
        assert.are.same(cjson.decode(text), decode(text))
        local mt = { __name = "test.object" }
        local with_mt = decode(text, mt)
        assert.are.same(cjson.decode(text), with_mt)
        assert.are.equal(mt, getmetatable(with_mt))
      end)
    end
  end

  it("counts every member of a table whose guessed size was too small", function()
    decode('{"g":' .. obj(2) .. '}')
    local t = decode('{"g":' .. obj(64) .. '}').g
    local n = 0
    for _ in pairs(t) do n = n + 1 end
    assert.are.equal(64, n)
    assert.are.equal(64, t.k64)
  end)
end)

describe("json encode", function()
  describe("numbers", function()
    it("writes integers exactly", function()
      assert.are.equal("0", encode(0))
      assert.are.equal("-1", encode(-1))
      assert.are.equal("42", encode(42))
      if INT then
        assert.are.equal("9223372036854775807", encode(math.maxinteger))
        assert.are.equal("-9223372036854775808", encode(math.mininteger))
        assert.are.equal("9007199254740993", encode(9007199254740993))
        assert.are.equal("-9007199254740993", encode(-9007199254740993))
      end
    end)

    it("writes an integral float from 2^53 up to 2^63 with its exact digits, so it reads back as itself", function()
      -- JavaScript's shortest digits, -2196152720550707700, would read back as another integer.
      assert.are.equal("-2196152720550707712", encode(-2.1961527205507077e18))
      assert.are.equal(-2.1961527205507077e18, decode(encode(-2.1961527205507077e18)))
      assert.are.equal("9007199254740994", encode(2.0 ^ 53 + 2))
      assert.are.equal("4611686018427387904", encode(2.0 ^ 62))
      assert.are.equal("-9223372036854774784", encode(-(2.0 ^ 63) + 1024))
      -- 2^63 and beyond do not fit in 64 bits and read back as floats: JavaScript's digits.
      assert.are.equal("9223372036854776000", encode(2.0 ^ 63))
      assert.are.equal("-9223372036854776000", encode(-(2.0 ^ 63)))
      assert.are.equal("1e+21", encode(1e21))
    end)

    it("decode(encode(x)) == x for every finite float (random bit patterns, integral ones around 2^53..2^64)", function()
      local seed = 12345
      local function rand32()
        seed = (seed * 1103515245 + 12345) % 2147483648
        return seed * 2 + seed % 2
      end
      local checked = 0
      for i = 1, 20000 do
        local x
        if i % 2 == 0 then
          x = double_from_words(rand32(), rand32())
        else
          -- an integral float of magnitude 2^52..2^64
          x = math.floor(2.0 ^ (52 + (i % 12)) * (1 + rand32() / 4294967296.0))
          if i % 4 == 1 then x = -x end
        end
        if x == x and x ~= math.huge and x ~= -math.huge then
          local back = decode(encode(x))
          if back ~= x then error(("%.17g encodes as %s, which reads back as %.17g"):format(x, encode(x), back)) end
          checked = checked + 1
        end
      end
      assert.is_true(checked > 19000)
    end)

    it("writes floats as JavaScript does", function()
      local cases = {
        {0.1, "0.1"}, {1.5, "1.5"}, {-1.5, "-1.5"}, {5000.0, "5000"}, {1e21, "1e+21"}, {1e20, "100000000000000000000"},
        {1e-7, "1e-7"}, {1e-6, "0.000001"}, {5e-324, "5e-324"}, {1.7976931348623157e308, "1.7976931348623157e+308"},
        {-0.0, "0"}, {0.0, "0"}, {0.1 + 0.2, "0.30000000000000004"}, {2.0 ^ 63, "9223372036854776000"},
        {123.456, "123.456"}, {1 / 3, "0.3333333333333333"}, {2.0 ^ 53, "9007199254740992"}, {1.5e300, "1.5e+300"},
        {2.2250738585072014e-308, "2.2250738585072014e-308"}, {-1e-7, "-1e-7"}, {123e-20, "1.23e-18"},
        {5.8581906792798084e-244, "5.858190679279809e-244"}, -- a power of two: the wider side of its interval
        {0.1 + 0.7, "0.7999999999999999"}, {4.35, "4.35"}, {1e23, "1e+23"}, {1.5e-323, "1.5e-323"},
        {2.225073858507201e-308, "2.225073858507201e-308"}, {9.62000812804307e-291, "9.62000812804307e-291"},
      }
      -- 16 and 17 digits, where several decimals read back and JavaScript takes the closest
      for _, s in ipairs {"-459407.92141848366", "0.00006504709956443247", "0.32988621624137365", "2739502593.9449306",
                          "-5983151294126.371", "-3238158549435.4233", "15.741125726064341", "-7055.458915685675",
                          "-0.00045854278485339185", "156338.85349447385", "69640806901540.85", "-542302017462816.3"} do
        cases[#cases + 1] = {tonumber(s), s}
      end
      for _, c in ipairs(cases) do assert.are.equal(c[2], encode(c[1]), tostring(c[1])) end
    end)

    it("round-trips random doubles bit for bit", function()
      math.randomseed(11)
      for _ = 1, 20000 do
        local x = double_from_words(random(0, 0xffffffff), random(0, 0xffffffff))
        if x == x and x ~= math.huge and x ~= -math.huge and x ~= 0 then
          local back = decode(encode(x))
          assert.are.equal(bits(x), bits(back + 0.0), ("%.17g"):format(x))
        end
      end
    end)

    it("refuses NaN and infinities", function()
      raises("cannot encode NaN", encode, 0 / 0)
      raises("cannot encode inf", encode, math.huge)
      raises("cannot encode %-inf", encode, -math.huge)
      raises("cannot encode NaN %(at key 'x'%)", encode, {x = 0 / 0})
      raises("cannot encode inf %(at index 2%)", encode, {1, math.huge})
    end)
  end)

  describe("values", function()
    it("writes null, booleans and nil", function()
      assert.are.equal("null", encode(null))
      assert.are.equal("null", encode(cjson.null))
      assert.are.equal("null", encode(nil))
      assert.are.equal("true", encode(true))
      assert.are.equal("false", encode(false))
      assert.are.equal('[null,true,false]', encode({null, true, false}))
      assert.are.equal('{"a":null}', encode(decode('{"a":null}')))
    end)

    it("writes compact output", function()
      assert.are.equal('{"a":[1,2,{"b":"c d"}],"e":{}}', encode({a = {1, 2, {b = "c d"}}, e = {}}))
    end)

    it("refuses functions, threads and userdata", function()
      raises("cannot encode a function %(at key 'x'%)", encode, {x = print})
      raises("cannot encode a function", encode, print)
      raises("cannot encode a thread", encode, {coroutine.create(function() end)})
      raises("cannot encode a userdata", encode, {a = {b = io.stdout}})
      raises("%(at key 'b' in %$%.a%)", encode, {a = {b = io.stdout}})
      raises("%(at index 3 in %$%.x%[2%]%)", encode, {x = {1, {1, 2, print}}})
    end)

    it("checks its arguments", function()
      raises("expects a value", encode)
      raises("array_keys must be a table", encode, {}, "sessions")
    end)
  end)

  describe("empty containers", function()
    it("round-trips [] as [] and {} as {}", function()
      assert.are.equal("[]", encode(decode("[]")))
      assert.are.equal("{}", encode(decode("{}")))
      assert.are.equal('{"a":[],"b":{},"c":[[],{}]}', encode(decode('{"a":[],"b":{},"c":[[],{}]}')))
    end)

    it("writes an empty plain table as {} and a marked one as []", function()
      assert.are.equal("{}", encode({}))
      assert.are.equal("[]", encode(setmetatable({}, core.array_mt)))
      assert.are.equal("{}", encode(setmetatable({}, {})))
    end)
  end)

  describe("array_keys", function()
    it("writes an empty table under a listed key as []", function()
      assert.are.equal('{"other":{},"session_ids":[]}', encode({session_ids = {}, other = {}}, {session_ids = true}))
    end)

    it("applies at any depth, also inside arrays", function()
      local keys = {sessions = true, session_ids = true}
      assert.are.equal('{"data":{"sessions":[]}}', encode({data = {sessions = {}}}, keys))
      assert.are.equal('{"list":[{"session_ids":[],"x":{}}]}', encode({list = {{session_ids = {}, x = {}}}}, keys))
    end)

    it("leaves non-empty values, other keys and the top level alone", function()
      local keys = {sessions = true}
      assert.are.equal('{"sessions":{"a":1}}', encode({sessions = {a = 1}}, keys))
      assert.are.equal('{"sessions":[1,2]}', encode({sessions = {1, 2}}, keys))
      assert.are.equal('{"other":{}}', encode({other = {}}, keys))
      assert.are.equal("{}", encode({}, keys))
      assert.are.equal('{"sessions":{}}', encode({sessions = {}}))
      assert.are.equal('{"sessions":{}}', encode({sessions = {}}, {sessions = false}))
    end)

    it("applies only to tables without a metatable", function()
      assert.are.equal('{"sessions":{}}', encode({sessions = setmetatable({}, {})}, {sessions = true}))
      assert.are.equal('{"sessions":[]}', encode({sessions = setmetatable({}, core.array_mt)}))
    end)
  end)

  describe("tables", function()
    it("writes object keys in byte order", function()
      assert.are.equal('{"a":2,"b":1,"c":3}', encode({b = 1, a = 2, c = 3}))
      assert.are.equal('{"":1,"B":2,"a":3,"a\\u0000":4,"ab":5,"é":6}',
        encode({["é"] = 6, ab = 5, ["a\0"] = 4, a = 3, B = 2, [""] = 1}))
    end)

    it("gives the same bytes for the same content built in any order", function()
      math.randomseed(3)
      for _, n in ipairs {5, 17, 64, 65, 300} do
        local names = {}
        for i = 1, n do names[i] = ("key%05d_%d"):format(math.random(0, 99999), i) end
        local a, b = {}, {}
        for i = 1, n do a[names[i]] = i end
        for i = n, 1, -1 do b[names[i]] = i end
        local sorted = {}
        for i = 1, n do sorted[i] = names[i] end
        table.sort(sorted) -- plain ASCII: Lua's order is byte order here
        local parts = {}
        for i, k in ipairs(sorted) do parts[i] = ('"%s":%d'):format(k, a[k]) end
        local want = "{" .. table.concat(parts, ",") .. "}"
        assert.are.equal(want, encode(a))
        assert.are.equal(want, encode(b))
      end
    end)

    it("writes sequences as arrays, whatever order they were built in", function()
      assert.are.equal("[1,2,3]", encode({1, 2, 3}))
      local t = {}
      t[3], t[2], t[1] = "c", "b", "a"
      assert.are.equal('["a","b","c"]', encode(t))
      local big = {}
      for i = 1000, 1, -1 do big[i] = i end
      assert.are.equal(encode(decode(encode(big))), encode(big))
      assert.are.equal(1000, #decode(encode(big)))
    end)

    it("ignores metatables other than the array one, and metamethods", function()
      assert.are.equal("[1,2]", encode(setmetatable({1, 2}, {})))
      local proxy = setmetatable({a = 1}, {
        __index = function() return "x" end,
        __pairs = function() error("must not be called") end,
        __len = function() return 10 end,
      })
      assert.are.equal('{"a":1}', encode(proxy))
    end)

    it("refuses sparse arrays", function()
      local msg = "cannot encode a sparse array"
      raises(msg, encode, {1, 2, nil, 4})
      raises(msg, encode, {[2] = 1})
      raises(msg, encode, {[0] = 1, 1})
      raises(msg, encode, {[-1] = 1})
      raises(msg .. ".*%(at key 'x'%)", encode, {x = {[1] = 1, [3] = 3}})
      raises(msg, encode, setmetatable({[1] = 1, [3] = 3}, core.array_mt))
    end)

    it("refuses mixed integer and string keys", function()
      raises("both integer and string keys", encode, {1, x = 2})
      raises("both integer and string keys", encode, {x = 1, y = 2, [1] = 3})
      raises("array metatable has a string key", encode, setmetatable({x = 1}, core.array_mt))
    end)

    it("refuses float, boolean and other keys", function()
      raises("non%-integer number key", encode, {[1.5] = 1})
      raises("non%-integer number key", encode, {a = {[0.5] = true}})
      raises("boolean key", encode, {[true] = 1})
      raises("table key", encode, {[{}] = 1})
      raises("function key", encode, {[print] = 1})
    end)

    it("detects cycles at any depth", function()
      local t = {}
      t.self = t
      raises("cycle", encode, t)
      local a = {b = {c = {}}}
      a.b.c.back = a
      raises("cycle.*%(at key 'back' in %$%.b%.c%)", encode, a)
      local arr = {1}
      arr[2] = arr
      raises("cycle", encode, arr)
      raises("cycle", encode, {x = {y = {a}}})
    end)

    it("encodes a table reached twice without a cycle", function()
      local shared = {1}
      assert.are.equal("[[1],[1]]", encode({shared, shared}))
      assert.are.equal('{"a":{"k":[1]},"b":{"k":[1]}}', encode({a = {k = shared}, b = {k = shared}}))
    end)

    it("accepts 1000 levels and refuses 1001", function()
      local function deep(n)
        local t = {}
        for _ = 2, n do t = {t} end
        return t
      end
      assert.are.equal(string.rep("[", 999) .. "{}" .. string.rep("]", 999), encode(deep(1000)))
      raises("nesting deeper than 1000", encode, deep(1001))
      raises("nesting deeper than 1000", encode, deep(10000))
      assert.are.equal(nested(1000, "[", "]"), encode(decode(nested(1000, "[", "]"))))
    end)
  end)

  describe("strings", function()
    it("escapes as JSON.stringify does", function()
      assert.are.equal([["\"\\/\b\f\n\r\t"]], encode('"\\/\b\f\n\r\t'))
      assert.are.equal([["\u0000\u0001\u001f\u000b"]], encode("\0\1\31\11"))
      assert.are.equal('"\127"', encode("\127"))
      assert.are.equal('"é😀€"', encode("é😀€"))
      assert.are.equal('"\244\143\191\191"', encode("\244\143\191\191")) -- U+10FFFF
    end)

    it("escapes a special byte at every position of an 8-byte block", function()
      -- strings are scanned 8 bytes at a time: every byte value must be seen wherever it sits
      local function want(c)
        local named = {[8] = "\\b", [9] = "\\t", [10] = "\\n", [12] = "\\f", [13] = "\\r", [34] = '\\"', [92] = "\\\\"}
        if named[c] then return named[c] end
        if c < 32 then return ("\\u%04x"):format(c) end
        return string.char(c)
      end
      for c = 0, 127 do
        for pos = 1, 17 do
          local s = string.rep("a", pos - 1) .. string.char(c) .. string.rep("b", 17 - pos)
          local expected = '"' .. string.rep("a", pos - 1) .. want(c) .. string.rep("b", 17 - pos) .. '"'
          assert.are.equal(expected, encode(s))
          assert.are.equal(s, decode(expected))
        end
      end
      for c = 128, 255 do
        for pos = 1, 17 do
          local s = string.rep("a", pos - 1) .. string.char(c) .. string.rep("b", 17 - pos)
          raises("invalid UTF%-8", encode, s)
          decode_error('"' .. s .. '"', "invalid UTF%-8 in string at byte " .. (pos + 1))
        end
      end
    end)

    it("round-trips every byte below 0x80 and long strings", function()
      local chars = {}
      for c = 0, 127 do chars[#chars + 1] = string.char(c) end
      local all = table.concat(chars)
      assert.are.equal(all, decode(encode(all)))
      assert.are.equal(all, cjson.decode(encode(all)))
      local long = string.rep("a\"b\\c\nd\0é😀", 50000)
      assert.are.equal(long, decode(encode(long)))
      assert.are.equal(long, cjson.decode(encode(long)))
    end)

    it("refuses invalid UTF-8 in strings and keys", function()
      for _, s in ipairs {"\255", "\192\175", "\237\160\128", "abc\226\130", "\244\144\128\128", "\128", "\224\128\175"} do
        raises("invalid UTF%-8 in a string", encode, s)
        raises("invalid UTF%-8 in a string %(at key 'k'%)", encode, {k = s})
        raises("invalid UTF%-8 in a key", encode, {[s] = 1})
      end
    end)
  end)

  describe("recovers after errors", function()
    it("keeps working, with no stale output, after an error mid-document", function()
      for _ = 1, 50 do
        pcall(encode, {a = string.rep("x", 100000), b = {c = print}})
        pcall(decode, '["' .. string.rep("y\\n", 10000) .. '", nul')
      end
      assert.are.equal('{"a":1}', encode({a = 1}))
      assert.are.equal(1, decode('{"a":1}').a)
    end)

    it("works when a __gc finalizer calls the codec in the middle of a call", function()
      -- Objects of more than 64 keys are encoded by looking each value up by key, and keys
      -- longer than 40 bytes are new strings each time: the encoder allocates, so the
      -- collector runs, and so do pending finalizers, while the output is half written.
      local big = {}
      for i = 1, 300 do
        local obj = {}
        for k = 1, 70 do obj[("k%02d"):format(k) .. string.rep("-", 45)] = "v\n" .. i end
        big[i] = obj
      end
      local want = encode(big)
      local seen = {}
      for _ = 1, 5 do
        for _ = 1, 100 do
          with_finalizer(function()
            seen[#seen + 1] = encode({x = {1, "a\nb"}}) .. tostring(decode('{"y":["\\n"]}').y[1])
          end)
        end
        assert.are.equal(want, encode(big))
        assert.are.equal(want, encode(decode(want)))
      end
      collectgarbage()
      assert.is_true(#seen > 0)
      for _, s in ipairs(seen) do assert.are.equal('{"x":[1,"a\\nb"]}\n', s) end
    end)
  end)
end)

describe("json cross-check against lua-cjson", function()
  cjson.encode_number_precision(14) -- the most this lua-cjson allows

  local pieces = {"a", "Z", "0", " ", "\"", "\\", "/", "\n", "\t", "\r", "\b", "\f", "\0", "\1", "\31", "\127",
                  -- U+10FFFF, U+E000, U+07FF, U+0800:
                  "é", "€", "😀", "ß", "中", "\244\143\191\191", "\238\128\128", "\223\191", "\224\160\128", "key"}

  local function gen_string()
    local t = {}
    for i = 1, math.random(0, 12) do t[i] = pieces[math.random(#pieces)] end
    return table.concat(t)
  end

  -- cjson writes at most 14 significant digits: numbers meant for it stay within that
  local function gen_number(full)
    local r = math.random(1, 5)
    if r == 1 then return math.random(-1000, 1000) end
    if r == 2 then
      if full then return random(-9007199254740991, 9007199254740991) end
      return random(-99999999999999, 99999999999999)
    end
    local x
    if r == 3 then x = (math.random() - 0.5) * 10.0 ^ math.random(-300, 300)
    elseif r == 4 then x = math.random() * 10.0 ^ math.random(-8, 8)
    else x = math.random(-100000, 100000) / 100 end
    if full then return x end
    return tonumber(("%.13e"):format(x))
  end

  local function gen_value(depth, full)
    local r = math.random(1, depth > 4 and 5 or 8)
    if r == 1 then return gen_string() end
    if r == 2 then return gen_number(full) end
    if r == 3 then return math.random(2) == 1 end
    if r == 4 then return null end
    if r == 5 then return gen_number(full) end
    if r <= 6 then
      local t = {}
      for i = 1, math.random(1, 6) do t[i] = gen_value(depth + 1, full) end
      return t
    end
    local t = {}
    for _ = 1, math.random(0, 6) do t[gen_string()] = gen_value(depth + 1, full) end
    return t
  end

  local function same(a, b, path)
    if type(a) ~= type(b) then return false, path .. ": " .. type(a) .. " vs " .. type(b) end
    if type(a) == "table" then
      for k, v in pairs(a) do
        local ok, where = same(v, b[k], path .. "." .. tostring(k))
        if not ok then return false, where end
      end
      for k in pairs(b) do
        if a[k] == nil then return false, path .. "." .. tostring(k) .. " is extra" end
      end
      return true
    end
    if a == b then return true end
    return false, path .. ": " .. tostring(a) .. " vs " .. tostring(b)
  end

  it("decodes what cjson encodes (500 documents)", function()
    math.randomseed(20240601)
    for n = 1, 500 do
      local doc = gen_value(0, false)
      local text = cjson.encode(doc)
      local ok, where = same(doc, decode(text), "$")
      assert(ok, ("document %d differs at %s: %s"):format(n, tostring(where), text))
    end
  end)

  it("encodes what cjson decodes back (500 documents)", function()
    math.randomseed(20240602)
    for n = 1, 500 do
      local doc = gen_value(0, true)
      local text = encode(doc)
      local ok, where = same(doc, cjson.decode(text), "$")
      assert(ok, ("document %d differs at %s: %s"):format(n, tostring(where), text))
      assert.are.equal(text, encode(decode(text)), "re-encoding is stable")
    end
  end)
end)

-- Lua 5.1, 5.2 and LuaJIT have one number type, the double: what the codec promises there
-- (README, "Lua 5.1, 5.2 and LuaJIT: numbers are doubles"). Keyed on the absence of the
-- integer subtype, not on the interpreter; 5.3 and 5.4 keep integers apart (covered above).
describe("json numbers without an integer subtype", function()
  if math.type then
    pending(_VERSION .. " has integers; these run under `make test-lua51`, `test-lua52`, `test-luajit`")
    return
  end

  it("has no math.type or math.tointeger: an integral value is one with no fraction", function()
    assert.is_nil(rawget(math, "type"))
    assert.is_nil(rawget(math, "tointeger"))
    local doc = decode('{"amount":5000,"rate":0.5,"big":9007199254740993}')
    assert.are.equal("number", type(doc.amount))
    assert.are.equal(0, doc.amount % 1)
    assert.are.equal(5000, math.floor(doc.amount))
    assert.are_not.equal(0, doc.rate % 1)
    assert.are.equal(0, doc.big % 1) -- rounded, but still integral
  end)

  it("decodes integers exactly up to 2^53 and encodes them without a fraction", function()
    assert.are.equal(5000, decode("5000"))
    assert.are.equal("5000", encode(decode("5000")))
    assert.are.equal("5000", encode(5000.0))
    assert.are.equal(2 ^ 53 - 1, decode("9007199254740991"))
    assert.are.equal(2 ^ 53, decode("9007199254740992"))
    assert.are.equal(-(2 ^ 53), decode("-9007199254740992"))
    assert.are.equal("9007199254740992", encode(2 ^ 53))
    assert.are.equal('{"amount":9007199254740991}', encode(decode('{"amount":9007199254740991}')))
  end)

  it("rounds larger integers to the nearest double, as JSON.parse does", function()
    assert.are.equal(2 ^ 53, decode("9007199254740993"))          -- ties to even
    assert.are.equal(2 ^ 53 + 4, decode("9007199254740995"))
    assert.are.equal(2 ^ 64, decode("18446744073709551615"))
    assert.are.equal("9007199254740992", encode(decode("9007199254740993")))
    assert.are.equal("9223372036854776000", encode(2 ^ 63))         -- Number#toString's digits
  end)

  it("writes fractions and exponents in the shortest round-trip form, like 5.4's floats", function()
    assert.are.equal("1.5", encode(1.5))
    assert.are.equal("0.1", encode(0.1))
    assert.are.equal("1e+21", encode(1e21))
    assert.are.equal("1e-7", encode(1e-7))
    assert.are.equal("0", encode(-0.0))
    assert.are.equal(100, decode("1e2"))
    assert.are.equal(5000, decode("5000.0"))
  end)
end)
