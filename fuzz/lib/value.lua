-- fuzz/lib/value.lua: turns fuzz bytes into a Lua value for the encoders, reading them as a
-- small program: one opcode byte per node, then its operands. Every shape the README says
-- the encoders refuse or handle can come out: cycles, mixed, sparse and odd keys, functions,
-- threads, userdata, NaN and infinities, -0, invalid UTF-8, deep nesting, marked arrays.
-- V.program(value) writes the bytes that build a given plain value (for corpus seeds).
local core = require "medusa.core"

local V = {}

local OP = {
  string = 0, int64 = 1, small_int = 2, float = 3, boolean = 4, null = 5, array = 6,
  object = 7, marked_array = 8, back_reference = 9, odd_value = 10, odd_key = 11,
  deep = 12, long_string = 13, hostile_string = 14, special_float = 15,
}
V.OP = OP

local HOSTILE = { "/", "?", "#", "%", "..", ".", " ", "\r\n", "\0", "\255", "\192\128", "\237\160\128",
  "\244\144\128\128", "é", "€", "𝄞", "a[b]", "=", "&", "\"", "\\", "\127" }
local SPECIAL_FLOATS = { 0 / 0, math.huge, -math.huge, -0.0, 2 ^ 53, -(2 ^ 53), 2 ^ 63, 1e21, 1e-7, 5e-324,
  1.7976931348623157e308, 0.1, 1 / 3, 123456789012345680000.0, 2.2250738585072014e-308 }
local ODD_KEYS = { 0, -1, 1.5, 2 ^ 53, math.huge, true, false, 3, 1000 }

function V.build(data)
  local pos, budget, open = 0, 600, {}
  local function byte()
    pos = pos + 1
    return data:byte(pos) or 0
  end
  local function bytes(n)
    local s = data:sub(pos + 1, pos + n)
    pos = pos + n
    return s
  end
  local function fixed8()
    local s = bytes(8)
    return s .. ("\0"):rep(8 - #s)
  end

  local value
  local function key()
    local b = byte()
    if b < 224 then return bytes(b % 12) end
    return ODD_KEYS[b % #ODD_KEYS + 1]
  end
  local function container(op)
    local t, n = {}, byte() % 7
    open[#open + 1] = t
    for i = 1, n do
      if op == OP.object then
        t[key()] = value()
      else
        t[i] = value()
      end
    end
    open[#open] = nil
    if op == OP.marked_array then setmetatable(t, core.array_mt) end
    return t
  end

  function value()
    budget = budget - 1
    if pos >= #data or budget <= 0 then return "" end
    local op = byte() % 16
    if op == OP.string then
      return bytes(byte() % 24)
    elseif op == OP.int64 then
      return (string.unpack("<i8", fixed8()))
    elseif op == OP.small_int then
      return byte() - 128
    elseif op == OP.float then
      return (string.unpack("<d", fixed8()))
    elseif op == OP.boolean then
      return byte() % 2 == 0
    elseif op == OP.null then
      return core.null
    elseif op == OP.array or op == OP.object or op == OP.marked_array then
      return container(op)
    elseif op == OP.back_reference then
      return open[byte() % (#open + 1)] or {}
    elseif op == OP.odd_value then
      local b = byte() % 4
      if b == 0 then return print end
      if b == 1 then return coroutine.create(print) end
      if b == 2 then return io.stderr end
      return setmetatable({}, { __index = function() error("never called") end })
    elseif op == OP.odd_key then
      local t = { [ODD_KEYS[byte() % #ODD_KEYS + 1]] = value() }
      if byte() % 2 == 0 then t.x = value() end
      return t
    elseif op == OP.deep then
      local depth, root = byte() * 5, {}
      local t = root
      for i = 1, depth do
        local inner = {}
        if i % 2 == 0 then t[1] = inner else t.k = inner end
        t = inner
      end
      t[1] = value()
      return root
    elseif op == OP.long_string then
      return bytes(byte()):rep(byte() % 64 + 1)
    elseif op == OP.hostile_string then
      local parts = {}
      for i = 1, byte() % 6 + 1 do parts[i] = HOSTILE[byte() % #HOSTILE + 1] end
      return table.concat(parts)
    else
      return SPECIAL_FLOATS[byte() % #SPECIAL_FLOATS + 1]
    end
  end

  local v = value()
  local array_keys = byte() % 4 == 0 and { session_ids = true, sessions = true } or nil
  return v, array_keys
end

-- The bytes that V.build turns back into v (strings, numbers, booleans, null, tables with
-- keys 1..n or short string keys); for seeding the corpora from recorded traffic.
function V.program(v)
  local out = {}
  local function put(...) for _, b in ipairs({ ... }) do out[#out + 1] = string.char(b) end end
  local function str(s) out[#out + 1] = s end
  local function emit(x)
    local t = type(x)
    if x == core.null then
      put(OP.null)
    elseif t == "string" then
      if #x < 24 then
        put(OP.string, #x); str(x)
      else
        put(OP.long_string, math.min(#x, 255)); str(x:sub(1, 255)); put(0)
      end
    elseif t == "boolean" then
      put(OP.boolean, x and 0 or 1)
    elseif math.type(x) == "integer" then
      if x >= -128 and x < 128 then put(OP.small_int, x + 128) else put(OP.int64); str(string.pack("<i8", x)) end
    elseif t == "number" then
      put(OP.float); str(string.pack("<d", x))
    elseif t == "table" then
      local n = #x
      if n > 0 or getmetatable(x) == core.array_mt then
        put(getmetatable(x) == core.array_mt and OP.marked_array or OP.array, math.min(n, 6))
        for i = 1, math.min(n, 6) do emit(x[i]) end
      else
        local keys = {}
        for k in pairs(x) do if type(k) == "string" and #k < 12 then keys[#keys + 1] = k end end
        table.sort(keys)
        put(OP.object, math.min(#keys, 6))
        for i = 1, math.min(#keys, 6) do
          put(#keys[i]); str(keys[i]); emit(x[keys[i]])
        end
      end
    end
  end
  emit(v)
  return table.concat(out)
end

return V
