-- spec/e2e/store_cases.lua: the store API end to end on the real backend, written once for
-- every transport, in the {name, run = function(ctx)} form of cases.lua (same ctx). The
-- fixtures a flow needs (products, shipping options, orders, order edits and their payment
-- collections, ...) are made through the backend's admin API (spec/e2e/support/admin.lua)
-- on a client from ctx.medusa, so inside nginx they go through cosockets as well; the store
-- calls under test are medusa-lua's resource methods on other clients of the same ctx.
--   1. order edit -> payment collection -> complete (and decline, and complete too early)
--   2. guest checkout: regions, products, cart, line items, shipping, payment, order
--   3. a registered customer: profile, addresses, orders, logout
--   4. every other store method at least once, or its real error where it cannot succeed
-- Nothing depends on run order or on an earlier run: every case makes its own rows.
local assert = require "luassert"
local Admin = require "e2e.support.admin"
local Check = require "e2e.support.check"
local ok, assert_error, assert_integer = Check.ok, Check.error, Check.integer

local cases = {}
local function case(name, run) cases[#cases + 1] = { name = name, run = run } end

local PASSWORD = "e2e-secret-password"
local PRICE = 1500    -- the fixture product's variant, in cents
local SHIPPING = 500  -- the fixture shipping option

local function find(list, field, value)
  for _, item in ipairs(list) do
    if item[field] == value then return item end
  end
  return nil
end

local function field_of(list, field)
  local out = {}
  for i, item in ipairs(list) do out[i] = item[field] end
  table.sort(out)
  return out
end

local function email_for(kind)
  return Admin.unique("e2e-" .. kind) .. "@medusa-lua.test"
end

local function address(overrides)
  local a = {
    first_name = "Ada", last_name = "Lua", address_1 = "1 Loop Road", city = "Springfield",
    postal_code = "12345", country_code = "us", phone = "555-0100",
  }
  for k, v in pairs(overrides or {}) do a[k] = v end
  return a
end

---------------------------------------------------------------------------------------
-- 1. Order edit -> payment collection -> complete
---------------------------------------------------------------------------------------

-- An order of one item (PRICE + SHIPPING, paid) and a requested edit that adds `quantity`
-- more of it, so the backend made a payment collection of quantity * PRICE.
local function requested_edit(admin, quantity)
  local _, variant_id = admin:product { price = PRICE }
  local order_id = admin:order(variant_id, admin:shipping_option { amount = SHIPPING })
  local edit_id = admin:order_edit(order_id, variant_id, quantity)
  local collection_id = admin:request_edit(edit_id)
  return { order_id = order_id, variant_id = variant_id, edit_id = edit_id, collection_id = collection_id }
end

case("order edit: retrieve, region providers, manage, authorize, complete: confirmed, and the order carries the payment", function(ctx)
  local admin = Admin.new(ctx.medusa)
  local f = requested_edit(admin, 2)
  local medusa = ctx.medusa()

  -- 1. The edit gives its collection and what is due.
  local res, err = medusa.orderEdits.retrieve(f.edit_id)
  assert.is_nil(err)
  local edit = res.order_edit
  assert.are.equal(f.edit_id, edit.id)
  assert.are.equal(f.order_id, edit.order_id)
  assert.are.equal("requested", edit.status)
  assert.matches("^paycol_", edit.payment_collection_id)
  assert.are.equal(f.collection_id, edit.payment_collection_id)
  assert_integer(2 * PRICE, edit.difference_due)
  assert.are.equal(1, #edit.changes)
  assert.are.equal("item_add", edit.changes[1].type)
  assert.are.equal(f.variant_id, edit.changes[1].line_item.variant_id)
  assert_integer(2, edit.changes[1].line_item.quantity)

  -- 2. The order's region lists what can pay in it.
  local order = ok(medusa.orders.retrieve(f.order_id)).order
  assert.are.equal(ctx.backend.region_id(), order.region_id)
  assert_integer(PRICE + SHIPPING, order.total)
  local region = ok(medusa.regions.retrieve(order.region_id)).region
  assert.is_table(find(region.payment_providers, "id", "manual"))

  -- The collection the backend made: the difference due, in the order's currency.
  local pc = ok(medusa.paymentCollections.retrieve(edit.payment_collection_id)).payment_collection
  assert.are.equal("not_paid", pc.status)
  assert_integer(2 * PRICE, pc.amount)
  assert.are.equal("usd", pc.currency_code)

  -- 3. A session with the manual provider, then authorize it.
  local managed = ok(medusa.paymentCollections.managePaymentSession(pc.id, { provider_id = "manual" }))
  local session = managed.payment_collection.payment_sessions[1]
  assert.are.equal("pending", session.status)
  assert_integer(2 * PRICE, session.amount)
  -- (The provider's own step would go here; refreshing gives a new session id.)
  session = ok(medusa.paymentCollections.refreshPaymentSession(pc.id, session.id)).payment_session
  assert.are_not.equal(managed.payment_collection.payment_sessions[1].id, session.id)
  local authorized = ok(medusa.paymentCollections.authorizePaymentSession(pc.id, session.id))
  assert.are.equal("authorized", authorized.payment_session.status)

  -- 4. Complete: the edit is confirmed and its items are the order's.
  res, err = medusa.orderEdits.complete(f.edit_id)
  assert.is_nil(err)
  assert.are.equal("confirmed", res.order_edit.status)
  assert.is_string(res.order_edit.confirmed_at)
  assert.are.equal("confirmed", ok(medusa.orderEdits.retrieve(f.edit_id)).order_edit.status)

  order = ok(medusa.orders.retrieve(f.order_id)).order
  assert_integer(3 * PRICE + SHIPPING, order.total)
  assert.are.equal(2, #order.items)
  -- The collection's payment moved onto the order, beside the draft order's system payment.
  local payment = find(order.payments, "provider_id", "manual")
  assert.is_table(payment, "no manual payment on the order")
  assert_integer(2 * PRICE, payment.amount)
  assert.are.same({ "manual", "system" }, field_of(order.payments, "provider_id"))
  local seen = admin:get_order(f.order_id)
  assert.are.equal(f.order_id, find(seen.payments, "provider_id", "manual").order_id)
  assert_integer(3 * PRICE + SHIPPING, seen.paid_total)
end)

case("order edit: a split payment (batch of two sessions, batch authorize) completes the edit", function(ctx)
  local admin = Admin.new(ctx.medusa)
  local f = requested_edit(admin, 2)
  local medusa = ctx.medusa()
  local res = ok(medusa.paymentCollections.managePaymentSessionsBatch(f.collection_id, { sessions = {
    { provider_id = "manual", amount = PRICE }, { provider_id = "manual", amount = PRICE },
  } }))
  local sessions = res.payment_collection.payment_sessions
  assert.are.equal(2, #sessions)
  res = ok(medusa.paymentCollections.authorizePaymentSessionsBatch(f.collection_id, {
    session_ids = field_of(sessions, "id"),
  }))
  assert.are.equal("authorized", res.payment_collection.status)
  assert_integer(2 * PRICE, res.payment_collection.authorized_amount)
  assert.are.equal("confirmed", ok(medusa.orderEdits.complete(f.edit_id)).order_edit.status)
  local order = ok(medusa.orders.retrieve(f.order_id)).order
  assert.are.same({ "manual", "manual", "system" }, field_of(order.payments, "provider_id"))
end)

case("order edit: complete before authorizing is not_allowed and changes nothing; after authorizing it completes", function(ctx)
  local f = requested_edit(Admin.new(ctx.medusa), 1)
  local medusa = ctx.medusa { maxRetries = 2 }
  local res, err = medusa.orderEdits.complete(f.edit_id)
  assert.is_nil(res)
  assert_error(err, 400, "not_allowed", "Unable to complete an order edit if the payment is not authorized")
  assert.are.same({ type = "not_allowed", message = err.message }, err.body)
  assert.are.equal(1, err.attempts) -- a 400 is not retried
  assert.are.equal("POST", err.method)
  assert.are.equal(ctx.backend.url() .. "/store/order-edits/" .. f.edit_id .. "/complete", err.url)

  -- A pending session is not enough either.
  local managed = ok(medusa.paymentCollections.managePaymentSession(f.collection_id, { provider_id = "manual" }))
  res, err = medusa.orderEdits.complete(f.edit_id)
  assert.is_nil(res)
  assert_error(err, 400, "not_allowed", "Unable to complete an order edit if the payment is not authorized")
  assert.are.equal("requested", ok(medusa.orderEdits.retrieve(f.edit_id)).order_edit.status)
  assert_integer(PRICE + SHIPPING, ok(medusa.orders.retrieve(f.order_id)).order.total)

  ok(medusa.paymentCollections.authorizePaymentSession(f.collection_id, managed.payment_collection.payment_sessions[1].id))
  assert.are.equal("confirmed", ok(medusa.orderEdits.complete(f.edit_id)).order_edit.status)
end)

case("order edit: decline a second edit with a reason; completing it then is not_allowed", function(ctx)
  local admin = Admin.new(ctx.medusa)
  local f = requested_edit(admin, 1)
  local medusa = ctx.medusa()
  -- The first edit is settled (declined without a reason), then a second one is requested.
  local first = ok(medusa.orderEdits.decline(f.edit_id))
  assert.are.equal("declined", first.order_edit.status)
  local second = admin:order_edit(f.order_id, f.variant_id, 3)
  local collection_id, due = admin:request_edit(second)
  assert.matches("^paycol_", collection_id)
  assert_integer(3 * PRICE, due)

  local res, err = medusa.orderEdits.decline(second, { declined_reason = "too expensive" })
  assert.is_nil(err)
  assert.are.equal(second, res.order_edit.id)
  assert.are.equal("declined", res.order_edit.status)
  assert.are.equal("too expensive", res.order_edit.declined_reason)
  assert.is_string(res.order_edit.declined_at)

  res, err = medusa.orderEdits.complete(second)
  assert.is_nil(res)
  assert_error(err, 400, "not_allowed", "Cannot complete an order edit with status declined")
  -- The order is as it was.
  local order = ok(medusa.orders.retrieve(f.order_id)).order
  assert_integer(PRICE + SHIPPING, order.total)
  assert.are.same({ "system" }, field_of(order.payments, "provider_id"))
end)

case("order edit: an unknown edit is a 404 not_found", function(ctx)
  local medusa = ctx.medusa()
  local _, err = medusa.orderEdits.retrieve("oe_does_not_exist")
  assert_error(err, 404, "not_found", "Order edit with id oe_does_not_exist was not found")
  _, err = medusa.orderEdits.complete("oe_does_not_exist")
  assert_error(err, 404, "not_found", "Order edit with id oe_does_not_exist was not found")
end)

---------------------------------------------------------------------------------------
-- 2. Guest checkout
---------------------------------------------------------------------------------------

case("guest checkout: regions, products, variants, cart, line items, addresses, shipping, payment, complete, order", function(ctx)
  local admin = Admin.new(ctx.medusa)
  local region_id = admin:region()
  local product_id, variant_id, handle = admin:product { price = PRICE }
  local _, other_variant = admin:product { price = 2500 }
  local option_id = admin:shipping_option { amount = SHIPPING }
  local medusa = ctx.medusa()
  local email = email_for("guest")

  -- Browse: the region (with its country and provider), then the product and its variant.
  local regions = ok(medusa.regions.list()).regions
  local region = find(regions, "id", region_id)
  assert.is_table(region, "the e2e region is not listed")
  assert.is_table(find(region.countries, "iso_2", "us"))
  assert.is_table(find(region.payment_providers, "id", "manual"))

  local listed = ok(medusa.products.list { handle = handle, region_id = region_id })
  assert.are.equal(1, listed.count)
  assert.are.equal(product_id, listed.products[1].id)
  assert_integer(PRICE, listed.products[1].variants[1].calculated_price)
  local product = ok(medusa.products.retrieve(product_id)).product
  assert.are.equal(handle, product.handle)
  assert.are.equal(variant_id, product.variants[1].id)
  local variants = ok(medusa.products.variants.list { ids = variant_id .. "," .. other_variant }).variants
  local both = { variant_id, other_variant }
  table.sort(both)
  assert.are.same(both, field_of(variants, "id"))
  local variant = ok(medusa.products.variants.retrieve(variant_id)).variant
  assert.are.equal(product_id, variant.product_id)
  assert.are.equal(PRICE, find(variant.prices, "currency_code", "usd").amount)

  -- The cart and its lines.
  local cart = ok(medusa.carts.create { region_id = region_id }).cart
  assert.matches("^cart_", cart.id)
  assert.are.equal(region_id, cart.region_id)
  assert.are.same({}, cart.items)
  cart = ok(medusa.carts.lineItems.create(cart.id, { variant_id = variant_id, quantity = 1 })).cart
  cart = ok(medusa.carts.lineItems.create(cart.id, { variant_id = other_variant, quantity = 1 })).cart
  assert.are.equal(2, #cart.items)
  assert_integer(PRICE + 2500, cart.subtotal)
  local line = find(cart.items, "variant_id", variant_id)
  local other_line = find(cart.items, "variant_id", other_variant)
  cart = ok(medusa.carts.lineItems.update(cart.id, line.id, { quantity = 3 })).cart
  assert_integer(3, find(cart.items, "id", line.id).quantity)
  assert_integer(3 * PRICE + 2500, cart.subtotal)
  cart = ok(medusa.carts.lineItems.delete(cart.id, other_line.id)).cart
  assert.are.same({ line.id }, field_of(cart.items, "id"))
  assert_integer(3 * PRICE, cart.subtotal)

  -- Who and where.
  cart = ok(medusa.carts.update(cart.id, {
    email = email, shipping_address = address(), billing_address = address { address_1 = "2 Bill Street" },
  })).cart
  assert.are.equal(email, cart.email)
  assert.are.equal("Springfield", cart.shipping_address.city)
  assert.are.equal("2 Bill Street", cart.billing_address.address_1)

  -- Shipping.
  local options = ok(medusa.shippingOptions.listCartOptions(cart.id)).shipping_options
  local option = find(options, "id", option_id)
  assert.is_table(option, "the fixture option is not offered for the cart")
  assert_integer(SHIPPING, option.amount)
  cart = ok(medusa.carts.addShippingMethod(cart.id, { option_id = option_id })).cart
  assert.are.equal(option_id, cart.shipping_methods[1].shipping_option_id)
  assert_integer(SHIPPING, cart.shipping_total)
  assert_integer(3 * PRICE + SHIPPING, cart.total)

  -- Payment: a session per provider of the region, then select manual.
  cart = ok(medusa.carts.createPaymentSessions(cart.id)).cart
  assert.are.same({ "manual" }, field_of(cart.payment_sessions, "provider_id"))
  cart = ok(medusa.carts.setPaymentSession(cart.id, { provider_id = "manual" })).cart
  assert.are.equal("manual", cart.payment_session.provider_id)
  assert.is_true(cart.payment_session.is_selected)

  -- Complete: an order.
  local res, err = medusa.carts.complete(cart.id)
  assert.is_nil(err)
  assert.are.equal("order", res.type)
  local order = res.data
  assert.matches("^order_", order.id)
  assert.are.equal(cart.id, order.cart_id)
  assert.are.equal(email, order.email)
  assert_integer(3 * PRICE + SHIPPING, order.total)
  assert.are.equal("awaiting", order.payment_status)

  local retrieved = ok(medusa.orders.retrieve(order.id)).order
  assert.are.equal(order.id, retrieved.id)
  assert.are.equal(order.display_id, retrieved.display_id)
  assert.are.same({ line.variant_id }, field_of(retrieved.items, "variant_id"))
  assert.are.equal(order.id, ok(medusa.orders.retrieveByCartId(cart.id)).order.id)
  assert.is_string(ok(medusa.carts.retrieve(cart.id)).cart.completed_at)
end)

case("guest checkout: completing a cart without a payment session, and unknown ids, are structured errors", function(ctx)
  local admin = Admin.new(ctx.medusa)
  local _, variant_id = admin:product { price = PRICE }
  local medusa = ctx.medusa()
  local cart = ok(medusa.carts.create { region_id = admin:region(), items = { { variant_id = variant_id, quantity = 1 } } }).cart
  assert.are.equal(1, #cart.items)
  local res, err = medusa.carts.complete(cart.id)
  assert.is_nil(res)
  assert_error(err, 400, "not_allowed", "You cannot complete a cart without a payment session.")
  res, err = medusa.orders.retrieveByCartId(cart.id)
  assert.is_nil(res)
  assert_error(err, 404, "not_found")
  res, err = medusa.carts.retrieve("cart_does_not_exist")
  assert.is_nil(res)
  assert_error(err, 404, "not_found", "Cart with cart_does_not_exist was not found")
  res, err = medusa.products.retrieve("prod_does_not_exist")
  assert.is_nil(res)
  assert_error(err, 404, "not_found")
end)

---------------------------------------------------------------------------------------
-- 3. A registered customer
---------------------------------------------------------------------------------------

case("customer: create logs in (connect.sid in the jar), retrieve, update, addresses, orders, logout, then a 401", function(ctx)
  local admin = Admin.new(ctx.medusa)
  local medusa = ctx.medusa()
  local email = email_for("customer")

  local res, err = medusa.customers.create {
    email = email, password = PASSWORD, first_name = "Ada", last_name = "Lua",
  }
  assert.is_nil(err)
  local customer = res.customer
  assert.matches("^cus_", customer.id)
  assert.are.equal(email, customer.email)
  assert.is_true(customer.has_account)
  -- Logged in by it: this client's jar holds the session cookie and sends it.
  assert.matches("^connect%.sid=s%%3A", medusa.client.jar:header("/store/customers/me"))

  local me = ok(medusa.customers.retrieve()).customer
  assert.are.equal(customer.id, me.id)
  me = ok(medusa.customers.update { first_name = "Grace", phone = "555-0199" }).customer
  assert.are.equal("Grace", me.first_name)
  assert.are.equal("555-0199", me.phone)
  assert.are.equal("Grace", ok(medusa.customers.retrieve()).customer.first_name)

  -- Addresses: add, update, delete.
  me = ok(medusa.customers.addresses.addAddress { address = address() }).customer
  assert.are.equal(1, #me.shipping_addresses)
  local address_id = me.shipping_addresses[1].id
  assert.matches("^addr_", address_id)
  me = ok(medusa.customers.addresses.updateAddress(address_id, { city = "Shelbyville" })).customer
  assert.are.equal("Shelbyville", find(me.shipping_addresses, "id", address_id).city)
  me = ok(medusa.customers.addresses.deleteAddress(address_id)).customer
  assert.are.same({}, me.shipping_addresses)

  -- Orders: none, then one the shop placed for this customer.
  local orders = ok(medusa.customers.listOrders())
  assert.are.equal(0, orders.count)
  local _, variant_id = admin:product { price = PRICE }
  local order_id = admin:order(variant_id, admin:shipping_option(), { email = email, customer_id = customer.id })
  orders = ok(medusa.customers.listOrders { limit = 5 })
  assert.are.equal(1, orders.count)
  assert.are.equal(5, orders.limit)
  assert.are.equal(order_id, orders.orders[1].id)

  -- Log out: the jar is emptied, and the customer routes answer 401.
  local ended = ok(medusa.auth.deleteSession())
  assert.are.equal("OK", ended.data)
  assert.is_nil(medusa.client.jar:header("/store/customers/me"))
  res, err = medusa.customers.retrieve()
  assert.is_nil(res)
  assert_error(err, 401, "http_error")
  assert.are.equal("Unauthorized", err.body)
  assert.are.equal("GET", err.method)
end)

case("customer: a second registration with the same email is a structured error", function(ctx)
  local medusa = ctx.medusa()
  local email = email_for("twice")
  ok(medusa.customers.create { email = email, password = PASSWORD, first_name = "A", last_name = "B" })
  local res, err = ctx.medusa().customers.create { email = email, password = PASSWORD, first_name = "A", last_name = "B" }
  assert.is_nil(res)
  assert_error(err, 422, "duplicate_error")
end)

---------------------------------------------------------------------------------------
-- 4. Every other store method, each with the fixture it needs
---------------------------------------------------------------------------------------

case("catalogue: collections, categories, tags and types list and retrieve what the admin made", function(ctx)
  local admin = Admin.new(ctx.medusa)
  local collection_id, collection_handle = admin:collection()
  local category_id, category_handle = admin:category()
  local tag, kind = Admin.unique("e2e-tag"), Admin.unique("e2e-type")
  local product_id = admin:product { collection_id = collection_id, category_id = category_id, tags = { tag }, type = kind }
  local medusa = ctx.medusa()

  local res = ok(medusa.collections.list { handle = { collection_handle } })
  assert.are.equal(1, res.count)
  assert.are.equal(collection_id, res.collections[1].id)
  assert.are.equal(collection_handle, ok(medusa.collections.retrieve(collection_id)).collection.handle)
  res = ok(medusa.products.list { collection_id = { collection_id } })
  assert.are.same({ product_id }, field_of(res.products, "id"))

  res = ok(medusa.productCategories.list { handle = category_handle })
  assert.are.equal(1, res.count)
  assert.are.equal(category_id, res.product_categories[1].id)
  local category = ok(medusa.productCategories.retrieve(category_id, { fields = "id,handle" })).product_category
  assert.are.equal(category_handle, category.handle)
  res = ok(medusa.products.list { category_id = { category_id } })
  assert.are.same({ product_id }, field_of(res.products, "id"))

  res = ok(medusa.productTags.list { value = { tag } })
  assert.are.same({ tag }, field_of(res.product_tags, "value"))
  res = ok(medusa.productTypes.list { value = { kind } })
  assert.are.same({ kind }, field_of(res.product_types, "value"))

  local _, err = medusa.collections.retrieve("pcol_does_not_exist")
  assert_error(err, 404, "not_found")
end)

case("returnReasons.list and retrieve, giftCards.retrieve by code (and an unknown code's 404)", function(ctx)
  local admin = Admin.new(ctx.medusa)
  local reason_id, reason_value = admin:return_reason()
  local card_id, code = admin:gift_card(2000)
  local medusa = ctx.medusa()

  local reasons = ok(medusa.returnReasons.list()).return_reasons
  assert.are.equal(reason_value, find(reasons, "id", reason_id).value)
  assert.are.equal(reason_value, ok(medusa.returnReasons.retrieve(reason_id)).return_reason.value)

  local card = ok(medusa.giftCards.retrieve(code)).gift_card
  assert.are.equal(card_id, card.id)
  assert.are.equal(code, card.code)
  assert_integer(2000, card.value)
  assert_integer(2000, card.balance)
  local _, err = medusa.giftCards.retrieve("NO-SUCH-CARD")
  assert_error(err, 404, "not_found", "Gift card with code: NO-SUCH-CARD was not found")
end)

case("shippingOptions.list: the region's options, its outbound ones, its return ones", function(ctx)
  local admin = Admin.new(ctx.medusa)
  local outbound = admin:shipping_option()
  local inbound = admin:shipping_option { is_return = true }
  local medusa = ctx.medusa()
  local options = ok(medusa.shippingOptions.list { region_id = admin:region() }).shipping_options
  assert.is_table(find(options, "id", outbound))
  assert.is_table(find(options, "id", inbound))
  options = ok(medusa.shippingOptions.list { region_id = admin:region(), is_return = "false" }).shipping_options
  assert.is_table(find(options, "id", outbound))
  assert.is_nil(find(options, "id", inbound))
  options = ok(medusa.shippingOptions.list { region_id = admin:region(), is_return = "true" }).shipping_options
  assert.is_table(find(options, "id", inbound))
  assert.is_nil(find(options, "id", outbound))
end)

case("returns.create, swaps.create and retrieveByCartId on a fulfilled order; orders.lookupOrder", function(ctx)
  local admin = Admin.new(ctx.medusa)
  local _, variant_id = admin:product { price = PRICE }
  local _, swap_variant = admin:product { price = PRICE }
  local order_id, display_id, email = admin:order(variant_id, admin:shipping_option(), { quantity = 2 })
  local item_id = admin:fulfill(order_id)[1]
  local return_option = admin:shipping_option { is_return = true }
  local reason_id = admin:return_reason()
  local medusa = ctx.medusa()

  -- A guest finds the order by its number and email (a wrong email: a bare 404).
  local found = ok(medusa.orders.lookupOrder { display_id = display_id, email = email }).order
  assert.are.equal(order_id, found.id)
  local res, err = medusa.orders.lookupOrder { display_id = display_id, email = "someone-else@medusa-lua.test" }
  assert.is_nil(res)
  assert_error(err, 404, "http_error")
  assert.are.equal("Not Found", err.body)

  -- Return one of the two items.
  res, err = medusa.returns.create {
    order_id = order_id, items = { { item_id = item_id, quantity = 1, reason_id = reason_id } },
    return_shipping = { option_id = return_option },
  }
  assert.is_nil(err)
  local ret = res["return"]
  assert.are.equal(order_id, ret.order_id)
  assert.are.equal("requested", ret.status)
  assert.are.equal(item_id, ret.items[1].item_id)
  assert.are.equal(reason_id, ret.items[1].reason_id)

  -- Swap the other one for another product: the backend makes the swap's cart.
  res, err = medusa.swaps.create {
    order_id = order_id, return_items = { { item_id = item_id, quantity = 1 } },
    additional_items = { { variant_id = swap_variant, quantity = 1 } }, return_shipping_option = return_option,
  }
  assert.is_nil(err)
  local swap = res.swap
  assert.matches("^swap_", swap.id)
  assert.are.equal(order_id, swap.order_id)
  assert.matches("^cart_", swap.cart_id)
  local by_cart = ok(medusa.swaps.retrieveByCartId(swap.cart_id)).swap
  assert.are.equal(swap.id, by_cart.id)
  assert.are.equal(swap_variant, by_cart.additional_items[1].variant_id)

  -- An order that is not fulfilled cannot be swapped.
  local unfulfilled = admin:order(variant_id, admin:shipping_option())
  local line = admin:get_order(unfulfilled).items[1].id
  res, err = medusa.swaps.create {
    order_id = unfulfilled, return_items = { { item_id = line, quantity = 1 } },
    additional_items = { { variant_id = swap_variant, quantity = 1 } },
  }
  assert.is_nil(res)
  assert_error(err, 400, "not_allowed", "Cannot swap an order that has not been fulfilled")
end)

case("customer: generatePasswordToken, then resetPassword with the token the backend emitted; bad tokens are errors", function(ctx)
  local medusa = ctx.medusa()
  local email = email_for("reset")
  local customer = ok(medusa.customers.create { email = email, password = PASSWORD, first_name = "A", last_name = "B" }).customer

  -- The backend answers 204 and emits the token for a notifier to email; the starter keeps it.
  local res, err = medusa.customers.generatePasswordToken { email = email }
  assert.is_nil(err)
  assert.are.equal(204, res.response.status)
  local token = ctx.backend.token_event("customer.password_reset", "email", email).token
  assert.matches("^[%w_-]+%.[%w_-]+%.[%w_-]+$", token)

  -- A token the backend did not sign: its verifier throws, and the route answers 500.
  res, err = medusa.customers.resetPassword { email = email, token = "not-a-token", password = "new-" .. PASSWORD }
  assert.is_nil(res)
  assert_error(err, 500, "unknown_error", "An unknown error occurred.")
  -- An email with no account: 401.
  res, err = medusa.customers.resetPassword { email = email_for("nobody"), token = token, password = "x-" .. PASSWORD }
  assert.is_nil(res)
  assert_error(err, 401, "unauthorized", "Invalid or expired password reset token")

  res, err = medusa.customers.resetPassword { email = email, token = token, password = "new-" .. PASSWORD }
  assert.is_nil(err)
  assert.are.equal(customer.id, res.customer.id)
  -- The new password logs in; the old one does not.
  local fresh = ctx.medusa()
  local _, denied = fresh.auth.authenticate { email = email, password = PASSWORD }
  assert_error(denied, 401, "http_error")
  assert.are.equal(customer.id, ok(fresh.auth.authenticate { email = email, password = "new-" .. PASSWORD }).customer.id)
end)

case("orders.requestCustomerOrders, then confirmRequest with the emitted token: the guest order becomes the customer's", function(ctx)
  local admin = Admin.new(ctx.medusa)
  local _, variant_id = admin:product { price = PRICE }
  local order_id, _, order_email = admin:order(variant_id, admin:shipping_option())
  local medusa = ctx.medusa()
  local customer = ok(medusa.customers.create {
    email = email_for("claim"), password = PASSWORD, first_name = "A", last_name = "B",
  }).customer
  assert.are.equal(0, ok(medusa.customers.listOrders()).count)

  -- 200 with Express's text/plain "OK"; the token goes out in an event, for an email.
  local res, err = medusa.orders.requestCustomerOrders { order_ids = { order_id } }
  assert.is_nil(err)
  assert.are.equal("OK", res.data)
  local event = ctx.backend.token_event("order-update-token.created", "new_customer_id", customer.id)
  assert.are.equal(order_email, event.old_email)
  assert.are.same({ order_id }, event.orders)

  res, err = medusa.orders.confirmRequest { token = "not-a-jwt" }
  assert.is_nil(res)
  assert_error(err, 400, "invalid_data", "token must be a jwt string")

  res, err = medusa.orders.confirmRequest { token = event.token }
  assert.is_nil(err)
  assert.are.equal(200, res.response.status)
  local orders = ok(medusa.customers.listOrders())
  assert.are.equal(1, orders.count)
  assert.are.equal(order_id, orders.orders[1].id)
  assert.are.equal(customer.id, admin:get_order(order_id).customer_id)
end)

case("cart payment sessions: refresh, update, delete; a discount code applied, then deleteDiscount", function(ctx)
  local admin = Admin.new(ctx.medusa)
  local _, variant_id = admin:product { price = PRICE }
  local option_id = admin:shipping_option { amount = SHIPPING }
  local _, code = admin:discount()
  local medusa = ctx.medusa()
  local cart = ok(medusa.carts.create { region_id = admin:region(), items = { { variant_id = variant_id, quantity = 2 } } }).cart
  ok(medusa.carts.update(cart.id, { email = email_for("sessions"), shipping_address = address() }))
  ok(medusa.carts.addShippingMethod(cart.id, { option_id = option_id }))

  cart = ok(medusa.carts.createPaymentSessions(cart.id)).cart
  local first = cart.payment_sessions[1]
  assert.are.equal("manual", first.provider_id)
  -- refresh: the provider's session is replaced by a new one.
  cart = ok(medusa.carts.refreshPaymentSession(cart.id, "manual")).cart
  assert.are.equal(1, #cart.payment_sessions)
  assert.are_not.equal(first.id, cart.payment_sessions[1].id)
  -- update: the route needs a selected session; the manual provider keeps its own data.
  ok(medusa.carts.setPaymentSession(cart.id, { provider_id = "manual" }))
  cart = ok(medusa.carts.updatePaymentSession(cart.id, "manual", { data = { note = "e2e" } })).cart
  assert.are.equal("manual", cart.payment_session.provider_id)
  assert.are.same({ status = "pending" }, cart.payment_session.data)
  -- delete: no session left.
  cart = ok(medusa.carts.deletePaymentSession(cart.id, "manual")).cart
  assert.are.same({}, cart.payment_sessions)

  -- A 10% discount, then removed by code.
  cart = ok(medusa.carts.update(cart.id, { discounts = { { code = code } } })).cart
  assert.are.same({ code }, field_of(cart.discounts, "code"))
  assert_integer(300, cart.discount_total) -- 10% of 2 x PRICE
  cart = ok(medusa.carts.deleteDiscount(cart.id, code)).cart
  assert.are.same({}, cart.discounts)
  assert_integer(0, cart.discount_total)
  local _, err = medusa.carts.update(cart.id, { discounts = { { code = "NO-SUCH-CODE" } } })
  assert_error(err, 404, "not_found")
end)

case("paymentMethods.list and customers.paymentMethods.list: the same route; the manual provider saves none", function(ctx)
  local medusa = ctx.medusa()
  ok(medusa.customers.create { email = email_for("methods"), password = PASSWORD, first_name = "A", last_name = "B" })
  local top = ok(medusa.paymentMethods.list())
  local nested = ok(medusa.customers.paymentMethods.list())
  assert.are.same({}, top.payment_methods)
  assert.are.same({}, nested.payment_methods)
  -- Logged out: the route needs a customer.
  local _, err = ctx.medusa().paymentMethods.list()
  assert_error(err, 401, "http_error")
end)

case("products.search: no search plugin here, so Medusa's default search service answers 200 with no hits", function(ctx)
  -- A real hit list needs a search plugin (MeiliSearch, Algolia) that indexes products;
  -- without one the backend's DefaultSearchService logs a warning and returns [] for every
  -- query, so an empty list is what this backend can prove.
  local admin = Admin.new(ctx.medusa)
  local _, _, handle = admin:product { title = "Searchable e2e shirt" }
  local res, err = ctx.medusa().products.search { q = handle, limit = 5 }
  assert.is_nil(err)
  assert.are.equal(200, res.response.status)
  assert.are.same({}, res.hits)
  local _, bad = ctx.medusa().products.search { q = 42 }
  assert_error(bad, 400, "invalid_data", "q must be a string")
end)

case("setPublishableKey: a key scoped to a new sales channel shows only its products; nil stops sending it", function(ctx)
  local admin = Admin.new(ctx.medusa)
  local key, channel_id = admin:publishable_key()
  local scoped_product, _, scoped_handle = admin:product { sales_channel_id = channel_id }
  local default_product, _, default_handle = admin:product()
  local medusa = ctx.medusa()
  -- Without a key the store sees the default channel only.
  assert.are.equal(0, ok(medusa.products.list { handle = scoped_handle }).count)
  assert.are.equal(default_product, ok(medusa.products.list { handle = default_handle }).products[1].id)

  medusa.setPublishableKey(key)
  assert.are.equal(scoped_product, ok(medusa.products.list { handle = scoped_handle }).products[1].id)
  assert.are.equal(0, ok(medusa.products.list { handle = default_handle }).count)
  -- A cart made with the key belongs to the key's channel.
  assert.are.equal(channel_id, ok(medusa.carts.create()).cart.sales_channel_id)

  medusa:setPublishableKey(nil)
  assert.are.equal(0, ok(medusa.products.list { handle = scoped_handle }).count)
  assert.are.equal(1, ok(medusa.products.list { handle = default_handle }).count)
end)

return cases
