-- medusa.resources.carts: medusa-js's CartsResource and its lineItems (LineItemsResource).
-- A cart is the guest or customer checkout: items, addresses, shipping, payment sessions.
local CART = "/store/carts/{cart_id}"

return {
  name = "carts",
  methods = {
    create = { "POST", "/store/carts", body = "payload?", arrays = { "items" }, returns = "cart",
      doc = "a new cart ({region_id?, items?, ...})" },
    retrieve = { "GET", CART, returns = "cart", doc = "a cart" },
    update = { "POST", CART, body = "payload", arrays = { "gift_cards", "discounts" }, returns = "cart",
      doc = "sets email, addresses, region, discounts, gift cards, customer" },
    complete = { "POST", CART .. "/complete", returns = "data",
      doc = "places the order: {type = \"order\"|\"cart\"|\"swap\", data}" },
    addShippingMethod = { "POST", CART .. "/shipping-methods", body = "payload", returns = "cart",
      doc = "adds the shipping option payload.option_id" },
    createPaymentSessions = { "POST", CART .. "/payment-sessions", returns = "cart",
      doc = "one payment session per provider of the cart's region" },
    setPaymentSession = { "POST", CART .. "/payment-session", body = "payload", returns = "cart",
      doc = "selects the session of payload.provider_id" },
    refreshPaymentSession = { "POST", CART .. "/payment-sessions/{provider_id}/refresh", returns = "cart",
      doc = "replaces a provider's session with a new one" },
    updatePaymentSession = { "POST", CART .. "/payment-sessions/{provider_id}", body = "payload", returns = "cart",
      doc = "updates a provider's session data ({data})" },
    deletePaymentSession = { "DELETE", CART .. "/payment-sessions/{provider_id}", returns = "cart",
      doc = "removes a provider's session" },
    deleteDiscount = { "DELETE", CART .. "/discounts/{code}", returns = "cart", doc = "removes a discount code" },
  },
  resources = {
    lineItems = {
      name = "carts.lineItems",
      methods = {
        create = { "POST", CART .. "/line-items", body = "payload", returns = "cart",
          doc = "adds {variant_id, quantity, metadata?}" },
        update = { "POST", CART .. "/line-items/{line_id}", body = "payload", returns = "cart",
          doc = "sets {quantity, metadata?} of a line" },
        delete = { "DELETE", CART .. "/line-items/{line_id}", returns = "cart", doc = "removes a line" },
      },
    },
  },
}
