-- medusa.transport.http1: HTTP/1.1 framing for the cosocket transport, with no ngx API
-- (spec/http1_spec.lua runs it under plain Lua over scripted bytes). The request bytes are
-- the same as libcurl's (Host first, our headers in order, then Content-Length); a
-- response is read over a medusa.transport.reader: the head (interim 1xx skipped,
-- obsolete line folding, libcurl's limits) and the body (Content-Length, chunked with
-- trailers, close-delimited, maxResponseBytes while reading). Read failures come back
-- as a short why, which read_failure turns into libcurl's err (see
-- medusa.transport.failure); medusa.transport.ngx owns the socket and the pool.
local core = require "medusa.core"
local Headers = require "medusa.headers"
local failure = require "medusa.transport.failure"

local concat, min = table.concat, math.min
local byte, find = string.byte, string.find
local lower_name, add_to_map = Headers.lower, Headers.add
local fault, timed_out, too_large = failure.fault, failure.timed_out, failure.too_large

local http1 = {}

-- The bounds on a response head both transports keep (src/contract.h): libcurl's own
-- 100 KiB per line, and a 192 KiB total.
local MAX_HEAD_BYTES = core.contract.max_response_head_bytes
local MAX_LINE_BYTES = core.contract.max_response_line_bytes
http1.MAX_HEAD_BYTES, http1.MAX_LINE_BYTES = MAX_HEAD_BYTES, MAX_LINE_BYTES

---------------------------------------------------------------------------------------
-- URL and request bytes
---------------------------------------------------------------------------------------

local DEFAULT_PORT = { http = 80, https = 443 }

-- The pipeline hands over absolute http(s) URLs it built from a checked baseUrl.
-- Returns scheme, host, port, target, host_header; raises at the level of send()'s caller.
function http1.parse_url(url)
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

-- The contract's header rule (src/contract.c), as the libcurl transport applies it.
local header_problem = core.header_problem

-- The header lines of one request list, checked: the block after the request line and
-- Host (each line with its CRLF), the caller's own Host line if any, whether the list sets
-- Content-Length, and whether it asks the server to close the connection.
local function header_block(headers)
  local lines, host_line, has_length, close = {}, nil, false, false
  for i = 1, #headers do
    local name, value = headers[i][1], headers[i][2]
    if type(name) ~= "string" or type(value) ~= "string" or header_problem(name, value) then
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
-- caller asked the server to close the connection. Raises (at the level of send()'s
-- caller) for a header that is not safe to send.
function http1.request_bytes(request, target, host_header)
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

-- The framing's own failures, in libcurl's words.
local FRAMING_FAILURES = {
  head_too_large = { "too_large", "too_large", "response head larger than 192 KiB, or a header line over 100 KiB" },
  -- libcurl would read such bytes as a (refused) HTTP/0.9 response.
  not_http = { "network", "CURLE_UNSUPPORTED_PROTOCOL", "Received HTTP/0.9 when not allowed" },
  bad_chunk = { "network", "CURLE_RECV_ERROR", "Illegal or missing hexadecimal sequence in chunked-encoding" },
  bad_length = { "network", "CURLE_WEIRD_SERVER_REPLY", "Invalid Content-Length in the response" },
}

-- The err for the why of read_head or read_body: `head` is the (partial) head once a
-- status line has arrived, `started` the attempt's start (core.monotonic_ms), `limit` its
-- maxResponseBytes, `what` "reading the response head" or "... body" (for a timeout).
function http1.read_failure(why, started, reader, head, limit, what)
  local known = FRAMING_FAILURES[why]
  if known then return fault(known[1], known[2], known[3], head) end
  return read_error(why, started, reader, head, limit, what)
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
function http1.read_head(reader, rules)
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

-- Whether one of the values (a list, or nil) names `token` (lower-case) in its comma list.
function http1.has_token(list, token)
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
function http1.read_body(reader, head, limit, rules)
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

return http1
