-- medusa.resources.products: medusa-js's ProductsResource and its variants
-- (ProductVariantsResource).
return {
  name = "products",
  methods = {
    list = { "GET", "/store/products", query = "query?", returns = "products",
      doc = "products: {products, count, offset, limit}" },
    retrieve = { "GET", "/store/products/{id}", returns = "product", doc = "a product by id" },
    search = { "POST", "/store/products/search", body = "searchOptions", returns = "hits",
      doc = "full-text search through the backend's search plugin ({q, offset?, limit?, filter?})" },
  },
  resources = {
    variants = {
      name = "products.variants",
      methods = {
        list = { "GET", "/store/variants", query = "query?", returns = "variants", doc = "variants" },
        retrieve = { "GET", "/store/variants/{id}", returns = "variant", doc = "a variant by id" },
      },
    },
  },
}
