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

  it("builds the same map whatever the C core remembers of earlier heads' names", function()
    -- src/transfer.c caches names by spelling, with their rules, per Lua state: every head
    -- below is compared with medusa.headers' map of the same fields, in an order that
    -- hits the cache, overflows it (more names than it keeps) and changes the rules table.
    local Headers = require "medusa.headers"
    local function head(lines)
      return table.concat({ "HTTP/1.1 200 OK", table.concat(lines, "\r\n"), "Connection: close", "Content-Length: 2", "", "ok" }, "\r\n")
    end
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
    for i, case in ipairs(cases) do
      srv:script { { raw = case[1], after = "close" }, { raw = case[1], after = "close" } }
      local mapped = assert(get("/m", { header_rules = case[2] })).headers
      local flat = assert(get("/m")).headers
      assert.are.same(Headers.map(flat, case[2]), mapped, "case " .. i)
    end
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
