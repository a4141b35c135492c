-- spec/errors_spec.lua: the error objects request failures return, for the backend's
-- JSON errors, HTML and plain-text pages, invalid JSON, and transport failures.
local Medusa = require "medusa"
local Server = require "support.server"
local H = require "helpers"

describe("error objects", function()
  local srv, medusa

  setup(function()
    srv = Server.start { mode = "script" }
  end)
  teardown(function()
    srv:stop()
  end)
  before_each(function()
    srv:reset()
    medusa = Medusa.new { baseUrl = srv.url }
  end)
  after_each(function()
    medusa:close()
  end)

  it("404 JSON: status, type, message, body, headers and one readable line", function()
    srv:script { { status = 404, json = { type = "not_found", message = "Payment collection with id s404 was not found" } } }
    local res, err = medusa.paymentCollections.retrieve("s404")
    assert.is_nil(res)
    assert.are.equal(404, err.status)
    assert.are.equal("not_found", err.type)
    assert.is_nil(err.code)
    assert.are.equal("Payment collection with id s404 was not found", err.message)
    assert.are.same({ type = "not_found", message = "Payment collection with id s404 was not found" }, err.body)
    assert.are.equal("application/json; charset=utf-8", err.headers["content-type"])
    assert.are.equal(1, err.attempts)
    assert.are.equal("GET", err.method)
    assert.are.equal(srv.url .. "/store/payment-collections/s404", err.url)
    assert.are.equal("medusa: 404 not_found: Payment collection with id s404 was not found", tostring(err))
    assert.are.equal("medusa.Error", getmetatable(err).__name)
    assert.is_true(Medusa.Error.is(err))
  end)

  it("400 JSON invalid_data", function()
    srv:script { { status = 400, json = { type = "invalid_data", message = "property foo should not exist" } } }
    local _, err = medusa.paymentCollections.managePaymentSession("p", { foo = 1 })
    assert.are.equal(400, err.status)
    assert.are.equal("invalid_data", err.type)
    assert.are.equal("POST", err.method)
    assert.are.equal("medusa: 400 invalid_data: property foo should not exist", tostring(err))
  end)

  it("500 JSON with a code", function()
    srv:script { { status = 500, json = { code = "unknown_error", type = "unknown_error", message = "An unknown error occurred." } } }
    local _, err = medusa.paymentCollections.managePaymentSessionsBatch("p", { sessions = {} })
    assert.are.equal(500, err.status)
    assert.are.equal("unknown_error", err.type)
    assert.are.equal("unknown_error", err.code)
  end)

  it("a JSON message that is not a string is kept as JSON text", function()
    srv:script { { status = 400, json = { type = "invalid_data", message = { details = "x" } } } }
    local _, err = medusa.paymentCollections.retrieve("p")
    assert.are.equal('{"details":"x"}', err.message)
  end)

  it("an HTML 400 page: http_error, the raw page in body, a one-line message", function()
    local page = "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>Error</title>\n</head>\n<body>\n"
      .. "<pre>SyntaxError: Unexpected token } in JSON at position 1<br> &nbsp; &nbsp;at JSON.parse</pre>\n</body>\n</html>\n"
    srv:script { { status = 400, headers = { { "Content-Type", "text/html; charset=utf-8" } }, body = page } }
    local _, err = medusa.client.request("POST", "/store/payment-collections/p/sessions", "bare string")
    assert.are.equal(400, err.status)
    assert.are.equal("http_error", err.type)
    assert.are.equal(page, err.body)
    assert.are.equal("SyntaxError: Unexpected token } in JSON at position 1", err.message)
    assert.is_nil(tostring(err):find("\n"))
  end)

  it("a 2xx text/plain body is data, not an error (DELETE /store/auth answers \"OK\")", function()
    srv:script { { status = 200, headers = { { "Content-Type", "text/plain; charset=utf-8" } }, body = "OK" },
      { status = 200, headers = {}, body = "OK" } }
    local res = assert(medusa.client.request("DELETE", "/store/auth"))
    assert.are.equal("OK", res.data)
    assert.are.equal(200, res.response.status)
    -- without a Content-Type, a body that does not parse is still a broken response
    local none, err = medusa.client.request("GET", "/store/auth")
    assert.is_nil(none)
    assert.are.equal("invalid_response", err.type)
  end)

  it("a plain-text 401", function()
    srv:script { { status = 401, headers = { { "Content-Type", "text/plain; charset=utf-8" } }, body = "Unauthorized" } }
    local _, err = medusa.client.request("GET", "/store/auth")
    assert.are.equal(401, err.status)
    assert.are.equal("http_error", err.type)
    assert.are.equal("Unauthorized", err.body)
    assert.are.equal("medusa: 401 http_error: Unauthorized", tostring(err))
  end)

  it("an nginx error page says its status once", function()
    local page = "<html>\r\n<head><title>503 Service Temporarily Unavailable</title></head>\r\n<body>\r\n"
      .. "<center><h1>503 Service Temporarily Unavailable</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
    srv:script { { status = 503, headers = { { "Content-Type", "text/html" } }, body = page } }
    local _, err = medusa.paymentCollections.retrieve("p")
    assert.are.equal("medusa: 503 http_error: Service Temporarily Unavailable", tostring(err))
  end)

  it("tostring(err) counts the attempts when there was more than one", function()
    local m = Medusa.new { baseUrl = srv.url, maxRetries = 2 }
    srv:script { { status = 503, headers = { { "Retry-After", "0.01" } }, body = "" },
      { status = 503, headers = { { "Retry-After", "0.01" } }, body = "" }, { status = 503, body = "" } }
    local _, err = m.paymentCollections.retrieve("p")
    assert.are.equal(3, err.attempts)
    assert.are.equal("medusa: 503 http_error: Service Unavailable (after 3 attempts)", tostring(err))
    m:close()
    local _, one = Medusa.new { baseUrl = "http://127.0.0.1:" .. Server.refused_port() }.paymentCollections.retrieve("p")
    assert.are.equal(1, one.attempts)
    assert.is_nil(tostring(one):find("attempts", 1, true))
  end)

  it("a bare 503 without a body", function()
    srv:script { { status = 503, headers = {}, body = "" } }
    local _, err = medusa.paymentCollections.retrieve("p")
    assert.are.equal("http_error", err.type)
    assert.are.equal("Service Unavailable", err.message)
    assert.are.equal("medusa: 503 http_error: Service Unavailable", tostring(err))
    assert.is_nil(err.body)
  end)

  it("invalid JSON with 200: invalid_response, raw text kept", function()
    srv:script { { status = 200, body = '{"payment_collection": {' } }
    local res, err = medusa.paymentCollections.retrieve("p")
    assert.is_nil(res)
    assert.are.equal(200, err.status)
    assert.are.equal("invalid_response", err.type)
    assert.are.equal('{"payment_collection": {', err.body)
    assert.matches("not valid JSON", err.message)
  end)

  it("never carries request header values or cookies", function()
    local m = Medusa.new {
      baseUrl = srv.url, apiKey = "sk_SECRET_1", publishableApiKey = "pk_SECRET_2",
      customHeaders = { Authorization = "Bearer SECRET_3" },
    }
    srv:script { { status = 404, headers = { { "Content-Type", "application/json" }, { "Set-Cookie", "connect.sid=SECRET_4" } },
      json = { type = "not_found", message = "x" } } }
    local _, err = m.client.request("GET", "/admin/x", nil, nil, { Cookie = "sid=SECRET_5" })
    assert.are.equal(404, err.status)
    assert.is_nil(err.headers["set-cookie"])
    for _, s in ipairs(H.all_strings(err)) do
      assert.is_nil(s:find("SECRET", 1, true), "error leaks " .. s)
    end
    assert.is_nil(tostring(err):find("SECRET", 1, true))
    m:close()
  end)

  it("transport failures: type, code and message, no status", function()
    local m = Medusa.new { baseUrl = "http://127.0.0.1:" .. Server.refused_port() }
    local res, err = m.paymentCollections.retrieve("p")
    assert.is_nil(res)
    assert.are.equal("network", err.type)
    assert.is_nil(err.status)
    assert.is_nil(err.headers)
    assert.matches("^medusa: network: ", tostring(err))
    m:close()
  end)

  it("a timeout is a timeout error", function()
    local m = Medusa.new { baseUrl = srv.url, timeout = 300 }
    srv:script { { action = "hang" } }
    local res, err = m.paymentCollections.retrieve("p")
    assert.is_nil(res)
    assert.are.equal("timeout", err.type)
    assert.are.equal("CURLE_OPERATION_TIMEDOUT", err.code)
    m:close()
  end)
end)
