-- bench/lua/concurrent.lua: the medusa-lua contenders of the `concurrent` group (lua5.4 or
-- luajit). A batch of CALLS paymentCollections.retrieve calls, either through medusa:all
-- with maxInFlight = INFLIGHT (`all`) or as a plain loop of blocking calls (`seq`, the
-- baseline; INFLIGHT is ignored). One untimed batch of ok calls first (connections, JIT; a
-- few calls for `seq`), then the timed batch. Prints one JSON line: wall and CPU (user and
-- sys apart: bench_rusage's getrusage, else os.clock split by cpu_split.lua's ticks) of the
-- timed batch in ms, and the calls that ended 200 with the recorded collection (ok).
-- Exits 3 with "missing: ..." when this medusa-lua has no medusa:all / maxInFlight yet.
--
--   lua5.4 bench/lua/concurrent.lua BASE_URL INFLIGHT ok|flaky MAX_RETRIES all|seq [CALLS]
local Medusa = require "medusa"
local core = require "medusa.core"

local COLLECTION_ID = "paycol_01M8BYPHXRGD7ZHY4WRJND4H48"
local SEQ_WARMUP = 10

local base_url, inflight, variant, max_retries, mode, calls =
  arg[1], tonumber(arg[2]), arg[3], tonumber(arg[4]), arg[5], tonumber(arg[6] or 100)
if not (base_url and inflight and inflight >= 1 and (variant == "ok" or variant == "flaky") and max_retries
    and (mode == "all" or mode == "seq") and calls and calls >= 1) then
  io.stderr:write("usage: concurrent.lua BASE_URL INFLIGHT ok|flaky MAX_RETRIES all|seq [CALLS]\n")
  os.exit(2)
end

local function missing(why)
  io.stderr:write("missing: ", why, "\n")
  os.exit(3)
end

local medusa
if mode == "all" then
  local ok, result = pcall(Medusa.new, { baseUrl = base_url, maxRetries = max_retries, maxInFlight = inflight })
  if not ok then
    if tostring(result):find("maxInFlight", 1, true) then
      missing("Medusa.new rejects maxInFlight: " .. tostring(result):gsub("^[^:]*:%d+: ", ""))
    end
    error(result, 0)
  end
  medusa = result
  if type(medusa.all) ~= "function" then missing("medusa:all is nil (the concurrency API has not landed)") end
else
  medusa = Medusa.new { baseUrl = base_url, maxRetries = max_retries }
end
local pc = medusa.paymentCollections

local function ids(kind, n)
  local list = {}
  for i = 1, n do list[i] = kind == "flaky" and ("paycol_flaky_%03d"):format(i) or COLLECTION_ID end
  return list
end

-- results[i], errs[i]: what call i returned.
local function batch(list)
  local n = #list
  if mode == "seq" then
    local results, errs = {}, {}
    for i = 1, n do results[i], errs[i] = pc.retrieve(list[i]) end
    return results, errs
  end
  local tasks = {}
  for i = 1, n do
    local id = list[i]
    tasks[i] = function() return pc.retrieve(id) end
  end
  return medusa:all(tasks)
end

local function count_ok(results, errs, n)
  local ok, first_error = 0, nil
  for i = 1, n do
    local r = results and results[i]
    if type(r) == "table" and r.response and r.response.status == 200 and r.payment_collection
        and r.payment_collection.id == COLLECTION_ID then
      ok = ok + 1
    elseif not first_error then
      first_error = tostring(errs and errs[i] or r)
    end
  end
  return ok, first_error
end

local function json_string(s)
  return '"' .. s:sub(1, 200):gsub('[%c"\\]', function(c) return ("\\u%04x"):format(c:byte()) end) .. '"'
end

local has_rusage, rusage = pcall(require, "bench_rusage")
local split = not has_rusage and dofile((arg[0]:match("^(.*/)") or "./") .. "cpu_split.lua") or nil

local function cpu_now()
  if has_rusage then
    local user, sys = rusage.cpu_ms()
    return { user = user, sys = sys }
  end
  return { clock = os.clock(), ticks = split.ticks() }
end

-- user_ms, sys_ms between two cpu_now() readings.
local function cpu_between(a, b)
  if has_rusage then return b.user - a.user, b.sys - a.sys end
  local cpu = b.clock - a.clock
  local du, ds = b.ticks.user - a.ticks.user, b.ticks.sys - a.ticks.sys
  if du + ds <= 0 then return cpu * 1000, 0 end
  return cpu * 1000 * du / (du + ds), cpu * 1000 * ds / (du + ds)
end

local warm_n = mode == "seq" and math.min(SEQ_WARMUP, calls) or calls
local wr, we = batch(ids("ok", warm_n))
local warm_ok, warm_err = count_ok(wr, we, warm_n)
if warm_ok ~= warm_n then error(("warm-up batch: %d/%d ok: %s"):format(warm_ok, warm_n, tostring(warm_err))) end

local list = ids(variant, calls)
local cpu0, wall0 = cpu_now(), core.monotonic_ms()
local results, errs = batch(list)
local wall, cpu1 = core.monotonic_ms() - wall0, cpu_now()
local user_ms, sys_ms = cpu_between(cpu0, cpu1)
local ok, first_error = count_ok(results, errs, calls)

io.write(('{"calls":%d,"wall_ms":%.3f,"user_ms":%.3f,"sys_ms":%.3f,"ok":%d,"cpu_from":"%s","first_error":%s}\n')
  :format(calls, wall, user_ms, sys_ms, ok, has_rusage and "getrusage" or "os.clock+ticks",
          first_error and json_string(first_error) or "null"))
medusa:close()
