-- medusa.limits: the sizes a request may have, checked before anything is sent, so a
-- request no server would take fails as the caller's mistake (a `bad argument` naming
-- what is too long) rather than as a network error after every retry.
return {
  -- The request line and header block together: Node's (so the Medusa backend's)
  -- default --max-http-header-size; nginx's default large_client_header_buffers (8 KiB
  -- per line) is smaller still for one line, so stay well below either where you can.
  REQUEST_HEAD_BYTES = 16 * 1024,
  -- A resource call's path with its query, leaving 1 KiB of the head for the headers,
  -- so that an id or query too long is named by its own argument name.
  RESOURCE_TARGET_BYTES = 15 * 1024,
}
