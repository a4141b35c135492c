-- medusa.resources.shipping_options: medusa-js's ShippingOptionsResource: by region or for one cart.
return {
  name = "shippingOptions",
  methods = {
    list = { "GET", "/store/shipping-options", query = "query?", returns = "shipping_options",
      doc = "shipping options ({region_id?, product_ids?, is_return?})" },
    listCartOptions = { "GET", "/store/shipping-options/{cart_id}", returns = "shipping_options",
      doc = "the options a cart can ship with" },
  },
}
