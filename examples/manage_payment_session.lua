-- examples/manage_payment_session.lua: create (or update) the collection's session for one provider.
package.path = (arg[0]:match("^(.-)[^/]*$") or "") .. "?.lua;" .. package.path
local common = require "common"
local id = common.env("MEDUSA_COLLECTION_ID")

local res = common.check(common.medusa.paymentCollections.managePaymentSession(id, { provider_id = "manual" }))
local pc = res.payment_collection
print(("collection %s now has %d session(s)"):format(pc.id, #pc.payment_sessions))
common.print_sessions(pc)
print("MEDUSA_SESSION_ID=" .. pc.payment_sessions[1].id)
