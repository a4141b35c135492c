-- medusa.retry: whether a failed attempt is sent again and how long to wait first, as
-- medusa-js 6.1.10 decides it with retry-axios 2.6.0, except that a POST or DELETE whose
-- status line arrived (it reached the server) is never sent again. How many retries a call
-- gets is the config's maxRetries, counted by the pipeline.
local core = require "medusa.core"

local Retry = {}

-- A server asking for a longer wait gets none: the call fails now instead of hanging.
local MAX_RETRY_AFTER_MS = 300000

-- Milliseconds to wait before retry number n, or nil when no retry may follow.
-- Without Retry-After: 500, 1500, 3500 ms, ..., each at most max_delay (the config's
-- maxRetryDelay; medusa-js has no cap, so maxRetries 10 could block for 17 minutes). A
-- Retry-After in seconds or as an HTTP date replaces that when it lies in the future and
-- within both MAX_RETRY_AFTER_MS and max_delay: a server asking for longer gets no retry
-- rather than one sent before the time it named.
function Retry.delay(n, headers, max_delay)
  local value = headers and headers["retry-after"]
  if value == nil then
    local ms = ((2 ^ n - 1) / 2) * 1000
    if max_delay and ms > max_delay then ms = max_delay end
    return ms
  end
  local ms
  local trimmed = value:match("^%s*(.-)%s*$")
  local seconds = trimmed == "" and 0 or tonumber(trimmed)
  if seconds then
    ms = seconds * 1000
  else
    local date = core.parse_http_date(value)
    ms = date and (date * 1000 - core.now_ms()) or nil
  end
  if ms == nil or ms ~= ms or ms <= 0 or ms > MAX_RETRY_AFTER_MS then return nil end
  if max_delay and ms > max_delay then return nil end
  return ms
end

-- Whether a failed attempt may be sent again (before the attempt budget is looked at).
function Retry.retryable(method, err, status_line_arrived)
  if err.type == "network" or err.type == "timeout" then
    -- Without a status line the request may never have arrived. After one, a POST or
    -- DELETE reached the server, so only an idempotent GET is sent again.
    return not status_line_arrived or method == "GET"
  end
  -- A local failure (the request could not even be built here) would fail the same way again.
  if err.type == "too_large" or err.type == "invalid_response" or err.type == "tls" or err.type == "local"
    or err.type == "cancelled" then
    return false
  end
  local status = err.status
  return status == 409 or (status ~= nil and status >= 501 and status <= 599)
end

return Retry
