-- bench/nginx/lua/bench_handlers.lua: the two handlers bench/nginx/edge.conf runs under wrk.
-- Both answer "ok" only after checking the decoded collection, so an error is never counted
-- as a fast request. /medusa answers 501 with the reason when medusa-lua has no usable
-- cosocket transport (the runner then reports it as not available).
local cjson = require "cjson"

local COLLECTION_ID = "paycol_01M8BYPHXRGD7ZHY4WRJND4H48"
local PATH = "/store/payment-collections/" .. COLLECTION_ID

local handlers = {}

-- One client per worker, made on first use (cosockets do not exist in init_by_lua).
local medusa, medusa_failure

local function medusa_client()
  if medusa or medusa_failure then return medusa, medusa_failure end
  local ok, result = pcall(function()
    local Medusa = require "medusa"
    local client = Medusa.new { baseUrl = ngx.var.bench_upstream, transport = "ngx" }
    if getmetatable(client.client.transport) == require("medusa.transport.curl") then
      error("Medusa.new{transport = \"ngx\"} picked the blocking libcurl transport")
    end
    return client
  end)
  if ok then medusa = result else medusa_failure = tostring(result) end
  return medusa, medusa_failure
end

local function answer(collection)
  if type(collection) ~= "table" or collection.id ~= COLLECTION_ID then
    ngx.status = 502
    ngx.say("unexpected body")
    return
  end
  ngx.print("ok")
end

function handlers.medusa()
  local client, failure = medusa_client()
  if not client then
    ngx.status = 501
    ngx.say("not available: ", failure)
    return
  end
  local res, err = client.paymentCollections.retrieve(COLLECTION_ID)
  if not res then
    ngx.status = 502
    ngx.say("retrieve failed: ", tostring(err))
    return
  end
  answer(res.payment_collection)
end

local REQUEST_HEAD

-- The least a correct keep-alive GET needs: status line, headers up to Content-Length, body.
local function bare_get(host, port)
  local sock = ngx.socket.tcp()
  sock:settimeouts(10000, 10000, 10000)
  local ok, err = sock:connect(host, port)
  if not ok then return nil, "connect: " .. tostring(err) end
  REQUEST_HEAD = REQUEST_HEAD or table.concat {
    "GET ", PATH, " HTTP/1.1\r\nHost: ", host, ":", port, "\r\n",
    "Accept: application/json\r\nContent-Type: application/json\r\n",
    "User-Agent: bench-bare\r\n\r\n",
  }
  ok, err = sock:send(REQUEST_HEAD)
  if not ok then return nil, "send: " .. tostring(err) end
  local line
  line, err = sock:receive("*l")
  if not line then return nil, "status: " .. tostring(err) end
  local status = tonumber(line:match("^HTTP/1%.%d (%d%d%d)"))
  local length
  while true do
    line, err = sock:receive("*l")
    if not line then return nil, "header: " .. tostring(err) end
    if line == "" then break end
    local value = line:match("^[Cc]ontent%-[Ll]ength:%s*(%d+)")
    if value then length = tonumber(value) end
  end
  if not length then return nil, "no Content-Length" end
  local body
  body, err = sock:receive(length)
  if not body then return nil, "body: " .. tostring(err) end
  sock:setkeepalive(60000, 16)
  return status, body
end

local upstream_host, upstream_port

function handlers.bare()
  if not upstream_host then
    upstream_host, upstream_port = ngx.var.bench_upstream:match("^http://([^:/]+):(%d+)$")
    upstream_port = tonumber(upstream_port)
  end
  local status, body = bare_get(upstream_host, upstream_port)
  if status ~= 200 then
    ngx.status = 502
    ngx.say("bare GET failed: ", tostring(status), " ", tostring(body))
    return
  end
  answer(cjson.decode(body).payment_collection)
end

return handlers
