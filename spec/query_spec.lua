-- query_spec.lua: medusa.core.query_encode (qs.stringify with default options, spec §2 and
-- Appendix A16) and medusa.core.path_segment.
-- Lua tables have no insertion order, so query_encode emits object keys in byte order of
-- the raw key; where a recorded JS case had several keys in another order, the expected
-- string below is the recorded one with its pairs re-ordered that way (marked "sorted").

local core = require("medusa.core")
local q = core.query_encode
local seg = core.path_segment
local null = core.null
local array_mt = core.array_mt

-- Expects fn(...) to raise a message that starts with `prefix` and contains `needle`.
local function raises(needle, fn, ...)
  local ok, err = pcall(fn, ...)
  assert.is_false(ok, "expected an error containing: " .. needle)
  assert.is_string(err)
  assert.is_truthy(err:find(needle, 1, true), "message was: " .. tostring(err))
  return err
end

local function qraises(needle, tbl)
  local err = raises(needle, q, tbl)
  assert.are.equal("medusa.query: ", err:sub(1, 14))
  return err
end

-- An independent oracle for the random/large cases: encodes with gsub, sorts with table.sort.
local function pct(s)
  return (s:gsub("[^A-Za-z0-9%-_%.~]", function(c) return string.format("%%%02X", c:byte()) end))
end

describe("query_encode: every recorded qs.stringify case (A16)", function()
  it("{expand:'region'}", function()
    assert.are.equal("expand=region", q({ expand = "region" }))
  end)
  it("{expand:'region,payment_sessions', fields:'id,amount'} (already in byte order)", function()
    assert.are.equal("expand=region%2Cpayment_sessions&fields=id%2Camount",
      q({ expand = "region,payment_sessions", fields = "id,amount" }))
  end)
  it("{a:[1,2]}", function()
    assert.are.equal("a%5B0%5D=1&a%5B1%5D=2", q({ a = { 1, 2 } }))
  end)
  it("{a:['x']}", function()
    assert.are.equal("a%5B0%5D=x", q({ a = { "x" } }))
  end)
  it("{a:[]} gives the empty string, marked or not", function()
    assert.are.equal("", q({ a = setmetatable({}, array_mt) }))
    assert.are.equal("", q({ a = {} }))
  end)
  it("{a:{b:'c'}}", function()
    assert.are.equal("a%5Bb%5D=c", q({ a = { b = "c" } }))
  end)
  it("{a:{b:{c:'d'}}}", function()
    assert.are.equal("a%5Bb%5D%5Bc%5D=d", q({ a = { b = { c = "d" } } }))
  end)
  it("{a:[{b:1},{b:2}]}", function()
    assert.are.equal("a%5B0%5D%5Bb%5D=1&a%5B1%5D%5Bb%5D=2", q({ a = { { b = 1 }, { b = 2 } } }))
  end)
  it("{q:'a b&c=d/é'}", function()
    assert.are.equal("q=a%20b%26c%3Dd%2F%C3%A9", q({ q = "a b&c=d/é" }))
  end)
  it("{q:\"~!*()'-_.\"}", function()
    assert.are.equal("q=~%21%2A%28%29%27-_.", q({ q = "~!*()'-_." }))
  end)
  it("{q:'€😀'}", function()
    assert.are.equal("q=%E2%82%AC%F0%9F%98%80", q({ q = "€😀" }))
  end)
  it("{q:'a+b%20c,d;e:f@g$h[i]'}", function()
    assert.are.equal("q=a%2Bb%2520c%2Cd%3Be%3Af%40g%24h%5Bi%5D", q({ q = "a+b%20c,d;e:f@g$h[i]" }))
  end)
  it("{'k y':'v'}", function()
    assert.are.equal("k%20y=v", q({ ["k y"] = "v" }))
  end)
  it("{'a[b]':'c'}: a literal bracket key looks like nesting once encoded", function()
    assert.are.equal("a%5Bb%5D=c", q({ ["a[b]"] = "c" }))
  end)
  it("{x:null, y:undefined, z:true} (undefined = absent key)", function()
    assert.are.equal("x=&z=true", q({ x = null, y = nil, z = true }))
  end)
  it("{f:false, n:0, e:''} (sorted: JS gave f=false&n=0&e=)", function()
    assert.are.equal("e=&f=false&n=0", q({ f = false, n = 0, e = "" }))
  end)
  it("{d:new Date(0)}: no Date in Lua; its toISOString() string encodes the same", function()
    assert.are.equal("d=1970-01-01T00%3A00%3A00.000Z", q({ d = "1970-01-01T00:00:00.000Z" }))
  end)
  it("{n:1.5, big:1e21, neg:-3} (sorted: JS gave n=1.5&big=1e%2B21&neg=-3)", function()
    assert.are.equal("big=1e%2B21&n=1.5&neg=-3", q({ n = 1.5, big = 1e21, neg = -3 }))
  end)
  it("{} / {o:{}} / {y:undefined} give the empty string", function()
    assert.are.equal("", q({}))
    assert.are.equal("", q({ o = {} }))
    assert.are.equal("", q({ y = nil }))
  end)
  it("{x:null}", function()
    assert.are.equal("x=", q({ x = null }))
  end)
end)

