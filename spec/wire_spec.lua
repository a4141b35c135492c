-- spec/wire_spec.lua: the exact requests each method sends (method, target, header set,
-- body bytes), checked against the medusa-js 6.1.10 captures of the reference (appendix
-- A1-A3, A13-A15), minus the documented differences.
local Medusa = require "medusa"
local Server = require "support.server"
local H = require "helpers"

local UA = "User-Agent: " .. H.USER_AGENT

describe("on the wire", function()
  local srv

  setup(function()
    srv = Server.start { mode = "script" }
  end)
  teardown(function()
    srv:stop()
  end)
  before_each(function()
    srv:reset()
  end)

  local function only_request()
    local log = srv:log()
    assert.are.equal(1, #log, "expected exactly one request")
    return log[1]
  end

  describe("A1: the six methods, maxRetries 0, no keys", function()
    local medusa
    before_each(function()
      medusa = Medusa.new { baseUrl = srv.url, maxRetries = 0 }
    end)
    after_each(function() medusa:close() end)

    local GET = { "Accept: application/json", "Content-Type: application/json", UA }
    local function POST(len)
      return { "Accept: application/json", "Content-Type: application/json", UA, "Content-Length: " .. len }
    end

    it("retrieve(id)", function()
      local res = assert(medusa.paymentCollections.retrieve("paycol_1"))
      assert.are.equal("paycol_default", res.payment_collection.id)
      local r = only_request()
      assert.are.equal("GET", r.method)
      assert.are.equal("/store/payment-collections/paycol_1", r.target)
      H.assert_header_set(r, GET, srv.port)
      assert.are.equal(0, r.body_len)
    end)

    it("retrieve(id, {expand = 'region'})", function()
      assert(medusa.paymentCollections.retrieve("paycol_1", { expand = "region" }))
      local r = only_request()
      assert.are.equal("/store/payment-collections/paycol_1?expand=region", r.target)
      H.assert_header_set(r, GET, srv.port)
    end)

    it("retrieve(id, {expand, fields}) encodes commas as qs does", function()
      assert(medusa.paymentCollections.retrieve("paycol_1", { expand = "region,payment_sessions", fields = "id,amount" }))
      assert.are.equal("/store/payment-collections/paycol_1?expand=region%2Cpayment_sessions&fields=id%2Camount",
        only_request().target)
    end)

    it("retrieve(id, {}) sends no bare '?' (difference 3)", function()
      assert(medusa.paymentCollections.retrieve("paycol_1", {}))
      assert.are.equal("/store/payment-collections/paycol_1", only_request().target)
    end)

    it("authorizePaymentSession(id, session_id) posts {}", function()
      assert(medusa.paymentCollections.authorizePaymentSession("paycol_1", "ps_1"))
      local r = only_request()
      assert.are.equal("POST", r.method)
      assert.are.equal("/store/payment-collections/paycol_1/sessions/ps_1/authorize", r.target)
      H.assert_header_set(r, POST(2), srv.port)
      assert.are.equal("{}", r.body)
    end)

    it("authorizePaymentSessionsBatch(id, {session_ids})", function()
      assert(medusa.paymentCollections.authorizePaymentSessionsBatch("paycol_1", { session_ids = { "ps_1", "ps_2" } }))
      local r = only_request()
      assert.are.equal("/store/payment-collections/paycol_1/sessions/batch/authorize", r.target)
      assert.are.equal('{"session_ids":["ps_1","ps_2"]}', r.body)
      H.assert_header_set(r, POST(31), srv.port)
    end)

    it("managePaymentSessionsBatch(id, {sessions}) with keys in byte order", function()
      assert(medusa.paymentCollections.managePaymentSessionsBatch("paycol_1", { sessions = {
        { provider_id = "manual", amount = 5000 },
        { provider_id = "stripe", amount = 5000, session_id = "ps_2" },
      } }))
      local r = only_request()
      assert.are.equal("/store/payment-collections/paycol_1/sessions/batch", r.target)
      -- medusa-js sends insertion order; byte order is the documented, deterministic choice.
      local body = '{"sessions":[{"amount":5000,"provider_id":"manual"},{"amount":5000,"provider_id":"stripe","session_id":"ps_2"}]}'
      assert.are.equal(body, r.body)
      H.assert_header_set(r, POST(#body), srv.port)
    end)

    it("managePaymentSession(id, {provider_id})", function()
      assert(medusa.paymentCollections.managePaymentSession("paycol_1", { provider_id = "manual" }))
      local r = only_request()
      assert.are.equal("/store/payment-collections/paycol_1/sessions", r.target)
      assert.are.equal('{"provider_id":"manual"}', r.body)
      H.assert_header_set(r, POST(24), srv.port)
    end)

    it("refreshPaymentSession(id, session_id) posts {}", function()
      assert(medusa.paymentCollections.refreshPaymentSession("paycol_1", "ps_1"))
      local r = only_request()
      assert.are.equal("/store/payment-collections/paycol_1/sessions/ps_1", r.target)
      assert.are.equal("{}", r.body)
      H.assert_header_set(r, POST(2), srv.port)
    end)

    it("managePaymentSession(id, nil) posts {} as medusa-js does with undefined", function()
      assert(medusa.paymentCollections.managePaymentSession("paycol_1", nil))
      local r = only_request()
      assert.are.equal("{}", r.body)
    end)

    it("colon calls send the same request as dot calls, for every method", function()
      local pc = medusa.paymentCollections
      assert(pc:retrieve("paycol_1", { expand = "region" }))
      assert(pc:authorizePaymentSession("paycol_1", "ps_1"))
      assert(pc:authorizePaymentSessionsBatch("paycol_1", { session_ids = { "ps_1" } }))
      assert(pc:managePaymentSessionsBatch("paycol_1", { sessions = { { provider_id = "manual", amount = 1 } } }))
      assert(pc:managePaymentSession("paycol_1", { provider_id = "manual" }))
      assert(pc:refreshPaymentSession("paycol_1", "ps_1"))
      local targets = {}
      for _, r in ipairs(srv:log()) do targets[#targets + 1] = r.method .. " " .. r.target .. " " .. (r.body or "") end
      assert.are.same({
        "GET /store/payment-collections/paycol_1?expand=region ",
        "POST /store/payment-collections/paycol_1/sessions/ps_1/authorize {}",
        'POST /store/payment-collections/paycol_1/sessions/batch/authorize {"session_ids":["ps_1"]}',
        'POST /store/payment-collections/paycol_1/sessions/batch {"sessions":[{"amount":1,"provider_id":"manual"}]}',
        'POST /store/payment-collections/paycol_1/sessions {"provider_id":"manual"}',
        "POST /store/payment-collections/paycol_1/sessions/ps_1 {}",
      }, targets)
    end)

    it("keeps one connection alive across calls", function()
      assert(medusa.paymentCollections.retrieve("paycol_1"))
      assert(medusa.paymentCollections.managePaymentSession("paycol_1", { provider_id = "manual" }))
      assert(medusa.paymentCollections.retrieve("paycol_1"))
      local log = srv:log()
      assert.are.equal(3, #log)
      assert.are.equal(log[1].conn, log[2].conn)
      assert.are.equal(log[1].conn, log[3].conn)
    end)

    it("never carries one call's headers into the next (the fixed header list is reused)", function()
      local pc = medusa.paymentCollections
      assert(pc.retrieve("paycol_1"))
      assert(pc.retrieve("paycol_1", nil, { ["X-Once"] = "1" }))
      assert(pc.retrieve("paycol_1"))
      assert(medusa.client.request("GET", "/admin/x"))
      assert(pc.managePaymentSession("paycol_1", { provider_id = "manual" }, { ["X-Twice"] = "2" }))
      assert(pc.managePaymentSession("paycol_1", { provider_id = "manual" }))
      local log = srv:log()
      assert.are.equal(6, #log)
      H.assert_header_set(log[1], GET, srv.port)
      assert.are.equal("1", H.header(log[2], "X-Once"))
      H.assert_header_set(log[3], GET, srv.port)
      H.assert_header_set(log[4], GET, srv.port)
      assert.are.equal("2", H.header(log[5], "X-Twice"))
      H.assert_header_set(log[6], POST(24), srv.port)
    end)

    it("sends no Cookie, Expect, Accept-Encoding or Transfer-Encoding even after a Set-Cookie", function()
      srv:script { { status = 200, headers = { { "Content-Type", "application/json" }, { "Set-Cookie", "connect.sid=abc; Path=/" } }, body = "{}" } }
      assert(medusa.paymentCollections.retrieve("paycol_1"))
      assert(medusa.paymentCollections.managePaymentSession("paycol_1", { provider_id = string.rep("x", 5000) }))
      for _, r in ipairs(srv:log()) do
        for _, name in ipairs { "cookie", "expect", "accept-encoding", "transfer-encoding" } do
          assert.is_nil(H.header(r, name), name .. " was sent")
        end
      end
      assert.are.equal(5000 + #'{"provider_id":""}', srv:log()[2].body_len)
    end)
  end)

  describe("A2: maxRetries 3, apiKey, publishableApiKey, config and per-call headers", function()
    local medusa
    before_each(function()
      medusa = Medusa.new {
        baseUrl = srv.url, maxRetries = 3, apiKey = "sk_admin_token", publishableApiKey = "pk_123",
        customHeaders = { ["X-Config-Header"] = "cfg", ["x-request-id"] = "cfg-id" },
      }
    end)
    after_each(function() medusa:close() end)
    local call = { ["x-request-id"] = "call-id", ["X-Call"] = "1" }

    it("GET carries the publishable key and merged custom headers, never the apiKey nor an Idempotency-Key", function()
      assert(medusa.paymentCollections.retrieve("paycol_1", { expand = "region" }, call))
      H.assert_header_set(only_request(), {
        "Accept: application/json", "Content-Type: application/json", "x-publishable-api-key: pk_123",
        "X-Config-Header: cfg", "x-request-id: call-id", "X-Call: 1", UA,
      }, srv.port)
    end)

    it("every POST carries a fresh UUID v4 Idempotency-Key", function()
      local pc = medusa.paymentCollections
      assert(pc.authorizePaymentSession("paycol_1", "ps_1", call))
      assert(pc.authorizePaymentSessionsBatch("paycol_1", { session_ids = { "ps_1" } }, call))
      assert(pc.managePaymentSessionsBatch("paycol_1", { sessions = { { provider_id = "manual", amount = 10000 } } }, call))
      assert(pc.managePaymentSession("paycol_1", { provider_id = "manual" }, call))
      assert(pc.refreshPaymentSession("paycol_1", "ps_1", call))
      local keys = {}
      for _, r in ipairs(srv:log()) do
        H.assert_header_set(r, {
          "Accept: application/json", "Content-Type: application/json", "x-publishable-api-key: pk_123",
          "Idempotency-Key: ~" .. H.UUID_V4, "X-Config-Header: cfg", "x-request-id: call-id", "X-Call: 1", UA,
          ("Content-Length: %d"):format(r.body_len),
        }, srv.port)
        local key = H.header(r, "Idempotency-Key")
        assert.is_nil(keys[key], "Idempotency-Key reused across calls")
        keys[key] = true
      end
      assert.are.equal(5, #srv:log())
    end)

    it("the apiKey goes to /admin paths only, as x-medusa-access-token", function()
      assert(medusa.client.request("GET", "/admin/payment-collections/paycol_1"))
      H.assert_header_set(only_request(), {
        "Accept: application/json", "Content-Type: application/json", "x-medusa-access-token: sk_admin_token",
        "x-publishable-api-key: pk_123", "X-Config-Header: cfg", "x-request-id: cfg-id", UA,
      }, srv.port)
    end)

    it("the apiKey is not sent to the unauthenticated admin routes", function()
      assert(medusa.client.request("POST", "/admin/auth", { email = "a@b.c" }))
      assert(medusa.client.request("GET", "/admin/auth"))
      local log = srv:log()
      assert.is_nil(H.header(log[1], "x-medusa-access-token"))
      assert.are.equal("sk_admin_token", H.header(log[2], "x-medusa-access-token"))
    end)
  end)

  describe("A3: header case collisions", function()
    local medusa
    before_each(function()
      medusa = Medusa.new {
        baseUrl = srv.url, maxRetries = 3, publishableApiKey = "pk_123",
        customHeaders = { ["X-Dup"] = "from-config" },
      }
    end)
    after_each(function() medusa:close() end)

    it("a custom header replaces a default that differs only in case, with the caller's spelling", function()
      assert(medusa.paymentCollections.managePaymentSession("paycol_1", { provider_id = "manual" }, {
        ["content-type"] = "text/plain", accept = "text/html", ["X-Publishable-Api-Key"] = "override",
        ["idempotency-key"] = "mine", ["x-dup"] = "from-call",
      }))
      local r = only_request()
      H.assert_header_set(r, {
        "accept: text/html", "content-type: text/plain", "X-Publishable-Api-Key: override",
        "idempotency-key: mine", "x-dup: from-call", UA, "Content-Length: 24",
      }, srv.port)
      assert.are.equal('{"provider_id":"manual"}', r.body)
    end)

    it("a custom User-Agent replaces ours; an empty value is sent empty", function()
      assert(medusa.paymentCollections.retrieve("paycol_1", nil, { ["user-agent"] = "shop/2", ["X-Empty"] = "" }))
      local r = only_request()
      H.assert_header_set(r, {
        "Accept: application/json", "Content-Type: application/json", "x-publishable-api-key: pk_123",
        "X-Dup: from-config", "X-Empty: ", "user-agent: shop/2",
      }, srv.port)
    end)

    it("sends each header once, whatever the case mix between config and call", function()
      assert(medusa.paymentCollections.retrieve("paycol_1", nil, { ["X-DUP"] = "call" }))
      local r = only_request()
      local n = 0
      for _, h in ipairs(r.headers) do if h[1]:lower() == "x-dup" then n = n + 1 end end
      assert.are.equal(1, n)
      assert.are.equal("call", H.header(r, "x-dup"))
    end)
  end)

  describe("client.request", function()
    local medusa
    before_each(function() medusa = Medusa.new { baseUrl = srv.url } end)
    after_each(function() medusa:close() end)

    it("works with a dot and with a colon", function()
      assert(medusa.client.request("GET", "/store/x"))
      assert(medusa.client:request("GET", "/store/y"))
      local log = srv:log()
      assert.are.equal("/store/x", log[1].target)
      assert.are.equal("/store/y", log[2].target)
    end)

    it("DELETE sends {} without a payload; GET never has a body", function()
      assert(medusa.client.request("DELETE", "/store/auth"))
      assert(medusa.client.request("GET", "/store/auth", { ignored = true }))
      local log = srv:log()
      assert.are.equal("DELETE", log[1].method)
      assert.are.equal("{}", log[1].body)
      assert.are.equal("2", H.header(log[1], "content-length"))
      assert.are.equal(0, log[2].body_len)
      assert.is_nil(H.header(log[2], "content-length"))
    end)

    it("takes any JSON-encodable payload", function()
      assert(medusa.client.request("POST", "/store/a", "text"))
      assert(medusa.client.request("POST", "/store/a", 5))
      assert(medusa.client.request("POST", "/store/a", Medusa.null))
      assert(medusa.client.request("POST", "/store/a", Medusa.array()))
      assert(medusa.client.request("POST", "/store/a", { session_ids = {}, sessions = {}, metadata = {} }))
      local bodies = {}
      for _, r in ipairs(srv:log()) do bodies[#bodies + 1] = r.body end
      assert.are.same({ '"text"', "5", "null", "[]", '{"metadata":{},"session_ids":[],"sessions":[]}' }, bodies)
    end)

    it("turns options into headers, below customHeaders", function()
      assert(medusa.client.request("GET", "/store/a", nil, { Timeout = "5", ["X-Both"] = "option" }, { ["x-both"] = "custom" }))
      local r = only_request()
      assert.are.equal("5", H.header(r, "Timeout"))
      assert.are.equal("custom", H.header(r, "X-Both"))
    end)
  end)

  describe("URLs", function()
    it("joins a baseUrl with trailing slashes and a path prefix as axios does (A15)", function()
      local a = Medusa.new { baseUrl = srv.url .. "/" }
      local b = Medusa.new { baseUrl = srv.url .. "/prefix/" }
      assert(a.paymentCollections.retrieve("paycol_1"))
      assert(b.paymentCollections.retrieve("paycol_1"))
      local log = srv:log()
      assert.are.equal("/store/payment-collections/paycol_1", log[1].target)
      assert.are.equal("/prefix/store/payment-collections/paycol_1", log[2].target)
      a:close()
      b:close()
    end)

    it("percent-encodes ids as path segments, so no id can leave its route (difference 1)", function()
      local medusa = Medusa.new { baseUrl = srv.url }
      local pc = medusa.paymentCollections
      assert(pc.retrieve("../../admin/orders"))
      assert(pc.retrieve("a b/c?d#e%f"))
      assert(pc.authorizePaymentSession("pc 1", "ps/1"))
      assert(pc.retrieve("paycol_1?x=1", { expand = "region" }))
      assert(pc.retrieve("é€"))
      assert(pc.retrieve("a:b@c+d,e;f=g"))
      local targets = {}
      for _, r in ipairs(srv:log()) do targets[#targets + 1] = r.target end
      assert.are.same({
        "/store/payment-collections/..%2F..%2Fadmin%2Forders",
        "/store/payment-collections/a%20b%2Fc%3Fd%23e%25f",
        "/store/payment-collections/pc%201/sessions/ps%2F1/authorize",
        "/store/payment-collections/paycol_1%3Fx%3D1?expand=region",
        "/store/payment-collections/%C3%A9%E2%82%AC",
        "/store/payment-collections/a%3Ab%40c%2Bd%2Ce%3Bf%3Dg",
      }, targets)
      medusa:close()
    end)

    it("sends query keys in byte order with qs's encoding (difference 3)", function()
      local medusa = Medusa.new { baseUrl = srv.url }
      assert(medusa.paymentCollections.retrieve("p", { z = "1", a = { 2, 1 }, m = { b = true, a = Medusa.null } }))
      assert.are.equal("/store/payment-collections/p?a%5B0%5D=2&a%5B1%5D=1&m%5Ba%5D=&m%5Bb%5D=true&z=1", only_request().target)
      medusa:close()
    end)
  end)

  describe("responses", function()
    local medusa
    before_each(function() medusa = Medusa.new { baseUrl = srv.url } end)
    after_each(function() medusa:close() end)

    it("returns the decoded body plus response {status, headers}, header names lower-cased", function()
      srv:script { { status = 201, headers = { { "Content-Type", "application/json" }, { "X-Thing", "a" },
        { "X-Thing", "b" }, { "Set-Cookie", "a=1" }, { "Set-Cookie", "b=2" } },
        body = '{"payment_collection":{"id":"paycol_9","amount":5000,"payment_sessions":[]}}' } }
      local res = assert(medusa.paymentCollections.retrieve("paycol_9"))
      assert.are.equal(201, res.response.status)
      assert.are.equal(5000, res.payment_collection.amount)
      if math.type then assert.are.equal("integer", math.type(res.payment_collection.amount)) end
      assert.are.equal("a, b", res.response.headers["x-thing"])
      assert.are.same({ "a=1", "b=2" }, res.response.headers["set-cookie"])
      assert.are.equal(Medusa.array_mt, getmetatable(res.payment_collection.payment_sessions))
      assert.are.equal('{"amount":5000,"id":"paycol_9","payment_sessions":[]}', Medusa.json.encode(res.payment_collection))
    end)

    it("gives {response} for an empty 2xx body", function()
      srv:script { { status = 200, body = "" }, { status = 204, headers = {} } }
      local a = assert(medusa.paymentCollections.retrieve("p"))
      local b = assert(medusa.paymentCollections.retrieve("p"))
      assert.are.same({ "response" }, (function() local k = {} for key in pairs(a) do k[#k + 1] = key end return k end)())
      assert.are.equal(200, a.response.status)
      assert.are.equal(204, b.response.status)
    end)

    it("overwrites a body key named response, as medusa-js does (A12)", function()
      srv:script { { json = { response = "from-body", payment_collection = { id = "x" } } } }
      local res = assert(medusa.paymentCollections.retrieve("x"))
      assert.are.equal(200, res.response.status)
    end)

    it("does not follow redirects: a 3xx is a redirect error with the location (difference 2)", function()
      srv:script { { status = 302, headers = { { "Location", "/store/payment-collections/landed" } }, body = "" } }
      local res, err = medusa.paymentCollections.managePaymentSession("p", { provider_id = "manual" })
      assert.is_nil(res)
      assert.are.equal("redirect", err.type)
      assert.are.equal(302, err.status)
      assert.are.equal("/store/payment-collections/landed", err.headers.location)
      assert.are.equal(1, #srv:log())
    end)
  end)
end)
