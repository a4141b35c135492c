-- spec/e2e/nginx/runner.lua: runs one case of spec/e2e/suites.lua inside an nginx content
-- handler, every medusa call through the cosocket transport, and answers how it went as
-- JSON. The case's own checks (luassert, psql, the backend's request log through the curl
-- CLI) run here too; they block the worker, which only ever serves this one request.
-- luacheck: read globals ngx
local cjson = require "cjson.safe"
local Medusa = require "medusa"
local Backend = require "e2e.support.backend"
local by_name = require("e2e.suites").by_name

local M = {}

-- The ctx of cases.lua, with clients forced onto cosockets (a call that cannot use them
-- raises instead of quietly falling back to libcurl).
local function context()
  local opened = {}
  local ctx = { backend = Backend, transport = "ngx" }
  function ctx.medusa(config)
    local settings = { baseUrl = Backend.url(), transport = "ngx" }
    for k, v in pairs(config or {}) do settings[k] = v end
    local medusa = Medusa.new(settings)
    opened[#opened + 1] = medusa
    return medusa
  end
  function ctx.close()
    local transports = {}
    for i, medusa in ipairs(opened) do
      transports[i] = medusa.client.transport.name
      medusa:close()
    end
    return transports
  end
  return ctx
end

-- luassert raises tables; keep their message and where the case failed.
local function failure(e)
  local message = type(e) == "table" and e.message ~= nil and tostring(e.message) or tostring(e)
  return debug.traceback(message, 2)
end

-- POST /case {name} -> {ok = true, transports = {...}} | {ok = false, error = "..."}
local function run_case()
  ngx.req.read_body()
  local spec = cjson.decode(ngx.req.get_body_data() or "")
  local c = spec and by_name[spec.name]
  if not c then return { ok = false, error = "no such case: " .. tostring(spec and spec.name) } end
  local ctx = context()
  local ok, why = xpcall(c.run, failure, ctx)
  local transports = ctx.close()
  return { ok = ok, error = not ok and why or nil, transports = transports }
end

function M.handle()
  local ok, out = pcall(run_case)
  if not ok then out = { ok = false, error = "runner: " .. tostring(out) } end
  ngx.say(cjson.encode(out))
end

return M
