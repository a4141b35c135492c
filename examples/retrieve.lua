-- examples/retrieve.lua: fetch a payment collection, with and without `expand`.
package.path = (arg[0]:match("^(.-)[^/]*$") or "") .. "?.lua;" .. package.path
local common = require "common"
local medusa = common.medusa
local id = common.env("MEDUSA_COLLECTION_ID")

local res = common.check(medusa.paymentCollections.retrieve(id))
local pc = res.payment_collection
print(("collection %s: %s %d %s (HTTP %d)"):format(pc.id, pc.status, pc.amount, pc.currency_code, res.response.status))
common.print_sessions(pc)

-- `expand` replaces the default relations: only the region comes back.
res = common.check(medusa.paymentCollections:retrieve(id, { expand = "region" }))
print(("expand=region: region %s, payment_sessions %s"):format(
  res.payment_collection.region.name, res.payment_collection.payment_sessions and "present" or "absent"))
