-- medusa.resources.collections: medusa-js's CollectionsResource: product collections.
return {
  name = "collections",
  methods = {
    list = { "GET", "/store/collections", query = "query?", returns = "collections", doc = "product collections" },
    retrieve = { "GET", "/store/collections/{id}", returns = "collection", doc = "a collection by id" },
  },
}
