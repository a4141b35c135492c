-- medusa.resources.order_edits: medusa-js's OrderEditsResource. A requested edit whose
-- difference_due > 0 carries the payment_collection_id the customer pays before complete.
return {
  name = "orderEdits",
  methods = {
    retrieve = { "GET", "/store/order-edits/{id}", returns = "order_edit",
      doc = "an order edit with its changes, difference_due and payment_collection_id" },
    complete = { "POST", "/store/order-edits/{id}/complete", returns = "order_edit",
      doc = "confirms a requested edit (its payment collection must be authorized)" },
    decline = { "POST", "/store/order-edits/{id}/decline", body = "payload", returns = "order_edit",
      doc = "declines a requested edit ({declined_reason?})" },
  },
}
