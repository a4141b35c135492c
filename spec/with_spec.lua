-- spec/with_spec.lua: medusa:with{...} gives a view of the same client whose calls use other
-- per-call settings: the same connection, cookie jar, token and publishable key; only the
-- settings differ. What the scripted server and the stand-in store receive proves it.
local Medusa = require "medusa"
local Server = require "support.server"
local H = require "helpers"

local EMAIL, PASSWORD = "demo@example.com", "demo-password"
local busy = { status = 503, headers = { { "Retry-After", "0.01" } }, body = "" }
local ok = { status = 200, json = { payment_collection = { id = "x" } } }

local function raises(fn, ...)
  local done, err = pcall(fn, ...)
  assert.is_false(done, "expected an error")
  return tostring(err)
end

describe("medusa:with", function()
  local srv, store, medusa

  setup(function()
    srv = Server.start { mode = "script" }
    store = Server.start { mode = "store" }
  end)
  teardown(function()
    srv:stop()
    store:stop()
  end)
  before_each(function()
    srv:reset()
    store:reset()
    medusa = Medusa.new { baseUrl = srv.url, maxRetries = 2, customHeaders = { ["X-A"] = "1", ["X-B"] = "2" } }
  end)
  after_each(function()
    medusa:close()
  end)

  it("uses the view's maxRetries and timeout; the client keeps its own", function()
    local quick = medusa:with { maxRetries = 0, timeout = 200 }
    srv:script { busy, ok }
    local _, err = quick.paymentCollections.retrieve("p")
    assert.are.equal(503, err.status)
    assert.are.equal(1, err.attempts)
    srv:script { busy, ok }
    assert(medusa.paymentCollections.retrieve("p"))
    srv:script { { delay_ms = 1000, json = {} } }
    local _, slow = quick.regions.list()
    assert.are.equal("timeout", slow.type)
    assert.are.equal(4, #srv:log(), "one attempt through the view, two through the client, the timed-out one")
  end)

  it("merges customHeaders over the client's, a name equal but for case replacing it", function()
    local view = medusa:with { customHeaders = { ["x-b"] = "3", ["X-C"] = "4" } }
    assert(view.regions.list())
    assert(medusa.regions.list())
    local log = srv:log()
    assert.are.equal("1", H.header(log[1], "X-A"))
    assert.are.equal("3", H.header(log[1], "X-B"))
    assert.are.equal(1, Server.header_count(log[1], "X-B"))
    assert.are.equal("4", H.header(log[1], "X-C"))
    assert.are.equal("2", H.header(log[2], "X-B"))
    assert.is_nil(H.header(log[2], "X-C"))
  end)

  it("goes over the client's connection", function()
    local view = medusa:with { timeout = 5000 }
    assert(medusa.regions.list())
    assert(view.regions.list())
    assert(view:with({ maxRetries = 0 }).regions.list())
    local log = srv:log()
    assert.are.equal(3, #log)
    assert.are.equal(log[1].conn, log[2].conn)
    assert.are.equal(log[1].conn, log[3].conn)
  end)

  it("shares the login: a session started through a view is the client's, and so is a logout", function()
    local m = Medusa.new { baseUrl = store.url }
    local view = m:with { timeout = 5000 }
    assert(view.auth.authenticate { email = EMAIL, password = PASSWORD })
    assert.are.equal(EMAIL, assert(m.auth.getSession()).customer.email)
    assert.are.equal(EMAIL, assert(view:with({ maxRetries = 1 }).auth.getSession()).customer.email)
    assert(m.auth.deleteSession())
    local _, err = view.auth.getSession()
    assert.are.equal(401, err.status)
    m:close()
  end)

  it("shares the token and the publishable key, both ways, and rebuilds its cached headers", function()
    local view = medusa:with { maxRetries = 0 }
    assert(view.regions.list()) -- the view's reusable header list, without a key
    medusa:setPublishableKey("pk_1")
    assert(view.regions.list())
    view.setPublishableKey("pk_2")
    assert(medusa.regions.list())
    medusa.auth.setToken("tok")
    assert(view.regions.list())
    local log = srv:log()
    assert.is_nil(H.header(log[1], "x-publishable-api-key"))
    assert.are.equal("pk_1", H.header(log[2], "x-publishable-api-key"))
    assert.are.equal("pk_2", H.header(log[3], "x-publishable-api-key"))
    assert.are.equal("Bearer tok", H.header(log[4], "authorization"))
  end)

  it("shares the hooks: one registered through a view sees the client's calls, and off works from either", function()
    local view = medusa:with { maxRetries = 0 }
    local seen = {}
    local fn = view:on("response", function(e) seen[#seen + 1] = e.status end)
    assert(medusa.regions.list())
    assert(view.regions.list())
    assert.is_true(medusa:off("response", fn))
    assert(view.regions.list())
    assert.are.same({ 200, 200 }, seen)
  end)

  it("closing the client closes its views; closing a view does nothing", function()
    local view = medusa:with { timeout = 5000 }
    view:close()
    assert(medusa.regions.list())
    assert(view.regions.list())
    medusa:close()
    assert.matches("closed client", raises(view.regions.list))
  end)

  it("refuses settings that cannot change per call, unknown keys and bad values, naming them", function()
    assert.matches("bad argument 'settings' %('baseUrl' cannot change per call", raises(medusa.with, medusa, { baseUrl = srv.url }))
    assert.matches("'apiKey' cannot change per call", raises(medusa.with, medusa, { apiKey = "k" }))
    assert.matches("'tmeout' is not a config key %(per call: connectTimeout", raises(medusa.with, medusa, { tmeout = 1 }))
    assert.matches("bad argument 'config.maxRetries' %(at most 10", raises(medusa.with, medusa, { maxRetries = 50 }))
    assert.matches("bad argument 'config.timeout'", raises(medusa.with, medusa, { timeout = "1" }))
    assert.matches("bad argument 'config.customHeaders'", raises(medusa.with, medusa, { customHeaders = { ["Bad Name"] = "v" } }))
    assert.matches("bad argument 'settings' %(expected a table", raises(medusa.with, medusa, "fast"))
    assert.matches("call it with a colon", raises(medusa.with, { timeout = 1 }))
    assert.are.same({}, srv:log())
  end)

  it("is itself printable and a view of a view keeps both sets of settings", function()
    local a = medusa:with { timeout = 1234 }
    local b = a:with { maxRetries = 0, customHeaders = { ["X-D"] = "5" } }
    assert.are.equal(1234, b.client.settings.timeout)
    assert.are.equal(0, b.client.settings.maxRetries)
    assert.are.equal(2, a.client.settings.maxRetries)
    assert.matches("with%(settings%)", tostring(b))
    assert(b.regions.list())
    local r = srv:log()[1]
    assert.are.equal("1", H.header(r, "X-A"))
    assert.are.equal("5", H.header(r, "X-D"))
  end)
end)
