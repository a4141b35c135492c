-- medusa.tasks.ngx: the task engine inside OpenResty/nginx, where cosockets work. A task
-- is a light thread (ngx.thread.spawn) running its function under xpcall; cosocket I/O
-- and ngx.sleep (a retry's backoff) already yield, so the pipeline runs unchanged while
-- the other light threads of the worker go on. The results are the libcurl scheduler's
-- (medusa.tasks.scheduler) for the same code:
--   task:wait()        ngx.thread.wait; the function's results, or what it raised raised
--                      again (a string with the task's traceback appended)
--   task:cancel(msg?)  ngx.thread.kill: its pending request is abandoned (the socket is
--                      closed), no retry follows; result nil, err with err.type "cancelled"
--   medusa:all(list, {timeout = ms}?) -> results, errs: results[i], errs[i] are task i's
--                      two return values; the first task that raises cancels the others
--                      and its error is raised again; at the timeout, what still runs is
--                      cancelled ("the group's timeout (N ms) passed")
--   medusa:close()     cancels the tasks the client spawned that still run
--
-- OpenResty's rule, which the libcurl scheduler does not have: only the light thread that
-- spawned a task (its parent) may wait for it or cancel it. task:wait() or task:cancel()
-- from any other light thread (a sibling task, another request's handler, a timer) raises
-- "medusa: ... only the light thread that spawned a task may wait for it or cancel it".
-- medusa:all waits for and cancels its own tasks, so it works from any light thread.
-- When a task cannot be killed (close() from another light thread than its parent, or
-- the tasks of a medusa:all inside a task that was cancelled), it is cancelled at once
-- all the same (state "cancelled", result nil, err), and its light thread stops at its
-- next medusa call or backoff: a request already on the wire runs to its end first, and
-- the parent's task:wait() returns then.
--
-- maxInFlight bounds the requests in flight from one client's tasks in the worker, with
-- an ngx.semaphore per client (medusa.transport.ngx takes a slot around each attempt; a
-- task in backoff holds none). A slot comes back when the attempt ends, when the task is
-- cancelled, and, for a light thread nginx killed without running any Lua (ngx.exit or a
-- client abort ending the request), when the garbage collector collects that task.
-- Calls outside any task (plain calls in a handler) take no slot, as before tasks.
-- Tasks nobody waits for stay zombie light threads until the request ends: wait for
-- them (or use medusa:all) in a long-lived timer.
local Error = require "medusa.error"
local Scheduler = require "medusa.tasks.scheduler"
local core = require "medusa.core"

local ngx = rawget(_G, "ngx")
if type(ngx) ~= "table" or type(ngx.thread) ~= "table" then
  error("medusa.tasks.ngx runs inside OpenResty/nginx only (no ngx.thread here)", 2)
end
local semaphore = require "ngx.semaphore"

local spawn_thread, wait_thread, kill_thread = ngx.thread.spawn, ngx.thread.wait, ngx.thread.kill
local running = coroutine.running
local traceback = debug.traceback
local monotonic_ms = core.monotonic_ms
local outcome, cancelled_error = Scheduler.outcome, Scheduler.cancelled_error
local newproxy = rawget(_G, "newproxy")

local Engine = {}

-- A semaphore wait has a timeout; "forever" is waited for in steps of this many seconds.
local FOREVER_S = 3600

local function pack(...) return { n = select("#", ...), ... } end

-- light thread -> its task. Weak both ways: a task refers to its thread, and LuaJIT's
-- weak-keyed tables are no ephemerons, so a weak key alone would keep both forever.
local by_thread = setmetatable({}, { __mode = "kv" })

-- What a cancelled task raises at its next medusa call when its thread could not be
-- killed; its task is already settled, so the raise ends the thread and nothing else.
local CANCELLED = setmetatable({}, {
  __name = "medusa.tasks.cancelled",
  __tostring = function() return "medusa: the task was cancelled" end,
})

local Task = {}
Task.__index = Task
Task.__name = "medusa.Task"
Task.engine = "ngx"
Engine.Task = Task

function Task.__tostring(task)
  return ("medusa.Task (%s)"):format(task.state)
end

function Task:done()
  return self.state ~= "running"
end

-- The task whose light thread runs the caller's code, or nil (outside any task, or in a
-- coroutine of the caller's own inside one: that call takes no slot, as outside).
function Engine.current()
  return by_thread[running()]
end

---------------------------------------------------------------------------------------
-- Slots: maxInFlight per client
---------------------------------------------------------------------------------------

-- A task's hold on a slot is a box {sema = ...}, so that the collector's finalizer of a
-- killed task (its guard) can give the slot back without reaching the task itself.
local function guard_gc(box)
  return function()
    local sema = box.sema
    if sema then
      box.sema = nil
      sema:post(1)
    end
  end
end

local function release(task)
  local box = task.slot
  local sema = box and box.sema
  if sema then
    box.sema = nil
    sema:post(1)
  end
end
Engine.release = release

-- Slots for one client: max requests in flight from its tasks.
function Engine.slots(max)
  local sema, why = semaphore.new(max)
  if not sema then Error.raise("cannot make the maxInFlight semaphore: " .. tostring(why)) end
  return sema
end

-- Raises CANCELLED in the thread of a task that was cancelled but not killed.
local function checkpoint(task)
  if task.state ~= "running" then error(CANCELLED, 0) end
end
Engine.checkpoint = checkpoint

-- Inside a task: waits for a slot of `sema` (FIFO), then holds it until release(task).
function Engine.acquire(task, sema)
  checkpoint(task)
  local box = task.slot
  if box and box.sema == sema then return end -- still held (a raise skipped its release)
  if not box then
    box = {}
    task.slot = box
    if newproxy then
      local guard = newproxy(true)
      getmetatable(guard).__gc = guard_gc(box)
      task.slot_guard = guard
    end
  elseif box.sema then
    release(task)
  end
  while true do
    local ok, why = sema:wait(FOREVER_S)
    if ok then break end
    if why ~= "timeout" then Error.raise("waiting for a maxInFlight slot failed: " .. tostring(why)) end
  end
  box.sema = sema
  -- Cancelled (not killed) while it waited: the slot goes to the next one.
  if task.state ~= "running" then
    release(task)
    error(CANCELLED, 0)
  end
end

---------------------------------------------------------------------------------------
-- Tasks
---------------------------------------------------------------------------------------

-- The one change of a running task's state; wakes its group's waiter when that has
-- something to do.
local function settle(task, state)
  task.state = state
  local group = task.group
  if not group then return end
  group.left = group.left - 1
  if state == "failed" and not group.failed then group.failed = task end
  if group.waiting and (group.left == 0 or group.failed) then
    group.waiting = false
    group.wake:post(1)
  end
end

-- Set by on_error for the raise being caught: the handler runs where the error was
-- raised, before xpcall returns, with no yield in between.
local last_traceback

local function on_error(err)
  last_traceback = traceback(tostring(err), 2)
  return err
end

local function finish(task, ok, ...)
  by_thread[task.co] = nil
  release(task)
  if task.state ~= "running" then return task end -- cancelled while it ran
  if ok then
    task.results = pack(...)
    settle(task, "done")
  else
    task.error = ...
    task.traceback = last_traceback
    settle(task, "failed")
  end
  return task
end

-- A light thread's function: the task's fn under xpcall (yieldable in LuaJIT), so that a
-- raise is kept with its traceback and raised again by wait or all, as the scheduler does
-- (ngx.thread.wait alone would give false and the message only).
local function body(task, fn, ...)
  task.co = running()
  by_thread[task.co] = task
  return finish(task, xpcall(fn, on_error, ...))
end

-- A task of owner, child of the running light thread, started now: it runs up to its
-- first yield (a connect, a send, a sleep) before this returns.
local function start(owner, group, fn, ...)
  local task = setmetatable({ state = "running", owner = owner, parent = running(), group = group }, Task)
  if owner then
    owner.ngx_tasks = owner.ngx_tasks or setmetatable({}, { __mode = "k" })
    owner.ngx_tasks[task] = true
  end
  task.co = spawn_thread(body, task, fn, ...)
  return task
end

-- A task that was cancelled but not killed stops at its next medusa call: this is one.
local function check_caller()
  local me = by_thread[running()]
  if me then checkpoint(me) end
  return me
end

---@param owner table  the client the task was spawned from (its close() cancels it)
function Engine.spawn(owner, fn, ...)
  check_caller()
  return start(owner, nil, fn, ...)
end

local function parent_rule(method)
  Error.raise(("task:%s() from a light thread that did not spawn the task: inside nginx (OpenResty's rule) "
    .. "only the light thread that spawned a task may wait for it or cancel it; spawn it there, or use "
    .. "medusa:all"):format(method))
end

-- Frees an ended task's zombie light thread (or ends a cancelled one still running);
-- only its parent may, and does.
local function reap(task)
  if task.reaped then return end
  task.reaped = true
  kill_thread(task.co)
  release(task)
end

local cancel_group

-- Cancels a running task: killed when the caller is its parent, otherwise settled now
-- and stopped at its next medusa call (see the header).
local function stop(task, message)
  local killed = task.parent == running()
  if killed then
    task.reaped = true
    kill_thread(task.co)
    release(task) -- a killed thread gives back nothing itself
    by_thread[task.co] = nil
  end
  task.results = pack(nil, cancelled_error(task, message))
  settle(task, "cancelled")
  local inner = task.in_group
  if inner then
    if killed then
      -- Its own tasks have lost their parent: nobody can kill them any more.
      cancel_group(inner, "the task waiting for this group was cancelled")
    elseif inner.waiting then
      inner.waiting = false
      inner.wake:post(1) -- it wakes, cancels its group and stops
    end
  end
end

function Task:cancel(message)
  if getmetatable(self) ~= Task then Error.raise("cancel is a method: call it with a colon, task:cancel()") end
  local me = running()
  if self.co == me then Error.raise("a task cannot cancel itself, nor a task that is resuming it") end
  if self.parent ~= me then parent_rule("cancel") end
  if self.state ~= "running" then
    reap(self) -- a zombie freed, or a task cancelled by another thread stopped now
    return false
  end
  stop(self, message)
  return true
end

function Task:wait()
  if getmetatable(self) ~= Task then Error.raise("wait is a method: call it with a colon, task:wait()") end
  local me = running()
  if self.co == me then Error.raise("a task cannot wait for itself") end
  if self.parent ~= me then parent_rule("wait") end
  check_caller()
  if self.state == "running" then
    local ok, why = wait_thread(self.co)
    self.reaped = true
    if self.state == "running" then
      -- The thread ended outside its xpcall (it cannot, short of a bug): say so.
      self.error = ok and "medusa: the task's light thread ended without its result" or why
      self.traceback = tostring(self.error)
      settle(self, "failed")
    end
  else
    reap(self)
  end
  return outcome(self)
end

---------------------------------------------------------------------------------------
-- Groups
---------------------------------------------------------------------------------------

function cancel_group(group, message)
  local tasks = group.tasks
  for i = 1, #tasks do
    local task = tasks[i]
    if task.state == "running" then stop(task, message) end
  end
end

local function reap_group(group)
  local tasks = group.tasks
  for i = 1, #tasks do reap(tasks[i]) end
end

-- all(owner, list, timeout_ms?) -> results, errs: every function of list as a task (a
-- child of the caller); see medusa.tasks for the rules.
function Engine.all(owner, list, timeout_ms)
  local started = monotonic_ms()
  local n = #list
  local me = check_caller()
  local group = { tasks = {}, left = n, waiting = false }
  for i = 1, n do
    group.tasks[i] = start(owner, group, list[i])
    if group.failed then
      group.left = group.left - (n - i) -- the rest never start
      break
    end
  end
  local timed_out = false
  if group.left > 0 and not group.failed then
    group.wake = semaphore.new(0)
    if me then me.in_group = group end
    local deadline = timeout_ms and started + timeout_ms
    while group.left > 0 and not group.failed do
      if me and me.state ~= "running" then break end -- cancelled while it waited
      local seconds = FOREVER_S
      if deadline then
        local left = deadline - monotonic_ms()
        if left <= 0 then
          timed_out = true
          break
        end
        seconds = left / 1000
      end
      group.waiting = true
      local ok, why = group.wake:wait(seconds)
      group.waiting = false
      if not ok and why ~= "timeout" then
        cancel_group(group, "the wait for the group failed")
        reap_group(group)
        Error.raise("medusa:all could not wait for its tasks: " .. tostring(why))
      end
    end
    if me then me.in_group = nil end
  end
  if me and me.state ~= "running" then
    cancel_group(group, "the task waiting for this group was cancelled")
    reap_group(group)
    error(CANCELLED, 0)
  end
  if group.failed then
    cancel_group(group, "another task of the group raised an error")
    reap_group(group)
    outcome(group.failed)
  end
  if timed_out then cancel_group(group, Scheduler.timeout_message(timeout_ms)) end
  reap_group(group)
  return Scheduler.group_results(group.tasks, n)
end

-- close() of a client: its tasks still running are cancelled (see the header for those
-- another light thread spawned).
function Engine.cancel_owned(owner)
  if not owner.ngx_tasks then return end
  local me = running()
  local list = {}
  for task in pairs(owner.ngx_tasks) do list[#list + 1] = task end
  for i = 1, #list do
    local task = list[i]
    if task.state == "running" and task.co ~= me then stop(task, "the client was closed") end
  end
end

return Engine
