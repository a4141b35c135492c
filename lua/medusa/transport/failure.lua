-- medusa.transport.failure: the failures of the cosocket transport, in the shape of
-- src/http.c's: {type, message, code, status?, headers?}. The types, code names and
-- messages are libcurl's (specs compare them with the libcurl transport's), so an err
-- looks the same from both transports. Used by medusa.transport.http1 (reading a
-- response) and medusa.transport.ngx (connecting, TLS, sending).
local core = require "medusa.core"

local monotonic_ms = core.monotonic_ms
local floor = math.floor
-- The types and fixed words both transports use (src/contract.h).
local TYPES, MESSAGES = core.contract.types, core.contract.messages
local BODY_TOO_LARGE = MESSAGES.body_too_large:gsub("%%ld", "%%d")

local failure = {}

-- `head` (status and headers) is given once a status line has arrived.
local function fault(kind, code, message, head)
  local err = { type = kind, code = code, message = message }
  if head then
    err.status = head.status
    err.headers = head.headers
  end
  return err
end

local function timed_out(what, started, received, head)
  return fault(TYPES.timeout, "CURLE_OPERATION_TIMEDOUT",
    ("Operation timed out after %d milliseconds with %d bytes received (%s)")
      :format(floor(monotonic_ms() - started), received, what), head)
end

local function too_large(limit, head)
  return fault(TYPES.too_large, TYPES.too_large, BODY_TOO_LARGE:format(limit), head)
end

failure.fault, failure.timed_out, failure.too_large = fault, timed_out, too_large
return failure
