-- medusa.transport: picks the transport a new client uses. Every transport implements
--   send(request) -> response | nil, err     (one HTTP exchange, no policy)
--   sleep(ms)                                (backoff between retries)
--   close()
-- request  = {method, url, headers = {{name, value}, ...}, body?, timeout_ms,
--             connect_timeout_ms, max_response_bytes}
-- response = {status, headers = {name1, value1, name2, value2, ...}, body}
-- err      = {type = "network"|"timeout"|"tls"|"too_large", message, code, status?, headers?}
local transport = {}

-- settings.transport: nil (automatic) or "curl".
function transport.new(settings)
  local name = settings.transport or "curl"
  return require("medusa.transport." .. name).new(settings)
end

return transport
