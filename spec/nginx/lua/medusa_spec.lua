-- spec/nginx/lua/medusa_spec.lua: the handlers of the nginx the specs start. They run
-- medusa for real inside nginx, in several phases, and answer what happened as JSON
-- (results, error fields, which transport served the call, the socket's reuse count),
-- so spec/nginx_spec.lua can check it from outside.
local cjson = require "cjson.safe"
local Medusa = require "medusa"
local transport = require "medusa.transport"

local M = {}

-- What the phase hooks saw; per worker (init's entries come from the master by fork).
local state = {}

-- A module-level client made in init_by_lua, used from handlers: it decides per call.
local shared

local function phase_call(upstream, id, config)
  config = config or {}
  config.baseUrl = config.baseUrl or upstream
  config.timeout = config.timeout or 5000
  local m = Medusa.new(config)
  local used = m.client.transport.pick and m.client.transport:pick().name or m.client.transport.name
  local res, err = m.paymentCollections.retrieve(id)
  m:close()
  return {
    phase = ngx.get_phase(), transport = used, ok = res ~= nil,
    id = res and res.payment_collection and res.payment_collection.id,
    err = err and tostring(err),
  }
end

function M.init_phase(upstream)
  state.init = phase_call(upstream, "from_init")
  local ok, why = pcall(Medusa.new, { baseUrl = upstream, transport = "ngx" })
  state.init_forced_ngx = { ok = ok, err = tostring(why) }
  shared = Medusa.new { baseUrl = upstream, timeout = 5000 }
end

function M.init_worker_phase(upstream)
  local ok, why = pcall(Medusa.new, { baseUrl = upstream, transport = "ngx" })
  state.init_worker_forced_ngx = { ok = ok, err = tostring(why) }
  state.init_worker_pick = shared.client.transport:pick().name
  ngx.timer.at(0, function(premature)
    if premature then return end
    state.timer = phase_call(upstream, "from_timer")
    local forced = phase_call(upstream, "from_timer_forced", { transport = "ngx" })
    state.timer_forced_ngx = forced
  end)
end

function M.before_log_phase()
  ngx.ctx.forced = Medusa.new { baseUrl = ngx.var.medusa_upstream, transport = "ngx" }
  ngx.say("{}")
end

function M.log_phase()
  local res, err = shared.paymentCollections.retrieve("from_log_phase")
  state.log_phase = {
    transport = shared.client.transport:pick().name, ok = res ~= nil, err = err and tostring(err),
  }
  local ok, why = pcall(ngx.ctx.forced.paymentCollections.retrieve, "never_sent")
  state.log_phase_forced_ngx = { ok = ok, err = tostring(why) }
end

---------------------------------------------------------------------------------------

local function plain_error(err)
  if type(err) ~= "table" then return { raised = tostring(err) } end
  return {
    type = err.type, code = err.code, status = err.status, message = err.message,
    attempts = err.attempts, headers = err.headers, body = type(err.body) == "string" and err.body or nil,
  }
end

-- Wraps a client's transport once, so that each send notes (for the light thread that
-- made it) which transport served it and the reuse count of the socket it used.
local notes_of = setmetatable({}, { __mode = "k" })
local watched = setmetatable({}, { __mode = "k" })

local function watch(m)
  local t = m.client.transport
  if watched[t] then return end
  watched[t] = true
  local send = t.send
  t.send = function(self, request)
    local notes = notes_of[coroutine.running() or "main"] or {}
    notes.picked = self.pick and self:pick().name or self.name
    local response, err = send(self, request)
    notes.reused = response and response.reused
    return response, err
  end
end

local function ngx_now_ms()
  ngx.update_time()
  return ngx.now() * 1000
end

-- Runs call specs {fn = "retrieve", args = {...}} | {auth = "authenticate", args = {...}} |
-- {request = {method, path, payload?, options?, customHeaders?}} on client m; returns one plain entry per call. Shared by the
-- nginx handler and by the spec, which runs the same calls through libcurl to compare.
function M.run(m, calls, now_ms)
  local results = {}
  watch(m)
  for i, c in ipairs(calls) do
    local notes = {}
    notes_of[coroutine.running() or "main"] = notes
    local started = now_ms()
    local ok, res, err
    if c.request then
      local r = c.request
      ok, res, err = pcall(m.client.request, r[1], r[2], r[3], r[4], r[5])
    elseif c.auth then
      local a = c.args or {}
      ok, res, err = pcall(m.auth[c.auth], a[1], a[2])
    else
      local a = c.args or {}
      ok, res, err = pcall(m.paymentCollections[c.fn], a[1], a[2], a[3])
    end
    local entry = { ms = now_ms() - started, transport = notes.picked, reused = notes.reused }
    if not ok then
      entry.raised = tostring(res)
    elseif res then
      entry.ok = true
      entry.status = res.response.status
      entry.headers = res.response.headers
      local body = {}
      for k, v in pairs(res) do
        if k ~= "response" then body[k] = v end
      end
      entry.body = body
    else
      entry.err = plain_error(err)
    end
    results[i] = entry
  end
  return results
end

-- Registers a hook for every event on m; returns the list they fill, in JSON-able form
-- (the error as its plain fields, elapsed_ms as its type: it is the one field that varies).
function M.record(m)
  local seen = {}
  for _, name in ipairs { "request", "response", "retry", "error" } do
    m:on(name, function(e)
      seen[#seen + 1] = {
        event = name, method = e.method, url = e.url, attempt = e.attempt, status = e.status,
        headers = e.headers, delay_ms = e.delay_ms, elapsed = type(e.elapsed_ms),
        error = e.error and { type = e.error.type, status = e.error.status, attempts = e.error.attempts },
      }
    end)
  end
  return seen
end

-- Closes every idle pooled connection to url's origin, so the next call connects afresh
-- (as a new libcurl client would). Returns how many there were.
local function drain(url)
  local scheme, host, port = url:match("^(%a+)://([^:/]+):(%d+)")
  local pool = require("medusa.transport.ngx").pool_name(scheme, host, tonumber(port))
  local drained = 0
  while true do
    local sock = ngx.socket.tcp()
    if not sock:connect(host, tonumber(port), { pool = pool }) then return drained end
    local reused = sock:getreusedtimes()
    sock:close()
    if reused == 0 then return drained end
    drained = drained + 1
  end
end

-- POST /t/call {config = {...}, shared = bool, drain = bool, events = bool, calls = {...}}
--   -> {results = {...}, events = {...} (with events: what the hooks saw, see M.record)}
local function call()
  ngx.req.read_body()
  local spec = assert(cjson.decode(ngx.req.get_body_data() or "{}"), "bad /t/call body")
  if spec.drain then drain((spec.config or {}).baseUrl or ngx.var.medusa_upstream) end
  -- The hosts file the cosocket transport reads for this worker (a spec's own, or the system's).
  require("medusa.transport.ngx").hosts_file = spec.hosts_file or "/etc/hosts"
  local m = shared
  if not spec.shared then
    local config = spec.config or {}
    if config.baseUrl == nil then config.baseUrl = ngx.var.medusa_upstream end
    local ok, made = pcall(Medusa.new, config)
    if not ok then return { raised = tostring(made) } end
    m = made
  end
  local seen = spec.events and M.record(m)
  local results = M.run(m, spec.calls or {}, ngx_now_ms)
  if not spec.shared then m:close() end
  return { results = results, events = seen }
end

-- GET /t/one[?transport=curl]: one retrieve through the shared client (the memory test
-- calls it 10,000 times), or through a libcurl client, to show what blocking costs.
local curl_client
local function one()
  local m = shared
  if ngx.var.arg_transport == "curl" then
    curl_client = curl_client or Medusa.new { baseUrl = ngx.var.medusa_upstream, transport = "curl", timeout = 10000 }
    m = curl_client
  end
  local res, err = m.paymentCollections.retrieve("paycol_one")
  if not res then return { err = tostring(err) } end
  return { id = res.payment_collection.id }
end

local function rss()
  local f = assert(io.open("/proc/self/status"))
  local status = f:read("*a")
  f:close()
  return {
    pid = ngx.worker.pid(),
    rss_kb = tonumber(status:match("VmRSS:%s*(%d+)")),
    lua_kb = collectgarbage("count"),
  }
end

local ROUTES = {
  ["/t/call"] = call,
  ["/t/one"] = one,
  ["/t/rss"] = rss,
  ["/t/state"] = function()
    local usable, phase = transport.cosockets_usable()
    state.content = { usable = usable, phase = phase, shared_pick = shared.client.transport:pick().name }
    return state
  end,
}

function M.handle()
  local route = ROUTES[ngx.var.uri]
  if not route then return ngx.exit(404) end
  local ok, out = pcall(route)
  if not ok then
    ngx.status = 500
    out = { handler_error = tostring(out) }
  end
  local text, why = cjson.encode(out)
  ngx.say(text or cjson.encode { encode_error = why })
end

return M
