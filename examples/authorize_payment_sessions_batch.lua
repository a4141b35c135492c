-- examples/authorize_payment_sessions_batch.lua: authorize several sessions in one call.
package.path = (arg[0]:match("^(.-)[^/]*$") or "") .. "?.lua;" .. package.path
-- MEDUSA_SESSION_IDS is a comma-separated list of session ids.
local common = require "common"
local id = common.env("MEDUSA_COLLECTION_ID")
local ids = {}
for sid in common.env("MEDUSA_SESSION_IDS"):gmatch("[^,]+") do ids[#ids + 1] = sid end

local res = common.check(common.medusa.paymentCollections.authorizePaymentSessionsBatch(id, { session_ids = ids }))
local pc = res.payment_collection
print(("collection %s: %s, authorized %s of %d"):format(pc.id, pc.status, tostring(pc.authorized_amount), pc.amount))
