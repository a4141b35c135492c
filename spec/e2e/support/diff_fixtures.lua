-- spec/e2e/support/diff_fixtures.lua: the fixtures a differential flow declares, made through
-- the admin API (spec/e2e/support/admin.lua) before the runs, once per side, so each client
-- works on its own rows. A flow's "fixtures" maps a name to {kind = ..., options}; each
-- fixture sets one or more vars, "<name>" or "<name>_<field>", that the steps use as '${...}'.
--   collection      {amount}    -> <name>            (a payment collection, as before: SQL)
--   region          {}          -> <name>            (the e2e region, with the US in it)
--   product         {price}     -> <name>_product, <name>_variant
--   shipping_option {amount}    -> <name>
--   requested_edit  {quantity}  -> <name>_edit, <name>_order, <name>_collection
--                                 (a paid order of one item and a requested edit adding more)
--   email           {}          -> <name>            (a fresh address, unique per run)
local Admin = require "e2e.support.admin"
local Backend = require "e2e.support.backend"

local DiffFixtures = {}

local KINDS = {}

function KINDS.collection(_, name, spec, vars)
  vars[name] = Backend.new_collection(spec.amount)
end

function KINDS.region(admin, name, _, vars)
  vars[name] = admin:region()
end

function KINDS.product(admin, name, spec, vars)
  vars[name .. "_product"], vars[name .. "_variant"] = admin:product { price = spec.price }
end

function KINDS.shipping_option(admin, name, spec, vars)
  vars[name] = admin:shipping_option { amount = spec.amount }
end

function KINDS.requested_edit(admin, name, spec, vars)
  local _, variant_id = admin:product { price = spec.price or 1500 }
  local order_id = admin:order(variant_id, admin:shipping_option { amount = spec.shipping or 500 })
  local edit_id = admin:order_edit(order_id, variant_id, spec.quantity or 1)
  vars[name .. "_edit"], vars[name .. "_order"] = edit_id, order_id
  vars[name .. "_collection"] = admin:request_edit(edit_id)
end

function KINDS.email(_, name, _, vars)
  vars[name] = Admin.unique("e2e-diff") .. "@medusa-lua.test"
end

-- make(flow) -> vars: a fresh set of the flow's fixtures. The old "collections" map
-- ({name = amount}) is kept as shorthand for collection fixtures.
function DiffFixtures.make(flow)
  local vars = {}
  for name, amount in pairs(flow.collections or {}) do KINDS.collection(nil, name, { amount = amount }, vars) end
  if not flow.fixtures then return vars end
  local admin = Admin.new()
  local names = {}
  for name in pairs(flow.fixtures) do names[#names + 1] = name end
  table.sort(names)
  for _, name in ipairs(names) do
    local spec = flow.fixtures[name]
    local kind = assert(KINDS[spec.kind], "unknown fixture kind " .. tostring(spec.kind))
    kind(admin, name, spec, vars)
  end
  admin:close()
  return vars
end

return DiffFixtures
