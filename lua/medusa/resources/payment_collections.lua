-- medusa.resources.payment_collections: the six routes of medusa-js's
-- PaymentCollectionsResource, declared. Argument order and names follow medusa-js.
local BASE = "/store/payment-collections/{id}"

return {
  name = "paymentCollections",
  methods = {
    -- retrieve(id, query?, customHeaders?) -> {payment_collection, response}
    retrieve = { "GET", BASE, params = { "id" }, query = true },
    -- authorizePaymentSession(id, session_id, customHeaders?) -> {payment_session, response}
    authorizePaymentSession = { "POST", BASE .. "/sessions/{session_id}/authorize", params = { "id", "session_id" } },
    -- authorizePaymentSessionsBatch(id, {session_ids = {...}}, customHeaders?) -> {payment_collection, response}
    authorizePaymentSessionsBatch = { "POST", BASE .. "/sessions/batch/authorize", params = { "id" }, payload = true },
    -- managePaymentSessionsBatch(id, {sessions = {{provider_id, amount, session_id?}}}, customHeaders?)
    managePaymentSessionsBatch = { "POST", BASE .. "/sessions/batch", params = { "id" }, payload = true },
    -- managePaymentSession(id, {provider_id = "manual"}, customHeaders?) -> {payment_collection, response}
    managePaymentSession = { "POST", BASE .. "/sessions", params = { "id" }, payload = true },
    -- refreshPaymentSession(id, session_id, customHeaders?) -> {payment_session, response}
    refreshPaymentSession = { "POST", BASE .. "/sessions/{session_id}", params = { "id", "session_id" } },
  },
}
