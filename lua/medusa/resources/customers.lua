-- medusa.resources.customers: medusa-js's CustomerResource with its addresses and
-- paymentMethods. Every /me route needs a logged-in customer (a session cookie or a token).
local ME = "/store/customers/me"

return {
  name = "customers",
  methods = {
    create = { "POST", "/store/customers", body = "payload", returns = "customer", after = "start_session",
      doc = "registers {email, password, first_name, last_name, phone?} and logs the customer in" },
    retrieve = { "GET", ME, returns = "customer", doc = "the logged-in customer" },
    update = { "POST", ME, body = "payload", returns = "customer",
      doc = "sets names, email, phone, password, billing address, metadata" },
    listOrders = { "GET", ME .. "/orders", query = "params?", returns = "orders",
      doc = "the customer's orders: {orders, count, offset, limit}" },
    resetPassword = { "POST", "/store/customers/password-reset", body = "payload", returns = "customer",
      doc = "sets a new password with {email, password, token}" },
    generatePasswordToken = { "POST", "/store/customers/password-token", body = "payload",
      doc = "asks for a password-reset token for {email} (sent by the backend's notifier)" },
  },
  resources = {
    addresses = {
      name = "customers.addresses",
      methods = {
        addAddress = { "POST", ME .. "/addresses", body = "payload", returns = "customer",
          doc = "adds {address = {...}} to the customer's shipping addresses" },
        updateAddress = { "POST", ME .. "/addresses/{address_id}", body = "payload", returns = "customer",
          doc = "changes fields of a saved address" },
        deleteAddress = { "DELETE", ME .. "/addresses/{address_id}", returns = "customer",
          doc = "removes a saved address" },
      },
    },
    paymentMethods = require "medusa.resources.payment_methods",
  },
}
