-- examples/authorize_payment_session.lua: authorize one session.
package.path = (arg[0]:match("^(.-)[^/]*$") or "") .. "?.lua;" .. package.path
local common = require "common"
local id = common.env("MEDUSA_COLLECTION_ID")
local session_id = common.env("MEDUSA_SESSION_ID")

local res = common.check(common.medusa.paymentCollections.authorizePaymentSession(id, session_id))
local ps = res.payment_session
print(("session %s: %s"):format(ps.id, ps.status))
