-- bench/lua/vm_profile.lua: the Lua half of `make bench-profile`. callgrind sees the Lua
-- interpreter only as one stripped binary, so this attributes the interpreter's work to our
-- Lua code: VM instructions by function and by line (a count hook every 10 instructions),
-- then calls per request by callee (a call hook). Prints markdown tables.
--
--   lua5.4 bench/lua/vm_profile.lua BASE_URL N
local Medusa = require "medusa"

local COLLECTION_ID = "paycol_01M8BYPHXRGD7ZHY4WRJND4H48"
local EVERY = 10

local base_url, n = arg[1], tonumber(arg[2])
local pc = Medusa.new({ baseUrl = base_url }).paymentCollections
assert(pc.retrieve(COLLECTION_ID)) -- connection set-up and first-use costs stay out

local function measure(mask, count, record)
  debug.sethook(record, mask, count)
  for _ = 1, n do
    local res, err = pc.retrieve(COLLECTION_ID)
    if not res then debug.sethook() error(tostring(err)) end
  end
  debug.sethook()
end

local getinfo = debug.getinfo
local function where(info)
  return ("%s:%d"):format(info.short_src, info.linedefined)
end

local by_function, by_line, names, samples = {}, {}, {}, 0
measure("", EVERY, function()
  local info = getinfo(2, "Sl")
  if not info then return end
  local fn = where(info)
  local line = ("%s:%d"):format(info.short_src, info.currentline)
  by_function[fn] = (by_function[fn] or 0) + 1
  by_line[line] = (by_line[line] or 0) + 1
  samples = samples + 1
end)

local calls = {}
measure("c", nil, function()
  local info = getinfo(2, "Sn")
  if not info then return end
  local key = info.what == "C" and ("[C] " .. (info.name or "?")) or (where(info) .. " " .. (info.name or "?"))
  calls[key] = (calls[key] or 0) + 1
  local fn = where(info)
  if info.what ~= "C" and info.name and not names[fn] then names[fn] = info.name end
end)

local function top(map, limit)
  local keys = {}
  for k in pairs(map) do keys[#keys + 1] = k end
  table.sort(keys, function(a, b) return map[a] > map[b] end)
  local out = {}
  for i = 1, math.min(limit, #keys) do out[i] = keys[i] end
  return out
end

local out = {}
local function add(s) out[#out + 1] = s end
add(("VM instructions per `retrieve`: about %d (sampled every %d)."):format(samples * EVERY // n, EVERY))
add("")
add("| Lua function (defined at) | share of VM instructions |")
add("|---|---|")
for _, fn in ipairs(top(by_function, 15)) do
  add(("| `%s` %s | %.1f%% |"):format(fn, names[fn] or "", 100 * by_function[fn] / samples))
end
add("")
add("| line | share |")
add("|---|---|")
for _, line in ipairs(top(by_line, 15)) do
  add(("| `%s` | %.1f%% |"):format(line, 100 * by_line[line] / samples))
end
add("")
add("| callee | calls per `retrieve` |")
add("|---|---|")
for _, key in ipairs(top(calls, 30)) do
  add(("| `%s` | %.1f |"):format(key, calls[key] / n))
end
print(table.concat(out, "\n"))
