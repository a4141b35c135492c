-- spec/api_spec.lua: the public surface: Medusa.new and its config checks, programmer
-- errors that raise and name the argument (with nothing sent), and the module's values.
local Medusa = require "medusa"
local Server = require "support.server"
local cjson = require "cjson"

-- Calls f, expects it to raise, returns the message.
local function raises(f, ...)
  local ok, err = pcall(f, ...)
  assert.is_false(ok, "expected an error")
  return tostring(err)
end

describe("the module", function()
  it("exposes null (the same value as cjson.null), array, array_mt and json", function()
    assert.are.equal(cjson.null, Medusa.null)
    assert.are.equal("userdata", type(Medusa.null))
    local a = Medusa.array()
    assert.are.equal(Medusa.array_mt, getmetatable(a))
    assert.are.equal("[]", Medusa.json.encode(a))
    local t = { 1 }
    assert.are.equal(t, Medusa.array(t))
    assert.are.equal('{"a":null}', Medusa.json.encode { a = Medusa.null })
    assert.are.equal(Medusa.null, Medusa.json.decode("null"))
    assert.are.equal(Medusa.array_mt, getmetatable(Medusa.json.decode("[]")))
  end)

  it("json.safe returns nil, err instead of raising", function()
    local v, err = Medusa.json.safe.decode("[1,")
    assert.is_nil(v)
    assert.matches("^medusa%.json: ", err)
    assert.are.equal("[1]", (Medusa.json.safe.encode { 1 }))
    assert.is_nil((Medusa.json.safe.encode { f = print }))
  end)

  it("is callable: Medusa{...} and require('medusa'){...} build clients", function()
    local a = Medusa { baseUrl = "http://127.0.0.1:1" }
    local b = require("medusa") { baseUrl = "http://127.0.0.1:1" }
    assert.are.equal("function", type(a.paymentCollections.retrieve))
    assert.are.equal("function", type(b.client.request))
    assert.matches("^medusa%.Medusa <http://127%.0%.0%.1:1>", tostring(a))
    assert.matches("retrieve", tostring(a.paymentCollections))
    a:close()
    b:close()
  end)

  it("require returns the same module twice", function()
    assert.are.equal(Medusa, require "medusa")
  end)
end)

