-- examples/common.lua: what every example shares: the client built from environment
-- variables, and a way to stop with a readable error.
--   MEDUSA_BASE_URL       the store (default http://localhost:9000)
--   MEDUSA_COLLECTION_ID  a payment collection id (paycol_...)
--   MEDUSA_SESSION_ID     a payment session id (ps_...), for the session examples
local Medusa = require "medusa"

local common = {}

common.medusa = Medusa.new {
  baseUrl = os.getenv("MEDUSA_BASE_URL") or "http://localhost:9000",
  maxRetries = 3,
}

function common.env(name)
  local value = os.getenv(name)
  if not value or value == "" then
    io.stderr:write(("set %s first\n"):format(name))
    os.exit(2)
  end
  return value
end

-- Prints the error and exits non-zero: what a script does when a call fails.
function common.check(result, err)
  if not result then
    io.stderr:write(tostring(err), "\n")
    os.exit(1)
  end
  return result
end

-- One line per session: id, provider, amount, status.
function common.print_sessions(collection)
  for _, s in ipairs(collection.payment_sessions or {}) do
    print(("  session %s  provider=%s amount=%s status=%s"):format(s.id, s.provider_id, s.amount, s.status))
  end
end

return common
