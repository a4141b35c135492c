-- medusa.transport.ngx: the non-blocking transport for OpenResty/nginx, an HTTP/1.1
-- client over ngx.socket.tcp (cosockets). One exchange per send(), no policy: the
-- pipeline in client.lua decides headers, retries and errors for every transport alike.
-- It owns what libcurl owns in the other transport: the request bytes (the same as
-- libcurl's: Host first, our headers in order, then Content-Length), response framing
-- (Content-Length, chunked, close-delimited), a keepalive pool per scheme/host/port, one
-- deadline per attempt, TLS with verification and SNI, maxResponseBytes while reading,
-- and libcurl's error types and code names, so an err looks the same from both.
local core = require "medusa.core"
local Headers = require "medusa.headers"

local ngx = rawget(_G, "ngx")
if type(ngx) ~= "table" or type(ngx.socket) ~= "table" then
  error("medusa.transport.ngx runs inside OpenResty/nginx only (no ngx.socket here)", 2)
end
local tcp = ngx.socket.tcp
local monotonic_ms = core.monotonic_ms
local concat, floor, min = table.concat, math.floor, math.min
local byte, find, sub = string.byte, string.find, string.sub
local lower_name, add_to_map = Headers.lower, Headers.add

-- The libcurl transport's bounds on a response head: libcurl's own 100 KiB per line, and
-- src/http.c's total.
local MAX_HEAD_BYTES = 192 * 1024
local MAX_LINE_BYTES = 100 * 1024
local READ_CHUNK = 65536

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
  }, NgxTransport)
end

---------------------------------------------------------------------------------------
-- Failures, in the shape of src/http.c: {type, message, code, status?, headers?}
---------------------------------------------------------------------------------------

-- `head` (status and headers) is given once a status line has arrived.
local function fault(kind, code, message, head)
  local err = { type = kind, code = code, message = message }
  if head then
    err.status = head.status
    err.headers = head.headers
  end
  return err
end

local function timed_out(what, started, received, head)
  return fault("timeout", "CURLE_OPERATION_TIMEDOUT",
    ("Operation timed out after %d milliseconds with %d bytes received (%s)")
      :format(floor(monotonic_ms() - started), received, what), head)
end

local function too_large(limit, head)
  return fault("too_large", "too_large", ("response larger than maxResponseBytes (%d bytes)"):format(limit), head)
end

---------------------------------------------------------------------------------------
-- URL and request bytes
---------------------------------------------------------------------------------------

local DEFAULT_PORT = { http = 80, https = 443 }

-- The pipeline hands over absolute http(s) URLs it built from a checked baseUrl.
local function parse_url(url)
  local scheme, authority, target = url:match("^(%a[%w+.-]*)://([^/]*)(.*)$")
  scheme = scheme and scheme:lower()
  if not DEFAULT_PORT[scheme] then error("medusa.ngx: unsupported URL " .. tostring(url), 3) end
  local host, port
  if authority:sub(1, 1) == "[" then
    host, port = authority:match("^(%[[^%]]*%])(.*)$")
  else
    host, port = authority:match("^([^:]*)(.*)$")
  end
  port = port ~= "" and tonumber(port:match("^:(%d+)$")) or DEFAULT_PORT[scheme]
  if not host or host == "" or not port then error("medusa.ngx: malformed URL " .. tostring(url), 3) end
  if target == "" then target = "/" end
  -- libcurl's Host: the port only when it is not the scheme's default.
  local host_header = port == DEFAULT_PORT[scheme] and host or (host .. ":" .. port)
  return scheme, host, port, target, host_header
end

local function unsafe(s)
  return s:find("[\r\n%z]") ~= nil
end

