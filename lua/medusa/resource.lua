-- medusa.resource: turns a declarative route table into callable methods. It checks the
-- arguments (naming them), fills the path template with percent-encoded segments, adds
-- the query string, and hands everything to the client pipeline. It never touches HTTP.
local core = require "medusa.core"
local Error = require "medusa.error"

local Resource = {}

local function check_segment(name, value)
  if type(value) ~= "string" or value == "" then
    Error.argument(name, "expected a non-empty string, got " .. (value == "" and "an empty string" or type(value)))
  end
  if value == "." or value == ".." then
    Error.argument(name, "'" .. value .. "' is not a usable id")
  end
  return core.path_segment(value)
end

local function check_table(name, value, optional)
  if value == nil and optional then return end
  if type(value) ~= "table" then
    Error.argument(name, "expected a table, got " .. type(value))
  end
end

local function encode_query(query)
  local ok, encoded = pcall(core.query_encode, query)
  if not ok then Error.argument("query", (tostring(encoded):gsub("^.-(medusa%.query: )", "%1"))) end
  return encoded
end

-- One method from its declaration:
--   { "POST", "/store/x/{id}/y/{session_id}", params = {"id", "session_id"},
--     payload = true|nil, query = true|nil,
--     on_success = "client_method" (called with the result), always = true (even on failure) }
-- The generated function takes the params, then the query or payload if declared, then
-- customHeaders; it accepts both resource.method(...) and resource:method(...).
local function build(resource, client, decl)
  local method, template, params = decl[1], decl[2], decl.params
  local nparams = #params
  return function(...)
    local args = { n = select("#", ...), ... }
    local first = 1
    if args[1] == resource then first = 2 end -- called with a colon
    local values = {}
    for i = 1, nparams do
      values[params[i]] = check_segment(params[i], args[first + i - 1])
    end
    local path = template:gsub("{([%w_]+)}", values)
    local nextarg = first + nparams
    local payload
    if decl.query then
      local query = args[nextarg]
      check_table("query", query, true)
      if query ~= nil then
        local encoded = encode_query(query)
        -- Unlike medusa-js, an empty query adds no bare '?'.
        if encoded ~= "" then path = path .. "?" .. encoded end
      end
      nextarg = nextarg + 1
    elseif decl.payload then
      payload = args[nextarg]
      check_table("payload", payload, true)
      nextarg = nextarg + 1
    end
    local customHeaders = args[nextarg]
    check_table("customHeaders", customHeaders, true)
    local hook = decl.on_success
    if not hook then
      return client:request(method, path, payload, nil, customHeaders)
    end
    local result, err = client:request(method, path, payload, nil, customHeaders)
    if result or decl.always then client[hook](client, result, path) end
    return result, err
  end
end

-- A method that only changes client state (no request): { local_call = "set_token" }.
local function build_local(resource, client, decl)
  return function(first, ...)
    if first == resource then return client[decl.local_call](client, ...) end
    return client[decl.local_call](client, first, ...)
  end
end

-- Builds a resource object: its methods, plus a __tostring that lists them.
function Resource.new(spec, client)
  local resource = {}
  local names = {}
  for name, decl in pairs(spec.methods) do
    resource[name] = (decl.local_call and build_local or build)(resource, client, decl)
    names[#names + 1] = name
  end
  table.sort(names)
  return setmetatable(resource, {
    __name = "medusa." .. spec.name,
    __tostring = function()
      return ("medusa.%s { %s }"):format(spec.name, table.concat(names, ", "))
    end,
  })
end

return Resource
