-- medusa.transport.reader: a buffered reader over a socket, for the cosocket transport's
-- HTTP/1.1 framing (medusa.transport.http1). Every read is bounded by one deadline (the
-- attempt's): a cosocket's own read timeout restarts whenever some bytes arrive, so the
-- reader sets what is left of the deadline before each read. No ngx API in here.
--
-- The source, an ngx.socket.tcp in the transport (a scripted fake in spec/http1_spec.lua),
-- needs two methods, and only these are called:
--   source:settimeouts(connect_ms, send_ms, read_ms)  -- called with the ms left, all three
--   source:receiveany(max) -> data | nil, why          -- 1..max bytes as soon as any arrive;
--                                                      -- why "timeout", "closed" or other text
--
-- Reader.new(source, deadline) -> reader; deadline in core.monotonic_ms() time.
-- reader.received counts the bytes read so far (the timeout message reports it);
-- reader.buf/reader.pos are the buffer and the index of its first unconsumed byte.
local core = require "medusa.core"

local monotonic_ms = core.monotonic_ms
local floor, min = math.floor, math.min
local byte, find, sub = string.byte, string.find, string.sub

local READ_CHUNK = 65536

local Reader = {}
Reader.__index = Reader
Reader.READ_CHUNK = READ_CHUNK

function Reader.new(source, deadline)
  return setmetatable({ source = source, deadline = deadline, buf = "", pos = 1, received = 0 }, Reader)
end

-- Reads more bytes into the buffer; returns true, or nil and "timeout"|"closed"|other.
function Reader:fill()
  local left = floor(self.deadline - monotonic_ms())
  if left < 1 then return nil, "timeout" end
  self.source:settimeouts(left, left, left)
  local data, err = self.source:receiveany(READ_CHUNK)
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

return Reader
