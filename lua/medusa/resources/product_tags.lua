-- medusa.resources.product_tags: medusa-js's ProductTagsResource.
return {
  name = "productTags",
  methods = {
    list = { "GET", "/store/product-tags", query = "query?", returns = "product_tags", doc = "product tags" },
  },
}
