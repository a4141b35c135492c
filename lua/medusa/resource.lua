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
-- It runs on every call, so it allocates nothing it can avoid (no vararg tables, the path
-- from one string.format of a template compiled once).
local function build(resource, client, decl)
  local method, params = decl[1], decl.params
  local format = decl[2]:gsub("{[%w_]+}", "%%s")
  local nparams = #params
  local name1, name2 = params[1], params[2]
  local takes_query, takes_payload = decl.query, decl.payload
  local hook, always = decl.on_success, decl.always

  -- a1..a4: the caller's arguments, after the colon's self is dropped.
  local function invoke(a1, a2, a3, a4)
    local path, extra, customHeaders
    if nparams == 0 then
      path, extra, customHeaders = format, a1, a2
    elseif nparams == 1 then
      path, extra, customHeaders = format:format(check_segment(name1, a1)), a2, a3
    else
      path = format:format(check_segment(name1, a1), check_segment(name2, a2))
      extra, customHeaders = a3, a4
    end
    local payload
    if takes_query then
      check_table("query", extra, true)
      if extra ~= nil then
        local encoded = encode_query(extra)
        -- Unlike medusa-js, an empty query adds no bare '?'.
        if encoded ~= "" then path = path .. "?" .. encoded end
      end
    elseif takes_payload then
      check_table("payload", extra, true)
      payload = extra
    else
      -- No query or payload: the argument after the params is customHeaders.
      customHeaders = extra
    end
    check_table("customHeaders", customHeaders, true)
    if not hook then
      return client:dispatch(method, path, payload, nil, customHeaders)
    end
    local result, err = client:dispatch(method, path, payload, nil, customHeaders)
    if result or always then client[hook](client, result, path) end
    return result, err
  end

  assert(nparams <= 2, "a route takes at most two path parameters")
  -- Fixed parameters rather than "...": a vararg call costs more, on every request.
  return function(a0, a1, a2, a3, a4)
    if a0 == resource then return invoke(a1, a2, a3, a4) end -- called with a colon
    return invoke(a0, a1, a2, a3)
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
