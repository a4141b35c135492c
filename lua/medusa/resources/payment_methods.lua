-- medusa.resources.payment_methods: medusa-js's PaymentMethodsResource, reachable both as
-- medusa.paymentMethods and as medusa.customers.paymentMethods (the same call).
return {
  name = "paymentMethods",
  methods = {
    list = { "GET", "/store/customers/me/payment-methods", returns = "payment_methods",
      doc = "the logged-in customer's saved payment methods, per provider" },
  },
}
