-- spec/e2e/support/admin.lua: fixtures made through the real backend's ADMIN API, as a
-- merchant would make them (no SQL): products, shipping options, orders (draft orders
-- marked paid), fulfillments, order edits and their payment collections, gift cards, return
-- reasons, collections, categories, discounts, sales channels and publishable keys.
-- It sends through medusa-lua's client.request on an instance whose apiKey is the admin
-- API token up.sh set (medusa-lua sends it as x-medusa-access-token on /admin paths only);
-- that is test code using the client, not the store API under test.
--
--   local admin = Admin.new(ctx.medusa)   -- or Admin.new() outside a case (Medusa.new)
--   local product_id, variant_id = admin:product { price = 1500 }
--
-- Every fixture function returns plain ids (and the few plain values a caller needs, such
-- as a display_id or a code), and makes new, uniquely named rows each time, so nothing
-- depends on run order or on what an earlier run left in the cluster.
local Medusa = require "medusa"
local Backend = require "e2e.support.backend"

local Admin = {}
Admin.__index = Admin

-- A fresh suffix for handles, emails and codes: unique across runs on the kept cluster.
function Admin.unique(prefix)
  return ("%s-%s"):format(prefix, require("medusa.core").uuid4():gsub("%-", ""):sub(1, 16))
end

-- new_client(config) -> a medusa-lua instance: a case's ctx.medusa (the transport under
-- test, closed with the case), or Medusa.new by default (close it with admin:close()).
function Admin.new(new_client)
  local medusa = (new_client or Medusa.new) { baseUrl = Backend.url(), apiKey = Backend.admin_token() }
  return setmetatable({ medusa = medusa }, Admin)
end

function Admin:close()
  self.medusa:close()
end

-- One admin call; raises (naming the route and the backend's answer) unless it is a 2xx.
function Admin:call(method, path, payload)
  local res, err = self.medusa.client.request(method, path, payload)
  if not res then
    error(("e2e admin fixture: %s %s failed: %s"):format(method, path, tostring(err)), 2)
  end
  return res
end

-- The e2e region (fixtures.sql makes it with the manual providers) with the United States
-- in it, so that carts there can have US addresses. Returns its id.
local COUNTRY = "us"
function Admin:region()
  local id = Backend.region_id()
  for _, c in ipairs(self:call("GET", "/admin/regions/" .. id).region.countries) do
    if c.iso_2 == COUNTRY then return id end
  end
  self:call("POST", "/admin/regions/" .. id .. "/countries", { country_code = COUNTRY })
  return id
end

-- A published product with one option and one variant priced in USD, in the default sales
-- channel (the admin route puts it there) unless opts.sales_channel_id. opts: price (default
-- 1500), title, tags ({"a", ...}), type, collection_id, category_id.
-- Returns product_id, variant_id, handle.
function Admin:product(opts)
  opts = opts or {}
  local handle = Admin.unique("e2e-product")
  local tags
  if opts.tags then
    tags = {}
    for i, value in ipairs(opts.tags) do tags[i] = { value = value } end
  end
  local product = self:call("POST", "/admin/products", {
    title = opts.title or ("E2E product " .. handle),
    handle = handle,
    status = "published",
    tags = tags,
    type = opts.type and { value = opts.type } or nil,
    collection_id = opts.collection_id,
    categories = opts.category_id and { { id = opts.category_id } } or nil,
    sales_channels = opts.sales_channel_id and { { id = opts.sales_channel_id } } or nil,
    options = { { title = "Size" } },
    variants = { {
      title = "M", sku = handle .. "-m", manage_inventory = false,
      prices = { { currency_code = "usd", amount = opts.price or 1500 } },
      options = { { value = "M" } },
    } },
  }).product
  return product.id, product.variants[1].id, handle
end

-- A flat-rate shipping option of the manual fulfillment provider in the e2e region
-- (opts.amount, default 500; opts.is_return for a return option). Returns its id.
function Admin:shipping_option(opts)
  opts = opts or {}
  return self:call("POST", "/admin/shipping-options", {
    name = Admin.unique(opts.is_return and "e2e-return" or "e2e-ground"),
    region_id = self:region(), provider_id = "manual", data = { id = "manual-fulfillment" },
    price_type = "flat_rate", amount = opts.amount or 500, is_return = opts.is_return or false,
  }).shipping_option.id
end

-- An order: a draft order of `quantity` (default 1) x variant_id, shipped with option_id,
-- marked paid (POST /admin/draft-orders/:id/pay: a system payment, captured). opts: email
-- (default a fresh one), customer_id. Returns order_id, display_id, email.
function Admin:order(variant_id, option_id, opts)
  opts = opts or {}
  local email = opts.email or (Admin.unique("e2e-order") .. "@medusa-lua.test")
  local address = {
    first_name = "Ada", last_name = "Lua", address_1 = "1 Loop Road", city = "Springfield",
    postal_code = "12345", country_code = COUNTRY,
  }
  local draft = self:call("POST", "/admin/draft-orders", {
    email = email, region_id = self:region(), customer_id = opts.customer_id,
    items = { { variant_id = variant_id, quantity = opts.quantity or 1 } },
    shipping_methods = { { option_id = option_id } },
    shipping_address = address, billing_address = address,
  }).draft_order
  local order = self:call("POST", "/admin/draft-orders/" .. draft.id .. "/pay").order
  return order.id, order.display_id, email
end

-- Fulfills every item of an order (returns and swaps need fulfilled items). Returns the
-- order's item ids, in order.
function Admin:fulfill(order_id)
  local items = {}
  for i, item in ipairs(self:get_order(order_id).items) do
    items[i] = { item_id = item.id, quantity = item.quantity }
  end
  self:call("POST", "/admin/orders/" .. order_id .. "/fulfillment", { items = items })
  local ids = {}
  for i, item in ipairs(items) do ids[i] = item.item_id end
  return ids
end

-- The admin view of an order (items, payments, status...).
function Admin:get_order(order_id)
  return self:call("GET", "/admin/orders/" .. order_id).order
end

-- An order edit of order_id that adds `quantity` (default 1) x variant_id. Returns its id.
function Admin:order_edit(order_id, variant_id, quantity)
  local edit = self:call("POST", "/admin/order-edits", { order_id = order_id }).order_edit
  self:call("POST", "/admin/order-edits/" .. edit.id .. "/items", { variant_id = variant_id, quantity = quantity or 1 })
  return edit.id
end

-- POST /admin/order-edits/:id/request: asks the customer to confirm; when difference_due > 0
-- the backend creates the edit's payment collection. Returns payment_collection_id (nil when
-- none was made) and difference_due.
function Admin:request_edit(edit_id)
  local edit = self:call("POST", "/admin/order-edits/" .. edit_id .. "/request").order_edit
  return edit.payment_collection_id, edit.difference_due
