-- spec/faults_spec.lua: the fault suite of issue 3. The scripted server plays one fault per
-- scenario; each asserts the result (nil, err with type/status/attempts, or success), that
-- the call returned within timeout x attempts + backoff + a margin, what the server saw
-- (attempt count, one Idempotency-Key and identical body bytes on POST retries), and that
-- the next call on the same client succeeds. Also: DNS failure (in a private mount
-- namespace, so no query leaves loopback) and peak memory under an oversize body.
local Medusa = require "medusa"
local Server = require "support.server"
local H = require "helpers"
local core = require "medusa.core"

local TIMEOUT = 400
local BACKOFF = { 500, 1500, 3500 }
-- Slack for a shared 2-core machine; every bound below would still catch a missing timeout.
local MARGIN = 1500
local CAP = 256 * 1024

local PAYLOAD = { provider_id = "manual", data = { note = "fault suite" } }
local PAYLOAD_JSON = '{"data":{"note":"fault suite"},"provider_id":"manual"}'

local function elapsed_since(t0)
  return core.monotonic_ms() - t0
end

-- The upper bound of one call: attempts that time out, the backoff between attempts, margin.
local function bound(attempts, timeouts)
  local ms = timeouts * TIMEOUT + MARGIN
  for k = 1, attempts - 1 do ms = ms + BACKOFF[k] end
  return ms
end

local function times(step, n)
  local steps = {}
  for i = 1, n do steps[i] = step end
  return steps
end

