-- medusa.resources.return_reasons: medusa-js's ReturnReasonsResource.
return {
  name = "returnReasons",
  methods = {
    list = { "GET", "/store/return-reasons", returns = "return_reasons", doc = "return reasons" },
    retrieve = { "GET", "/store/return-reasons/{id}", returns = "return_reason", doc = "a return reason by id" },
  },
}
