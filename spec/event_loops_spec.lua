-- spec/event_loops_spec.lua: examples/cqueues_loop.lua and examples/luv_loop.lua (medusa's
-- tasks driven from another event loop) against the stand-in store answering DELAY_MS
-- late: every call gets its own collection, the calls overlap, and the program's other
-- work (a ticker every 10 ms) goes on while they are in flight. Each example runs in its
-- own process under the interpreter running the specs, as the demo runs it.
local Server = require "support.server"

local N, DELAY_MS = 5, 200

local function run_example(store, script, ids)
  local p = io.popen(("env MEDUSA_BASE_URL=%s MEDUSA_COLLECTION_IDS=%s %s %s 2>&1; echo \"exit=$?\""):format(
    Server.shell_quote(store.url), Server.shell_quote(table.concat(ids, ",")), Server.interpreter,
    Server.shell_quote("examples/" .. script)))
  local out = p:read("*a")
  p:close()
  local status = tonumber(out:match("exit=(%d+)%s*$"))
  return out:gsub("exit=%d+%s*$", ""), status
end

local function pattern_quote(s)
  return (s:gsub("%W", "%%%0"))
end

for _, script in ipairs { "cqueues_loop.lua", "luv_loop.lua" } do
  describe("examples/" .. script, function()
    local store

    setup(function()
      store = Server.start { mode = "store" }
    end)

    teardown(function()
      if store then store:stop() end
    end)

    it("overlaps its calls without blocking the program's own loop", function()
      local ids, amounts, steps = {}, {}, {}
      for i = 1, N do
        amounts[i] = 1000 + i
        ids[i] = store:new_collection(amounts[i]).id
        steps[i] = { default = true, delay_ms = DELAY_MS } -- the store's answer, late
      end
      store:script(steps)

      local out, status = run_example(store, script, ids)
      assert.are.equal(0, status, out)

      -- Every call succeeded with its own collection.
      for i, id in ipairs(ids) do
        local got, amount, code = out:match(pattern_quote(id) .. " %-> collection (%S+): not_paid (%d+) usd %(HTTP (%d+)%)")
        assert.are.equal(id, got, out)
        assert.are.equal(amounts[i], tonumber(amount))
        assert.are.equal(200, tonumber(code))
      end

      local calls, loop_steps, ticks = out:match("(%d+) calls, (%d+) loop steps; .- meanwhile: (%d+) ticks")
      assert.are.equal(N, tonumber(calls), out)
      -- The program's loop went on while the calls waited >= DELAY_MS for their answers: a
      -- 10 ms ticker gets ~DELAY_MS / 10 ticks in; a loop blocked inside the calls, ~0.
      assert.is_true(tonumber(ticks) >= 5, out)
      -- Nor did the driver spin while waiting: a few steps per call (each a socket event or
      -- a due timer), where a poll that returns at once would make thousands.
      assert.is_true(tonumber(loop_steps) <= 20 * N, out)

      -- The calls overlapped: all N requests arrived, each on its own connection, before
      -- the first answer could have gone out (DELAY_MS after its request's arrival).
      local log = store:log()
      assert.are.equal(N, #log)
      local asked, conns, first, last = {}, {}, math.huge, -math.huge
      for _, rec in ipairs(log) do
        asked[#asked + 1] = rec.path:match("^/store/payment%-collections/([%w_]+)$")
        conns[rec.conn] = true
        first, last = math.min(first, rec.t_ms), math.max(last, rec.t_ms)
        assert.is_false(rec.scripted) -- the store's own answer
      end
      table.sort(asked)
      local want = {}
      for i, id in ipairs(ids) do want[i] = id end
      table.sort(want)
      assert.are.same(want, asked)
      local n_conns = 0
      for _ in pairs(conns) do n_conns = n_conns + 1 end
      assert.are.equal(N, n_conns)
      assert.is_true(last - first < DELAY_MS, ("arrivals spread over %.1f ms"):format(last - first))
      assert.are.equal(0, store:remaining())
    end)
  end)
end
