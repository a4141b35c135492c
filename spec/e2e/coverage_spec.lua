-- spec/e2e/coverage_spec.lua: every store method medusa-lua declares (lua/medusa/resources)
-- is called by name (`x.y(` or `x.y {`) in the real-backend case files, so "the store API end to end" cannot
-- quietly lose a method. Reads the case files' text; needs no backend.
local Resources = require "medusa.resources"
local read_file = require("support.server").read_file

local FILES = { "spec/e2e/cases.lua", "spec/e2e/store_cases.lua" }

-- "carts.lineItems.create", ... for every declared method but the local ones (setToken).
local function methods(spec, prefix, out)
  for name, decl in pairs(spec.methods) do
    if not decl.local_call then out[#out + 1] = prefix .. name end
  end
  for name, child in pairs(spec.resources or {}) do methods(child, prefix .. name .. ".", out) end
  return out
end

describe("e2e coverage:", function()
  it("the real-backend cases call every declared store method, and setPublishableKey", function()
    local text = ""
    for _, path in ipairs(FILES) do text = text .. assert(read_file(path), path) end
    local all = { "setPublishableKey" }
    for _, name in ipairs(Resources.names) do methods(Resources.list[name], name .. ".", all) end
    local missing = {}
    for _, path in ipairs(all) do
      local called = text:find("." .. path .. "(", 1, true) or text:find("." .. path .. " {", 1, true)
      if not called then missing[#missing + 1] = path end
    end
    table.sort(missing)
    assert.are.same({}, missing)
    -- medusa-js 6.1.10's 64 store methods, customers.paymentMethods.list (paymentMethods.list
    -- under another name) and setPublishableKey.
    assert.are.equal(66, #all)
  end)
end)
