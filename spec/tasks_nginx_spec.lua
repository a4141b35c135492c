-- spec/tasks_nginx_spec.lua: concurrency inside a real nginx (Debian's, with
-- libnginx-mod-http-lua and the LuaJIT build of the C core), from spec/nginx/tasks.conf:
-- every shared case of spec/tasks_cases.lua runs whole inside a content handler, where the
-- tasks must be light threads (medusa.tasks.ngx) over cosockets, and again inside a header
-- filter, where nginx disables cosockets and the libcurl scheduler runs them; then the
-- nginx-only cases of spec/nginx/lua/tasks_ngx_cases.lua, and the log phase, where nginx
-- disables coroutines too. Runs under `make test-nginx` (MEDUSA_TEST_NGINX=1).
if os.getenv("MEDUSA_TEST_NGINX") ~= "1" then
  describe("tasks inside nginx", function()
    pending("runs under `make test-nginx` (needs nginx and libnginx-mod-http-lua)")
  end)
  return
end

local Server = require "support.server"
local Nginx = require "nginx.harness"
local cases = require "tasks_cases"
package.path = "spec/nginx/lua/?.lua;" .. package.path
local ngx_cases = require "tasks_ngx_cases"

describe("tasks inside nginx", function()
  local srv, nginx

  setup(function()
    srv = Server.start { mode = "script" }
    local ok, started = pcall(Nginx.start, { conf = "spec/nginx/tasks.conf", vars = { UPSTREAM = srv.url } })
    if not ok then
      srv:stop()
      error(started, 0)
    end
    nginx = started
  end)
  teardown(function()
    if nginx then nginx:stop() end
    if srv then srv:stop() end
  end)
  before_each(function()
    srv:reset()
  end)

  local function check(out, status, engine)
    assert.are.equal(200, status, nginx:error_log())
    assert.is_table(out, tostring(out))
    if not out.ok then error("inside nginx (" .. tostring(out.phase) .. "): " .. tostring(out.error), 0) end
    -- What ran the tasks: only the engine of that phase (a case without tasks starts none).
    local other = engine == "ngx" and "curl" or "ngx"
    assert.are.equal(0, out.started[other], ("%s started %d tasks in the %s phase"):format(other, out.started[other], out.phase))
  end

  local function run_in_content(c)
    local out, status = nginx:post("/case", { name = c.name, server = srv.url }, 120)
    check(out, status, "ngx")
    return out
  end

  describe("light threads in a content handler:", function()
    for _, c in ipairs(cases) do
      it(c.name, function()
        local out = run_in_content(c)
        if c.name:find("^programmer errors") then return end -- they raise before any task
        assert.is_true(out.started.ngx > 0, "no task ran through ngx.thread")
      end)
    end
  end)

  describe("nginx only:", function()
    for _, c in ipairs(ngx_cases) do
      it(c.name, function() run_in_content(c) end)
    end
  end)

  describe("the libcurl scheduler in a header filter (no cosockets there), same results:", function()
    for _, c in ipairs(cases) do
      it(c.name, function()
        local _, status = nginx:post("/case-header-filter", { name = c.name, server = srv.url }, 120)
        assert.are.equal(200, status)
        local out
        out, status = nginx:get("/result?name=" .. c.name:gsub("[^%w]", function(ch) return ("%%%02X"):format(ch:byte()) end))
        check(out, status, "curl")
        assert.are.equal("header_filter", out.phase)
        if c.name:find("^programmer errors") then return end
        assert.is_true(out.started.curl > 0, "no task ran through the libcurl scheduler")
      end)
    end
  end)

  it("in the log phase, where nginx disables coroutines, spawn and all raise and say where they work", function()
    local _, status = nginx:get("/log-phase")
    assert.are.equal(200, status)
    local out
    for _ = 1, 50 do
      out = nginx:get("/result?name=log%20phase")
      if not out.pending then break end
      os.execute("sleep 0.1")
    end
    assert.are.equal("log", out.phase)
    assert.is_false(out.spawn_ok)
    assert.is_false(out.all_ok)
    for _, why in ipairs { out.spawn_error, out.all_error } do
      assert.matches("tasks_runner.lua:%d+: medusa: tasks need coroutines, which nginx disables in the log phase", why)
    end
  end)

  it("left nothing alarming in the error log (aborted threads, semaphores freed with waiters)", function()
    local bad = {}
    for line in nginx:error_log():gmatch("[^\n]+") do
      if line:find("%[error%]") or line:find("%[alert%]") or line:find("%[crit%]") or line:find("%[emerg%]")
          or line:find("semaphore", 1, true) then
        bad[#bad + 1] = line
      end
    end
    assert.are.same({}, bad)
  end)
end)
