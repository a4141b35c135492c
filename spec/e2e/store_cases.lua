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

return cases
