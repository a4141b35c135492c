-- medusa.resources: the registry of the store API. Each entry is one declaration file (see
-- medusa.resource for the format); Medusa.new builds every one of them on each instance,
-- and tools/gen_api.lua generates the LuaLS types and the README's method tables from them.
local resources = {
  auth = require "medusa.resources.auth",
  carts = require "medusa.resources.carts",
  collections = require "medusa.resources.collections",
  customers = require "medusa.resources.customers",
  giftCards = require "medusa.resources.gift_cards",
  orderEdits = require "medusa.resources.order_edits",
  orders = require "medusa.resources.orders",
  paymentCollections = require "medusa.resources.payment_collections",
  paymentMethods = require "medusa.resources.payment_methods",
  productCategories = require "medusa.resources.product_categories",
  productTags = require "medusa.resources.product_tags",
  productTypes = require "medusa.resources.product_types",
  products = require "medusa.resources.products",
  regions = require "medusa.resources.regions",
  returnReasons = require "medusa.resources.return_reasons",
  returns = require "medusa.resources.returns",
  shippingOptions = require "medusa.resources.shipping_options",
  swaps = require "medusa.resources.swaps",
}

-- The top-level names in a fixed order, for listings.
local names = {}
for name in pairs(resources) do names[#names + 1] = name end
table.sort(names)

-- Every field some route declares a JSON array: what client.request, which knows no route,
-- encodes an empty table under as `[]`.
local array_keys = {}
local function collect(spec)
  for _, decl in pairs(spec.methods) do
    for _, key in ipairs(decl.arrays or {}) do array_keys[key] = true end
  end
  for _, child in pairs(spec.resources or {}) do collect(child) end
end
for _, name in ipairs(names) do collect(resources[name]) end

return { list = resources, names = names, array_keys = array_keys }