-- The header lines of one request list, checked: the block after the request line and
-- Host (each line with its CRLF), the caller's own Host line if any, whether the list sets
-- Content-Length, and whether it asks the server to close the connection.
local function header_block(headers)
  local lines, host_line, has_length, close = {}, nil, false, false
  for i = 1, #headers do
    local name, value = headers[i][1], headers[i][2]
    if type(name) ~= "string" or type(value) ~= "string" or name == "" or unsafe(name) or unsafe(value)
      or name:find(":", 1, true) then
      error(("medusa.ngx: request.headers[%d] is not a safe header"):format(i), 4)
    end
    local line = value == "" and (name .. ":") or (name .. ": " .. value)
    local lower = name:lower()
    if lower == "host" then
      host_line = line
    else
      lines[#lines + 1] = line .. "\r\n"
      if lower == "content-length" then has_length = true end
      if lower == "connection" and value:lower():find("close", 1, true) then close = true end
    end
  end
  return { concat(lines), host_line, has_length, close }
end

-- Blocks of the header lists the pipeline reuses unchanged (request.headers_reused): built
-- once per list. Weak keys: a client that goes away takes its entry with it.
local reused_blocks = setmetatable({}, { __mode = "k" })

-- The request head and body exactly as libcurl writes them for the same request: request
-- line, Host (a caller's Host takes its place), the headers in order ("Name:" for an empty
-- value), then Content-Length for a request with a body unless the caller gave one.
-- libcurl adds no Connection header and neither does this. Also returns whether the
-- caller asked the server to close the connection.
local function request_bytes(request, target, host_header)
  local method, headers = request.method, request.headers
  local block
  if request.headers_reused then
    block = reused_blocks[headers]
    if not block then
      block = header_block(headers)
      reused_blocks[headers] = block
    end
  else
    block = header_block(headers)
  end
  local host_line = block[2] or ("Host: " .. host_header)
  if method == "GET" then -- as libcurl in GET mode, a GET never carries a body
    return concat { "GET ", target, " HTTP/1.1\r\n", host_line, "\r\n", block[1], "\r\n" }, block[4]
  end
  local body = request.body or ""
  local length = block[3] and "" or ("Content-Length: " .. #body .. "\r\n")
  return concat { method, " ", target, " HTTP/1.1\r\n", host_line, "\r\n", block[1], length, "\r\n", body },
    block[4]
end

---------------------------------------------------------------------------------------
-- Reading: a buffer over receiveany, so that every read is bounded by the attempt's
-- deadline (a cosocket's own read timeout restarts whenever some bytes arrive).
---------------------------------------------------------------------------------------

local Reader = {}
Reader.__index = Reader

local function new_reader(sock, deadline)
  return setmetatable({ sock = sock, deadline = deadline, buf = "", pos = 1, received = 0 }, Reader)
end

-- Reads more bytes into the buffer; returns true, or nil and "timeout"|"closed"|other.
function Reader:fill()
  local left = floor(self.deadline - monotonic_ms())
  if left < 1 then return nil, "timeout" end
  self.sock:settimeouts(left, left, left)
  local data, err = self.sock:receiveany(READ_CHUNK)
  if not data then return nil, err end
  self.received = self.received + #data
  if self.pos > #self.buf then
    self.buf, self.pos = data, 1
  else
    self.buf, self.pos = self.buf:sub(self.pos) .. data, 1
  end
  return true
end

-- Finds the next line and consumes it: its first and last index in self.buf (without the
-- CRLF or LF; last < first for an empty line), or nil, "too_large" when it would pass
-- `limit` bytes, or nil, why from the socket.
-- The common case, a line already in the buffer, has no loop, so LuaJIT compiles it into
-- its callers' traces (a loop here, rarely taken twice, got the whole head parser
-- blacklisted and interpreted); reading more is the slow path below.
function Reader:next_line(limit)
  local buf, pos = self.buf, self.pos
  local nl = find(buf, "\n", pos, true)
  if not nl then return self:next_line_after_fill(limit) end
  if nl - pos + 1 > limit then return nil, "too_large" end
  self.pos = nl + 1
  local e = nl - 1
  if e >= pos and byte(buf, e) == 13 then e = e - 1 end
  return pos, e
end

function Reader:next_line_after_fill(limit)
  repeat
    if #self.buf - self.pos + 1 > limit then return nil, "too_large" end
    local ok, err = self:fill()
    if not ok then return nil, err end
  until find(self.buf, "\n", self.pos, true)
  return self:next_line(limit)
end

-- One line without its CRLF (or LF), or nil, "too_large" | why.
function Reader:line(limit)
  local first, last = self:next_line(limit)
  if not first then return nil, last end
  return sub(self.buf, first, last)
end

local function is_blank(b) return b == 32 or b == 9 end

-- One header line, parsed where it lies in the buffer (no string for the line itself):
-- name, value (both ends trimmed) for a field; "" for the empty line that ends a head;
-- false, text for a folded continuation line (one starting with a space or tab, when
-- `fold`: a field came before it; else such a line is read as a field); true for a line
-- that is no field (skipped); nil, "too_large" | why as next_line.
-- self.line_length is the line's length without its CRLF.
function Reader:field(limit, fold)
  local pos, e = self:next_line(limit)
  if not pos then return nil, e end
  local buf = self.buf
  self.line_length = e - pos + 1
  if e < pos then return "" end
  if fold and is_blank(byte(buf, pos)) then
    while pos <= e and is_blank(byte(buf, pos)) do pos = pos + 1 end
    while e >= pos and is_blank(byte(buf, e)) do e = e - 1 end
    return false, sub(buf, pos, e)
  end
  local colon = find(buf, ":", pos, true)
  if not colon or colon > e then return true end
  local v = colon + 1
  while v <= e and is_blank(byte(buf, v)) do v = v + 1 end
  while e >= v and is_blank(byte(buf, e)) do e = e - 1 end
  return sub(buf, pos, colon - 1), sub(buf, v, e)
end

-- Exactly n bytes, appended to the list `parts`.
function Reader:bytes(n, parts)
  while n > 0 do
    local have = #self.buf - self.pos + 1
    if have <= 0 then
      local ok, err = self:fill()
      if not ok then return nil, err end
      have = #self.buf - self.pos + 1
    end
    local take = min(have, n)
    parts[#parts + 1] = self.buf:sub(self.pos, self.pos + take - 1)
    self.pos = self.pos + take
    n = n - take
  end
  return true
end

-- Everything until the peer closes, at most `limit` bytes; returns the byte count.
function Reader:rest(parts, limit)
  local total = 0
  while true do
    local have = #self.buf - self.pos + 1
    if have > 0 then
      total = total + have
      if total > limit then return nil, "too_large" end
      parts[#parts + 1] = self.buf:sub(self.pos)
      self.buf, self.pos = "", 1
    end
    local ok, err = self:fill()
    if not ok then
      if err == "closed" then return total end
      return nil, err
    end
  end
end

-- The next n bytes, all of them already in the buffer (see pending), as one string.
function Reader:take(n)
  local pos = self.pos
  self.pos = pos + n
  return sub(self.buf, pos, pos + n - 1)
end

function Reader:pending()
  return #self.buf - self.pos + 1
end

---------------------------------------------------------------------------------------
-- Response head and body
---------------------------------------------------------------------------------------

-- The err for a read that failed with `why`; `head` once a status line has arrived.
local function read_error(why, started, reader, head, limit, what)
  if why == "timeout" then return timed_out(what, started, reader.received, head) end
  if why == "too_large" then return too_large(limit, head) end
  if why == "closed" then
    if not head then -- not even a whole status line
      return fault("network", "CURLE_GOT_NOTHING", "Empty reply from server")
    end
    return fault("network", "CURLE_PARTIAL_FILE", "transfer closed with outstanding read data remaining", head)
  end
  return fault("network", "CURLE_RECV_ERROR", "Recv failure: " .. tostring(why), head)
end

-- The fields that frame a response; read_head keeps every value of each, in order.
local FRAMING = { ["content-length"] = true, ["transfer-encoding"] = true, connection = true }

-- Adds one field to head.headers: the map built with the pipeline's rules (as src/http.c
-- builds it; see medusa.headers), or without rules the flat list. Returns what a folded
-- line after it continues: 1 a string value, 2 a list's last value, 3 nothing (dropped).
local function add_field(headers, rules, name, value, lower)
  if rules then return add_to_map(headers, rules, lower, value) end
  local n = #headers
  headers[n + 1], headers[n + 2] = name, value
  return 1
end

-- Reads one response head, skipping interim 1xx heads as libcurl does. Returns
-- {status, version, headers, map = {lower framing name = value list}}, or nil, why and
-- the partial head when the status line had arrived. headers: see add_field.
local function read_head(reader, rules)
  local budget = MAX_HEAD_BYTES
  while true do
    local line, err = reader:line(min(budget, MAX_LINE_BYTES))
    if not line then return nil, err == "too_large" and "head_too_large" or err end
    budget = budget - #line - 2
    local major, minor, status = line:match("^HTTP/(%d)%.(%d) (%d%d%d)")
    if not major then
      major, status = line:match("^HTTP/(%d) (%d%d%d)")
      minor = "0"
    end
    if not status then return nil, "not_http" end
    local head = { status = tonumber(status), version = tonumber(major) * 10 + tonumber(minor), headers = {}, map = {} }
    local headers, map = head.headers, head.map
    local kind, key, framing = 0, nil, nil -- what a folded line continues: see add_field
    while true do
      local name, value = reader:field(min(budget, MAX_LINE_BYTES), kind ~= 0)
      if name == nil then return nil, value == "too_large" and "head_too_large" or value, head end
      budget = budget - reader.line_length - 2
      if name == "" then break end
      if name == false then
        -- obsolete line folding: continues the previous value
        if kind == 1 then
          headers[key] = headers[key] .. " " .. value
        elseif kind == 2 then
          local list = headers[key]
          list[#list] = list[#list] .. " " .. value
        end
        if framing then framing[#framing] = framing[#framing] .. " " .. value end
      elseif name ~= true then
        local lower = lower_name(name)
        kind = add_field(headers, rules, name, value, lower)
        key = rules and lower or #headers
        if FRAMING[lower] then
          framing = map[lower]
          if not framing then framing = {}; map[lower] = framing end
          framing[#framing + 1] = value
        else
          framing = nil
        end
      end
    end
    if head.status >= 200 or head.status == 101 then return head end
  end
end

local function has_token(list, token)
  if not list then return false end
  for i = 1, #list do
    local value = list[i]:lower()
    -- most values name no such token at all: no need to split them
    if find(value, token, 1, true) then
      for item in value:gmatch("[^,]+") do
        if item:match("^%s*(.-)%s*$") == token then return true end
      end
    end
  end
  return false
end

-- The number a field value of ASCII digits only spells (at most 15 of them), else nil.
local function digits_value(s)
  local n = #s
  if n == 0 or n > 15 then return nil end
  for i = 1, n do
    local b = byte(s, i)
    if b < 48 or b > 57 then return nil end
  end
  return tonumber(s)
end

-- Reads the body the head announces. Returns body, reusable (the connection is at a
-- clean message boundary and may go back to the pool) or nil, why.
local function read_body(reader, head, limit, rules)
  local status, map = head.status, head.map
  if status == 204 or status == 304 then return "", true end
  if status == 101 then return "", false end -- the connection now speaks another protocol
  local parts = {}
  local te = map["transfer-encoding"]
  if te then
    local codings = concat(te, ","):lower()
    if not codings:match("chunked%s*$") then
      local ok, err = reader:rest(parts, limit)
      if not ok then return nil, err end
      return concat(parts), false
    end
    local total = 0
    while true do
      local line, err = reader:line(4096)
      if not line then return nil, err == "too_large" and "bad_chunk" or err end
      local hex = line:match("^[ \t]*(%x+)[ \t]*;?")
      if not hex or #hex > 15 then return nil, "bad_chunk" end
      local size = tonumber(hex, 16)
      if size == 0 then break end
      total = total + size
      if total > limit then return nil, "too_large" end
      local ok
      ok, err = reader:bytes(size, parts)
      if not ok then return nil, err end
      line, err = reader:line(16) -- the CRLF that ends the chunk's data
      if line ~= "" then return nil, (line or err == "too_large") and "bad_chunk" or err end
    end
    -- Trailer fields join the headers, as libcurl reports them; then the empty line.
    local budget = MAX_HEAD_BYTES
    while true do
      local line, err = reader:line(min(budget, MAX_LINE_BYTES))
      if not line then return nil, err end
      if line == "" then break end
      budget = budget - #line - 2
      local name, value = line:match("^([^:]+):[ \t]*(.-)[ \t]*$")
      if name then add_field(head.headers, rules, name, value, lower_name(name)) end
    end
    -- A body with both framings is suspect: never reuse that connection (RFC 9112 §6.1).
    return concat(parts), map["content-length"] == nil
  end
  local lengths = map["content-length"]
  if lengths then
    local length = #lengths == 1 and digits_value(lengths[1])
    if length and length <= limit and reader:pending() >= length then
      -- the common case: one plain length, the whole body already read with the head
      return reader:take(length), true
    end
    length = nil
    for i = 1, #lengths do
      for item in lengths[i]:gmatch("[^,]+") do
        local digits = item:match("^%s*(%d+)%s*$")
        if not digits or (length and tonumber(digits) ~= length) then return nil, "bad_length" end
        length = tonumber(digits)
      end
    end
    if length > limit then return nil, "too_large" end
    local ok, err = reader:bytes(length, parts)
    if not ok then return nil, err end
    return concat(parts), true
  end
  -- No framing: the body ends when the server closes.
  local ok, err = reader:rest(parts, limit)
  if not ok then return nil, err end
  return concat(parts), false
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
    if why == "head_too_large" then
      return nil, fault("too_large", "too_large", "response head larger than 192 KiB, or a header line over 100 KiB", partial)
    end
    if why == "not_http" then
      -- libcurl's words: it would read such bytes as a (refused) HTTP/0.9 response.
      return nil, fault("network", "CURLE_UNSUPPORTED_PROTOCOL", "Received HTTP/0.9 when not allowed")
    end
    return nil, read_error(why, started, reader, partial, limit, "reading the response head")
  end

  local body, reusable = read_body(reader, head, limit, rules)
  if body == nil then
    why = reusable
    sock:close()
    if why == "bad_chunk" then
      return nil, fault("network", "CURLE_RECV_ERROR", "Illegal or missing hexadecimal sequence in chunked-encoding", head)
    end
    if why == "bad_length" then
      return nil, fault("network", "CURLE_WEIRD_SERVER_REPLY", "Invalid Content-Length in the response", head)
    end
    return nil, read_error(why, started, reader, head, limit, "reading the response body")
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
function NgxTransport:send(request)
  local started = monotonic_ms()
  local deadline = started + (request.timeout_ms or 30000)
  local connect_deadline = min(deadline, started + (request.connect_timeout_ms or 10000))
  local limit = request.max_response_bytes or 32 * 1024 * 1024
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

function NgxTransport.sleep(_, ms)
  if ms > 0 then ngx.sleep(ms / 1000) end
end

-- Pooled connections belong to the nginx worker, not to one client: nothing to close.
function NgxTransport.close()
end

return NgxTransport
