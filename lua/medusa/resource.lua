-- medusa.resource: turns a declarative route table into callable methods. It checks the
-- arguments (naming them), fills the path template with percent-encoded segments, adds
-- the query string, and hands everything to the client pipeline. It never touches HTTP.
--
-- A declaration file (lua/medusa/resources/*.lua) returns
--   { name = "carts", methods = { <name> = <route>, ... }, resources = { <name> = <declaration> } }
-- and a route is
--   { "POST", "/store/carts/{cart_id}/line-items/{line_id}",  -- method, path template
--     body = "payload" | "payload?",     -- the argument after the path parameters is the JSON body
--     query = "query?" | "payload",      -- ... or the query-string table (never both)
--     arrays = { "items" },              -- body fields that stay JSON arrays when empty
--     returns = "cart",                  -- the result's main key, for the docs
--     after = "client_method", always = true,  -- called with the result (also on failure)
--     doc = "one line for the docs",
--     types = { payload = "medusa.Credentials", result = "medusa.PaymentCollectionResult" } }
-- or a method that only changes client state: { local_call = "set_token", args = { "token" } }.
-- types (optional, for tools/gen_api.lua only) names LuaLS types finer than the defaults
-- (table for a body or query, string for a path parameter, medusa.Result|{<returns>: table}),
-- keyed by argument name or "result".
-- Path parameters are the template's {names}, in order; customHeaders is always the
-- optional last argument. A trailing "?" marks an argument medusa-js declares optional;
-- every body and query may be nil (a nil body sends {}, as medusa-js sends for undefined).
local core = require "medusa.core"
local Error = require "medusa.error"
local Limits = require "medusa.limits"

local MAX_TARGET = Limits.RESOURCE_TARGET_BYTES

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

local function check_table(name, value)
  if value ~= nil and type(value) ~= "table" then
    Error.argument(name, "expected a table, got " .. type(value))
  end
end

local function encode_query(name, query)
  local ok, encoded = pcall(core.query_encode, query)
  if not ok then Error.argument(name, (tostring(encoded):gsub("^.-(medusa%.query: )", "%1"))) end
  return encoded
end

-- The path parameters of a template, in order: "/a/{id}/b/{sid}" -> {"id", "sid"}.
local function template_params(template)
  local params = {}
  for name in template:gmatch("{([%w_]+)}") do params[#params + 1] = name end
  return params
end

-- "payload?" -> "payload"
local function bare(arg)
  return arg and (arg:gsub("%?$", ""))
end

-- The arguments of a route as the docs show them: {"cart_id", "payload?", "customHeaders?"}.
function Resource.arguments(decl)
  local args = {}
  if decl.local_call then
    for i, a in ipairs(decl.args or {}) do args[i] = a end
    return args
  end
  for _, p in ipairs(template_params(decl[2])) do args[#args + 1] = p end
  if decl.body or decl.query then args[#args + 1] = decl.body or decl.query end
  args[#args + 1] = "customHeaders?"
  return args
end

-- "update(cart_id, payload, customHeaders?)"
function Resource.signature(name, decl)
  return ("%s(%s)"):format(name, table.concat(Resource.arguments(decl), ", "))
end

local function as_set(list)
  if not list then return nil end
  local set = {}
  for _, key in ipairs(list) do set[key] = true end
  return set
end

-- One method from its route. The generated function takes the params, then the body or
-- query if declared, then customHeaders; it accepts both resource.method(...) and
-- resource:method(...). It runs on every call, so it allocates nothing it can avoid (no
-- vararg tables, the path from one string.format of a template compiled once).
local function build(resource, client, decl)
  local method = decl[1]
  local params = template_params(decl[2])
  local nparams = #params
  assert(nparams <= 2, "a route takes at most two path parameters")
  -- The template's text around its parameters: "/a/{id}/b" -> "/a/", "/b" (or the whole
  -- path when it has none). Shaped for speed: a concatenation is a VM instruction, where
  -- string.format is a C call that parses its pattern on every request.
  local pre, mid, post = decl[2]:match("^(.-){[%w_]+}(.-){[%w_]+}(.*)$")
  if not pre then
    pre, post = decl[2]:match("^(.-){[%w_]+}(.*)$")
    if not pre then pre = decl[2] end
  end
  local name1, name2 = params[1], params[2]
  local query_name, body_name = bare(decl.query), bare(decl.body)
  local array_keys = as_set(decl.arrays)
  local hook, always = decl.after, decl.always

  -- Names the argument that makes a path too long (the longest of what went into it).
  local function too_long(path, seg1, seg2, query)
    local name, size = name1, seg1 and #seg1 or -1
    if seg2 and #seg2 > size then name, size = name2, #seg2 end
    if query and #query > size then name = query_name end
    Error.argument(name or query_name, ("makes the request target %d bytes; at most %d fit in a request head")
      :format(#path, MAX_TARGET))
  end

  -- a1..a4: the caller's arguments, after the colon's self is dropped.
  local function invoke(a1, a2, a3, a4)
    local path, extra, customHeaders, seg1, seg2, query
    if nparams == 0 then
      path, extra, customHeaders = pre, a1, a2
    elseif nparams == 1 then
      seg1 = check_segment(name1, a1)
      path, extra, customHeaders = pre .. seg1 .. post, a2, a3
    else
      seg1, seg2 = check_segment(name1, a1), check_segment(name2, a2)
      path = pre .. seg1 .. mid .. seg2 .. post
      extra, customHeaders = a3, a4
    end
    local payload
    -- The nil tests before check_table: most calls pass no query, body or headers, and
    -- skip a function call each.
    if query_name then
      if extra ~= nil then
        check_table(query_name, extra)
        query = encode_query(query_name, extra)
        -- Unlike medusa-js, an empty query adds no bare '?'.
        if query ~= "" then path = path .. "?" .. query end
      end
    elseif body_name then
      if extra ~= nil then check_table(body_name, extra) end
      payload = extra
    else
      -- No query or body: the argument after the params is customHeaders.
      customHeaders = extra
    end
    if customHeaders ~= nil then check_table("customHeaders", customHeaders) end
    if #path > MAX_TARGET then too_long(path, seg1, seg2, query) end
    if not hook then
      return client:dispatch(method, path, payload, nil, customHeaders, array_keys)
    end
    local result, err = client:dispatch(method, path, payload, nil, customHeaders, array_keys)
    if result or always then client[hook](client, result, path) end
    return result, err
  end

  -- Fixed parameters rather than "...": a vararg call costs more, on every request.
  return function(a0, a1, a2, a3, a4)
    if a0 == resource then return invoke(a1, a2, a3, a4) end -- called with a colon
    return invoke(a0, a1, a2, a3)
  end
end

-- A method that only changes client state (no request).
local function build_local(resource, client, decl)
  return function(first, ...)
    if first == resource then return client[decl.local_call](client, ...) end
    return client[decl.local_call](client, first, ...)
  end
end

-- The sorted names of a table's keys.
local function sorted_keys(t)
  local names = {}
  for name in pairs(t or {}) do names[#names + 1] = name end
  table.sort(names)
  return names
end
Resource.sorted_keys = sorted_keys

-- What print(resource) shows in the REPL: one signature per line, then the nested resources.
local function describe(spec)
  local lines = { ("medusa.%s"):format(spec.name) }
  for _, name in ipairs(sorted_keys(spec.methods)) do
    lines[#lines + 1] = "  " .. Resource.signature(name, spec.methods[name])
  end
  for _, name in ipairs(sorted_keys(spec.resources)) do
    lines[#lines + 1] = ("  %s: medusa.%s"):format(name, spec.resources[name].name)
  end
  return table.concat(lines, "\n")
end

-- Builds a resource object from its declaration: its methods, its nested resources, and a
-- __tostring that lists them.
function Resource.new(spec, client)
  local resource = {}
  for name, decl in pairs(spec.methods) do
    resource[name] = (decl.local_call and build_local or build)(resource, client, decl)
  end
  for name, child in pairs(spec.resources or {}) do
    resource[name] = Resource.new(child, client)
  end
  local text = describe(spec)
  return setmetatable(resource, {
    __name = "medusa." .. spec.name,
    __tostring = function() return text end,
  })
end

return Resource
