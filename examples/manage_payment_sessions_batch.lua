-- examples/manage_payment_sessions_batch.lua: set all sessions at once; the amounts must
package.path = (arg[0]:match("^(.-)[^/]*$") or "") .. "?.lua;" .. package.path
-- add up to the collection's amount (here split in two).
local common = require "common"
local medusa = common.medusa
local id = common.env("MEDUSA_COLLECTION_ID")

local pc = common.check(medusa.paymentCollections.retrieve(id)).payment_collection
local half = math.floor(pc.amount / 2)
local res = common.check(medusa.paymentCollections.managePaymentSessionsBatch(id, {
  sessions = {
    { provider_id = "manual", amount = half },
    { provider_id = "manual", amount = pc.amount - half },
  },
}))
common.print_sessions(res.payment_collection)
local ids = {}
for _, s in ipairs(res.payment_collection.payment_sessions) do ids[#ids + 1] = s.id end
print("MEDUSA_SESSION_IDS=" .. table.concat(ids, ","))
