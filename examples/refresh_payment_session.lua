-- examples/refresh_payment_session.lua: refresh a session; the backend replaces it with a new id.
package.path = (arg[0]:match("^(.-)[^/]*$") or "") .. "?.lua;" .. package.path
local common = require "common"
local id = common.env("MEDUSA_COLLECTION_ID")
local session_id = common.env("MEDUSA_SESSION_ID")

local res = common.check(common.medusa.paymentCollections.refreshPaymentSession(id, session_id))
local ps = res.payment_session
print(("session %s refreshed -> %s (status %s, amount %d)"):format(session_id, ps.id, ps.status, ps.amount))
print("MEDUSA_SESSION_ID=" .. ps.id)
