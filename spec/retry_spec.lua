-- spec/retry_spec.lua: the retry matrix of the reference (A4-A7): which failures are sent
-- again, how often, after which delays, with the same Idempotency-Key and body bytes.
-- Timing bounds are loose on purpose (a shared machine), but each would catch a wrong delay.
local Medusa = require "medusa"
local Server = require "support.server"
local H = require "helpers"
local core = require "medusa.core"

local busy = { status = 503, json = { message = "busy" } }
local ok = { status = 200, json = { payment_collection = { id = "x" } } }

describe("retries", function()
  local srv, medusa

  setup(function()
    srv = Server.start { mode = "script" }
  end)
  teardown(function()
    srv:stop()
  end)
  before_each(function()
    srv:reset()
    medusa = Medusa.new { baseUrl = srv.url, maxRetries = 3 }
  end)
  after_each(function()
    medusa:close()
  end)

  local function assert_same_request(log)
    local first = log[1]
    for i = 2, #log do
      assert.are.equal(first.target, log[i].target)
      assert.are.equal(first.body_b64, log[i].body_b64)
      assert.are.same(H.header_lines(first), H.header_lines(log[i]))
    end
  end

  local function assert_gap(gap, expected)
    assert(gap >= expected - 30 and gap <= expected + 400,
      ("gap of %.0f ms, expected about %d ms"):format(gap, expected))
  end

  it("POST 503, 503, 200: three attempts, 500 and 1500 ms apart, one Idempotency-Key (A4)", function()
    srv:script { busy, busy, ok }
    local res = assert(medusa.paymentCollections.authorizePaymentSessionsBatch("retry503", { session_ids = { "ps_1" } }))
    assert.are.equal("x", res.payment_collection.id)
    local log = srv:log()
    assert.are.equal(3, #log)
    assert_same_request(log)
    assert.matches(H.UUID_V4, H.header(log[1], "Idempotency-Key"))
    assert.are.equal('{"session_ids":["ps_1"]}', log[3].body)
    local gaps = H.gaps(log)
    assert_gap(gaps[1], 500)
    assert_gap(gaps[2], 1500)
  end)

  it("GET 503, 503, 200: retried without an Idempotency-Key", function()
    srv:script { busy, busy, ok }
    assert(medusa.paymentCollections.retrieve("retry503get", { expand = "region" }))
    local log = srv:log()
    assert.are.equal(3, #log)
    assert_same_request(log)
    assert.is_nil(H.header(log[1], "Idempotency-Key"))
    assert.are.equal("/store/payment-collections/retry503get?expand=region", log[3].target)
  end)

  it("always 503: 1 + maxRetries attempts, then the last error with attempts = 4 (A5)", function()
    srv:script { busy, busy, busy, busy, ok }
    local started = core.monotonic_ms()
    local res, err = medusa.paymentCollections.managePaymentSession("always503", { provider_id = "manual" })
    local elapsed = core.monotonic_ms() - started
    assert.is_nil(res)
    assert.are.equal(503, err.status)
    assert.are.equal(4, err.attempts)
    assert.are.equal("busy", err.message)
    local log = srv:log()
    assert.are.equal(4, #log)
    assert_same_request(log)
    local gaps = H.gaps(log)
    assert_gap(gaps[3], 3500)
    assert(elapsed >= 5500 and elapsed < 7000, "took " .. elapsed .. " ms")
  end)

  it("409 is retried (409, 409, 200)", function()
    srv:script { { status = 409, json = { type = "conflict", message = "c" } }, { status = 409, body = "" }, ok }
    assert(medusa.paymentCollections.managePaymentSession("s409", { provider_id = "manual" }))
    assert.are.equal(3, #srv:log())
  end)

  for _, case in ipairs {
    { status = 500, json = { code = "unknown_error", type = "unknown_error", message = "An unknown error occurred." } },
    { status = 429, json = { message = "slow down" } },
    { status = 404, json = { type = "not_found", message = "nope" } },
    { status = 400, json = { type = "invalid_data", message = "bad" } },
    { status = 401, headers = { { "Content-Type", "text/plain" } }, body = "Unauthorized" },
  } do
    it(("%d is never retried"):format(case.status), function()
      srv:script { case, ok }
      local res, err = medusa.paymentCollections.managePaymentSession("s" .. case.status, { provider_id = "manual" })
      assert.is_nil(res)
      assert.are.equal(case.status, err.status)
      assert.are.equal(1, err.attempts)
      assert.are.equal(1, #srv:log())
    end)
  end

  it("a reset before any response is retried, with the same key (A5 reset)", function()
    srv:script { { action = "reset" }, ok }
    assert(medusa.paymentCollections.managePaymentSession("reset", { provider_id = "manual" }))
    local log = srv:log()
    assert.are.equal(2, #log)
    assert.are.equal(H.header(log[1], "Idempotency-Key"), H.header(log[2], "Idempotency-Key"))
    assert_gap(H.gaps(log)[1], 500)
  end)

  it("connection refused: 1 + maxRetries attempts, network error without status (A7)", function()
    local m = Medusa.new { baseUrl = "http://127.0.0.1:" .. Server.refused_port(), maxRetries = 2 }
    local started = core.monotonic_ms()
    local res, err = m.paymentCollections.retrieve("p")
    local elapsed = core.monotonic_ms() - started
    assert.is_nil(res)
    assert.are.equal("network", err.type)
    assert.is_nil(err.status)
    assert.are.equal(3, err.attempts)
    assert.are.equal("CURLE_COULDNT_CONNECT", err.code)
    assert(elapsed >= 1950 and elapsed < 3000, "took " .. elapsed .. " ms")
    m:close()
  end)

  it("maxRetries 0 sends once and no Idempotency-Key", function()
    local m = Medusa.new { baseUrl = srv.url }
    srv:script { busy, ok }
    local res, err = m.paymentCollections.managePaymentSession("p", { provider_id = "manual" })
    assert.is_nil(res)
    assert.are.equal(1, err.attempts)
    assert.is_nil(H.header(srv:log()[1], "Idempotency-Key"))
    m:close()
  end)

  describe("Retry-After", function()
    it("in seconds replaces the backoff", function()
      srv:script { { status = 503, headers = { { "Retry-After", "1" } }, json = { message = "later" } }, ok }
      assert(medusa.paymentCollections.authorizePaymentSession("retryafter1", "ps_1"))
      local log = srv:log()
      assert.are.equal(2, #log)
      assert_gap(H.gaps(log)[1], 1000)
    end)

    it("as an HTTP date waits until then", function()
      local date = os.date("!%a, %d %b %Y %H:%M:%S GMT", os.time() + 3)
      srv:script { { status = 503, headers = { { "Retry-After", date } }, json = { message = "later" } }, ok }
      assert(medusa.paymentCollections.retrieve("p"))
      local gap = H.gaps(srv:log())[1]
      -- The date has one-second resolution: the wait is between 2 and 3 seconds.
      assert(gap > 1900 and gap < 3400, "gap " .. gap)
    end)

    it("of 0 stops retrying (A5 retryafter0)", function()
      srv:script { { status = 503, headers = { { "Retry-After", "0" } }, json = { message = "later" } }, ok }
      local res, err = medusa.paymentCollections.authorizePaymentSession("retryafter0", "ps_1")
      assert.is_nil(res)
      assert.are.equal(1, err.attempts)
      assert.are.equal(1, #srv:log())
    end)

    it("over 300 s stops retrying", function()
      srv:script { { status = 503, headers = { { "Retry-After", "301" } }, json = { message = "later" } }, ok }
      local res, err = medusa.paymentCollections.retrieve("p")
      assert.is_nil(res)
      assert.are.equal(1, err.attempts)
    end)

    it("in the past stops retrying", function()
      srv:script { { status = 503, headers = { { "Retry-After", "Wed, 21 Oct 2015 07:28:00 GMT" } }, body = "" }, ok }
      local res, err = medusa.paymentCollections.retrieve("p")
      assert.is_nil(res)
      assert.are.equal(1, err.attempts)
    end)

    it("follows the documented rules", function()
      local delay = require("medusa.client").retry_delay
      assert.are.equal(500, delay(1, {}))
      assert.are.equal(1500, delay(2, {}))
      assert.are.equal(3500, delay(3, {}))
      assert.are.equal(7500, delay(4, nil))
      assert.are.equal(2500, delay(1, { ["retry-after"] = "2.5" }))
      assert.are.equal(300000, delay(1, { ["retry-after"] = "300" }))
      assert.is_nil(delay(1, { ["retry-after"] = "300.5" }))
      assert.is_nil(delay(1, { ["retry-after"] = "" }))
      assert.is_nil(delay(1, { ["retry-after"] = "-1" }))
      assert.is_nil(delay(1, { ["retry-after"] = "soon" }))
      -- maxRetryDelay caps the schedule and refuses a longer Retry-After
      assert.are.equal(30000, delay(10, nil, 30000))
      assert.are.equal(15500, delay(5, nil, 30000))
      assert.are.equal(100, delay(1, nil, 100))
      assert.are.equal(2500, delay(1, { ["retry-after"] = "2.5" }, 30000))
      assert.is_nil(delay(1, { ["retry-after"] = "31" }, 30000))
    end)
  end)

  describe("bounds", function()
    it("maxRetryDelay caps every wait of the schedule", function()
      local m = Medusa.new { baseUrl = srv.url, maxRetries = 3, maxRetryDelay = 100 }
      srv:script { busy, busy, busy, ok }
      assert(m.paymentCollections.retrieve("p"))
      local gaps = H.gaps(srv:log())
      assert.are.equal(3, #gaps)
      -- 500, 1500, 3500 ms without the cap
      for _, gap in ipairs(gaps) do assert_gap(gap, 100) end
      m:close()
    end)

    it("a Retry-After longer than maxRetryDelay is not retried early: the call fails at once", function()
      local m = Medusa.new { baseUrl = srv.url, maxRetries = 3, maxRetryDelay = 500 }
      srv:script { { status = 503, headers = { { "Retry-After", "1" } }, body = "" }, ok }
      local res, err = m.paymentCollections.retrieve("p")
      assert.is_nil(res)
      assert.are.equal(1, err.attempts)
      assert.are.equal(1, #srv:log())
      m:close()
    end)

    it("the default cap is 30 s and maxRetries is at most 10", function()
      local m = Medusa.new { baseUrl = srv.url }
      assert.are.equal(30000, m.client.settings.maxRetryDelay)
      m:close()
      Medusa.new({ maxRetries = 10, maxRetryDelay = 300000 }):close()
      for _, case in ipairs {
        { { maxRetries = 11 }, "'config.maxRetries' (at most 10, got 11)" },
        { { maxRetries = 1e9 }, "'config.maxRetries' (at most 10" },
        { { maxRetryDelay = 300001 }, "'config.maxRetryDelay' (at most 300000" },
        { { maxRetryDelay = -1 }, "'config.maxRetryDelay' (expected an integer >= 0" },
      } do
        local ok_, msg = pcall(Medusa.new, case[1])
        assert.is_false(ok_)
        assert.is_truthy(tostring(msg):find(case[2], 1, true), msg)
      end
    end)
  end)

  describe("after a status line", function()
    it("a POST whose body is cut is not sent again (it reached the server)", function()
      srv:script { { status = 200, partial_body = { declared = 100 }, body = '{"payment' }, ok }
      local res, err = medusa.paymentCollections.managePaymentSession("p", { provider_id = "manual" })
      assert.is_nil(res)
      assert.are.equal("network", err.type)
      assert.are.equal(200, err.status)
      assert.are.equal(1, err.attempts)
      assert.are.equal(1, #srv:log())
    end)

    it("a GET whose body is cut is retried", function()
      srv:script { { status = 200, partial_body = { declared = 100 }, body = '{"payment' }, ok }
      local res = assert(medusa.paymentCollections.retrieve("p"))
      assert.are.equal("x", res.payment_collection.id)
      assert.are.equal(2, #srv:log())
    end)

    it("an invalid JSON 2xx body is never retried", function()
      srv:script { { status = 200, body = "{not json" }, ok }
      local res, err = medusa.paymentCollections.retrieve("p")
      assert.is_nil(res)
      assert.are.equal("invalid_response", err.type)
      assert.are.equal(1, #srv:log())
    end)

    it("a response over maxResponseBytes is never retried", function()
      local m = Medusa.new { baseUrl = srv.url, maxRetries = 3, maxResponseBytes = 1000 }
      srv:script { { status = 200, body = "x", body_repeat = 5000 }, ok }
      local res, err = m.paymentCollections.retrieve("p")
      assert.is_nil(res)
      assert.are.equal("too_large", err.type)
      assert.are.equal(1, #srv:log())
      m:close()
    end)
  end)
end)
