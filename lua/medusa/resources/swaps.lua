-- medusa.resources.swaps: medusa-js's SwapsResource: items of an order exchanged for others.
return {
  name = "swaps",
  methods = {
    create = { "POST", "/store/swaps", body = "payload", arrays = { "return_items", "additional_items" },
      returns = "swap", doc = "a swap of {order_id, return_items, additional_items, return_shipping_option?}" },
    retrieveByCartId = { "GET", "/store/swaps/{cart_id}", returns = "swap", doc = "the swap of a cart" },
  },
}
