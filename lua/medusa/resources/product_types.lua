-- medusa.resources.product_types: medusa-js's ProductTypesResource.
return {
  name = "productTypes",
  methods = {
    list = { "GET", "/store/product-types", query = "query?", returns = "product_types", doc = "product types" },
  },
}
