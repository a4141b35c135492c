-- medusa.transport.ngx: the non-blocking transport for OpenResty/nginx, an HTTP/1.1
-- client over ngx.socket.tcp (cosockets). One exchange per send(), no policy: the
-- pipeline in client.lua decides headers, retries and errors for every transport alike.
-- It owns what libcurl owns in the other transport, in three layers:
--   this file                 connect, a keepalive pool per scheme/host/port, TLS with
--                             verification and SNI, names from /etc/hosts, one deadline
--                             per attempt, and the send/exchange flow;
--   medusa.transport.http1    the request bytes (the same as libcurl's) and response
--                             framing (Content-Length, chunked, close-delimited, limits,
--                             maxResponseBytes while reading), with no ngx API;
--   medusa.transport.reader   the buffered, deadline-bound reader over the socket;
-- and medusa.transport.failure: libcurl's error types and code names, so an err looks the
-- same from both transports.
local core = require "medusa.core"
local http1 = require "medusa.transport.http1"
local Reader = require "medusa.transport.reader"
local failure = require "medusa.transport.failure"
local Tasks = require "medusa.tasks.ngx"

local ngx = rawget(_G, "ngx")
if type(ngx) ~= "table" or type(ngx.socket) ~= "table" then
  error("medusa.transport.ngx runs inside OpenResty/nginx only (no ngx.socket here)", 2)
end
local tcp = ngx.socket.tcp
local monotonic_ms = core.monotonic_ms
-- A request without its own limits gets the contract's defaults (src/contract.h).
local DEFAULT_TIMEOUT_MS = core.contract.default_timeout_ms
local DEFAULT_CONNECT_TIMEOUT_MS = core.contract.default_connect_timeout_ms
local DEFAULT_MAX_RESPONSE_BYTES = core.contract.default_max_response_bytes
local floor, min = math.floor, math.min
-- Module functions in locals: one plain call per use across the module boundary.
local parse_url, request_bytes = http1.parse_url, http1.request_bytes
local read_head, read_body, has_token = http1.read_head, http1.read_body, http1.has_token
local read_failure = http1.read_failure
local new_reader = Reader.new
local fault, timed_out = failure.fault, failure.timed_out
local current_task, acquire, release, checkpoint = Tasks.current, Tasks.acquire, Tasks.release, Tasks.checkpoint

local NgxTransport = {}
NgxTransport.__index = NgxTransport
NgxTransport.__name = "medusa.transport.ngx"
NgxTransport.name = "ngx"

-- nginx's own default (lua_socket_pool_size).
NgxTransport.DEFAULT_POOL_SIZE = 30
-- Below Node's 5 s keepAliveTimeout (the Medusa backend is an Express app), so the pool
-- does not hand out sockets the server is about to close.
NgxTransport.DEFAULT_POOL_IDLE_MS = 4000

function NgxTransport.new(settings)
  return setmetatable({
    pool_size = settings.poolSize or NgxTransport.DEFAULT_POOL_SIZE,
    pool_idle_ms = settings.poolIdleTimeout or NgxTransport.DEFAULT_POOL_IDLE_MS,
    origins = {}, origin_count = 0, -- parsed origins, see send()
    max_in_flight = settings.maxInFlight,
    slots = nil, -- the maxInFlight semaphore of this client's tasks, made on their first request
  }, NgxTransport)
end

---------------------------------------------------------------------------------------
-- Connecting
---------------------------------------------------------------------------------------

local function connect_error(why, host, port, started)
  if why == "timeout" then return timed_out("connect", started, 0) end
  why = tostring(why)
  if why:find("no resolver defined", 1, true) then
    return fault("network", "CURLE_COULDNT_RESOLVE_HOST",
      ("Could not resolve host: %s (%s: cosockets resolve names that are not in /etc/hosts through "
        .. "nginx's 'resolver' directive; add one to nginx.conf or use an IP address in baseUrl)"):format(host, why))
  end
  if why:find("could not be resolved", 1, true) then
    return fault("network", "CURLE_COULDNT_RESOLVE_HOST", ("Could not resolve host: %s (%s)"):format(host, why))
  end
  return fault("network", "CURLE_COULDNT_CONNECT", ("Failed to connect to %s port %d: %s"):format(host, port, why))
end

local function tls_error(why, started)
  if why == "timeout" then return timed_out("TLS handshake", started, 0) end
  why = tostring(why)
  -- A numbered OpenSSL verify result or a name mismatch: the peer failed verification.
  if why:find("^%d+: ") or why:find("host mismatch", 1, true) then
    return fault("tls", "CURLE_PEER_FAILED_VERIFICATION",
      ("SSL certificate problem: %s (cosockets trust the CAs in nginx's lua_ssl_trusted_certificate)"):format(why))
  end
  return fault("tls", "CURLE_SSL_CONNECT_ERROR", "TLS handshake failed: " .. why)
end

---------------------------------------------------------------------------------------
-- Names resolved without DNS, as the system resolver (and so libcurl) does
---------------------------------------------------------------------------------------

-- Cosockets resolve names through nginx's `resolver` directive only; a name in the hosts
-- file (localhost above all) is answered from that file first, as getaddrinfo answers
-- libcurl, so the default baseUrl works in a stock nginx.conf without a resolver.
NgxTransport.hosts_file = "/etc/hosts"
local hosts -- lower-cased name -> address, read once per worker (reset with hosts_file)
local hosts_read_from

local function read_hosts(path)
  local map = {}
  local f = io.open(path, "r")
  if not f then return map end
  for line in f:lines() do
    local fields = {}
    for field in line:gsub("#.*", ""):gmatch("%S+") do fields[#fields + 1] = field end
    local address = fields[1]
    local v4 = address and address:find("^%d+%.%d+%.%d+%.%d+$")
    for i = 2, #fields do
      local name = fields[i]:lower()
      -- The first line naming a host wins; an IPv4 address wins over an IPv6 one.
      local known = map[name]
      if not known or (v4 and known:sub(1, 1) == "[") then
        map[name] = v4 and address or ("[" .. address .. "]")
      end
    end
  end
  f:close()
  return map
end

-- The address to connect to for `host` without asking DNS, or nil (an IP literal, or a
-- name only the resolver knows).
function NgxTransport.local_address(host)
  if host:find("^[%d.]+$") or host:sub(1, 1) == "[" then return nil end
  if hosts_read_from ~= NgxTransport.hosts_file then
    hosts, hosts_read_from = read_hosts(NgxTransport.hosts_file), NgxTransport.hosts_file
  end
  local name = host:lower()
  local address = hosts[name]
  if address then return address end
  -- Names under localhost are loopback whatever the hosts file says (RFC 6761).
  if name == "localhost" or name:sub(-10) == ".localhost" then return "127.0.0.1" end
  return nil
end

-- The name of the worker's pool for one origin: TLS and plain connections to the same
-- host:port never share one.
function NgxTransport.pool_name(scheme, host, port)
  return ("medusa/%s/%s:%d"):format(scheme, host, port)
end

local function remaining(deadline)
  return floor(deadline - monotonic_ms())
end

-- A connection from the pool, or a new one with TLS done. Returns sock, reused | nil, err.
function NgxTransport.connect(_, origin, deadline, started)
  local scheme, host, port = origin.scheme, origin.host, origin.port
  local sock, why = tcp()
  if not sock then return nil, fault("network", "CURLE_COULDNT_CONNECT", tostring(why)) end
  local left = remaining(deadline)
  if left < 1 then return nil, timed_out("connect", started, 0) end
  sock:settimeouts(left, left, left)
  -- Always our own pool name, so no other code's pooled connection is ever picked up;
  -- with poolSize 0 that pool stays empty (nothing is put back).
  local ok
  ok, why = sock:connect(origin.address or host, port, origin.options)
  if not ok then return nil, connect_error(why, host, port, started) end
  local reused = sock:getreusedtimes() or 0
  if scheme == "https" and reused == 0 then
    left = remaining(deadline)
    if left < 1 then
      sock:close()
      return nil, timed_out("TLS handshake", started, 0)
    end
    sock:settimeouts(left, left, left)
    -- SNI and the name check both use the URL's host (IPv6 without its brackets).
    ok, why = sock:sslhandshake(nil, (host:gsub("^%[(.*)%]$", "%1")), true)
    if not ok then
      sock:close()
      return nil, tls_error(why, started)
    end
  end
  return sock, reused
end

---------------------------------------------------------------------------------------
-- send(request) -> response | nil, err
---------------------------------------------------------------------------------------

-- A pooled connection that fails before any response byte may have been closed by the
-- server while we wrote, or the request may have reached it: which, nobody can tell. It
-- is not sent again here (the libcurl transport refuses libcurl's silent re-send too);
-- the pipeline's retry policy decides, as for any attempt.
local function reused_failed(why)
  return fault("network", "CURLE_ABORTED_BY_CALLBACK",
    "the reused connection failed before a response (" .. tostring(why) .. "); not sent again")
end

-- One exchange on one connection: response | nil, err.
function NgxTransport:exchange(sock, reused, bytes, close_after, deadline, limit, started, rules)
  local left = remaining(deadline)
  if left < 1 then
    sock:close()
    return nil, timed_out("send", started, 0)
  end
  sock:settimeouts(left, left, left)
  local sent, why = sock:send(bytes)
  if not sent then
    sock:close()
    if why == "timeout" then return nil, timed_out("send", started, 0) end
    if reused > 0 then return nil, reused_failed(why) end
    return nil, fault("network", "CURLE_SEND_ERROR", "Send failure: " .. tostring(why))
  end

  local reader = new_reader(sock, deadline)
  local head, partial
  head, why, partial = read_head(reader, rules)
  if not head then
    sock:close()
    if reader.received == 0 and reused > 0 and why ~= "timeout" then return nil, reused_failed(why) end
    return nil, read_failure(why, started, reader, partial, limit, "reading the response head")
  end

  local body, reusable = read_body(reader, head, limit, rules)
  if body == nil then
    sock:close()
    return nil, read_failure(reusable, started, reader, head, limit, "reading the response body")
  end

  -- Back to the pool only at a clean message boundary, when both sides keep it open.
  local connection = head.map["connection"]
  if not (reusable and not close_after and self.pool_size > 0 and reader:pending() == 0
      and not has_token(connection, "close")
      and (head.version >= 11 or has_token(connection, "keep-alive"))
      and sock:setkeepalive(self.pool_idle_ms, self.pool_size)) then
    sock:close()
  end
  return {
    status = head.status,
    headers = head.headers,
    body = body,
    connects = reused == 0 and 1 or 0,
    reused = reused,
  }
end

-- request: {method, url, headers = {{name, value}, ...}, body?, timeout_ms,
--           connect_timeout_ms, max_response_bytes, header_rules?}
-- response: {status, headers, body, connects, reused}; headers: the map medusa.headers
--           builds with header_rules, else the flat {name1, value1, ...} list
-- err: {type = network|timeout|tls|too_large, message, code, status?, headers?}
function NgxTransport:perform(request)
  local started = monotonic_ms()
  local deadline = started + (request.timeout_ms or DEFAULT_TIMEOUT_MS)
  local connect_deadline = min(deadline, started + (request.connect_timeout_ms or DEFAULT_CONNECT_TIMEOUT_MS))
  local limit = request.max_response_bytes or DEFAULT_MAX_RESPONSE_BYTES
  local url = request.url
  -- The origin (scheme://authority) is parsed once per client and origin; the target is
  -- what follows it. The pipeline's URLs always have a path ("/..."), at index > 8.
  local slash = url:find("/", 9, true)
  local origin = slash and self.origins[url:sub(1, slash - 1)]
  local target
  if origin then
    target = url:sub(slash)
  else
    local scheme, host, port, host_header
    scheme, host, port, target, host_header = parse_url(url)
    origin = { scheme = scheme, host = host, port = port, host_header = host_header,
      address = NgxTransport.local_address(host),
      options = { pool = NgxTransport.pool_name(scheme, host, port),
        pool_size = self.pool_size > 0 and self.pool_size or nil } }
    if slash and url:sub(slash) == target and self.origin_count < 16 then
      self.origins[url:sub(1, slash - 1)] = origin
      self.origin_count = self.origin_count + 1
    end
  end
  local bytes, close_after = request_bytes(request, target, origin.host_header)
  local sock, reused = self:connect(origin, connect_deadline, started)
  if not sock then return nil, reused end
  -- With the pipeline's header_rules, headers come back as the map src/http.c builds.
  return self:exchange(sock, reused, bytes, close_after, deadline, limit, started, request.header_rules)
end

-- One attempt: perform(request). Inside a task (medusa.tasks.ngx) it first takes one of
-- the client's maxInFlight slots and gives it back when the attempt ends (a raise gives
-- it back when the task ends, a cancel when the task is cancelled); outside, no slot.
function NgxTransport:send(request)
  local task = current_task()
  if not task then return self:perform(request) end
  task.request = request
  local slots = self.slots
  if not slots then
    slots = Tasks.slots(self.max_in_flight)
    self.slots = slots
  end
  acquire(task, slots)
  local response, err = self:perform(request)
  release(task)
  return response, err
end

-- A retry's backoff: holds no slot. A task cancelled by another light thread stops here.
function NgxTransport.sleep(_, ms)
  local task = current_task()
  if task then checkpoint(task) end
  if ms > 0 then ngx.sleep(ms / 1000) end
  if task then checkpoint(task) end
end

-- Pooled connections belong to the nginx worker, not to one client: nothing to close.
function NgxTransport.close()
end

return NgxTransport