describe("Medusa.new config", function()
  it("defaults to localhost:9000 with no retries", function()
    local m = Medusa.new()
    assert.are.equal("http://localhost:9000", m.client.base)
    assert.are.equal(0, m.client.settings.maxRetries)
    assert.are.equal(30000, m.client.settings.timeout)
    assert.are.equal(10000, m.client.settings.connectTimeout)
    assert.are.equal(32 * 1024 * 1024, m.client.settings.maxResponseBytes)
    m:close()
  end)

  it("raises on an unknown key, naming it", function()
    local msg = raises(Medusa.new, { baseURL = "http://x" })
    assert.matches("unknown key 'baseURL'", msg)
    assert.matches("did you mean 'baseUrl'", msg)
    assert.matches("unknown key 'retries'", raises(Medusa.new, { retries = 1 }))
  end)

  for _, case in ipairs {
    { { baseUrl = 5 }, "config%.baseUrl" },
    { { baseUrl = "localhost:9000" }, "config%.baseUrl" },
    { { baseUrl = "file:///etc/passwd" }, "scheme \"file\"" },
    { { baseUrl = "ftp://h/" }, "scheme \"ftp\"" },
    { { baseUrl = "gopher://h/" }, "scheme \"gopher\"" },
    { { baseUrl = "dict://h/" }, "scheme \"dict\"" },
    { { baseUrl = "http://user:pw@h/" }, "user%-info" },
    { { baseUrl = "http:///path" }, "no host" },
    { { baseUrl = "http://h/a?b=1" }, "config%.baseUrl" },
    { { baseUrl = "http://h:99999" }, "out of range" },
    { { baseUrl = "http://h h" }, "config%.baseUrl" },
    { { baseUrl = "http://h/../admin" }, "path segment" },
    { { baseUrl = "http://h/a/./b/" }, "path segment" },
    { { baseUrl = "http://h/.." }, "path segment" },
    { { baseUrl = "http://h/a%zz" }, "percent%-escape" },
    { { baseUrl = "http://h/a%2" }, "percent%-escape" },
    { { maxRetries = -1 }, "config%.maxRetries" },
    { { maxRetries = 1.5 }, "config%.maxRetries" },
    { { maxRetries = "3" }, "config%.maxRetries" },
    { { timeout = 0 }, "config%.timeout" },
    { { connectTimeout = "5" }, "config%.connectTimeout" },
    { { maxResponseBytes = 0 }, "config%.maxResponseBytes" },
    { { apiKey = 1 }, "config%.apiKey" },
    { { publishableApiKey = "pk\r\nX: y" }, "config%.publishableApiKey" },
    { { customHeaders = "x" }, "config%.customHeaders" },
    { { customHeaders = { ["Bad Name"] = "v" } }, "config%.customHeaders" },
    { { customHeaders = { X = 1 } }, "config%.customHeaders" },
    { { caFile = "/nonexistent/ca.pem" }, "config%.caFile" },
  } do
    it("raises for " .. cjson.encode(case[1]), function()
      local msg = raises(Medusa.new, case[1])
      assert.matches("medusa: bad argument 'config%.", msg)
      assert.matches(case[2], msg)
    end)
  end

  it("says the one thing wrong with a baseUrl, and quotes strings where a number was expected", function()
    for _, case in ipairs {
      { { maxRetries = "3" }, "'config.maxRetries' (expected an integer >= 0, got \"3\" (a string))" },
      { { timeout = {} }, "'config.timeout' (expected an integer >= 1, got a table)" },
      { { maxRetries = 1.5 }, "got 1.5)" },
      { { apiKey = 5 }, "'config.apiKey' (expected a string, got 5)" },
      { { transport = "nginx" }, "'config.transport' (expected \"curl\" or \"ngx\", got \"nginx\" (a string))" },
      { { baseUrl = "http://h/a?b=1" }, "contains a query ('?')" },
      { { baseUrl = "http://h/#top" }, "contains a fragment ('#')" },
      { { baseUrl = "http://h h" }, "contains a space" },
      { { baseUrl = "http://h/\1" }, "contains a control character" },
      { { baseUrl = "http://h/\195\169" }, "contains a non-ASCII byte" },
    } do
      local msg = raises(Medusa.new, case[1])
      assert.is_truthy(msg:find(case[2], 1, true), msg)
      -- one reason, not a list of five
      assert.is_nil(msg:find(", a control", 1, true), msg)
    end
  end)

  it("raises at the caller's line", function()
    local msg = raises(function() Medusa.new { nope = 1 } end)
    assert.matches("api_spec%.lua:%d+: medusa: bad argument 'config'", msg)
  end)

  it("accepts path prefixes with dots inside names and valid escapes", function()
    for _, url in ipairs { "http://h/a.b/", "http://h/..a/", "http://h/a%2Fb", "https://h:8443/v1.2/" } do
      Medusa.new { baseUrl = url }:close()
    end
  end)

  it("accepts a config of integral floats", function()
    local m = Medusa.new { maxRetries = 2.0, timeout = 1000.0 }
    assert.are.equal(2, m.client.settings.maxRetries)
    m:close()
  end)
end)