describe("query_encode: key order", function()
  it("sorts keys by raw bytes, not by their encoded form", function()
    -- raw: "a." (2E) < "a/" (2F); encoded "a%2F" would sort before "a.".
    assert.are.equal("a.=1&a%2F=2", q({ ["a/"] = 2, ["a."] = 1 }))
    -- raw: "~" (7E) < "é" (C3 A9); encoded "%C3%A9" would sort before "~".
    assert.are.equal("~=1&%C3%A9=2", q({ ["é"] = 2, ["~"] = 1 }))
  end)
  it("uses plain byte order: upper case first, prefixes first, space before letters", function()
    assert.are.equal("B=3&_=7&a=2&a%20b=4&aa=5&b=1&%C3%A9=6",
      q({ b = 1, a = 2, B = 3, ["a b"] = 4, aa = 5, ["é"] = 6, _ = 7 }))
  end)
  it("sorts at every nesting level", function()
    assert.are.equal("a%5Bx%5D%5Bm%5D=1&a%5Bx%5D%5Bn%5D=2&a%5By%5D=3&b=4",
      q({ b = 4, a = { y = 3, x = { n = 2, m = 1 } } }))
  end)
  it("keeps arrays in index order: a[10] after a[9]", function()
    local arr = {}
    for i = 1, 12 do arr[i] = "v" .. (i - 1) end
    local want = {}
    for i = 0, 11 do want[#want + 1] = "a%5B" .. i .. "%5D=v" .. i end
    assert.are.equal(table.concat(want, "&"), q({ a = arr }))
    assert.is_truthy(q({ a = arr }):find("a%5B9%5D=v9&a%5B10%5D=v10", 1, true))
  end)
  it("sorts a large object like table.sort does (against a gsub-based oracle)", function()
    local t, keys = {}, {}
    for i = 1, 300 do
      local k = string.char(32 + (i * 37) % 95, 32 + (i * 11) % 95) .. i
      t[k] = "v " .. i .. "/é"
      keys[#keys + 1] = k
    end
    table.sort(keys)
    local want = {}
    for _, k in ipairs(keys) do want[#want + 1] = pct(k) .. "=" .. pct(t[k]) end
    assert.are.equal(table.concat(want, "&"), q(t))
  end)
end)

describe("query_encode: percent-encoding", function()
  it("keeps exactly A-Z a-z 0-9 - _ . ~ in keys and values", function()
    local unres = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.~"
    assert.are.equal(unres .. "=" .. unres, q({ [unres] = unres }))
  end)
  it("encodes each reserved character in keys and in values, upper-case hex", function()
    local enc = {
      ["!"] = "%21", ["#"] = "%23", ["$"] = "%24", ["&"] = "%26", ["'"] = "%27", ["("] = "%28",
      [")"] = "%29", ["*"] = "%2A", ["+"] = "%2B", [","] = "%2C", ["/"] = "%2F", [":"] = "%3A",
      [";"] = "%3B", ["="] = "%3D", ["?"] = "%3F", ["@"] = "%40", ["["] = "%5B", ["]"] = "%5D",
      ["%"] = "%25",
    }
    for c, e in pairs(enc) do
      assert.are.equal("k" .. e .. "=v" .. e, q({ ["k" .. c] = "v" .. c }), "char " .. c)
    end
    assert.are.equal("q=%21%23%24%26%27%28%29%2A%2B%2C%2F%3A%3B%3D%3F%40%5B%5D%25",
      q({ q = "!#$&'()*+,/:;=?@[]%" }))
  end)
  it("encodes spaces as %20, never +", function()
    assert.are.equal("a%20key=a%20%20value%20", q({ ["a key"] = "a  value " }))
  end)
  it("encodes UTF-8 byte by byte: é, €, 😀 in keys and values", function()
    assert.are.equal("%C3%A9=%E2%82%AC", q({ ["é"] = "€" }))
    assert.are.equal("%F0%9F%98%80%5B%C3%A9%5D=%F0%9F%98%80", q({ ["😀"] = { ["é"] = "😀" } }))
  end)
  it("encodes invalid UTF-8, NUL and control bytes as they are", function()
    assert.are.equal("k%FF=%FE%C3%00%0D%0A%09%7F", q({ ["k\255"] = "\254\195\0\r\n\t\127" }))
  end)
  it("encodes a long value in full (buffer growth)", function()
    local v = string.rep("a/é ", 20000)
    local got = q({ v = v, w = "x" })
    assert.are.equal("v=" .. string.rep("a%2F%C3%A9%20", 20000) .. "&w=x", got)
    assert.are.equal("a=1", q({ a = 1 })) -- and the encoder still works after shrinking
  end)
end)

describe("query_encode: values", function()
  it("prints integers as decimal", function()
    assert.are.equal("a=0&b=-3&c=42&d=1234567890", q({ a = 0, b = -3, c = 42, d = 1234567890 }))
  end)
  if math.type then -- Lua 5.3+: integers beyond 2^53 keep every digit
    it("prints 64-bit integer extremes exactly", function()
      assert.are.equal("max=9223372036854775807&min=-9223372036854775808",
        q({ max = math.maxinteger, min = math.mininteger }))
    end)
  end
  it("prints floats as JS String(n) does", function()
    assert.are.equal("a=1.5&b=5000&c=0.1&d=-2.25&e=1e-7&f=0", q({ a = 1.5, b = 5000.0, c = 0.1,
      d = -2.25, e = 1e-7, f = -0.0 }))
    assert.are.equal("big=1e%2B21&just=123456789012345680000&tiny=5e-324",
      q({ big = 1e21, just = 123456789012345678901, tiny = 5e-324 }))
    assert.are.equal("p=9007199254740992&r=0.30000000000000004", q({ p = 2.0 ^ 53, r = 0.1 + 0.2 }))
  end)
  it("prints booleans as true/false", function()
    assert.are.equal("f=false&t=true", q({ t = true, f = false }))
    assert.are.equal("a%5B0%5D=true&a%5B1%5D=false", q({ a = { true, false } }))
  end)
  it("gives key= for null, at the top, in objects and in arrays", function()
    assert.are.equal("a%5B0%5D=&a%5B1%5D=x&n=&o%5Bz%5D=",
      q({ n = null, o = { z = null }, a = { null, "x" } }))
  end)
  it("omits empty tables but keeps their siblings", function()
    assert.are.equal("b=1&c%5Bd%5D=2", q({ a = {}, b = 1, c = { d = 2, e = {}, f = setmetatable({}, array_mt) } }))
  end)
  it("encodes objects three levels deep", function()
    assert.are.equal("a%5Bb%5D%5Bc%5D%5Bd%5D=e&a%5Bb%5D%5Bx%5D=1",
      q({ a = { b = { c = { d = "e" }, x = 1 } } }))
  end)
  it("encodes arrays of objects and arrays of arrays", function()
    assert.are.equal("a%5B0%5D%5Bid%5D=x&a%5B0%5D%5Bn%5D=1&a%5B1%5D%5Bid%5D=y&m%5B0%5D%5B0%5D=1&m%5B1%5D%5B0%5D=2",
      q({ a = { { id = "x", n = 1 }, { id = "y" } }, m = { { 1 }, { 2 } } }))
  end)
  it("treats array_mt-marked tables as arrays", function()
    assert.are.equal("a%5B0%5D=x&a%5B1%5D=y", q({ a = setmetatable({ "x", "y" }, array_mt) }))
  end)
  it("accepts the same table twice when it is not a cycle", function()
    local shared = { k = "v" }
    assert.are.equal("a%5Bk%5D=v&b%5Bk%5D=v", q({ a = shared, b = shared }))
  end)
  it("accepts string keys that look like numbers and the empty key", function()
    assert.are.equal("=e&0=z&1=o", q({ ["1"] = "o", ["0"] = "z", [""] = "e" }))
    -- "=" alone is a whole pair: the next one still needs its "&".
    assert.are.equal("=&a=b", q({ [""] = "", a = "b" }))
  end)
  it("reads tables raw, ignoring __index and __pairs", function()
    local t = setmetatable({ a = 1 }, { __index = function() return "x" end,
      __pairs = function() error("must not be called") end })
    assert.are.equal("a=1", q(t))
    assert.are.equal("o%5Ba%5D=1", q({ o = t }))
  end)
  it("allows 32 nested tables, the query table included", function()
    local root = {}
    local cur = root
    for _ = 1, 31 do cur.a = {}; cur = cur.a end
    cur.a = "leaf"
    assert.are.equal(pct("a" .. string.rep("[a]", 31)) .. "=leaf", q(root))
  end)
end)

describe("query_encode: errors name the key path", function()
  it("rejects a non-table argument", function()
    for _, v in ipairs({ "expand=region", 42, true }) do
      local ok, err = pcall(q, v)
      assert.is_false(ok)
      assert.are.equal("medusa.query: query must be a table", err)
    end
    local ok, err = pcall(q)
    assert.is_false(ok)
    assert.are.equal("medusa.query: query must be a table", err)
    ok, err = pcall(q, nil)
    assert.is_false(ok)
    assert.are.equal("medusa.query: query must be a table", err)
  end)
  it("starts the message with medusa.query: even when called from a Lua function", function()
    local ok, err = pcall(function() return q({ f = print }) end)
    assert.is_false(ok)
    assert.are.equal("medusa.query: unsupported value of type function at 'f'", err)
  end)
  it("rejects functions, threads and full userdata", function()
    qraises("unsupported value of type function at 'a[b]'", { a = { b = print } })
    qraises("unsupported value of type thread at 'co'", { co = coroutine.create(function() end) })
    qraises("unsupported value of type userdata at 'x[0]'", { x = { io.stdout } })
  end)
  it("rejects NaN and infinities", function()
    qraises("NaN is not allowed at 'n'", { n = 0 / 0 })
    qraises("Infinity is not allowed at 'a[b][1]'", { a = { b = { 1, math.huge } } })
    qraises("-Infinity is not allowed at 'm'", { m = -math.huge })
  end)
  it("rejects sparse arrays", function()
    qraises("integer keys with gaps) at 'a'", { a = { 1, nil, 3 } })
    qraises("integer keys with gaps) at 'a'", { a = { [2] = "x" } })
    qraises("integer key 0) at 'a'", { a = { [0] = "x", [1] = "y" } })
    qraises("integer key -1) at 'a'", { a = { [-1] = "x" } })
  end)
  it("rejects mixed, float, boolean and table keys", function()
    qraises("both string and integer keys) at 'o[p]'", { o = { p = { 1, 2, x = 3 } } })
    qraises("number key 1.5) at 'a'", { a = { [1.5] = "x" } })
    qraises("a boolean key) at 'a'", { a = { [true] = "x" } })
    qraises("a table key) at 'a'", { a = { [{}] = "x" } })
    qraises("string key in a table marked as array) at 'a'", { a = setmetatable({ x = 1 }, array_mt) })
    qraises("integer keys with gaps) at 'a'", { a = setmetatable({ [3] = 1 }, array_mt) })
  end)
  it("rejects bad keys in the query table itself", function()
    qraises("both string and integer keys) in the query table", { 1, a = 2 })
    qraises("a boolean key) in the query table", { [false] = 1 })
  end)
  it("rejects a top-level array (a query needs named keys)", function()
    qraises("query must have named keys, not be an array", { "region" })
    qraises("query must have named keys, not be an array", { 1, 2, 3 })
    qraises("query must have named keys, not be an array", setmetatable({}, array_mt))
  end)
  it("rejects cycles", function()
    local t = {}
    t.self = t
    qraises("cycle (a table contains itself) at 'self'", t)
    local u = { a = {} }
    u.a.b = { u.a }
    qraises("cycle (a table contains itself) at 'a[b][0]'", u)
  end)
  it("rejects nesting deeper than 32 tables", function()
    local root = {}
    local cur = root
    for _ = 1, 32 do cur.a = {}; cur = cur.a end
    cur.a = "leaf"
    qraises("nesting deeper than 32 tables at 'a" .. string.rep("[a]", 31) .. "'", root)
  end)
  it("keeps working after an error", function()
    pcall(q, { a = { b = { c = print } } })
    assert.are.equal("a%5Bb%5D=c", q({ a = { b = "c" } }))
  end)
end)

describe("path_segment", function()
  it("keeps unreserved characters and returns plain ids unchanged", function()
    local unres = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.~"
    assert.are.equal(unres, seg(unres))
    assert.are.equal("paycol_01HXYZ", seg("paycol_01HXYZ"))
    assert.are.equal("...", seg("..."))
    assert.are.equal("a.b", seg("a.b"))
  end)
  it("encodes every special character", function()
    local enc = {
      ["/"] = "%2F", ["?"] = "%3F", ["#"] = "%23", ["%"] = "%25", [":"] = "%3A", ["@"] = "%40",
      ["+"] = "%2B", [","] = "%2C", [";"] = "%3B", ["="] = "%3D", [" "] = "%20", ["\r"] = "%0D",
      ["\n"] = "%0A", ["\0"] = "%00", ["&"] = "%26", ["\""] = "%22", ["<"] = "%3C", [">"] = "%3E",
      ["\\"] = "%5C", ["^"] = "%5E", ["`"] = "%60", ["{"] = "%7B", ["|"] = "%7C", ["}"] = "%7D",
      ["["] = "%5B", ["]"] = "%5D", ["!"] = "%21", ["'"] = "%27", ["("] = "%28", [")"] = "%29",
      ["*"] = "%2A", ["$"] = "%24", ["\t"] = "%09", ["\127"] = "%7F",
    }
    for c, e in pairs(enc) do
      assert.are.equal("a" .. e .. "b", seg("a" .. c .. "b"), "char " .. string.byte(c))
      assert.are.equal(e, seg(c), "char alone " .. string.byte(c))
    end
  end)
  it("encodes UTF-8 ids byte by byte", function()
    assert.are.equal("paycol_%C3%BC1", seg("paycol_ü1"))
    assert.are.equal("%C3%A9", seg("é"))
    assert.are.equal("%E2%82%AC%F0%9F%98%80", seg("€😀"))
    assert.are.equal("%FF%FE", seg("\255\254"))
  end)
  it("keeps a traversal attempt inside one segment", function()
    assert.are.equal("..%2F..%2Fadmin%2Forders", seg("../../admin/orders"))
    assert.are.equal("a%3Fx%3D1", seg("a?x=1"))
    assert.are.equal("a%23frag", seg("a#frag"))
    assert.are.equal("a%252Fb", seg("a%2Fb"))
  end)
  it("encodes long ids in full", function()
    local id = string.rep("ab/", 1000) .. "é"
    assert.are.equal(string.rep("ab%2F", 1000) .. "%C3%A9", seg(id))
  end)
  it("rejects the empty string, '.' and '..'", function()
    raises("medusa.path: segment must not be empty", seg, "")
    raises("medusa.path: segment must not be \".\"", seg, ".")
    raises("medusa.path: segment must not be \"..\"", seg, "..")
  end)
  it("rejects non-strings, numbers included", function()
    raises("medusa.path: segment must be a string, got number", seg, 42)
    raises("medusa.path: segment must be a string, got nil", seg, nil)
    raises("medusa.path: segment must be a string, got table", seg, {})
    raises("medusa.path: segment must be a string, got no value", seg)
    local ok, err = pcall(function() return seg(false) end)
    assert.is_false(ok)
    assert.are.equal("medusa.path: segment must be a string, got boolean", err)
  end)
end)
