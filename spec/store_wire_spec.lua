-- spec/store_wire_spec.lua: every store method sends, through medusa-lua, the request the
-- real medusa-js 6.1.10 sends for the same call. The calls are spec/wire/calls.json (one
-- list for both sides); what medusa-js sent for each is the recording
-- spec/support/fixtures/medusa-js-store-wire.json (spec/wire/record_medusa_js.js, `make
-- record-wire`), so this suite needs no node. Each case runs against the scripted server and
-- its request line, header list (order and spelling) and body bytes must equal the
-- recording's, but for the differences in ALLOWED below.
local Medusa = require "medusa"
local json = require "medusa.json"
local Resources = require "medusa.resources"
local Resource = require "medusa.resource"
local Server = require "support.server"
local H = require "helpers"

-- Lua 5.1 and LuaJIT have the global, 5.4 only table.unpack.
local unpack = table.unpack or rawget(_G, "unpack")

-- medusa-lua's own decoder: it keeps integers and empty arrays, which lua-cjson under
-- Lua 5.4 turns into floats and objects.
local function load(path)
  return json.decode(assert(Server.read_file(path), "cannot read " .. path))
end
local CALLS = load("spec/wire/calls.json")
local FIXTURE = load("spec/support/fixtures/medusa-js-store-wire.json")

-- The only ways a medusa-lua request may differ from medusa-js's, each with its reason.
-- The last test checks that every one is still needed by some case.
local ALLOWED = {
  user_agent = "User-Agent names the client that sent it: medusa-lua/<v> libcurl/<v> instead of axios/0.24.0",
  host = "Host names the server each side was sent to (each is compared to its own); libcurl writes it first, Node last",
  connection = "libcurl sends no Connection header (HTTP/1.1 keeps the connection alive anyway); Node sends keep-alive",
  idempotency_key = "Idempotency-Key is a fresh random UUID v4 on both sides: its place and format are compared, not its value",
  bare_query = "an empty query adds no bare '?'; medusa-js appends one whenever a query object is passed (lookupOrder: always)",
  id_encoding = "ids are percent-encoded as path segments (all but A-Z a-z 0-9 - . _ ~), medusa-js sends them raw: "
    .. "the paths must be equal once percent-decoded",
  publishable_key = "setPublishableKey sets this client's key, over the config's; medusa-js's process-wide key loses to a config key",
  header_spelling = "axios respells a caller's accept or content-type as Accept or Content-Type; medusa-lua keeps the "
    .. "caller's spelling (header names are case-insensitive)",
}

local JS_USER_AGENT = "axios/0.24.0"

---------------------------------------------------------------------------------------
-- The registry and the cases
---------------------------------------------------------------------------------------

-- Every method the registry declares, nested resources included: {["carts.lineItems.create"] = route}.
-- Methods that only change client state (auth.setToken) send nothing and have no medusa-js twin.
local function registry_methods()
  local methods = {}
  local function walk(prefix, spec)
    for name, decl in pairs(spec.methods) do
      if not decl.local_call then methods[prefix .. "." .. name] = decl end
    end
    for name, child in pairs(spec.resources or {}) do walk(prefix .. "." .. name, child) end
  end
  for name, spec in pairs(Resources.list) do walk(name, spec) end
  return methods
end
local REGISTRY = registry_methods()

