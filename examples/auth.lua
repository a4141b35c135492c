-- examples/auth.lua: log in as a customer two ways; each login belongs to its own client.
--   MEDUSA_EMAIL / MEDUSA_PASSWORD: a customer of the store
package.path = (arg[0]:match("^(.-)[^/]*$") or "") .. "?.lua;" .. package.path
local Medusa = require "medusa"
local common = require "common"
local email, password = common.env("MEDUSA_EMAIL"), common.env("MEDUSA_PASSWORD")
local base = os.getenv("MEDUSA_BASE_URL") or "http://localhost:9000"

-- A session cookie, kept in this client's jar.
local shopper = Medusa.new { baseUrl = base }
local res = common.check(shopper.auth.authenticate { email = email, password = password })
print("logged in (cookie) as " .. res.customer.email)
print("getSession: " .. common.check(shopper.auth.getSession()).customer.email)

-- Another client in the same process is not logged in.
local other = Medusa.new { baseUrl = base }
local _, err = other.auth.getSession()
print("another client: " .. tostring(err))

common.check(shopper.auth.deleteSession())
_, err = shopper.auth.getSession()
print("after deleteSession: " .. tostring(err))

-- A token, sent as Authorization: Bearer on this client's /store requests.
res = common.check(other.auth.getToken { email = email, password = password })
print(("token of %d characters; getSession: %s"):format(#res.access_token,
  common.check(other.auth.getSession()).customer.email))
other.auth.setToken(nil)
