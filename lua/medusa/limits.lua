-- medusa.limits: the sizes a request may have, checked before anything is sent, so a
-- request no server would take fails as the caller's mistake (a `bad argument` naming
-- what is too long) rather than as a network error after every retry. The values live in
-- the C core's contract (src/contract.h), which both transports follow.
local contract = require("medusa.core").contract

return {
  -- The request line and header block together (Node's default --max-http-header-size).
  REQUEST_HEAD_BYTES = contract.max_request_head_bytes,
  -- A resource call's path with its query, leaving 1 KiB of the head for the headers, so
  -- that an id or query too long is named by its own argument name.
  RESOURCE_TARGET_BYTES = contract.max_resource_target_bytes,
}
