-- spec/nginx/lua/tasks_runner.lua: runs one task case (spec/tasks_cases.lua, or the
-- nginx-only ones of spec/nginx/lua/tasks_ngx_cases.lua) inside nginx, with the ctx those
-- cases expect, and answers how it went as JSON, with which engine ran the tasks. The
-- case's checks of the scripted server (the curl CLI) block the worker, which only ever
-- serves this one request.
--   content()       POST /case {name, server}: in a content handler; light threads
--                   (medusa.tasks.ngx) over cosockets, the clients forced onto "ngx"
--   header_filter() the same case in a header filter, where nginx disables cosockets:
--                   the libcurl scheduler runs the tasks (automatic clients); the answer
--                   is kept for result()
--   log_phase()     medusa:spawn/all in the log phase, where nginx also disables
--                   coroutines: the error they raise, kept for result()
local cjson = require "cjson.safe"
local Medusa = require "medusa"
local Server = require "support.server"
local Scheduler = require "medusa.tasks.scheduler"
local Engine = require "medusa.tasks.ngx"

local M = {}

local function by_name(list, into)
  for _, c in ipairs(list) do into[c.name] = c end
  return into
end
local cases = by_name(require "tasks_ngx_cases", by_name(require "tasks_cases", {}))

-- Which engine started tasks during a case: every entry point of both, counted.
local started = { ngx = 0, curl = 0 }
local function count(engine, module, name)
  local inner = module[name]
  module[name] = function(...)
    started[engine] = started[engine] + 1
    return inner(...)
  end
end
count("ngx", Engine, "spawn")
count("ngx", Engine, "all")
count("curl", Scheduler, "spawn")
count("curl", Scheduler, "all")

-- The spec's scripted server, driven from here through the curl CLI like spec-side code.
local servers = {}
local function server(url)
  local srv = servers[url]
  if not srv then
    local dir = os.tmpname()
    os.remove(dir)
    assert(os.execute("mkdir -m 700 " .. Server.shell_quote(dir)))
    srv = setmetatable({ url = url, ctl_url = url, port = tonumber(url:match(":(%d+)$")), dir = dir,
      mode = "script", stopped = false }, Server)
    servers[url] = srv
  end
  return srv
end

local function context(url, engine)
  local opened = {}
  local ctx = { server = server(url), engine = engine, url = url }
  function ctx.client(config)
    local settings = { baseUrl = url }
    -- In a content handler, a call that could not use cosockets raises instead of
    -- quietly falling back to libcurl.
    if engine == "ngx" then settings.transport = "ngx" end
    for k, v in pairs(config or {}) do settings[k] = v end
    local medusa = Medusa.new(settings)
    opened[#opened + 1] = medusa
    return medusa
  end
  function ctx.close()
    for _, medusa in ipairs(opened) do medusa:close() end
  end
  return ctx
end

-- luassert raises tables; keep their message and where the case failed.
local function failure(e)
  local message = type(e) == "table" and e.message ~= nil and tostring(e.message) or tostring(e)
  return debug.traceback(message, 2)
end

local function run_case(spec, engine)
  local c = spec and cases[spec.name]
  if not c then return { ok = false, error = "no such case: " .. tostring(spec and spec.name) } end
  started.ngx, started.curl = 0, 0
  local ctx = context(spec.server, engine)
  local ok, why = xpcall(c.run, failure, ctx)
  local closed, close_error = pcall(ctx.close)
  if ok and not closed then ok, why = false, "closing the clients: " .. tostring(close_error) end
  return { ok = ok, error = not ok and why or nil, started = { ngx = started.ngx, curl = started.curl },
    phase = ngx.get_phase() }
end

local function read_spec()
  ngx.req.read_body()
  return cjson.decode(ngx.req.get_body_data() or "")
end

function M.content()
  local ok, out = pcall(run_case, read_spec(), "ngx")
  if not ok then out = { ok = false, error = "runner: " .. tostring(out) } end
  ngx.say(cjson.encode(out))
end

-- Answers of the cases run in other phases, for result() (one worker: the same table).
local results = {}

function M.before_header_filter()
  ngx.ctx.spec = read_spec()
  ngx.say("{}")
end

function M.header_filter()
  local spec = ngx.ctx.spec
  if not spec then return end
  local ok, out = pcall(run_case, spec, "curl")
  if not ok then out = { ok = false, error = "runner: " .. tostring(out) } end
  results[spec.name] = out
end

function M.log_phase()
  local m = Medusa.new { baseUrl = ngx.var.medusa_upstream }
  local out = { phase = ngx.get_phase() }
  out.spawn_ok, out.spawn_error = pcall(m.spawn, m, function() end)
  out.all_ok, out.all_error = pcall(m.all, m, { function() end })
  m:close()
  out.spawn_error, out.all_error = tostring(out.spawn_error), tostring(out.all_error)
  results["log phase"] = out
end

-- GET /result?name=...: what that case gave in its phase (null until it ran).
function M.result()
  ngx.say(cjson.encode(results[ngx.unescape_uri(ngx.var.arg_name or "")] or { pending = true }))
end

return M
