-- spec/e2e/backend_spec.lua: runs the case files of spec/e2e/suites.lua (cases.lua,
-- store_cases.lua) against the real Medusa v1 backend through the libcurl transport.
-- Needs the backend up: `make e2e` (or `make e2e-up`).
local Medusa = require "medusa"
local Backend = require "e2e.support.backend"
local suites = require "e2e.suites"

-- The ctx a case gets (see cases.lua): instances on the backend with this transport.
local function context(transport)
  local opened = {}
  local ctx = { backend = Backend }
  function ctx.medusa(config)
    local settings = { baseUrl = Backend.url(), transport = transport }
    for k, v in pairs(config or {}) do settings[k] = v end
    local medusa = Medusa.new(settings)
    opened[#opened + 1] = medusa
    return medusa
  end
  function ctx.close()
    for _, medusa in ipairs(opened) do medusa:close() end
  end
  return ctx
end

describe("real Medusa v1 backend, libcurl transport:", function()
  setup(function()
    Backend.env() -- fails the file at once, with the fix, when the backend is not up
  end)
  before_each(function()
    Backend.proxy.reset()
  end)

  suites.each(describe, function(c)
    it(c.name, function()
      local ctx = context("curl")
      finally(ctx.close)
      c.run(ctx)
    end)
  end)
end)
