-- spec/e2e/suites.lua: the transport-free case files every real-backend runner runs
-- (backend_spec.lua through libcurl, cosocket_spec.lua and nginx/runner.lua inside nginx),
-- in order. Each is {describe = a sub-title or nil, cases = {{name, run(ctx)}, ...}}; case
-- names are unique across them, since the nginx runner finds a case by its name.
local suites = {
  { cases = require "e2e.cases" },                                      -- payment collections, auth
  { describe = "store API end to end:", cases = require "e2e.store_cases" }, -- flows 1-4
}

local seen = {}
for _, suite in ipairs(suites) do
  for _, c in ipairs(suite.cases) do
    assert(not seen[c.name], "two e2e cases are named " .. c.name)
    seen[c.name] = c
  end
end

-- name -> case, over every suite.
suites.by_name = seen

-- Calls declare(case) for each case, inside a busted describe(suite.describe) where given.
function suites.each(describe, declare)
  for _, suite in ipairs(suites) do
    if suite.describe then
      describe(suite.describe, function()
        for _, c in ipairs(suite.cases) do declare(c) end
      end)
    else
      for _, c in ipairs(suite.cases) do declare(c) end
    end
  end
end

return suites
