-- examples/openresty/storefront.lua: the handlers of examples/openresty/nginx.conf, a
-- checkout summary and a "pay" action backed by medusa.paymentCollections.
--   GET  /checkout/<payment collection id>/summary -> {id, amount, currency, status, sessions}
--   POST /checkout/<payment collection id>/pay     -> a manual payment session, authorized
local Medusa = require "medusa"

-- One client per worker, made when init_by_lua preloads this module. It needs no
-- transport setting: each call picks cosockets (non-blocking) in handlers and timers,
-- and libcurl only where nginx disables cosockets.
local medusa = Medusa.new {
  baseUrl = os.getenv("MEDUSA_BASE_URL") or "http://127.0.0.1:9000",
  publishableApiKey = os.getenv("MEDUSA_PUBLISHABLE_KEY"),
  maxRetries = 2,
  timeout = 5000,
  connectTimeout = 2000,
}

local storefront = {}

local function reply(status, value)
  ngx.status = status
  ngx.header["Content-Type"] = "application/json"
  ngx.say(Medusa.json.encode(value))
end

-- A failed call: logged whole (tostring gives one line without secrets), answered short.
-- (Never ngx.say(err) or error(err): nginx cannot print a table.)
local function fail(err)
  ngx.log(ngx.ERR, "payment collection call failed: ", tostring(err))
  local status = err.status
  if status == nil or status >= 500 then status = 502 end
  return reply(status, { error = err.type, message = err.message })
end

function storefront.summary(id)
  local res, err = medusa.paymentCollections.retrieve(id, { expand = "region,payment_sessions" })
  if not res then return fail(err) end
  local pc = res.payment_collection
  local sessions = Medusa.array {}
  for i, s in ipairs(pc.payment_sessions or {}) do
    sessions[i] = { id = s.id, provider = s.provider_id, amount = s.amount, status = s.status }
  end
  return reply(200, {
    id = pc.id, amount = pc.amount, status = pc.status, sessions = sessions,
    currency = pc.region and pc.region.currency_code or pc.currency_code,
  })
end

function storefront.pay(id)
  if ngx.req.get_method() ~= "POST" then
    ngx.header["Allow"] = "POST"
    return reply(405, { error = "method_not_allowed" })
  end
  local res, err = medusa.paymentCollections.managePaymentSession(id, { provider_id = "manual" })
  if not res then return fail(err) end
  local session = res.payment_collection.payment_sessions[1]
  res, err = medusa.paymentCollections.authorizePaymentSession(id, session.id)
  if not res then return fail(err) end
  return reply(200, { id = id, session = res.payment_session.id, status = res.payment_session.status })
end

return storefront
