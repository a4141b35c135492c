-- medusa.tasks: concurrency's API (medusa:spawn, medusa:all, medusa:loop) and the choice
-- of what runs a client's tasks: inside nginx, where cosockets work and the client may
-- use them, OpenResty's light threads (medusa.tasks.ngx); everywhere else the coroutine
-- scheduler over libcurl's multi interface (medusa.tasks.scheduler), which blocks the
-- nginx worker in the phases without cosockets; in those where nginx disables coroutines
-- too (set, log, init_worker, balancer), spawn and all raise, saying so. Both engines give
-- the same results for the same code.
--   medusa:spawn(fn, ...) -> task        starts fn(...) now, up to its first wait
--   task:wait() -> fn's results          re-raises what fn raised
--   task:cancel() -> boolean             no request after it; result nil, err (cancelled)
--   medusa:all(list, {timeout = ms}?) -> results, errs
--   medusa:loop() -> loop                fd/next_timeout/step for another event loop
local Error = require "medusa.error"
local Scheduler = require "medusa.tasks.scheduler"
local transport = require "medusa.transport"

local Tasks = {}

local function callable(value)
  if type(value) == "function" then return true end
  local mt = getmetatable(value)
  return type(mt) == "table" and type(rawget(mt, "__call")) == "function"
end

local function shown(value)
  return type(value) == "string" and ("%q (a string)"):format(value) or tostring(value)
end

-- The light-thread engine when this client's calls would use cosockets right now.
local function ngx_engine(client)
  if client.transport.name == "curl" or not transport.cosockets_usable() then return nil end
  return require "medusa.tasks.ngx"
end

local function noop() end

-- The libcurl scheduler, after checking that coroutines work here: nginx disables them
-- in some phases (set_by_lua, log_by_lua, init_worker_by_lua, balancer_by_lua), where
-- coroutine.create raises a message that names nothing of medusa.
local function scheduler()
  local _, phase = transport.cosockets_usable()
  if phase and not pcall(coroutine.create, noop) then
    Error.raise(("tasks need coroutines, which nginx disables in the %s phase: run them in a content, "
      .. "rewrite or access handler or an ngx.timer callback (ngx.timer.at(0, fn) works from here)"):format(phase))
  end
  return Scheduler
end

function Tasks.spawn(client, fn, ...)
  if not callable(fn) then Error.argument("fn", "expected a function, got " .. shown(fn)) end
  local engine = ngx_engine(client)
  if engine then return engine.spawn(client.root, fn, ...) end
  return scheduler().spawn(client.root, fn, ...)
end

local function check_timeout(opts)
  if opts == nil then return nil end
  if type(opts) ~= "table" then Error.argument("opts", "expected a table like {timeout = 5000}, got " .. shown(opts)) end
  for key in pairs(opts) do
    if key ~= "timeout" then Error.argument("opts", ("unknown key '%s' (known: timeout)"):format(tostring(key))) end
  end
  local ms = opts.timeout
  if ms ~= nil and (type(ms) ~= "number" or ms ~= ms or ms < 0 or ms ~= math.floor(ms)) then
    Error.argument("opts.timeout", "expected whole milliseconds >= 0, got " .. shown(ms))
  end
  return ms
end

function Tasks.all(client, list, opts)
  if type(list) ~= "table" then Error.argument("list", "expected a list of functions, got " .. shown(list)) end
  for i = 1, #list do
    if not callable(list[i]) then Error.argument(("list[%d]"):format(i), "expected a function, got " .. shown(list[i])) end
  end
  local timeout_ms = check_timeout(opts)
  local engine = ngx_engine(client)
  if engine then return engine.all(client.root, list, timeout_ms) end
  return scheduler().all(client.root, list, timeout_ms)
end

function Tasks.loop(client)
  if ngx_engine(client) then
    Error.raise("loop() is for event loops outside nginx: inside nginx, use spawn/all (light threads)")
  end
  return Scheduler.loop()
end

-- close() of a client: every task it spawned that still runs is cancelled.
function Tasks.cancel_owned(client)
  Scheduler.cancel_owned(client)
  if package.loaded["medusa.tasks.ngx"] then package.loaded["medusa.tasks.ngx"].cancel_owned(client) end
end

return Tasks