-- Runs `source` as a Lua script in a subprocess (with this process's LUA_PATH/LUA_CPATH);
-- `prefix` wraps the command (e.g. unshare). Returns the key=value lines it printed.
local function run_script(source, args, prefix)
  local file = os.tmpname()
  local f = assert(io.open(file, "wb"))
  f:write(source)
  f:close()
  local quoted = {}
  for i, a in ipairs(args or {}) do quoted[i] = Server.shell_quote(a) end
  local cmd = Server.shell_quote(Server.interpreter) .. " " .. Server.shell_quote(file) .. " " .. table.concat(quoted, " ")
  if prefix then cmd = prefix(cmd) end
  local out, rc = Server.run(cmd .. " 2>&1")
  os.remove(file)
  local fields = {}
  for k, v in out:gmatch("([%w_]+)=([^\n]*)") do fields[k] = v end
  return fields, rc, out
end

describe("faults", function()
  local srv, sentinel, m

  setup(function()
    srv = Server.start { mode = "script" }
    -- Another host: nothing may ever reach it (redirect targets point here).
    sentinel = Server.start { mode = "script" }
  end)
  teardown(function()
    if m then m:close() end
    srv:stop()
    assert.are.equal(0, #sentinel:log(), "a request reached the sentinel server")
    sentinel:stop()
  end)
  before_each(function()
    srv:reset()
    m = Medusa.new { baseUrl = srv.url, timeout = TIMEOUT, connectTimeout = TIMEOUT, maxRetries = 1,
      maxResponseBytes = CAP }
  end)
  after_each(function()
    m:close()
    m = nil
  end)

  local function call(method, client)
    local pc = (client or m).paymentCollections
    local t0 = core.monotonic_ms()
    local res, err
    if method == "POST" then
      res, err = pc.managePaymentSession("paycol_fault", PAYLOAD)
    else
      res, err = pc.retrieve("paycol_fault")
    end
    return res, err, elapsed_since(t0)
  end

  local TARGET = {
    GET = "/store/payment-collections/paycol_fault",
    POST = "/store/payment-collections/paycol_fault/sessions",
  }

  -- What the server saw: `sent` requests, all to the intended target; for a POST, one
  -- Idempotency-Key on every attempt (none with maxRetries 0: `unkeyed`) and, where the
  -- step read the body, the same bytes.
  local function assert_attempts_on_wire(method, sent, opts)
    opts = opts or {}
    local log = srv:log()
    assert.are.equal(sent, #log, "requests the server saw")
    local key = H.header(log[1], "Idempotency-Key")
    for _, r in ipairs(log) do
      assert.are.equal(method, r.method)
      assert.are.equal(TARGET[method], r.target)
      if method == "POST" then
        if opts.unkeyed then
          assert.is_nil(H.header(r, "Idempotency-Key"))
        else
          assert.matches(H.UUID_V4, H.header(r, "Idempotency-Key") or "")
          assert.are.equal(key, H.header(r, "Idempotency-Key"))
        end
        if opts.body_read ~= false then
          assert.are.equal(PAYLOAD_JSON, r.body)
          assert.are.equal(log[1].body_b64, r.body_b64)
        end
      end
    end
    return log
  end

  -- The handle recovers: the next call on the same client gets the next answer.
  local function assert_recovers(client)
    srv:script { { json = { payment_collection = { id = "recovered" } } } }
    local res, err = (client or m).paymentCollections.retrieve("after_fault")
    assert.is_nil(err, err and tostring(err))
    assert.are.equal("recovered", res.payment_collection.id)
  end

  local function assert_failure(err, want)
    assert.is_not_nil(err, "expected a failure")
    assert.are.equal(want.type, err.type, tostring(err))
    if want.code then assert.are.equal(want.code, err.code) end
    if want.message then assert.matches(want.message, err.message) end
    assert.are.equal(want.status, err.status)
    assert.are.equal(want.attempts, err.attempts)
    assert.is_true(Medusa.Error.is(err))
    assert.is_nil(tostring(err):find("\n"))
  end

  local function assert_within(ms, attempts, timeouts)
    assert(ms <= bound(attempts, timeouts),
      ("took %.0f ms, bound %d ms"):format(ms, bound(attempts, timeouts)))
    -- A timeout must really be waited for: a fast failure would mean it was not one.
    assert(ms >= timeouts * TIMEOUT - 50, ("took %.0f ms, expected >= %d"):format(ms, timeouts * TIMEOUT))
  end

  -- One scenario per row: the step the server plays (twice: maxRetries = 1) and, per
  -- method, what the call must return. `timeouts` counts attempts that wait out TIMEOUT;
  -- `body_read = false` when the step resets before reading the request body.
  local dribble = string.rep("x", 4000)
  local SCENARIOS = {
    { "the server accepts and never answers", { action = "hang" },
      GET = { type = "timeout", code = "CURLE_OPERATION_TIMEDOUT", attempts = 2, timeouts = 2 },
      POST = { type = "timeout", code = "CURLE_OPERATION_TIMEDOUT", attempts = 2, timeouts = 2 } },
    { "the server reads the request and closes without answering", { action = "close" },
      GET = { type = "network", code = "CURLE_GOT_NOTHING", attempts = 2 },
      POST = { type = "network", code = "CURLE_GOT_NOTHING", attempts = 2 } },
    { "headers, then the body stalls", { stall_after_headers = true, json = { payment_collection = {} } },
      GET = { type = "timeout", status = 200, attempts = 2, timeouts = 2 },
      -- After a status line a POST reached the server: never sent again.
      POST = { type = "timeout", status = 200, attempts = 1, timeouts = 1 } },
    { "the body drips slower than the timeout allows",
      { drip = { bytes = 32, interval_ms = 150 }, json = { payment_collection = { note = dribble } } },
      GET = { type = "timeout", status = 200, attempts = 2, timeouts = 2 },
      POST = { type = "timeout", status = 200, attempts = 1, timeouts = 1 } },
    { "a reset before the status line", { action = "reset" }, body_read = false,
      GET = { type = "network", attempts = 2 },
      POST = { type = "network", attempts = 2 } },
    { "a reset inside the status line", { raw = "HTTP/1.1 20", after = "reset" },
      GET = { type = "network", attempts = 2 },
      POST = { type = "network", attempts = 2 } },
    { "a reset in the middle of the headers",
      { raw = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Le", after = "reset" },
      GET = { type = "network", status = 200, attempts = 2 },
      POST = { type = "network", status = 200, attempts = 1 } },
    { "a reset in the middle of the body",
      { partial_body = { declared = 100 }, body = '{"payment_collection":{"id":', after = "reset" },
      GET = { type = "network", status = 200, attempts = 2 },
      POST = { type = "network", status = 200, attempts = 1 } },
    { "Content-Length larger than the bytes sent, then close",
      { partial_body = { declared = 100 }, body = '{"payment_collection":{"id":' },
      GET = { type = "network", code = "CURLE_PARTIAL_FILE", status = 200, attempts = 2 },
      POST = { type = "network", code = "CURLE_PARTIAL_FILE", status = 200, attempts = 1 } },
    { "a chunked body cut before the last chunk",
      { chunked = true, cut_chunked = true, chunk_size = 8, json = { payment_collection = { id = "cut" } } },
      GET = { type = "network", code = "CURLE_PARTIAL_FILE", status = 200, attempts = 2 },
      POST = { type = "network", code = "CURLE_PARTIAL_FILE", status = 200, attempts = 1 } },
    { "a close-delimited HTTP/1.0 body", { http10 = true, json = { payment_collection = { id = "h10" } } },
      GET = { ok = "h10", attempts = 1 }, POST = { ok = "h10", attempts = 1 } },
    { "a declared body larger than maxResponseBytes", { body = "x", body_repeat = 4 * CAP },
      GET = { type = "too_large", code = "too_large", status = 200, attempts = 1, message = "maxResponseBytes" },
      POST = { type = "too_large", code = "too_large", status = 200, attempts = 1, message = "maxResponseBytes" } },
    { "a chunked body larger than maxResponseBytes",
      { body = "x", body_repeat = 4 * CAP, chunked = true, chunk_size = 65536 },
      GET = { type = "too_large", status = 200, attempts = 1, message = "maxResponseBytes" },
      POST = { type = "too_large", status = 200, attempts = 1, message = "maxResponseBytes" } },
    { "a close-delimited body larger than maxResponseBytes", { body = "x", body_repeat = 4 * CAP, http10 = true },
      GET = { type = "too_large", status = 200, attempts = 1, message = "maxResponseBytes" },
      POST = { type = "too_large", status = 200, attempts = 1, message = "maxResponseBytes" } },
    { "200 with invalid JSON", { body = '{"payment_collection": {"id": "x",' },
      GET = { type = "invalid_response", status = 200, attempts = 1 },
      POST = { type = "invalid_response", status = 200, attempts = 1 } },
    { "200 with a JSON string holding invalid UTF-8", { body = '{"payment_collection":{"id":"\255\254"}}' },
      GET = { type = "invalid_response", status = 200, attempts = 1 },
      POST = { type = "invalid_response", status = 200, attempts = 1 } },
    { "200 with a UTF-8 surrogate in a JSON string", { body = '{"id":"\237\160\128"}' },
      GET = { type = "invalid_response", status = 200, attempts = 1 },
      POST = { type = "invalid_response", status = 200, attempts = 1 } },
    { "200 with arrays nested 10,000 deep", { body = string.rep("[", 10000) .. string.rep("]", 10000) },
      GET = { type = "invalid_response", status = 200, attempts = 1 },
      POST = { type = "invalid_response", status = 200, attempts = 1 } },
    { "200 with objects nested 10,000 deep", { body = string.rep('{"a":', 10000) .. "1" .. string.rep("}", 10000) },
      GET = { type = "invalid_response", status = 200, attempts = 1 },
      POST = { type = "invalid_response", status = 200, attempts = 1 } },
    { "a header line of 200 KiB (over libcurl's 100 KiB line limit)",
      { headers = { { "Content-Type", "application/json" }, { "X-Huge", string.rep("h", 200 * 1024) } }, json = {} },
      GET = { type = "too_large", status = 200, attempts = 1, message = "header line longer than libcurl accepts" },
      POST = { type = "too_large", status = 200, attempts = 1, message = "header line longer than libcurl accepts" } },
    { "a response head over 192 KiB in many lines", (function()
        local headers = { { "Content-Type", "application/json" } }
        for i = 1, 12 do headers[#headers + 1] = { "X-Filler-" .. i, string.rep("f", 90000) } end
        return { headers = headers, json = {} }
      end)(),
      GET = { type = "too_large", status = 200, attempts = 1, message = "response head larger than 192 KiB" },
      POST = { type = "too_large", status = 200, attempts = 1, message = "response head larger than 192 KiB" } },
    { "an HTML 500 page (never retried)",
      { status = 500, headers = { { "Content-Type", "text/html" } }, body = "<html><title>Server Error</title><body>boom</body></html>" },
      GET = { type = "http_error", status = 500, attempts = 1 },
      POST = { type = "http_error", status = 500, attempts = 1 } },
    { "an HTML 502 page (retried)",
      { status = 502, headers = { { "Content-Type", "text/html" } }, body = "<html><title>Bad Gateway</title></html>" },
      GET = { type = "http_error", status = 502, attempts = 2 },
      POST = { type = "http_error", status = 502, attempts = 2 } },
    { "conflicting Content-Length headers",
      { headers = { { "Content-Type", "application/json" }, { "Content-Length", "2" }, { "Content-Length", "3" } }, body = "{}" },
      GET = { type = "timeout", status = 200, attempts = 2, timeouts = 2 },
      POST = { type = "timeout", status = 200, attempts = 1, timeouts = 1 } },
  }

  for _, sc in ipairs(SCENARIOS) do
    for _, method in ipairs { "GET", "POST" } do
      local want = sc[method]
      it(("%s: %s %s"):format(sc[1], method, want.ok and "succeeds" or ("-> " .. want.type .. ", " .. want.attempts .. " attempt(s)")), function()
        srv:script(times(sc[2], 2))
        local res, err, ms = call(method)
        if want.ok then
          assert.is_nil(err, err and tostring(err))
          assert.are.equal(want.ok, res.payment_collection.id)
        else
          assert.is_nil(res)
          assert_failure(err, want)
        end
        assert_within(ms, want.attempts, want.timeouts or 0)
        assert_attempts_on_wire(method, want.attempts, { body_read = sc.body_read })
        assert_recovers()
      end)
    end
  end

  it("connection refused: network error after 1 + maxRetries attempts; the client works once the server is up", function()
    local port = Server.refused_port()
    local c = Medusa.new { baseUrl = "http://127.0.0.1:" .. port, timeout = TIMEOUT, connectTimeout = TIMEOUT, maxRetries = 1 }
    local res, err, ms = call("POST", c)
    assert.is_nil(res)
    assert_failure(err, { type = "network", code = "CURLE_COULDNT_CONNECT", attempts = 2 })
    assert_within(ms, 2, 0)
    local late = Server.start { mode = "script", port = port }
    local ok, why = pcall(function()
      late:script { { json = { payment_collection = { id = "late" } } } }
      local r = assert(c.paymentCollections.retrieve("p"))
      assert.are.equal("late", r.payment_collection.id)
      assert.are.equal(1, #late:log())
    end)
    late:stop()
    c:close()
    assert(ok, why)
  end)

  it("a host name that does not resolve (*.invalid): network error, retried; the client works once it resolves", function()
    -- A private mount namespace gets its own /etc/hosts, resolv.conf (a nameserver on
    -- loopback where nothing listens) and nsswitch.conf: no DNS query leaves the machine.
    local dir = os.tmpname()
    os.remove(dir)
    local _, mkdir_rc = Server.run("mkdir -m 700 " .. Server.shell_quote(dir))
    assert.are.equal(0, mkdir_rc)
    local function put(name, text)
      local f = assert(io.open(dir .. "/" .. name, "wb"))
      f:write(text)
      f:close()
    end
    put("hosts", "127.0.0.1 localhost\n")
    put("resolv.conf", "nameserver 127.0.0.1\noptions timeout:1 attempts:1\n")
    put("nsswitch.conf", "hosts: files dns\n")
    local _, usable = Server.run("unshare -m true 2>/dev/null")
    if usable ~= 0 then
      Server.run("rm -rf " .. Server.shell_quote(dir))
      pending("unshare -m is not permitted here (needs root); the DNS scenario would send a real DNS query")
      return
    end
    local script = [[
      local Medusa = require "medusa"
      local core = require "medusa.core"
      local hosts, port = arg[1], arg[2]
      local m = Medusa.new { baseUrl = "http://medusa-lua-fault.invalid:" .. port, timeout = 400,
        connectTimeout = 400, maxRetries = 1 }
      local t0 = core.monotonic_ms()
      local res, err = m.paymentCollections.retrieve("p")
      print("ms=" .. (core.monotonic_ms() - t0))
      print("ok1=" .. tostring(res ~= nil))
      if err then
        print("type=" .. err.type) print("code=" .. tostring(err.code))
        print("status=" .. tostring(err.status)) print("attempts=" .. err.attempts)
      end
      -- The same file inode the namespace mounted on /etc/hosts: now the name resolves.
      local f = assert(io.open(hosts, "wb"))
      f:write("127.0.0.1 localhost medusa-lua-fault.invalid\n")
      f:close()
      local again, err2 = m.paymentCollections.retrieve("p")
      print("ok2=" .. tostring(again ~= nil and again.payment_collection.id))
      print("err2=" .. tostring(err2))
      m:close()
    ]]
    srv:script { { json = { payment_collection = { id = "resolved" } } } }
    local fields, rc, out = run_script(script, { dir .. "/hosts", tostring(srv.port) }, function(cmd)
      return ("unshare -m sh -c %s"):format(Server.shell_quote(
        ("mount --bind %s/hosts /etc/hosts && mount --bind %s/resolv.conf /etc/resolv.conf"
          .. " && mount --bind %s/nsswitch.conf /etc/nsswitch.conf && exec %s"):format(dir, dir, dir, cmd)))
    end)
    Server.run("rm -rf " .. Server.shell_quote(dir))
    assert.are.equal(0, rc, out)
    assert.are.equal("false", fields.ok1, out)
    assert.are.equal("network", fields.type)
    assert.are.equal("CURLE_COULDNT_RESOLVE_HOST", fields.code)
    assert.are.equal("nil", fields.status)
    assert.are.equal("2", fields.attempts)
    assert(tonumber(fields.ms) <= bound(2, 0), "took " .. fields.ms .. " ms")
    assert.are.equal("resolved", fields.ok2, out)
    local log = srv:log()
    assert.are.equal(1, #log)
    assert.are.equal("medusa-lua-fault.invalid:" .. srv.port, H.header(log[1], "Host"))
  end)

  describe("success shapes that look like faults", function()
    it("200 with an empty body gives {response} only", function()
      srv:script { { body = "" } }
      local res = assert(m.paymentCollections.retrieve("p"))
      assert.are.same({ "response" }, (function()
        local keys = {}
        for k in pairs(res) do keys[#keys + 1] = k end
        return keys
      end)())
      assert.are.equal(200, res.response.status)
      assert_recovers()
    end)

    it("204 gives {response} with status 204", function()
      srv:script { { status = 204 } }
      local res = assert(m.paymentCollections.managePaymentSession("p", PAYLOAD))
      assert.are.equal(204, res.response.status)
      assert.is_nil(res.payment_collection)
      assert_recovers()
    end)

    it("a 100 KB header line arrives intact", function()
      local value = string.rep("v", 100000)
      srv:script { { headers = { { "Content-Type", "application/json" }, { "X-Long", value } }, json = { payment_collection = { id = "long" } } } }
      local res = assert(m.paymentCollections.retrieve("p"))
      assert.are.equal("long", res.payment_collection.id)
      assert.are.equal(value, res.response.headers["x-long"])
      assert_recovers()
    end)

    it("duplicate headers: joined, set-cookie as a list, first-wins names as Node keeps them", function()
      srv:script { { headers = {
        { "Content-Type", "application/json" }, { "X-Dup", "one" }, { "x-dup", "two" },
        { "Set-Cookie", "a=1" }, { "Set-Cookie", "b=2" },
        { "Content-Length", "2" }, { "Content-Length", "2" },
        { "ETag", '"first"' }, { "ETag", '"second"' },
      }, body = "{}" } }
      local res = assert(m.paymentCollections.retrieve("p"))
      assert.are.equal("one, two", res.response.headers["x-dup"])
      assert.are.same({ "a=1", "b=2" }, res.response.headers["set-cookie"])
      assert.are.equal("2", res.response.headers["content-length"])
      assert.are.equal('"first"', res.response.headers["etag"])
      assert_recovers()
    end)

    it("bytes left over by conflicting Content-Lengths are never read as the next response", function()
      srv:script {
        { headers = { { "Content-Type", "application/json" }, { "Content-Length", "40" }, { "Content-Length", "2" } },
          body = '{}HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}' },
      }
      m.paymentCollections.retrieve("p")
      assert_recovers()
      assert.are.equal(2, #srv:log())
    end)

    it("an error page nested 10,000 deep keeps its raw text", function()
      local deep = string.rep("[", 10000) .. string.rep("]", 10000)
      srv:script { { status = 400, body = deep } }
      local res, err = m.paymentCollections.retrieve("p")
      assert.is_nil(res)
      assert_failure(err, { type = "http_error", status = 400, attempts = 1 })
      assert.are.equal(deep, err.body)
      assert_recovers()
    end)
  end)

  describe("redirects are never followed", function()
    for _, status in ipairs { 301, 302, 303, 307, 308 } do
      for _, method in ipairs { "GET", "POST" } do
        it(("%d on %s: a redirect error carrying Location, one attempt"):format(status, method), function()
          local location = sentinel.url .. "/store/payment-collections/elsewhere"
          srv:script { { status = status, headers = { { "Location", location } }, body = "" } }
          local res, err, ms = call(method)
          assert.is_nil(res)
          assert_failure(err, { type = "redirect", status = status, attempts = 1 })
          assert.are.equal(location, err.headers.location)
          assert_within(ms, 1, 0)
          assert_attempts_on_wire(method, 1)
          assert.are.equal(0, #sentinel:log())
          assert_recovers()
        end)
      end
    end
  end)

  describe("retries", function()
    local busy = { status = 503, json = { message = "busy" } }

    it("503 x 2 then 200 (maxRetries 2): three attempts 500 and 1500 ms apart, one key, same bytes", function()
      local c = Medusa.new { baseUrl = srv.url, timeout = TIMEOUT, maxRetries = 2 }
      srv:script { busy, busy, { json = { payment_collection = { id = "third" } } } }
      local res, err, ms = call("POST", c)
      assert.is_nil(err, err and tostring(err))
      assert.are.equal("third", res.payment_collection.id)
      assert_within(ms, 3, 0)
      assert(ms >= 1950, "backoff not waited: " .. ms)
      local log = assert_attempts_on_wire("POST", 3)
      local gaps = H.gaps(log)
      assert(gaps[1] >= 470 and gaps[2] >= 1470, ("gaps %.0f, %.0f"):format(gaps[1], gaps[2]))
      assert_recovers(c)
      c:close()
    end)

    it("503 x 3 with maxRetries 2: the last 503 after exactly three attempts", function()
      local c = Medusa.new { baseUrl = srv.url, timeout = TIMEOUT, maxRetries = 2 }
      local quick = { status = 503, headers = { { "Retry-After", "0.1" } }, json = { message = "busy" } }
      srv:script { quick, quick, quick, { json = { payment_collection = { id = "never" } } } }
      local res, err = call("POST", c)
      assert.is_nil(res)
      assert_failure(err, { type = "http_error", status = 503, attempts = 3 })
      assert_attempts_on_wire("POST", 3)
      assert_recovers(c)
      c:close()
    end)

    it("409 then 200: retried with the same key and bytes", function()
      srv:script { { status = 409, json = { type = "conflict", message = "busy" } }, { json = { payment_collection = { id = "ok409" } } } }
      local res = assert(call("POST"))
      assert.are.equal("ok409", res.payment_collection.id)
      assert_attempts_on_wire("POST", 2)
      assert_recovers()
    end)

    -- Retry-After replaces the backoff; outside (0, 300 s] it stops retrying.
    for _, case in ipairs {
      { "1", 1000 }, { " 1 ", 1000 }, { "0.3", 300 },
      { "0" }, { "-1" }, { "soon" }, { "301" }, { "Wed, 21 Oct 2015 07:28:00 GMT" }, { "" },
    } do
      local value, gap = case[1], case[2]
      it(("Retry-After %q %s"):format(value, gap and ("waits " .. gap .. " ms") or "stops retrying"), function()
        srv:script { { status = 503, headers = { { "Retry-After", value } }, json = { message = "later" } },
          { json = { payment_collection = { id = "after" } } } }
        local res, err, ms = call("POST")
        local log = srv:log()
        if gap then
          assert.is_nil(err, err and tostring(err))
          assert.are.equal(2, #log)
          local g = H.gaps(log)[1]
          assert(g >= gap - 30 and g <= gap + MARGIN, ("gap %.0f ms, expected %d"):format(g, gap))
        else
          assert.is_nil(res)
          assert_failure(err, { type = "http_error", status = 503, attempts = 1 })
          assert.are.equal(1, #log)
          assert(ms < MARGIN, "took " .. ms)
        end
        assert_recovers()
      end)
    end

    it("two Retry-After lines: the first one counts, as in Node", function()
      srv:script { { status = 503, headers = { { "Retry-After", "0.3" }, { "Retry-After", "9" } }, json = { message = "later" } },
        { json = { payment_collection = { id = "after" } } } }
      assert(call("POST"))
      local g = H.gaps(srv:log())[1]
      assert(g >= 270 and g <= 300 + MARGIN, "gap " .. g)
      assert_recovers()
    end)

    describe("a POST answered 503 after the server read only half of its body", function()
      local big = { provider_id = "manual", data = { blob = string.rep("b", 2 * 1024 * 1024) } }
      local function half_then(next_step, retries)
        local c = Medusa.new { baseUrl = srv.url, timeout = 5000, maxRetries = retries }
        srv:script { { status = 503, read_body = "half", json = { message = "busy" } }, next_step }
        local res, err = c.paymentCollections.managePaymentSession("paycol_fault", big)
        return c, res, err, srv:log()
      end

      it("is retried whole, with the same Idempotency-Key", function()
        local c, res, err, log = half_then({ json = { payment_collection = { id = "whole" } } }, 1)
        assert.is_nil(err, err and tostring(err))
        assert.are.equal("whole", res.payment_collection.id)
        assert.are.equal(2, #log)
        local expected = core.json_encode(big)
        assert(log[1].body_len < #expected, "the first attempt was read whole")
        assert.are.equal(#expected, log[2].body_len)
        assert.are.equal(expected, Server.b64decode(log[2].body_b64))
        assert.are.equal(H.header(log[1], "Idempotency-Key"), H.header(log[2], "Idempotency-Key"))
        assert.are.equal(H.header(log[1], "Content-Length"), H.header(log[2], "Content-Length"))
        assert_recovers(c)
        c:close()
      end)

      it("without retries gives the 503 itself", function()
        local c, res, err, log = half_then({ json = {} }, 0)
        assert.is_nil(res)
        assert_failure(err, { type = "http_error", status = 503, attempts = 1 })
        assert.are.equal(1, #log)
        assert_recovers(c)
        c:close()
      end)
    end)

    describe("on a reused keep-alive connection", function()
      -- libcurl silently re-sends a request when a reused connection dies before any
      -- response byte; the transport refuses that, so every send is a counted attempt.
      for _, action in ipairs { "close", "reset" } do
        for _, retries in ipairs { 0, 1 } do
          for _, method in ipairs { "GET", "POST" } do
            it(("%s %s with maxRetries %d: exactly %d request(s) on the wire"):format(action, method, retries, retries + 1), function()
              local c = Medusa.new { baseUrl = srv.url, timeout = TIMEOUT, maxRetries = retries }
              assert(c.paymentCollections.retrieve("warm"))
              srv:reset()
              srv:script(times({ action = action }, 4))
              local res, err, ms = call(method, c)
              assert.is_nil(res)
              -- The last attempt runs on a fresh connection, where libcurl does not re-send.
              assert_failure(err, { type = "network", attempts = retries + 1,
                message = retries == 0 and "silent re%-send was refused" or nil })
              assert_within(ms, retries + 1, 0)
              assert_attempts_on_wire(method, retries + 1, { body_read = action ~= "reset", unkeyed = retries == 0 })
              assert_recovers(c)
              c:close()
            end)
          end
        end
      end
    end)
  end)

  it("peak memory stays near maxResponseBytes while a 64 MiB body arrives", function()
    -- Measured in a fresh process: VmHWM (peak RSS) before and after the oversize call.
    local script = [[
      local Medusa = require "medusa"
      local function hwm_kb()
        for line in io.lines("/proc/self/status") do
          local kb = line:match("^VmHWM:%s*(%d+)")
          if kb then return tonumber(kb) end
        end
      end
      local m = Medusa.new { baseUrl = arg[1], maxResponseBytes = 1024 * 1024, timeout = 20000 }
      assert(m.paymentCollections.retrieve("warm"))
      collectgarbage() collectgarbage()
      local before = hwm_kb()
      local res, err = m.paymentCollections.retrieve("big")
      print("growth_kb=" .. (hwm_kb() - before))
      print("type=" .. tostring(err and err.type))
      print("attempts=" .. tostring(err and err.attempts))
      local again = m.paymentCollections.retrieve("after")
      print("recovered=" .. tostring(again ~= nil))
    ]]
    local figures = {}
    for _, framing in ipairs { "chunked", "http10", "content-length" } do
      local step = { body = string.rep("x", 1024), body_repeat = 64 * 1024 }
      if framing == "chunked" then step.chunked, step.chunk_size = true, 65536 end
      if framing == "http10" then step.http10 = true end
      srv:reset()
      srv:script { { json = {} }, step, { json = {} } }
      local fields, rc, out = run_script(script, { srv.url })
      assert.are.equal(0, rc, out)
      assert.are.equal("too_large", fields.type, out)
      assert.are.equal("1", fields.attempts)
      assert.are.equal("true", fields.recovered)
      local growth = tonumber(fields.growth_kb)
      -- 1 MiB cap, 64 MiB offered: buffering the body would grow the peak by >= 64 MiB.
      assert(growth < 4 * 1024, ("%s: peak RSS grew by %d KiB"):format(framing, growth))
      figures[#figures + 1] = ("%s %d KiB"):format(framing, growth)
    end
    -- Shown by `busted -o TAP` as a diagnostic line: the figure the README reports.
    print("# peak RSS growth, 64 MiB body vs 1 MiB cap: " .. table.concat(figures, ", "))
  end)
end)
