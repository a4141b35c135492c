-- medusa.client: the one request pipeline every resource and every transport shares: a
-- call's checks, URL and JSON body, then its attempts (the first one, and the retries the
-- policy allows). The policies it applies are their own modules: medusa.request_headers
-- (the header set and its precedence), medusa.response (results and errors), medusa.retry
-- (which failures are retried, after what wait), medusa.session (cookies, token, key) and
-- medusa.events (the caller's hooks and the debug log, called only while client.watch is
-- set). Transports only move bytes; resources only name routes.
local core = require "medusa.core"
local Error = require "medusa.error"
local Events = require "medusa.events"
local Headers = require "medusa.headers"
local RequestHeaders = require "medusa.request_headers"
local Response = require "medusa.response"
local Retry = require "medusa.retry"
local Session = require "medusa.session"
local Limits = require "medusa.limits"

local Client = {}
Client.__index = Client
Client.__name = "medusa.Client"

-- The policies' public names on Client: specs, benchmarks and init.lua use them there, and
-- the resources call the session functions as client methods (their `after` hooks).
Client.check_header = RequestHeaders.check_header
Client.check_headers = RequestHeaders.check_headers
Client.build_headers = RequestHeaders.build
Client.Result = Response.Result
Client.retry_delay = Retry.delay
Client.keep_cookies = Session.keep_cookies
Client.start_session = Session.start_session
Client.end_session = Session.end_session
Client.keep_token = Session.keep_token
Client.set_token = Session.set_token
Client.set_publishable_key = Session.set_publishable_key

local MAX_HEAD = Limits.REQUEST_HEAD_BYTES

-- The pipeline calls these on every request: as upvalues, with no lookup through Client.
local check_headers = RequestHeaders.check_headers
local build_headers = RequestHeaders.build
local NO_NAMES = RequestHeaders.NO_NAMES
local success, http_error, transport_error = Response.success, Response.http_error, Response.transport_error
local retry_delay, retryable = Retry.delay, Retry.retryable
local keep_cookies = Session.keep_cookies
local monotonic_ms = core.monotonic_ms

local METHODS_WITH_BODY = { POST = true, DELETE = true }
local METHODS = { GET = true, POST = true, DELETE = true }

-- What repeated response header fields become (medusa.headers); every transport applies them.
local RULES = Headers.RULES

-- settings: the checked config of medusa.new (see init.lua); transport: send/sleep/close.
-- array_keys: the fields that stay JSON arrays when empty in a body client.request sends
-- (the resources pass their route's own).
function Client.new(settings, transport, array_keys)
  local self = setmetatable({
    settings = settings,
    transport = transport,
    base = settings.baseUrl:gsub("/+$", ""),
    custom_names = check_headers("customHeaders", settings.customHeaders),
    closed = false,
    array_keys = array_keys,
    -- [is an admin call] = the reusable header list, valid while version == headers_version
    fixed_headers = {},
    headers_version = 0,
  }, Client)
  self.root = self -- a view's root is the client it was made from (Client:view)
  Session.init(self) -- the login state; medusa.session owns its fields
  Events.init(self, settings.debug) -- no hooks yet; client.watch is set while there is any
  self.request = Client.bound_request(self)
  return self
end

-- medusa-js style: medusa.client.request(...) with a dot works as well as the colon.
function Client.bound_request(self)
  local request = Client.request
  return function(first, ...)
    if first == self then return request(self, ...) end
    return request(self, first, ...)
  end
end

-- A view of this client with other settings (checked by the caller, init.lua's
-- Instance:with): the same transport and connection pool, cookie jar, token and key, read
-- through the root client; only settings, the customHeaders' names and the header cache
-- are its own. Nothing is copied per call, so a view costs what its client costs.
function Client:view(settings)
  local root = self.root
  local view = setmetatable({
    settings = settings,
    custom_names = check_headers("customHeaders", settings.customHeaders),
    fixed_headers = {},
  }, { __index = root, __name = "medusa.Client", __tostring = function() return "medusa.Client (a view)" end })
  view.request = Client.bound_request(view)
  return view
end

-- Closes the connection; a view owns none, so closing one does nothing.
function Client:close()
  if self.root ~= self then return end
  if not self.closed then
    self.closed = true
    require("medusa.tasks").cancel_owned(self)
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

---------------------------------------------------------------------------------------
-- request(method, path, payload?, options?, customHeaders?)
---------------------------------------------------------------------------------------

---@return table|nil result, medusa.Error|nil err
function Client:request(method, path, payload, options, customHeaders)
  if type(method) ~= "string" or not METHODS[method] then
    Error.argument("method", "expected \"GET\", \"POST\" or \"DELETE\", got " .. tostring(method))
  end
  check_path(path)
  -- axios joins with exactly one slash: baseUrl's trailing ones are gone already, and a
  -- path's leading ones fold into one (a resource's template never starts with two).
  local url_path = path:byte(2) == 47 and path:gsub("^/+", "/") or nil
  return self:dispatch(method, path, payload, options, customHeaders, self.array_keys, url_path)
