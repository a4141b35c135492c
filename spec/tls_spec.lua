-- spec/tls_spec.lua: TLS against the scripted server with a throw-away PKI (support.tls):
-- verification is on by default, caFile makes it work, a host-name mismatch fails, a tls
-- error is never retried, and no config key turns verification off.
local Medusa = require "medusa"
local Server = require "support.server"
local Tls = require "support.tls"
local H = require "helpers"

describe("TLS", function()
  local pki, srv, wrong

  setup(function()
    pki = Tls.generate()
    srv = Server.start { mode = "script", tls_cert = pki.cert, tls_key = pki.key }
    wrong = Server.start { mode = "script", tls_cert = pki.wrong_cert, tls_key = pki.wrong_key }
  end)
  teardown(function()
    if srv then srv:stop() end
    if wrong then wrong:stop() end
    if pki then pki:cleanup() end
  end)
  before_each(function()
    srv:reset()
    wrong:reset()
  end)

  local function attempt(config)
    local m = Medusa.new(config)
    local res, err = m.paymentCollections.managePaymentSession("paycol_tls", { provider_id = "manual" })
    return m, res, err
  end

  local function assert_tls_failure(err, code, why)
    assert.is_not_nil(err, "the handshake should have failed")
    assert.are.equal("tls", err.type, tostring(err))
    assert.are.equal(code, err.code)
    assert.is_nil(err.status)
    assert.are.equal(1, err.attempts, "a tls error is never retried")
    assert.matches(why, err.message)
  end

  it("an https server is verified by default: an untrusted certificate is a tls error, never retried", function()
    local m, res, err = attempt { baseUrl = srv.url, maxRetries = 2 }
    assert.is_nil(res)
    assert_tls_failure(err, "CURLE_PEER_FAILED_VERIFICATION", "certificate")
    assert.are.equal(0, #srv:log(), "a request went out over an unverified connection")
    m:close()
  end)

  it("caFile makes it work, and the request arrives intact over a reused connection", function()
    local m = Medusa.new { baseUrl = srv.url, caFile = pki.ca, maxRetries = 1 }
    srv:script { { json = { payment_collection = { id = "secure" } } }, { json = { payment_collection = { id = "again" } } } }
    local res = assert(m.paymentCollections.managePaymentSession("paycol_tls", { provider_id = "manual" }))
    assert.are.equal("secure", res.payment_collection.id)
    assert.are.equal("again", assert(m.paymentCollections.retrieve("paycol_tls")).payment_collection.id)
    local log = srv:log()
    assert.are.equal(2, #log)
    assert.are.equal("/store/payment-collections/paycol_tls/sessions", log[1].target)
    assert.are.equal('{"provider_id":"manual"}', log[1].body)
    assert.matches(H.UUID_V4, H.header(log[1], "Idempotency-Key"))
    assert.are.equal(log[1].conn, log[2].conn, "the TLS connection was not kept alive")
    m:close()
  end)

  it("the host name is checked against the URL: localhost matches its DNS name", function()
    local m = Medusa.new { baseUrl = "https://localhost:" .. srv.port, caFile = pki.ca }
    assert(m.paymentCollections.retrieve("paycol_tls"))
    assert.are.equal("localhost:" .. srv.port, H.header(srv:log()[1], "Host"))
    m:close()
  end)

  it("a certificate for another host name fails, even from a trusted CA", function()
    local m, res, err = attempt { baseUrl = wrong.url, caFile = pki.ca, maxRetries = 2 }
    assert.is_nil(res)
    assert_tls_failure(err, "CURLE_PEER_FAILED_VERIFICATION", "127%.0%.0%.1")
    assert.are.equal(0, #wrong:log())
    m:close()
  end)

  it("a caFile of an unrelated CA fails", function()
    local m, res, err = attempt { baseUrl = srv.url, caFile = pki.other_ca }
    assert.is_nil(res)
    assert_tls_failure(err, "CURLE_PEER_FAILED_VERIFICATION", "certificate")
    assert.are.equal(0, #srv:log())
    m:close()
  end)

  it("a caFile that holds no certificate fails instead of falling back to anything", function()
    local m, res, err = attempt { baseUrl = srv.url, caFile = pki.not_a_bundle }
    assert.is_nil(res)
    assert_tls_failure(err, "CURLE_SSL_CACERT_BADFILE", pki.not_a_bundle:gsub("%p", "%%%0"))
    assert.are.equal(0, #srv:log())
    m:close()
  end)

  it("after a tls failure the same kind of client still works with the right CA (nothing cached)", function()
    local bad = Medusa.new { baseUrl = srv.url }
    assert.are.equal("tls", select(2, bad.paymentCollections.retrieve("x")).type)
    local good = Medusa.new { baseUrl = srv.url, caFile = pki.ca }
    assert(good.paymentCollections.retrieve("x"))
    assert.are.equal("tls", select(2, bad.paymentCollections.retrieve("x")).type)
    bad:close()
    good:close()
  end)

  it("no config key turns verification off", function()
    for _, key in ipairs {
      "insecure", "sslVerify", "ssl_verify", "verify", "verifyPeer", "verifyHost", "rejectUnauthorized",
      "strictSSL", "tls", "ssl", "httpsAgent", "caPath", "noVerify", "skipVerify", "allowInsecure",
    } do
      for _, value in ipairs { false, true, 0, "false", {} } do
        local ok, err = pcall(Medusa.new, { baseUrl = srv.url, [key] = value })
        assert.is_false(ok, key .. " was accepted")
        assert.matches("unknown key '" .. key .. "'", err)
      end
    end
    for _, ca in ipairs { false, "", "/nonexistent/ca.pem", 0 } do
      local ok, err = pcall(Medusa.new, { baseUrl = srv.url, caFile = ca })
      assert.is_false(ok, "caFile " .. tostring(ca) .. " was accepted")
      assert.matches("config%.caFile", err)
    end
  end)

  it("plain http to a TLS port is a network error, not a silent downgrade", function()
    local m = Medusa.new { baseUrl = "http://127.0.0.1:" .. srv.port, timeout = 2000 }
    local res, err = m.paymentCollections.retrieve("x")
    assert.is_nil(res)
    assert.are.equal("network", err.type)
    assert.is_nil(err.status)
    assert.are.equal(0, #srv:log())
    m:close()
  end)
end)
