-- spec/nginx/lua/tasks_ngx_cases.lua: task cases that only mean something inside nginx
-- (medusa.tasks.ngx), in the {name, run = function(ctx)} form of spec/tasks_cases.lua and
-- with its ctx; spec/tasks_nginx_spec.lua runs them in a content handler.
local assert = require "luassert"
local cases = {}
local function case(name, run) cases[#cases + 1] = { name = name, run = run } end

local function retrieve(medusa, id)
  return function() return medusa.paymentCollections.retrieve(id) end
end

local function records_for(log, fragment)
  local out = {}
  for _, r in ipairs(log) do
    if r.target and r.target:find(fragment, 1, true) then out[#out + 1] = r end
  end
  return out
end

-- Waits (without blocking the worker, as the server's wait_log would) until the server
-- has n requests.
local function wait_log(ctx, n)
  for _ = 1, 250 do
    local log = ctx.server:log()
    if #log >= n then return log end
    ngx.sleep(0.02)
  end
  error(("expected %d requests at the server"):format(n), 2)
end

local function delayed(id, ms)
  return { match = "/" .. id, delay_ms = ms, json = { payment_collection = { id = id } } }
end

case("ngx: tasks are light threads; medusa:loop() raises inside nginx", function(ctx)
  local medusa = ctx.client()
  local task = medusa:spawn(function() return coroutine.running() end)
  assert.are.equal("ngx", task.engine)
  assert.are.equal("thread", type(task:wait()))
  assert.has_error(function() medusa:loop() end,
    "medusa: loop() is for event loops outside nginx: inside nginx, use spawn/all (light threads)")
end)

case("ngx: only the light thread that spawned a task may wait for it or cancel it", function(ctx)
  local medusa = ctx.client()
  ctx.server:script { delayed("pc_child", 200) }
  local child = medusa:spawn(retrieve(medusa, "pc_child"))
  local sibling = medusa:spawn(function()
    local waited, wait_error = pcall(child.wait, child)
    local cancelled, cancel_error = pcall(child.cancel, child)
    return waited, wait_error, cancelled, cancel_error
  end)
  local waited, wait_error, cancelled, cancel_error = sibling:wait()
  assert.is_false(waited)
  assert.matches("tasks_ngx_cases.lua:%d+: medusa: task:wait%(%) from a light thread that did not spawn the task: inside nginx "
    .. "%(OpenResty's rule%) only the light thread that spawned a task may wait for it or cancel it", wait_error)
  assert.is_false(cancelled)
  assert.matches("tasks_ngx_cases.lua:%d+: medusa: task:cancel%(%) from a light thread that did not spawn the task", cancel_error)
  -- The child goes on untouched, and its parent still has it.
  assert.are.equal("pc_child", child:wait().payment_collection.id)
  -- A task cannot wait for itself either.
  local me
  me = medusa:spawn(function()
    ngx.sleep(0)
    return pcall(me.wait, me)
  end)
  local ok, why = me:wait()
  assert.is_false(ok)
  assert.matches("a task cannot wait for itself", why)
end)

case("ngx: a cancelled request's maxInFlight slot goes to the next task at once", function(ctx)
  local medusa = ctx.client { maxInFlight = 1 }
  ctx.server:script { delayed("pc_held", 3000), delayed("pc_next", 0) }
  local held = medusa:spawn(retrieve(medusa, "pc_held"))
  wait_log(ctx, 1)
  assert.is_true(held:cancel())
  local results, errs = medusa:all({ retrieve(medusa, "pc_next") }, { timeout = 1000 })
  assert.is_nil(errs[1], tostring(errs[1]))
  assert.are.equal("pc_next", results[1].payment_collection.id)
  -- A task that raised holds no slot either.
  local ok = pcall(medusa.all, medusa, { function()
    medusa.paymentCollections.retrieve("pc_any")
    error("raised after a call", 0)
  end })
  assert.is_false(ok)
  results, errs = medusa:all({ retrieve(medusa, "pc_after_raise") }, { timeout = 1000 })
  assert.is_nil(errs[1], tostring(errs[1]))
  assert.are.equal("paycol_default", results[1].payment_collection.id)
end)

case("ngx: a slot held by a light thread nginx killed (the request ended) comes back with the collector", function(ctx)
  local runner = require "tasks_ngx_cases"
  local medusa = runner.shared_client(ctx.url, 1)
  ctx.server:script { delayed("pc_abandoned", 3000) }
  -- A subrequest starts a task on the shared client and ends with ngx.exit: nginx kills
  -- the light thread without running any of its Lua.
  local res = ngx.location.capture("/abandon")
  assert.are.equal(200, res.status, res.body)
  wait_log(ctx, 1)
  collectgarbage()
  collectgarbage()
  local results, errs = medusa:all({ retrieve(medusa, "pc_served") }, { timeout = 1000 })
  assert.is_nil(errs[1], tostring(errs[1]))
  assert.are.equal("paycol_default", results[1].payment_collection.id)
end)

case("ngx: close() from another light thread cancels the tasks at once; they send nothing more", function(ctx)
  local medusa = ctx.client { maxRetries = 3 }
  ctx.server:script {
    { match = "/pc_backoff", status = 503, json = { message = "busy" } }, -- then 500 ms of backoff
    { match = "/pc_backoff", json = { payment_collection = { id = "pc_backoff" } } },
  }
  local task = medusa:spawn(retrieve(medusa, "pc_backoff"))
  wait_log(ctx, 1)
  ngx.sleep(0.1) -- in its backoff now
  local closer = medusa:spawn(function() medusa:close() end)
  closer:wait()
  assert.is_true(task:done())
  local res, err = task:wait()
  assert.is_nil(res)
  assert.are.equal("cancelled", err.type)
  assert.are.equal("the client was closed", err.message)
  ngx.sleep(0.8) -- past the backoff
  assert.are.equal(1, #records_for(ctx.server:log(), "/pc_backoff"))
end)

case("ngx: cancelling a task that waits in medusa:all cancels that group's tasks too", function(ctx)
  local medusa = ctx.client()
  ctx.server:script { delayed("pc_g1", 600), delayed("pc_g2", 600) }
  local inner_errs
  local outer = medusa:spawn(function()
    local _, errs = medusa:all { retrieve(medusa, "pc_g1"), retrieve(medusa, "pc_g2") }
    inner_errs = errs
    return "not reached"
  end)
  wait_log(ctx, 2)
  assert.is_true(outer:cancel())
  local res, err = outer:wait()
  assert.is_nil(res)
  assert.are.equal("cancelled", err.type)
  assert.is_nil(inner_errs)
  -- The group's tasks are settled at once: the server still holds their requests, and
  -- they end (their sockets closed, nothing sent after) without anyone waiting.
  ngx.sleep(0.8)
  assert.are.equal(2, #ctx.server:log())
end)

case("ngx: tasks in an ngx.timer callback are light threads too", function(ctx)
  local url = ctx.url
  local out
  local ok, why = ngx.timer.at(0, function(premature)
    if premature then return end
    local Medusa = require "medusa"
    local medusa = Medusa.new { baseUrl = url }
    local results, errs = medusa:all { retrieve(medusa, "pc_t1"), retrieve(medusa, "pc_t2") }
    local task = medusa:spawn(retrieve(medusa, "pc_t3"))
    out = { results = results, errs = errs, engine = task.engine, third = task:wait() }
    medusa:close()
  end)
  assert.is_truthy(ok, why)
  for _ = 1, 100 do
    if out then break end
    ngx.sleep(0.02)
  end
  assert.is_table(out)
  assert.are.equal("ngx", out.engine)
  assert.are.equal(2, out.results.n)
  assert.is_nil(out.errs[1])
  assert.is_nil(out.errs[2])
  assert.are.equal("paycol_default", out.third.payment_collection.id)
end)

-- A client kept across requests (module level), for the abandon case.
local shared = {}
function cases.shared_client(url, max)
  local key = url .. "|" .. max
  if not shared[key] then shared[key] = require("medusa").new { baseUrl = url, maxInFlight = max } end
  return shared[key]
end

-- /abandon: a task on the shared client, then ngx.exit with its request in flight.
function cases.abandon(url)
  local medusa = cases.shared_client(url, 1)
  medusa:spawn(retrieve(medusa, "pc_abandoned"))
  ngx.sleep(0.1) -- sent, and waiting for its answer
  ngx.exit(200)
end

return cases
