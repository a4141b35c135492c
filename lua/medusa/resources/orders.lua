-- medusa.resources.orders: medusa-js's OrdersResource: an order by id, by cart, by lookup,
-- and claiming guest orders for a customer.
return {
  name = "orders",
  methods = {
    retrieve = { "GET", "/store/orders/{id}", returns = "order", doc = "an order" },
    retrieveByCartId = { "GET", "/store/orders/cart/{cart_id}", returns = "order",
      doc = "the order a completed cart became" },
    -- A GET whose payload is the query string (medusa-js sends it so; a GET has no body).
    lookupOrder = { "GET", "/store/orders", query = "payload", returns = "order",
      doc = "an order by {display_id, email, shipping_address?}" },
    requestCustomerOrders = { "POST", "/store/orders/batch/customer/token", body = "payload",
      arrays = { "order_ids" }, doc = "asks to claim guest orders {order_ids} for the logged-in customer" },
    confirmRequest = { "POST", "/store/orders/customer/confirm", body = "payload",
      doc = "confirms a claim with the emailed {token}" },
  },
}
