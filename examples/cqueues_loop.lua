-- examples/cqueues_loop.lua: medusa calls inside a cqueues program. The calls run as medusa
-- tasks; one cqueues coroutine drives medusa's scheduler through its loop object (an fd
-- and a timeout, cqueues's polling protocol), and another one keeps ticking meanwhile:
-- the calls never block the cqueues loop.
-- MEDUSA_COLLECTION_IDS is a comma-separated list of payment collection ids.
-- Needs lua-cqueues (Debian: apt-get install lua-cqueues). Not named cqueues.lua: with this
-- directory on package.path, require "cqueues" would load the example itself.
package.path = (arg[0]:match("^(.-)[^/]*$") or "") .. "?.lua;" .. package.path
local cqueues = require "cqueues"
local common = require "common"
local medusa = common.medusa

local ids = {}
for id in common.env("MEDUSA_COLLECTION_IDS"):gmatch("[^,]+") do ids[#ids + 1] = id end

local cq = cqueues.new()
local loop = medusa:loop()
local tasks, ticks, steps, in_flight = {}, 0, 0, true

-- The calls and their driver. spawn() starts each call now, up to its first wait; then
-- cqueues.poll(loop) waits for medusa's fd or for loop:timeout() (nil while only the fd
-- can bring work, 0 when step() has work now), and cqueues's other coroutines run while
-- it waits. The driver learns of new work only when it wakes: a call spawned from another
-- coroutine starts at the driver's next wake-up, so spawn calls here (or let the driver
-- poll a cqueues.condition as well, signalled after each spawn elsewhere).
cq:wrap(function()
  for i, id in ipairs(ids) do
    tasks[i] = medusa:spawn(medusa.paymentCollections.retrieve, id)
  end
  while loop:alive() do
    cqueues.poll(loop)
    loop:step()
    steps = steps + 1
  end
  in_flight = false
end)

-- Something else the program does at the same time.
cq:wrap(function()
  while in_flight do
    cqueues.sleep(0.01)
    ticks = ticks + 1
  end
end)

assert(cq:loop())

for i, task in ipairs(tasks) do
  local res = common.check(task:wait()) -- the task has ended: wait() returns at once
  local pc = res.payment_collection
  print(("%s -> collection %s: %s %d %s (HTTP %d)"):format(
    ids[i], pc.id, pc.status, pc.amount, pc.currency_code, res.response.status))
end
print(("%d calls, %d loop steps; the other coroutine ticked meanwhile: %d ticks"):format(#tasks, steps, ticks))
