-- medusa.resources.payment_collections: medusa-js's PaymentCollectionsResource. A collection
-- exists because an order edit asked for one (see orderEdits); these six routes pay it.
local BASE = "/store/payment-collections/{id}"

return {
  name = "paymentCollections",
  methods = {
    retrieve = { "GET", BASE, query = "query?", returns = "payment_collection",
      types = { query = "medusa.RetrieveQuery", result = "medusa.PaymentCollectionResult" },
      doc = "a payment collection; query.expand replaces the default relations" },
    authorizePaymentSession = { "POST", BASE .. "/sessions/{session_id}/authorize", returns = "payment_session",
      types = { result = "medusa.PaymentSessionResult" },
      doc = "authorizes one session of the collection" },
    authorizePaymentSessionsBatch = { "POST", BASE .. "/sessions/batch/authorize", body = "payload",
      arrays = { "session_ids" }, returns = "payment_collection",
      types = { payload = "{session_ids: string[]}", result = "medusa.PaymentCollectionResult" },
      doc = "authorizes the sessions payload.session_ids" },
    managePaymentSessionsBatch = { "POST", BASE .. "/sessions/batch", body = "payload",
      arrays = { "sessions" }, returns = "payment_collection",
      types = { payload = "{sessions: medusa.SessionInput[]}", result = "medusa.PaymentCollectionResult" },
      doc = "sets the sessions payload.sessions ({provider_id, amount, session_id?}); others are deleted" },
    managePaymentSession = { "POST", BASE .. "/sessions", body = "payload", returns = "payment_collection",
      types = { payload = "{provider_id: string}", result = "medusa.PaymentCollectionResult" },
      doc = "creates or updates the session of payload.provider_id for the whole amount" },
    refreshPaymentSession = { "POST", BASE .. "/sessions/{session_id}", returns = "payment_session",
      types = { result = "medusa.PaymentSessionResult" },
      doc = "replaces a session with a new one (a new id)" },
  },
}
