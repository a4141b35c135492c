-- bench/soak.lua: many requests on one client against the scripted server with a sprinkle
-- of faults, to show that the client's memory stays flat: RSS is read after a warm-up and
-- at the end (after a full GC each time), and the run fails if it grew by 1 MiB or more.
-- Not part of `make test`: `make soak` (SOAK_REQUESTS=100000 by default) runs it.
-- With "all" the requests go through medusa:all, 100 tasks a batch on maxInFlight 20
-- (the multi handle, its transfers and the scheduler instead of the blocking handle):
-- `make soak-tasks`, part of `make test`.
--
--   lua5.4 bench/soak.lua [REQUESTS] [WARMUP] [all]   (LUA_PATH/LUA_CPATH as for the specs)
local Medusa = require "medusa"
local Server = require "support.server"
local core = require "medusa.core"

local REQUESTS = tonumber(arg[1]) or 100000
local WARMUP = tonumber(arg[2]) or math.min(10000, REQUESTS // 10)
local THROUGH_ALL = arg[3] == "all"
local BATCH = 100
local FAULT_EVERY = 250
local LIMIT_KIB = 1024
local CAP = 64 * 1024

-- One fault per FAULT_EVERY requests, in turn. A retried fault carries a short Retry-After
-- where it can, so the soak spends its time on requests rather than on backoff.
local QUICK = { { "Retry-After", "0.02" } }
local FAULTS = {
  { name = "503 then retried", step = { status = 503, headers = QUICK, body = "busy" } },
  { name = "reset before the status line", step = { action = "reset" } },
  { name = "body cut short", step = { headers = QUICK, body = '{"payment_collection":', partial_body = { declared = 400 } } },
  { name = "timeout", step = { action = "hang" } },
  { name = "chunked body cut", step = { headers = QUICK, chunked = true, cut_chunked = true, chunk_size = 8,
    body = '{"payment_collection":{"id":"x"}}' } },
  { name = "500 (not retried)", step = { status = 500, json = { type = "unknown_error", message = "boom" } } },
  { name = "body over maxResponseBytes", step = { body = ("x"):rep(1024), body_repeat = 100 } },
  { name = "invalid JSON", step = { body = "<html>not json</html>" } },
  { name = "409 then retried", step = { status = 409, headers = QUICK, json = { type = "conflict", message = "again" } } },
}

local function rss_kib()
  local f = assert(io.open("/proc/self/status"))
  local s = f:read("a")
  f:close()
  return tonumber(s:match("VmRSS:%s*(%d+)"))
end

local function settle()
  collectgarbage("collect")
  collectgarbage("collect")
  return rss_kib(), collectgarbage("count")
end

local srv = Server.start { mode = "script" }
local ok, err = pcall(function()
  local medusa = Medusa.new { baseUrl = srv.url, maxRetries = 1, timeout = 300, maxResponseBytes = CAP,
    maxInFlight = 20 }
  local pc = medusa.paymentCollections
  local outcomes, fault_no = {}, 0
  local rss0, heap0
  local t0 = core.monotonic_ms()
  print(("soak: %d requests on one client%s, a fault every %d (%d kinds), RSS after %d warm-up requests"):format(
    REQUESTS, THROUGH_ALL and (" through medusa:all, %d tasks a batch"):format(BATCH) or "", FAULT_EVERY, #FAULTS, WARMUP))
  local function call(i)
    if i % 4 == 0 then return pc.managePaymentSession("paycol_soak", { provider_id = "manual" }) end
    return pc.retrieve("paycol_soak", i % 8 == 1 and { expand = "region" } or nil)
  end
  local function count(res, e)
    local key = res and "ok" or e.type
    outcomes[key] = (outcomes[key] or 0) + 1
  end
  local batch = {}
  for i = 1, REQUESTS do
    if i % FAULT_EVERY == 0 then
      if i % 10000 == 0 then srv:reset() end -- the server's own request log stays small
      fault_no = fault_no + 1
      srv:append { FAULTS[(fault_no - 1) % #FAULTS + 1].step }
    end
    if THROUGH_ALL then
      batch[#batch + 1] = function() return call(i) end
      if #batch == BATCH or i == REQUESTS then
        local results, errs = medusa:all(batch)
        for k = 1, results.n do count(results[k], errs[k]) end
        batch = {}
      end
    else
      count(call(i))
    end
    if i == WARMUP then
      rss0, heap0 = settle()
      print(("soak: after warm-up (%d): RSS %d KiB, Lua heap %.0f KiB"):format(i, rss0, heap0))
    elseif i > WARMUP and i % 10000 == 0 then
      local rss, heap = settle()
      print(("soak: %6d requests: RSS %d KiB (%+d), Lua heap %.0f KiB"):format(i, rss, rss - rss0, heap))
    end
  end
  local seconds = (core.monotonic_ms() - t0) / 1000
  local rss1, heap1 = settle()
  local last = assert(pc.retrieve("paycol_soak"), "the client does not work after the soak")
  assert(last.response.status == 200)
  local kinds = {}
  for k, n in pairs(outcomes) do kinds[#kinds + 1] = ("%s %d"):format(k, n) end
  table.sort(kinds)
  print(("soak: %d requests in %.0f s (%.0f/s), %d faults injected; results: %s"):format(REQUESTS, seconds,
    REQUESTS / seconds, fault_no, table.concat(kinds, ", ")))
  print(("soak: RSS %d KiB after warm-up, %d KiB at the end: growth %+d KiB (limit %d KiB); Lua heap %+.0f KiB"):format(
    rss0, rss1, rss1 - rss0, LIMIT_KIB, heap1 - heap0))
  medusa:close()
  return rss1 - rss0
end)
srv:stop()
if not ok then
  io.stderr:write("soak: " .. tostring(err) .. "\n")
  os.exit(2)
end
if err >= LIMIT_KIB then
  print("soak: FAIL: RSS grew by 1 MiB or more")
  os.exit(1)
end
print("soak: PASS")
