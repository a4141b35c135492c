-- medusa: the module table. Medusa.new{...} checks the config, picks the transport and
-- assembles a client instance with its resources. Also home of Medusa.null, Medusa.array
-- and Medusa.json.
local core = require "medusa.core"
local json = require "medusa.json"
local Error = require "medusa.error"
local Client = require "medusa.client"
local Events = require "medusa.events"
local Resource = require "medusa.resource"
local Tasks = require "medusa.tasks"

local Medusa = {
  _VERSION = core.version,
  version = core.version,
  null = json.null,
  array = json.array,
  array_mt = json.array_mt,
  object_mt = require("medusa.response").object_mt,
  json = json,
  Error = Error,
}

local Resources = require "medusa.resources"

---@class medusa.Config
---@field baseUrl string|nil           default "http://localhost:9000"
---@field maxRetries integer|nil       default 0, at most 10
---@field maxRetryDelay integer|nil    ms, the longest wait before a retry, default 30000 (at most 300000)
---@field apiKey string|nil            x-medusa-access-token, on /admin paths only
---@field publishableApiKey string|nil x-publishable-api-key, on every request
---@field customHeaders table<string,string>|nil
---@field timeout integer|nil          ms per attempt, default 30000
---@field connectTimeout integer|nil   ms, default 10000
---@field maxResponseBytes integer|nil default 32 MiB
---@field caFile string|nil            CA bundle for https (verification is always on)
---@field transport string|nil         "curl" | "ngx"; nil picks per call (cosockets inside nginx where allowed)
---@field maxInFlight integer|nil    requests in flight at once from this client's tasks, default 20 (at most 1000)
---@field poolSize integer|nil         ngx transport: keepalive connections per host:port and worker, default 30 (0: none)
---@field poolIdleTimeout integer|nil  ngx transport: ms an idle pooled connection is kept, default 4000
---@field debug boolean|fun(line: string)|nil  a line per attempt to stderr (nginx: its error log) or to
---                                   this function; default: on when MEDUSA_DEBUG is set (not "0")