end

-- request() for callers that built the path themselves from encoded segments (the
-- resources): the same pipeline without re-scanning the path.
-- array_keys: the body fields that stay JSON arrays when empty (a set), or nil;
-- url_path: what goes after the base URL when it is not `path` itself.
function Client:dispatch(method, path, payload, options, customHeaders, array_keys, url_path)
  if self.closed then Error.raise("attempt to use a closed client") end
  -- Most calls pass neither: checked here, not by a call (check_headers' loop keeps LuaJIT
  -- from compiling this function when it is called on every request).
  local option_names = options == nil and NO_NAMES or check_headers("options", options)
  local custom_names = customHeaders == nil and NO_NAMES or check_headers("customHeaders", customHeaders)

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
  local url = self.base .. (url_path or path)
  local request_headers, headers_reused =
    build_headers(self, method, path, options, option_names, customHeaders, custom_names)
  -- "METHOD url HTTP/1.1\r\n", the headers, "Host: ...\r\n" and the blank line: the url's
  -- "scheme://host" stands in for the Host value, a few bytes over, never under.
  if #method + #url + request_headers.bytes + 23 > MAX_HEAD then
    self:head_too_large(method, url, request_headers, options, option_names, customHeaders, custom_names)
  end
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
  -- loop that runs once). A success returns here; everything below is the failure path,
  -- where the events (self.watch) are looked at.
  local result, err, headers, final = self:attempt(request, path)
  if result then return result, err end
  while not final do
    local retries_done = request.attempts - 1
    if retries_done >= s.maxRetries or not retryable(method, err, err.status ~= nil) then break end
    local delay = retry_delay(retries_done + 1, headers, s.maxRetryDelay)
    if delay == nil then break end
    if self.watch then Events.retry(self, request, err, delay) end
    self.transport:sleep(delay)
    result, err, headers, final = self:attempt(request, path)
    if result then return result, err end
  end
  if self.watch then Events.error(self, request, err) end
  return nil, err
end

-- Raises, naming the largest part, for a request whose head no server would take.
function Client:head_too_large(method, url, headers, options, option_names, custom, custom_names)
  local size = RequestHeaders.size
  local parts = {
    { "path", #url },
    { "customHeaders", custom and size(custom, custom_names) or 0 },
    { "options", options and size(options, option_names) or 0 },
    { "config.customHeaders", size(self.settings.customHeaders, self.custom_names) },
  }
  table.sort(parts, function(a, b) return a[2] > b[2] end)
  Error.argument(parts[1][1], ("makes the request head %d bytes; the limit is %d")
    :format(#method + #url + headers.bytes + 23, MAX_HEAD))
end

-- What an attempt's response or failure becomes: result | nil, err, headers (the error's
-- header map, for the retry policy) | nil, err, nil, true when that error must not be
-- retried (a 2xx that could not be read).
local function outcome(request, response, failure)
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

-- An attempt while hooks or the debug log watch (self.watch): the same steps with the
-- events around them. The cookies are kept before any hook runs, so a hook that raises
-- leaves the session as the server left it.
local function watched_attempt(self, request, path)
  Events.request(self, request)
  local started = monotonic_ms()
  local response, failure = self.transport:send(request)
  local elapsed_ms = monotonic_ms() - started
  if self.jar.enabled then keep_cookies(self, response or failure, path) end
  local result, err, headers, final = outcome(request, response, failure)
  Events.response(self, request, response or failure, elapsed_ms, result ~= nil)
  return result, err, headers, final
end

-- One attempt of a call (what outcome() says it came to). Unwatched, it is what it was
-- before there were events, plus one nil test: the path every call takes stays free of
-- the timing, copying and calls the events need.
function Client:attempt(request, path)
  request.attempts = request.attempts + 1
  if self.watch then return watched_attempt(self, request, path) end
  local response, failure = self.transport:send(request)
  if self.jar.enabled then keep_cookies(self, response or failure, path) end
  return outcome(request, response, failure)
end

return Client
