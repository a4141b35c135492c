-- spec/e2e/support/check.lua: the assertions the real-backend case files share.
local assert = require "luassert"

local Check = {}

-- An integer, and a Lua integer where the language has them (5000, not 5000.0).
function Check.integer(expected, value)
  assert.are.equal(expected, value)
  if math.type then assert.are.equal("integer", math.type(value)) end
end

-- A structured medusa-lua error: status, type, message (when given) and its one-line string.
function Check.error(err, status, kind, message)
  assert.is_table(err, "expected an error")
  assert.are.equal(status, err.status)
  assert.are.equal(kind, err.type)
  if message then assert.are.equal(message, err.message) end
  local attempts = err.attempts > 1 and (" (after %d attempts)"):format(err.attempts) or ""
  assert.are.equal(("medusa: %d %s: %s%s"):format(status, kind, err.message, attempts), tostring(err))
end

-- The result of a call that must succeed; otherwise fails with the error's own words.
function Check.ok(res, err)
  if res == nil then error("expected a result, got " .. tostring(err), 2) end
  return res
end

return Check
