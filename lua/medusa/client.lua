-- medusa.client: the one request pipeline every resource and every transport shares.
-- It owns all HTTP policy: URL joining, the header set and its precedence, the JSON body,
-- the Idempotency-Key, the retry loop with its backoff and Retry-After rules, and the
-- shaping of results and errors. Transports only move bytes; resources only name routes.
local core = require "medusa.core"
local Error = require "medusa.error"
local Headers = require "medusa.headers"
local Response = require "medusa.response"
local Retry = require "medusa.retry"
local Session = require "medusa.session"

local Client = {}
Client.__index = Client
Client.__name = "medusa.Client"

Client.Result = Response.Result
Client.retry_delay = Retry.delay
local success, http_error, transport_error = Response.success, Response.http_error, Response.transport_error
local retry_delay, retryable = Retry.delay, Retry.retryable
Client.keep_cookies = Session.keep_cookies
Client.start_session = Session.start_session
Client.end_session = Session.end_session
Client.keep_token = Session.keep_token
Client.set_token = Session.set_token
Client.set_publishable_key = Session.set_publishable_key
local keep_cookies, cookie_header = Session.keep_cookies, Session.cookie_header

local VERSION = core.version
local USER_AGENT = ("medusa-lua/%s libcurl/%s"):format(VERSION, core.curl_version)

-- Admin routes medusa-js sends without the API token (spec §1.3 step 3).
local UNAUTHENTICATED_ADMIN = {
  ["/admin/auth"] = "POST",
  ["/admin/users/password-token"] = "POST",
  ["/admin/users/reset-password"] = "POST",
  ["/admin/invites/accept"] = "POST",
}

local METHODS_WITH_BODY = { POST = true, DELETE = true }
local METHODS = { GET = true, POST = true, DELETE = true }

-- What repeated response header fields become (medusa.headers); every transport applies them.
local RULES = Headers.RULES

---------------------------------------------------------------------------------------
-- Header checks and the ordered, case-insensitive header list
---------------------------------------------------------------------------------------

-- RFC 9110 token characters.
local function is_token(name)
  return name ~= "" and not name:find("[^!#$%%&'*+%-.^_`|~%w]")
end

-- Raises, naming `where`, unless name/value make a header that cannot split the request.
function Client.check_header(where, name, value)
  if type(name) ~= "string" or not is_token(name) then
    Error.argument(where, ("header name %q is not an HTTP token"):format(tostring(name)))
  end
  if type(value) ~= "string" then
    Error.argument(where, ("header %q must be a string, got %s"):format(name, type(value)))
  end
  if value:find("[\r\n%z]") then
    Error.argument(where, ("header %q contains CR, LF or NUL"):format(name))
  end
end

local NO_NAMES = {}

