-- spec/e2e/cases.lua: the real-backend cases, written once for every transport. Each case is
-- {name, run = function(ctx)} and needs only luassert and a ctx:
--   ctx.medusa(config?)  a medusa-lua instance on the real backend (config.baseUrl may point
--                        at the proxy), built with the transport under test; closed for you
--   ctx.backend          spec/e2e/support/backend.lua (fixtures, the database's view, what
--                        the backend received, the proxy)
-- spec/e2e/backend_spec.lua runs them through libcurl under busted, cosocket_spec.lua
-- inside nginx (nginx/runner.lua's ctx); spec/e2e/suites.lua lists this file for both.
local assert = require "luassert"
local Check = require "e2e.support.check"
local assert_integer, assert_error = Check.integer, Check.error

local UUID_V4 = "^%x%x%x%x%x%x%x%x%-%x%x%x%x%-4%x%x%x%-[89ab]%x%x%x%-%x%x%x%x%x%x%x%x%x%x%x%x$"
local BASE = "/store/payment-collections/"

local cases = {}
local function case(name, run) cases[#cases + 1] = { name = name, run = run } end

local function amounts(sessions)
  local out = {}
  for i, s in ipairs(sessions) do out[i] = s.amount end
  table.sort(out)
  return out
end

local function ids(sessions)
  local out = {}
  for i, s in ipairs(sessions) do out[i] = s.id end
  return out
end

-- The value of a header in the backend's raw {name1, value1, ...} list, and how often it came.
local function raw_header(raw, name)
  local value, count = nil, 0
  for i = 1, #raw, 2 do
    if raw[i]:lower() == name:lower() then value, count = raw[i + 1], count + 1 end
  end
  return value, count
end

---------------------------------------------------------------------------------------
-- The six methods and the flows
---------------------------------------------------------------------------------------

case("retrieve: the default relations are region and payment_sessions", function(ctx)
  local id = ctx.backend.new_collection(5000)
  local res, err = ctx.medusa().paymentCollections.retrieve(id)
  assert.is_nil(err)
  assert.are.equal(200, res.response.status)
  assert.are.equal("application/json; charset=utf-8", res.response.headers["content-type"])
  local pc = res.payment_collection
  assert.are.equal(id, pc.id)
  assert.are.equal("not_paid", pc.status)
  assert.are.equal("order_edit", pc.type)
  assert_integer(5000, pc.amount)
  assert.are.equal("usd", pc.currency_code)
  assert.are.equal(ctx.backend.region_id(), pc.region.id)
  assert.are.same({}, pc.payment_sessions)
  assert.are.equal(require("medusa").array_mt, getmetatable(pc.payment_sessions))
  -- The default select leaves these columns out.
  assert.is_nil(pc.authorized_amount)
  assert.is_nil(pc.created_at)
end)

case("retrieve with expand=region: expand replaces the default relations", function(ctx)
  local id = ctx.backend.new_collection(5000)
  local res, err = ctx.medusa().paymentCollections.retrieve(id, { expand = "region" })
  assert.is_nil(err)
  assert.are.equal(id, res.payment_collection.id)
  assert.are.equal(ctx.backend.region_id(), res.payment_collection.region.id)
  assert.is_nil(res.payment_collection.payment_sessions)
  -- And the query really reached the backend as qs would write it.
  local got = ctx.backend.received(id)
  assert.are.equal(1, #got)
  assert.are.equal(BASE .. id .. "?expand=region", got[1].url)
end)

case("managePaymentSession: one pending session for the whole amount", function(ctx)
  local id = ctx.backend.new_collection(4200)
  local res, err = ctx.medusa().paymentCollections.managePaymentSession(id, { provider_id = "manual" })
  assert.is_nil(err)
  local pc = res.payment_collection
  assert.are.equal(id, pc.id)
  assert.are.equal(1, #pc.payment_sessions)
  local s = pc.payment_sessions[1]
  assert.matches("^ps_", s.id)
  assert.are.equal("manual", s.provider_id)
  assert.are.equal("pending", s.status)
  assert_integer(4200, s.amount)
  assert.are.same({ { id = "manual", is_installed = true } }, pc.region.payment_providers)
  local row = ctx.backend.collection_row(id)
  assert.are.same({ { id = s.id, status = "pending", amount = 4200 } }, row.sessions)
end)

case("flow: manage → refresh (the backend returns a new id) → authorize", function(ctx)
  local id = ctx.backend.new_collection(5000)
  local pc = ctx.medusa().paymentCollections

  local managed = assert(pc.managePaymentSession(id, { provider_id = "manual" }))
  local first = managed.payment_collection.payment_sessions[1].id

  local refreshed, err = pc.refreshPaymentSession(id, first)
  assert.is_nil(err)
  local second = refreshed.payment_session.id
  assert.matches("^ps_", second)
  assert.are_not.equal(first, second)
  assert.are.equal("pending", refreshed.payment_session.status)
  assert_integer(5000, refreshed.payment_session.amount)
  -- The old session is gone: the collection holds only the new one.
  assert.are.same({ { id = second, status = "pending", amount = 5000 } }, ctx.backend.collection_row(id).sessions)

  local authorized
  authorized, err = pc.authorizePaymentSession(id, second)
  assert.is_nil(err)
  local s = authorized.payment_session
  assert.are.equal(second, s.id)
  assert.are.equal("authorized", s.status)
  assert.are.same({ status = "authorized" }, s.data)
  assert.is_string(s.payment_authorized_at)

  local after = assert(pc.retrieve(id))
  assert.are.equal("authorized", after.payment_collection.status)
  assert.are.same({ second }, ids(after.payment_collection.payment_sessions))
  local row = ctx.backend.collection_row(id)
  assert.are.equal("authorized", row.status)
  assert.are.equal(5000, row.authorized_amount)
  assert.are.equal(1, row.payments)
  -- Four calls, four requests, and all on one kept-alive connection.
  local got = ctx.backend.received(id)
  assert.are.equal(4, #got)
  for i = 2, #got do assert.are.equal(got[1].remote_port, got[i].remote_port) end
end)

case("flow: a batch of two sessions summing to the amount → batch authorize → authorized", function(ctx)
  local id = ctx.backend.new_collection(5000)
  local pc = ctx.medusa().paymentCollections
  local res, err = pc.managePaymentSessionsBatch(id, { sessions = {
    { provider_id = "manual", amount = 3000 },
    { provider_id = "manual", amount = 2000 },
  } })
  assert.is_nil(err)
  local sessions = res.payment_collection.payment_sessions
  assert.are.same({ 2000, 3000 }, amounts(sessions))
  for _, s in ipairs(sessions) do assert.are.equal("pending", s.status) end

  res, err = pc.authorizePaymentSessionsBatch(id, { session_ids = ids(sessions) })
  assert.is_nil(err)
  local collection = res.payment_collection
  assert.are.equal("authorized", collection.status)
  assert_integer(5000, collection.authorized_amount)
  assert.are.equal(2, #collection.payments)
  assert.are.same({ 2000, 3000 }, amounts(collection.payments))
  for _, s in ipairs(collection.payment_sessions) do assert.are.equal("authorized", s.status) end
  local row = ctx.backend.collection_row(id)
  assert.are.equal("authorized", row.status)
  assert.are.equal(2, row.payments)
end)

case("managePaymentSessionsBatch with session_id updates that session; others are deleted", function(ctx)
  local id = ctx.backend.new_collection(5000)
  local pc = ctx.medusa().paymentCollections
  local res = assert(pc.managePaymentSessionsBatch(id, { sessions = {
    { provider_id = "manual", amount = 2500 }, { provider_id = "manual", amount = 2500 },
  } }))
  local keep = res.payment_collection.payment_sessions[1].id
  local err
  res, err = pc.managePaymentSessionsBatch(id, { sessions = {
    { provider_id = "manual", amount = 5000, session_id = keep },
  } })
  assert.is_nil(err)
  assert.are.same({ keep }, ids(res.payment_collection.payment_sessions))
  assert_integer(5000, res.payment_collection.payment_sessions[1].amount)
  assert.are.same({ { id = keep, status = "pending", amount = 5000 } }, ctx.backend.collection_row(id).sessions)
end)

case("authorizePaymentSessionsBatch of one of two sessions → partially_authorized", function(ctx)
  local id = ctx.backend.new_collection(5000)
  local pc = ctx.medusa().paymentCollections
  local res = assert(pc.managePaymentSessionsBatch(id, { sessions = {
    { provider_id = "manual", amount = 3000 }, { provider_id = "manual", amount = 2000 },
  } }))
  local three
  for _, s in ipairs(res.payment_collection.payment_sessions) do
    if s.amount == 3000 then three = s.id end
  end
  local err
  res, err = pc.authorizePaymentSessionsBatch(id, { session_ids = { three } })
  assert.is_nil(err)
  assert.are.equal("partially_authorized", res.payment_collection.status)
  assert_integer(3000, res.payment_collection.authorized_amount)
  assert.are.equal(1, #res.payment_collection.payments)
end)

---------------------------------------------------------------------------------------
-- The real error cases, as the client reports them
---------------------------------------------------------------------------------------

case("404 not_found: retrieve an unknown collection", function(ctx)
  local medusa = ctx.medusa { maxRetries = 3 }
  local res, err = medusa.paymentCollections.retrieve("paycol_does_not_exist")
  assert.is_nil(res)
  assert_error(err, 404, "not_found", "Payment collection with id paycol_does_not_exist was not found")
  assert.are.same({ type = "not_found", message = err.message }, err.body)
  assert.is_nil(err.code)
  assert.are.equal(1, err.attempts) -- a 404 is never retried
  assert.are.equal("GET", err.method)
  assert.are.equal(ctx.backend.url() .. BASE .. "paycol_does_not_exist", err.url)
  assert.are.equal("Express", err.headers["x-powered-by"])
  assert.is_nil(err.headers["set-cookie"]) -- an error object never carries cookies
end)

case("404 not_found: sessions on an unknown collection, refresh of an unknown session", function(ctx)
  local pc = ctx.medusa().paymentCollections
  local _, err = pc.managePaymentSession("paycol_does_not_exist", { provider_id = "manual" })
  assert_error(err, 404, "not_found", "Payment collection with id paycol_does_not_exist was not found")
  local id = ctx.backend.new_collection(5000)
  _, err = pc.refreshPaymentSession(id, "ps_does_not_exist")
  assert_error(err, 404, "not_found",
    "Payment collection related to Payment Session id ps_does_not_exist was not found")
end)

case("400 invalid_data: a provider_id that is not a string, an unknown provider, session_ids not an array", function(ctx)
  local id = ctx.backend.new_collection(5000)
  local pc = ctx.medusa().paymentCollections
  local _, err = pc.managePaymentSession(id, { provider_id = 123 })
  assert_error(err, 400, "invalid_data", "provider_id must be a string")
  _, err = pc.managePaymentSession(id, { provider_id = "stripe" })
  assert_error(err, 400, "invalid_data", "Payment provider not found")
  _, err = pc.authorizePaymentSessionsBatch(id, { session_ids = "x" })
  assert_error(err, 400, "invalid_data", "session_ids must be an array")
  assert.are.same({}, ctx.backend.collection_row(id).sessions)
end)

case("400 invalid_data: a validation message that is JSON text stays one line", function(ctx)
  local id = ctx.backend.new_collection(5000)
  local _, err = ctx.medusa().paymentCollections.managePaymentSessionsBatch(id, { sessions = "nope" })
  assert_error(err, 400, "invalid_data")
  assert.matches("sessions must be one of", err.message, 1, true)
  assert.is_nil(tostring(err):find("\n"))
end)

case("400 not_allowed: authorize an unknown session, sessions on an authorized collection", function(ctx)
  local id = ctx.backend.new_collection(5000)
  local pc = ctx.medusa().paymentCollections
  local _, err = pc.authorizePaymentSession(id, "ps_does_not_exist")
  assert_error(err, 400, "not_allowed", "You cannot complete a Payment Collection without a payment session.")
  _, err = pc.authorizePaymentSessionsBatch(id, { session_ids = { "ps_does_not_exist" } })
  assert_error(err, 400, "not_allowed", "You cannot complete a Payment Collection without a payment session.")

  local res = assert(pc.managePaymentSession(id, { provider_id = "manual" }))
  assert(pc.authorizePaymentSession(id, res.payment_collection.payment_sessions[1].id))
  _, err = pc.managePaymentSession(id, { provider_id = "manual" })
  assert_error(err, 400, "not_allowed", "Cannot set payment sessions for a payment collection with status authorized")
end)

case("500 unexpected_state: a batch whose sum is not the amount, not retried", function(ctx)
  local id = ctx.backend.new_collection(5000)
  local medusa = ctx.medusa { maxRetries = 3 }
  local _, err = medusa.paymentCollections.managePaymentSessionsBatch(id, { sessions = {
    { provider_id = "manual", amount = 3000 }, { provider_id = "manual", amount = 1000 },
  } })
  assert_error(err, 500, "unexpected_state", "The sum of sessions is not equal to 5000 on Payment Collection")
  assert.are.equal(1, err.attempts)
  assert.are.equal(1, #ctx.backend.received(id))
  assert.are.same({}, ctx.backend.collection_row(id).sessions)
end)

case("500 unknown_error: expand names no relation", function(ctx)
  local id = ctx.backend.new_collection(5000)
  local _, err = ctx.medusa().paymentCollections.retrieve(id, { expand = "nope" })
  assert_error(err, 500, "unknown_error", "An unknown error occurred.")
  assert.are.equal("unknown_error", err.code)
end)

case("400 HTML page: a bare JSON string body, which the backend's parser refuses", function(ctx)
  local id = ctx.backend.new_collection(5000)
  local medusa = ctx.medusa()
  local _, err = medusa.client.request("POST", BASE .. id .. "/sessions", "bare string")
  assert.are.equal(400, err.status)
  assert.are.equal("http_error", err.type)
  assert.is_nil(err.code)
  assert.matches("^text/html", err.headers["content-type"])
  assert.is_string(err.body)
  assert.matches("<!DOCTYPE html>", err.body, 1, true)
  assert.matches("SyntaxError", err.body, 1, true)
  assert.matches("^SyntaxError: ", err.message)
  assert.is_nil(tostring(err):find("\n"))
  -- The payload went out as the 13 bytes of a JSON string.
  local got = ctx.backend.received(id)
  assert.are.equal(1, #got)
  assert.are.equal("13", (raw_header(got[1].headers, "content-length")))
  assert.are.same({}, ctx.backend.collection_row(id).sessions)
end)

---------------------------------------------------------------------------------------
-- What the real server receives and sends back
---------------------------------------------------------------------------------------

case("the backend receives medusa-lua's header set", function(ctx)
  local id = ctx.backend.new_collection(5000)
  local medusa = ctx.medusa { publishableApiKey = "pk_e2e_bogus", customHeaders = { ["X-E2E"] = "yes" } }
  assert(medusa.paymentCollections.retrieve(id))
  assert(medusa.paymentCollections.managePaymentSession(id, { provider_id = "manual" }))
  local got = ctx.backend.received(id)
  assert.are.equal(2, #got)
  for _, r in ipairs(got) do
    local h = r.headers
    assert.are.equal("application/json", (raw_header(h, "accept")))
    assert.are.equal("application/json", (raw_header(h, "content-type")))
    assert.are.equal("pk_e2e_bogus", (raw_header(h, "x-publishable-api-key")))
    assert.are.equal("yes", (raw_header(h, "x-e2e")))
    assert.matches("^medusa%-lua/", (raw_header(h, "user-agent")))
    for _, absent in ipairs { "connection", "expect", "accept-encoding", "cookie",
      "transfer-encoding", "idempotency-key", "authorization", "x-medusa-access-token" } do
      assert.are.equal(0, select(2, raw_header(h, absent)), absent .. " was sent")
    end
  end
  assert.are.equal(0, select(2, raw_header(got[1].headers, "content-length"))) -- GET: no body
  assert.are.equal("24", (raw_header(got[2].headers, "content-length")))      -- {"provider_id":"manual"}
end)

case("success keeps the backend's set-cookie as a list; the result has response.status", function(ctx)
  local id = ctx.backend.new_collection(5000)
  local res = assert(ctx.medusa().paymentCollections.retrieve(id))
  local cookies = res.response.headers["set-cookie"]
  assert.is_table(cookies)
  assert.are.equal(1, #cookies)
  assert.matches("^connect%.sid=", cookies[1])
  assert.are.equal("Express", res.response.headers["x-powered-by"])
  assert.is_string(res.response.headers.etag)
end)

---------------------------------------------------------------------------------------
-- Retries against the real server, through the fault-injecting proxy
---------------------------------------------------------------------------------------

-- The Idempotency-Key of each proxy record.
local function keys(records)
  local out = {}
  for i, r in ipairs(records) do
    for _, h in ipairs(r.headers) do
      if h[1]:lower() == "idempotency-key" then out[i] = h[2] end
    end
  end
  return out
end

case("retries: 503 twice, then through: the POST succeeds and the backend saw one request", function(ctx)
  local id = ctx.backend.new_collection(5000)
  local proxy = ctx.backend.proxy
  proxy.faults { { status = 503, times = 2, match = id } }
  local medusa = ctx.medusa { baseUrl = ctx.backend.proxy_url(), maxRetries = 3 }
  local res, err = medusa.paymentCollections.managePaymentSession(id, { provider_id = "manual" })
  assert.is_nil(err)
  assert.are.equal(200, res.response.status)
  assert.are.equal(1, #res.payment_collection.payment_sessions)

  local seen = proxy.log(id)
  assert.are.equal(3, #seen)
  assert.are.same({ "injected", "injected", "forwarded" }, { seen[1].outcome, seen[2].outcome, seen[3].outcome })
  local k = keys(seen)
  assert.matches(UUID_V4, k[1])
  assert.are.same({ k[1], k[1], k[1] }, k)
  for i = 2, 3 do assert.are.equal(seen[1].body, seen[i].body) end
  -- Backoff 500 ms then 1500 ms (loose bounds: a shared machine).
  local gap1, gap2 = seen[2].t_ms - seen[1].t_ms, seen[3].t_ms - seen[2].t_ms
  assert.is_true(gap1 >= 450 and gap1 < 5000, "first gap " .. gap1)
  assert.is_true(gap2 >= 1400 and gap2 < 8000, "second gap " .. gap2)

  -- The backend's side: one request, carrying that key, and one session in the database.
  local got = ctx.backend.received(id)
  assert.are.equal(1, #got)
  assert.are.equal("POST", got[1].method)
  assert.are.equal(k[1], (raw_header(got[1].headers, "idempotency-key")))
  local row = ctx.backend.collection_row(id)
  assert.are.equal(1, #row.sessions)
  assert.are.equal(res.payment_collection.payment_sessions[1].id, row.sessions[1].id)
end)

case("retries: a GET through two 503s reaches the backend once", function(ctx)
  local id = ctx.backend.new_collection(5000)
  ctx.backend.proxy.faults { { status = 503, times = 2, match = id } }
  local medusa = ctx.medusa { baseUrl = ctx.backend.proxy_url(), maxRetries = 3 }
  local res, err = medusa.paymentCollections.retrieve(id)
  assert.is_nil(err)
  assert.are.equal(id, res.payment_collection.id)
  assert.are.equal(3, #ctx.backend.proxy.log(id))
  assert.are.equal(1, #ctx.backend.received(id))
end)

case("retries: with maxRetries = 1, two 503s win and nothing reaches the backend", function(ctx)
  local id = ctx.backend.new_collection(5000)
  ctx.backend.proxy.faults { { status = 503, times = 2, match = id } }
  local medusa = ctx.medusa { baseUrl = ctx.backend.proxy_url(), maxRetries = 1 }
  local _, err = medusa.paymentCollections.managePaymentSession(id, { provider_id = "manual" })
  assert_error(err, 503, "http_error", "injected by the e2e proxy")
  assert.are.equal(2, err.attempts)
  assert.are.equal(2, #ctx.backend.proxy.log(id))
  assert.are.equal(0, #ctx.backend.received(id))
  assert.are.same({}, ctx.backend.collection_row(id).sessions)
end)

case("retries: a connection reset before the backend is retried; the backend saw one", function(ctx)
  local id = ctx.backend.new_collection(5000)
  ctx.backend.proxy.faults { { action = "reset", times = 1, match = id } }
  local medusa = ctx.medusa { baseUrl = ctx.backend.proxy_url(), maxRetries = 3 }
  local res, err = medusa.paymentCollections.managePaymentSessionsBatch(id, { sessions = {
    { provider_id = "manual", amount = 5000 },
  } })
  assert.is_nil(err)
  assert.are.equal(1, #res.payment_collection.payment_sessions)
  local seen = ctx.backend.proxy.log(id)
  assert.are.same({ "reset", "forwarded" }, { seen[1].outcome, seen[2] and seen[2].outcome })
  assert.are.equal(1, #ctx.backend.received(id))
  assert.are.equal(1, #ctx.backend.collection_row(id).sessions)
end)


---------------------------------------------------------------------------------------
-- Logged in as a customer (issue 6): medusa.auth's cookie and token, per client
---------------------------------------------------------------------------------------

local PASSWORD = "e2e-secret-password"

-- A new customer with an account, registered with POST /store/customers through the
-- transport under test. Returns its email and id.
local function register(ctx)
  local email = ("e2e-%s@medusa-lua.test"):format(ctx.backend.sql("SELECT gen_random_uuid()"))
  local res, err = ctx.medusa().client.request("POST", "/store/customers", {
    email = email, password = PASSWORD, first_name = "Lua", last_name = "Customer",
  })
  assert.is_nil(err)
  assert.are.equal(200, res.response.status)
  assert.are.equal(email, res.customer.email)
  assert.is_true(res.customer.has_account)
  assert.is_nil(res.customer.password_hash)
  return email, res.customer.id
end

local function assert_logged_out(medusa)
  local res, err = medusa.auth.getSession()
  assert.is_nil(res)
  assert_error(err, 401, "http_error")
  assert.are.equal("Unauthorized", err.body)
end

-- The value of one header on each request in got: a list (nil where it was absent).
local function header_values(got, name)
  local out = {}
  for i, r in ipairs(got) do out[i] = raw_header(r.headers, name) or false end
  return out
end

case("auth: authenticate keeps connect.sid in this client's jar; its payment calls carry it, another client's do not", function(ctx)
  local email, customer_id = register(ctx)
  local medusa = ctx.medusa()
  local other = ctx.medusa()
  -- Registering logged nobody in on this side: the jar stays off until a login.
  assert_logged_out(medusa)

  local res, err = medusa.auth.authenticate { email = email, password = PASSWORD }
  assert.is_nil(err)
  assert.are.equal(customer_id, res.customer.id)
  assert.are.equal(email, res.customer.email)
  assert.are.equal(customer_id, assert(medusa.auth.getSession()).customer.id)

  -- As that customer: manage → refresh → authorize, then retrieve.
  local id = ctx.backend.new_collection(5000)
  local pc = medusa.paymentCollections
  local managed = assert(pc.managePaymentSession(id, { provider_id = "manual" }))
  local refreshed = assert(pc.refreshPaymentSession(id, managed.payment_collection.payment_sessions[1].id))
  local authorized = assert(pc.authorizePaymentSession(id, refreshed.payment_session.id))
  assert.are.equal("authorized", authorized.payment_session.status)
  assert.are.equal("authorized", assert(pc.retrieve(id)).payment_collection.status)

  -- The other client, in the same state, is nobody.
  assert_logged_out(other)
  assert(other.paymentCollections.retrieve(id))

  local got = ctx.backend.received(id)
  assert.are.equal(5, #got)
  local cookies = header_values(got, "cookie")
  for i = 1, 4 do
    assert.matches("^connect%.sid=s%%3A", cookies[i])
    assert.is_nil(cookies[i]:find(";", 1, true), "one cookie only: " .. cookies[i])
  end
  assert.is_false(cookies[5], "the other client sent a cookie")
  for _, value in ipairs(header_values(got, "authorization")) do assert.is_false(value) end

  -- The backend answers DELETE /store/auth with a bare text/plain "OK": a success whose
  -- body is not JSON comes back as data.
  local ended = assert(medusa.auth.deleteSession())
  assert.are.equal("OK", ended.data)
  assert.are.equal(200, ended.response.status)
  assert_logged_out(medusa)
end)

case("auth: getToken keeps a bearer token for this client; its payment calls carry it; setToken(nil) forgets it", function(ctx)
  local email, customer_id = register(ctx)
  local medusa = ctx.medusa()
  local other = ctx.medusa()

  local res, err = medusa.auth.getToken { email = email, password = PASSWORD }
  assert.is_nil(err)
  local token = res.access_token
  assert.matches("^[%w_-]+%.[%w_-]+%.[%w_-]+$", token) -- a JWT
  assert.are.equal(customer_id, assert(medusa.auth.getSession()).customer.id)

  -- As that customer: a batch of two sessions → batch authorize.
  local id = ctx.backend.new_collection(5000)
  local pc = medusa.paymentCollections
  local batch = assert(pc.managePaymentSessionsBatch(id, { sessions = {
    { provider_id = "manual", amount = 1000 }, { provider_id = "manual", amount = 4000 },
  } }))
  local done = assert(pc.authorizePaymentSessionsBatch(id, { session_ids = ids(batch.payment_collection.payment_sessions) }))
  assert.are.equal("authorized", done.payment_collection.status)

  assert_logged_out(other)
  assert(other.paymentCollections.retrieve(id))

  local got = ctx.backend.received(id)
  assert.are.equal(3, #got)
  assert.are.same({ "Bearer " .. token, "Bearer " .. token, false }, header_values(got, "authorization"))
  assert.are.same({ false, false, false }, header_values(got, "cookie"))

  medusa.auth.setToken(nil)
  assert_logged_out(medusa)
  medusa.auth.setToken(token)
  assert.are.equal(email, assert(medusa.auth.getSession()).customer.email)
end)

case("auth: a wrong password is a 401 with a plain-text body, and nothing is kept", function(ctx)
  local email = register(ctx)
  local medusa = ctx.medusa()
  local res, err = medusa.auth.authenticate { email = email, password = "not-" .. PASSWORD }
  assert.is_nil(res)
  assert_error(err, 401, "http_error")
  assert.are.equal("Unauthorized", err.body)
  assert.are.equal(1, err.attempts)
  res, err = medusa.auth.getToken { email = email, password = "not-" .. PASSWORD }
  assert.is_nil(res)
  assert_error(err, 401, "http_error")
  assert_logged_out(medusa)
  assert.is_true(assert(medusa.auth.exists(email)).exists)
end)

return cases
