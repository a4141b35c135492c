-- bench/lua/floor_loop.lua: what a Lua client cannot avoid, measured like client_loop.lua.
-- It sends the same request bytes as `retrieve` / `managePaymentSession` (the header list
-- comes from a medusa client's own pipeline) straight through the C transport's perform,
-- skipping everything else, and then, with "decode", turns the body into Lua tables. The
-- gap between these and the raw C loop is the floor of the raw-C targets: no pipeline, no
-- header map, no result shaping, only libcurl's exchange handed to Lua. "result" is what
-- every result needs whatever the Lua around it: the header map by the pipeline's rules and
-- the body decoded with its object metatable, still without the pipeline.
--
--   lua5.4 bench/lua/floor_loop.lua BASE_URL get|post N WARMUP perform|decode|result
local Medusa = require "medusa"
local core = require "medusa.core"

local COLLECTION_ID = "paycol_01M8BYPHXRGD7ZHY4WRJND4H48"
local base_url, op, n, warmup, what = arg[1], arg[2], tonumber(arg[3]), tonumber(arg[4]), arg[5]
if not (base_url and (op == "get" or op == "post") and n and warmup
        and (what == "perform" or what == "decode" or what == "result")) then
  io.stderr:write("usage: floor_loop.lua BASE_URL get|post N WARMUP perform|decode|result\n")
  os.exit(2)
end

local medusa = Medusa.new { baseUrl = base_url, maxRetries = 0 }
local method = op == "get" and "GET" or "POST"
local path = "/store/payment-collections/" .. COLLECTION_ID .. (op == "post" and "/sessions" or "")
local headers, reused = medusa.client:build_headers(method, path, nil, {}, nil, {})
local request = {
  method = method, url = medusa.client.base .. path, headers = headers, headers_reused = reused,
  body = op == "post" and core.json_encode { provider_id = "manual" } or nil,
  timeout_ms = 30000, connect_timeout_ms = 10000, max_response_bytes = 32 * 1024 * 1024,
  header_rules = what == "result" and require("medusa.headers").RULES or nil,
}
local handle = core.http_new()
local decode = core.json_decode
local object_mt = what == "result" and require("medusa.response").object_mt or nil

local function run(count)
  local last
  for _ = 1, count do
    local res, err = handle:perform(request)
    if not res or res.status ~= 200 then error(err and err.message or ("HTTP " .. res.status)) end
    last = what == "perform" and res or decode(res.body, object_mt)
  end
  return last
end

run(warmup)
local split = dofile((arg[0]:match("^(.*/)") or "./") .. "cpu_split.lua")
local ticks0, wall0, cpu0 = split.ticks(), core.monotonic_ms(), os.clock()
local last = run(n)
local cpu, wall = os.clock() - cpu0, (core.monotonic_ms() - wall0) / 1000
local ticks1 = split.ticks()
if n > 0 and what ~= "perform" then
  assert(last.payment_collection.id == COLLECTION_ID, "unexpected body")
end
io.write(('{"n":%d,"wall_s":%.6f,"cpu_s":%.6f%s}\n'):format(n, wall, cpu, split.json(ticks0, ticks1, cpu)))
handle:close()
medusa:close()
