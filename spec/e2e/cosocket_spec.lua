-- spec/e2e/cosocket_spec.lua: runs the case files of spec/e2e/suites.lua (cases.lua,
-- store_cases.lua) against the real Medusa v1 backend through the cosocket transport:
-- each case runs whole inside a content handler of a real nginx (Debian's, with
-- libnginx-mod-http-lua and the LuaJIT build of the C core), started by
-- spec/nginx/harness.lua from spec/e2e/nginx/. Needs the backend up (make e2e, e2e-up).
local Backend = require "e2e.support.backend"
local Nginx = require "nginx.harness"
local suites = require "e2e.suites"

-- What tells the handler where the backend is (see the env directives of the config).
local function backend_environment()
  local out = {}
  for _, k in ipairs { "E2E_STATE", "E2E_BASE_URL", "E2E_PROXY_URL", "E2E_PG_HOST", "E2E_PG_PORT",
    "E2E_PG_USER", "E2E_PG_DB", "E2E_REGION_ID", "E2E_ADMIN_TOKEN", "PATH" } do
    out[k] = os.getenv(k)
  end
  return out
end

describe("real Medusa v1 backend, cosocket transport inside nginx:", function()
  local nginx

  setup(function()
    Backend.env() -- fails the file at once, with the fix, when the backend is not up
    nginx = Nginx.start { conf = "spec/e2e/nginx/nginx.conf", env = backend_environment() }
  end)
  teardown(function()
    if nginx then nginx:stop() end
  end)
  before_each(function()
    Backend.proxy.reset()
  end)

  suites.each(describe, function(c)
    it(c.name, function()
      local out, status = nginx:post("/case", { name = c.name }, 120)
      assert.are.equal(200, status, nginx:error_log())
      assert.is_table(out, tostring(out))
      if not out.ok then error("inside nginx: " .. tostring(out.error), 0) end
      -- Every client the case made really used cosockets.
      assert.is_true(#out.transports > 0)
      for _, name in ipairs(out.transports) do assert.are.equal("ngx", name) end
    end)
  end)
end)
