-- spec/hostile_spec.lua: hostile input from the caller (issue 3). Every id, session id,
-- query key and value, header and payload below either goes out correctly encoded or
-- raises a clear error before anything is sent; the server records what arrived, and a
-- sentinel server on another port proves no request ever went to another host.
local Medusa = require "medusa"
local Server = require "support.server"
local H = require "helpers"
local cjson = require "cjson"

local BASE = "/store/payment-collections/"

-- Percent-encoding oracle, independent of the C encoder: all but A-Z a-z 0-9 - _ . ~.
local function pct(s)
  return (s:gsub("[^A-Za-z0-9%-_%.~]", function(c) return ("%%%02X"):format(c:byte()) end))
end

local function raises(fn, needle)
  local ok, err = pcall(fn)
  assert.is_false(ok, "expected an error mentioning " .. needle)
  assert.is_string(err)
  assert.is_truthy(err:find(needle, 1, true), "message was: " .. err)
  assert.matches("^[^\n]*hostile_spec%.lua:%d+: medusa: ", err)
  return err
end

describe("hostile input", function()
  local srv, sentinel, m, decoys

  setup(function()
    srv = Server.start { mode = "script" }
    sentinel = Server.start { mode = "script" }
    local other = "127.0.0.1:" .. sentinel.port
    -- Strings that would re-target a naive URL builder.
    decoys = {
      "/", "?", "#", "%", "..", ".", " ", "\r", "\n", "\0", "\255\254", "é",
      "a/b", "a?x=1", "a#frag", "100%", "%2e%2e", "%2F", "../../admin/orders", "..\\..\\admin",
      "a b", "a\r\nX-Injected: 1", "a\0b", "\192\175", "//" .. other .. "/x", "@" .. other,
      "http://" .. other .. "/store", "paycol_1/../../x", string.rep("x", 5000),
      string.rep("/..", 1000),
    }
  end)
  teardown(function()
    srv:stop()
    local strays = #sentinel:log()
    sentinel:stop()
    assert.are.equal(0, strays, "a request reached the sentinel (another host)")
  end)
  before_each(function()
    srv:reset()
    m = Medusa.new { baseUrl = srv.url }
  end)
  after_each(function()
    m:close()
  end)

  -- Every request the server saw, as {method, target}; none may be a malformed request.
  local function targets()
    local out = {}
    for i, r in ipairs(srv:log()) do
      assert.is_nil(r.error, "the server saw a malformed request: " .. tostring(r.error))
      out[i] = { r.method, r.target }
    end
    return out
  end

  local function assert_nothing_sent()
    assert.are.same({}, targets())
  end

  describe("ids and session ids", function()
    it("each goes out as one percent-encoded path segment", function()
      local expected = {}
      for _, id in ipairs(decoys) do
        if id ~= "." and id ~= ".." then
          assert(m.paymentCollections.retrieve(id))
          expected[#expected + 1] = { "GET", BASE .. pct(id) }
          assert(m.paymentCollections.authorizePaymentSession("paycol_1", id))
          expected[#expected + 1] = { "POST", BASE .. "paycol_1/sessions/" .. pct(id) .. "/authorize" }
          assert(m.paymentCollections.refreshPaymentSession(id, id))
          expected[#expected + 1] = { "POST", BASE .. pct(id) .. "/sessions/" .. pct(id) }
        end
      end
      assert.are.same(expected, targets())
      for _, r in ipairs(srv:log()) do
        assert.is_nil(r.query, "an id added a query string")
        assert.are.equal("127.0.0.1:" .. srv.port, H.header(r, "Host"))
        assert.is_nil(H.header(r, "X-Injected"))
      end
    end)

    it("'', '.', '..', and non-strings raise, naming the argument; nothing is sent", function()
      local pc = m.paymentCollections
      for _, bad in ipairs { "", ".", "..", 42, true, {}, Medusa.null } do
        raises(function() pc.retrieve(bad) end, "bad argument 'id'")
        raises(function() pc.authorizePaymentSession("paycol_1", bad) end, "bad argument 'session_id'")
        raises(function() pc.refreshPaymentSession(bad, "ps_1") end, "bad argument 'id'")
        raises(function() pc.managePaymentSession(bad, { provider_id = "manual" }) end, "bad argument 'id'")
      end
      raises(function() pc.retrieve() end, "bad argument 'id'")
      assert_nothing_sent()
    end)
  end)

  describe("query keys and values", function()
    it("each key and value is percent-encoded in full", function()
      local expected = {}
      for _, s in ipairs(decoys) do
        assert(m.paymentCollections.retrieve("paycol_1", { [s] = s }))
        expected[#expected + 1] = { "GET", BASE .. "paycol_1?" .. pct(s) .. "=" .. pct(s) }
        assert(m.paymentCollections.retrieve("paycol_1", { expand = { s, s } }))
        expected[#expected + 1] = { "GET", BASE .. "paycol_1?expand%5B0%5D=" .. pct(s) .. "&expand%5B1%5D=" .. pct(s) }
      end
      assert.are.same(expected, targets())
    end)

    it("values that cannot be encoded raise, naming 'query'; nothing is sent", function()
      local cycle = {}
      cycle.self = cycle
      for _, bad in ipairs {
        { f = print }, { n = 0 / 0 }, { n = math.huge }, { u = io.stdout }, { c = coroutine.create(function() end) },
        cycle, { a = { 1, nil, 3 } }, { a = { 1, 2, x = 3 } }, { [true] = "k" }, { [{}] = "k" }, { 1, 2 },
      } do
        raises(function() m.paymentCollections.retrieve("paycol_1", bad) end, "bad argument 'query'")
      end
      raises(function() m.paymentCollections.retrieve("paycol_1", "expand=region") end, "bad argument 'query'")
      assert_nothing_sent()
    end)
  end)

  describe("header names and values", function()
    it("values with URL metacharacters, non-UTF-8 bytes and 15 KiB go out byte for byte", function()
      local values = { "a/b?c#d%e..f g", "\255\254\253", "é€😀", "%0d%0a", "x" .. string.rep("v", 15000) }
      for i, value in ipairs(values) do
        assert(m.paymentCollections.retrieve("paycol_1", nil, { ["X-Hostile-" .. i] = value }))
      end
      local log = srv:log()
      assert.are.equal(#values, #log)
      for i, value in ipairs(values) do
        assert.are.equal(value, H.header(log[i], "X-Hostile-" .. i))
        assert.are.equal(BASE .. "paycol_1", log[i].target)
      end
    end)

    it("CR, LF, NUL and names that are not tokens raise before anything is sent", function()
      local pc = m.paymentCollections
      for _, value in ipairs { "a\rb", "a\nb", "a\0b", "ok\r\nX-Injected: 1", "\r\n\r\nGET /admin HTTP/1.1" } do
        raises(function() pc.retrieve("paycol_1", nil, { ["X-Bad"] = value }) end, "contains CR, LF or NUL")
        raises(function() pc.managePaymentSession("paycol_1", { provider_id = "manual" }, { ["X-Bad"] = value }) end,
          "contains CR, LF or NUL")
        raises(function() m.client.request("GET", "/store/x", nil, { ["X-Bad"] = value }) end, "contains CR, LF or NUL")
      end
      for _, name in ipairs { "", "Bad Name", "X:Y", "X\r", "X\n", "X\0", "é", "(x)", "X/Y", "X-Injected: 1\r\nY" } do
        raises(function() pc.retrieve("paycol_1", nil, { [name] = "v" }) end, "is not an HTTP token")
      end
      raises(function() pc.retrieve("paycol_1", nil, { [1] = "v" }) end, "is not an HTTP token")
      raises(function() pc.retrieve("paycol_1", nil, { ["X-Num"] = 1 }) end, "must be a string")
      raises(function() pc.retrieve("paycol_1", nil, { ["X-Tab"] = {} }) end, "must be a string")
      raises(function() pc.retrieve("paycol_1", nil, "X-A: 1") end, "bad argument 'customHeaders'")
      raises(function() Medusa.new { baseUrl = srv.url, customHeaders = { ["X-Bad"] = "a\r\nb" } } end,
        "bad argument 'config.customHeaders'")
      raises(function() Medusa.new { baseUrl = srv.url, apiKey = "sk\r\nX-Injected: 1" } end, "bad argument 'config.apiKey'")
      raises(function() Medusa.new { baseUrl = srv.url, publishableApiKey = "pk\0" } end, "bad argument 'config.publishableApiKey'")
      assert_nothing_sent()
    end)

    it("a caller's Content-Length or Transfer-Encoding cannot desynchronise the connection", function()
      -- Content-Length: 0 would leave the body to be read as the start of the next request.
      for _, framing in ipairs { { ["Content-Length"] = "0" }, { ["content-length"] = "100" },
        { ["Transfer-Encoding"] = "chunked" }, { ["TRANSFER-ENCODING"] = "gzip" } } do
        assert(m.paymentCollections.managePaymentSession("paycol_1", { provider_id = "manual" }, framing))
        assert(m.paymentCollections.retrieve("paycol_1", nil, framing))
      end
      local c = Medusa.new { baseUrl = srv.url, customHeaders = { ["Content-Length"] = "0" } }
      assert(c.paymentCollections.managePaymentSession("paycol_1", { provider_id = "manual" }))
      assert(c.paymentCollections.retrieve("paycol_1"))
      c:close()
      local log = srv:log()
      assert.are.equal(10, #log)
      for i, r in ipairs(log) do
        assert.is_nil(r.error)
        assert.is_nil(H.header(r, "Transfer-Encoding"))
        if r.method == "POST" then
          assert.are.equal('{"provider_id":"manual"}', r.body)
          assert.are.equal(1, Server.header_count(r, "Content-Length"))
          assert.are.equal(tostring(#r.body), H.header(r, "Content-Length"))
        else
          assert.are.equal(0, Server.header_count(r, "Content-Length"), "GET #" .. i)
        end
      end
    end)
  end)

  describe("payloads", function()
    it("strings with every decoy go out as JSON that decodes to the same bytes", function()
      for _, s in ipairs(decoys) do
        if s ~= "\255\254" and s ~= "\192\175" then
          assert(m.paymentCollections.managePaymentSession("paycol_1", { provider_id = s, data = { [s] = s } }))
        end
      end
      local log = srv:log()
      local i = 0
      for _, s in ipairs(decoys) do
        if s ~= "\255\254" and s ~= "\192\175" then
          i = i + 1
          local r = log[i]
          assert.are.equal(BASE .. "paycol_1/sessions", r.target)
          local raw = Server.b64decode(r.body_b64)
          assert.is_nil(raw:find("[%z\1-\31]"), "a raw control byte in the JSON body")
          local decoded = cjson.decode(raw)
          assert.are.equal(s, decoded.provider_id)
          assert.are.equal(s, decoded.data[s])
        end
      end
      assert.are.equal(i, #log)
    end)

    it("tables that cannot be JSON raise, naming 'payload'; nothing is sent", function()
      local cycle = { provider_id = "manual" }
      cycle.again = cycle
      local deep = {}
      local at = deep
      for _ = 1, 2000 do at.d = {}; at = at.d end
      for _, bad in ipairs {
        cycle, deep, { provider_id = print }, { provider_id = io.stdout }, { provider_id = coroutine.create(function() end) },
        { amount = 0 / 0 }, { amount = math.huge }, { amount = -math.huge },
        { sessions = { 1, 2, x = 3 } }, { sessions = { [1] = "a", [3] = "c" } }, { [true] = 1 }, { [{}] = 1 },
        { [1.5] = 1 }, { provider_id = "\255" }, { ["\192\175"] = 1 },
      } do
        raises(function() m.paymentCollections.managePaymentSession("paycol_1", bad) end, "bad argument 'payload'")
        raises(function() m.client.request("POST", "/store/x", bad) end, "bad argument 'payload'")
      end
      for _, bad in ipairs { "string", 5, true, print } do
        raises(function() m.paymentCollections.managePaymentSession("paycol_1", bad) end, "bad argument 'payload'")
      end
      assert_nothing_sent()
    end)
  end)

  describe("client.request paths", function()
    it("dot segments, fragments, spaces, controls, non-ASCII and relative paths raise", function()
      for _, path in ipairs {
        "", "store/x", "http://127.0.0.1:" .. sentinel.port .. "/x", "/store/../admin", "/store/./x", "/..",
        "/store/..?x", "/a#b", "/a b", "/a\r\nHost: evil", "/a\0", "/é", "/a\tb",
      } do
        raises(function() m.client.request("GET", path) end, "bad argument 'path'")
      end
      for _, method in ipairs { "PUT", "get", "CONNECT", "GET /admin HTTP/1.1\r\n", 1 } do
        raises(function() m.client.request(method, "/store/x") end, "bad argument 'method'")
      end
      assert_nothing_sent()
    end)

    it("paths that look like another host stay on this one, as written", function()
      local other = "127.0.0.1:" .. sentinel.port
      assert(m.client.request("GET", "//" .. other .. "/x"))
      assert(m.client.request("GET", "/@" .. other .. "/x"))
      assert(m.client.request("GET", "/%2e%2e/admin"))
      assert(m.client.request("POST", "/store/x?redirect=http://" .. other))
      assert.are.same({
        { "GET", "/" .. other .. "/x" }, { "GET", "/@" .. other .. "/x" }, { "GET", "/%2e%2e/admin" },
        { "POST", "/store/x?redirect=http://" .. other },
      }, targets())
    end)
  end)

  describe("baseUrl", function()
    it("user-info, schemes other than http(s) and malformed URLs are refused at Medusa.new", function()
      local other = "127.0.0.1:" .. sentinel.port
      for _, url in ipairs {
        "http://user:pw@" .. other, "http://user@" .. other, srv.url .. "@" .. other, srv.url .. "\\@" .. other,
        "file:///etc/passwd", "ftp://" .. other .. "/", "gopher://" .. other .. "/", "dict://" .. other .. "/",
        "ldap://" .. other, "telnet://" .. other, "ws://" .. other, "javascript:alert(1)",
        "", "127.0.0.1:9000", "localhost", "http://", "http:///store", "http://:80", "http:/" .. other, "//" .. other,
        "http://127.0.0.1:0", "http://127.0.0.1:65536", "http://127.0.0.1:port", "http://[::1", "http://h:80:81",
        "http://a b", "http://h\n", "http://h\0.evil", "http://h?x=1", "http://h#f", "http://h/é",
        42, true, {},
      } do
        raises(function() Medusa.new { baseUrl = url } end, "bad argument 'config.baseUrl'")
      end
      assert_nothing_sent()
    end)

    it("an accepted baseUrl with a prefix sends everything under that prefix, to that host", function()
      local c = Medusa.new { baseUrl = "HTTP://127.0.0.1:" .. srv.port .. "/prefix//" }
      assert(c.paymentCollections.retrieve("../../admin"))
      assert(c.client.request("GET", "//x"))
      c:close()
      assert.are.same({ { "GET", "/prefix" .. BASE .. "..%2F..%2Fadmin" }, { "GET", "/prefix/x" } }, targets())
    end)
  end)

  describe("a request head over 16 KiB", function()
    it("raises before anything is sent, naming the argument that made it long, under maxRetries 3", function()
      local c = Medusa.new { baseUrl = srv.url, maxRetries = 3, customHeaders = { ["X-Config"] = string.rep("c", 17000) } }
      local plain = Medusa.new { baseUrl = srv.url, maxRetries = 3 }
      for _, size in ipairs { 15400, 2 * 1000 * 1000, 10 * 1000 * 1000 } do
        raises(function() plain.paymentCollections.retrieve(string.rep("a", size)) end, "bad argument 'id' (makes the request target")
      end
      raises(function() plain.paymentCollections.refreshPaymentSession("p", string.rep("s", 16000)) end, "bad argument 'session_id'")
      raises(function() plain.products.list { q = string.rep("q", 16000) } end, "bad argument 'query'")
      raises(function() plain.orders.lookupOrder { email = string.rep("e", 16000) } end, "bad argument 'payload'")
      raises(function() plain.regions.list { ["X-Big"] = string.rep("v", 16400) } end,
        "bad argument 'customHeaders' (makes the request head")
      raises(function() plain.client.request("GET", "/store/" .. string.rep("p", 16400)) end, "bad argument 'path'")
      raises(function() plain.client.request("GET", "/store/x", nil, { ["X-Opt"] = string.rep("o", 16400) }) end,
        "bad argument 'options'")
      raises(function() c.regions.list() end, "bad argument 'config.customHeaders'")
      assert_nothing_sent()
      -- just below the limits it goes out, and the same clients still work
      assert(plain.paymentCollections.retrieve(string.rep("a", 15000)))
      assert(plain.regions.list { ["X-Big"] = string.rep("v", 15000) })
      local log = srv:log()
      assert.are.equal(2, #log)
      assert.are.equal(BASE .. string.rep("a", 15000), log[1].target)
      c:close()
      plain:close()
    end)
  end)
end)
