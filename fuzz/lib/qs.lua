-- fuzz/lib/qs.lua: plain-Lua references for src/query.c, written from its contract (qs's
-- stringify defaults with keys in byte order, README difference 3) rather than from its
-- code: query(v) -> the string, or nil when query_encode must refuse v; segment(s) likewise.
local qs = {}

local MAX_TABLES = 32 -- nested tables, the query table included
local TWO53 = 2 ^ 53
local null = require("medusa.core").null

local function pct(s)
  return (s:gsub("[^A-Za-z0-9%-%._~]", function(c) return ("%%%02X"):format(c:byte()) end))
end

local Refused = setmetatable({}, { __tostring = function() return "refused" end })
local function refuse() error(Refused, 0) end

-- The integer a number key or value stands for, as JavaScript would print it, or nil.
local function as_integer(n)
  if math.type(n) == "integer" then return n end
  if n > -TWO53 and n < TWO53 and n == math.floor(n) then return math.tointeger(n) end
  return nil
end

function qs.query(value, array_mt, format_float)
  if type(value) ~= "table" then return nil end
  local out, path = {}, {}

  local emit_value
  local function emit_table(t, key, depth)
    for i = 1, depth do
      if path[i] == t then refuse() end
    end
    if depth >= MAX_TABLES then refuse() end
    path[depth + 1] = t
    local marked = debug.getmetatable(t) == array_mt
    local strings, count, max = {}, 0, 0
    for k in next, t do
      if type(k) == "string" then
        strings[#strings + 1] = k
      elseif type(k) == "number" then
        local i = as_integer(k)
        if not i or i < 1 then refuse() end
        count, max = count + 1, math.max(max, i)
      else
        refuse()
      end
    end
    if #strings > 0 and (count > 0 or marked) then refuse() end
    if count > 0 or marked then
      if max ~= count or depth == 0 then refuse() end
      for i = 1, count do emit_value(rawget(t, i), key .. "%5B" .. (i - 1) .. "%5D", depth + 1) end
    else
      table.sort(strings)
      for _, k in ipairs(strings) do
        emit_value(rawget(t, k), depth == 0 and pct(k) or key .. "%5B" .. pct(k) .. "%5D", depth + 1)
      end
    end
  end

  function emit_value(v, key, depth)
    local tv = type(v)
    if tv == "string" then
      out[#out + 1] = key .. "=" .. pct(v)
    elseif tv == "number" then
      local i = as_integer(v)
      if i then
        out[#out + 1] = key .. "=" .. i
      elseif v ~= v or v == math.huge or v == -math.huge then
        refuse()
      else
        out[#out + 1] = key .. "=" .. pct(format_float(v))
      end
    elseif tv == "boolean" then
      out[#out + 1] = key .. "=" .. tostring(v)
    elseif tv == "table" then
      emit_table(v, key, depth)
    elseif v == null then
      out[#out + 1] = key .. "="
    else
      refuse()
    end
  end

  local ok, err = pcall(emit_table, value, "", 0)
  if not ok then
    if err == Refused then return nil end
    error(err, 0)
  end
  return table.concat(out, "&")
end

function qs.segment(s)
  if type(s) ~= "string" or s == "" or s == "." or s == ".." then return nil end
  return pct(s)
end

return qs
