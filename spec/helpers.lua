-- spec/helpers.lua: assertions shared by the specs about what arrived on the wire.
local core = require "medusa.core"
local assert = require "luassert"

local helpers = {}

helpers.USER_AGENT = ("medusa-lua/%s libcurl/%s"):format(core.version, core.curl_version)
helpers.UUID_V4 = "^%x%x%x%x%x%x%x%x%-%x%x%x%x%-4%x%x%x%-[89ab]%x%x%x%-%x%x%x%x%x%x%x%x%x%x%x%x$"

-- The header lines of a recorded request other than Host, as "Name: value" strings in
-- arrival order; `skip` names (lower-case) are left out too.
function helpers.header_lines(record, skip)
  local lines = {}
  for _, h in ipairs(record.headers) do
    local lower = h[1]:lower()
    if lower ~= "host" and not (skip and skip[lower]) then
      lines[#lines + 1] = h[1] .. ": " .. h[2]
    end
  end
  return lines
end

-- Asserts the exact header set (names in exact case, values exact; Host checked apart),
-- in any order. `expected` is a list of "Name: value" strings; a value given as
-- "Name: ~pattern" is matched as a Lua pattern instead.
function helpers.assert_header_set(record, expected, port)
  local got = helpers.header_lines(record)
  local remaining = {}
  for _, line in ipairs(got) do remaining[#remaining + 1] = line end
  for _, want in ipairs(expected) do
    local found
    local name, pattern = want:match("^(.-): ~(.*)$")
    for i, line in ipairs(remaining) do
      if (pattern and line:sub(1, #name + 2) == name .. ": " and line:sub(#name + 3):match(pattern))
        or (not pattern and line == want) then
        found = i
        break
      end
    end
    assert(found, ("header %q not sent; got:\n  %s"):format(want, table.concat(got, "\n  ")))
    table.remove(remaining, found)
  end
  assert(#remaining == 0, ("unexpected headers sent:\n  %s"):format(table.concat(remaining, "\n  ")))
  local hosts = 0
  for _, h in ipairs(record.headers) do
    if h[1]:lower() == "host" then
      hosts = hosts + 1
      if port then assert.are.equal("127.0.0.1:" .. port, h[2]) end
    end
  end
  assert.are.equal(1, hosts)
end

-- The value of a header in a recorded request (case-insensitive), or nil.
function helpers.header(record, name)
  for _, h in ipairs(record.headers) do
    if h[1]:lower() == name:lower() then return h[2] end
  end
end

-- Every string anywhere inside a value, for "does this leak a secret" checks.
function helpers.all_strings(value, out, seen)
  out, seen = out or {}, seen or {}
  if type(value) == "string" then
    out[#out + 1] = value
  elseif type(value) == "table" and not seen[value] then
    seen[value] = true
    for k, v in pairs(value) do
      helpers.all_strings(k, out, seen)
      helpers.all_strings(v, out, seen)
    end
  end
  return out
end

-- Milliseconds between consecutive arrivals in a request log.
function helpers.gaps(log)
  local gaps = {}
  for i = 2, #log do gaps[#gaps + 1] = log[i].t_ms - log[i - 1].t_ms end
  return gaps
end

-- load(source, name, "t", env) on every Lua: PUC 5.1's load takes only a function and no
-- environment, so there it is loadstring and setfenv.
function helpers.load(source, name, env)
  local setfenv = rawget(_G, "setfenv")
  if not setfenv then return load(source, name, "t", env) end
  local chunk, err = rawget(_G, "loadstring")(source, name)
  if chunk and env then setfenv(chunk, env) end
  return chunk, err
end

return helpers
