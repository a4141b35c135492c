-- examples/errors.lua: what a failure looks like: nil plus an error object.
package.path = (arg[0]:match("^(.-)[^/]*$") or "") .. "?.lua;" .. package.path
local common = require "common"

local res, err = common.medusa.paymentCollections.retrieve("paycol_does_not_exist")
assert(res == nil)
print(err)                                   -- one readable line
print("status:", err.status, "type:", err.type, "attempts:", err.attempts)
