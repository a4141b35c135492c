-- spec/e2e/support/normalise.lua: the one normaliser of the differential run. Two runs
-- against their own fresh collections differ only in what the backend invents: ids,
-- timestamps, UUIDs, and the order of relation rows. normalise() removes exactly that,
-- render() prints a value one scalar per line (keys in byte order) and diff() shows
-- where two renderings part.
local json = require "medusa.json"

local Normalise = {}

-- Run-specific tokens, each numbered by first appearance like an id:
--  * Medusa ids: a lower-case prefix, '_', and a ULID-like upper-case/digit tail (paycol_,
--    ps_, and the store flows' cart_, order_, item_, cus_, addr_, oe_, variant_, ...);
--  * the fixtures' unique names (admin.lua's Admin.unique: "e2e-<kind>-" and 16 hex digits,
--    in handles, titles, SKUs, shipping option names and the flows' emails), fresh per run
--    so that runs never collide on the kept cluster;
--  * the session cookie's value (connect.sid=s%3A...), a signed random session id.
local UNIQUE = "(e2e%-[%a%-]-)%-(" .. ("%x"):rep(16) .. ")"
local function id_tokens(s, visit)
  s = s:gsub("connect%.sid=([^;%s\"]+)", function(value)
    return "connect.sid=" .. visit("connect.sid", "sid:" .. value)
  end)
  s = s:gsub(UNIQUE, function(prefix, tail)
    return visit(prefix, prefix .. "-" .. tail)
  end)
  return (s:gsub("(%l+)_([%u%d]+)", function(prefix, tail)
    if #tail >= 16 then return visit(prefix, prefix .. "_" .. tail) end
  end))
end

-- Keys whose number the backend hands out from a sequence shared by every run: an order's
-- display_id (the second run's order is the next number).
local SEQUENCE_KEYS = { display_id = true }

local function is_time(s)
  return s:match("^%d%d%d%d%-%d%d%-%d%dT%d%d:%d%d:%d%d") ~= nil
end

local UUID = "^%x%x%x%x%x%x%x%x%-%x%x%x%x%-%x%x%x%x%-%x%x%x%x%-%x%x%x%x%x%x%x%x%x%x%x%x$"

local function is_array(t)
  return getmetatable(t) == json.array_mt
end

local function sorted_keys(t)
  local keys = {}
  for k in pairs(t) do keys[#keys + 1] = k end
  table.sort(keys, function(a, b) return tostring(a) < tostring(b) end)
  return keys
end

-- render(value) -> text: one line per scalar, path-free but indented, keys in byte order.
function Normalise.render(value)
  local lines = {}
  local function emit(v, indent, prefix)
    if type(v) ~= "table" then
      lines[#lines + 1] = indent .. prefix .. json.encode(v)
    elseif is_array(v) or (next(v) ~= nil and #v > 0) then
      if #v == 0 then lines[#lines + 1] = indent .. prefix .. "[]" return end
      lines[#lines + 1] = indent .. prefix .. "["
      for i = 1, #v do emit(v[i], indent .. "  ", "") end
      lines[#lines + 1] = indent .. "]"
    else
      local keys = sorted_keys(v)
      if #keys == 0 then lines[#lines + 1] = indent .. prefix .. "{}" return end
      lines[#lines + 1] = indent .. prefix .. "{"
      for _, k in ipairs(keys) do emit(v[k], indent .. "  ", json.encode(tostring(k)) .. ": ") end
      lines[#lines + 1] = indent .. "}"
    end
  end
  emit(value, "", "")
  return table.concat(lines, "\n") .. "\n"
end

-- A copy with every string passed through fix(s).
local function map_strings(v, fix)
  if type(v) == "string" then return fix(v) end
  if type(v) ~= "table" then return v end
  local out = setmetatable({}, getmetatable(v))
  for k, x in pairs(v) do out[k] = map_strings(x, fix) end
  return out
end

-- Arrays of rows (tables with an `id`) are sets: the backend loads relations in no fixed
-- order. They are sorted by their rendering with ids masked, before ids are numbered.
local function sort_rows(v)
  if type(v) ~= "table" then return end
  for _, x in pairs(v) do sort_rows(x) end
  if not is_array(v) or #v < 2 then return end
  for i = 1, #v do
    if type(v[i]) ~= "table" or v[i].id == nil then return end
  end
  local masked = {}
  for i = 1, #v do
    masked[v[i]] = Normalise.render(map_strings(v[i], function(s)
      return id_tokens(s, function(prefix) return "<" .. prefix .. ">" end)
    end))
  end
  table.sort(v, function(a, b) return masked[a] < masked[b] end)
end

-- normalise(value) -> a copy where ids become <prefix#n> (numbered by first appearance,
-- walking arrays in order and keys in byte order, so references stay visible: a
-- refreshed session is ps#2, not ps#1), timestamps <time>, UUIDs <uuid>.
function Normalise.normalise(value)
  local copy = map_strings(value, function(s)
    if is_time(s) then return "<time>" end
    if s:match(UUID) then return "<uuid>" end
    return s
  end)
  sort_rows(copy)
  local numbers, counts = {}, {}
  local function number(prefix, id)
    if not numbers[id] then
      counts[prefix] = (counts[prefix] or 0) + 1
      numbers[id] = ("<%s#%d>"):format(prefix, counts[prefix])
    end
    return numbers[id]
  end
  local function walk(v)
    if type(v) == "string" then return id_tokens(v, number) end
    if type(v) ~= "table" then return v end
    local out = setmetatable({}, getmetatable(v))
    if is_array(v) or #v > 0 then
      for i = 1, #v do out[i] = walk(v[i]) end
    end
    for _, k in ipairs(sorted_keys(v)) do
      if out[k] == nil then
        local x = v[k]
        if SEQUENCE_KEYS[k] and type(x) == "number" then x = number(k, "seq:" .. tostring(x)) end
        out[walk(k)] = walk(x)
      end
    end
    return out
  end
  return walk(copy)
end

-- diff(a, b, label_a, label_b) -> nil when the texts are equal, else a unified diff.
function Normalise.diff(a, b, label_a, label_b)
  if a == b then return nil end
  local pa, pb = os.tmpname(), os.tmpname()
  for path, text in pairs { [pa] = a, [pb] = b } do
    local f = assert(io.open(path, "w"))
    f:write(text)
    f:close()
  end
  local pipe = assert(io.popen(("diff -u --label %s --label %s %s %s"):format(
    label_a or "a", label_b or "b", pa, pb)))
  local out = pipe:read("*a")
  pipe:close()
  os.remove(pa)
  os.remove(pb)
  return out ~= "" and out or "(texts differ in a way diff cannot show)"
end

return Normalise
