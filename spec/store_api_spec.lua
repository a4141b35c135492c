-- spec/store_api_spec.lua: the store API's surface as the declarations build it: every
-- resource and nested resource, argument checks that name the argument, dot and colon
-- calls, JSON-array fields per route, the GET whose payload is a query, the login that
-- customers.create starts, and setPublishableKey per client. What each method sends,
-- compared with medusa-js, is store_wire_spec.lua's concern.
local Medusa = require "medusa"
local Resources = require "medusa.resources"
local Server = require "support.server"
local H = require "helpers"

local function raises(fn, ...)
  local ok, err = pcall(fn, ...)
  assert.is_false(ok, "expected an error")
  return tostring(err)
end

describe("the store API", function()
  local srv, medusa

  setup(function()
    srv = Server.start { mode = "script" }
  end)
  teardown(function()
    srv:stop()
  end)
  before_each(function()
    srv:reset()
    medusa = Medusa.new { baseUrl = srv.url }
  end)
  after_each(function()
    medusa:close()
  end)

  local function only_request()
    local log = srv:log()
    assert.are.equal(1, #log, "expected exactly one request")
    return log[1]
  end

  it("has every medusa-js 6.1.10 store resource, nested ones included: 64 methods", function()
    local count = 0
    local function walk(resource, spec, where)
      for name, decl in pairs(spec.methods) do
        assert.are.equal("function", type(resource[name]), where .. "." .. name)
        if not decl.local_call then count = count + 1 end
      end
      for name, child in pairs(spec.resources or {}) do
        walk(resource[name], child, where .. "." .. name)
      end
    end
    for _, name in ipairs(Resources.names) do walk(medusa[name], Resources.list[name], name) end
    -- customers.paymentMethods is paymentMethods again (one class in medusa-js): 63 + 1.
    assert.are.equal(64 + 1, count)
    for _, path in ipairs { "carts.lineItems", "customers.addresses", "customers.paymentMethods", "products.variants" } do
      local parent, child = path:match("^(%w+)%.(%w+)$")
      assert.is_table(medusa[parent][child], path)
    end
    assert.are.equal(18, #Resources.names)
  end)

  it("takes dot and colon calls alike, nested resources too", function()
    assert(medusa.carts.lineItems.update("cart_1", "item_1", { quantity = 2 }))
    assert(medusa.carts.lineItems:update("cart_1", "item_1", { quantity = 2 }))
    assert(medusa.customers.addresses:deleteAddress("addr_1"))
    assert(medusa.customers:retrieve())
    local log = srv:log()
    assert.are.equal(4, #log)
    assert.are.equal(log[1].target, log[2].target)
    assert.are.equal(log[1].body, log[2].body)
    assert.are.equal("/store/carts/cart_1/line-items/item_1", log[1].target)
    assert.are.equal("DELETE /store/customers/me/addresses/addr_1", log[3].method .. " " .. log[3].target)
    assert.are.equal("{}", log[3].body)
    assert.are.equal("GET /store/customers/me", log[4].method .. " " .. log[4].target)
  end)

  it("names the bad argument, whatever the route calls it, and sends nothing", function()
    assert.matches("bad argument 'cart_id'", raises(medusa.carts.retrieve, nil))
    assert.matches("bad argument 'line_id'", raises(medusa.carts.lineItems.update, "c", 5, {}))
    assert.matches("bad argument 'payload'", raises(medusa.carts.update, "c", "email"))
    assert.matches("bad argument 'searchOptions'", raises(medusa.products.search, "shirt"))
    assert.matches("bad argument 'params'", raises(medusa.customers.listOrders, "x"))
    assert.matches("bad argument 'query'", raises(medusa.products.list, 5))
    assert.matches("bad argument 'payload'", raises(medusa.orders.lookupOrder, "1"))
    assert.matches("bad argument 'provider_id'", raises(medusa.carts.deletePaymentSession, "c", ""))
    assert.matches("bad argument 'code'", raises(medusa.giftCards.retrieve, ".."))
    assert.matches("bad argument 'customHeaders'", raises(medusa.regions.list, "x"))
    assert.matches("bad argument 'customHeaders'", raises(medusa.carts.complete, "c", 1))
    assert.are.same({}, srv:log())
  end)

  it("percent-encodes every path parameter as one segment", function()
    assert(medusa.carts.deleteDiscount("cart 1", "10%/OFF"))
    assert.are.equal("/store/carts/cart%201/discounts/10%25%2FOFF", only_request().target)
  end)

  it("keeps each route's declared array fields arrays when empty, and only those", function()
    assert(medusa.carts.create { items = {} })
    assert(medusa.carts.update("c", { discounts = {}, gift_cards = {}, metadata = {} }))
    assert(medusa.swaps.create { order_id = "o", return_items = {}, additional_items = {} })
    assert(medusa.orders.requestCustomerOrders { order_ids = {} })
    -- items is an array field of carts.create, not of a line item's update.
    assert(medusa.carts.lineItems.update("c", "i", { quantity = 1, metadata = { items = {} } }))
    local bodies = {}
    for i, r in ipairs(srv:log()) do bodies[i] = r.body end
    assert.are.same({
      '{"items":[]}',
      '{"discounts":[],"gift_cards":[],"metadata":{}}',
      '{"additional_items":[],"order_id":"o","return_items":[]}',
      '{"order_ids":[]}',
      '{"metadata":{"items":{}},"quantity":1}',
    }, bodies)
  end)

  it("client.request, which knows no route, keeps every declared array field an array", function()
    assert(medusa.client.request("POST", "/store/x", { items = {}, return_items = {}, other = {} }))
    assert.are.equal('{"items":[],"other":{},"return_items":[]}', only_request().body)
  end)

  it("orders.lookupOrder is a GET whose payload is the query string, with no body", function()
    assert(medusa.orders.lookupOrder { display_id = 7, email = "a b@example.com", shipping_address = { postal_code = "1 2" } })
    local r = only_request()
    assert.are.equal("GET", r.method)
    assert.are.equal("/store/orders?display_id=7&email=a%20b%40example.com&shipping_address%5Bpostal_code%5D=1%202", r.target)
    assert.are.equal(0, r.body_len)
    assert.is_nil(H.header(r, "content-length"))
    srv:reset()
    assert(medusa.orders.lookupOrder {})
    assert.are.equal("/store/orders", only_request().target)
  end)

  it("list routes take a query table; an empty one adds no bare '?'", function()
    assert(medusa.products.list { limit = 2, collection_id = { "c1", "c2" } })
    assert(medusa.productCategories.retrieve("pcat_1", { expand = "category_children" }))
    assert(medusa.customers.listOrders {})
    assert(medusa.shippingOptions.list())
    local targets = {}
    for i, r in ipairs(srv:log()) do targets[i] = r.target end
    assert.are.same({
      "/store/products?collection_id%5B0%5D=c1&collection_id%5B1%5D=c2&limit=2",
      "/store/product-categories/pcat_1?expand=category_children",
      "/store/customers/me/orders",
      "/store/shipping-options",
    }, targets)
  end)

  it("customers.create logs the new customer in: this client sends its session cookie, another does not", function()
    srv:script {
      { status = 200, headers = { { "Content-Type", "application/json" }, { "Set-Cookie", "connect.sid=s%3Anew; Path=/; HttpOnly" } },
        json = { customer = { id = "cus_1", email = "new@example.com" } } },
    }
    local other = Medusa.new { baseUrl = srv.url }
    local res = assert(medusa.customers.create { email = "new@example.com", password = "pw", first_name = "N", last_name = "C" })
    assert.are.equal("cus_1", res.customer.id)
    assert(medusa.customers.retrieve())
    assert(medusa.paymentMethods.list())
    assert(other.customers.retrieve())
    local log = srv:log()
    assert.are.equal(4, #log)
    assert.is_nil(H.header(log[1], "cookie"))
    assert.are.equal("connect.sid=s%3Anew", H.header(log[2], "cookie"))
    assert.are.equal("connect.sid=s%3Anew", H.header(log[3], "cookie"))
    assert.is_nil(H.header(log[4], "cookie"))
    other:close()
  end)

  it("a failed customers.create logs nobody in", function()
    srv:script {
      { status = 422, headers = { { "Content-Type", "application/json" }, { "Set-Cookie", "connect.sid=s%3Ax; Path=/" } },
        json = { type = "duplicate_error", message = "A customer with the given email already has an account." } },
    }
    local _, err = medusa.customers.create { email = "old@example.com", password = "pw" }
    assert.are.equal("duplicate_error", err.type)
    assert(medusa.customers.retrieve())
    assert.is_nil(H.header(srv:log()[2], "cookie"))
  end)

  describe("setPublishableKey", function()
    it("sends the key on every later request of this client only, dot or colon", function()
      local other = Medusa.new { baseUrl = srv.url, publishableApiKey = "pk_config" }
      medusa.setPublishableKey("pk_1")
      assert(medusa.regions.list())
      medusa:setPublishableKey("pk_2")
      assert(medusa.regions.list())
      assert(other.regions.list())
      other:setPublishableKey("pk_3")
      assert(other.regions.list())
      other.setPublishableKey(nil)
      assert(other.regions.list())
      local keys = {}
      for i, r in ipairs(srv:log()) do keys[i] = H.header(r, "x-publishable-api-key") or "-" end
      assert.are.same({ "pk_1", "pk_2", "pk_config", "pk_3", "-" }, keys)
      other:close()
    end)

    it("replaces the key in a client's reused header list, POSTs with retries too", function()
      local m = Medusa.new { baseUrl = srv.url, maxRetries = 2 }
      assert(m.carts.create())
      m:setPublishableKey("pk_new")
      assert(m.carts.create())
      assert(m.regions.list())
      local log = srv:log()
      assert.is_nil(H.header(log[1], "x-publishable-api-key"))
      assert.are.equal("pk_new", H.header(log[2], "x-publishable-api-key"))
      assert.are.equal("pk_new", H.header(log[3], "x-publishable-api-key"))
      m:close()
    end)

    it("refuses a key that could split the request, naming it", function()
      assert.matches("bad argument 'key'", raises(medusa.setPublishableKey, "pk\r\nX: y"))
      assert.matches("bad argument 'key'", raises(medusa.setPublishableKey, 5))
    end)
  end)

  it("prints each resource as its method signatures, one per line", function()
    local text = tostring(medusa.carts)
    assert.matches("\n  retrieve%(cart_id, customHeaders%?%)\n", text)
    assert.matches("\n  updatePaymentSession%(cart_id, provider_id, payload, customHeaders%?%)\n", text)
    assert.matches("\n  lineItems: medusa%.carts%.lineItems$", text)
    assert.matches("^medusa%.carts%.lineItems\n  create%(cart_id, payload, customHeaders%?%)", tostring(medusa.carts.lineItems))
    assert.matches("listOrders%(params%?, customHeaders%?%)", tostring(medusa.customers))
    assert.matches("setPublishableKey", tostring(medusa))
  end)
end)
