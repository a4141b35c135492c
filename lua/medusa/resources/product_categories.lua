-- medusa.resources.product_categories: medusa-js's ProductCategoriesResource: the category tree.
return {
  name = "productCategories",
  methods = {
    list = { "GET", "/store/product-categories", query = "query?", returns = "product_categories",
      doc = "product categories" },
    retrieve = { "GET", "/store/product-categories/{id}", query = "query?", returns = "product_category",
      doc = "a category by id" },
  },
}
