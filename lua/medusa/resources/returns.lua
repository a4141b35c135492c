-- medusa.resources.returns: medusa-js's ReturnsResource: a customer sends items of an order back.
return {
  name = "returns",
  methods = {
    create = { "POST", "/store/returns", body = "payload", arrays = { "items" }, returns = "return",
      doc = "a return of {order_id, items = {{item_id, quantity, reason_id?, note?}}, return_shipping?}" },
  },
}
