-- bench/nginx/wrk_post.lua: makes wrk send the managePaymentSession request (the server's
-- ceiling for POST), with the body and header set medusa-lua sends.
-- luacheck: globals wrk
wrk.method = "POST"
wrk.body = '{"provider_id":"manual"}'
wrk.headers["Accept"] = "application/json"
wrk.headers["Content-Type"] = "application/json"
