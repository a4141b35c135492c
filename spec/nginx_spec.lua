-- spec/nginx_spec.lua: medusa inside a real nginx (Debian's, with libnginx-mod-http-lua
-- and the project's LuaJIT build): the cosocket transport against the scripted server,
-- compared byte for byte and error for error with the libcurl transport run here; the
-- phases and the libcurl fallback; no blocking; connection reuse; memory over 10,000
-- calls; TLS and the resolver; and examples/openresty against the stand-in store.
-- The nginx parts run under `make test-nginx` (MEDUSA_TEST_NGINX=1); the config checks
-- at the top run everywhere.
local Medusa = require "medusa"
local cjson = require "cjson"
local core = require "medusa.core"

local UUID = "%x%x%x%x%x%x%x%x%-%x%x%x%x%-4%x%x%x%-[89ab]%x%x%x%-%x%x%x%x%x%x%x%x%x%x%x%x"

describe("transport config", function()
  it("accepts \"curl\" and \"ngx\" and nothing else", function()
    local ok, why = pcall(Medusa.new, { transport = "cosocket" })
    assert.is_false(ok)
    assert.matches("config.transport.*expected \"curl\" or \"ngx\"", why)
    local m = Medusa.new { transport = "curl" }
    assert.are.equal("curl", m.client.transport.name)
    m:close()
  end)

  it("outside nginx picks libcurl, and a forced \"ngx\" fails at Medusa.new, naming the reason", function()
    local m = Medusa.new {}
    assert.are.equal("curl", m.client.transport.name)
    m:close()
    local ok, why = pcall(Medusa.new, { transport = "ngx" })
    assert.is_false(ok)
    assert.matches("config.transport.*needs OpenResty/nginx", why)
    assert.matches("nginx_spec.lua", why) -- raised at the caller's line
  end)

  it("checks poolSize (>= 0) and poolIdleTimeout (>= 1 ms)", function()
    for _, bad in ipairs { { poolSize = -1 }, { poolSize = 1.5 }, { poolSize = "3" }, { poolIdleTimeout = 0 } } do
      local ok, why = pcall(Medusa.new, bad)
      assert.is_false(ok)
      assert.matches("config%.pool", why)
    end
    Medusa.new({ poolSize = 0, poolIdleTimeout = 1 }):close()
  end)
end)

if os.getenv("MEDUSA_TEST_NGINX") ~= "1" then
  describe("inside nginx", function()
    pending("runs under `make test-nginx` (needs nginx and libnginx-mod-http-lua)")
  end)
  return
end

local Server = require "support.server"
local Nginx = require "nginx.harness"
-- The handlers' module also runs here, to make the same calls through libcurl.
package.path = "spec/nginx/lua/?.lua;" .. package.path
local Medusa_spec = require "medusa_spec"

-- Copies a value through JSON, as it travels to the nginx handler (Medusa.null survives).
local function via_json(v)
  return cjson.decode(cjson.encode(v))
end

local function count(haystack, needle)
  local n, at = 0, 1
  while true do
    local i = haystack:find(needle, at, true)
    if not i then return n end
    n, at = n + 1, i + #needle
  end
end

-- The outcome of a call without what legitimately differs between transports: the
-- message wording, and the headers at and after a Content-Length past maxResponseBytes
-- (libcurl stops reading the head there; the cosocket transport reads it whole).
local function outcome(entry)
  local e = entry.err
  local err_headers = e and e.headers
  if e and e.type == "too_large" and err_headers then err_headers["content-length"] = nil end
  return {
    ok = entry.ok, status = entry.status, headers = entry.headers, body = entry.body, raised = entry.raised,
    err = e and { type = e.type, code = e.code, status = e.status, attempts = e.attempts, headers = err_headers, body = e.body },
  }
end

describe("inside nginx", function()
  local srv, nginx

  -- Runs calls in the nginx worker (the automatic transport unless config says otherwise).
  -- drain: start from a fresh connection, as a new libcurl client does.
  local function in_nginx(calls, config, drain)
    local out, status = nginx:post("/t/call", { calls = calls, config = config or {}, drain = drain })
    assert.are.equal(200, status, cjson.encode(out))
    assert.is_nil(out.raised, out.raised)
    return out.results
  end

  -- Runs the same calls here, through libcurl.
  local function in_curl(calls, config)
    config = via_json(config or {})
    config.baseUrl = config.baseUrl or srv.url
    config.transport = "curl"
    local m = Medusa.new(config)
    local results = Medusa_spec.run(m, via_json(calls), core.monotonic_ms)
    m:close()
    return via_json(results)
  end

  setup(function()
    srv = Server.start { mode = "script" }
    local ok, started = pcall(Nginx.start, { vars = { UPSTREAM = srv.url } })
    if not ok then
      srv:stop()
      error(started, 0)
    end
    nginx = started
  end)
  teardown(function()
    if nginx then nginx:stop() end
    if srv then srv:stop() end
  end)
  before_each(function()
    srv:reset()
  end)

  describe("phases", function()
    local state
    setup(function()
      -- the timer from init_worker_by_lua may still be on its way
      for _ = 1, 50 do
        state = nginx:get("/t/state")
        if state.timer_forced_ngx then break end
        os.execute("sleep 0.1")
      end
    end)

    it("a call in init_by_lua uses libcurl and says so once, at notice level", function()
      assert.are.same({ phase = "init", transport = "curl", ok = true, id = "paycol_default" }, state.init)
      local log = nginx:error_log()
      assert.are.equal(1, count(log, "cosockets are disabled in the init phase"), log)
      assert.matches("%[notice%][^\n]*cosockets are disabled in the init phase: this call uses libcurl", log)
    end)

    it("transport = \"ngx\" in init_by_lua and init_worker_by_lua fails at Medusa.new, naming the phase", function()
      assert.is_false(state.init_forced_ngx.ok)
      assert.matches("needs nginx cosockets, which are disabled in the init phase", state.init_forced_ngx.err)
      assert.is_false(state.init_worker_forced_ngx.ok)
      assert.matches("disabled in the init_worker phase", state.init_worker_forced_ngx.err)
      assert.are.equal("curl", state.init_worker_pick)
    end)

    it("a call from an ngx.timer started in init_worker_by_lua uses cosockets", function()
      assert.are.same({ phase = "timer", transport = "ngx", ok = true, id = "paycol_default" }, state.timer)
      assert.are.same({ phase = "timer", transport = "ngx", ok = true, id = "paycol_default" }, state.timer_forced_ngx)
    end)

    it("a client made in init_by_lua picks cosockets when called from a content handler", function()
      assert.are.same({ usable = true, phase = "content", shared_pick = "ngx" }, state.content)
      local r = in_nginx({ { fn = "retrieve", args = { "p" } } })
      assert.are.equal("ngx", r[1].transport)
      local shared = nginx:post("/t/call", { shared = true, calls = { { fn = "retrieve", args = { "p" } } } })
      assert.are.equal("ngx", shared.results[1].transport)
      assert.is_true(shared.results[1].ok)
    end)

    it("a call in log_by_lua falls back to libcurl and warns once", function()
      for _ = 1, 2 do nginx:get("/log-phase") end
      local log
      for _ = 1, 50 do
        log = nginx:error_log()
        if log:find("log phase", 1, true) and #srv:log() >= 2 then break end
        os.execute("sleep 0.1")
      end
      state = nginx:get("/t/state")
      assert.are.same({ transport = "curl", ok = true }, state.log_phase)
      assert.are.equal(1, count(log, "cosockets are disabled in the log phase"), log)
      assert.matches("%[warn%][^\n]*cosockets are disabled in the log phase", log)
      local targets = {}
      for _, r in ipairs(srv:log()) do targets[#targets + 1] = r.target end
      assert.are.same({ "/store/payment-collections/from_log_phase", "/store/payment-collections/from_log_phase" }, targets)
      -- transport = "ngx" made in a handler and called in the log phase raises, sends nothing
      assert.is_false(state.log_phase_forced_ngx.ok)
      assert.matches("needs nginx cosockets, which are disabled in the log phase", state.log_phase_forced_ngx.err)
    end)
  end)

  -- Each case runs through libcurl here and through cosockets in nginx against the same
  -- script; the recorded requests must be the same bytes (Idempotency-Key values aside).
  describe("the same request bytes as libcurl (issue 2's wire checks)", function()
    local function wire(rec)
      local head = rec.raw_head:gsub("(\r\nIdempotency%-Key: )" .. UUID, "%1<uuid>")
      return { head = head, body = rec.body_b64 or "" }
    end

    local function same_bytes(calls, config, n)
      srv:reset()
      local curl_results = in_curl(calls, config)
      local curl_log = srv:log()
      srv:reset()
      local ngx_results = in_nginx(calls, config)
      local ngx_log = srv:log()
      assert.are.equal(n or #calls, #curl_log)
      assert.are.equal(#curl_log, #ngx_log)
      for i = 1, #curl_log do
        assert.are.same(wire(curl_log[i]), wire(ngx_log[i]))
        local key = ngx_log[i].raw_head:match("\r\nIdempotency%-Key: ([^\r]*)")
        if key then assert.matches("^" .. UUID .. "$", key) end
      end
      for i = 1, #ngx_results do
        assert.are.equal("ngx", ngx_results[i].transport)
        assert.are.same(outcome(curl_results[i]), outcome(ngx_results[i]))
      end
      return ngx_log
    end

    it("A1: the six methods, maxRetries 0", function()
      local log = same_bytes({
        { fn = "retrieve", args = { "paycol_1" } },
        { fn = "retrieve", args = { "paycol_1", { expand = "region" } } },
        { fn = "retrieve", args = { "paycol_1", { expand = "region,payment_sessions", fields = "id,amount" } } },
        { fn = "authorizePaymentSession", args = { "paycol_1", "ps_1" } },
        { fn = "authorizePaymentSessionsBatch", args = { "paycol_1", { session_ids = { "ps_1", "ps_2" } } } },
        { fn = "managePaymentSessionsBatch", args = { "paycol_1", { sessions = {
          { provider_id = "manual", amount = 5000 }, { provider_id = "stripe", amount = 5000, session_id = "ps_2" } } } } },
        { fn = "managePaymentSession", args = { "paycol_1", { provider_id = "manual" } } },
        { fn = "refreshPaymentSession", args = { "paycol_1", "ps_1" } },
      }, { maxRetries = 0 })
      -- spot checks that the comparison compares something
      assert.matches("^POST /store/payment%-collections/paycol_1/sessions/ps_1/authorize HTTP/1.1\r\nHost: 127.0.0.1:%d+\r\n"
        .. "Accept: application/json\r\nContent%-Type: application/json\r\nUser%-Agent: [^\r]+\r\nContent%-Length: 2\r\n\r\n$",
        log[4].raw_head)
      assert.are.equal('{"provider_id":"manual"}', log[7].body)
      assert.is_nil(Server.header(log[1], "connection"))
    end)

    it("A2: maxRetries 3, keys, config and per-call headers, Idempotency-Key", function()
      local call = { ["x-request-id"] = "call-id", ["X-Call"] = "1" }
      local log = same_bytes({
        { fn = "retrieve", args = { "paycol_1", { expand = "region" }, call } },
        { fn = "authorizePaymentSession", args = { "paycol_1", "ps_1", call } },
        { fn = "managePaymentSession", args = { "paycol_1", { provider_id = "manual" }, call } },
        { request = { "GET", "/admin/payment-collections/paycol_1" } },
        { request = { "POST", "/admin/auth", { email = "a@b.c" } } },
      }, {
        maxRetries = 3, apiKey = "sk_admin_token", publishableApiKey = "pk_123",
        customHeaders = { ["X-Config-Header"] = "cfg", ["x-request-id"] = "cfg-id" },
      })
      assert.is_not_nil(Server.header(log[2], "idempotency-key"))
      assert.are.equal("sk_admin_token", Server.header(log[4], "x-medusa-access-token"))
    end)

    it("A3: header case collisions, a custom User-Agent, an empty value", function()
      local log = same_bytes({
        { fn = "managePaymentSession", args = { "paycol_1", { provider_id = "manual" }, {
          ["content-type"] = "text/plain", accept = "text/html", ["X-Publishable-Api-Key"] = "override",
          ["idempotency-key"] = "mine", ["x-dup"] = "from-call" } } },
        { fn = "retrieve", args = { "paycol_1", {}, { ["user-agent"] = "shop/2", ["X-Empty"] = "" } } },
        { fn = "retrieve", args = { "paycol_1", {}, { ["X-DUP"] = "call" } } },
      }, { maxRetries = 3, publishableApiKey = "pk_123", customHeaders = { ["X-Dup"] = "from-config" } })
      assert.matches("\r\nX%-Empty:\r\n", log[2].raw_head)
    end)

    it("client.request: DELETE, payloads of every kind, options, a caller's Host and Content-Length", function()
      local log = same_bytes({
        { request = { "DELETE", "/store/auth" } },
        { request = { "GET", "/store/auth", { ignored = true } } },
        { request = { "POST", "/store/a", "text" } },
        { request = { "POST", "/store/a", 5 } },
        { request = { "POST", "/store/a", Medusa.null } },
        { request = { "POST", "/store/a", { session_ids = {}, metadata = { a = 1 } } } },
        { request = { "GET", "/store/a", {}, { Timeout = "5", ["X-Both"] = "option" }, { ["x-both"] = "custom" } } },
        { request = { "POST", "/store/h", {}, {}, { Host = "shop.example", ["Content-Length"] = "2" } } },
        { request = { "POST", "/store/big", { provider_id = string.rep("x", 100000) } } },
      })
      assert.matches("^POST /store/h HTTP/1.1\r\nHost: shop.example\r\n", log[8].raw_head)
      assert.are.equal(100000 + #'{"provider_id":""}', log[9].body_len)
    end)

    it("URLs: a path prefix, percent-encoded ids, query keys in byte order", function()
      same_bytes({
        { fn = "retrieve", args = { "../../admin/orders" } },
        { fn = "retrieve", args = { "a b/c?d#e%f" } },
        { fn = "authorizePaymentSession", args = { "pc 1", "ps/1" } },
        { fn = "retrieve", args = { "é€" } },
        { fn = "retrieve", args = { "p", { z = "1", a = { 2, 1 }, m = { b = true, a = Medusa.null } } } },
      }, { baseUrl = srv.url .. "/prefix/" })
    end)
  end)

  -- The same scripted responses through both transports give the same results and errors.
  describe("the same results and errors as libcurl", function()
    local function same_outcome(steps, calls, config)
      srv:reset()
      srv:script(steps)
      local curl_results = in_curl(calls, config)
      srv:reset()
      srv:script(steps)
      local ngx_results = in_nginx(calls, config, true)
      for i = 1, #calls do
        assert.are.same(outcome(curl_results[i]), outcome(ngx_results[i]))
      end
      return ngx_results, curl_results
    end
    local GET = { { fn = "retrieve", args = { "p" } } }
    local POST = { { fn = "managePaymentSession", args = { "p", { provider_id = "manual" } } } }
    local JSON = { { "Content-Type", "application/json" } }
    local doc = '{"payment_collection":{"id":"paycol_9","amount":5000,"payment_sessions":[{"id":"ps_1"}]}}'

    it("Content-Length, chunked in small and large chunks, close-delimited (HTTP/1.0) bodies", function()
      local big = ('{"payment_collection":{"id":"big","description":"%s"}}'):format(string.rep("d", 300000))
      local r = same_outcome({
        { headers = JSON, body = doc },
        { headers = JSON, body = doc, chunked = true, chunk_size = 7 },
        { headers = JSON, body = big, chunked = true, chunk_size = 65536 },
        { headers = JSON, body = doc, http10 = true },
        { status = 204, headers = {} },
      }, { GET[1], GET[1], GET[1], GET[1], GET[1] })
      assert.are.equal("paycol_9", r[1].body.payment_collection.id)
      assert.are.equal("paycol_9", r[2].body.payment_collection.id)
      assert.are.equal(300000, #r[3].body.payment_collection.description)
      assert.are.equal("paycol_9", r[4].body.payment_collection.id)
      assert.are.equal(204, r[5].status)
    end)

    it("repeated and folded headers, interim 1xx heads, a chunked trailer", function()
      local r = same_outcome({
        { headers = { { "Content-Type", "application/json" }, { "X-Thing", "a" }, { "X-Thing", "b" },
          { "Set-Cookie", "a=1" }, { "Set-Cookie", "b=2" } }, body = doc },
        { raw = "HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\nHTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
          .. "X-Folded: one\r\n two\r\nContent-Length: 2\r\n\r\n{}" },
        { raw = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
          .. "2;ext=1\r\n{}\r\n0\r\nX-Trailer: t\r\n\r\n" },
        { raw = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nRetry-After: 5\r\nretry-after: 9\r\n"
          .. "  folded onto a dropped repeat\r\nSet-Cookie: c=3\r\n\tfolded cookie\r\nSET-COOKIE: d=4\r\n"
          .. "Content-Length: 2\r\n\r\n{}" },
      }, { GET[1], GET[1], GET[1], GET[1] })
      assert.are.equal("a, b", r[1].headers["x-thing"])
      assert.are.same({ "a=1", "b=2" }, r[1].headers["set-cookie"])
      assert.are.equal("one two", r[2].headers["x-folded"])
      assert.is_nil(r[2].headers.link)
      assert.is_true(r[3].ok)
      assert.are.equal("5", r[4].headers["retry-after"])
      assert.are.same({ "c=3 folded cookie", "d=4" }, r[4].headers["set-cookie"])
    end)

    it("HTTP errors, retried 503s and their Retry-After", function()
      local r = same_outcome({
        { status = 404, json = { type = "not_found", message = "Payment collection with id p was not found" } },
        { status = 503, headers = { { "Retry-After", "0.1" } }, body = "" },
        { status = 503, headers = { { "Retry-After", "0.1" } }, body = "busy" },
        { headers = JSON, body = doc },
      }, { GET[1], GET[1] }, { maxRetries = 2 })
      assert.are.equal("not_found", r[1].err.type)
      assert.are.equal(4, #srv:log())
      assert.is_true(r[2].ok)
    end)

    local faults = {
      { "the connection is reset before a response", { { action = "reset" } }, "network" },
      { "the server closes without answering", { { action = "close" } }, "network", "CURLE_GOT_NOTHING" },
      { "a body shorter than its Content-Length", { { headers = JSON, body = "{}", partial_body = { declared = 100 } } },
        "network", "CURLE_PARTIAL_FILE", 200 },
      { "a chunked body cut before its last chunk", { { headers = JSON, body = doc, chunked = true, chunk_size = 10, cut_chunked = true } },
        "network", "CURLE_PARTIAL_FILE", 200 },
      { "a reset in the middle of a body", { { headers = JSON, body = doc, partial_body = { declared = 1000 }, after = "reset" } },
        "network", nil, 200 },
      { "a status line that is not HTTP", { { raw = "SSH-2.0-OpenSSH\r\n\r\n" } }, "network" },
      { "a malformed chunk size", { { raw = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n" } },
        "network", nil, 200 },
      { "a status line cut short", { { raw = "HTTP/1.1 20", after = "close" } }, "network" },
      { "a header line over 100 KiB", { { headers = { { "X-Big", string.rep("a", 110000) } }, body = "{}" } }, "too_large", nil, 200 },
      { "a head over 192 KiB", { { headers = (function()
        local h = {}
        for i = 1, 250 do h[i] = { "X-H" .. i, string.rep("h", 1000) } end
        return h
      end)(), body = "{}" } }, "too_large", nil, 200 },
      { "a non-JSON 2xx body", { { headers = JSON, body = "<html>" } }, "invalid_response", nil, 200 },
      { "a redirect", { { status = 302, headers = { { "Location", "/elsewhere" } }, body = "" } }, "redirect", nil, 302 },
    }
    for _, f in ipairs(faults) do
      it(f[1] .. " (" .. f[3] .. ")", function()
        for _, calls in ipairs { GET, POST } do
          local r = same_outcome(f[2], calls)
          assert.are.equal(f[3], r[1].err.type)
          if f[4] then assert.are.equal(f[4], r[1].err.code) end
          assert.are.equal(f[5], r[1].err.status)
        end
      end)
    end

    it("a head cut short by the server is a network error through both transports", function()
      local steps = { { raw = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n", after = "close" } }
      srv:script(steps)
      local c = in_curl(GET)
      srv:script(steps)
      local r = in_nginx(GET, {}, true)
      for _, result in ipairs { c[1], r[1] } do
        assert.are.same({ type = "network", code = "CURLE_PARTIAL_FILE", status = 200 },
          { type = result.err.type, code = result.err.code, status = result.err.status })
      end
    end)

    it("maxResponseBytes: declared, chunked and close-delimited bodies past the cap are too_large", function()
      local body = '{"payment_collection":{"id":"' .. string.rep("x", 5000) .. '"}}'
      local r = same_outcome({
        { headers = JSON, body = body },
        { headers = JSON, body = body, chunked = true, chunk_size = 100 },
        { headers = JSON, body = body, http10 = true },
        { headers = JSON, body = string.rep("y", 999) .. "}" },
      }, { GET[1], GET[1], GET[1], GET[1] }, { maxResponseBytes = 1000, maxRetries = 1 })
      for i = 1, 3 do
        assert.are.equal("too_large", r[i].err.type)
        assert.are.equal(200, r[i].err.status)
        assert.are.equal(1, r[i].err.attempts) -- never retried
      end
      assert.are.equal("invalid_response", r[4].err.type) -- exactly the cap is allowed
    end)

    it("timeouts: a slow answer, a stalled body, a body that keeps dripping past the deadline", function()
      local r = same_outcome({
        { delay_ms = 2000, headers = JSON, body = doc },
        { stall_after_headers = true, headers = JSON, body = doc },
        { headers = JSON, body = doc, drip = { bytes = 2, interval_ms = 40 } },
      }, { GET[1], GET[1], GET[1] }, { timeout = 600 })
      for i = 1, 3 do
        assert.are.equal("timeout", r[i].err.type)
        assert.are.equal("CURLE_OPERATION_TIMEDOUT", r[i].err.code)
        assert.is_true(r[i].ms >= 550 and r[i].ms < 1500, "took " .. r[i].ms .. " ms")
      end
      assert.is_nil(r[1].err.status)
      assert.are.equal(200, r[2].err.status)
    end)

    it("connection refused (network, CURLE_COULDNT_CONNECT), retried with backoff", function()
      local url = "http://127.0.0.1:" .. Server.refused_port()
      local r, c = same_outcome({}, GET, { baseUrl = url, maxRetries = 1 })
      assert.are.equal("CURLE_COULDNT_CONNECT", r[1].err.code)
      assert.are.equal(2, r[1].err.attempts)
      assert.is_true(r[1].ms >= 450 and c[1].ms >= 450) -- the 500 ms backoff, through ngx.sleep in nginx
    end)
  end)

  -- Fires n requests at path at once (curl -Z), pinging /ping after each delay in `pings`
  -- (seconds) meanwhile. Returns the status codes, the bodies, the wall time (ms) and the
  -- ping times (s).
  local function burst(n, path, value, pings)
    local dir = nginx.prefix .. "/tmp/burst"
    Server.run(("rm -rf %s && mkdir -p %s"):format(Server.shell_quote(dir), Server.shell_quote(dir)))
    local cmd = { "cd " .. Server.shell_quote(dir) }
    local fire = { "curl -q -s --no-progress-meter --noproxy '*' --max-time 30 -Z --parallel-max 64 --parallel-immediate -w '%{http_code}\\n'" }
    if value ~= nil then
      local f = assert(io.open(dir .. "/burst.json", "wb"))
      f:write(cjson.encode(value))
      f:close()
      fire[#fire + 1] = "-H 'Content-Type: application/json' --data-binary @burst.json"
    end
    for i = 1, n do fire[#fire + 1] = ("-o b%d %s"):format(i, Server.shell_quote(nginx.url .. path)) end
    cmd[#cmd + 1] = table.concat(fire, " ") .. " > codes 2>/dev/null &"
    for _, delay in ipairs(pings or {}) do
      cmd[#cmd + 1] = ("(sleep %.2f; curl -q -s --noproxy '*' -o /dev/null -w '%%{time_total}\\n' %s >> pings) &")
        :format(delay, Server.shell_quote(nginx.url .. "/ping"))
    end
    cmd[#cmd + 1] = "wait"
    local started = core.monotonic_ms()
    Server.run(table.concat(cmd, "\n"))
    local total = core.monotonic_ms() - started
    local function read(name)
      local f = io.open(dir .. "/" .. name, "rb")
      if not f then return "" end
      local text = f:read("*a")
      f:close()
      return text
    end
    local codes, bodies, ping_times = {}, {}, {}
    for code in read("codes"):gmatch("%d+") do codes[#codes + 1] = tonumber(code) end
    for i = 1, n do bodies[i] = read("b" .. i) end
    for t in read("pings"):gmatch("[%d.]+") do ping_times[#ping_times + 1] = tonumber(t) end
    return codes, bodies, total, ping_times
  end

  local function report(line)
    io.stderr:write("# nginx_spec: ", line, "\n")
  end

  describe("medusa.auth (issue 6) through cosockets", function()
    it("keeps the session cookie and the token with the client that logged in, as libcurl does", function()
      local store = Server.start { mode = "store" }
      local creds = { email = "demo@example.com", password = "demo-password" }
      local calls = {
        { auth = "getSession" },
        { auth = "authenticate", args = { creds } },
        { auth = "getSession" },
        { fn = "retrieve", args = { "paycol_01JGFJJZ000000000000000001" } },
        { auth = "deleteSession" },
        { auth = "getSession" },
        { auth = "getToken", args = { creds } },
        { auth = "getSession" },
        { auth = "setToken" },
        { auth = "getSession" },
      }
      local ok, why = pcall(function()
        local wire = {}
        for _, where in ipairs { "curl", "ngx" } do
          store:reset()
          local r
          if where == "curl" then
            r = in_curl(calls, { baseUrl = store.url })
          else
            r = in_nginx(calls, { baseUrl = store.url })
            assert.are.equal("ngx", r[2].transport)
          end
          assert.are.equal(401, r[1].err.status)
          assert.is_true(r[2].ok)
          assert.are.equal("demo@example.com", r[3].body.customer.email)
          assert.is_true(r[4].ok)
          assert.are.equal(401, r[6].err.status)
          assert.are.equal("demo@example.com", r[8].body.customer.email)
          assert.are.equal(401, r[10].err.status)
          local sent = {}
          for i, rec in ipairs(store:log()) do
            sent[i] = (Server.header(rec, "cookie") and "cookie" or "-") .. " "
              .. (Server.header(rec, "authorization") and "bearer" or "-")
          end
          wire[where] = sent
        end
        -- getSession, authenticate, getSession, retrieve, deleteSession, getSession,
        -- getToken, getSession, getSession (setToken sends nothing)
        assert.are.same({ "- -", "- -", "cookie -", "cookie -", "cookie -", "- -", "- -", "- bearer", "- -" }, wire.ngx)
        assert.are.same(wire.curl, wire.ngx)
      end)
      store:stop()
      assert(ok, why)
    end)
  end)

  describe("no blocking", function()
    it("20 concurrent handler calls to a 1 s upstream take about 1 s; a /ping meanwhile answers at once", function()
      local steps = {}
      for i = 1, 20 do steps[i] = { delay_ms = 1000, json = { payment_collection = { id = "slow_" .. i } } } end
      srv:script(steps)
      local codes, bodies, total, pings = burst(20, "/t/one", nil, { 0.3 })
      report(("20 concurrent 1 s calls through cosockets: %.0f ms in total; /ping meanwhile: %.1f ms")
        :format(total, (pings[1] or 0) * 1000))
      assert.are.equal(20, #codes)
      local ids = {}
      for i = 1, 20 do
        assert.are.equal(200, codes[i])
        local id = assert(cjson.decode(bodies[i]).id, bodies[i])
        ids[id] = true
      end
      for i = 1, 20 do assert.is_true(ids["slow_" .. i], "slow_" .. i .. " missing") end
      assert.is_true(total < 3000, ("took %.0f ms"):format(total))
      assert.are.equal(1, #pings)
      assert.is_true(pings[1] < 0.25, ("ping took %.3f s"):format(pings[1]))
    end)

    it("the same through libcurl serialises the worker (what the test above would catch)", function()
      local steps = {}
      for i = 1, 4 do steps[i] = { delay_ms = 500, json = { payment_collection = { id = "slow_" .. i } } } end
      srv:script(steps)
      local codes, _, total, pings = burst(4, "/t/one?transport=curl", nil, { 0.2 })
      report(("4 concurrent 0.5 s calls through libcurl: %.0f ms in total; /ping meanwhile: %.1f ms")
        :format(total, (pings[1] or 0) * 1000))
      assert.are.same({ 200, 200, 200, 200 }, codes)
      assert.is_true(total >= 1900, ("took %.0f ms"):format(total))
      assert.is_true(pings[1] >= 0.25, ("ping took %.3f s"):format(pings[1]))
    end)
  end)

  describe("hooks and the debug log through cosockets", function()
    it("the events carry what they carry under libcurl; the debug lines go to the error log", function()
      local steps = { { status = 503, headers = { { "Retry-After", "0.1" } }, json = { message = "busy" } }, {} }
      local calls = { { fn = "retrieve", args = { "ev_1" } } }
      local config = { maxRetries = 1, debug = true, customHeaders = { Authorization = "Basic hook_secret" } }
      srv:script(steps)
      local out, status = nginx:post("/t/call", { calls = calls, config = config, events = true })
      assert.are.equal(200, status, cjson.encode(out))
      assert.are.equal("ngx", out.results[1].transport)
      local names = {}
      for i, e in ipairs(out.events) do names[i] = e.event end
      assert.are.same({ "request", "response", "retry", "request", "response" }, names)
      assert.are.equal(503, out.events[2].status)
      assert.are.equal("number", out.events[2].elapsed)
      assert.are.equal(100, out.events[3].delay_ms)
      assert.are.equal(2, out.events[3].attempt)
      assert.are.same({ "Authorization", "[redacted]" }, out.events[1].headers[3])

      srv:script(steps)
      local m = Medusa.new { baseUrl = srv.url, transport = "curl", maxRetries = 1, debug = function() end,
        customHeaders = config.customHeaders }
      local here = Medusa_spec.record(m)
      Medusa_spec.run(m, calls, core.monotonic_ms)
      m:close()
      assert.are.same(via_json(here), out.events)

      local log = nginx:error_log()
      assert.matches("%[notice%][^\n]*medusa: GET /store/payment%-collections/ev_1 %-> 503 in %d+ ms %(attempt 1 of 2%), "
        .. "retrying in 100 ms", log)
      assert.matches("%[notice%][^\n]*medusa: GET /store/payment%-collections/ev_1 %-> 200 in %d+ ms %(attempt 2 of 2%)", log)
      assert.is_nil(log:find("hook_secret", 1, true))
    end)
  end)

  describe("retries and backoff", function()
    it("wait through ngx.sleep: the worker keeps serving during the backoff", function()
      srv:script {
        { status = 503, headers = { { "Retry-After", "0.6" } }, body = "" },
        { status = 503, headers = { { "Retry-After", "0.6" } }, body = "" },
        { json = { payment_collection = { id = "third_time" } } },
      }
      local codes, bodies, total, pings = burst(1, "/t/call",
        { calls = { { fn = "retrieve", args = { "p" } } }, config = { maxRetries = 2 } }, { 0.3, 0.9 })
      assert.are.same({ 200 }, codes)
      local r = assert(cjson.decode(bodies[1]).results, bodies[1])[1]
      assert.is_true(r.ok, bodies[1])
      assert.are.equal("third_time", r.body.payment_collection.id)
      assert.are.equal("ngx", r.transport)
      assert.is_true(total >= 1150, ("took %.0f ms"):format(total))
      local log = srv:log()
      assert.are.equal(3, #log)
      for i = 2, 3 do
        local gap = log[i].t_ms - log[i - 1].t_ms
        assert.is_true(gap >= 550 and gap < 1500, ("gap %d: %.0f ms"):format(i, gap))
      end
      assert.are.equal(2, #pings)
      for _, t in ipairs(pings) do assert.is_true(t < 0.25, ("ping took %.3f s"):format(t)) end
    end)
  end)

  describe("connection reuse", function()
    local GET = { fn = "retrieve", args = { "p" } }
    local function conns(log)
      local out = {}
      for i, r in ipairs(log) do out[i] = r.conn end
      return out
    end

    it("getreusedtimes grows across sequential calls, within a handler and across handlers", function()
      local r = in_nginx({ GET, GET, GET }, {}, true)
      assert.are.same({ 0, 1, 2 }, { r[1].reused, r[2].reused, r[3].reused })
      local again = in_nginx({ GET, GET })
      assert.are.same({ 3, 4 }, { again[1].reused, again[2].reused })
      local c = conns(srv:log())
      assert.are.equal(5, #c)
      for i = 2, 5 do assert.are.equal(c[1], c[i]) end
    end)

    it("a body cut short never goes back to the pool: the next call gets a fresh socket and succeeds", function()
      in_nginx({ GET }, {}, true)
      srv:reset()
      srv:script { { json = { a = 1 }, partial_body = { declared = 100 } },
        { headers = { { "Content-Type", "application/json" } }, body = "{}", chunked = true, chunk_size = 1, cut_chunked = true } }
      local r = in_nginx({ GET, GET, GET })
      assert.are.equal("CURLE_PARTIAL_FILE", r[1].err.code)
      assert.are.equal("CURLE_PARTIAL_FILE", r[2].err.code)
      assert.is_true(r[3].ok)
      assert.are.equal(0, r[3].reused)
      local c = conns(srv:log())
      assert.are.equal(3, #c)
      assert.are_not.equal(c[1], c[2])
      assert.are_not.equal(c[2], c[3])
    end)

    it("a connection with unread bytes after the response, or that the server closes, is not pooled", function()
      in_nginx({ GET }, {}, true)
      srv:reset()
      srv:script {
        { raw = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}HTTP/1.1 200 OK\r\n\r\n" },
        { json = { a = 1 }, headers = { { "Content-Type", "application/json" }, { "Connection", "close" } } },
        { json = { a = 1 }, http10 = true },
        { json = { a = 2 } },
      }
      local r = in_nginx({ GET, GET, GET, GET })
      for i = 1, 4 do assert.is_true(r[i].ok, cjson.encode(r[i])) end
      assert.are.same({ 1, 0, 0, 0 }, { r[1].reused, r[2].reused, r[3].reused, r[4].reused })
      assert.are.equal(2, r[4].body.a)
    end)

    it("poolSize = 0 never keeps a connection; poolIdleTimeout closes idle ones", function()
      local r = in_nginx({ GET, GET }, { poolSize = 0 }, true)
      assert.are.same({ 0, 0 }, { r[1].reused, r[2].reused })
      local c = conns(srv:log())
      assert.are_not.equal(c[1], c[2])
      r = in_nginx({ GET, GET }, { poolIdleTimeout = 300 }, true)
      assert.are.same({ 0, 1 }, { r[1].reused, r[2].reused })
      os.execute("sleep 0.6")
      r = in_nginx({ GET }, { poolIdleTimeout = 300 })
      assert.are.equal(0, r[1].reused)
    end)

    it("a pooled connection the server dropped is an error like libcurl's, and is retried when allowed", function()
      local steps = { { json = { a = 1 } }, { action = "close" }, { json = { a = 2 } } }
      srv:reset()
      srv:script(steps)
      local c = in_curl({ GET, GET })
      srv:reset()
      srv:script(steps)
      local r = in_nginx({ GET, GET }, {}, true)
      assert.are.same(outcome(c[2]), outcome(r[2]))
      assert.are.equal("network", r[2].err.type)
      assert.are.equal(1, r[2].reused or 1)
      srv:reset()
      srv:script(steps)
      r = in_nginx({ GET, GET }, { maxRetries = 1 }, true)
      assert.is_true(r[2].ok)
      assert.are.equal(2, r[2].body.a)
      assert.are.equal(0, r[2].reused)
    end)
  end)

  describe("installed with luarocks for OpenResty", function()
    it("nginx loads a --lua-version=5.1 tree built against LuaJIT's headers, and calls through cosockets", function()
      local tmp = nginx.prefix .. "/rock"
      local _, rc = Server.run(("mkdir -p %s/src %s/home && cp -r medusa-lua-dev-1.rockspec src lua %s/src/"):format(tmp, tmp, tmp))
      assert.are.equal(0, rc)
      local out
      out, rc = Server.run(("cd %s/src && HOME=%s/home luarocks make --lua-version=5.1 --deps-mode=none --tree=%s/tree "
        .. "LUA_INCDIR=/usr/include/luajit-2.1 medusa-lua-dev-1.rockspec 2>&1"):format(tmp, tmp, tmp))
      assert.are.equal(0, rc, out)
      srv:reset()
      srv:script { { json = { payment_collection = { id = "paycol_rock" } } } }
      local rock = Nginx.start { conf = "spec/nginx/rock.conf", vars = { TREE = tmp .. "/tree", UPSTREAM = srv.url } }
      local body = rock:get("/rock")
      rock:stop()
      assert.are.equal(tmp .. "/tree/lib/lua/5.1/medusa/core.so", body.core)
      assert.are.equal(tmp .. "/tree/share/lua/5.1/medusa/client.lua", body.client)
      assert.are.equal("ngx", body.transport)
      assert.are.equal("paycol_rock", body.id, tostring(body.err))
      assert.are.equal(1, #srv:log())
    end)
  end)

  describe("host names", function()
    it("localhost and the names in /etc/hosts need no resolver directive, as under libcurl", function()
      local calls = { { fn = "retrieve", args = { "p" } } }
      local r = in_nginx(calls, { baseUrl = "http://localhost:" .. srv.port })
      assert.is_true(r[1].ok, cjson.encode(r[1]))
      assert.are.equal("ngx", r[1].transport)
      local hosts = nginx.prefix .. "/hosts"
      Server.write_file(hosts, "# a test hosts file\n::1 shop.medusa.test\n127.0.0.1   other.test shop.medusa.test # comment\n")
      local out = nginx:post("/t/call", { calls = calls, hosts_file = hosts,
        config = { baseUrl = "http://SHOP.medusa.test:" .. srv.port } })
      assert.is_true(out.results[1].ok, cjson.encode(out))
      local log = srv:log()
      assert.are.equal(2, #log)
      -- the Host header keeps the URL's name; only the connect address came from the file
      assert.are.equal("localhost:" .. srv.port, Server.header(log[1], "host"))
      assert.are.equal("SHOP.medusa.test:" .. srv.port, Server.header(log[2], "host"))
    end)

    it("a request head over the limit raises before anything is sent, as under libcurl", function()
      srv:reset()
      local calls = { { fn = "retrieve", args = { string.rep("a", 20000) } },
        { request = { "GET", "/store/x", {}, {}, { ["X-Big"] = string.rep("v", 17000) } } } }
      local r = in_nginx(calls)
      local c = in_curl(calls)
      assert.matches("bad argument 'id' %(makes the request target 20027 bytes", r[1].raised)
      assert.matches("bad argument 'customHeaders' %(makes the request head", r[2].raised)
      assert.are.equal(r[1].raised:match("medusa: .*"), c[1].raised:match("medusa: .*"))
      assert.are.equal(r[2].raised:match("medusa: .*"), c[2].raised:match("medusa: .*"))
      assert.are.same({}, srv:log())
    end)

    it("a name that needs DNS, without a resolver directive, gets an error that says to add one", function()
      local r = in_nginx({ { fn = "retrieve", args = { "p" } } }, { baseUrl = "http://medusa-lua.invalid:" .. srv.port })
      assert.are.equal("network", r[1].err.type)
      assert.are.equal("CURLE_COULDNT_RESOLVE_HOST", r[1].err.code)
      assert.matches("no resolver defined", r[1].err.message)
      assert.matches("'resolver' directive", r[1].err.message)
    end)

    it("caFile cannot apply to cosockets, so it is refused at Medusa.new with the directive to use", function()
      local out = nginx:post("/t/call", { config = { caFile = "/etc/hostname" }, calls = {} })
      assert.matches("config.caFile.*lua_ssl_trusted_certificate", out.raised)
      local r = in_nginx({ { fn = "retrieve", args = { "p" } } }, { caFile = "/etc/hostname", transport = "curl" })
      assert.is_true(r[1].ok)
      assert.are.equal("curl", r[1].transport)
    end)
  end)

  describe("10,000 sequential handler calls", function()
    -- Sends n requests to /t/one one after the other from a single curl process (with
    -- keepalive); returns how many answered the scripted id.
    local function sequential(n)
      local dir = nginx.prefix .. "/tmp"
      local f = assert(io.open(dir .. "/urls", "wb"))
      for _ = 1, n do f:write('url = "', nginx.url, '/t/one"\n') end
      f:close()
      local out = Server.run(("curl -q -s --noproxy '*' --max-time 300 -K %s"):format(Server.shell_quote(dir .. "/urls")))
      local _, ok = out:gsub('"id":"paycol_default"', "")
      return ok
    end

    it("all succeed and the worker's memory settles", function()
      assert.are.equal(500, sequential(500)) -- warm-up: pools, JIT, caches
      local before = nginx:get("/t/rss")
      local rss = {}
      local started = core.monotonic_ms()
      for i = 1, 4 do
        assert.are.equal(2500, sequential(2500))
        rss[i] = nginx:get("/t/rss")
      end
      local secs = (core.monotonic_ms() - started) / 1000
      local after = rss[4]
      report(("10,000 sequential calls in %.1f s (%.0f/s); worker RSS %d KiB after warm-up, then %d, %d, %d, %d KiB; Lua heap %.0f -> %.0f KiB")
        :format(secs, 10000 / secs, before.rss_kb, rss[1].rss_kb, rss[2].rss_kb, rss[3].rss_kb, rss[4].rss_kb, before.lua_kb, after.lua_kb))
      assert.are.equal(before.pid, after.pid) -- the same worker all along
      -- Settled: the last 5,000 calls add less than 2 MiB, and the whole run less than 8 MiB.
      assert.is_true(rss[4].rss_kb - rss[2].rss_kb < 2048, ("grew %d KiB"):format(rss[4].rss_kb - rss[2].rss_kb))
      assert.is_true(after.rss_kb - before.rss_kb < 8192, ("grew %d KiB"):format(after.rss_kb - before.rss_kb))
      assert.is_true(after.lua_kb < before.lua_kb + 4096)
    end)
  end)
end)

describe("TLS through cosockets", function()
  local pki, dns, tls_srv, stranger_srv, nginx

  setup(function()
    pki = Nginx.pki()
    dns = Nginx.dns { "localhost", "medusa.test", "other.test" }
    tls_srv = Server.start { mode = "script", tls_cert = pki.cert, tls_key = pki.key }
    local ok, started = pcall(Nginx.start, { vars = {
      UPSTREAM = "https://medusa.test:" .. tls_srv.port,
      RESOLVER = ("resolver 127.0.0.1:%d ipv6=off valid=60s; resolver_timeout 2s;"):format(dns.port),
      TRUST = ("lua_ssl_trusted_certificate %s; lua_ssl_verify_depth 2;"):format(pki.ca),
    } })
    assert(ok, started)
    nginx = started
  end)
  teardown(function()
    if nginx then nginx:stop() end
    if tls_srv then tls_srv:stop() end
    if stranger_srv then stranger_srv:stop() end
    if dns then dns.stop() end
    if pki then pki.cleanup() end
  end)

  local function call(base, calls)
    local out = nginx:post("/t/call", { config = { baseUrl = base }, calls = calls or { { fn = "retrieve", args = { "p" } } } })
    assert.is_nil(out.raised, out.raised)
    return out.results
  end

  it("verifies the peer by name (with SNI), through the resolver, and pools the TLS connection", function()
    local r = call("https://medusa.test:" .. tls_srv.port, { { fn = "retrieve", args = { "p" } }, { fn = "retrieve", args = { "q" } } })
    assert.is_true(r[1].ok, cjson.encode(r[1]))
    assert.are.equal("ngx", r[1].transport)
    assert.are.equal(r[1].reused + 1, r[2].reused)
    local log = tls_srv:log()
    assert.are.equal(log[#log - 1].conn, log[#log].conn)
    assert.are.equal("medusa.test:" .. tls_srv.port, Server.header(log[#log], "host"))
    r = call("https://localhost:" .. tls_srv.port)
    assert.is_true(r[1].ok, cjson.encode(r[1]))
  end)

  it("refuses a certificate for another name, and one from a CA nginx does not trust", function()
    local r = call("https://other.test:" .. tls_srv.port)
    assert.are.equal("tls", r[1].err.type)
    assert.are.equal("CURLE_PEER_FAILED_VERIFICATION", r[1].err.code)
    assert.matches("host mismatch", r[1].err.message)
    -- An IP literal: nginx checks names only (X509_check_host), so an IP SAN does not match.
    r = call("https://127.0.0.1:" .. tls_srv.port)
    assert.are.equal("tls", r[1].err.type)
    -- a server whose certificate another CA signed
    local stranger = Nginx.pki()
    stranger_srv = Server.start { mode = "script", tls_cert = stranger.cert, tls_key = stranger.key }
    stranger.cleanup()
    r = call("https://medusa.test:" .. stranger_srv.port)
    assert.are.equal("tls", r[1].err.type)
    assert.are.equal("CURLE_PEER_FAILED_VERIFICATION", r[1].err.code)
    assert.matches("lua_ssl_trusted_certificate", r[1].err.message)
    assert.are.equal(0, #stranger_srv:log())
  end)

  it("a TLS handshake with a plain HTTP server fails as tls, like libcurl", function()
    -- nginx itself answers a ClientHello on its plain port with a 400 page at once.
    local url = "https://127.0.0.1:" .. nginx.port
    local r = call(url)
    local m = Medusa.new { baseUrl = url, transport = "curl", timeout = 5000 }
    local _, err = m.paymentCollections.retrieve("p")
    m:close()
    assert.are.equal("tls", r[1].err.type)
    assert.are.equal("CURLE_SSL_CONNECT_ERROR", r[1].err.code)
    assert.are.equal(err.type, r[1].err.type)
    assert.are.equal(err.code, r[1].err.code)
  end)

  it("an unknown host name is CURLE_COULDNT_RESOLVE_HOST", function()
    local r = call("https://nowhere.test:" .. tls_srv.port)
    assert.are.equal("network", r[1].err.type)
    assert.are.equal("CURLE_COULDNT_RESOLVE_HOST", r[1].err.code)
    assert.matches("nowhere.test could not be resolved", r[1].err.message)
  end)
end)

describe("examples/openresty", function()
  local store, nginx

  setup(function()
    store = Server.start { mode = "store" }
    -- The example as shipped, in a prefix that looks like the checkout; only the port
    -- changes (and, as root, the user the workers run as).
    local f = assert(io.open("examples/openresty/nginx.conf", "rb"))
    local conf = f:read("*a")
    f:close()
    local port = Server.refused_port()
    local replaced
    conf, replaced = conf:gsub("listen 127%.0%.0%.1:8080;", "listen 127.0.0.1:" .. port .. ";")
    assert.are.equal(1, replaced)
    if Nginx.is_root then conf = "user root root;\n" .. conf end
    local ok, started = pcall(Nginx.start, { text = conf, port = port, probe = "/checkout/none/summary",
      links = { "lua", "build", "examples" }, env = { MEDUSA_BASE_URL = store.url } })
    assert(ok, started)
    nginx = started
  end)
  teardown(function()
    if nginx then nginx:stop() end
    if store then store:stop() end
  end)

  it("serves a checkout summary and pays through the store", function()
    local pc = store:new_collection(4200)
    local summary, status = nginx:get("/checkout/" .. pc.id .. "/summary")
    assert.are.equal(200, status)
    assert.are.same({ id = pc.id, amount = 4200, currency = "usd", status = "not_paid", sessions = {} }, summary)
    local paid
    paid, status = nginx:post("/checkout/" .. pc.id .. "/pay")
    assert.are.equal(200, status, cjson.encode(paid))
    assert.are.equal("authorized", paid.status)
    summary = nginx:get("/checkout/" .. pc.id .. "/summary")
    assert.are.equal(1, #summary.sessions)
    assert.are.equal(paid.session, summary.sessions[1].id)
    assert.are.equal("authorized", summary.sessions[1].status)
  end)

  it("answers a store error with its status, and logs it in one line", function()
    local body, status = nginx:get("/checkout/paycol_missing/summary")
    assert.are.equal(404, status)
    assert.are.same({ error = "not_found", message = "Payment collection with id paycol_missing was not found" }, body)
    assert.matches("payment collection call failed: medusa: 404 not_found", nginx:error_log())
    assert.not_matches("cosockets are disabled", nginx:error_log())
  end)
end)
