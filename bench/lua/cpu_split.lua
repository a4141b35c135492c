-- bench/lua/cpu_split.lua: user and system CPU for the Lua loops, which have only os.clock
-- (their sum). Reads utime and stime (clock ticks) from /proc/self/stat before and after the
-- timed loop and splits os.clock's figure in their proportion: the sum stays os.clock's
-- (microseconds), the split has the ticks' resolution (10 ms; a few % on a quick run).
--
--   local split = dofile(dir .. "cpu_split.lua"); local t0 = split.ticks(); ...
--   split.json(t0, split.ticks(), cpu)  ->  ',"user_s":…,"sys_s":…' or "" without /proc
local M = {}

function M.ticks()
  local f = io.open("/proc/self/stat")
  if not f then return nil end
  local stat = f:read("*a")
  f:close()
  -- Fields after the ")" closing the command name start at field 3; utime is 14, stime 15.
  local fields = {}
  for word in (stat:match("%)%s+(.*)") or ""):gmatch("%S+") do fields[#fields + 1] = word end
  local user, sys = tonumber(fields[12]), tonumber(fields[13])
  if not (user and sys) then return nil end
  return { user = user, sys = sys }
end

function M.json(t0, t1, cpu)
  if not (t0 and t1) then return "" end
  local du, ds = t1.user - t0.user, t1.sys - t0.sys
  if du + ds <= 0 then return "" end
  return (',"user_s":%.6f,"sys_s":%.6f'):format(cpu * du / (du + ds), cpu * ds / (du + ds))
end

return M
