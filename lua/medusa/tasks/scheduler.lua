-- medusa.tasks.scheduler: many calls in flight from plain Lua. A task is a coroutine;
-- inside one, the libcurl transport's send() hands its request to the client's multi
-- handle (src/multi.c) and yields here, and sleep() (a retry's backoff) becomes a timer,
-- so the pipeline's retry loop runs unchanged while other tasks go on. The scheduler is
-- one per Lua state: a ready queue, a timer heap, and the lanes (one per client: its
-- multi, its maxInFlight slots and the tasks queued for one). It runs while somebody
-- waits (task:wait(), all()) outside any task, or when an event loop calls step() on
-- its loop() object; it never runs by itself.
local core = require "medusa.core"
local Error = require "medusa.error"

local Scheduler = {}

local monotonic_ms = core.monotonic_ms
local CANCELLED = core.contract.types.cancelled
local resume, yield, status, running = coroutine.resume, coroutine.yield, coroutine.status, coroutine.running
local unpack = rawget(table, "unpack") or rawget(_G, "unpack")
local floor, ceil = math.floor, math.ceil

-- Lua 5.3, 5.4 and LuaJIT say whether a yield would cross a C call (a table.sort
-- comparator, a gsub callback, a C library's callback); 5.1 and 5.2 cannot tell, and
-- there a call in such a place raises "attempt to yield across a C-call boundary".
local isyieldable = rawget(coroutine, "isyieldable") or function() return true end
-- Closes a suspended coroutine's to-be-closed variables (5.4); elsewhere it is dropped.
local close_coroutine = rawget(coroutine, "close") or function() end

-- What a task yields to the scheduler; any other yield is a user's own and is refused.
local WAKE = setmetatable({}, { __name = "medusa.tasks.wake", __tostring = function() return "medusa.tasks.wake" end })

local function pack(...) return { n = select("#", ...), ... } end

---------------------------------------------------------------------------------------
-- State
---------------------------------------------------------------------------------------

-- coroutine -> its task, while it runs. Entries are removed when a task ends (notify): a
-- weak table would do that too, but a weak-keyed table whose values reach their keys is
-- an ephemeron table, which the collector re-traverses until it converges, and with a
-- batch of tasks that cost more than the tasks themselves.
local by_coroutine = {}
local ready, ready_head, ready_tail = {}, 1, 0            -- FIFO of tasks to resume
local timers, timer_seq = {}, 0                           -- binary heap on (due, seq)
local lanes = {}                                          -- every open lane, in creation order
local poller                                              -- one fd over every lane's multi
local running_count = 0                                   -- tasks not yet ended
-- Whether turn() runs now: work added outside it (a spawn or cancel from an event loop's
-- own callback) wakes the loop's fd, or a loop waiting on the fd alone would not see it.
local turning = false
local the_loop

local function wake_loop()
  if the_loop and not turning then poller:wake() end
end

-- A task is resumed with at most two values (a transport's response, failure): kept on
-- the task rather than in a table per wake-up, as a batch makes hundreds of these.
local function push_ready(task, a, b)
  ready_tail = ready_tail + 1
  ready[ready_tail] = task
  task.resume_a, task.resume_b = a, b
  wake_loop()
end

local function earlier(a, b) return a.due < b.due or (a.due == b.due and a.seq < b.seq) end

local function heap_push(entry)
  timer_seq = timer_seq + 1
  entry.seq = timer_seq
  local i = #timers + 1
  timers[i] = entry
  while i > 1 do
    local parent = floor(i / 2)
    if not earlier(timers[i], timers[parent]) then break end
    timers[i], timers[parent] = timers[parent], timers[i]
    i = parent
  end
end

local function heap_pop()
  local top, n = timers[1], #timers
  -- Two statements: `timers[1], timers[n] = timers[n], nil` leaves the order of the two
  -- stores to the implementation, and with n == 1 the top would stay.
  timers[1] = timers[n]
  timers[n] = nil
  n = n - 1
  local i = 1
  while true do
    local l, r, m = 2 * i, 2 * i + 1, i
    if l <= n and earlier(timers[l], timers[m]) then m = l end
    if r <= n and earlier(timers[r], timers[m]) then m = r end
    if m == i then break end
    timers[i], timers[m] = timers[m], timers[i]
    i = m
  end
  return top
end

-- A timer entry {due, fire = function} or {due, task}; cancelled entries are marked dead
-- and skipped when they come up (removing from the middle of a heap costs more).
local function add_timer(ms, entry)
  entry.due = monotonic_ms() + ms
  heap_push(entry)
  return entry
end

local function drop_dead_timers()
  while timers[1] and timers[1].dead do heap_pop() end
end

---------------------------------------------------------------------------------------
-- Tasks
---------------------------------------------------------------------------------------

local Task = {}
Task.__index = Task
Task.__name = "medusa.Task"
-- What runs the task: "curl" here, "ngx" for medusa.tasks.ngx's light threads.
Task.engine = "curl"
Scheduler.Task = Task

function Task.__tostring(task)
  return ("medusa.Task (%s)"):format(task.state)
end

-- The task running the caller's code, when it may yield; nil outside any task, in a
-- coroutine of the user's own inside a task, and where a yield would cross a C call
-- (then the call blocks instead, which is always correct, only not concurrent).
function Scheduler.current()
  -- Shaped for speed: with no task alive the caller is none, and a blocking call (every
  -- call outside medusa:spawn/all) is spared coroutine.running, a C call.
  if running_count == 0 then return nil end
  local task = by_coroutine[running()]
  if task and isyieldable() then return task end
end

-- Whether the caller runs inside a task at all (yieldable or not).
local function inside_task()
  return by_coroutine[running()]
end

local function notify(task)
  by_coroutine[task.co] = nil
  local owned = task.owner and task.owner.tasks
  if owned then owned[task] = nil end
  local waiters = task.waiters
  task.waiters = nil
  running_count = running_count - 1
  if waiters then
    for i = 1, #waiters do waiters[i](task) end
  end
end

-- fn(task) runs when the task ends; the list is made on the first one (most tasks of an
-- all have one waiter, many have none).
local function add_waiter(task, fn)
  local waiters = task.waiters
  if waiters then waiters[#waiters + 1] = fn else task.waiters = { fn } end
end

-- What a worker coroutine yields when its task's function returned: FINISHED and the
-- packed results; it then waits for its next task (see worker below).
local FINISHED = setmetatable({}, { __name = "medusa.tasks.finished" })

-- Suspended workers waiting for a task: a task runs on one of these instead of a new
-- coroutine (creating, then collecting, one coroutine per call was a tenth of a batch's
-- CPU). A worker whose task raised or was cancelled is dead and not kept.
-- Not inside nginx: there the lua module's coroutines belong to the request that made
-- them, and one reused by a later request crashed the worker (SIGSEGV).
local idle_workers = {}
local MAX_IDLE_WORKERS = rawget(_G, "ngx") and 0 or 256

local function worker(fn, args)
  while true do
    if args then
      fn, args = yield(FINISHED, pack(fn(unpack(args, 1, args.n))))
    else
      fn, args = yield(FINISHED, pack(fn()))
    end
  end
end

-- What coroutine.resume gave back for a task.
local function settle(task, ok, first, results)
  if task.state ~= "running" then return end -- cancelled while it ran
  local co = task.co
  if ok and first == WAKE then return end -- it waits for something it registered
  if ok and first == FINISHED then
    task.results = results
    if #idle_workers < MAX_IDLE_WORKERS then idle_workers[#idle_workers + 1] = co end
  elseif ok then
    -- A yield that is not medusa's: the task cannot be resumed with what it expects.
    task.blocked = nil
    ok = false
    task.error = "medusa: a task yielded to its scheduler (coroutine.yield inside a task must be "
      .. "inside a coroutine of your own)"
    task.traceback = debug.traceback(co, task.error)
    close_coroutine(co)
  else
    task.error = first
    task.traceback = debug.traceback(co, tostring(first))
  end
  task.state = ok and "done" or "failed"
  notify(task)
end

local function run(task, ...)
  return settle(task, resume(task.co, ...))
end

-- Inside a task: gives control back until the scheduler resumes it with the values of
-- what it waited for.
local function suspend()
  return yield(WAKE)
end

---@param owner table  the client the task was spawned from (its close() cancels it)
function Scheduler.spawn(owner, fn, ...)
  local args = select("#", ...) > 0 and pack(...) or nil
  local task = setmetatable({ state = "running", engine = "curl", owner = owner }, Task)
  local n = #idle_workers
  local co = idle_workers[n]
  if co then
    idle_workers[n] = nil
  else
    co = coroutine.create(worker)
  end
  task.co = co
  by_coroutine[co] = task
  running_count = running_count + 1
  if owner then
    owner.tasks = owner.tasks or {} -- its tasks while they run (close() cancels them)
    owner.tasks[task] = true
  end
  run(task, fn, args) -- it starts now, up to its first wait
  return task
end

function Task:done()
  return self.state ~= "running"
end

-- The values of an ended task: its function's results, or its error raised again
-- (a string carries the task's traceback).
local function outcome(task)
  if task.state == "failed" then
    local err = task.error
    if type(err) == "string" then error(task.traceback, 0) end
    error(err, 0)
  end
  return unpack(task.results, 1, task.results.n)
end
Scheduler.outcome = outcome

---------------------------------------------------------------------------------------
-- Lanes: a client's multi and its requests in flight
---------------------------------------------------------------------------------------

local function ensure_poller()
  if not poller then poller = core.poller_new() end
  return poller
end

-- The lane of a transport (one per client): made on its first request inside a task.
function Scheduler.lane(max_in_flight)
  local multi = core.multi_new(max_in_flight)
  local lane = { multi = multi, fd = multi:fd(), max = max_in_flight, in_flight = 0,
                 queue = {}, by_id = {} }
  ensure_poller():add(lane.fd)
  lanes[#lanes + 1] = lane
  return lane
end

local function give_slot(lane)
  local next_task = lane.queue[1] and table.remove(lane.queue, 1)
  if next_task then
    next_task.blocked = nil
    push_ready(next_task) -- the slot passes to it: in_flight stays
  else
    lane.in_flight = lane.in_flight - 1
  end
end

-- Inside a task: sends request on the lane, waiting for a slot first when maxInFlight
-- requests are in flight, and returns what the transport returns.
function Scheduler.transfer(task, lane, request)
  task.request = request
  if lane.in_flight >= lane.max then
    lane.queue[#lane.queue + 1] = task
    task.blocked = { lane = lane, queued = true }
    suspend()
  else
    lane.in_flight = lane.in_flight + 1
  end
  local id, failure = lane.multi:add(request)
  if not id then
    give_slot(lane)
    return nil, failure
  end
  lane.by_id[id] = task
  -- In flight: fields of the task rather than a `blocked` table, as every call of a
  -- batch passes here (the rarer waits below use one).
  task.lane, task.transfer_id = lane, id
  wake_loop() -- libcurl starts it on the next step
  return suspend()
end

-- Inside a task: a timer instead of a blocking sleep.
function Scheduler.sleep(task, ms)
  task.blocked = { timer = add_timer(ms, { task = task }) }
  suspend()
end

local function step_lane(lane)
  local finished = lane.multi:step()
  if not finished then return end
  for i = 1, #finished do
    local id = finished[i]
    local task = lane.by_id[id]
    lane.by_id[id] = nil
    local response, failure = lane.multi:result(id, task.request.header_rules)
    task.transfer_id = nil
    give_slot(lane)
    push_ready(task, response, failure)
  end
end

function Scheduler.close_lane(lane)
  for _, task in pairs(lane.by_id) do task:cancel("the client was closed") end
  for i = #lane.queue, 1, -1 do lane.queue[i]:cancel() end
  for i = #lanes, 1, -1 do
    if lanes[i] == lane then table.remove(lanes, i) end
  end
  if poller then poller:remove(lane.fd) end
  lane.multi:close()
end

---------------------------------------------------------------------------------------
-- Running: the ready queue, then I/O and timers
---------------------------------------------------------------------------------------

local function run_ready()
  while ready_head <= ready_tail do
    local task = ready[ready_head]
    ready[ready_head] = nil
    ready_head = ready_head + 1
    if task.state == "running" then
      local a, b = task.resume_a, task.resume_b
      task.resume_a, task.resume_b = nil, nil
      run(task, a, b)
    end
  end
  ready_head, ready_tail = 1, 0 -- empty: start again at 1, so the array part is reused
end

local function fire_timers()
  local now = monotonic_ms()
  drop_dead_timers()
  while timers[1] and timers[1].due <= now do
    local entry = heap_pop()
    if not entry.dead then
      if entry.task then
        entry.task.blocked = nil
        push_ready(entry.task)
      else
        entry.fire()
      end
    end
    drop_dead_timers()
  end
end

-- Does everything due now without waiting.
local function turn()
  local outer = turning
  turning = true
  if the_loop then poller:drain() end
  run_ready()
  for i = 1, #lanes do
    local lane = lanes[i]
    if lane.in_flight > 0 then step_lane(lane) end
  end
  fire_timers()
  run_ready()
  turning = outer
end

-- Milliseconds until turn() has work without a socket event: 0 now, -1 only on a socket
-- event, nil when nothing is pending at all.
local function next_timeout()
  if ready_head <= ready_tail then return 0 end
  local ms
  drop_dead_timers()
  if timers[1] then ms = math.max(0, timers[1].due - monotonic_ms()) end
  for i = 1, #lanes do
    local lane = lanes[i]
    if lane.in_flight > 0 then
      local t = lane.multi:timeout()
      if t >= 0 then
        if ms == nil or ms == -1 or t < ms then ms = t end
      elseif ms == nil then
        ms = -1
      end
    end
  end
  return ms
end

-- Runs the scheduler until done() is true, blocking in poll(2) when nothing is ready.
local function run_until(done)
  while true do
    turn()
    if done() then return end
    local ms = next_timeout()
    if ms == nil then
      Error.raise("the tasks being waited for can never end: they wait for each other")
    end
    if ms ~= 0 then ensure_poller():wait(ms < 0 and -1 or ceil(ms)) end
  end
end
Scheduler.run_until = run_until

---------------------------------------------------------------------------------------
-- Waiting, cancelling, groups
---------------------------------------------------------------------------------------

-- task:wait() -> what its function returned (re-raises what it raised).
function Task:wait()
  if getmetatable(self) ~= Task then Error.raise("wait is a method: call it with a colon, task:wait()") end
  if self.state == "running" then
    local me = Scheduler.current()
    if me == self or (me == nil and inside_task() == self) then Error.raise("a task cannot wait for itself") end
    if me then
      local waiter = function() push_ready(me) end
      add_waiter(self, waiter)
      me.blocked = { on = self, waiter = waiter }
      suspend()
    else
      run_until(function() return self.state ~= "running" end)
    end
  end
  return outcome(self)
end

local function cancelled_error(task, message)
  local request = task.request
  return Error.new {
    type = CANCELLED, code = CANCELLED, message = message or "the task was cancelled",
    attempts = request and request.attempts or 0,
    method = request and request.method, url = request and request.url,
  }
end
Scheduler.cancelled_error = cancelled_error

local function remove_value(list, value)
  for i = #list, 1, -1 do
    if list[i] == value then table.remove(list, i) end
  end
end

local cancel_group

-- Stops whatever the task waits for; it sends nothing more.
local function unblock(task)
  local id = task.transfer_id
  if id then
    task.transfer_id = nil
    task.lane.by_id[id] = nil
    task.lane.multi:cancel(id)
    give_slot(task.lane)
  end
  local b = task.blocked
  task.blocked = nil
  if not b then return end
  if b.queued then
    remove_value(b.lane.queue, task)
  elseif b.timer then
    b.timer.dead = true
  elseif b.on then
    if b.on.waiters then remove_value(b.on.waiters, b.waiter) end
  elseif b.group then
    cancel_group(b.group, "the task waiting for this group was cancelled")
  end
end

-- task:cancel(): its pending request is abandoned, no retry follows, and its result is
-- nil, err with err.type "cancelled". true when it was still running.
function Task:cancel(message)
  if getmetatable(self) ~= Task then Error.raise("cancel is a method: call it with a colon, task:cancel()") end
  if self.state ~= "running" then return false end
  local s = status(self.co)
  if s == "running" or s == "normal" then
    Error.raise("a task cannot cancel itself, nor a task that is resuming it")
  end
  unblock(self)
  self.state = "cancelled"
  self.results = pack(nil, cancelled_error(self, message))
  close_coroutine(self.co)
  notify(self)
  return true
end

function cancel_group(group, message)
  if group.deadline then group.deadline.dead = true end
  for i = 1, #group.tasks do
    local task = group.tasks[i]
    if task.state == "running" and status(task.co) == "suspended" then task:cancel(message) end
  end
end

-- all(owner, list, timeout_ms?) -> results, errs: every function of list as a task; see
-- medusa.tasks for the rules.
function Scheduler.all(owner, list, timeout_ms)
  local n = #list
  local group = { tasks = {}, left = n }
  local function wake()
    if group.waiter then
      local waiter = group.waiter
      group.waiter = nil
      waiter.blocked = nil
      push_ready(waiter)
    end
  end
  local function ended(task)
    group.left = group.left - 1
    if task.state == "failed" and not group.failed then group.failed = task end
    if group.left == 0 or group.failed then wake() end
  end
  if timeout_ms then
    group.deadline = add_timer(timeout_ms, { fire = function() group.timed_out = true; wake() end })
  end
  for i = 1, n do
    local task = Scheduler.spawn(owner, list[i])
    group.tasks[i] = task
    if task.state == "running" then add_waiter(task, ended) else ended(task) end
    if group.failed then
      group.left = group.left - (n - i) -- the rest never start
      break
    end
  end
  local function finished() return group.left <= 0 or group.failed ~= nil or group.timed_out end
  if not finished() then
    local me = Scheduler.current()
    if me then
      group.waiter = me
      me.blocked = { group = group }
      suspend()
    else
      run_until(finished)
    end
  end
  if group.failed then
    cancel_group(group, "another task of the group raised an error")
    outcome(group.failed)
  end
  if group.timed_out then
    cancel_group(group, Scheduler.timeout_message(timeout_ms))
  elseif group.deadline then
    group.deadline.dead = true
  end
  return Scheduler.group_results(group.tasks, n)
end

-- What an ended group's tasks returned, as all() returns it (both engines).
function Scheduler.group_results(tasks, n)
  local results, errs = { n = n }, { n = n }
  for i = 1, n do
    local values = tasks[i].results
    results[i], errs[i] = values[1], values[2]
  end
  return results, errs
end

-- The message of a task cancelled by its group's timeout (both engines).
function Scheduler.timeout_message(timeout_ms)
  return ("the group's timeout (%d ms) passed"):format(timeout_ms)
end

-- close() of a client: its tasks still running are cancelled.
function Scheduler.cancel_owned(owner)
  if not owner.tasks then return end
  local list = {}
  for task in pairs(owner.tasks) do list[#list + 1] = task end
  for i = 1, #list do
    local task = list[i]
    if task.state == "running" and status(task.co) == "suspended" then task:cancel("the client was closed") end
  end
end

---------------------------------------------------------------------------------------
-- The face for an event loop that already runs (cqueues, luv, ...)
---------------------------------------------------------------------------------------

local Loop = {}
Loop.__index = Loop
Loop.__name = "medusa.Loop"

function Loop.__tostring()
  return ("medusa.Loop (%d tasks running)"):format(running_count)
end

-- A descriptor that is readable when a socket of any client's request is: poll it.
function Loop.fd() return ensure_poller():fd() end
-- Milliseconds until step() has work without the fd becoming readable: 0 for now, -1
-- for never (only the fd), nil when no task is running.
function Loop.next_timeout()
  if running_count == 0 then return nil end
  return next_timeout() or -1
end
-- Does everything due now (ready tasks, finished requests, timers), never blocking;
-- returns the number of tasks still running.
function Loop.step()
  turn()
  return running_count
end
function Loop.alive() return running_count > 0 end
-- cqueues's polling protocol: cqueues.poll(loop) waits for the fd or the timeout.
function Loop:pollfd() return self:fd() end
function Loop.events() return "r" end
function Loop:timeout()
  local ms = self:next_timeout()
  if ms == nil or ms < 0 then return nil end
  return ms / 1000
end

function Scheduler.loop()
  if not the_loop then
    ensure_poller()
    the_loop = setmetatable({}, Loop)
  end
  return the_loop
end

function Scheduler.running_count() return running_count end

return Scheduler
