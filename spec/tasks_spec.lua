-- spec/tasks_spec.lua: concurrency in plain Lua: the shared cases of spec/tasks_cases.lua
-- through the coroutine scheduler over libcurl's multi interface, and what only plain
-- Lua has: the blocking fallback where a task cannot yield, waits that can never end,
-- calls outside any task, many transfers in a row.
local Medusa = require "medusa"
local Server = require "support.server"
local cases = require "tasks_cases"

local srv
local clients = {}

local ctx = {
  engine = "curl",
  client = function(config)
    config = config or {}
    config.baseUrl = srv.url
    local medusa = Medusa.new(config)
    clients[#clients + 1] = medusa
    return medusa
  end,
}

setup(function()
  srv = Server.start {}
  ctx.server = srv
end)
teardown(function()
  if srv then srv:stop() end
end)
before_each(function() srv:reset() end)
after_each(function()
  for i = #clients, 1, -1 do
    clients[i]:close()
    clients[i] = nil
  end
end)

describe("tasks (libcurl multi):", function()
  for _, c in ipairs(cases) do
    it(c.name, function() c.run(ctx) end)
  end
end)

describe("tasks in plain Lua only:", function()
  local yieldable = rawget(coroutine, "isyieldable") ~= nil
  -- Lua 5.1 and 5.2 cannot tell a yield across a C call in advance (the README says so).
  local it_yieldable = yieldable and it or pending

  it_yieldable("a call where the task cannot yield (a gsub callback, a sort comparator) blocks instead, with the same result", function()
    local medusa = ctx.client()
    srv:script {
      { match = "/pc_gsub", json = { payment_collection = { id = "pc_gsub" } } },
      { match = "/pc_sort", json = { payment_collection = { id = "pc_sort" } } },
    }
    local task = medusa:spawn(function()
      local got = ("pc_gsub"):gsub("[%w_]+", function(id) return medusa.paymentCollections.retrieve(id).payment_collection.id end)
      local sorted = { 2, 1 }
      local seen
      table.sort(sorted, function(a, b)
        seen = seen or medusa.paymentCollections.retrieve("pc_sort").payment_collection.id
        return a < b
      end)
      return got, seen
    end)
    local got, seen = task:wait()
    assert.are.equal("pc_gsub", got)
    assert.are.equal("pc_sort", seen)
  end)

  it("a call outside any task blocks as before, also while tasks are pending", function()
    local medusa = ctx.client()
    srv:script { { match = "/pc_bg", delay_ms = 100, json = { payment_collection = { id = "pc_bg" } } } }
    local bg = medusa:spawn(medusa.paymentCollections.retrieve, "pc_bg")
    local res = medusa.paymentCollections.retrieve("pc_now") -- blocking, on the client's own handle
    assert.are.equal("paycol_default", res.payment_collection.id)
    assert.is_false(bg:done()) -- nobody ran the scheduler meanwhile
    assert.are.equal("pc_bg", bg:wait().payment_collection.id)
  end)

  it("a task waiting for itself, or tasks waiting for each other, raise instead of hanging", function()
    local medusa = ctx.client()
    local self_task
    self_task = medusa:spawn(function()
      medusa.paymentCollections.retrieve("pc_1")
      return self_task:wait()
    end)
    assert.has_error(function() self_task:wait() end)
    local a, b
    a = medusa:spawn(function() medusa.paymentCollections.retrieve("pc_a") return b:wait() end)
    b = medusa:spawn(function() medusa.paymentCollections.retrieve("pc_b") return a:wait() end)
    local ok, err = pcall(a.wait, a)
    assert.is_false(ok)
    assert.matches("can never end", err)
    a:cancel()
    b:cancel()
  end)

  it("a task that yields on its own (outside a coroutine of its own) fails with a clear error", function()
    local medusa = ctx.client()
    local task = medusa:spawn(function() coroutine.yield("mine") end)
    local ok, err = pcall(task.wait, task)
    assert.is_false(ok)
    assert.matches("yielded to its scheduler", err)
    -- inside a coroutine of its own, yields are the user's
    local fine = medusa:spawn(function()
      local gen = coroutine.wrap(function() coroutine.yield(medusa.paymentCollections.retrieve("pc_g").payment_collection.id) end)
      return gen()
    end)
    assert.are.equal("paycol_default", fine:wait())
  end)

  it("tasks on several clients run together in one all", function()
    local one, two = ctx.client(), ctx.client()
    srv:script {
      { match = "/pc_one", delay_ms = 200, json = { payment_collection = { id = "pc_one" } } },
      { match = "/pc_two", delay_ms = 200, json = { payment_collection = { id = "pc_two" } } },
    }
    local results = one:all {
      function() return one.paymentCollections.retrieve("pc_one") end,
      function() return two.paymentCollections.retrieve("pc_two") end,
    }
    assert.are.equal("pc_one", results[1].payment_collection.id)
    assert.are.equal("pc_two", results[2].payment_collection.id)
    assert.are.equal(2, (cases.overlap(srv:log())))
  end)

  it("maxInFlight is checked like the other counts", function()
    assert.has_error(function() Medusa.new { maxInFlight = 0 } end,
      "medusa: bad argument 'config.maxInFlight' (expected an integer >= 1, got 0)")
    assert.has_error(function() Medusa.new { maxInFlight = 1001 } end)
    assert.has_error(function() Medusa.new { maxInFlight = 2.5 } end)
  end)

  it("2,000 calls through all in batches reuse their transfers and connections", function()
    local medusa = ctx.client { maxInFlight = 16 }
    for _ = 1, 20 do
      local list = {}
      for i = 1, 100 do list[i] = function() return medusa.paymentCollections.retrieve("pc_" .. i) end end
      local results, errs = medusa:all(list)
      for i = 1, 100 do assert(results[i], errs[i]) end
    end
    local log = srv:log()
    assert.are.equal(2000, #log)
    local _, conns = cases.overlap(log)
    assert.is_true(conns <= 16, "connections: " .. conns)
  end)
end)
