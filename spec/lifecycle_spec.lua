-- spec/lifecycle_spec.lua: clients over their whole life (issue 3): many in one Lua state,
-- used from several coroutines, close() then use, __gc and __close in the middle of their
-- life, and require twice. This process's TCP connections are counted (/proc/<pid>/fd
-- against /proc/net/tcp), so a leaked or early-closed connection shows.
local Medusa = require "medusa"
local Server = require "support.server"

local function read_file(path)
  local f = io.open(path, "rb")
  if not f then return nil end
  local s = f:read("*a")
  f:close()
  return s
end

local PID = (read_file("/proc/self/stat") or ""):match("^(%d+)")

-- TCP connections this Lua process holds (each live keep-alive connection is one; libcurl's
-- internal socketpairs are not TCP and not counted).
local function open_sockets()
  local tcp = {}
  for _, table_file in ipairs { "/proc/net/tcp", "/proc/net/tcp6" } do
    for line in (read_file(table_file) or ""):gmatch("[^\n]+") do
      local inode = line:match("^%s*%d+:%s+%S+%s+%S+%s+%S+%s+%S+%s+%S+%s+%S+%s+%S+%s+%S+%s+(%d+)")
      if inode and inode ~= "0" then tcp[inode] = true end
    end
  end
  local n = 0
  for inode in Server.run("ls -l /proc/" .. PID .. "/fd 2>/dev/null"):gmatch("socket:%[(%d+)%]") do
    if tcp[inode] then n = n + 1 end
  end
  return n
end

local function full_gc()
  collectgarbage()
  collectgarbage()
end

