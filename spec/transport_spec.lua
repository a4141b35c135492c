-- spec/transport_spec.lua: the libcurl transport's own promises, checked on the C client
-- directly and through a child process where the environment matters (proxies).
local core = require "medusa.core"
local Server = require "support.server"
local H = require "helpers"

describe("the libcurl transport", function()
  local srv, http

  setup(function()
    srv = Server.start { mode = "script" }
  end)
  teardown(function()
    srv:stop()
  end)
  before_each(function()
    srv:reset()
    http = core.http_new()
  end)
  after_each(function()
    http:close()
  end)

  local function get(path, extra)
    local request = { method = "GET", url = srv.url .. path, headers = {} }
    for k, v in pairs(extra or {}) do request[k] = v end
    return http:perform(request)
  end

  it("a URL libcurl refuses is a 'local' failure, and the next request on the client is whole", function()
    assert(get("/before"))
    -- past libcurl's 8,000,000-byte limit on a string option
    local res, err = get("/" .. string.rep("a", 8 * 1000 * 1000 + 10))
    assert.is_nil(res)
    assert.are.equal("local", err.type)
    assert.are.equal("CURLE_BAD_FUNCTION_ARGUMENT", err.code)
    assert.matches("^libcurl refused the request's options", err.message)
    assert(get("/after"))
    local log = srv:log()
    assert.are.equal(2, #log)
    assert.are.equal("/before", log[1].target)
    assert.are.equal("/after", log[2].target)
  end)

  it("a malformed URL is a 'local' failure, not a network one", function()
    local res, err = http:perform { method = "GET", url = "http://127.0.0.1:99999/x", headers = {} }
    assert.is_nil(res)
    assert.are.equal("local", err.type)
    assert.are.equal("CURLE_URL_MALFORMAT", err.code)
    assert.are.same({}, srv:log())
  end)

  it("returns status, headers as a flat list in wire order and spelling, and the body", function()
    srv:script { { status = 201, headers = { { "X-One", "1" }, { "x-two", "2" }, { "X-One", "3" } }, body = "hello" } }
    local res = assert(get("/a"))
    assert.are.equal(201, res.status)
    assert.are.equal("hello", res.body)
    local flat = {}
    for i = 1, #res.headers, 2 do
      if res.headers[i]:lower():sub(1, 2) == "x-" then flat[#flat + 1] = res.headers[i] .. "=" .. res.headers[i + 1] end
    end
    assert.are.same({ "X-One=1", "x-two=2", "X-One=3" }, flat)
  end)

  it("with header_rules, returns the lower-cased map built by those rules, as medusa.headers builds it", function()
    local Headers = require "medusa.headers"
    local long_name = "X-" .. ("Long"):rep(60) -- past the C parser's stack buffer
    local head = table.concat({
      "HTTP/1.1 200 OK",
      "Retry-After: 5", "retry-after: 9",          -- "first": the first one wins
      "Set-Cookie: a=1; Path=/", "SET-COOKIE: b=2", -- "list": every one, in order
      "X-Joined: one", "x-joined: two",             -- no rule: joined with ", "
      "X-Folded: start", "  continued here",        -- obsolete folding continues a value
      "Retry-After: 7", "  folded onto a dropped repeat",
      "Set-Cookie: c=3", "\tfolded cookie",
      long_name .. ": long",
      "Content-Length: 2", "", "ok",
    }, "\r\n")
    srv:script { { raw = head, after = "close" } }
    local res = assert(get("/m", { header_rules = Headers.RULES }))
    local want = {
      ["retry-after"] = "5",
      ["set-cookie"] = { "a=1; Path=/", "b=2", "c=3 folded cookie" },
      ["x-joined"] = "one, two",
      ["x-folded"] = "start continued here",
      [long_name:lower()] = "long",
      ["content-length"] = "2",
    }
    assert.are.same(want, res.headers)
    assert.are.equal("ok", res.body)
    -- the same fields through the Lua builder the cosocket transport uses
    srv:script { { raw = head, after = "close" } }
    local flat = assert(get("/m")).headers
    assert.are.same(want, Headers.map(flat, Headers.RULES))
  end)

  -- A closing response whose head holds `lines`, and a check that the C map of it (with
  -- `rules`) is what medusa.headers makes of the same fields; returns the C map.
  local function head(lines)
    return table.concat({ "HTTP/1.1 200 OK", table.concat(lines, "\r\n"), "Connection: close", "Content-Length: 2", "", "ok" }, "\r\n")
  end
  local function map_like_lua(raw, rules, what)
    local Headers = require "medusa.headers"
    srv:script { { raw = raw, after = "close" }, { raw = raw, after = "close" } }
    local mapped = assert(get("/m", { header_rules = rules })).headers
    local flat = assert(get("/m")).headers
    assert.are.same(Headers.map(flat, rules), mapped, what)
    return mapped
  end

  it("builds the same map whatever the C core remembers of earlier heads' names", function()
    -- src/transfer.c caches names by spelling, with their rules, per Lua state: every head
    -- below is compared with medusa.headers' map of the same fields, in an order that
    -- hits the cache, overflows it (more names than it keeps) and changes the rules table.
    local Headers = require "medusa.headers"
    local spellings = head {
      "Retry-After: 5", "retry-after: 9", "RETRY-AFTER: 1",
      "Set-Cookie: a=1", "set-cookie: b=2", "SET-COOKIE: c=3",
      "X-Joined: one", "x-joined: two", "x-Joined: three",
      "Vary: Origin", "vary: Accept", "Vary: Cookie",
    }
    local many = {}
    for i = 1, 100 do many[#many + 1] = ("X-Many-%d: %d"):format(i, i) end
    for _, i in ipairs { 1, 2, 50, 99, 100 } do many[#many + 1] = ("x-many-%d: again %d"):format(i, i) end
    many[#many + 1] = "Set-Cookie: late=1"
    many[#many + 1] = "set-cookie: late=2"
    many[#many + 1] = "VARY: late" -- a spelling first seen when the cache is full...
    many[#many + 1] = "Vary: later" -- ...then one the cache knows, of the same name
    many = head(many)
    local other_rules = { ["x-joined"] = "first", ["retry-after"] = "list", vary = "first" }
    local cases = {
      { spellings, Headers.RULES }, { spellings, Headers.RULES },
      { many, Headers.RULES }, { many, Headers.RULES }, { spellings, Headers.RULES },
      { spellings, other_rules }, { many, other_rules }, { spellings, Headers.RULES },
    }
    for i, case in ipairs(cases) do map_like_lua(case[1], case[2], "case " .. i) end
  end)

  it("gives each head its own values whatever values the C core remembers from earlier heads", function()
    -- src/transfer.c keeps each cached name's last value and reuses its string when the
    -- bytes are the same: values that differ in one byte, at the length limit of what it
    -- keeps (64) and past it, empty, folded and repeated must still come out as sent.
    local Headers = require "medusa.headers"
    local v64, v65 = ("v"):rep(63) .. "1", ("v"):rep(64) .. "1"
    local heads = {
      head { "X-Val: aaaa", "ETag: W/\"1\"", "X-Long: " .. v64, "X-Empty: ", "Retry-After: 5" },
      head { "X-Val: aaab", "ETag: W/\"1\"", "X-Long: " .. v64:gsub("1$", "2"), "X-Empty: x", "Retry-After: 5" },
      head { "X-Val: aaaa", "etag: W/\"2\"", "X-Long: " .. v65, "X-Empty: ", "Retry-After: 6" },
      head { "X-Val: aaaa", "ETag: W/\"2\"", "X-Long: " .. v65:gsub("1$", "2"), "X-Empty:", "retry-after: 6" },
      head { "X-Val: aa", "  aa", "ETag: W/\"2\"", "ETag: W/\"3\"", "X-Long: " .. v64, "Retry-After: 6", "Retry-After: 7" },
      head { "X-Val: aaaa", "ETag: W/\"2\"", "X-Long: " .. v64, "X-Empty: " },
    }
    local seen = {}
    for i, raw in ipairs(heads) do seen[i] = map_like_lua(raw, Headers.RULES, "head " .. i) end
    assert.are.equal("aaab", seen[2]["x-val"])
    assert.are.equal("aa aa", seen[5]["x-val"])
    assert.are.equal(v65, seen[3]["x-long"])
    assert.are.equal("", seen[3]["x-empty"])
    assert.are.equal("aaaa", seen[1]["x-val"]) -- an earlier map keeps what it was given
  end)

  it("sends each request's own method, body and timeouts, whatever the handle was given before", function()
    -- src/transfer.c sets an option only when it changed since the last request: every
    -- switch between methods, bodies and timeouts below must still reach the wire.
    local calls = {
      { "GET" }, { "POST", "a" }, { "POST", "bb" }, { "DELETE", "{}" }, { "GET" }, { "DELETE", "x" },
      { "DELETE", "yy" }, { "POST", "" }, { "GET" }, { "GET" }, { "POST", "z" }, { "DELETE", "{}" }, { "POST", "w" },
    }
    for _, call in ipairs(calls) do
      assert(http:perform { method = call[1], url = srv.url .. "/m", headers = {}, body = call[2] })
    end
    local log = srv:log()
    assert.are.equal(#calls, #log)
    for i, call in ipairs(calls) do
      assert.are.equal(call[1], log[i].method, "request " .. i)
      assert.are.equal(call[2] or "", log[i].body or "", "request " .. i)
      assert.are.equal(call[2] and tostring(#call[2]) or nil, Server.header(log[i], "Content-Length"), "request " .. i)
    end
    -- timeouts: a slow answer within the first, past the second, within the first again
    srv:script { { delay_ms = 400 }, { delay_ms = 400 }, { delay_ms = 400 } }
    assert(get("/slow", { timeout_ms = 5000 }))
    local res, err = get("/slow", { timeout_ms = 150 })
    assert.is_nil(res)
    assert.are.equal("timeout", err.type)
    assert(get("/slow", { timeout_ms = 5000, connect_timeout_ms = 3000 }))
  end)

  it("refuses header_rules that are not a table, before sending anything", function()
    assert.has_error(function() get("/m", { header_rules = "first" }) end)
    assert.are.equal(0, #srv:log())
  end)

  it("leaves the path as it is (no dot-segment folding)", function()
    assert(get("/a/../b/./c"))
    assert.are.equal("/a/../b/./c", srv:log()[1].target)
  end)

  it("refuses every protocol but http and https", function()
    for _, url in ipairs { "file:///etc/passwd", "ftp://127.0.0.1/", "gopher://127.0.0.1/", "dict://127.0.0.1/" } do
      local res, err = http:perform { method = "GET", url = url, headers = {} }
      assert.is_nil(res)
      assert.are.equal("CURLE_UNSUPPORTED_PROTOCOL", err.code, url)
    end
  end)

  it("sends an empty header value as an empty header, and no Expect or chunking for large bodies", function()
    local body = string.rep("x", 200000)
    assert(http:perform { method = "POST", url = srv.url .. "/p", headers = { { "X-Empty", "" } }, body = body })
    local r = srv:log()[1]
    assert.are.equal("", H.header(r, "X-Empty"))
    assert.is_nil(H.header(r, "Expect"))
    assert.is_nil(H.header(r, "Transfer-Encoding"))
    assert.are.equal("200000", H.header(r, "Content-Length"))
    assert.are.equal(200000, r.body_len)
  end)

  it("sends DELETE with its body", function()
    assert(http:perform { method = "DELETE", url = srv.url .. "/d", headers = {}, body = "{}" })
    local r = srv:log()[1]
    assert.are.equal("DELETE", r.method)
    assert.are.equal("{}", r.body)
  end)

  it("refuses header lines that could split the request", function()
    for _, pair in ipairs { { "X", "a\r\nB: c" }, { "X\n", "a" }, { "X:Y", "a" }, { "", "a" }, { "X", "a\0b" } } do
      assert.has_error(function()
        http:perform { method = "GET", url = srv.url .. "/h", headers = { pair } }
      end)
    end
    assert.are.equal(0, #srv:log())
  end)

  it("reports a head cut before its blank line as a partial response, not a success", function()
    srv:script { { raw = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n", after = "close" } }
    local res, err = get("/cut")
    assert.is_nil(res)
    assert.are.equal("network", err.type)
    assert.are.equal("CURLE_PARTIAL_FILE", err.code)
    assert.are.equal(200, err.status)
    srv:script { { raw = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}" } }
    assert.are.equal("{}", assert(get("/whole")).body)
  end)

  it("does not follow redirects", function()
    srv:script { { status = 301, headers = { { "Location", "/elsewhere" } }, body = "" } }
    local res = assert(get("/r"))
    assert.are.equal(301, res.status)
    assert.are.equal(1, #srv:log())
  end)

  it("stops reading at max_response_bytes, before the body when Content-Length says so", function()
    srv:script { { status = 200, body = "y", body_repeat = 100000 } }
    local res, err = get("/big", { max_response_bytes = 1000 })
    assert.is_nil(res)
    assert.are.equal("too_large", err.type)
    assert.are.equal(200, err.status)
  end)

  it("counts a chunked body against max_response_bytes too", function()
    srv:script { { status = 200, body = "z", body_repeat = 100000, chunked = true } }
    local res, err = get("/chunked", { max_response_bytes = 1000 })
    assert.is_nil(res)
    assert.are.equal("too_large", err.type)
    srv:script { { status = 200, body = "z", body_repeat = 999, chunked = true } }
    assert.are.equal(999, #assert(get("/chunked", { max_response_bytes = 1000 })).body)
  end)

  it("honours the proxy environment variables as curl does", function()
    local script = os.tmpname()
    local f = assert(io.open(script, "w"))
    f:write([[
      local Medusa = require "medusa"
      local m = Medusa.new { baseUrl = "http://shop.invalid:9000" }
      local res, err = m.paymentCollections.retrieve("p")
      io.write(res and "ok" or tostring(err))
    ]])
    f:close()
    local function run(env)
      local p = io.popen(("env %s lua5.4 %s 2>&1"):format(env, script))
      local out = p:read("*a")
      p:close()
      return out
    end
    assert.are.equal("ok", run("http_proxy=" .. srv.url))
    assert.are.equal("http://shop.invalid:9000/store/payment-collections/p", srv:log()[1].target)
    srv:reset()
    -- no_proxy for that host: curl goes direct, and the .invalid name cannot resolve.
    assert.matches("network", run("http_proxy=" .. srv.url .. " no_proxy=shop.invalid"))
    assert.are.equal(0, #srv:log())
    os.remove(script)
  end)

  it("close is idempotent, and a closed client raises", function()
    local h = core.http_new()
    h:close()
    h:close()
    assert.matches("closed", tostring(h))
    assert.has_error(function() h:perform { method = "GET", url = srv.url, headers = {} } end,
      "medusa: attempt to use a closed client")
  end)
end)

-- The C client hands libcurl its URL as a CURLU handle that keeps the origin parsed and takes
-- only the new path and query when nothing else changed (src/transfer.c: set_url). Whatever
-- came before on the same client, every request must go out exactly as a fresh client sends
-- it: same target bytes, same Host, same server.
describe("the libcurl transport's URL handle", function()
  local srv, srv2

  setup(function()
    srv = Server.start { mode = "script" }
    srv2 = Server.start { mode = "script" }
  end)
  teardown(function()
    srv:stop()
    srv2:stop()
  end)
  before_each(function()
    srv:reset()
    srv2:reset()
  end)

  -- Sends every url through `http` in order (a new client for each when fresh); returns
  -- what came of each ("ok" or its failure code) and what each server saw, in order, as
  -- "<Host> <target>" lines. Each server's log is read once, at the end.
  local function send_all(http, urls, fresh)
    srv:reset()
    srv2:reset()
    local outcome = {}
    for i, url in ipairs(urls) do
      local h = fresh and core.http_new() or http
      local res, err = h:perform { method = "GET", url = url, headers = {} }
      if fresh then h:close() end
      outcome[i] = res and "ok" or tostring(err.code)
    end
    local seen = { outcome = outcome }
    for name, server in pairs { srv = srv, srv2 = srv2 } do
      local lines = {}
      for _, rec in ipairs(server:log()) do lines[#lines + 1] = Server.header(rec, "Host") .. " " .. rec.target end
      seen[name] = lines
    end
    return seen
  end

  local function reference(urls) return send_all(nil, urls, true) end

  local TARGETS = {
    "/a", "/b?x=1", "/c?x=1?y=2", "/d%2Fe", "/f%2fg", "/h%20i?q=%41", "/j?", "/k/../l", "/m//n",
    "/o;p=1,q@r:s!$&'()*+", "/t?u=%5Bv%5D&w=%5b", "/w?x=y#frag", "/%7E~", "/", "/x/./y/", "/z?%",
    "/q?a=%C3%A9", "/p%zz", "/" .. ("s"):rep(600) .. "?long=" .. ("v"):rep(600),
  }

  it("sends each target as a fresh client does, whatever target came before", function()
    local urls = {}
    for _, t in ipairs(TARGETS) do urls[#urls + 1] = srv.url .. t end
    for i = #TARGETS, 1, -1 do urls[#urls + 1] = srv.url .. TARGETS[i] end
    local want = reference(urls)
    assert.are.equal("127.0.0.1:" .. srv.port .. " /d%2Fe", want.srv[4]) -- upper-case hex kept
    assert.are.equal("127.0.0.1:" .. srv.port .. " /k/../l", want.srv[8]) -- dot segments kept
    assert.are.equal(2 * #TARGETS, #want.srv)
    local http = core.http_new()
    assert.are.same(want, send_all(http, urls))
    http:close()
  end)

  it("follows a change of server, host spelling or scheme between requests", function()
    local localhost = "http://localhost:" .. srv.port
    local urls = {
      srv.url .. "/one", srv2.url .. "/two", srv2.url .. "/two?b", localhost .. "/three", srv.url .. "/four",
      "http://127.0.0.1:" .. Server.refused_port() .. "/refused", srv.url .. "/five",
      "http://127.0.0.1:99999/malformed", srv.url .. "/six", "HTTP://127.0.0.1:" .. srv.port .. "/seven",
      srv.url .. "/eight", srv.url .. "/eight",
      -- an authority that ends at '?', not '/': "?q=" is no part of the origin
      srv.url .. "?q=/nine", srv.url .. "?q=/ten",
    }
    local want = reference(urls)
    assert.are.same({ "127.0.0.1:" .. srv2.port .. " /two", "127.0.0.1:" .. srv2.port .. " /two?b" }, want.srv2)
    assert.are.equal("localhost:" .. srv.port .. " /three", want.srv[2])
    assert.are.equal("CURLE_COULDNT_CONNECT", want.outcome[6])
    assert.are.equal("CURLE_URL_MALFORMAT", want.outcome[8])
    assert.are.equal("127.0.0.1:" .. srv.port .. " /?q=/ten", want.srv[#want.srv])
    local http = core.http_new()
    assert.are.same(want, send_all(http, urls))
    http:close()
  end)

  it("agrees with a fresh client on 300 random targets sent one after another", function()
    -- Bytes where parts and a whole parse could differ: escapes in both cases, '?', '#',
    -- dots, slashes, sub-delimiters.
    local alphabet = { "a", "Z", "0", "9", "/", "/", "?", "=", "&", "%", "%2F", "%2f", "%aF", ".", "..", "-",
                       "~", "+", ",", ";", "@", ":", "#", "!", "*" }
    math.randomseed(20261202)
    local urls = {}
    for i = 1, 300 do
      local parts = { "/" }
      for _ = 1, math.random(0, 12) do parts[#parts + 1] = alphabet[math.random(#alphabet)] end
      urls[i] = (i % 7 == 0 and srv2.url or srv.url) .. table.concat(parts)
    end
    local want = reference(urls)
    local http = core.http_new()
    local got = send_all(http, urls)
    http:close()
    assert.are.same(want.outcome, got.outcome)
    for _, name in ipairs { "srv", "srv2" } do
      assert.is_true(#want[name] > 30)
      for i = 1, #want[name] do assert.are.equal(want[name][i], got[name][i], name .. " request " .. i) end
      assert.are.equal(#want[name], #got[name])
    end
  end)
end)
