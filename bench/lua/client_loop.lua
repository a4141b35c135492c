-- bench/lua/client_loop.lua: the medusa-lua contender (lua5.4 or luajit). One client makes
-- WARMUP then N sequential calls of one method through the whole public pipeline; prints
-- one JSON line with the wall and CPU time (os.clock: user+sys of this process; split into
-- user and sys by bench/lua/cpu_split.lua) of the timed calls only.
--
--   lua5.4 bench/lua/client_loop.lua BASE_URL get|post N WARMUP
local Medusa = require "medusa"
local core = require "medusa.core"

local COLLECTION_ID = "paycol_01M8BYPHXRGD7ZHY4WRJND4H48"

local base_url, op, n, warmup = arg[1], arg[2], tonumber(arg[3]), tonumber(arg[4])
if not (base_url and (op == "get" or op == "post") and n and warmup) then
  io.stderr:write("usage: client_loop.lua BASE_URL get|post N WARMUP\n")
  os.exit(2)
end

local medusa = Medusa.new { baseUrl = base_url, maxRetries = 0 }
local pc = medusa.paymentCollections

local call
if op == "get" then
  call = function() return pc.retrieve(COLLECTION_ID) end
else
  local payload = { provider_id = "manual" }
  call = function() return pc.managePaymentSession(COLLECTION_ID, payload) end
end

-- Every result is checked, so a failing server can never look fast.
local function run(count)
  local res, err
  for _ = 1, count do
    res, err = call()
    if not res then error(tostring(err)) end
  end
  return res
end

run(warmup)
local split = dofile((arg[0]:match("^(.*/)") or "./") .. "cpu_split.lua")
local ticks0, wall0, cpu0 = split.ticks(), core.monotonic_ms(), os.clock()
local last = run(n)
local cpu, wall = os.clock() - cpu0, (core.monotonic_ms() - wall0) / 1000
local ticks1 = split.ticks()

if n > 0 then
  assert(last.payment_collection.id == COLLECTION_ID and last.response.status == 200, "unexpected last result")
end
io.write(('{"n":%d,"wall_s":%.6f,"cpu_s":%.6f%s}\n'):format(n, wall, cpu, split.json(ticks0, ticks1, cpu)))
medusa:close()
