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
  local pcs = ctx.medusa().paymentCollections
  local medusa = ctx.medusa()
  local res = ok(pcs.managePaymentSessionsBatch(f.collection_id, { sessions = {
    { provider_id = "manual", amount = PRICE }, { provider_id = "manual", amount = PRICE },
  } }))
  local sessions = res.payment_collection.payment_sessions
  assert.are.equal(2, #sessions)
  res = ok(pcs.authorizePaymentSessionsBatch(f.collection_id, { session_ids = field_of(sessions, "id") }))
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

return cases
