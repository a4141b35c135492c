-- spec/server_spec.lua: the test server itself (spec/support/server.py + server.lua),
-- driven with the curl command line so it does not depend on the library under test.
local Server = require "support.server"
local cjson = require "cjson"

local shq, run = Server.shell_quote, Server.run

local TMP = os.tmpname() -- a scratch file; siblings get suffixes
local started_pids = {}

local read_file, write_file = Server.read_file, Server.write_file

local function start(opts)
  local srv = Server.start(opts)
  started_pids[#started_pids + 1] = srv.pid
  return srv
end

-- Runs curl with the given arguments (each one shell-quoted); returns stdout, exit code, stderr.
local function curl(args)
  local q = {}
  for i, a in ipairs(args) do q[i] = shq(a) end
  local _, rc = run("curl -q -sS --noproxy '*' " .. table.concat(q, " ")
    .. " >" .. shq(TMP .. ".out") .. " 2>" .. shq(TMP .. ".err"))
  return read_file(TMP .. ".out") or "", rc, read_file(TMP .. ".err") or ""
end

-- Parses `curl -i` output (skipping 1xx heads): {status, reason, version, head, headers, body}.
local function parse(raw)
  local pos, res = 1
  repeat
    local hend = raw:find("\r\n\r\n", pos, true)
    if not hend then return { raw = raw, headers = {}, body = "" } end
    local head = raw:sub(pos, hend - 1)
    pos = hend + 4
    local version, status, reason = head:match("^(HTTP/[%d%.]+) (%d%d%d) ?([^\r\n]*)")
    res = { version = version, status = tonumber(status), reason = reason, head = head, headers = {} }
  until not (res.status and res.status >= 100 and res.status < 200)
  for line in res.head:gmatch("[^\r\n]+") do
    local n, v = line:match("^([^:]+):%s*(.-)%s*$")
    if n and not line:match("^HTTP/") then res.headers[#res.headers + 1] = { n, v } end
  end
  res.body = raw:sub(pos)
  return res
end

local function hdr(res, name)
  return Server.header(res, name)
end

-- One request through curl -i. opts: body (string), headers (list of "Name: value"), args (extra).
local function http(method, url, opts)
  opts = opts or {}
  local args = { "-i", "-X", method }
  for _, h in ipairs(opts.headers or {}) do
    args[#args + 1] = "-H"; args[#args + 1] = h
  end
  if opts.body then
    write_file(TMP .. ".body", opts.body)
    args[#args + 1] = "--data-binary"; args[#args + 1] = "@" .. TMP .. ".body"
  end
  for _, a in ipairs(opts.args or {}) do args[#args + 1] = a end
  args[#args + 1] = url
  local out, rc, err = curl(args)
  local res = parse(out)
  res.rc, res.err = rc, err
  return res
end

local function json_req(method, url, value, headers)
  local h = { "Content-Type: application/json" }
  for _, x in ipairs(headers or {}) do h[#h + 1] = x end
  local res = http(method, url, { body = type(value) == "string" and value or cjson.encode(value), headers = h })
  local ok, decoded = pcall(cjson.decode, res.body)
  res.json = ok and decoded or nil
  return res
end

local function get_json(url, headers)
  local res = http("GET", url, { headers = headers })
  local ok, decoded = pcall(cjson.decode, res.body)
  res.json = ok and decoded or nil
  return res
end

-- "time_total" etc. of one request: curl -w
local function timed(args)
  local all = { "-o", "/dev/null", "-w", "%{http_code} %{time_total} %{size_download}" }
  for _, a in ipairs(args) do all[#all + 1] = a end
  local out, rc, err = curl(all)
  local code, t, size = out:match("^(%d+) ([%d%.]+) (%d+)")
  return { code = tonumber(code), time = tonumber(t), size = tonumber(size), rc = rc, err = err }
end

-- Recursive shape comparison (keys, JSON types, array-ness) against a recorded body.
local function shape_diff(want, got, path)
  path = path or "$"
  local tw, tg = type(want), type(got)
  if want == cjson.null or got == cjson.null then
    if want == got then return nil end
    -- a null in one and a value in the other is only a state difference for timestamps
    return nil
  end
  if tw ~= tg then return path .. ": " .. tw .. " vs " .. tg end
  if tw ~= "table" then return nil end
  if #want > 0 or #got > 0 then
    if (#want > 0) ~= (#got > 0) and next(want) ~= nil and next(got) ~= nil then
      return path .. ": array vs object"
    end
    if #want > 0 and #got > 0 then return shape_diff(want[1], got[1], path .. "[1]") end
    return nil
  end
  for k in pairs(want) do
    if got[k] == nil then return path .. "." .. k .. " missing" end
  end
  for k in pairs(got) do
    if want[k] == nil then return path .. "." .. k .. " unexpected" end
  end
  for k, v in pairs(want) do
    local d = shape_diff(v, got[k], path .. "." .. k)
    if d then return d end
  end
  return nil
end

local recordings
local function recording(file)
  if not recordings then
    local f = assert(io.open("spec/support/fixtures/medusa-v1-recordings.json", "rb"))
    recordings = cjson.decode(f:read("*a"))
    f:close()
  end
  for _, e in ipairs(recordings.exchanges) do
    if e.file == file then return e end
  end
  error("no recording " .. file)
end

local SESSION_ID = "^ps_[0-9A-HJKMNP-TV-Z]+$"

------------------------------------------------------------------------------------------
describe("server.py in script mode", function()
  local srv

  setup(function()
    srv = start { mode = "script" }
  end)

  teardown(function()
    if srv then srv:stop() end
  end)

  before_each(function()
    srv:reset()
  end)

  it("starts on 127.0.0.1 with a port, url and pid, and answers the health check", function()
    assert.is_number(srv.port)
    assert.are.equal("http://127.0.0.1:" .. srv.port, srv.url)
    assert.is_number(srv.pid)
    local res = get_json(srv.url .. "/__ctl/health")
    assert.are.equal(200, res.status)
    assert.is_true(res.json.ok)
    local out = run("ss -ltnp 2>/dev/null | grep ':" .. srv.port .. " ' || true")
    if out:match("%S") then assert.truthy(out:find("127.0.0.1:" .. srv.port, 1, true)) end
  end)

  it("records method, target, path, query, version, headers (order, case) and exact body bytes", function()
    local bytes = "a\0b\255\r\nz"
    local res = http("POST", srv.url .. "/a%20b/c?expand=region&x=%2F", {
      body = bytes,
      headers = { "X-First: one", "x-second: two", "X-Dup: 1", "X-Dup: 2", "Content-Type: application/octet-stream" },
    })
    assert.are.equal(0, res.rc)
    assert.are.equal(200, res.status)
    local log = srv:log()
    assert.are.equal(1, #log)
    local r = log[1]
    assert.are.equal(1, r.index)
    assert.is_number(r.conn)
    assert.is_true(r.t_ms > 0)
    assert.are.equal("POST", r.method)
    assert.are.equal("/a%20b/c?expand=region&x=%2F", r.target)
    assert.are.equal("/a%20b/c", r.path)
    assert.are.equal("expand=region&x=%2F", r.query)
    assert.are.equal("HTTP/1.1", r.version)
    assert.is_nil(r.body) -- not valid UTF-8
    assert.are.equal(bytes, Server.b64decode(r.body_b64))
    assert.are.equal(#bytes, r.body_len)
    local names = {}
    for i, h in ipairs(r.headers) do names[h[1]] = names[h[1]] or i end
    assert.truthy(names["X-First"] and names["x-second"] and names["X-Dup"])
    assert.is_true(names["X-First"] < names["x-second"] and names["x-second"] < names["X-Dup"])
    assert.is_nil(names["x-first"]) -- case kept
    assert.are.equal("two", Server.header(r, "X-SECOND"))
    assert.are.equal(2, Server.header_count(r, "x-dup"))
    assert.are.equal("1", Server.header(r, "X-Dup"))
    assert.are.equal(tostring(#bytes), Server.header(r, "Content-Length"))
    assert.are.equal("POST /a%20b/c?expand=region&x=%2F HTTP/1.1\r\n", r.raw_head:match("^[^\n]*\n"))
    assert.truthy(r.raw_head:find("\r\nX-First: one\r\nx-second: two\r\n", 1, true))
    assert.are.equal("\r\n\r\n", r.raw_head:sub(-4))
  end)

  it("decodes UTF-8 bodies and tells a missing query from an empty one", function()
    http("POST", srv.url .. "/u", { body = "h\195\169llo" })
    http("GET", srv.url .. "/plain")
    http("GET", srv.url .. "/empty?")
    local log = srv:log()
    assert.are.equal(3, #log)
    assert.are.equal("h\195\169llo", log[1].body)
    assert.are.equal(6, log[1].body_len)
    assert.is_nil(log[2].query)
    assert.are.equal("", log[2].body)
    assert.are.equal(0, log[2].body_len)
    assert.are.equal("", log[3].query)
    assert.are.equal("/empty", log[3].path)
    assert.are.equal(2, #srv:log(1)) -- ?since=
  end)

  it("records a chunked request body", function()
    local res = http("POST", srv.url .. "/chunked", {
      body = string.rep("xyz", 1000), headers = { "Transfer-Encoding: chunked" } })
    assert.are.equal(200, res.status)
    local r = srv:log()[1]
    assert.are.equal("chunked", Server.header(r, "Transfer-Encoding"))
    assert.are.equal(string.rep("xyz", 1000), r.body)
    assert.are.equal(3000, r.body_len)
  end)

  it("answers Expect: 100-continue without making the client wait", function()
    write_file(TMP .. ".body", string.rep("e", 5000))
    local t = timed { "-H", "Expect: 100-continue", "--data-binary", "@" .. TMP .. ".body", srv.url .. "/expect" }
    assert.are.equal(200, t.code)
    assert.is_true(t.time < 0.9, "curl waited for 100-continue: " .. t.time)
    assert.are.equal(5000, srv:log()[1].body_len)
  end)

  it("answers the default body when the queue is empty", function()
    local res = get_json(srv.url .. "/store/payment-collections/x")
    assert.are.equal(200, res.status)
    assert.are.equal("application/json; charset=utf-8", hdr(res, "Content-Type"))
    assert.are.equal('{"payment_collection":{"id":"paycol_default","amount":5000}}', res.body)
    assert.are.equal(tostring(#res.body), hdr(res, "Content-Length"))
    assert.is_false(srv:log()[1].scripted)
  end)

  it("applies a step's status, reason, headers and json body", function()
    srv:script {
      { status = 201, headers = { { "X-Custom", "v1" }, { "Content-Type", "application/json" } }, json = { s = "\195\169", a = { 1, 2 } } },
      { status = 422, reason = "Totally Fine", body = "plain" },
      { body_b64 = Server.b64encode("\0\1\255") },
      { status = 503, headers = {}, body = "" },
    }
    local r1 = get_json(srv.url .. "/1")
    assert.are.equal(201, r1.status)
    assert.are.equal("Created", r1.reason)
    assert.are.equal("v1", hdr(r1, "x-custom"))
    assert.are.equal("application/json", hdr(r1, "Content-Type"))
    assert.are.equal(tostring(#r1.body), hdr(r1, "Content-Length"))
    assert.are.equal("\195\169", r1.json.s) -- ensure_ascii=False: raw UTF-8 on the wire
    assert.truthy(r1.body:find('"s":"\195\169"', 1, true))
    assert.are.same({ 1, 2 }, r1.json.a)
    local r2 = http("GET", srv.url .. "/2")
    assert.are.equal(422, r2.status)
    assert.are.equal("Totally Fine", r2.reason)
    assert.are.equal("plain", r2.body)
    assert.are.equal("application/json; charset=utf-8", hdr(r2, "Content-Type"))
    local r3 = http("GET", srv.url .. "/3")
    assert.are.equal("\0\1\255", r3.body)
    local r4 = http("GET", srv.url .. "/4")
    assert.are.equal(503, r4.status)
    assert.is_nil(hdr(r4, "Content-Type"))
    assert.are.equal("0", hdr(r4, "Content-Length"))
    assert.is_true(srv:log()[1].scripted)
  end)

  it("consumes steps in FIFO order; script replaces, append appends", function()
    srv:script { { status = 201 }, { status = 202 } }
    srv:script { { status = 203 }, { status = 204 } }
    srv:append { { status = 205 } }
    assert.are.equal(3, srv:remaining())
    local codes = {}
    for i = 1, 4 do codes[i] = timed { srv.url .. "/f" .. i }.code end
    assert.are.same({ 203, 204, 205, 200 }, codes)
    assert.are.equal(0, srv:remaining())
  end)

  it("rejects unknown step fields and bad values on the control plane", function()
    local ok, err = pcall(srv.script, srv, { { stauts = 200 } })
    assert.is_false(ok)
    assert.truthy(tostring(err):find("unknown field", 1, true))
    ok, err = pcall(srv.script, srv, { { after = "later" } })
    assert.is_false(ok)
    assert.truthy(tostring(err):find("after", 1, true))
    assert.are.equal(0, srv:remaining())
  end)

  it("reset clears the log and the queue", function()
    srv:script { { status = 201 }, { status = 202 } }
    http("GET", srv.url .. "/a")
    assert.are.equal(1, #srv:log())
    srv:reset()
    assert.are.equal(0, #srv:log())
    assert.are.equal(0, srv:remaining())
    assert.are.equal(200, timed { srv.url .. "/b" }.code)
    assert.are.equal(1, srv:log()[1].index)
  end)

  it("keeps connections alive: two requests in one curl run share conn, separate runs do not", function()
    local out, rc = curl { "-o", "/dev/null", "-o", "/dev/null", srv.url .. "/k1", srv.url .. "/k2" }
    assert.are.equal(0, rc, out)
    http("GET", srv.url .. "/k3")
    local log = srv:log()
    assert.are.equal(3, #log)
    assert.are.equal(log[1].conn, log[2].conn)
    assert.are_not.equal(log[2].conn, log[3].conn)
  end)

  it("after = close ends the connection (the next request opens a new one)", function()
    srv:script { { body = "x", after = "close" }, { body = "y" } }
    local out, rc = curl { "-o", "/dev/null", "-o", "/dev/null", srv.url .. "/c1", srv.url .. "/c2" }
    assert.are.equal(0, rc, out)
    local log = srv:log()
    assert.are.equal(2, #log)
    assert.are_not.equal(log[1].conn, log[2].conn)
  end)

  it("after = reset delivers the response, then the connection is dead", function()
    srv:script { { body = "x", after = "reset" }, { body = "y" } }
    local out = curl { "-s", "-w", "[%{http_code}]", srv.url .. "/r1", srv.url .. "/r2" }
    assert.truthy(out:find("x[200]", 1, true))
    assert.truthy(out:find("y[200]", 1, true))
    local log = srv:log()
    assert.are.equal(2, #log)
    assert.are_not.equal(log[1].conn, log[2].conn)
  end)

  it("sends a chunked body in chunk_size pieces", function()
    srv:script { { chunked = true, chunk_size = 4, body = "abcdefghij" }, { chunked = true, chunk_size = 4, body = "abcdefghij" } }
    local raw = http("GET", srv.url .. "/ch", { args = { "--raw" } })
    assert.are.equal(0, raw.rc)
    assert.are.equal("chunked", hdr(raw, "Transfer-Encoding"))
    assert.is_nil(hdr(raw, "Content-Length"))
    assert.are.equal("4\r\nabcd\r\n4\r\nefgh\r\n2\r\nij\r\n0\r\n\r\n", raw.body)
    local decoded = http("GET", srv.url .. "/ch")
    assert.are.equal("abcdefghij", decoded.body)
  end)

  it("cut_chunked stops before the last chunk and closes (curl: partial file)", function()
    srv:script { { chunked = true, chunk_size = 4, body = "abcdefghij", cut_chunked = true } }
    local res = http("GET", srv.url .. "/cut")
    assert.are.equal(18, res.rc, res.err)
    assert.are.equal("abcdefgh", res.body)
  end)

  it("http10 sends a close-delimited HTTP/1.0 response", function()
    srv:script { { http10 = true, body = string.rep("z", 3000) } }
    local res = http("GET", srv.url .. "/h10")
    assert.are.equal(0, res.rc, res.err)
    assert.are.equal("HTTP/1.0", res.version)
    assert.are.equal(200, res.status)
    assert.is_nil(hdr(res, "Content-Length"))
    assert.are.equal(string.rep("z", 3000), res.body)
  end)

  it("sends raw bytes verbatim (duplicate headers, odd status line)", function()
    srv:script {
      { raw = "HTTP/1.1 299 Odd Thing\r\nX-D: 1\r\nX-D: 2\r\nContent-Length: 2\r\n\r\nok" },
      { raw_b64 = Server.b64encode("HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\n\0\255\1") },
    }
    local res = http("GET", srv.url .. "/raw")
    assert.are.equal(299, res.status)
    assert.are.equal("Odd Thing", res.reason)
    assert.are.equal(2, Server.header_count(res, "x-d"))
    assert.are.equal("ok", res.body)
    assert.are.equal("\0\255\1", http("GET", srv.url .. "/raw2").body)
  end)

  it("sends and records non-ASCII bytes exactly (Lua strings are bytes)", function()
    srv:script {
      { body = "\255\0\128", headers = { { "X-Utf8", "caf\195\169" } } },
      { raw = "HTTP/1.1 200 OK\r\nX-Latin: \233\r\nContent-Length: 1\r\n\r\n\255" },
    }
    local r1 = http("GET", srv.url .. "/bytes1", { headers = { "X-Sent: na\195\175ve" } })
    assert.are.equal("\255\0\128", r1.body)
    assert.are.equal("caf\195\169", hdr(r1, "X-Utf8"))
    local r2 = http("GET", srv.url .. "/bytes2?q=\195\169")
    assert.are.equal("\233", hdr(r2, "X-Latin"))
    assert.are.equal("\255", r2.body)
    local log = srv:log()
    assert.are.equal("na\195\175ve", Server.header(log[1], "X-Sent"))
    assert.truthy(log[1].raw_head:find("X-Sent: na\195\175ve\r\n", 1, true))
    assert.are.equal("q=\195\169", log[2].query)
  end)

  it("partial_body declares more than it sends, then closes", function()
    srv:script { { partial_body = { declared = 10 }, body = "abc" } }
    local res = http("GET", srv.url .. "/partial")
    assert.are.equal(18, res.rc, res.err)
    assert.are.equal("10", hdr(res, "Content-Length"))
    assert.are.equal("abc", res.body)
  end)

  it("action reset makes the client see a reset; the request is recorded without its body", function()
    srv:script { { action = "reset" } }
    local res = http("POST", srv.url .. "/reset", { body = "hello" })
    assert.are.equal(56, res.rc, res.err) -- "Recv failure: Connection reset by peer"
    assert.truthy(res.err:find("reset", 1, true), res.err)
    assert.are.equal("", res.raw or res.body or "")
    local r = srv:log()[1]
    assert.are.equal("/reset", r.path)
    assert.are.equal(0, r.body_len)
    assert.are.equal("5", Server.header(r, "Content-Length"))
  end)

  it("action close closes without answering (empty reply); the body is recorded", function()
    srv:script { { action = "close" } }
    local res = http("POST", srv.url .. "/close", { body = "hello" })
    assert.are.equal(52, res.rc, res.err)
    assert.are.equal("hello", srv:log()[1].body)
  end)

  it("action hang never answers", function()
    srv:script { { action = "hang" } }
    local t = timed { "--max-time", "1", srv.url .. "/hang" }
    assert.are.equal(28, t.rc, t.err)
    assert.is_true(t.time >= 0.9)
    assert.are.equal(1, #srv:log())
  end)

  it("delay_ms delays the response", function()
    srv:script { { delay_ms = 400 } }
    local slow = timed { srv.url .. "/slow" }
    local fast = timed { srv.url .. "/fast" }
    assert.are.equal(200, slow.code)
    assert.is_true(slow.time >= 0.39, "slow: " .. slow.time)
    assert.is_true(fast.time < 0.39, "fast: " .. fast.time)
  end)

  it("drip sends the response in small pieces with pauses", function()
    srv:script { { body = string.rep("d", 100), drip = { bytes = 40, interval_ms = 60 } } }
    local t = timed { srv.url .. "/drip" }
    assert.are.equal(200, t.code)
    assert.are.equal(100, t.size)
    -- the response is > 160 bytes (head + body): at least 4 pieces, 3 pauses of 60 ms
    assert.is_true(t.time >= 0.17, "drip took only " .. t.time)
  end)

  it("stall_after_headers sends the head and then nothing", function()
    srv:script { { stall_after_headers = true, body = "never" } }
    local res = http("GET", srv.url .. "/stall", { args = { "--max-time", "1" } })
    assert.are.equal(28, res.rc, res.err)
    assert.are.equal(200, res.status)
    assert.are.equal("5", hdr(res, "Content-Length"))
    assert.are.equal("", res.body)
  end)

  it("body_repeat builds multi-MB bodies", function()
    srv:script { { body = "0123456789", body_repeat = 300000, headers = { { "Content-Type", "text/plain" } } } }
    local res = http("GET", srv.url .. "/big")
    assert.are.equal(0, res.rc)
    assert.are.equal("3000000", hdr(res, "Content-Length"))
    assert.are.equal(3000000, #res.body)
    assert.are.equal("0123456789", res.body:sub(-10))
  end)

  it("read_body half answers after half the body and closes", function()
    srv:script { { status = 503, json = { message = "busy" }, read_body = "half" } }
    write_file(TMP .. ".big", string.rep("b", 200000))
    local t = timed { "-H", "Expect:", "-H", "Content-Type: application/json", "--data-binary", "@" .. TMP .. ".big", srv.url .. "/half" }
    assert.are.equal(503, t.code, t.err)
    local r = srv:log()[1]
    assert.are.equal(100000, r.body_len)
    assert.are.equal("200000", Server.header(r, "Content-Length"))
  end)

  it("idle_close_ms closes an idle connection after the response", function()
    srv:script { { body = "a", idle_close_ms = 100 }, { body = "b" } }
    -- two requests in one curl run, but curl sleeps between them? curl has no pause, so
    -- use two URLs with --rate to space them 2/s (500 ms apart).
    local out, rc = curl { "-o", "/dev/null", "-o", "/dev/null", "--rate", "2/s", srv.url .. "/i1", srv.url .. "/i2" }
    if rc == 2 then -- curl without --rate (older than 7.84): nothing to check here
      pending("curl has no --rate")
      return
    end
    assert.are.equal(0, rc, out)
    local log = srv:log()
    assert.are.equal(2, #log)
    assert.are_not.equal(log[1].conn, log[2].conn)
  end)

  it("answers a malformed request line with 400 and records it with an error", function()
    local res = http("BAD METHOD", srv.url .. "/m")
    assert.are.equal(400, res.status)
    local r = srv:log()[1]
    assert.truthy(r.error)
    assert.truthy(r.raw_head:find("^BAD METHOD /m HTTP/1.1\r\n"))
    assert.are.equal(0, srv:remaining())
  end)

  it("helpers: header/header_count are case-insensitive and nil when absent", function()
    local rec = { headers = { { "X-A", "1" }, { "x-a", "2" }, { "Other", "o" } } }
    assert.are.equal("1", Server.header(rec, "x-A"))
    assert.are.equal(2, Server.header_count(rec, "X-A"))
    assert.is_nil(Server.header(rec, "missing"))
    assert.are.equal(0, Server.header_count(rec, "missing"))
  end)

  it("refused_port gives a port where the connection is refused", function()
    local port = Server.refused_port()
    assert.is_number(port)
    local t = timed { "--max-time", "3", "http://127.0.0.1:" .. port .. "/" }
    assert.are.equal(7, t.rc, t.err)
  end)

  it("match steps: each request takes its own step whatever the order; others fall through", function()
    local steps = {
      { match = "/ids/a", status = 404 },
      { match = "/ids/b", status = 503 },
      { match = "/ids/b", status = 200, body = "b2" },
      { match = "?q=\195\169", status = 202 }, -- exact bytes of the target
    }
    srv:script(steps)
    local b1 = http("GET", srv.url .. "/ids/b")
    assert.are.equal(503, b1.status)
    local x = http("GET", srv.url .. "/ids/x") -- no step matches: the default, nothing consumed
    assert.are.equal(200, x.status)
    assert.are.equal('{"payment_collection":{"id":"paycol_default","amount":5000}}', x.body)
    assert.are.equal(3, srv:remaining())
    assert.are.equal(404, http("GET", srv.url .. "/ids/a").status)
    local b2 = http("GET", srv.url .. "/ids/b")
    assert.are.equal(200, b2.status)
    assert.are.equal("b2", b2.body)
    assert.are.equal(202, http("GET", srv.url .. "/e?q=\195\169").status)
    assert.are.equal(200, http("GET", srv.url .. "/ids/a").status) -- a's only step is gone
    assert.are.equal(0, srv:remaining())
    local scripted = {}
    for i, r in ipairs(srv:log()) do scripted[i] = r.scripted end
    assert.are.same({ true, false, true, true, true, false }, scripted)

    -- the other arrival order gives each id the same answers
    srv:script(steps)
    assert.are.equal(404, http("GET", srv.url .. "/ids/a").status)
    assert.are.equal(503, http("GET", srv.url .. "/ids/b?expand=x").status)
    assert.are.equal("b2", http("GET", srv.url .. "/ids/b").body)

    -- a step without match is still taken by the first request (FIFO among the eligible)
    srv:script { { match = "/only-z", status = 418 }, { status = 201 }, { status = 202 } }
    assert.are.equal(201, http("GET", srv.url .. "/y").status)
    assert.are.equal(418, http("GET", srv.url .. "/only-z").status)
    assert.are.equal(202, http("GET", srv.url .. "/only-z").status)
  end)

  it("rejects a match that is not a non-empty string", function()
    for _, bad in ipairs({ "", 5, true, { "a" } }) do
      local ok, err = pcall(srv.script, srv, { { status = 201 }, { match = bad } })
      assert.is_false(ok)
      assert.truthy(tostring(err):find("step 2: match must be a non-empty string", 1, true), tostring(err))
    end
    assert.are.equal(0, srv:remaining())
  end)

  it("records t_done_ms, in_flight 1 and open_conns 1 for sequential requests on every path", function()
    srv:wait_idle()
    srv:reset()
    srv:script {
      { delay_ms = 150 },
      { action = "close" },
      { action = "reset" },
      { after = "close" },
      { after = "reset" },
      { action = "hang" },
      { stall_after_headers = true, body = "never" },
      { status = 503, read_body = "half" },
      { drip = { bytes = 10, interval_ms = 5 }, body = string.rep("d", 50) },
    }
    write_file(TMP .. ".body", string.rep("h", 20000))
    local runs = {
      { "delay", { srv.url .. "/delay" } },
      { "action close", { srv.url .. "/close" } },
      { "action reset", { srv.url .. "/reset" } },
      { "after close", { srv.url .. "/after-close" } },
      { "after reset", { srv.url .. "/after-reset" } },
      { "action hang", { "--max-time", "0.5", srv.url .. "/hang" } },
      { "stall", { "--max-time", "0.5", srv.url .. "/stall" } },
      { "read_body half", { "-H", "Expect:", "--data-binary", "@" .. TMP .. ".body", srv.url .. "/half" } },
      { "drip", { srv.url .. "/drip" } },
      { "default", { srv.url .. "/default" } },
      { "malformed", { "-X", "BAD METHOD", srv.url .. "/bad" } },
    }
    for _, run_ in ipairs(runs) do
      timed(run_[2])
      local ok, err = pcall(srv.wait_idle, srv, 5)
      assert(ok, run_[1] .. ": " .. tostring(err))
    end
    local log = srv:log()
    assert.are.equal(#runs, #log)
    for i, r in ipairs(log) do
      local what = runs[i][1]
      assert.are.equal(1, r.in_flight, what)
      assert.are.equal(1, r.open_conns, what)
      assert.is_number(r.t_done_ms, what)
      assert.is_true(r.t_done_ms >= r.t_ms, what)
      if i > 1 then assert.is_true(r.t_ms >= log[i - 1].t_done_ms, what) end
    end
    assert.is_true(log[1].t_done_ms >= log[1].t_ms + 150 - 0.002, "delay not in t_done_ms")
    assert.is_true(log[6].t_done_ms >= log[6].t_ms + 400, "hang ended before the client gave up")
    assert.is_true(log[7].t_done_ms >= log[7].t_ms + 400, "stall ended before the client gave up")
    local st = srv:stats()
    assert.are.same({ max_in_flight = 1, max_open_conns = 1, conns_total = #runs, requests = #runs,
      in_flight = 0, open_conns = 0 }, st)
  end)

  it("t_done_ms is nil and the request counts as in flight while it hangs", function()
    srv:wait_idle()
    srv:script { { action = "hang" } }
    run("(curl -q -sS --noproxy '*' --max-time 1.5 -o /dev/null " .. shq(srv.url .. "/hang") .. " >/dev/null 2>&1 &)")
    local r = srv:wait_log(1)[1]
    assert.is_nil(r.t_done_ms)
    local st = srv:stats()
    assert.are.equal(1, st.in_flight)
    assert.are.equal(1, st.open_conns)
    st = srv:wait_idle()
    assert.are.equal(1, st.max_in_flight)
    r = srv:log()[1]
    assert.is_number(r.t_done_ms)
    assert.is_true(r.t_done_ms >= r.t_ms + 1000)
  end)

  -- curl --parallel: one process, up to MAX transfers at once, each on its own connection.
  local function parallel(n, max, path)
    local args = { "--no-progress-meter", "--parallel", "--parallel-immediate", "--parallel-max", tostring(max) }
    for i = 1, n do
      args[#args + 1] = "-o"; args[#args + 1] = "/dev/null"
      args[#args + 1] = srv.url .. path .. i
    end
    local _, rc, err = curl(args)
    return rc, err
  end

  it("parallel delayed requests: the server sees them overlap, and the delays do not queue", function()
    local n, delay = 10, 300
    srv:wait_idle()
    srv:reset()
    local steps = {}
    for i = 1, n do steps[i] = { delay_ms = delay } end
    srv:script(steps)
    local rc, err = parallel(n, n, "/p")
    if rc == 2 then return pending("curl has no --parallel") end
    assert.are.equal(0, rc, err)
    local st = srv:wait_idle()
    assert.are.equal(n, st.requests)
    assert.is_true(st.max_in_flight >= 2 and st.max_in_flight <= n, "max_in_flight " .. st.max_in_flight)
    assert.is_true(st.max_open_conns >= 2 and st.max_open_conns <= n, "max_open_conns " .. st.max_open_conns)
    assert.is_true(st.conns_total >= 2 and st.conns_total <= n, "conns_total " .. st.conns_total)
    local log = srv:log()
    assert.are.equal(n, #log)
    local highest, done = 0, {}
    for i, r in ipairs(log) do
      assert.is_true(r.scripted)
      assert.is_true(r.in_flight >= 1 and r.in_flight <= n)
      assert.is_true(r.t_done_ms >= r.t_ms + delay - 0.002, r.target .. ": done before its delay")
      highest = math.max(highest, r.in_flight)
      done[i] = r.t_done_ms
    end
    assert.are.equal(st.max_in_flight, highest)
    -- delays served one after another would finish >= delay ms apart
    table.sort(done)
    local gap = math.huge
    for i = 2, n do gap = math.min(gap, done[i] - done[i - 1]) end
    assert.is_true(gap < delay / 2, "the delays ran one at a time (closest finishes " .. gap .. " ms apart)")
  end)

  it("parallel requests never show more in flight than the client had outstanding", function()
    local n, max = 20, 4
    srv:wait_idle()
    srv:reset()
    local steps = {}
    for i = 1, n do steps[i] = { delay_ms = 60 } end
    srv:script(steps)
    local rc, err = parallel(n, max, "/q")
    if rc == 2 then return pending("curl has no --parallel") end
    assert.are.equal(0, rc, err)
    local st = srv:wait_idle()
    assert.are.equal(n, st.requests)
    assert.is_true(st.max_in_flight >= 2, "max_in_flight " .. st.max_in_flight)
    assert.is_true(st.max_in_flight <= max, "max_in_flight " .. st.max_in_flight .. " > --parallel-max " .. max)
    for _, r in ipairs(srv:log()) do assert.is_true(r.in_flight <= max) end
  end)

  it("stats count connections, not requests; reset clears them", function()
    srv:wait_idle()
    srv:reset()
    local out, rc = curl { "-o", "/dev/null", "-o", "/dev/null", srv.url .. "/k1", srv.url .. "/k2" } -- one conn
    assert.are.equal(0, rc, out)
    http("GET", srv.url .. "/k3")
    http("GET", srv.url .. "/__ctl/health") -- control requests are not counted
    local st = srv:wait_idle()
    assert.are.same({ max_in_flight = 1, max_open_conns = 1, conns_total = 2, requests = 3,
      in_flight = 0, open_conns = 0 }, st)
    local log = srv:log()
    assert.are.equal(log[1].conn, log[2].conn)
    srv:reset()
    assert.are.same({ max_in_flight = 0, max_open_conns = 0, conns_total = 0, requests = 0,
      in_flight = 0, open_conns = 0 }, srv:stats())
    http("GET", srv.url .. "/after-reset")
    st = srv:stats()
    assert.are.equal(1, st.requests)
    assert.are.equal(1, st.conns_total)
    assert.are.equal(1, st.max_in_flight)
  end)
end)

------------------------------------------------------------------------------------------
describe("server.py over TLS", function()
  it("serves HTTPS with --tls-cert/--tls-key", function()
    local cert, key = TMP .. ".crt", TMP .. ".key"
    local _, rc = run("openssl req -x509 -newkey rsa:2048 -nodes -keyout " .. shq(key) .. " -out " .. shq(cert)
      .. " -days 1 -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 >/dev/null 2>&1")
    if rc ~= 0 then
      pending("openssl not available")
      return
    end
    local srv = start { mode = "script", tls_cert = cert, tls_key = key }
    finally(function()
      srv:stop()
      os.remove(cert)
      os.remove(key)
    end)
    assert.are.equal("https://127.0.0.1:" .. srv.port, srv.url)
    srv:script { { json = { tls = true } } }
    local res = http("GET", srv.url .. "/tls", { args = { "--cacert", cert } })
    assert.are.equal(0, res.rc, res.err)
    assert.are.equal('{"tls":true}', res.body)
    assert.are.equal("/tls", srv:log()[1].path)
    local plain = timed { "--max-time", "3", "http://127.0.0.1:" .. srv.port .. "/plain" }
    assert.are_not.equal(200, plain.code)
  end)
end)

------------------------------------------------------------------------------------------
describe("server.py in store mode (stand-in Medusa v1)", function()
  local srv, base

  setup(function()
    srv = start { mode = "store" }
  end)

  teardown(function()
    if srv then srv:stop() end
  end)

  before_each(function()
    srv:reset()
  end)

  local function fresh(amount)
    local c = srv:new_collection(amount)
    base = srv.url .. "/store/payment-collections/" .. c.id
    return c
  end

  it("is seeded with not_paid collections in a USD region with the manual provider", function()
    local st = srv:store()
    assert.are.equal(3, #st.ids)
    assert.are.equal(3, #st.collections)
    for i, c in ipairs(st.collections) do
      assert.are.equal(st.ids[i], c.id)
      assert.truthy(c.id:match("^paycol_[0-9A-Z]+$"))
      assert.are.equal(33, #c.id) -- "paycol_" + 26
      assert.are.equal("order_edit", c.type)
      assert.are.equal("not_paid", c.status)
      assert.are.equal(5000, c.amount)
      assert.are.equal("usd", c.currency_code)
      assert.are.equal(st.region.id, c.region_id)
    end
    assert.truthy(st.region.id:match("^reg_"))
    assert.are.equal("Stand-in USD", st.region.name)
    assert.are.same({ { id = "manual", is_installed = true } }, st.region.payment_providers)
    assert.are.equal("demo@example.com", st.customer.email)
    local again = srv:store()
    assert.are.same(st.ids, again.ids)
  end)

  it("new_collection creates a fresh not_paid collection with the given amount", function()
    local c = srv:new_collection(7000)
    assert.are.equal(7000, c.amount)
    assert.are.equal("not_paid", c.status)
    assert.are.equal(4, #srv:store().collections)
    assert.are.equal(5000, srv:new_collection().amount)
  end)

  it("a step {default = true, delay_ms = N} is the store's own answer, N ms late", function()
    local c = fresh(4321)
    srv:script { { default = true, delay_ms = 300 }, { default = true } }
    local t = timed { base }
    assert.are.equal(200, t.code)
    assert.is_true(t.time >= 0.29, "took " .. t.time)
    local res = get_json(base)
    assert.are.equal(c.id, res.json.payment_collection.id)
    assert.are.equal(4321, res.json.payment_collection.amount)
    assert.are.equal(0, srv:remaining())
    local log = srv:log()
    assert.are.equal(2, #log)
    assert.is_false(log[1].scripted) -- the store answered it, not a scripted response
    local ok, err = pcall(srv.script, srv, { { default = true, status = 500 } })
    assert.is_false(ok)
    assert.truthy(tostring(err):find("default must be true", 1, true))
  end)

  it("GET: default relations region + payment_sessions, Express headers, recorded shape", function()
    fresh()
    local res = get_json(base)
    assert.are.equal(200, res.status)
    assert.are.equal("application/json; charset=utf-8", hdr(res, "Content-Type"))
    assert.are.equal("Express", hdr(res, "X-Powered-By"))
    assert.truthy(hdr(res, "ETag"):match('^W/"%x+%-[%w%+/]+"$'))
    assert.are.equal("Origin", hdr(res, "Vary"))
    assert.are.equal("true", hdr(res, "Access-Control-Allow-Credentials"))
    assert.truthy(hdr(res, "Set-Cookie"):match("^connect%.sid=s%%3A.+; Path=/; Expires=.+; HttpOnly$"))
    local pc = res.json.payment_collection
    assert.are.same({}, pc.payment_sessions)
    assert.is_nil(pc.region.payment_providers)
    assert.is_nil(pc.created_at) -- the default select leaves it out
    assert.is_nil(shape_diff(recording("02-get-default.json").response.body, res.json))
    -- same body twice -> same ETag; If-None-Match -> 304
    local etag = hdr(res, "ETag")
    assert.are.equal(etag, hdr(get_json(base), "ETag"))
    assert.are.equal(304, http("GET", base, { headers = { "If-None-Match: " .. etag } }).status)
  end)

  it("GET ?expand=region replaces the default relations", function()
    fresh()
    local res = get_json(base .. "?expand=region")
    assert.are.equal(200, res.status)
    assert.is_nil(res.json.payment_collection.payment_sessions)
    assert.is_table(res.json.payment_collection.region)
    assert.is_nil(shape_diff(recording("01-get-expand-region.json").response.body, res.json))
  end)

  it("GET errors: unknown query key 400, unknown relation 500, unknown id 404", function()
    fresh()
    local q = get_json(base .. "?q=x")
    assert.are.equal(400, q.status)
    assert.are.same({ type = "invalid_data", message = "property q should not exist" }, q.json)
    local e = get_json(base .. "?expand=nope")
    assert.are.equal(500, e.status)
    assert.are.equal('{"code":"unknown_error","type":"unknown_error","message":"An unknown error occurred."}', e.body)
    local n = get_json(srv.url .. "/store/payment-collections/paycol_does_not_exist")
    assert.are.equal(404, n.status)
    assert.are.equal('{"type":"not_found","message":"Payment collection with id paycol_does_not_exist was not found"}', n.body)
  end)

  it("POST /sessions creates the manual session, then reuses it", function()
    local c = fresh(7000)
    local res = json_req("POST", base .. "/sessions", { provider_id = "manual" })
    assert.are.equal(200, res.status)
    local pc = res.json.payment_collection
    assert.are.equal(c.id, pc.id)
    assert.are.equal(1, #pc.payment_sessions)
    local s = pc.payment_sessions[1]
    assert.truthy(s.id:match(SESSION_ID))
    assert.are.equal(29, #s.id)
    assert.are.equal("pending", s.status)
    assert.are.equal(7000, s.amount)
    assert.are.equal("manual", s.provider_id)
    assert.are.same({ status = "pending" }, s.data)
    assert.truthy(s.created_at:match("^%d%d%d%d%-%d%d%-%d%dT%d%d:%d%d:%d%d%.%d%d%dZ$"))
    assert.are.same({ { id = "manual", is_installed = true } }, pc.region.payment_providers)
    assert.is_nil(shape_diff(recording("03-manage-session.json").response.body, res.json))
    local again = json_req("POST", base .. "/sessions", { provider_id = "manual" })
    assert.are.equal(200, again.status)
    assert.are.equal(1, #again.json.payment_collection.payment_sessions)
    assert.are.equal(s.id, again.json.payment_collection.payment_sessions[1].id)
  end)

  it("POST /sessions errors as recorded", function()
    fresh()
    local missing = json_req("POST", base .. "/sessions", "{}")
    assert.are.equal(400, missing.status)
    assert.are.same({ type = "invalid_data", message = "provider_id must be a string" }, missing.json)
    local number = json_req("POST", base .. "/sessions", { provider_id = 123 })
    assert.are.same({ type = "invalid_data", message = "provider_id must be a string" }, number.json)
    local stripe = json_req("POST", base .. "/sessions", { provider_id = "stripe" })
    assert.are.equal(400, stripe.status)
    assert.are.same({ type = "invalid_data", message = "Payment provider not found" }, stripe.json)
    local unknown = json_req("POST", srv.url .. "/store/payment-collections/paycol_nope/sessions", { provider_id = "manual" })
    assert.are.equal(404, unknown.status)
    assert.are.same({ type = "not_found", message = "Payment collection with id paycol_nope was not found" }, unknown.json)
    local bad = json_req("POST", base .. "/sessions", '{"provider_id":')
    assert.are.equal(400, bad.status)
    assert.are.equal("text/html; charset=utf-8", hdr(bad, "Content-Type"))
    assert.truthy(bad.body:find("<pre>SyntaxError: Unexpected end of JSON input", 1, true))
  end)

  it("POST /sessions/batch: two sessions, keep by session_id, others deleted", function()
    fresh()
    local two = json_req("POST", base .. "/sessions/batch",
      { sessions = { { provider_id = "manual", amount = 3000 }, { provider_id = "manual", amount = 2000 } } })
    assert.are.equal(200, two.status)
    local ss = two.json.payment_collection.payment_sessions
    assert.are.equal(2, #ss)
    assert.are.equal(3000, ss[1].amount)
    assert.are.equal(2000, ss[2].amount)
    assert.is_nil(shape_diff(recording("10-manage-batch-two-sessions.json").response.body, two.json))
    local keep = json_req("POST", base .. "/sessions/batch",
      { sessions = { { provider_id = "manual", amount = 5000, session_id = ss[1].id } } })
    assert.are.equal(200, keep.status)
    local ks = keep.json.payment_collection.payment_sessions
    assert.are.equal(1, #ks)
    assert.are.equal(ss[1].id, ks[1].id)
    assert.are.equal(5000, ks[1].amount)
    local after = get_json(base).json.payment_collection.payment_sessions
    assert.are.equal(1, #after)
    assert.are.equal(ss[1].id, after[1].id)
  end)

  it("POST /sessions/batch errors as recorded", function()
    fresh()
    local mismatch = json_req("POST", base .. "/sessions/batch", { sessions = { { provider_id = "manual", amount = 1 } } })
    assert.are.equal(500, mismatch.status)
    assert.are.same({ type = "unexpected_state", message = "The sum of sessions is not equal to 5000 on Payment Collection" }, mismatch.json)
    local no_amount = json_req("POST", base .. "/sessions/batch", { sessions = { { provider_id = "manual" } } })
    assert.are.equal(500, no_amount.status)
    assert.are.equal('{"code":"unknown_error","type":"unknown_error","message":"An unknown error occurred."}', no_amount.body)
    local empty = json_req("POST", base .. "/sessions/batch", '{"sessions":[]}')
    assert.are.equal(500, empty.status)
    assert.are.equal("unknown_error", empty.json.code)
    local nope = json_req("POST", base .. "/sessions/batch", { sessions = "nope" })
    assert.are.equal(400, nope.status)
    assert.are.same(recording("17-err-batch-invalid-body.json").response.body, nope.json)
    assert.are.equal(0, #get_json(base).json.payment_collection.payment_sessions)
  end)

  it("POST /sessions/batch/authorize: partially_authorized, then authorized", function()
    fresh()
    local ss = json_req("POST", base .. "/sessions/batch",
      { sessions = { { provider_id = "manual", amount = 3000 }, { provider_id = "manual", amount = 2000 } } }).json.payment_collection.payment_sessions
    local part = json_req("POST", base .. "/sessions/batch/authorize", { session_ids = { ss[1].id } })
    assert.are.equal(200, part.status)
    local pc = part.json.payment_collection
    assert.are.equal("partially_authorized", pc.status)
    assert.are.equal(3000, pc.authorized_amount)
    assert.are.equal(1, #pc.payments)
    assert.truthy(pc.payments[1].id:match("^pay_"))
    assert.are.equal(3000, pc.payments[1].amount)
    assert.are.equal("authorized", pc.payment_sessions[1].status)
    assert.are.equal("pending", pc.payment_sessions[2].status)
    assert.is_nil(pc.region)
    assert.is_nil(shape_diff(recording("11-authorize-batch-partial.json").response.body, part.json))
    local full = json_req("POST", base .. "/sessions/batch/authorize", { session_ids = { ss[2].id } })
    assert.are.equal("authorized", full.json.payment_collection.status)
    assert.are.equal(5000, full.json.payment_collection.authorized_amount)
    assert.are.equal(2, #full.json.payment_collection.payments)
  end)

  it("POST /sessions/batch/authorize errors as recorded", function()
    fresh()
    local unknown = json_req("POST", base .. "/sessions/batch/authorize", { session_ids = { "ps_does_not_exist" } })
    assert.are.equal(400, unknown.status)
    assert.are.same({ type = "not_allowed", message = "You cannot complete a Payment Collection without a payment session." }, unknown.json)
    local bad = json_req("POST", base .. "/sessions/batch/authorize", { session_ids = "x" })
    assert.are.equal(400, bad.status)
    assert.are.same({ type = "invalid_data", message = "session_ids must be an array" }, bad.json)
  end)

  it("POST /sessions/{sid} refreshes: a new session id replaces the old one", function()
    fresh()
    local old = json_req("POST", base .. "/sessions", { provider_id = "manual" }).json.payment_collection.payment_sessions[1]
    local res = http("POST", base .. "/sessions/" .. old.id)
    assert.are.equal(200, res.status)
    local s = cjson.decode(res.body).payment_session
    assert.truthy(s.id:match(SESSION_ID))
    assert.are_not.equal(old.id, s.id)
    assert.are.equal("pending", s.status)
    assert.are.equal(5000, s.amount)
    assert.is_nil(shape_diff(recording("04-refresh-session.json").response.body, cjson.decode(res.body)))
    local now = get_json(base).json.payment_collection.payment_sessions
    assert.are.equal(1, #now)
    assert.are.equal(s.id, now[1].id)
    local gone = http("POST", base .. "/sessions/ps_does_not_exist")
    assert.are.equal(404, gone.status)
    assert.are.same({ type = "not_found", message = "Payment collection related to Payment Session id ps_does_not_exist was not found" },
      cjson.decode(gone.body))
  end)

  it("POST /sessions/{sid}/authorize authorizes; sessions can then no longer be set", function()
    fresh()
    local s = json_req("POST", base .. "/sessions", { provider_id = "manual" }).json.payment_collection.payment_sessions[1]
    local res = json_req("POST", base .. "/sessions/" .. s.id .. "/authorize", "{}")
    assert.are.equal(200, res.status)
    local ps = res.json.payment_session
    assert.are.equal(s.id, ps.id)
    assert.are.equal("authorized", ps.status)
    assert.are.same({ status = "authorized" }, ps.data)
    assert.is_string(ps.payment_authorized_at)
    assert.is_nil(shape_diff(recording("05-authorize-session.json").response.body, res.json))
    local got = get_json(base).json.payment_collection
    assert.are.equal("authorized", got.status)
    assert.is_nil(shape_diff(recording("06-get-after-authorize.json").response.body, { payment_collection = got }))
    local again = json_req("POST", base .. "/sessions", { provider_id = "manual" })
    assert.are.equal(400, again.status)
    assert.are.same({ type = "not_allowed", message = "Cannot set payment sessions for a payment collection with status authorized" }, again.json)
  end)

  it("authorize of an unknown session on a collection without sessions is not_allowed", function()
    fresh()
    local res = http("POST", base .. "/sessions/ps_does_not_exist/authorize")
    assert.are.equal(400, res.status)
    assert.are.same({ type = "not_allowed", message = "You cannot complete a Payment Collection without a payment session." },
      cjson.decode(res.body))
  end)

  it("store auth: session cookie and bearer token", function()
    local auth = srv.url .. "/store/auth"
    local bad = json_req("POST", auth, { email = "demo@example.com", password = "wrong" })
    assert.are.equal(401, bad.status)
    assert.are.equal("Unauthorized", bad.body)
    assert.are.equal("text/plain; charset=utf-8", hdr(bad, "Content-Type"))
    local ok = json_req("POST", auth, { email = "demo@example.com", password = "demo-password" })
    assert.are.equal(200, ok.status)
    assert.are.equal("demo@example.com", ok.json.customer.email)
    assert.truthy(ok.json.customer.id:match("^cus_"))
    local cookie = hdr(ok, "Set-Cookie"):match("^(connect%.sid=[^;]+);")
    assert.truthy(cookie)
    assert.truthy(hdr(ok, "Set-Cookie"):find("; Path=/", 1, true))
    assert.truthy(hdr(ok, "Set-Cookie"):find("HttpOnly", 1, true))
    local me = get_json(auth, { "Cookie: " .. cookie })
    assert.are.equal(200, me.status)
    assert.are.equal("demo@example.com", me.json.customer.email)
    assert.are.equal(401, get_json(auth).status)
    assert.are.equal("Unauthorized", get_json(auth).body)
    local tok = json_req("POST", auth .. "/token", { email = "demo@example.com", password = "demo-password" })
    assert.are.equal(200, tok.status)
    assert.is_string(tok.json.access_token)
    assert.are.equal(200, get_json(auth, { "Authorization: Bearer " .. tok.json.access_token }).status)
    assert.are.equal(401, get_json(auth, { "Authorization: Bearer bogus" }).status)
    assert.are.equal(401, json_req("POST", auth .. "/token", { email = "demo@example.com", password = "x" }).status)
    local out = http("DELETE", auth, { headers = { "Cookie: " .. cookie } })
    assert.are.equal(200, out.status)
    assert.are.equal("{}", out.body)
    assert.are.equal(401, get_json(auth, { "Cookie: " .. cookie }).status)
  end)

  it("payment-collection routes ignore bogus keys and bearer tokens, like the real backend", function()
    fresh()
    assert.are.equal(200, get_json(base, { "x-publishable-api-key: pk_bogus" }).status)
    assert.are.equal(200, get_json(base, { "Authorization: Bearer bogus" }).status)
  end)

  it("scripted steps take priority over the store; the store answers afterwards", function()
    fresh()
    srv:script { { status = 503, json = { message = "busy" } } }
    local first = get_json(base)
    assert.are.equal(503, first.status)
    assert.are.equal("busy", first.json.message)
    assert.is_nil(hdr(first, "X-Powered-By"))
    local second = get_json(base)
    assert.are.equal(200, second.status)
    assert.are.equal(2, #srv:log())
  end)

  it("reset re-seeds the store: same ids, sessions gone, extra collections gone", function()
    local ids = srv:store().ids
    base = srv.url .. "/store/payment-collections/" .. ids[1]
    assert.are.equal(200, json_req("POST", base .. "/sessions", { provider_id = "manual" }).status)
    srv:new_collection()
    srv:reset()
    local st = srv:store()
    assert.are.same(ids, st.ids)
    assert.are.equal(3, #st.collections)
    assert.are.equal(0, #get_json(base).json.payment_collection.payment_sessions)
  end)

  it("unknown routes get Express's HTML 404", function()
    local res = http("GET", srv.url .. "/store/nothing-here")
    assert.are.equal(404, res.status)
    assert.are.equal("text/html; charset=utf-8", hdr(res, "Content-Type"))
    assert.truthy(res.body:find("<pre>Cannot GET /store/nothing-here</pre>", 1, true))
  end)
end)

------------------------------------------------------------------------------------------
describe("server lifecycle", function()
  it("stop() is idempotent and leaves no server process behind", function()
    local srv = start { mode = "script" }
    local dir = srv.dir
    srv:stop()
    srv:stop()
    assert.is_nil(read_file(dir .. "/port"))
    assert.are.equal(7, timed { "--max-time", "3", srv.url .. "/" }.rc)
    for _, pid in ipairs(started_pids) do
      local stat = read_file("/proc/" .. pid .. "/stat")
      local state = stat and stat:match("^%d+ %b() (%a)")
      assert.is_true(stat == nil or state == "Z", "server pid " .. pid .. " still running")
    end
    for _, suffix in ipairs({ ".out", ".err", ".body", ".big" }) do os.remove(TMP .. suffix) end
    os.remove(TMP)
  end)
end)
