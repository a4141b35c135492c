-- medusa.events: what a client lets its caller see of each call. It owns the hooks of
-- medusa:on/off (request, response, retry, error), the redaction of secret header values
-- in what the hooks are given, and the debug log (config.debug, MEDUSA_DEBUG): its line
-- format and where the lines go. medusa.client calls in here only while client.watch is
-- set, i.e. while a hook is registered or the debug log is on; otherwise a call costs the
-- pipeline one nil test per attempt and nothing else.
--
-- The debug log writes one line per attempt; a retry adds its wait to the line of the
-- attempt that failed:
--   medusa: <METHOD> <path> -> <outcome> in <ms> ms (attempt <n> of <1 + maxRetries>)[, retrying in <ms> ms]
-- <path> is the URL's path (baseUrl's prefix included, no scheme or host) with each query
-- value replaced by "...", since a query may carry what a log must not; <outcome> is the
-- status ("200", "503") or, when none arrived, "<type> error: <message>" (network,
-- timeout, tls, too_large, local). No header value is ever part of a line. E.g.
--   medusa: POST /store/payment-collections/pc_1/sessions -> 503 in 12 ms (attempt 1 of 4), retrying in 500 ms
--   medusa: GET /store/products?limit=... -> 200 in 3 ms (attempt 1 of 1)
--   medusa: GET /store/regions -> network error: Failed to connect ... in 0 ms (attempt 2 of 2)
local Error = require "medusa.error"
local Headers = require "medusa.headers"

local Events = {}

Events.NAMES = { "request", "response", "retry", "error" }
local KNOWN = {}
for _, name in ipairs(Events.NAMES) do KNOWN[name] = true end

-- Header values hooks never see: what would log someone in.
local SECRET, REDACTED = Headers.SECRET, Headers.REDACTED
Events.REDACTED = REDACTED

---------------------------------------------------------------------------------------
-- Registration
---------------------------------------------------------------------------------------

