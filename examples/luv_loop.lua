-- examples/luv_loop.lua: medusa calls inside a libuv program (luv). The calls run as
-- medusa tasks; a uv poll handle on medusa's fd and a uv timer for its next timeout
-- drive medusa's scheduler, and another uv timer keeps ticking meanwhile: the calls never
-- block the uv loop.
-- MEDUSA_COLLECTION_IDS is a comma-separated list of payment collection ids.
-- Needs lua-luv (Debian: apt-get install lua-luv). Not named luv.lua: with this directory
-- on package.path, require "luv" would load the example itself.
package.path = (arg[0]:match("^(.-)[^/]*$") or "") .. "?.lua;" .. package.path
local uv = require "luv"
local common = require "common"
local medusa = common.medusa

local ids = {}
for id in common.env("MEDUSA_COLLECTION_IDS"):gmatch("[^,]+") do ids[#ids + 1] = id end

local loop = medusa:loop()
local tasks, ticks, steps = {}, 0, 0

local readable = uv.new_poll(loop:fd()) -- medusa's fd: readable when a request's socket is
local due = uv.new_timer()              -- when step() has work without the fd
local ticker = uv.new_timer()           -- something else the program does meanwhile

-- Runs what medusa has ready, then waits for the fd and, unless next_timeout() says only
-- the fd can bring work (-1), for the timer too; once no task runs, the handles close and
-- uv.run() returns. A call spawned later from another callback starts at the next
-- drive(): call drive() after such a spawn.
local function drive()
  loop:step()
  steps = steps + 1
  local ms = loop:next_timeout()
  due:stop()
  if ms == nil then
    for _, handle in ipairs { readable, due, ticker } do handle:close() end
  elseif ms >= 0 then
    due:start(math.ceil(ms), 0, drive) -- whole ms, rounded up: an early wake-up finds nothing
  end
end

for i, id in ipairs(ids) do
  tasks[i] = medusa:spawn(medusa.paymentCollections.retrieve, id)
end
readable:start("r", function(err)
  assert(not err, err)
  drive()
end)
ticker:start(10, 10, function() ticks = ticks + 1 end)
drive()
uv.run()

for i, task in ipairs(tasks) do
  local res = common.check(task:wait()) -- the task has ended: wait() returns at once
  local pc = res.payment_collection
  print(("%s -> collection %s: %s %d %s (HTTP %d)"):format(
    ids[i], pc.id, pc.status, pc.amount, pc.currency_code, res.response.status))
end
print(("%d calls, %d loop steps; the uv timer ticked meanwhile: %d ticks"):format(#tasks, steps, ticks))