-- Validates a table of headers and returns its names sorted case-insensitively, so the
-- order on the wire never depends on Lua's table iteration order.
function Client.check_headers(where, headers)
  if headers == nil then return NO_NAMES end
  if type(headers) ~= "table" then
    Error.argument(where, "expected a table of header strings, got " .. type(headers))
  end
  local names = {}
  for name, value in pairs(headers) do
    Client.check_header(where, name, value)
    names[#names + 1] = name
  end
  table.sort(names, function(a, b)
    local la, lb = a:lower(), b:lower()
    if la ~= lb then return la < lb end
    return a < b
  end)
  return names
end

-- An ordered header list where a name that differs only in case replaces the earlier
-- entry in place and takes the new spelling (what Node does with medusa-js's headers).
local function header_list()
  return { n = 0, index = {} }
end

local function set_header(list, name, value)
  local key = name:lower()
  local at = list.index[key]
  if at then
    list[at] = { name, value }
  else
    list.n = list.n + 1
    list[list.n] = { name, value }
    list.index[key] = list.n
  end
end

-- Framing headers belong to the transport, which sets them from the body it sends. A
-- caller's value would desynchronise the connection (`Content-Length: 0` leaves the body
-- to be read as the next request), so it is dropped, as axios overwrites it.
local FRAMING = { ["content-length"] = true, ["transfer-encoding"] = true }

local function add_table(list, headers, names)
  for i = 1, #names do
    if not FRAMING[names[i]:lower()] then
      set_header(list, names[i], headers[names[i]])
    end
  end
end

---------------------------------------------------------------------------------------
-- The client
---------------------------------------------------------------------------------------

-- settings: the checked config of medusa.new (see init.lua); transport: send/sleep/close.
-- array_keys: the fields that stay JSON arrays when empty in a body client.request sends
-- (the resources pass their route's own).
function Client.new(settings, transport, array_keys)
  local self = setmetatable({
    settings = settings,
    transport = transport,
    base = settings.baseUrl:gsub("/+$", ""),
    custom_names = Client.check_headers("customHeaders", settings.customHeaders),
    closed = false,
    array_keys = array_keys,
    fixed_headers = {}, -- [is an admin call] = the reusable header list (build_headers)
  }, Client)
  Session.init(self) -- the login state; medusa.session owns its fields
  -- medusa-js style: medusa.client.request(...) with a dot works as well as the colon.
  local request = Client.request
  self.request = function(first, ...)
    if first == self then return request(self, ...) end
    return request(self, first, ...)
  end
  return self
end

function Client:close()
  if not self.closed then
    self.closed = true
    self.transport:close()
  end
end

local function check_path(path)
  if type(path) ~= "string" or path:sub(1, 1) ~= "/" then
    Error.argument("path", "expected a string starting with '/'")
  end
  -- Spaces, controls, '#' and raw non-ASCII would be rewritten or rejected on the way;
  -- refusing them keeps "what you asked for is what is sent" true.
  if path:find("[%z\1-\32#\127-\255]") then
    Error.argument("path", "contains a space, a control character, '#' or a non-ASCII byte; percent-encode it")
  end
  if path:find("/%.%.?/") or path:find("/%.%.?$") or path:find("/%.%.?%?") then
    Error.argument("path", "contains a '.' or '..' segment")
  end
end

-- Builds the header list for one call, in medusa-js's order (spec §1.3).
function Client:build_headers(method, path, options, option_names, custom, custom_names)
  local s = self.settings
  local admin = s.apiKey ~= nil and path:sub(1, 6) == "/admin" and UNAUTHENTICATED_ADMIN[path] ~= method
  -- Most calls carry nothing that changes from call to call (no per-call headers, no
  -- Idempotency-Key, cookie or token): their list is built once per client and reused,
  -- and the transport may keep what it derived from it (see `headers_reused`).
  local fixed = #option_names == 0 and #custom_names == 0 and not self.jar.enabled
    and not (s.maxRetries > 0 and method == "POST") and not (self.bearer and path:sub(1, 7) == "/store/")
  if fixed then
    local cached = self.fixed_headers[admin]
    if cached then return cached, true end
  end
  local list = header_list()
  set_header(list, "Accept", "application/json")
  set_header(list, "Content-Type", "application/json")
  if admin then
    set_header(list, "x-medusa-access-token", s.apiKey)
  end
  if self.bearer and path:sub(1, 7) == "/store/" then
    set_header(list, "Authorization", "Bearer " .. self.bearer)
  end
  if self.publishable_key then
    set_header(list, "x-publishable-api-key", self.publishable_key)
  end
  if s.maxRetries > 0 and method == "POST" then
    set_header(list, "Idempotency-Key", core.uuid4())
  end
  if self.jar.enabled then
    local cookie = cookie_header(self, path)
    if cookie then set_header(list, "Cookie", cookie) end
  end
  add_table(list, options, option_names)
  add_table(list, s.customHeaders, self.custom_names)
  add_table(list, custom, custom_names)
  if not list.index["user-agent"] then
    set_header(list, "User-Agent", USER_AGENT)
  end
  list.index = nil
  list.n = nil
  if fixed then
    self.fixed_headers[admin] = list
    -- Listed once: the transport sees this table again on later calls.
    return list, true
  end
  return list, false
end

---------------------------------------------------------------------------------------
-- request(method, path, payload?, options?, customHeaders?)
---------------------------------------------------------------------------------------

---@return table|nil result, medusa.Error|nil err
function Client:request(method, path, payload, options, customHeaders)
  if type(method) ~= "string" or not METHODS[method] then
    Error.argument("method", "expected \"GET\", \"POST\" or \"DELETE\", got " .. tostring(method))
  end
  check_path(path)
  return self:dispatch(method, path, payload, options, customHeaders, self.array_keys)
end

-- request() for callers that built the path themselves from encoded segments (the
-- resources): the same pipeline without re-scanning the path.
-- array_keys: the body fields that stay JSON arrays when empty (a set), or nil.
function Client:dispatch(method, path, payload, options, customHeaders, array_keys)
  if self.closed then Error.raise("attempt to use a closed client") end
  -- Most calls pass neither: checked here, not by a call (check_headers' loop keeps LuaJIT
  -- from compiling this function when it is called on every request).
  local option_names = options == nil and NO_NAMES or Client.check_headers("options", options)
  local custom_names = customHeaders == nil and NO_NAMES or Client.check_headers("customHeaders", customHeaders)

  local body
  if METHODS_WITH_BODY[method] then
    if payload == nil then
      body = "{}"
    else
      local ok, encoded = pcall(core.json_encode, payload, array_keys)
      if not ok then
        Error.argument("payload", (tostring(encoded):gsub("^.-(medusa%.json: )", "%1")))
      end
      body = encoded
    end
  end

  local s = self.settings
  -- axios joins with exactly one slash: baseUrl's trailing ones are gone already.
  local url = self.base .. (path:byte(2) == 47 and path:gsub("^/+", "/") or path)
  local request_headers, headers_reused =
    self:build_headers(method, path, options, option_names, customHeaders, custom_names)
  -- Also the call's record for results and errors: attempts counts what was sent.
  local request = {
    method = method,
    url = url,
    headers = request_headers,
    headers_reused = headers_reused,
    body = body,
    timeout_ms = s.timeout,
    connect_timeout_ms = s.connectTimeout,
    max_response_bytes = s.maxResponseBytes,
    header_rules = RULES,
    attempts = 0,
  }

  -- The first attempt comes before the retry loop, so that a call that succeeds at once
  -- never enters a loop (LuaJIT gives up compiling a function whose every call enters a
  -- loop that runs once).
  local result, err, headers, final = self:attempt(request, path)
  if result or final then return result, err end
  while true do
    local retries_done = request.attempts - 1
    if retries_done >= s.maxRetries or not retryable(method, err, err.status ~= nil) then
      return nil, err
    end
    local delay = retry_delay(retries_done + 1, headers)
    if delay == nil then return nil, err end
    self.transport:sleep(delay)
    result, err, headers, final = self:attempt(request, path)
    if result or final then return result, err end
  end
end

-- One attempt of a call: result | nil, err, headers (the error's header map, for the
-- retry policy) | nil, err, nil, true when that error must not be retried (a 2xx that
-- could not be read).
function Client:attempt(request, path)
  request.attempts = request.attempts + 1
  local response, failure = self.transport:send(request)
  if self.jar.enabled then keep_cookies(self, response or failure, path) end
  if response then
    if response.status >= 200 and response.status < 300 then
      local result, err = success(response, request)
      return result, err, nil, true
    end
    local headers = Headers.without_lists(response.headers, RULES)
    return nil, http_error(response, headers, request), headers
  end
  local headers = failure.headers and Headers.without_lists(failure.headers, RULES)
  return nil, transport_error(failure, headers, request), headers
end

return Client
