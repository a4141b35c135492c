-- bench/lua/bound_loop.lua: the lower bound of `make bench-profile`. One real call gives a
-- result (`retrieve` or `managePaymentSession`, as client_loop.lua makes it), which is then
-- built again N times from a recording; (Ir with N - Ir with 0) / N is the least any result
-- of these plain Lua tables costs beyond libcurl's exchange.
-- "result" records the whole result, "body" the decoded body alone (no `response`, no header
-- map). Builders: "cached" and "fresh" are bench_bound (bench/lua_bound.c: the Lua C API calls
-- no decoder in C can avoid), every string taken from the recording as a string cache that
-- always hit at no cost would, or made from its bytes; "lua" is a Lua function generated
-- from the recording, one table constructor per table with the strings as constants: what
-- a decoder that runs as compiled Lua (LuaJIT) could come to.
--
--   lua5.4 bench/lua/bound_loop.lua BASE_URL get|post N result|body cached|fresh|lua
local Medusa = require "medusa"

local COLLECTION_ID = "paycol_01M8BYPHXRGD7ZHY4WRJND4H48"
local base_url, op, n, what, builder = arg[1], arg[2], tonumber(arg[3]), arg[4], arg[5]
if not (base_url and (op == "get" or op == "post") and n and (what == "result" or what == "body")
        and (builder == "cached" or builder == "fresh" or builder == "lua")) then
  io.stderr:write("usage: bound_loop.lua BASE_URL get|post N result|body cached|fresh|lua\n")
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

-- Lua source that makes `value` again: one table constructor per table (sized by the
-- compiler, filled as it is made), the nested ones first.
local function generate(value)
  local lines, consts, count = {}, {}, 0
  local function const(v)
    consts[#consts + 1] = v
    return "K[" .. #consts .. "]"
  end
  local function table_of(t)
    local fields = {}
    local function item(v) return type(v) == "table" and table_of(v) or const(v) end
    for i = 1, #t do fields[#fields + 1] = item(t[i]) end
    for k, v in pairs(t) do
      if type(k) ~= "number" then fields[#fields + 1] = ("[%q] = %s"):format(k, item(v)) end
    end
    count = count + 1
    lines[#lines + 1] = ("local t%d = { %s }"):format(count, table.concat(fields, ", "))
    return "t" .. count
  end
  local root = table_of(value)
  return "local K = ...\nreturn function()\n" .. table.concat(lines, "\n") .. "\nreturn " .. root .. "\nend\n",
    consts, #lines
end

local build, steps, arg1
if builder == "lua" then
  local source, consts
  source, consts, steps = generate(result)
  build = assert((loadstring or load)(source, "=bound"))(consts)
else
  local bound = require "bench_bound"
  steps = bound.record(result)
  build, arg1 = bound.build, builder == "cached"
end

local last
for _ = 1, n do last = build(arg1) end
if n > 0 then
  assert(last.payment_collection.id == COLLECTION_ID, "unexpected copy")
  assert(what == "body" or last.response.headers["content-type"] == result.response.headers["content-type"],
         "headers lost")
end
io.write(('{"n":%d,"steps":%d}\n'):format(n, steps))
