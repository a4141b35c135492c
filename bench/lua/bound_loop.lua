-- bench/lua/bound_loop.lua: the lower bound of `make bench-profile`. One real call gives a
-- result (`retrieve` or `managePaymentSession`, as client_loop.lua makes it); bench_bound
-- records it, then builds the same plain tables N times from the recording (bench/bound.c:
-- the Lua C API calls no decoder can avoid, nothing else). (Ir with N - Ir with 0) / N is
-- the least any result of plain Lua tables costs beyond libcurl's exchange.
-- "result" records the whole result, "body" the decoded body alone (no `response`, no
-- header map); "cached" takes every string from the recording, as a string cache that
-- always hit at no cost would, "fresh" makes each from its bytes.
--
--   lua5.4 bench/lua/bound_loop.lua BASE_URL get|post N result|body cached|fresh
local Medusa = require "medusa"
local bound = require "bench_bound"

local COLLECTION_ID = "paycol_01M8BYPHXRGD7ZHY4WRJND4H48"
local base_url, op, n, what, strings = arg[1], arg[2], tonumber(arg[3]), arg[4], arg[5]
if not (base_url and (op == "get" or op == "post") and n and (what == "result" or what == "body")
        and (strings == "cached" or strings == "fresh")) then
  io.stderr:write("usage: bound_loop.lua BASE_URL get|post N result|body cached|fresh\n")
  os.exit(2)
end

local medusa = Medusa.new { baseUrl = base_url, maxRetries = 0 }
local pc = medusa.paymentCollections
local result, err
if op == "get" then
  result, err = pc.retrieve(COLLECTION_ID)
else
  result, err = pc.managePaymentSession(COLLECTION_ID, { provider_id = "manual" })
end
if not result then error(tostring(err)) end
medusa:close()
if what == "body" then result.response = nil end
local steps = bound.record(result)

local build, cached, last = bound.build, strings == "cached", nil
for _ = 1, n do last = build(cached) end
if n > 0 then
  assert(last.payment_collection.id == COLLECTION_ID, "unexpected copy")
  assert(what == "body" or last.response.headers["content-type"] == result.response.headers["content-type"],
         "headers lost")
end
io.write(('{"n":%d,"steps":%d}\n'):format(n, steps))
