-- spec/http1_spec.lua: the cosocket transport's HTTP/1.1 framing (medusa.transport.http1
-- over medusa.transport.reader) on scripted bytes, under plain Lua: no nginx, no socket.
-- The source below stands in for ngx.socket.tcp only; the code under test is ours, whole.
-- It hands out a given byte string in chosen read sizes and then ends as a cosocket does
-- ("closed", "timeout" or another error text). Every response case runs at several read
-- sizes, 1 byte among them, so a head or body split anywhere is read the same.
-- The pipeline never sends HEAD, so the framing has no method argument and none is tested.
local core = require "medusa.core"
local Headers = require "medusa.headers"
local http1 = require "medusa.transport.http1"
local Reader = require "medusa.transport.reader"

-- The two methods medusa.transport.reader documents as its source interface.
local function source(bytes, size, ending)
  local pos, n = 1, 0
  local s = { reads = 0, timeouts = {} }
  function s.settimeouts(self, connect_ms, send_ms, read_ms)
    self.timeouts[#self.timeouts + 1] = { connect_ms, send_ms, read_ms }
  end
  function s.receiveany(self, max)
    self.reads = self.reads + 1
    if pos > #bytes then return nil, ending or "closed" end
    n = n + 1
    local take = type(size) == "table" and size[(n - 1) % #size + 1] or size
    take = math.min(take, max)
    local data = bytes:sub(pos, pos + take - 1)
    pos = pos + take
    return data
  end
  return s
end

local SIZES = { 1, 2, 7, 64, 65536 }

-- What NgxTransport:exchange does after sending, minus the socket: {head, body, reusable,
-- pending, reader, src} | {err, reader, src}.
local function response(bytes, opts)
  opts = opts or {}
  local started = core.monotonic_ms()
  local limit = opts.limit or 32 * 1024 * 1024
  local src = source(bytes, opts.size or 65536, opts.ending)
  local reader = Reader.new(src, opts.deadline or (started + 5000))
  local head, why, partial = http1.read_head(reader, opts.rules)
  if not head then
    return { err = http1.read_failure(why, started, reader, partial, limit, "reading the response head"), reader = reader, src = src }
  end
  local body, reusable = http1.read_body(reader, head, limit, opts.rules)
  if body == nil then
    return { err = http1.read_failure(reusable, started, reader, head, limit, "reading the response body"), reader = reader, src = src }
  end
  return { head = head, body = body, reusable = reusable, pending = reader:pending(), reader = reader, src = src }
end

-- The same response at every read size; returns the one with 1-byte reads.
local function each_size(bytes, opts, check)
  local first
  for _, size in ipairs(opts.sizes or SIZES) do
    local o = {}
    for k, v in pairs(opts) do o[k] = v end
    o.size = size
    local r = response(bytes, o)
    check(r, size)
    first = first or r
  end
  return first
end

local function err_of(r, kind, code, message, status)
  assert.is_nil(r.head, "expected a failure")
  assert.are.equal(kind, r.err.type)
  assert.are.equal(code, r.err.code)
  assert.are.equal(message, r.err.message)
  assert.are.equal(status, r.err.status)
end

local PARTIAL = "transfer closed with outstanding read data remaining"
local BAD_CHUNK = "Illegal or missing hexadecimal sequence in chunked-encoding"
local BAD_LENGTH = "Invalid Content-Length in the response"
local HEAD_TOO_LARGE = "response head larger than 192 KiB, or a header line over 100 KiB"

describe("http1 framing", function()
  it("loads without ngx (plain Lua)", function()
    assert.is_nil(rawget(_G, "ngx"))
    assert.are.equal(192 * 1024, http1.MAX_HEAD_BYTES)
    assert.are.equal(100 * 1024, http1.MAX_LINE_BYTES)
  end)

  describe("Content-Length", function()
    it("reads the body, keeps the headers in wire order, and leaves a clean boundary", function()
      each_size("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Type: text/plain\r\nX-Empty:\r\n\r\nhello", {}, function(r)
        assert.are.equal(200, r.head.status)
        assert.are.equal(11, r.head.version)
        assert.are.same({ "Content-Length", "5", "Content-Type", "text/plain", "X-Empty", "" }, r.head.headers)
        assert.are.equal("hello", r.body)
        assert.is_true(r.reusable)
        assert.are.equal(0, r.pending)
      end)
    end)

    it("takes a body that came with the head from the buffer, without another read", function()
      local r = response("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
      assert.are.equal("ok", r.body)
      assert.are.equal(1, r.src.reads)
    end)

    it("reads exactly the length: bytes after it stay pending (the connection is not pooled then)", function()
      each_size("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokXYZ", { sizes = { 65536 } }, function(r)
        assert.are.equal("ok", r.body)
        assert.are.equal(3, r.pending)
      end)
    end)

    it("an empty body, and a repeated equal length", function()
      each_size("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", {}, function(r)
        assert.are.equal("", r.body)
        assert.is_true(r.reusable)
      end)
      each_size("HTTP/1.1 200 OK\r\nContent-Length: 3, 3\r\ncontent-length: 3\r\n\r\nabc", {}, function(r)
        assert.are.equal("abc", r.body)
      end)
    end)

    it("a bad Content-Length is CURLE_WEIRD_SERVER_REPLY", function()
      for _, fields in ipairs { "Content-Length: abc", "Content-Length: 3, 4", "Content-Length: 3\r\nContent-Length: 4",
        "Content-Length: -1", "Content-Length: 3 3" } do
        each_size("HTTP/1.1 200 OK\r\n" .. fields .. "\r\n\r\nabcd", { sizes = { 1, 65536 } }, function(r)
          err_of(r, "network", "CURLE_WEIRD_SERVER_REPLY", BAD_LENGTH, 200)
          assert.are.same({ "Content-Length" }, { r.err.headers[1] })
        end)
      end
    end)

    it("a body cut short is CURLE_PARTIAL_FILE with the head", function()
      each_size("HTTP/1.1 503 Busy\r\nContent-Length: 10\r\n\r\nabc", {}, function(r)
        err_of(r, "network", "CURLE_PARTIAL_FILE", PARTIAL, 503)
        assert.are.same({ "Content-Length", "10" }, r.err.headers)
      end)
    end)

    it("a length over maxResponseBytes is too_large before reading the body", function()
      each_size("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello", { limit = 4 }, function(r)
        err_of(r, "too_large", "too_large", "response larger than maxResponseBytes (4 bytes)", 200)
      end)
      each_size("HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nabcd", { limit = 4 }, function(r)
        assert.are.equal("abcd", r.body)
      end)
    end)
  end)

  describe("chunked", function()
    local CHUNKED = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"

    it("joins the chunks, ignores extensions, and adds trailer fields to the headers", function()
      each_size(CHUNKED .. "5;name=value\r\nhello\r\n6 ; x=\"y\"\r\n world\r\nA\r\n0123456789\r\n0;last\r\n"
        .. "X-Trailer: t\r\nX-Spaced:  v  \r\n\r\n", {}, function(r)
        assert.are.equal("hello world0123456789", r.body)
        assert.are.same({ "Transfer-Encoding", "chunked", "X-Trailer", "t", "X-Spaced", "v" }, r.head.headers)
        assert.is_true(r.reusable)
        assert.are.equal(0, r.pending)
      end)
    end)

    it("chunked after other codings is still chunked; another last coding reads to the close", function()
      each_size("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\nTransfer-Encoding: Chunked \r\n\r\n3\r\nabc\r\n0\r\n\r\n", {},
        function(r)
          assert.are.equal("abc", r.body)
          assert.is_true(r.reusable)
        end)
      each_size("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip\r\n\r\n3\r\nabc\r\n0\r\n\r\n", {}, function(r)
        assert.are.equal("3\r\nabc\r\n0\r\n\r\n", r.body)
        assert.is_false(r.reusable)
      end)
    end)

    it("with Content-Length too, the chunks frame the body and the connection is not reused", function()
      each_size("HTTP/1.1 200 OK\r\nContent-Length: 100\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n", {},
        function(r)
          assert.are.equal("ok", r.body)
          assert.is_false(r.reusable)
        end)
    end)

    it("a cut chunked body is CURLE_PARTIAL_FILE, wherever it is cut", function()
      local whole = CHUNKED .. "5\r\nhello\r\n0\r\n\r\n"
      for cut = #CHUNKED, #whole - 1 do
        each_size(whole:sub(1, cut), { sizes = { 1, 65536 } }, function(r)
          err_of(r, "network", "CURLE_PARTIAL_FILE", PARTIAL, 200)
        end)
      end
    end)

    it("a bad size line or a chunk without its CRLF is the chunked-encoding error", function()
      for _, bad in ipairs { "zz\r\nhello\r\n", "\r\n", "5\r\nhelloX\r\n0\r\n\r\n", "5\r\nhello\r\n1234567890123456\r\n",
        ("1"):rep(4097) .. "\r\n" } do
        each_size(CHUNKED .. bad, { sizes = { 7, 65536 } }, function(r)
          err_of(r, "network", "CURLE_RECV_ERROR", BAD_CHUNK, 200)
        end)
      end
    end)

    it("the chunks' total over maxResponseBytes is too_large", function()
      each_size(CHUNKED .. "3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n", { limit = 4 }, function(r)
        err_of(r, "too_large", "too_large", "response larger than maxResponseBytes (4 bytes)", 200)
      end)
    end)

    -- Today's shape: a trailer line over the line limit reads as maxResponseBytes' failure.
    it("a trailer line over 100 KiB is too_large (with maxResponseBytes' message)", function()
      each_size(CHUNKED .. "0\r\nX-T: " .. ("t"):rep(100 * 1024) .. "\r\n\r\n", { sizes = { 65536 }, limit = 7 }, function(r)
        err_of(r, "too_large", "too_large", "response larger than maxResponseBytes (7 bytes)", 200)
      end)
    end)
  end)

  describe("close-delimited", function()
    it("without framing, the body is everything until the server closes; never reused", function()
      each_size("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil\r\nthe end", {}, function(r)
        assert.are.equal("until\r\nthe end", r.body)
        assert.is_false(r.reusable)
      end)
      each_size("HTTP/1.0 200 OK\r\n\r\n", {}, function(r)
        assert.are.equal(10, r.head.version)
        assert.are.equal("", r.body)
      end)
    end)

    it("over maxResponseBytes is too_large", function()
      each_size("HTTP/1.1 200 OK\r\n\r\nabcdefgh", { limit = 7 }, function(r)
        err_of(r, "too_large", "too_large", "response larger than maxResponseBytes (7 bytes)", 200)
      end)
    end)

    it("a timeout instead of the close is CURLE_OPERATION_TIMEDOUT with the bytes received", function()
      local bytes = "HTTP/1.1 200 OK\r\n\r\npart"
      each_size(bytes, { ending = "timeout" }, function(r)
        assert.are.equal("timeout", r.err.type)
        assert.are.equal("CURLE_OPERATION_TIMEDOUT", r.err.code)
        assert.matches("^Operation timed out after %d+ milliseconds with " .. #bytes
          .. " bytes received %(reading the response body%)$", r.err.message)
        assert.are.equal(200, r.err.status)
      end)
    end)
  end)

  describe("the head", function()
    it("split across reads anywhere, it parses the same", function()
      local bytes = "HTTP/1.1 201 Created\r\nLocation: /a\r\nContent-Length: 3\r\n\r\nabc"
      for _, sizes in ipairs { { 3, 1, 50 }, { 17 }, { 18 }, { 19, 1 }, { 36, 2 }, { #bytes - 3, 1 } } do
        local r = response(bytes, { size = sizes })
        assert.are.equal(201, r.head.status)
        assert.are.same({ "Location", "/a", "Content-Length", "3" }, r.head.headers)
        assert.are.equal("abc", r.body)
      end
    end)

    it("bare LF line ends, HTTP/2 and HTTP/1.0 status lines, no reason phrase", function()
      each_size("HTTP/1.1 200 OK\nA: 1\n\nok", {}, function(r)
        assert.are.same({ "A", "1" }, r.head.headers)
        assert.are.equal("ok", r.body)
      end)
      each_size("HTTP/2 204\r\n\r\n", {}, function(r)
        assert.are.equal(20, r.head.version)
        assert.are.equal(204, r.head.status)
      end)
    end)

    it("obsolete line folding continues the previous value, framing fields included", function()
      each_size("HTTP/1.1 200 OK\r\nX-A: one\r\n two \r\n\t three\r\nContent-Length:\r\n 2\r\n\r\nok", {}, function(r)
        assert.are.same({ "X-A", "one two three", "Content-Length", " 2" }, r.head.headers)
        assert.are.equal("ok", r.body)
      end)
    end)

    it("folding with the pipeline's rules: a list's last value, a kept first value, a dropped repeat", function()
      local bytes = "HTTP/1.1 200 OK\r\nSet-Cookie: a=1\r\nSet-Cookie: b=2\r\n c=3\r\nContent-Type: x\r\n y\r\n"
        .. "Content-Type: z\r\n dropped\r\nX-Join: 1\r\nx-join: 2\r\n 3\r\nContent-Length: 0\r\n\r\n"
      each_size(bytes, { rules = Headers.RULES }, function(r)
        assert.are.same({ ["set-cookie"] = { "a=1", "b=2 c=3" }, ["content-type"] = "x y", ["x-join"] = "1, 2 3",
          ["content-length"] = "0" }, r.head.headers)
      end)
    end)

    it("a line without a colon is skipped; a blank-led line right after the status line is a field", function()
      each_size("HTTP/1.1 200 OK\r\n X-Lead: 1\r\nno colon here\r\nB: 2\r\nContent-Length: 0\r\n\r\n", {}, function(r)
        assert.are.same({ " X-Lead", "1", "B", "2", "Content-Length", "0" }, r.head.headers)
      end)
    end)

    it("skips interim 1xx heads; 101 ends the exchange, no body", function()
      each_size("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n"
        .. "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", {}, function(r)
        assert.are.equal(200, r.head.status)
        assert.are.same({ "Content-Length", "2" }, r.head.headers)
        assert.are.equal("ok", r.body)
      end)
      each_size("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\nframes", {}, function(r)
        assert.are.equal(101, r.head.status)
        assert.are.equal("", r.body)
        assert.is_false(r.reusable)
      end)
    end)

    it("204 and 304 have no body whatever their head says", function()
      for _, status in ipairs { 204, 304 } do
        each_size("HTTP/1.1 " .. status .. " X\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n", {}, function(r)
          assert.are.equal(status, r.head.status)
          assert.are.equal("", r.body)
          assert.is_true(r.reusable)
          assert.are.equal(0, r.pending)
        end)
      end
    end)

    it("what is no HTTP is libcurl's refused HTTP/0.9", function()
      for _, bytes in ipairs { "SSH-2.0-OpenSSH\r\n", "HTTP/1.1 abc\r\n\r\n", "\r\n" } do
        each_size(bytes, { sizes = { 1, 65536 } }, function(r)
          err_of(r, "network", "CURLE_UNSUPPORTED_PROTOCOL", "Received HTTP/0.9 when not allowed", nil)
        end)
      end
    end)

    it("nothing at all is CURLE_GOT_NOTHING; a head cut after its status line is CURLE_PARTIAL_FILE", function()
      each_size("", {}, function(r) err_of(r, "network", "CURLE_GOT_NOTHING", "Empty reply from server", nil) end)
      each_size("HTTP/1.1 20", {}, function(r) err_of(r, "network", "CURLE_GOT_NOTHING", "Empty reply from server", nil) end)
      each_size("HTTP/1.1 200 OK\r\nA: 1\r\nB:", {}, function(r)
        err_of(r, "network", "CURLE_PARTIAL_FILE", PARTIAL, 200)
        assert.are.same({ "A", "1" }, r.err.headers)
      end)
    end)

    it("another read error is CURLE_RECV_ERROR with the socket's words", function()
      each_size("HTTP/1.1 200 OK\r\n", { ending = "connection reset by peer" }, function(r)
        err_of(r, "network", "CURLE_RECV_ERROR", "Recv failure: connection reset by peer", 200)
      end)
    end)

    it("a timeout is CURLE_OPERATION_TIMEDOUT; a deadline already past reads nothing", function()
      each_size("HTTP/1.1 200 OK\r\n", { ending = "timeout" }, function(r)
        assert.are.equal("CURLE_OPERATION_TIMEDOUT", r.err.code)
        assert.matches("^Operation timed out after %d+ milliseconds with 17 bytes received %(reading the response head%)$",
          r.err.message)
        assert.are.equal(200, r.err.status)
      end)
      local r = response("HTTP/1.1 200 OK\r\n\r\n", { deadline = core.monotonic_ms() - 1 })
      assert.are.equal("timeout", r.err.type)
      assert.matches("with 0 bytes received %(reading the response head%)$", r.err.message)
      assert.are.equal(0, r.src.reads)
    end)

    it("each read gets what is left of the deadline as all three cosocket timeouts", function()
      local r = response("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", { size = 8 })
      assert.is_true(#r.src.timeouts >= 5)
      for _, t in ipairs(r.src.timeouts) do
        assert.is_true(t[1] >= 1 and t[1] <= 5000)
        assert.are.same({ t[1], t[1], t[1] }, t)
      end
    end)
  end)

  describe("limits", function()
    local function fields(count, length)
      local lines = {}
      for i = 1, count do lines[i] = ("X-%05d: %s\r\n"):format(i, ("v"):rep(length - 9)) end
      return table.concat(lines)
    end

    it("a head over 192 KiB is too_large, with the status line's head", function()
      -- 2 x 99 KiB lines: each under the line limit, together over the head's.
      each_size("HTTP/1.1 200 OK\r\n" .. fields(2, 99 * 1024) .. "\r\n", { sizes = { 4096, 65536 } }, function(r)
        err_of(r, "too_large", "too_large", HEAD_TOO_LARGE, 200)
      end)
      -- many short lines: the budget counts every line's CRLF
      each_size("HTTP/1.1 200 OK\r\n" .. fields(192 * 1024 / 64, 62) .. "\r\n", { sizes = { 65536 } }, function(r)
        err_of(r, "too_large", "too_large", HEAD_TOO_LARGE, 200)
      end)
      each_size("HTTP/1.1 200 OK\r\n" .. fields(192 * 1024 / 64 - 1, 62) .. "\r\n", { sizes = { 65536 } }, function(r)
        assert.are.equal(200, r.head.status)
      end)
    end)

    it("a header line over 100 KiB is too_large; one of exactly 100 KiB is read", function()
      each_size("HTTP/1.1 200 OK\r\nX: " .. ("v"):rep(100 * 1024) .. "\r\n\r\n", { sizes = { 4096, 65536 } }, function(r)
        err_of(r, "too_large", "too_large", HEAD_TOO_LARGE, 200)
      end)
      -- the limit counts the line with its LF, without its CR
      each_size("HTTP/1.1 200 OK\r\nX: " .. ("v"):rep(100 * 1024 - 5) .. "\n\r\n", { sizes = { 65536 } }, function(r)
        assert.are.equal(100 * 1024 - 5, #r.head.headers[2])
      end)
    end)

    it("a status line over 100 KiB is too_large without a status", function()
      each_size("HTTP/1.1 200 " .. ("r"):rep(100 * 1024) .. "\r\n\r\n", { sizes = { 65536 } }, function(r)
        err_of(r, "too_large", "too_large", HEAD_TOO_LARGE, nil)
        assert.is_nil(r.err.headers)
      end)
    end)
  end)
end)

describe("http1 request bytes", function()
  local function bytes(request)
    return http1.request_bytes(request, "/store/carts/c?x=1", "localhost:9000")
  end

  it("GET: request line, Host first, the headers in order, 'Name:' for an empty value, never a body", function()
    local b, close = bytes { method = "GET", body = "ignored",
      headers = { { "Accept", "application/json" }, { "X-Empty", "" }, { "Cookie", "a=1" } } }
    assert.are.equal("GET /store/carts/c?x=1 HTTP/1.1\r\nHost: localhost:9000\r\nAccept: application/json\r\n"
      .. "X-Empty:\r\nCookie: a=1\r\n\r\n", b)
    assert.is_false(close)
  end)

  it("POST: Content-Length after our headers, then the body", function()
    local b = bytes { method = "POST", body = '{"a":1}', headers = { { "Content-Type", "application/json" }, { "X-E", "" } } }
    assert.are.equal("POST /store/carts/c?x=1 HTTP/1.1\r\nHost: localhost:9000\r\nContent-Type: application/json\r\n"
      .. "X-E:\r\nContent-Length: 7\r\n\r\n{\"a\":1}", b)
  end)

  it("DELETE without a body says Content-Length: 0", function()
    local b = bytes { method = "DELETE", headers = { { "X-Empty", "" } } }
    assert.are.equal("DELETE /store/carts/c?x=1 HTTP/1.1\r\nHost: localhost:9000\r\nX-Empty:\r\nContent-Length: 0\r\n\r\n", b)
  end)

  it("a caller's Host takes the first place, a caller's Content-Length is not doubled, Connection: close is seen", function()
    local b, close = bytes { method = "POST", body = "xy",
      headers = { { "Connection", "Close" }, { "content-length", "2" }, { "HOST", "api.test" } } }
    assert.are.equal("POST /store/carts/c?x=1 HTTP/1.1\r\nHOST: api.test\r\nConnection: Close\r\ncontent-length: 2\r\n\r\nxy", b)
    assert.is_true(close)
  end)

  it("refuses a header that could split the request", function()
    for _, h in ipairs { { "X", "a\r\nB: c" }, { "X:Y", "v" }, { "", "v" }, { "X", "a\0" }, { "X", 1 } } do
      local ok, e = pcall(bytes, { method = "GET", headers = { { "Ok", "1" }, h } })
      assert.is_false(ok)
      assert.truthy(e:find("medusa.ngx: request.headers[2] is not a safe header", 1, true), e)
    end
  end)

  it("a list marked headers_reused is built once", function()
    local headers = { { "A", "1" } }
    local first = bytes { method = "GET", headers = headers, headers_reused = true }
    headers[1][2] = "changed"
    assert.are.equal(first, bytes { method = "GET", headers = headers, headers_reused = true })
    assert.truthy(bytes({ method = "GET", headers = headers }):find("A: changed", 1, true))
  end)

  it("parses the pipeline's URLs: libcurl's Host, with the port only when not the default", function()
    assert.are.same({ "http", "localhost", 9000, "/store/x?y=1", "localhost:9000" },
      { http1.parse_url("http://localhost:9000/store/x?y=1") })
    assert.are.same({ "https", "[::1]", 443, "/a", "[::1]" }, { http1.parse_url("HTTPS://[::1]:443/a") })
    assert.are.same({ "http", "h", 80, "/", "h" }, { http1.parse_url("http://h") })
    assert.are.same({ "https", "[::1]", 8443, "/", "[::1]:8443" }, { http1.parse_url("https://[::1]:8443") })
    for url, why in pairs { ["ftp://x/"] = "unsupported", ["http://:80/"] = "malformed", ["http:///a"] = "malformed",
      ["nothing"] = "unsupported" } do
      local ok, e = pcall(http1.parse_url, url)
      assert.is_false(ok)
      assert.truthy(e:find("medusa.ngx: " .. why .. " URL " .. url, 1, true), e)
    end
  end)

  it("has_token reads comma lists, case-insensitively, whole tokens only", function()
    assert.is_true(http1.has_token({ "keep-alive", "Upgrade, CLOSE " }, "close"))
    assert.is_false(http1.has_token({ "closed", "x-close" }, "close"))
    assert.is_false(http1.has_token(nil, "close"))
  end)
end)