describe("programmer errors", function()
  local srv, medusa

  setup(function()
    srv = Server.start { mode = "script" }
    medusa = Medusa.new { baseUrl = srv.url, maxRetries = 2 }
  end)
  teardown(function()
    medusa:close()
    srv:stop()
  end)
  before_each(function()
    srv:reset()
  end)
  after_each(function()
    assert.are.equal(0, #srv:log(), "a request was sent despite the error")
  end)

  local pc
  before_each(function() pc = medusa.paymentCollections end)

  local cases = {
    { "retrieve with a nil id", function() return pc.retrieve(nil) end, "'id'" },
    { "retrieve with an empty id", function() return pc.retrieve("") end, "'id'" },
    { "retrieve with a number id", function() return pc.retrieve(5) end, "'id'" },
    { "retrieve with id '..'", function() return pc.retrieve("..") end, "'id'" },
    { "retrieve with id '.'", function() return pc.retrieve(".") end, "'id'" },
    { "retrieve with a string query", function() return pc.retrieve("p", "expand=region") end, "'query'" },
    { "retrieve with a function in the query", function() return pc.retrieve("p", { f = print }) end, "'query'" },
    { "retrieve with customHeaders not a table", function() return pc.retrieve("p", nil, "x") end, "'customHeaders'" },
    { "retrieve with a CRLF header value", function() return pc.retrieve("p", nil, { X = "a\r\nInjected: 1" }) end, "'customHeaders'" },
    { "retrieve with a LF header value", function() return pc.retrieve("p", nil, { X = "a\nb" }) end, "'customHeaders'" },
    { "retrieve with a NUL header value", function() return pc.retrieve("p", nil, { X = "a\0b" }) end, "'customHeaders'" },
    { "retrieve with a header name that is not a token", function() return pc.retrieve("p", nil, { ["X Y"] = "1" }) end, "'customHeaders'" },
    { "retrieve with a header name with a colon", function() return pc.retrieve("p", nil, { ["X:Y"] = "1" }) end, "'customHeaders'" },
    { "retrieve with a number header value", function() return pc.retrieve("p", nil, { X = 1 }) end, "'customHeaders'" },
    { "authorizePaymentSession without session_id", function() return pc.authorizePaymentSession("p") end, "'session_id'" },
    { "refreshPaymentSession with a table session_id", function() return pc.refreshPaymentSession("p", {}) end, "'session_id'" },
    { "managePaymentSession with a string payload", function() return pc.managePaymentSession("p", "manual") end, "'payload'" },
    { "managePaymentSessionsBatch with a number payload", function() return pc.managePaymentSessionsBatch("p", 1) end, "'payload'" },
    { "authorizePaymentSessionsBatch with a sparse array", function() return pc.authorizePaymentSessionsBatch("p", { session_ids = { [1] = "a", [3] = "b" } }) end, "'payload'" },
    { "a payload with a cycle", function() local t = {} t.t = t return pc.managePaymentSession("p", t) end, "'payload'" },
    { "a payload with NaN", function() return pc.managePaymentSession("p", { amount = 0 / 0 }) end, "'payload'" },
    { "a payload with a function", function() return pc.managePaymentSession("p", { f = print }) end, "'payload'" },
    { "a payload with mixed keys", function() return pc.managePaymentSession("p", { 1, a = 2 }) end, "'payload'" },
    { "a payload with invalid UTF-8", function() return pc.managePaymentSession("p", { provider_id = "\255" }) end, "'payload'" },
    { "client.request with a bad method", function() return medusa.client.request("PUT", "/store/x") end, "'method'" },
    { "client.request with a relative path", function() return medusa.client.request("GET", "store/x") end, "'path'" },
    { "client.request with a space in the path", function() return medusa.client.request("GET", "/store/a b") end, "'path'" },
    { "client.request with CRLF in the path", function() return medusa.client.request("GET", "/store/a\r\nX: y") end, "'path'" },
    { "client.request with a dot segment", function() return medusa.client.request("GET", "/store/../admin") end, "'path'" },
    { "client.request with bad options", function() return medusa.client.request("GET", "/store/x", nil, { ["a b"] = "c" }) end, "'options'" },
  }
  for _, case in ipairs(cases) do
    it("raises for " .. case[1] .. ", naming " .. case[3], function()
      local msg = raises(case[2])
      assert.matches("medusa: bad argument " .. case[3]:gsub("%p", "%%%0"), msg)
      assert.matches("api_spec%.lua:%d+:", msg)
    end)
  end

  it("a closed client raises a clear error, and close is idempotent", function()
    local m = Medusa.new { baseUrl = srv.url }
    m:close()
    m:close()
    assert.matches("closed client", raises(m.paymentCollections.retrieve, "p"))
  end)
end)