-- With every wait capped at maxRetryDelay, MAX_RETRIES bounds how long one call can take
-- (10 retries at the 30 s default: under 3 minutes of waiting).
local MAX_RETRIES = 10
-- A Retry-After above 300 s is never waited for (medusa-js's rule), so neither is a cap.
local MAX_RETRY_DELAY = 300000
-- Requests in flight at once from one client's tasks (medusa:all, medusa:spawn).
local MAX_IN_FLIGHT = 1000

-- The exchange's defaults are the transports' contract (src/contract.h); the others are
-- medusa-js's (baseUrl, maxRetries) or this client's own policy (maxRetryDelay).
local contract = core.contract
local DEFAULTS = {
  baseUrl = "http://localhost:9000",
  maxRetries = 0,
  maxRetryDelay = 30000,
  -- Enough to overlap a batch's waits, few enough not to flood a shop's backend.
  maxInFlight = 20,
  timeout = contract.default_timeout_ms,
  connectTimeout = contract.default_connect_timeout_ms,
  maxResponseBytes = contract.default_max_response_bytes,
}

local function is_whole(value)
  return type(value) == "number" and value == math.floor(value) and value == value
    and value ~= math.huge
end

-- How a value looks in a message: strings quoted, so that "3" and 3 are told apart.
local function shown(value)
  if type(value) == "string" then
    local text = value:sub(1, 60):gsub("[%c\\\"]", function(c) return ("\\%03d"):format(c:byte()) end)
    return ('"%s"%s (a string)'):format(text, #value > 60 and "..." or "")
  end
  if type(value) == "number" or type(value) == "boolean" or value == nil then return tostring(value) end
  return "a " .. type(value)
end

local function check_count(key, value, minimum, maximum)
  if not is_whole(value) or value < minimum then
    Error.argument("config." .. key, ("expected an integer >= %d, got %s"):format(minimum, shown(value)))
  end
  if maximum and value > maximum then
    Error.argument("config." .. key, ("at most %d, got %s"):format(maximum, shown(value)))
  end
  local tointeger = rawget(math, "tointeger") -- 5.3+: an integer, not 3.0
  return tointeger and tointeger(value) or value
end

local function check_string(key, value)
  if type(value) ~= "string" then
    Error.argument("config." .. key, "expected a string, got " .. shown(value))
  end
  if value:find("[\r\n%z]") then
    Error.argument("config." .. key, "contains CR, LF or NUL")
  end
end

-- Only http(s) URLs with a host and nothing after the path: no user-info (it would be
-- sent on every request and leak into error URLs), no query, no fragment.
local function check_base_url(url)
  check_string("baseUrl", url)
  local scheme, rest = url:match("^(%a[%w+.-]*)://(.*)$")
  if not scheme then
    Error.argument("config.baseUrl", ("%q is not an absolute http(s) URL"):format(url))
  end
  scheme = scheme:lower()
  if scheme ~= "http" and scheme ~= "https" then
    Error.argument("config.baseUrl", ("scheme %q is not allowed (only http and https)"):format(scheme))
  end
  local authority = rest:match("^([^/]*)")
  if authority == "" then
    Error.argument("config.baseUrl", ("%q has no host"):format(url))
  end
  if authority:find("@", 1, true) then
    Error.argument("config.baseUrl", "user-info (user:password@) is not allowed; use customHeaders")
  end
  -- One message for the one thing wrong, checked in the order a reader scans the URL.
  for _, bad in ipairs {
    { "[%s]", "a space or other white space" }, { "[%z%c\127]", "a control character" },
    { "[\128-\255]", "a non-ASCII byte (percent-encode it)" },
    { "%?", "a query ('?'): put query parameters in the call" }, { "#", "a fragment ('#')" },
  } do
    if url:find(bad[1]) then
      Error.argument("config.baseUrl", ("%q contains %s"):format(url, bad[2]))
    end
  end
  if not authority:match("^[%w%-%._~%%]+$") and not authority:match("^[%w%-%._~%%]+:%d+$")
    and not authority:match("^%[[%x:.]+%]$") and not authority:match("^%[[%x:.]+%]:%d+$") then
    Error.argument("config.baseUrl", ("%q has a malformed host or port"):format(url))
  end
  local base_path = rest:sub(#authority + 1)
  if ("/" .. base_path .. "/"):find("/%.%.?/") then
    Error.argument("config.baseUrl", ("%q has a '.' or '..' path segment"):format(url))
  end
  if base_path:find("%%%X") or base_path:find("%%%x%X") or base_path:find("%%.?$") then
    Error.argument("config.baseUrl", ("%q has a malformed percent-escape"):format(url))
  end
  local port = authority:match(":(%d+)$")
  if port and (tonumber(port) < 1 or tonumber(port) > 65535) then
    Error.argument("config.baseUrl", ("port %s is out of range"):format(port))
  end
end

local KNOWN = {
  baseUrl = check_base_url,
  maxRetries = function(v) return check_count("maxRetries", v, 0, MAX_RETRIES) end,
  maxRetryDelay = function(v) return check_count("maxRetryDelay", v, 0, MAX_RETRY_DELAY) end,
  maxInFlight = function(v) return check_count("maxInFlight", v, 1, MAX_IN_FLIGHT) end,
  apiKey = function(v) check_string("apiKey", v) end,
  publishableApiKey = function(v) check_string("publishableApiKey", v) end,
  customHeaders = function(v) Client.check_headers("config.customHeaders", v) end,
  timeout = function(v) return check_count("timeout", v, 1) end,
  connectTimeout = function(v) return check_count("connectTimeout", v, 1) end,
  maxResponseBytes = function(v) return check_count("maxResponseBytes", v, 1) end,
  transport = function(v)
    if v ~= "curl" and v ~= "ngx" then
      Error.argument("config.transport", ("expected \"curl\" or \"ngx\", got %s"):format(shown(v)))
    end
  end,
  poolSize = function(v) return check_count("poolSize", v, 0) end,
  poolIdleTimeout = function(v) return check_count("poolIdleTimeout", v, 1) end,
  debug = function(v)
    if type(v) ~= "boolean" and type(v) ~= "function" then
      Error.argument("config.debug", "expected true, false or a function(line), got " .. shown(v))
    end
  end,
  caFile = function(v)
    check_string("caFile", v)
    local f = io.open(v, "rb")
    if not f then Error.argument("config.caFile", ("cannot read %q"):format(v)) end
    f:close()
  end,
}

local function suggestion(key)
  if type(key) ~= "string" then return "" end
  for known in pairs(KNOWN) do
    if known:lower() == key:lower() then return (" (did you mean '%s'?)"):format(known) end
  end
  return ""
end

-- Returns a checked copy of config with defaults filled in.
local function check_config(config)
  if config == nil then config = {} end
  if type(config) ~= "table" then
    Error.argument("config", "expected a table, got " .. type(config))
  end
  local settings = {}
  for key, value in pairs(config) do
    local check = KNOWN[key]
    if not check then
      Error.argument("config", ("unknown key '%s'%s"):format(tostring(key), suggestion(key)))
    end
    settings[key] = check(value) or value
  end
  for key, value in pairs(DEFAULTS) do
    if settings[key] == nil then settings[key] = value end
  end
  -- An empty key is falsy in medusa-js, so it is not sent.
  if settings.apiKey == "" then settings.apiKey = nil end
  if settings.publishableApiKey == "" then settings.publishableApiKey = nil end
  settings.customHeaders = settings.customHeaders or {}
  -- The environment turns the debug log on for code that cannot be changed; an explicit
  -- debug = false in the config still wins. (Inside nginx, an `env MEDUSA_DEBUG;`
  -- directive lets the variable through.)
  if settings.debug == nil then settings.debug = Events.env_debug(os.getenv("MEDUSA_DEBUG")) end
  return settings
end

local Instance = {}
Instance.__index = Instance
Instance.__name = "medusa.Medusa"

function Instance.__tostring(self)
  return ("medusa.Medusa <%s> { client, %s, setPublishableKey(key), with(settings), on(event, fn), off(event, fn), "
    .. "spawn(fn, ...), all(list, opts?), loop(), close() }")
    :format(self.client.base, table.concat(Resources.names, ", "))
end

-- Closes the connection; later calls raise. Safe to call twice.
function Instance.close(self)
  self.client:close()
end
Instance.__close = Instance.close

local function method_of(self, name)
  if getmetatable(self) ~= Instance then
    Error.raise(("%s is a method: call it with a colon, medusa:%s(...)"):format(name, name))
  end
  return self.client
end

-- Concurrency (medusa.tasks): medusa:spawn(fn, ...) -> task, medusa:all(list, opts?) ->
-- results, errs, medusa:loop() -> the scheduler's face for another event loop.
function Instance.spawn(self, fn, ...) return Tasks.spawn(method_of(self, "spawn"), fn, ...) end
function Instance.all(self, list, opts) return Tasks.all(method_of(self, "all"), list, opts) end
function Instance.loop(self) return Tasks.loop(method_of(self, "loop")) end

-- The instance around a client (or a view of one): every resource, and setPublishableKey.
local function instance_of(client)
  local instance = setmetatable({ client = client }, Instance)
  for name, spec in pairs(Resources.list) do
    instance[name] = Resource.new(spec, client)
  end
  -- medusa-js calls it with a dot; the colon works as well. Unlike medusa-js's process-wide
  -- key, it changes this client only.
  instance.setPublishableKey = function(first, ...)
    if first == instance then return client:set_publishable_key(...) end
    return client:set_publishable_key(first, ...)
  end
  -- Hooks on this client's calls (medusa.events), with a dot or a colon as well.
  instance.on = function(first, ...)
    if first == instance then return Events.on(client, ...) end
    return Events.on(client, first, ...)
  end
  instance.off = function(first, ...)
    if first == instance then return Events.off(client, ...) end
    return Events.off(client, first, ...)
  end
  return instance
end

---@param config medusa.Config|nil
function Medusa.new(config)
  local settings = check_config(config)
  return instance_of(Client.new(settings, require("medusa.transport").new(settings), Resources.array_keys))
end

-- The config keys that may differ per call; the others belong to the connection or the
-- login (baseUrl, keys, transport, pool, CA).
local PER_CALL = { timeout = true, connectTimeout = true, maxRetries = true, maxRetryDelay = true,
  maxResponseBytes = true, customHeaders = true }
local PER_CALL_NAMES = "connectTimeout, customHeaders, maxResponseBytes, maxRetries, maxRetryDelay, timeout"

-- medusa:with{timeout = 2000, maxRetries = 0, customHeaders = {...}}: a view of this client
-- whose calls use these settings, over the same connection pool, cookie jar and token.
-- customHeaders are merged over the client's (a name equal but for case replaces it).
function Instance.with(self, overrides)
  if getmetatable(self) ~= Instance then
    Error.raise("with is a method: call it with a colon, medusa:with{...}")
  end
  if type(overrides) ~= "table" then
    Error.argument("settings", "expected a table of per-call settings, got " .. shown(overrides))
  end
  local settings = {}
  for key, value in pairs(self.client.settings) do settings[key] = value end
  for key, value in pairs(overrides) do
    if not PER_CALL[key] then
      local why = KNOWN[key] and "cannot change per call" or "is not a config key"
      Error.argument("settings", ("'%s' %s (per call: %s)"):format(tostring(key), why, PER_CALL_NAMES))
    end
    settings[key] = KNOWN[key](value) or value
  end
  if overrides.customHeaders then
    local merged = {}
    for name, value in pairs(self.client.settings.customHeaders) do merged[name] = value end
    for name, value in pairs(overrides.customHeaders) do
      for old in pairs(merged) do
        if old:lower() == name:lower() then merged[old] = nil end
      end
      merged[name] = value
    end
    settings.customHeaders = merged
  end
  return instance_of(self.client:view(settings))
end

-- Medusa{...} and require("medusa"){...} work as Medusa.new{...}.
local MODULE_TEXT = ([[
medusa %s: a client of the Medusa v1 store API
  Medusa.new(config?) or Medusa(config?)  -> an instance (print it to see its resources)
  Medusa.null, Medusa.array(t?), Medusa.array_mt, Medusa.object_mt   JSON values
  Medusa.json.encode(value, array_keys?), Medusa.json.decode(text), Medusa.json.safe.*
  Medusa.Error.is(value)
  config keys: %s]])

local function config_keys()
  local keys = {}
  for key in pairs(KNOWN) do keys[#keys + 1] = key end
  table.sort(keys)
  return table.concat(keys, ", ")
end

return setmetatable(Medusa, {
  __name = "medusa",
  __call = function(_, config) return Medusa.new(config) end,
  __tostring = function() return MODULE_TEXT:format(core.version, config_keys()) end,
})