describe("client lifecycle", function()
  local srv

  setup(function()
    assert(PID, "needs /proc")
    srv = Server.start { mode = "script" }
  end)
  teardown(function()
    srv:stop()
  end)
  before_each(function()
    srv:reset()
    full_gc()
  end)

  it("many clients in one state: independent connections, all released by close and by GC", function()
    local baseline = open_sockets()
    local clients = {}
    for i = 1, 100 do
      clients[i] = Medusa.new { baseUrl = srv.url, customHeaders = { ["X-Client"] = tostring(i) } }
      assert(clients[i].paymentCollections.retrieve("paycol_" .. i))
    end
    assert.are.equal(baseline + 100, open_sockets(), "one kept-alive connection per client")
    -- Closing one leaves the others working, on their own connections.
    clients[50]:close()
    assert.are.equal(baseline + 99, open_sockets())
    for i = 1, 100, 7 do
      if i ~= 50 then assert(clients[i].paymentCollections.retrieve("again_" .. i)) end
    end
    local log = srv:log()
    local conns = {}
    for _, r in ipairs(log) do
      local who = tonumber(require("helpers").header(r, "X-Client"))
      conns[who] = conns[who] or r.conn
      assert.are.equal(conns[who], r.conn, "client " .. who .. " changed connection")
    end
    for i = 1, 50 do clients[i]:close() end
    assert.are.equal(baseline + 50, open_sockets())
    clients = nil -- luacheck: ignore 311 (drops the last reference for the GC)
    full_gc()
    assert.are.equal(baseline, open_sockets(), "garbage collection left connections open")
  end)

  describe("coroutines", function()
    it("clients used from several coroutines, interleaved, one client shared by all", function()
      local shared = Medusa.new { baseUrl = srv.url }
      local own = {}
      local results = {}
      local workers = {}
      for w = 1, 4 do
        own[w] = Medusa.new { baseUrl = srv.url }
        workers[w] = coroutine.create(function()
          for round = 1, 3 do
            local id = ("w%d_r%d"):format(w, round)
            local a = assert(shared.paymentCollections.retrieve(id))
            coroutine.yield()
            local b = assert(own[w].paymentCollections.managePaymentSession(id, { provider_id = "manual" }))
            results[#results + 1] = id
            assert.are.equal(200, a.response.status)
            assert.are.equal(200, b.response.status)
            coroutine.yield()
          end
        end)
      end
      -- Round-robin until every worker is done.
      local alive = #workers
      while alive > 0 do
        alive = 0
        for _, co in ipairs(workers) do
          if coroutine.status(co) ~= "dead" then
            local ok, err = coroutine.resume(co)
            assert(ok, err)
            if coroutine.status(co) ~= "dead" then alive = alive + 1 end
          end
        end
      end
      assert.are.equal(12, #results)
      local log = srv:log()
      assert.are.equal(24, #log)
      -- Interleaved: worker 2's first call came before worker 1's second one.
      assert.are.equal("/store/payment-collections/w1_r1", log[1].target)
      assert.are.equal("/store/payment-collections/w2_r1", log[2].target)
      shared:close()
      for _, c in ipairs(own) do c:close() end
    end)

    it("a coroutine that dies with an error mid-way leaves the client usable", function()
      local m = Medusa.new { baseUrl = srv.url }
      local co = coroutine.create(function()
        assert(m.paymentCollections.retrieve("before"))
        coroutine.yield()
        m.paymentCollections.retrieve("x", nil, { ["Bad Header"] = "v" }) -- raises
      end)
      assert(coroutine.resume(co))
      local ok, err = coroutine.resume(co)
      assert.is_false(ok)
      assert.matches("is not an HTTP token", err)
      assert.are.equal("dead", coroutine.status(co))
      assert(m.paymentCollections.retrieve("after"))
      assert.are.equal(2, #srv:log())
      m:close()
    end)

    it("a client made inside a finished coroutine is collected with it", function()
      local baseline = open_sockets()
      local co = coroutine.wrap(function()
        local m = Medusa.new { baseUrl = srv.url }
        assert(m.paymentCollections.retrieve("inside"))
        coroutine.yield(open_sockets())
      end)
      assert.are.equal(baseline + 1, co())
      co()
      co = nil -- luacheck: ignore 311 (drops the last reference for the GC)
      full_gc()
      assert.are.equal(baseline, open_sockets())
    end)
  end)

  describe("close()", function()
    it("then every use raises a clear error at the caller's line, and nothing is sent", function()
      local m = Medusa.new { baseUrl = srv.url }
      assert(m.paymentCollections.retrieve("open"))
      local baseline = open_sockets()
      m:close()
      assert.are.equal(baseline - 1, open_sockets(), "close() left the connection open")
      local pc = m.paymentCollections
      local uses = {
        function() return pc.retrieve("x") end,
        function() return pc:retrieve("x") end,
        function() return pc.authorizePaymentSession("x", "ps") end,
        function() return pc.authorizePaymentSessionsBatch("x", { session_ids = { "ps" } }) end,
        function() return pc.managePaymentSessionsBatch("x", { sessions = {} }) end,
        function() return pc.managePaymentSession("x", { provider_id = "manual" }) end,
        function() return pc.refreshPaymentSession("x", "ps") end,
        function() return m.client.request("GET", "/store/x") end,
        function() return m.client:request("GET", "/store/x") end,
        function() return m.client.transport:send { method = "GET", url = srv.url .. "/x", headers = {} } end,
      }
      for i, use in ipairs(uses) do
        local ok, err = pcall(use)
        assert.is_false(ok, "use #" .. i .. " of a closed client did not raise")
        assert.matches("attempt to use a closed client", err)
        if i <= 9 then assert.matches("^[^\n]*lifecycle_spec%.lua:%d+: medusa: ", err) end
      end
      m:close() -- twice is fine
      assert.matches("closed", tostring(m.client.transport.handle))
      assert.are.equal(1, #srv:log())
    end)

    it("an error object outlives its client", function()
      local m = Medusa.new { baseUrl = srv.url }
      srv:script { { status = 404, json = { type = "not_found", message = "gone" } } }
      local _, err = m.paymentCollections.retrieve("x")
      m:close()
      m = nil -- luacheck: ignore 311 (drops the last reference for the GC)
      full_gc()
      assert.are.equal("medusa: 404 not_found: gone", tostring(err))
      assert.are.equal("gone", err.body.message)
    end)
  end)

  describe("garbage collection", function()
    it("__gc in the middle of a client's life closes its connection", function()
      local baseline = open_sockets()
      do
        local m = Medusa.new { baseUrl = srv.url }
        assert(m.paymentCollections.retrieve("alive"))
        assert.are.equal(baseline + 1, open_sockets())
      end
      full_gc()
      assert.are.equal(baseline, open_sockets())
    end)

    it("collecting a closed client, a never-used client and a bare handle is safe", function()
      local core = require "medusa.core"
      for _ = 1, 50 do
        local closed = Medusa.new { baseUrl = srv.url }
        closed:close()
        local _ = Medusa.new { baseUrl = srv.url }
        local h = core.http_new()
        h:close()
        h:close()
        _ = core.http_new()
      end
      full_gc()
      local m = Medusa.new { baseUrl = srv.url }
      assert(m.paymentCollections.retrieve("still fine"))
      m:close()
    end)

    it("a client whose resources outlive the instance table keeps working until collected", function()
      local pc = Medusa.new({ baseUrl = srv.url }).paymentCollections
      full_gc()
      assert(pc.retrieve("via resource"))
      assert.are.equal(1, #srv:log())
    end)
  end)

  describe("__close", function()
    local lua54 = _VERSION == "Lua 5.4"

    it("closes the client at the end of its scope, mid-life, and on an error", function()
      if not lua54 then
        pending("to-be-closed variables need Lua 5.4")
        return
      end
      local baseline = open_sockets()
      -- Loaded as text so this file still parses under LuaJIT.
      local scoped = assert(load([[
        local Medusa, url, fail = ...
        local kept
        do
          local m <close> = Medusa.new { baseUrl = url }
          kept = m
          assert(m.paymentCollections.retrieve("scoped"))
          if fail then error("boom") end
        end
        return kept
      ]], "=scoped"))
      local kept = scoped(Medusa, srv.url, false)
      assert.is_true(kept.client.closed)
      assert.are.equal(baseline, open_sockets())
      assert.has_error(function() kept.paymentCollections.retrieve("x") end)
      local ok, err = pcall(scoped, Medusa, srv.url, true)
      assert.is_false(ok)
      assert.matches("boom", err)
      assert.are.equal(baseline, open_sockets(), "an error in the scope left the connection open")
      assert.are.equal(2, #srv:log())
    end)

    it("the C handle is to-be-closed as well", function()
      if not lua54 then
        pending("to-be-closed variables need Lua 5.4")
        return
      end
      local core = require "medusa.core"
      local h = assert(load([[
        local core = ...
        local kept
        do
          local h <close> = core.http_new()
          kept = h
        end
        return kept
      ]], "=scoped_handle"))(core)
      assert.matches("closed", tostring(h))
      assert.has_error(function() h:perform { method = "GET", url = srv.url, headers = {} } end,
        "medusa: attempt to use a closed client")
    end)
  end)

  describe("require", function()
    it("twice returns the same module", function()
      assert.are.equal(Medusa, require "medusa")
      assert.are.equal(require "medusa.core", require "medusa.core")
    end)

    it("again after unloading gives a fresh module; old and new clients work side by side", function()
      local saved = {}
      for name, mod in pairs(package.loaded) do
        if name == "medusa" or name:find("^medusa%.") then saved[name] = mod end
      end
      local old = Medusa.new { baseUrl = srv.url }
      local ok, err = pcall(function()
        for name in pairs(saved) do package.loaded[name] = nil end
        local Fresh = require "medusa"
        assert.are_not.equal(Medusa, Fresh)
        assert.are.equal(Medusa.null, Fresh.null)
        local new = Fresh.new { baseUrl = srv.url }
        assert(new.paymentCollections.retrieve("new"))
        assert(old.paymentCollections.retrieve("old"))
        -- An error object of one load is recognised by the other (one metatable would be
        -- nicer, but each load has its own Lua modules); both print the same way.
        srv:script { { status = 404, json = { type = "not_found", message = "gone" } } }
        local _, e = new.paymentCollections.retrieve("x")
        assert.are.equal("medusa: 404 not_found: gone", tostring(e))
        new:close()
      end)
      for name in pairs(package.loaded) do
        if name == "medusa" or name:find("^medusa%.") then package.loaded[name] = nil end
      end
      for name, mod in pairs(saved) do package.loaded[name] = mod end
      assert(ok, err)
      assert(old.paymentCollections.retrieve("old again"))
      old:close()
      assert.are.equal(4, #srv:log())
    end)
  end)
end)