end

-- A gift card of `value` in the e2e region. Returns its id and code.
function Admin:gift_card(value)
  local card = self:call("POST", "/admin/gift-cards", { region_id = self:region(), value = value or 1000 }).gift_card
  return card.id, card.code
end

-- A return reason. Returns its id and value.
function Admin:return_reason()
  local value = Admin.unique("e2e-reason")
  return self:call("POST", "/admin/return-reasons", { value = value, label = "E2E " .. value }).return_reason.id, value
end

-- A product collection. Returns its id and handle.
function Admin:collection()
  local handle = Admin.unique("e2e-collection")
  return self:call("POST", "/admin/collections", { title = "E2E " .. handle, handle = handle }).collection.id, handle
end

-- An active, public product category (medusa-config.js turns the feature on). Returns its
-- id and handle.
function Admin:category()
  local handle = Admin.unique("e2e-category")
  return self:call("POST", "/admin/product-categories", {
    name = "E2E " .. handle, handle = handle, is_active = true, is_internal = false,
  }).product_category.id, handle
end

-- A 10% discount on the whole order, usable in the e2e region. Returns its id and code.
function Admin:discount()
  local code = Admin.unique("E2E"):upper():gsub("%-", "")
  return self:call("POST", "/admin/discounts", {
    code = code, regions = { self:region() },
    rule = { type = "percentage", value = 10, allocation = "total", description = "e2e" },
  }).discount.id, code
end

-- A new sales channel and a publishable API key scoped to it: store requests carrying the
-- key see only that channel's products. Returns the key (its id) and the channel's id.
function Admin:publishable_key()
  local channel = self:call("POST", "/admin/sales-channels", { name = Admin.unique("e2e-channel") }).sales_channel
  local key = self:call("POST", "/admin/publishable-api-keys", { title = Admin.unique("e2e-key") }).publishable_api_key
  self:call("POST", "/admin/publishable-api-keys/" .. key.id .. "/sales-channels/batch", {
    sales_channel_ids = { { id = channel.id } },
  })
  return key.id, channel.id
end

return Admin