-- The debug sink a config.debug value asks for: nil (off), the caller's function, or
-- true for the default (stderr, or nginx's error log for a call made through cosockets).
local function debug_sink(debug)
  if debug == true or type(debug) == "function" then return debug end
  return nil
end

-- Whether MEDUSA_DEBUG (read at Medusa.new) turns the debug log on: set, and not one of
-- the usual spellings of "no".
local OFF = { [""] = true, ["0"] = true, ["false"] = true, ["no"] = true, ["off"] = true }
function Events.env_debug(value)
  return value ~= nil and not OFF[value:lower()]
end

-- Gives a new client its (empty) hook lists and its debug sink; client.watch is what the
-- pipeline tests: this state while it has anything to do, else nil.
function Events.init(client, debug)
  local events = { hooks = {}, count = 0, debug = debug_sink(debug) }
  for _, name in ipairs(Events.NAMES) do events.hooks[name] = {} end
  client.events = events
  client.watch = events.debug and events or nil
end

local function callable(fn)
  if type(fn) == "function" then return true end
  local mt = getmetatable(fn)
  return type(mt) == "table" and mt.__call ~= nil
end

local function check(event, fn)
  if type(event) ~= "string" or not KNOWN[event] then
    Error.argument("event", ("expected one of \"%s\", got %s"):format(table.concat(Events.NAMES, "\", \""),
      type(event) == "string" and ("%q"):format(event) or type(event)))
  end
  if not callable(fn) then
    Error.argument("fn", "expected a function, got " .. type(fn))
  end
end

-- The lists are replaced, never changed in place: a hook that calls on or off while
-- an event is being delivered changes the next event, not the loop running it.
local function copy(list, without)
  local out = {}
  for i = 1, #list do
    if i ~= without then out[#out + 1] = list[i] end
  end
  return out
end

-- Registers fn for event after the ones already there; returns fn, for off.
function Events.on(client, event, fn)
  check(event, fn)
  local events = client.events
  local list = copy(events.hooks[event])
  list[#list + 1] = fn
  events.hooks[event] = list
  events.count = events.count + 1
  -- A view (medusa:with) reads watch through its root: hooks belong to the client.
  client.root.watch = events
  return fn
end

-- Removes fn's latest registration for event; returns whether there was one.
function Events.off(client, event, fn)
  check(event, fn)
  local events = client.events
  local list = events.hooks[event]
  for i = #list, 1, -1 do
    if list[i] == fn then
      events.hooks[event] = copy(list, i)
      events.count = events.count - 1
      if events.count == 0 and not events.debug then client.root.watch = nil end
      return true
    end
  end
  return false
end

---------------------------------------------------------------------------------------
-- Redaction
---------------------------------------------------------------------------------------

-- A copy of a request's {{name, value}, ...} list, secrets redacted.
local function request_headers(list)
  local out = {}
  for i = 1, #list do
    local name = list[i][1]
    out[i] = { name, SECRET[name:lower()] and REDACTED or list[i][2] }
  end
  return out
end
Events.request_headers = request_headers

-- A copy of a response's header map (lower-cased names; a list for Set-Cookie), secrets
-- redacted entry by entry, so that a hook still sees how many cookies came.
local function response_headers(map)
  local out = {}
  for name, value in pairs(map) do
    local secret = SECRET[name:lower()]
    if type(value) == "table" then
      local values = {}
      for i = 1, #value do values[i] = secret and REDACTED or value[i] end
      value = values
    elseif secret then
      value = REDACTED
    end
    out[name] = value
  end
  return out
end
Events.response_headers = response_headers

---------------------------------------------------------------------------------------
-- The debug log
---------------------------------------------------------------------------------------

-- The URL's path, query values elided.
local function shown_path(url)
  local path = url:match("^%a[%w+.-]*://[^/]*(.*)$") or url
  local bare, query = path:match("^([^?]*)%?(.*)$")
  if not bare then return path end
  return bare .. "?" .. query:gsub("=[^&]*", "=...")
end

-- What an attempt came to: its status, or the failure's type and message on one line.
local function outcome(answer)
  if answer.status then return tostring(answer.status) end
  local message = tostring(answer.message or ""):gsub("%c+", " ")
  if #message > 200 then message = message:sub(1, 200) .. "..." end
  return ("%s error: %s"):format(tostring(answer.type), message)
end

-- Whether this call goes through cosockets (then its lines belong in nginx's error log).
local function through_ngx(client)
  local t = client.transport
  local used = t.pick and t:pick() or t
  return used.name == "ngx"
end

local function write(client, line)
  local sink = client.events.debug
  if sink == true then
    local ngx = rawget(_G, "ngx")
    if ngx and through_ngx(client) then
      ngx.log(ngx.NOTICE, line)
    else
      io.stderr:write(line, "\n")
    end
  elseif sink then
    sink(line)
  end
end

-- The line of an attempt that failed waits in the call's record until the pipeline
-- knows whether a retry follows (medusa.client: the retry loop).
local function flush(client, request, suffix)
  local line = request.debug_line
  if line then
    request.debug_line = nil
    write(client, suffix and line .. suffix or line)
  end
end

---------------------------------------------------------------------------------------
-- Delivery: the pipeline's calls (client.watch is set)
---------------------------------------------------------------------------------------

local function deliver(list, event)
  for i = 1, #list do list[i](event) end
end

-- Before an attempt is sent.
function Events.request(client, request)
  local list = client.events.hooks.request
  if list[1] then
    deliver(list, {
      method = request.method, url = request.url, attempt = request.attempts,
      headers = request_headers(request.headers),
    })
  end
end

-- After an attempt, once its outcome is read (cookies kept): answer is the transport's
-- response or failure; done: the attempt succeeded, so no retry can follow.
function Events.response(client, request, answer, elapsed_ms, done)
  local events = client.events
  if events.debug then
    request.debug_line = ("medusa: %s %s -> %s in %.0f ms (attempt %d of %d)"):format(request.method,
      shown_path(request.url), outcome(answer), elapsed_ms, request.attempts, client.settings.maxRetries + 1)
    if done then flush(client, request) end
  end
  local list = events.hooks.response
  if list[1] and answer.status then
    deliver(list, {
      method = request.method, url = request.url, status = answer.status,
      headers = response_headers(answer.headers or {}), elapsed_ms = elapsed_ms, attempt = request.attempts,
    })
  end
end

-- Before the wait that precedes the next attempt.
function Events.retry(client, request, err, delay_ms)
  flush(client, request, (", retrying in %.0f ms"):format(delay_ms))
  local list = client.events.hooks.retry
  if list[1] then
    deliver(list, {
      error = err, delay_ms = delay_ms, attempt = request.attempts + 1, method = request.method, url = request.url,
    })
  end
end

-- When the call returns err.
function Events.error(client, request, err)
  flush(client, request)
  local list = client.events.hooks.error
  if list[1] then
    deliver(list, { error = err, method = request.method, url = request.url })
  end
end

return Events
