-- medusa.resources.regions: medusa-js's RegionsResource: where a store sells, in which currency, with which providers.
return {
  name = "regions",
  methods = {
    list = { "GET", "/store/regions", returns = "regions", doc = "regions with their countries and providers" },
    retrieve = { "GET", "/store/regions/{id}", returns = "region",
      doc = "a region; payment_providers lists what can pay in it" },
  },
}
