-- spec/auth_spec.lua: medusa.auth keeps a login per client: the session cookie in the
-- client's own jar, the token on the client; another client in the same state sees neither.
local Medusa = require "medusa"
local Server = require "support.server"
local H = require "helpers"

local EMAIL, PASSWORD = "demo@example.com", "demo-password"

describe("medusa.auth", function()
  local store, srv

  setup(function()
    store = Server.start { mode = "store" }
    srv = Server.start { mode = "script" }
  end)
  teardown(function()
    store:stop()
    srv:stop()
  end)
  before_each(function()
    store:reset()
    srv:reset()
  end)

  it("sends no Cookie before a login, even when every response sets one (as medusa-js)", function()
    local m = Medusa { baseUrl = store.url }
    assert(m.paymentCollections.retrieve("paycol_01JGFJJZ000000000000000001"))
    assert(m.paymentCollections.retrieve("paycol_01JGFJJZ000000000000000001"))
    local log = store:log()
    assert.is_not_nil(log[1])
    for _, r in ipairs(log) do assert.is_nil(H.header(r, "cookie")) end
    m:close()
  end)

  it("authenticate keeps the session cookie for this client only; deleteSession forgets it", function()
    local a, b = Medusa { baseUrl = store.url }, Medusa { baseUrl = store.url }
    local _, err = a.auth.getSession()
    assert.are.equal(401, err.status)

    local res = assert(a.auth.authenticate { email = EMAIL, password = PASSWORD })
    assert.are.equal(EMAIL, res.customer.email)
    assert.are.equal(EMAIL, assert(a.auth.getSession()).customer.email)
    assert(a.paymentCollections.retrieve("paycol_01JGFJJZ000000000000000001"))
    local _, berr = b.auth.getSession()
    assert.are.equal(401, berr.status)

    assert(a.auth.deleteSession())
    local _, after = a.auth.getSession()
    assert.are.equal(401, after.status)

    local log = store:log()
    local cookies = {}
    for i, r in ipairs(log) do cookies[i] = H.header(r, "cookie") or "-" end
    -- getSession, authenticate, getSession(a), retrieve(a), getSession(b), deleteSession(a), getSession(a)
    assert.are.equal(7, #log)
    assert.are.equal("-", cookies[1])
    assert.are.equal("-", cookies[2])
    assert.matches("^connect%.sid=", cookies[3])
    assert.are.equal(cookies[3], cookies[4])
    assert.are.equal("-", cookies[5])
    assert.are.equal(cookies[3], cookies[6])
    assert.are.equal("-", cookies[7])
    a:close()
    b:close()
  end)

  it("a bad login is a 401 http_error and turns nothing on", function()
    local m = Medusa { baseUrl = store.url }
    local res, err = m.auth.authenticate { email = EMAIL, password = "wrong" }
    assert.is_nil(res)
    assert.are.equal(401, err.status)
    assert.are.equal("http_error", err.type)
    assert.are.equal("Unauthorized", err.body)
    assert(m.paymentCollections.retrieve("paycol_01JGFJJZ000000000000000001"))
    assert.is_nil(H.header(store:log()[2], "cookie"))
    m:close()
  end)

  it("getToken keeps the token on this client, sent as Bearer on /store requests; setToken(nil) forgets it", function()
    local a, b = Medusa { baseUrl = store.url }, Medusa { baseUrl = store.url }
    local res = assert(a.auth.getToken { email = EMAIL, password = PASSWORD })
    assert.is_string(res.access_token)
    assert.are.equal(EMAIL, assert(a.auth.getSession()).customer.email)
    assert(a.paymentCollections.managePaymentSession("paycol_01JGFJJZ000000000000000001", { provider_id = "manual" }))
    local _, berr = b.auth.getSession()
    assert.are.equal(401, berr.status)
    a.auth:setToken(nil)
    local _, after = a.auth.getSession()
    assert.are.equal(401, after.status)
    local log = store:log()
    assert.is_nil(H.header(log[1], "authorization"))
    assert.are.equal("Bearer " .. res.access_token, H.header(log[2], "authorization"))
    assert.are.equal("Bearer " .. res.access_token, H.header(log[3], "authorization"))
    assert.is_nil(H.header(log[4], "authorization"))
    assert.is_nil(H.header(log[5], "authorization"))
    a:close()
    b:close()
  end)

  it("the token goes to /store paths only, and a custom Authorization wins", function()
    local m = Medusa { baseUrl = srv.url }
    m.auth.setToken("tok")
    assert(m.client.request("GET", "/admin/x"))
    assert(m.client.request("GET", "/store/x", nil, nil, { authorization = "Bearer mine" }))
    local log = srv:log()
    assert.is_nil(H.header(log[1], "authorization"))
    assert.are.equal("Bearer mine", H.header(log[2], "authorization"))
    assert.matches("bad argument 'token'", select(2, pcall(m.auth.setToken, "a b")))
    m:close()
  end)

  describe("the cookie jar", function()
    local function login(m, cookies)
      local headers = { { "Content-Type", "application/json" } }
      for _, c in ipairs(cookies) do headers[#headers + 1] = { "Set-Cookie", c } end
      srv:script { { status = 200, headers = headers, json = { customer = { id = "cus_1" } } } }
      assert(m.auth.authenticate { email = EMAIL, password = PASSWORD })
    end
    local function cookie_sent(m, path)
      srv:reset()
      assert(m.client.request("GET", path))
      return H.header(srv:log()[1], "cookie")
    end

    it("honours Path, Max-Age, Expires and Secure", function()
      local m = Medusa { baseUrl = srv.url }
      login(m, {
        "connect.sid=s1; Path=/; HttpOnly",
        "scoped=s2; Path=/store/carts",
        "gone=s3; Max-Age=0",
        "old=s4; Expires=Wed, 21 Oct 2015 07:28:00 GMT",
        "tls=s5; Path=/; Secure",
      })
      assert.are.equal("connect.sid=s1", cookie_sent(m, "/store/payment-collections/p"))
      assert.are.equal("scoped=s2; connect.sid=s1", cookie_sent(m, "/store/carts/c1"))
      assert.are.equal("connect.sid=s1", cookie_sent(m, "/store/cartsx"))
      m:close()
    end)

    it("takes a rotated session cookie from later responses, and drops a deleted one", function()
      local m = Medusa { baseUrl = srv.url }
      login(m, { "connect.sid=first; Path=/" })
      srv:script { { status = 200, headers = { { "Set-Cookie", "connect.sid=second; Path=/" } }, body = "{}" } }
      assert(m.client.request("GET", "/store/x"))
      assert.are.equal("connect.sid=second", cookie_sent(m, "/store/y"))
      srv:script { { status = 404, headers = { { "Set-Cookie", "connect.sid=; Max-Age=0; Path=/" } }, json = { type = "not_found", message = "x" } } }
      assert.is_nil((m.client.request("GET", "/store/z")))
      assert.is_nil(cookie_sent(m, "/store/y"))
      m:close()
    end)

    it("matches cookie paths against the whole URL path, baseUrl prefix included", function()
      local m = Medusa { baseUrl = srv.url .. "/shop" }
      login(m, { "connect.sid=s1; Path=/shop/store" })
      assert.are.equal("connect.sid=s1", cookie_sent(m, "/store/x"))
      m:close()
    end)

    it("sends the same Cookie on every retry of one call", function()
      local m = Medusa { baseUrl = srv.url, maxRetries = 2 }
      login(m, { "connect.sid=s1; Path=/" })
      srv:reset()
      srv:script { { status = 503, headers = { { "Retry-After", "0.05" } }, body = "" }, { status = 200, body = "{}" } }
      assert(m.paymentCollections.managePaymentSession("p", { provider_id = "manual" }))
      local log = srv:log()
      assert.are.equal(2, #log)
      assert.are.equal("connect.sid=s1", H.header(log[1], "cookie"))
      assert.are.equal("connect.sid=s1", H.header(log[2], "cookie"))
      m:close()
    end)
  end)
end)
