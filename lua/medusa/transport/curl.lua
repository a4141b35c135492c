-- medusa.transport.curl: the libcurl transport. It adapts the C client to the transport
-- interface the pipeline uses: send(request) -> response | nil, err. Outside a task a
-- send blocks on the client's own easy handle; inside a task (medusa.tasks) it goes
-- through the client's multi handle, and the task yields until the response is in, so a
-- retry loop waits as a timer instead of a sleep.
local core = require "medusa.core"
local Scheduler = require "medusa.tasks.scheduler"

local current, transfer, task_sleep = Scheduler.current, Scheduler.transfer, Scheduler.sleep

local CurlTransport = {}
CurlTransport.__index = CurlTransport
CurlTransport.__name = "medusa.transport.curl"
CurlTransport.name = "curl"

function CurlTransport.new(settings)
  return setmetatable({
    handle = core.http_new(),
    ca_file = settings.caFile,
    max_in_flight = settings.maxInFlight,
  }, CurlTransport)
end

-- request: {method, url, headers = {{name, value}, ...}, body, timeout_ms,
--           connect_timeout_ms, max_response_bytes, header_rules?}
-- response: {status, headers (a map with header_rules, else flat), body}
-- err: {type, message, code, status?, headers?}
function CurlTransport:send(request)
  request.ca_file = self.ca_file
  local task = current()
  if task then
    local lane = self.lane
    if not lane then
      lane = Scheduler.lane(self.max_in_flight)
      self.lane = lane
    end
    return transfer(task, lane, request)
  end
  return self.handle:perform(request)
end

function CurlTransport.sleep(_, ms)
  local task = current()
  if task then return task_sleep(task, ms) end
  core.sleep_ms(ms)
end

-- Tasks with a request on this client are cancelled first.
function CurlTransport:close()
  if self.lane then
    Scheduler.close_lane(self.lane)
    self.lane = nil
  end
  self.handle:close()
end

return CurlTransport