local function sorted_keys(set)
  local keys = {}
  for k in pairs(set) do keys[#keys + 1] = k end
  table.sort(keys)
  return keys
end

-- The decoder marks arrays; a Lua caller writes plain tables ({} for an empty list). The
-- calls are made with plain tables, so that an empty list goes out as [] only because the
-- route declares that field an array, which is part of what is checked.
local function plain(value)
  if type(value) ~= "table" then return value end
  local copy = {}
  for k, v in pairs(value) do copy[k] = plain(v) end
  return copy
end

-- How many arguments a method takes before customHeaders.
local function arity(decl)
  return #Resource.arguments(decl) - 1
end

-- Sends one case through a fresh client (nothing carries over from another case) and
-- returns what the server received, in the shape of the recording.
local function send(case, srv)
  srv:reset()
  local config = plain(CALLS.configs[case.config or "default"])
  config.baseUrl = srv.url
  local medusa = Medusa.new(config)
  if case.setPublishableKey ~= nil then medusa.setPublishableKey(case.setPublishableKey) end
  local owner = medusa
  for part in case.resource:gmatch("[^.]+") do owner = owner[part] end
  local args, n = {}, #case.args
  for i = 1, n do args[i] = plain(case.args[i]) end
  if case.customHeaders then
    n = arity(REGISTRY[case.resource .. "." .. case.method]) + 1
    args[n] = plain(case.customHeaders)
  end
  local result, err = owner[case.method](unpack(args, 1, n))
  medusa:close()
  assert(result, err and tostring(err))
  local log = srv:log()
  assert(#log == 1, ("%s: expected one request, the server got %d"):format(case.id, #log))
  local r = log[1]
  return {
    method = r.method, target = r.target, version = r.version, headers = r.headers,
    body = Server.b64decode(r.body_b64 or ""),
  }
end

-- The recording of a case, in the same shape.
local function recorded(i)
  local r = FIXTURE.cases[i].requests[1]
  return { method = r.method, target = r.target, version = "HTTP/" .. r.version, headers = r.headers, body = r.body }
end

---------------------------------------------------------------------------------------
-- The comparison
---------------------------------------------------------------------------------------

local function unescape(s)
  return (s:gsub("%%(%x%x)", function(hex) return string.char(tonumber(hex, 16)) end))
end

-- A path medusa-lua built: unreserved bytes, '/' and upper-case %XX escapes only.
local function encoded_path(path)
  return not path:gsub("%%[%dA-F][%dA-F]", ""):find("[^%w%-%._~/]")
end

-- Header lines "Name: value" in wire order, without Host and Connection (returned apart),
-- with the values that are allowed to differ replaced by what they stand for.
local function header_lines(headers, user_agent, used)
  local lines, host, connection = {}, {}, {}
  for _, h in ipairs(headers) do
    local name, value = h[1], h[2]
    local lower = name:lower()
    if lower == "host" then
      host[#host + 1] = value
    elseif lower == "connection" then
      connection[#connection + 1] = value
    else
      if lower == "user-agent" and value == user_agent then
        value, used.user_agent = "<the client>", true
      elseif lower == "idempotency-key" and value:match(H.UUID_V4) then
        value, used.idempotency_key = "<a UUID v4>", true
      end
      lines[#lines + 1] = { name = name, value = value }
    end
  end
  return lines, host, connection
end

local CANONICAL = { accept = "Accept", ["content-type"] = "Content-Type" }

-- Whether the case's call or config headers spell a header name this way.
local function caller_spelled(case, name)
  local config = CALLS.configs[case.config or "default"].customHeaders
  return (case.customHeaders and case.customHeaders[name]) ~= nil or (config and config[name]) ~= nil
end

local function show(lines)
  local out = {}
  for i, l in ipairs(lines) do out[i] = l.name .. ": " .. l.value end
  return table.concat(out, "\n    ")
end

-- Compares medusa-lua's request with medusa-js's for a case: a list of what differs
-- (empty when nothing does beyond ALLOWED) and the set of ALLOWED keys this case needed.
local function compare(case, js, lua, port)
  local problems, used = {}, {}
  local function problem(fmt, ...) problems[#problems + 1] = fmt:format(...) end

  if js.method ~= lua.method then problem("method: medusa-js %s, medusa-lua %s", js.method, lua.method) end
  if js.version ~= lua.version then problem("version: medusa-js %s, medusa-lua %s", js.version, lua.version) end
  local js_path, js_query = js.target:match("^([^?]*)(.*)$")
  local lua_path, lua_query = lua.target:match("^([^?]*)(.*)$")
  if js_query == "?" and lua_query == "" then js_query, used.bare_query = "", true end
  if js_path ~= lua_path and unescape(js_path) == unescape(lua_path) and encoded_path(lua_path) then
    js_path, used.id_encoding = lua_path, true
  end
  if js_path .. js_query ~= lua_path .. lua_query then
    problem("target: medusa-js %s, medusa-lua %s", js.target, lua.target)
  end

  local js_lines, js_host, js_connection = header_lines(js.headers, JS_USER_AGENT, used)
  local lua_lines, lua_host, lua_connection = header_lines(lua.headers, H.USER_AGENT, used)
  if not (#js_host == 1 and js_host[1]:match("^127%.0%.0%.1:%d+$")) then
    problem("medusa-js Host: %s", table.concat(js_host, ", "))
  end
  if not (#lua_host == 1 and lua_host[1] == "127.0.0.1:" .. port) then
    problem("medusa-lua Host: %s (the server is on port %d)", table.concat(lua_host, ", "), port)
  end
  used.host = true
  if not (#js_connection == 1 and js_connection[1] == "keep-alive") then
    problem("medusa-js Connection: %s", table.concat(js_connection, ", "))
  end
  if #lua_connection ~= 0 then problem("medusa-lua Connection: %s", table.concat(lua_connection, ", ")) end
  used.connection = true

  local config_key = CALLS.configs[case.config or "default"].publishableApiKey
  local same = #js_lines == #lua_lines
  for i = 1, math.max(#js_lines, #lua_lines) do
    local a, b = js_lines[i], lua_lines[i]
    if a and b and (a.name ~= b.name or a.value ~= b.value) then
      local lower = a.name:lower()
      if lower == b.name:lower() and a.value == b.value and a.name == CANONICAL[lower] and caller_spelled(case, b.name) then
        used.header_spelling = true
      elseif lower == "x-publishable-api-key" and a.name == b.name and case.setPublishableKey and config_key
        and a.value == config_key and b.value == case.setPublishableKey then
        used.publishable_key = true
      else
        same = false
      end
    end
  end
  if not same then
    problem("headers:\n  medusa-js\n    %s\n  medusa-lua\n    %s", show(js_lines), show(lua_lines))
  end

  if js.body ~= lua.body then problem("body: medusa-js %q, medusa-lua %q", js.body, lua.body) end
  return problems, used
end

local function assert_same_request(case, js, lua, port)
  local problems, used = compare(case, js, lua, port)
  assert(#problems == 0, ("%s: medusa-lua's request differs from medusa-js's:\n%s")
    :format(case.id, table.concat(problems, "\n")))
  return used
end

---------------------------------------------------------------------------------------

describe("store requests, as medusa-js 6.1.10 sends them", function()
  local srv
  -- [case index] = the ALLOWED keys its comparison needed (filled as the cases run).
  local needed = {}

  setup(function()
    srv = Server.start { mode = "script" }
  end)
  teardown(function()
    srv:stop()
  end)

  local function run(i)
    local case = CALLS.cases[i]
    needed[i] = assert_same_request(case, recorded(i), send(case, srv), srv.port)
  end

  describe("the case list and its recording", function()
    it("the recording is of this case list: the same cases in the same order, one request each", function()
      assert.are.same(CALLS.configs, FIXTURE.configs)
      assert.are.equal(#CALLS.cases, #FIXTURE.cases)
      for i, case in ipairs(CALLS.cases) do
        local rec = FIXTURE.cases[i]
        assert.are.same(case, rec.case, ("case %d (%s) changed since it was recorded: make record-wire"):format(i, case.id))
        assert.are.equal(case.id, rec.id)
        assert.are.equal(1, #rec.requests, case.id .. ": medusa-js sent " .. #rec.requests .. " requests")
      end
      assert.are.equal("6.1.10", FIXTURE.recorded_with["@medusajs/medusa-js"])
    end)

    it("names every method the registry declares, and only those", function()
      local called = {}
      for _, case in ipairs(CALLS.cases) do
        local name = case.resource .. "." .. case.method
        assert(REGISTRY[name], case.id .. ": the registry declares no " .. name)
        called[name] = true
      end
      local missing = {}
      for name in pairs(REGISTRY) do
        if not called[name] then missing[#missing + 1] = name end
      end
      table.sort(missing)
      assert(#missing == 0, "no case calls " .. table.concat(missing, ", "))
    end)

    it("the registry declares exactly medusa-js's store methods: 64, one of them reachable twice", function()
      assert.are.same(FIXTURE.store_methods, sorted_keys(REGISTRY))
      -- customers.paymentMethods is medusa-js's PaymentMethodsResource again, under customers.
      assert.are.equal(REGISTRY["paymentMethods.list"], REGISTRY["customers.paymentMethods.list"])
      local distinct, n = {}, 0
      for _, decl in pairs(REGISTRY) do
        if not distinct[decl] then distinct[decl], n = true, n + 1 end
      end
      assert.are.equal(64, n)
    end)

    it("every method takes as many arguments before customHeaders as medusa-js's", function()
      for i, case in ipairs(CALLS.cases) do
        local decl = REGISTRY[case.resource .. "." .. case.method]
        assert.are.equal(FIXTURE.cases[i].arity, arity(decl), case.id .. ": " .. Resource.signature(case.method, decl))
      end
    end)
  end)

  describe("the comparison", function()
    local function find(id)
      for i, case in ipairs(CALLS.cases) do
        if case.id == id then return i, case end
      end
      error("no case " .. id)
    end

    local function copy(request)
      local headers = {}
      for i, h in ipairs(request.headers) do headers[i] = { h[1], h[2] } end
      return { method = request.method, target = request.target, version = request.version, headers = headers, body = request.body }
    end

    local MUTATIONS = {
      { "the method", function(r) r.method = "PUT" end },
      { "the HTTP version", function(r) r.version = "HTTP/1.0" end },
      { "a path byte", function(r) r.target = r.target:gsub("carts", "cart", 1) end },
      { "a lower-case escape", function(r) r.target = r.target .. "%2f" end },
      { "a bare '?' from medusa-lua", function(r) r.target = r.target .. "?" end },
      { "the query", function(r) r.target = r.target .. "?x=1" end },
      { "a header value", function(r) r.headers[3][2] = r.headers[3][2] .. "x" end },
      { "a header's spelling", function(r) r.headers[4][1] = r.headers[4][1]:upper() end },
      { "Content-Type's spelling", function(r) r.headers[3][1] = "content-type" end },
      { "two headers' order", function(r) r.headers[3], r.headers[4] = r.headers[4], r.headers[3] end },
      { "a missing header", function(r) table.remove(r.headers, 3) end },
      { "an extra header", function(r) table.insert(r.headers, 3, { "X-Extra", "1" }) end },
      { "a wrong Host port", function(r) r.headers[1][2] = "127.0.0.1:1" end },
      { "a Connection header", function(r) r.headers[#r.headers + 1] = { "Connection", "keep-alive" } end },
      { "an Idempotency-Key that is no UUID v4", function(r)
        for _, h in ipairs(r.headers) do
          -- the version nibble: 4 becomes 1
          if h[1] == "Idempotency-Key" then h[2] = h[2]:sub(1, 14) .. "1" .. h[2]:sub(16) end
        end
      end },
      { "a body byte", function(r) r.body = r.body:gsub("2", "3", 1) end },
    }

    -- Each mutation of a request medusa-lua really sent must make the comparison fail. The
    -- case is a POST with config and call headers and an Idempotency-Key.
    it("finds each kind of difference it is meant to find", function()
      local i, case = find("carts.create keyed with items")
      local lua = send(case, srv)
      local js = recorded(i)
      assert.are.same({}, (compare(case, js, lua, srv.port)))
      for _, m in ipairs(MUTATIONS) do
        local mutated = copy(lua)
        m[2](mutated)
        assert(#compare(case, js, mutated, srv.port) > 0, "a change of " .. m[1] .. " went unnoticed")
      end
    end)

    it("allows id encoding only for the same id, bare '?' only for an empty query", function()
      local i, case = find("carts.deleteDiscount code with space and %")
      local lua = send(case, srv)
      local _, used = compare(case, recorded(i), lua, srv.port)
      assert.is_true(used.id_encoding)
      lua.target = lua.target:gsub("SUMMER", "WINTER")
      assert(#compare(case, recorded(i), lua, srv.port) > 0, "another id passed as an encoding difference")

      i, case = find("collections.list empty query")
      lua = send(case, srv)
      _, used = compare(case, recorded(i), lua, srv.port)
      assert.is_true(used.bare_query)
      local js = recorded(i)
      js.target = js.target .. "x=1"
      assert(#compare(case, js, lua, srv.port) > 0, "a dropped query passed as a bare '?'")
    end)
  end)

  describe("each case", function()
    for i, case in ipairs(CALLS.cases) do
      it(case.id, function() run(i) end)
    end
  end)

  it("every allowed difference is needed by some case, and only those listed are allowed", function()
    local all = {}
    for i = 1, #CALLS.cases do
      if not needed[i] then run(i) end -- when --filter left it out
      for key in pairs(needed[i]) do all[key] = true end
    end
    assert.are.same(sorted_keys(ALLOWED), sorted_keys(all))
  end)
end)
