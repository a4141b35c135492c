-- spec/events_spec.lua: medusa:on/off and the debug log against the scripted server: what
-- each event carries and in which order (success, a retried 503, a refused connection),
-- redaction of the secret headers, several hooks, off, a hook that raises, bad arguments,
-- the debug lines (config.debug, MEDUSA_DEBUG in a child process, debug = false), and that
-- a client nobody watches runs none of it.
local Medusa = require "medusa"
local Server = require "support.server"
local H = require "helpers"
local Events = require "medusa.events"

local busy = { status = 503, json = { message = "busy" } }
local ok = { status = 200, json = { payment_collection = { id = "x" } } }

-- Records every event of m as {name, event} pairs, in the order they came.
local function record(m)
  local seen = {}
  for _, name in ipairs(Events.NAMES) do
    m:on(name, function(event) seen[#seen + 1] = { name, event } end)
  end
  return seen
end

local function names(seen)
  local list = {}
  for i, s in ipairs(seen) do list[i] = s[1] end
  return table.concat(list, " ")
end

local function header_of(list, name)
  for _, h in ipairs(list) do
    if h[1]:lower() == name:lower() then return h[2] end
  end
end

-- One shell command's stderr (stdout dropped).
local function stderr_of(cmd)
  local p = assert(io.popen(cmd .. " 2>&1 >/dev/null", "r"))
  local out = p:read("*a")
  p:close()
  return out
end

-- A Lua 5.4 child that makes one retrieve against url with the given config fields
-- (Lua source) and the given environment; returns its stderr.
local function child(env, url, config)
  local code = ("local m = require('medusa').new{ baseUrl = %q %s }; m.paymentCollections.retrieve('kid'); m:close()")
    :format(url, config or "")
  return stderr_of(("env %s LUA_PATH='lua/?.lua;lua/?/init.lua;;' LUA_CPATH='build/5.4/?.so;;' lua5.4 -e %s")
    :format(env, Server.shell_quote(code)))
end

-- One scripted server for the whole file, its log and queue empty before each test.
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

describe("medusa:on / off", function()
  local medusa

  before_each(function()
    medusa = Medusa.new { baseUrl = srv.url, maxRetries = 3, publishableApiKey = "pk_1" }
  end)
  after_each(function()
    medusa:close()
  end)

  it("a success: request, then response, with the headers sent and received", function()
    srv:script { { status = 200, headers = { { "Content-Type", "application/json" }, { "X-Trace", "t1" } },
      json = { payment_collection = { id = "x" } } } }
    local seen = record(medusa)
    local res = assert(medusa.paymentCollections.retrieve("pc_1", { expand = "region" }))
    assert.are.equal("request response", names(seen))
    local url = srv.url .. "/store/payment-collections/pc_1?expand=region"
    local request, response = seen[1][2], seen[2][2]
    assert.are.equal("GET", request.method)
    assert.are.equal(url, request.url)
    assert.are.equal(1, request.attempt)
    -- Exactly the list that went out (Host is the transport's own), in order.
    local sent = {}
    for i, h in ipairs(request.headers) do sent[i] = h[1] .. ": " .. h[2] end
    assert.are.same(H.header_lines(srv:log()[1]), sent)
    assert.are.equal("pk_1", header_of(request.headers, "x-publishable-api-key"))
    assert.are.equal("GET", response.method)
    assert.are.equal(url, response.url)
    assert.are.equal(200, response.status)
    assert.are.equal(1, response.attempt)
    assert.are.equal("t1", response.headers["x-trace"])
    assert.are.same(res.response.headers, response.headers)
    assert.is_number(response.elapsed_ms)
    assert(response.elapsed_ms >= 0 and response.elapsed_ms < 5000, response.elapsed_ms)
  end)

  it("a 503 then a 200: the retry event says the error, the real wait and the next attempt", function()
    srv:script { busy, ok }
    local seen = record(medusa)
    assert(medusa.paymentCollections.authorizePaymentSessionsBatch("pc_r", { session_ids = { "ps_1" } }))
    assert.are.equal("request response retry request response", names(seen))
    assert.are.same({ 1, 1, 2, 2 }, { seen[1][2].attempt, seen[2][2].attempt, seen[4][2].attempt, seen[5][2].attempt })
    assert.are.equal(503, seen[2][2].status)
    assert.are.equal(200, seen[5][2].status)
    local retry = seen[3][2]
    assert.are.equal(503, retry.error.status)
    assert.are.equal("busy", retry.error.message)
    assert.are.equal(1, retry.error.attempts)
    assert.are.equal(500, retry.delay_ms)
    assert.are.equal(2, retry.attempt)
    assert.are.equal("POST", seen[4][2].method)
    -- The same Idempotency-Key in both request events, as on the wire.
    local log = srv:log()
    assert.are.equal(H.header(log[1], "Idempotency-Key"), header_of(seen[1][2].headers, "Idempotency-Key"))
    assert.are.equal(H.header(log[2], "Idempotency-Key"), header_of(seen[4][2].headers, "Idempotency-Key"))
    local gap = H.gaps(log)[1]
    assert(gap >= 470 and gap < 900, ("waited %.0f ms, the event said %d"):format(gap, retry.delay_ms))
  end)

  it("a Retry-After replaces the delay in the retry event", function()
    srv:script { { status = 503, headers = { { "Retry-After", "1" } }, json = { message = "later" } }, ok }
    local seen = record(medusa)
    assert(medusa.paymentCollections.retrieve("pc_ra"))
    assert.are.equal("request response retry request response", names(seen))
    assert.are.equal(1000, seen[3][2].delay_ms)
  end)

  it("a refused connection: no response event, a retry, then the error returned", function()
    local url = "http://127.0.0.1:" .. Server.refused_port()
    local m = Medusa.new { baseUrl = url, maxRetries = 1 }
    local seen = record(m)
    local res, err = m.paymentCollections.retrieve("p")
    assert.is_nil(res)
    assert.are.equal("request retry request error", names(seen))
    assert.are.equal("network", seen[2][2].error.type)
    assert.are.equal(500, seen[2][2].delay_ms)
    assert.are.equal(2, seen[2][2].attempt)
    assert.are.equal(2, seen[3][2].attempt)
    local final = seen[4][2]
    assert.are.equal(err, final.error) -- the very object the caller gets
    assert.are.equal(2, final.error.attempts)
    assert.are.equal("GET", final.method)
    assert.are.equal(url .. "/store/payment-collections/p", final.url)
    m:close()
  end)

  it("an error that is not retried: request, response, error", function()
    srv:script { { status = 404, json = { type = "not_found", message = "nope" } } }
    local seen = record(medusa)
    local _, err = medusa.paymentCollections.retrieve("missing")
    assert.are.equal("request response error", names(seen))
    assert.are.equal(404, seen[2][2].status)
    assert.are.equal(err, seen[3][2].error)
  end)

  it("redacts Authorization, Cookie, Set-Cookie and x-medusa-access-token, in any case, for hooks only", function()
    local m = Medusa.new { baseUrl = srv.url, apiKey = "api_secret" }
    srv:script {
      { status = 200, headers = { { "Content-Type", "application/json" },
        { "Set-Cookie", "connect.sid=s%3Asecret; Path=/" }, { "Set-Cookie", "other=v2; Path=/" } },
        json = { customer = { id = "cus_1" } } },
      { status = 200, headers = { { "Content-Type", "application/json" }, { "Set-Cookie", "connect.sid=s%3Anext; Path=/" } },
        json = { ok = true } },
      ok,
    }
    assert(m.auth.authenticate { email = "a@b.c", password = "pw" })
    m.auth.setToken("jwt_secret")
    local seen = record(m)
    local res = assert(m.client.request("GET", "/store/x", nil, nil, { AUTHORIZATION = "Basic custom_secret" }))
    assert(m.client.request("GET", "/admin/y"))
    local log = srv:log()
    -- The wire and the result keep the real values.
    assert.are.equal("Basic custom_secret", H.header(log[2], "authorization"))
    assert.matches("connect%.sid=s%%3Asecret", H.header(log[2], "cookie"))
    assert.are.equal("api_secret", H.header(log[3], "x-medusa-access-token"))
    assert.are.same({ "connect.sid=s%3Anext; Path=/" }, res.response.headers["set-cookie"])
    -- The hooks see "[redacted]" for each, under the name as sent.
    local first, second = seen[1][2], seen[3][2]
    local auth = {}
    for _, h in ipairs(first.headers) do
      if h[1]:lower() == "authorization" then auth[#auth + 1] = h end
    end
    assert.are.same({ { "AUTHORIZATION", "[redacted]" } }, auth)
    assert.are.equal("[redacted]", header_of(first.headers, "Cookie"))
    assert.are.equal("[redacted]", header_of(second.headers, "x-medusa-access-token"))
    assert.are.same({ "[redacted]" }, seen[2][2].headers["set-cookie"])
    for _, s in ipairs(seen) do
      for _, text in ipairs(H.all_strings(s[2])) do
        for _, secret in ipairs { "custom_secret", "jwt_secret", "api_secret", "s%3Asecret", "s%3Anext" } do
          assert.is_nil(text:find(secret, 1, true), ("%s event shows %q"):format(s[1], text))
        end
      end
    end
    m:close()
  end)

  it("a hook's changes to what it is given reach neither the wire nor the next call", function()
    medusa:on("request", function(event)
      event.headers[1][2] = "evil"
      event.headers[#event.headers + 1] = { "X-Injected", "1" }
    end)
    assert(medusa.paymentCollections.retrieve("a"))
    assert(medusa.paymentCollections.retrieve("b"))
    local log = srv:log()
    for _, r in ipairs(log) do
      assert.are.equal("application/json", H.header(r, "Accept"))
      assert.is_nil(H.header(r, "X-Injected"))
    end
  end)

  it("several hooks run in registration order; on returns the function, off removes one registration", function()
    local order = {}
    local a = function() order[#order + 1] = "a" end
    local b = function() order[#order + 1] = "b" end
    assert.are.equal(a, medusa:on("request", a))
    assert.are.equal(b, medusa.on("request", b)) -- a dot call works too
    medusa:on("request", a)
    assert(medusa.paymentCollections.retrieve("x"))
    assert.are.same({ "a", "b", "a" }, order)

    order = {}
    assert.is_true(medusa:off("request", a)) -- the later registration of a
    assert(medusa.paymentCollections.retrieve("x"))
    assert.are.same({ "a", "b" }, order)

    order = {}
    assert.is_true(medusa.off("request", a))
    assert.is_true(medusa:off("request", b))
    assert.is_false(medusa:off("request", b))
    assert.is_false(medusa:off("response", function() end))
    assert(medusa.paymentCollections.retrieve("x"))
    assert.are.same({}, order)
    assert.is_nil(medusa.client.watch) -- back on the unwatched path
  end)

  it("a hook that calls off while an event is delivered changes the next event, not this one", function()
    local calls = {}
    local second = function() calls[#calls + 1] = "second" end
    medusa:on("request", function()
      calls[#calls + 1] = "first"
      medusa:off("request", second)
    end)
    medusa:on("request", second)
    assert(medusa.paymentCollections.retrieve("x"))
    assert(medusa.paymentCollections.retrieve("x"))
    assert.are.same({ "first", "second", "first" }, calls)
  end)

  it("a hook that raises: the error reaches the caller as raised, and the next call works", function()
    local boom = { reason = "boom" }
    local raise = function() error(boom) end
    -- Before anything is sent.
    medusa:on("request", raise)
    local okay, why = pcall(medusa.paymentCollections.retrieve, "x")
    assert.is_false(okay)
    assert.are.equal(boom, why)
    assert.are.equal(0, #srv:log())
    medusa:off("request", raise)
    assert(medusa.paymentCollections.retrieve("x"))
    assert.are.equal(1, #srv:log())
    -- After the answer came: a message raised from a hook names the hook's line.
    medusa:on("response", function() error("hook failed") end)
    okay, why = pcall(medusa.paymentCollections.retrieve, "x")
    assert.is_false(okay)
    assert.matches("events_spec.lua:%d+: hook failed", why)
    assert.are.equal(2, #srv:log())
  end)

  it("a raising hook leaves the cookie jar and the cached headers as a call without hooks would", function()
    local m = Medusa.new { baseUrl = srv.url }
    srv:script {
      { status = 200, headers = { { "Content-Type", "application/json" }, { "Set-Cookie", "connect.sid=one; Path=/" } },
        json = { customer = { id = "cus_1" } } },
      { status = 200, headers = { { "Content-Type", "application/json" }, { "Set-Cookie", "connect.sid=two; Path=/" } },
        json = { ok = true } },
    }
    assert(m.auth.authenticate { email = "a@b.c", password = "pw" })
    local raise = m:on("response", function() error("after the answer") end)
    assert.is_false(pcall(m.client.request, "GET", "/store/x"))
    m:off("response", raise)
    -- The server's new cookie was kept before the hook ran.
    assert(m.client.request("GET", "/store/x"))
    assert.are.equal("connect.sid=two", H.header(srv:log()[3], "cookie"))
    m:close()

    -- A header list cached per client (no per-call headers) comes out whole after a raise.
    srv:reset()
    local plain = Medusa.new { baseUrl = srv.url, publishableApiKey = "pk" }
    local fail = plain:on("request", function() error("before sending") end)
    assert.is_false(pcall(plain.paymentCollections.retrieve, "x"))
    plain:off("request", fail)
    assert(plain.paymentCollections.retrieve("x"))
    assert(plain.paymentCollections.retrieve("x"))
    local log = srv:log()
    assert.are.equal(2, #log)
    assert.are.same(H.header_lines(log[1]), H.header_lines(log[2]))
    assert.are.equal("pk", H.header(log[1], "x-publishable-api-key"))
    plain:close()
  end)

  it("bad arguments raise, naming them; an unknown event lists the valid ones", function()
    local okay, why = pcall(medusa.on, "requests", function() end)
    assert.is_false(okay)
    assert.matches("bad argument 'event' %(expected one of \"request\", \"response\", \"retry\", \"error\", got \"requests\"%)", why)
    assert.matches("events_spec.lua", why) -- at the caller's line
    why = select(2, pcall(medusa.on, medusa, nil, print))
    assert.matches("bad argument 'event'.*got nil", why)
    why = select(2, pcall(medusa.on, "retry", "print"))
    assert.matches("bad argument 'fn' %(expected a function, got string%)", why)
    why = select(2, pcall(medusa.off, medusa, "error"))
    assert.matches("bad argument 'fn'", why)
    why = select(2, pcall(medusa.off, "nope", print))
    assert.matches("bad argument 'event'", why)
    -- A callable table is a function here.
    local calls = 0
    local callable = setmetatable({}, { __call = function() calls = calls + 1 end })
    medusa:on("request", callable)
    assert(medusa.paymentCollections.retrieve("x"))
    assert.are.equal(1, calls)
    for _, bad in ipairs { "yes", 1, {} } do
      okay, why = pcall(Medusa.new, { debug = bad })
      assert.is_false(okay)
      assert.matches("bad argument 'config.debug' %(expected true, false or a function%(line%)", why)
    end
  end)
end)

describe("the debug log", function()
  local function capture(config)
    local lines = {}
    config.baseUrl = config.baseUrl or srv.url
    config.debug = function(line) lines[#lines + 1] = line end
    return Medusa.new(config), lines
  end

  it("one line per attempt; a retry adds its wait to the failed attempt's line", function()
    local m, lines = capture { maxRetries = 3 }
    srv:script { busy, ok, { status = 404, json = { message = "nope" } } }
    assert(m.paymentCollections.authorizePaymentSessionsBatch("pc_1", { session_ids = { "ps_1" } }))
    assert.are.equal(2, #lines)
    assert.matches("^medusa: POST /store/payment%-collections/pc_1/sessions/batch/authorize %-> 503 in %d+ ms "
      .. "%(attempt 1 of 4%), retrying in 500 ms$", lines[1])
    assert.matches("^medusa: POST /store/payment%-collections/pc_1/sessions/batch/authorize %-> 200 in %d+ ms "
      .. "%(attempt 2 of 4%)$", lines[2])
    -- A final error: the attempt's line, nothing after it.
    assert.is_nil(m.paymentCollections.retrieve("pc_2", { expand = "region", fields = "id" }))
    assert.are.equal(3, #lines)
    assert.matches("^medusa: GET /store/payment%-collections/pc_2%?expand=%.%.%.&fields=%.%.%. %-> 404 in %d+ ms "
      .. "%(attempt 1 of 4%)$", lines[3])
    m:close()
  end)

  it("a failure without a status names its type and message", function()
    local lines = {}
    local m = Medusa.new { baseUrl = "http://127.0.0.1:" .. Server.refused_port(), maxRetries = 1,
      debug = function(line) lines[#lines + 1] = line end }
    assert.is_nil(m.paymentCollections.retrieve("p"))
    assert.are.equal(2, #lines)
    assert.matches("^medusa: GET /store/payment%-collections/p %-> network error: [^\n]*[Cc]onnect[^\n]* in %d+ ms "
      .. "%(attempt 1 of 2%), retrying in 500 ms$", lines[1])
    assert.matches("^medusa: GET /store/payment%-collections/p %-> network error: .* %(attempt 2 of 2%)$", lines[2])
    m:close()
  end)

  it("no secret in any line: keys, token, cookies, custom headers, query values", function()
    local m, lines = capture { apiKey = "api_secret", publishableApiKey = "pk_secret",
      customHeaders = { Authorization = "Basic custom_secret" } }
    srv:script {
      { status = 200, headers = { { "Content-Type", "application/json" }, { "Set-Cookie", "connect.sid=cookie_secret; Path=/" } },
        json = { customer = { id = "cus_1" } } },
    }
    assert(m.auth.authenticate { email = "a@b.c", password = "password_secret" })
    m.auth.setToken("jwt_secret")
    assert(m.client.request("GET", "/store/x?token=query_secret"))
    assert(m.client.request("GET", "/admin/x"))
    assert.are.equal(3, #lines)
    for _, line in ipairs(lines) do
      for _, secret in ipairs { "api_secret", "pk_secret", "custom_secret", "cookie_secret", "password_secret",
        "jwt_secret", "query_secret", "redacted" } do
        assert.is_nil(line:find(secret, 1, true), line)
      end
    end
    assert.matches("^medusa: GET /store/x%?token=%.%.%. %-> 200", lines[2])
    m:close()
  end)

  it("debug = true writes to stderr; MEDUSA_DEBUG=1 turns it on at Medusa.new; debug = false wins", function()
    local on = child("MEDUSA_DEBUG=1", srv.url)
    assert.matches("^medusa: GET /store/payment%-collections/kid %-> 200 in %d+ ms %(attempt 1 of 1%)\n$", on)
    assert.matches("^medusa: GET /store/payment%-collections/kid %-> 200", child("", srv.url, ", debug = true"))
    assert.are.equal("", child("MEDUSA_DEBUG=1", srv.url, ", debug = false"))
    assert.are.equal("", child("MEDUSA_DEBUG=0", srv.url))
    assert.are.equal("", child("-u MEDUSA_DEBUG", srv.url))
    assert.are.equal(5, #srv:log()) -- every child did make its call
  end)

  it("the lines follow the call when a hook is added and removed meanwhile", function()
    local m, lines = capture {}
    local f = m:on("request", function() end)
    m:off("request", f)
    assert.are.equal(m.client.events, m.client.watch) -- debug keeps the client watched
    assert(m.paymentCollections.retrieve("x"))
    assert.are.equal(1, #lines)
    m:close()
  end)

  it("a debug function that raises propagates like a hook", function()
    local m = Medusa.new { baseUrl = srv.url, debug = function() error("sink down") end }
    local okay, why = pcall(m.paymentCollections.retrieve, "x")
    assert.is_false(okay)
    assert.matches("sink down", why)
    m:close()
  end)
end)

describe("a client nobody watches", function()

  -- Bytes the Lua heap grows by per call, the collector stopped.
  local function bytes_per_call(m, n)
    collectgarbage("collect")
    collectgarbage("stop")
    local before = collectgarbage("count")
    for _ = 1, n do assert(m.paymentCollections.retrieve("paycol_1")) end
    local grown = collectgarbage("count") - before
    collectgarbage("restart")
    return grown * 1024 / n
  end

  it("20,000 calls run no function of medusa.events, and allocate what a never-watched client does", function()
    local m = Medusa.new { baseUrl = srv.url, debug = false }
    local events_calls = 0
    local source = debug.getinfo(Events.on, "S").source
    debug.sethook(function()
      local info = debug.getinfo(2, "S")
      if info and info.source == source then events_calls = events_calls + 1 end
    end, "c")
    local done = 0
    local hooked, why = pcall(function()
      for _ = 1, 20000 do
        assert(m.paymentCollections.retrieve("paycol_1"))
        done = done + 1
      end
    end)
    debug.sethook()
    assert(hooked, why)
    assert.are.equal(20000, done)
    assert.are.equal(0, events_calls)

    -- The counter itself works: one watched call runs medusa.events.
    local f = m:on("request", function() end)
    debug.sethook(function()
      local info = debug.getinfo(2, "S")
      if info and info.source == source then events_calls = events_calls + 1 end
    end, "c")
    assert(m.paymentCollections.retrieve("paycol_1"))
    debug.sethook()
    assert(events_calls > 0)

    -- Allocation: a client whose last hook went is back to a never-watched one's.
    local fresh = Medusa.new { baseUrl = srv.url, debug = false }
    bytes_per_call(fresh, 200) -- warm up (interned strings, the cached header list)
    bytes_per_call(m, 200)
    local never = bytes_per_call(fresh, 2000)
    local watched = bytes_per_call(m, 2000)
    m:off("request", f)
    local after = bytes_per_call(m, 2000)
    assert(after <= never * 1.03 + 16, ("%.0f bytes per call after off, %.0f never watched"):format(after, never))
    assert(watched > never + 100, ("%.0f bytes per watched call, %.0f unwatched"):format(watched, never))
    fresh:close()
    m:close()
  end)
end)
