-- medusa.transport.curl: the blocking libcurl transport. It adapts the C client to the
-- transport interface the pipeline uses: send(request) -> response | nil, err.
local core = require "medusa.core"

local CurlTransport = {}
CurlTransport.__index = CurlTransport
CurlTransport.__name = "medusa.transport.curl"
CurlTransport.name = "curl"

function CurlTransport.new(settings)
  return setmetatable({
    handle = core.http_new(),
    ca_file = settings.caFile,
  }, CurlTransport)
end

-- request: {method, url, headers = {{name, value}, ...}, body, timeout_ms,
--           connect_timeout_ms, max_response_bytes, header_rules?}
-- response: {status, headers (a map with header_rules, else flat), body}
-- err: {type, message, code, status?, headers?}
function CurlTransport:send(request)
  request.ca_file = self.ca_file
  return self.handle:perform(request)
end

function CurlTransport.sleep(_, ms)
  core.sleep_ms(ms)
end

function CurlTransport:close()
  self.handle:close()
end

return CurlTransport
