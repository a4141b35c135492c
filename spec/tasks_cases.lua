-- spec/tasks_cases.lua: the concurrency cases (medusa:spawn, medusa:all, task:wait,
-- task:cancel), written once for both engines: spec/tasks_spec.lua runs them in plain Lua
-- (the coroutine scheduler over libcurl's multi), spec/tasks_nginx_spec.lua inside a
-- content handler (ngx.thread over cosockets). Concurrency is proved by what the scripted
-- server saw (spec/support/server.py: arrival order, requests in flight at once,
-- connections), never by a stopwatch.
--   ctx.server            the scripted server (reset before every case)
--   ctx.client(config?)   a Medusa instance on ctx.server (closed after the case)
--   ctx.engine            "curl" or "ngx": what must run the tasks
local assert = require "luassert"

local cases = {}
local function case(name, run) cases[#cases + 1] = { name = name, run = run } end

local function header(record, name)
  for _, h in ipairs(record.headers) do
    if h[1]:lower() == name:lower() then return h[2] end
  end
end

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

-- The most requests of these records the server held at once (from their arrival and
-- answer times: a request still held by an earlier case does not count), and the number
-- of connections they came on.
local function overlap(records)
  local most, conns, seen = 0, 0, {}
  for _, r in ipairs(records) do
    local at = 0
    for _, o in ipairs(records) do
      if o.t_ms <= r.t_ms and (o.t_done_ms == nil or o.t_done_ms > r.t_ms) then at = at + 1 end
    end
    if at > most then most = at end
    if not seen[r.conn] then seen[r.conn], conns = true, conns + 1 end
  end
  return most, conns
end
cases.overlap = overlap

case("100 tasks against a delayed route overlap, never more than maxInFlight at once, over reused connections", function(ctx)
  local medusa = ctx.client { maxInFlight = 10 }
  local steps, list = {}, {}
  for i = 1, 100 do
    local id = ("pc_%03d"):format(i)
    steps[i] = { match = "/" .. id, delay_ms = 50, json = { payment_collection = { id = id } } }
    list[i] = retrieve(medusa, id)
  end
  ctx.server:script(steps)
  local results, errs = medusa:all(list)
  assert.are.equal(100, results.n)
  for i = 1, 100 do
    assert.is_nil(errs[i], tostring(errs[i]))
    assert.are.equal(("pc_%03d"):format(i), results[i].payment_collection.id)
  end
  local log = ctx.server:log()
  assert.are.equal(100, #log)
  local most, conns = overlap(log)
  assert.are.equal(10, most) -- reached, never passed
  assert.is_true(conns <= 10, "connections: " .. conns)
end)

case("mixed tasks each get their own result; a retried POST keeps its Idempotency-Key", function(ctx)
  local medusa = ctx.client { maxRetries = 2, maxRetryDelay = 100 }
  ctx.server:script {
    { match = "/pc_missing", status = 404, json = { type = "not_found", message = "no such collection" } },
    { match = "/pc_flaky/sessions", status = 503, json = { message = "busy" } },
    { match = "/pc_flaky/sessions", json = { payment_collection = { id = "pc_flaky" } } },
    { match = "/pc_fine", delay_ms = 30, json = { payment_collection = { id = "pc_fine" } } },
    { match = "/pc_other/sessions", json = { payment_collection = { id = "pc_other" } } },
  }
  local results, errs = medusa:all {
    retrieve(medusa, "pc_missing"),
    function() return medusa.paymentCollections.managePaymentSession("pc_flaky", { provider_id = "manual" }) end,
    retrieve(medusa, "pc_fine"),
    function() return medusa.paymentCollections.managePaymentSession("pc_other", { provider_id = "manual" }) end,
  }
  assert.is_nil(results[1])
  assert.are.equal(404, errs[1].status)
  assert.are.equal("not_found", errs[1].type)
  assert.are.equal("pc_flaky", results[2].payment_collection.id)
  assert.are.equal("pc_fine", results[3].payment_collection.id)
  assert.are.equal("pc_other", results[4].payment_collection.id)
  local log = ctx.server:log()
  local flaky = records_for(log, "/pc_flaky/sessions")
  assert.are.equal(2, #flaky)
  local key = header(flaky[1], "Idempotency-Key")
  assert.is_string(key)
  assert.are.equal(key, header(flaky[2], "Idempotency-Key"))
  assert.are_not.equal(key, header(records_for(log, "/pc_other/sessions")[1], "Idempotency-Key"))
  assert.are.equal(flaky[1].body, flaky[2].body)
end)

case("a task in backoff holds no slot: with maxInFlight 1 another task is served during the wait", function(ctx)
  local medusa = ctx.client { maxInFlight = 1, maxRetries = 1 }
  ctx.server:script {
    { match = "/pc_retry", status = 503, json = { message = "busy" } }, -- then a 500 ms backoff
    { match = "/pc_retry", json = { payment_collection = { id = "pc_retry" } } },
    { match = "/pc_during", delay_ms = 100, json = { payment_collection = { id = "pc_during" } } },
  }
  local results, errs = medusa:all {
    retrieve(medusa, "pc_retry"),
    retrieve(medusa, "pc_during"),
  }
  assert.is_nil(errs[1], tostring(errs[1]))
  assert.is_nil(errs[2], tostring(errs[2]))
  assert.are.equal("pc_retry", results[1].payment_collection.id)
  local log = ctx.server:log()
  local retry, during = records_for(log, "/pc_retry"), records_for(log, "/pc_during")
  assert.are.equal(2, #retry)
  -- pc_during was answered wholly between the first attempt and the retry.
  assert.is_true(during[1].t_ms >= retry[1].t_done_ms)
  assert.is_true(during[1].t_done_ms <= retry[2].t_ms)
  assert.are.equal(1, (overlap(log)))
end)

case("cancel before send: a task queued for a slot never sends", function(ctx)
  local medusa = ctx.client { maxInFlight = 1 }
  ctx.server:script { { match = "/pc_first", delay_ms = 100, json = { payment_collection = { id = "pc_first" } } } }
  local first = medusa:spawn(retrieve(medusa, "pc_first"))
  local queued = medusa:spawn(retrieve(medusa, "pc_queued"))
  assert.is_false(queued:done())
  assert.is_true(queued:cancel())
  assert.is_false(queued:cancel()) -- once only
  local res, err = queued:wait()
  assert.is_nil(res)
  assert.are.equal("cancelled", err.type)
  assert.are.equal("pc_first", first:wait().payment_collection.id)
  assert.are.same({}, records_for(ctx.server:log(), "/pc_queued"))
end)

-- Runs the scheduler for a while (a task whose answer is delayed by ms), as a caller
-- waiting for something else would.
local function keep_running(ctx, medusa, name, ms)
  ctx.server:append { { match = "/" .. name, delay_ms = ms, json = { payment_collection = { id = name } } } }
  assert.are.equal(name, medusa:spawn(retrieve(medusa, name)):wait().payment_collection.id)
end

case("cancel during send: the request is abandoned and nothing is sent after it", function(ctx)
  local medusa = ctx.client { maxRetries = 3 }
  ctx.server:script { { match = "/pc_slow", delay_ms = 1500, json = { payment_collection = { id = "pc_slow" } } } }
  local slow = medusa:spawn(retrieve(medusa, "pc_slow"))
  keep_running(ctx, medusa, "pc_tick", 100)
  assert.are.equal(1, #records_for(ctx.server:log(), "/pc_slow")) -- it was sent
  assert.is_false(slow:done())
  assert.is_true(slow:cancel())
  local res, err = slow:wait()
  assert.is_nil(res)
  assert.are.equal("cancelled", err.type)
  assert.are.equal("GET", err.method)
  assert.matches("/store/payment%-collections/pc_slow$", err.url)
  -- Longer than any retry's backoff: still one request.
  keep_running(ctx, medusa, "pc_later", 800)
  assert.are.equal(1, #records_for(ctx.server:log(), "/pc_slow"))
end)

case("cancel during backoff: no retry is sent", function(ctx)
  local medusa = ctx.client { maxRetries = 3 }
  ctx.server:script {
    { match = "/pc_backoff", status = 503, json = { message = "busy" } }, -- then 500 ms of backoff
    { match = "/pc_backoff", json = { payment_collection = { id = "pc_backoff" } } },
  }
  local task = medusa:spawn(retrieve(medusa, "pc_backoff"))
  keep_running(ctx, medusa, "pc_tick", 150)
  assert.are.equal(1, #records_for(ctx.server:log(), "/pc_backoff"))
  assert.is_false(task:done()) -- in backoff
  assert.is_true(task:cancel())
  local res, err = task:wait()
  assert.is_nil(res)
  assert.are.equal("cancelled", err.type)
  keep_running(ctx, medusa, "pc_later", 900) -- past the backoff
  assert.are.equal(1, #records_for(ctx.server:log(), "/pc_backoff"))
end)

case("the group timeout cancels what still runs; what ended keeps its result", function(ctx)
  local medusa = ctx.client()
  ctx.server:script {
    { match = "/pc_quick", json = { payment_collection = { id = "pc_quick" } } },
    { match = "/pc_stuck", delay_ms = 3000, json = { payment_collection = { id = "pc_stuck" } } },
  }
  local results, errs = medusa:all({ retrieve(medusa, "pc_quick"), retrieve(medusa, "pc_stuck") }, { timeout = 300 })
  -- all() returned while the server still held the stuck request.
  assert.is_nil(records_for(ctx.server:log(), "/pc_stuck")[1].t_done_ms)
  assert.are.equal("pc_quick", results[1].payment_collection.id)
  assert.is_nil(errs[1])
  assert.is_nil(results[2])
  assert.are.equal("cancelled", errs[2].type)
  assert.matches("timeout %(300 ms%)", errs[2].message)
end)

case("a raising task cancels the others and all re-raises its error with the task's traceback", function(ctx)
  local medusa = ctx.client()
  ctx.server:script { { match = "/pc_long", delay_ms = 3000, json = {} } }
  local function explode() error("task exploded", 0) end
  local ok, err = pcall(medusa.all, medusa, {
    retrieve(medusa, "pc_long"),
    function() medusa.paymentCollections.retrieve("pc_first_call") explode() end,
  })
  assert.is_false(ok)
  assert.matches("^task exploded", err)
  assert.matches("stack traceback", err)
  assert.matches("explode", err)
  assert.is_nil(records_for(ctx.server:log(), "/pc_long")[1].t_done_ms) -- not waited for
end)

case("spawn returns at once; wait returns the function's results, all of them", function(ctx)
  local medusa = ctx.client()
  ctx.server:script { { match = "/pc_a", delay_ms = 50, json = { payment_collection = { id = "pc_a" } } } }
  local task = medusa:spawn(function(id, extra)
    local res, err = medusa.paymentCollections.retrieve(id)
    return res and res.payment_collection.id, err, extra
  end, "pc_a", "third")
  assert.is_false(task:done())
  assert.are.equal(ctx.engine, task.engine)
  local id, err, extra = task:wait()
  assert.are.equal("pc_a", id)
  assert.is_nil(err)
  assert.are.equal("third", extra)
  assert.is_true(task:done())
  assert.are.equal("pc_a", (task:wait())) -- waiting again gives the same
  -- a resource method with its arguments, as medusa:spawn(medusa.paymentCollections.retrieve, id)
  local direct = medusa:spawn(medusa.paymentCollections.retrieve, "pc_direct")
  assert.are.equal("paycol_default", direct:wait().payment_collection.id)
end)

case("tasks spawn and wait for tasks; all works inside a task", function(ctx)
  local medusa = ctx.client()
  local steps = {}
  for i = 1, 6 do steps[i] = { delay_ms = 50, json = { payment_collection = { id = "pc_n" .. i } } } end
  ctx.server:script(steps)
  local outer = medusa:spawn(function()
    local inner = medusa:spawn(retrieve(medusa, "pc_x"))
    local results = medusa:all { retrieve(medusa, "pc_y"), retrieve(medusa, "pc_z") }
    return inner:wait().payment_collection.id ~= nil, #results
  end)
  local ok, n = outer:wait()
  assert.is_true(ok)
  assert.are.equal(2, n)
  local log = ctx.server:log()
  assert.are.equal(3, #log)
  assert.is_true(overlap(log) >= 2)
end)

case("close() cancels the client's tasks in flight; later calls raise", function(ctx)
  local medusa = ctx.client()
  ctx.server:script {
    { match = "/pc_c1", delay_ms = 2000, json = {} },
    { match = "/pc_c2", delay_ms = 2000, json = {} },
  }
  local a = medusa:spawn(retrieve(medusa, "pc_c1"))
  local b = medusa:spawn(retrieve(medusa, "pc_c2"))
  medusa:close()
  for _, task in ipairs { a, b } do
    assert.is_true(task:done())
    local res, err = task:wait()
    assert.is_nil(res)
    assert.are.equal("cancelled", err.type)
  end
  assert.has_error(function() medusa.paymentCollections.retrieve("pc_after") end)
end)

case("an empty list, and tasks that send nothing, end at once", function(ctx)
  local medusa = ctx.client()
  local results, errs = medusa:all {}
  assert.are.equal(0, results.n)
  assert.are.equal(0, errs.n)
  results, errs = medusa:all { function() return 1, 2 end, function() return nil, "no" end }
  assert.are.same({ 1, nil }, { results[1], results[2] })
  assert.are.same({ 2, "no" }, { errs[1], errs[2] })
  assert.are.equal(0, #ctx.server:log())
end)

case("programmer errors raise, naming the argument", function(ctx)
  local medusa = ctx.client()
  assert.has_error(function() medusa:spawn("nope") end,
    "medusa: bad argument 'fn' (expected a function, got \"nope\" (a string))")
  assert.has_error(function() medusa:all { function() end, 42 } end,
    "medusa: bad argument 'list[2]' (expected a function, got 42)")
  assert.has_error(function() medusa:all("x") end)
  assert.has_error(function() medusa:all({}, { timeout = -1 }) end)
  assert.has_error(function() medusa:all({}, { timout = 5 }) end)
  assert.has_error(function() medusa.all({}) end)
end)

return cases
