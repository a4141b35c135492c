-- medusa.response: what an attempt's outcome becomes for the caller. A 2xx is a Result (the
-- decoded body plus `response`, as medusa-js returns it); anything else is a medusa.Error
-- whose message says what happened, even when the server sent an HTML page.
local core = require "medusa.core"
local Error = require "medusa.error"
local pretty = require "medusa.pretty"
local Headers = require "medusa.headers"

local Response = {}

local RULES = Headers.RULES

-- A readable one-line summary of a non-JSON error body (an HTML page or plain text).
local function text_summary(body)
  -- Express's error pages title every page "Error"; the reason is the <pre>'s first line.
  local pre = body:match("<pre>(.-)</pre>")
  local text = (pre and (pre:match("^(.-)<br") or pre)) or body:match("<title>(.-)</title>") or body
  text = text:gsub("<br%s*/?>", " "):gsub("<[^>]*>", ""):gsub("&nbsp;", " "):gsub("%s+", " ")
  text = text:gsub("^ ", ""):gsub(" $", "")
  if #text > 200 then text = text:sub(1, 200) .. "..." end
  return text
end

-- What every object inside a result or an error body carries: a name and a readable
-- print (res.payment_collection, res.response.headers, err.body in the REPL). Nothing else:
-- pairs, the encoder and plain indexing see a plain table.
local Object = { __name = "medusa.object", __tostring = pretty }
Response.object_mt = Object

local function decode(body)
  local ok, value = pcall(core.json_decode, body, Object)
  if ok then return value end
  return nil, (tostring(value):gsub("^.-(medusa%.json: )", "%1"))
end

-- What an error without a body says after its status (RFC 9110's reason phrases).
local REASONS = {
  [400] = "Bad Request", [401] = "Unauthorized", [402] = "Payment Required", [403] = "Forbidden",
  [404] = "Not Found", [405] = "Method Not Allowed", [408] = "Request Timeout", [409] = "Conflict",
  [410] = "Gone", [413] = "Content Too Large", [415] = "Unsupported Media Type",
  [422] = "Unprocessable Content", [429] = "Too Many Requests", [500] = "Internal Server Error",
  [501] = "Not Implemented", [502] = "Bad Gateway", [503] = "Service Unavailable",
  [504] = "Gateway Timeout",
}

-- The error object for a response whose status is not 2xx; headers: its map without the
-- Set-Cookie list.
function Response.http_error(response, headers, call)
  local status, body = response.status, response.body
  local fields = {
    status = status, headers = headers and setmetatable(headers, Object), attempts = call.attempts,
    method = call.method, url = call.url, type = "http_error",
  }
  local decoded = body ~= "" and decode(body) or nil
  if type(decoded) == "table" then
    fields.body = decoded
    if type(decoded.type) == "string" then fields.type = decoded.type end
    if type(decoded.code) == "string" then fields.code = decoded.code end
    local message = decoded.message
    if type(message) == "string" then
      fields.message = message
    elseif message ~= nil then
      fields.message = core.json_encode(message)
    end
  elseif decoded ~= nil then
    fields.body = decoded
  elseif body ~= "" then
    fields.body = body
    -- The status is already in the error's own text: a page that starts with it ("503
    -- Service Unavailable") keeps the rest, so it is said once.
    local summary = text_summary(body)
    local rest = summary:match("^" .. status .. "%s+(.+)$")
    fields.message = rest or summary
  end
  if status >= 300 and status < 400 then
    fields.type = "redirect"
    fields.message = ("redirect to %s not followed"):format(tostring(headers.location))
  end
  fields.message = fields.message or REASONS[status] or "(no body)"
  return Error.new(fields)
end

-- The error object for an attempt the transport could not complete (network, timeout,
-- too_large, tls); headers: the head's map without the Set-Cookie list, when a head arrived.
function Response.transport_error(failure, headers, call)
  return Error.new {
    status = failure.status, type = failure.type, code = failure.code,
    message = failure.message, headers = headers and setmetatable(headers, Object),
    attempts = call.attempts, method = call.method, url = call.url,
  }
end

-- Results print as indented JSON in the REPL; to the encoder they are plain tables.
local Result = {
  __name = "medusa.Result",
  __tostring = function(result)
    local data = {}
    for k, v in pairs(result) do
      if k ~= "response" then data[k] = v end
    end
    local meta = rawget(result, "response")
    return pretty(data) .. (meta and ("\n-- response: HTTP %d"):format(meta.status) or "")
  end,
}
Response.Result = Result

-- The result of a 2xx response: the decoded body plus `response`, as medusa-js returns.
function Response.success(response, call)
  local headers = setmetatable(response.headers, Object)
  local meta = setmetatable({ status = response.status, headers = headers }, Object)
  local body = response.body
  if body == "" then return setmetatable({ response = meta }, Result) end
  local value, why = decode(body)
  if value == nil and why then
    -- A success the server itself labels as not JSON (Express's res.sendStatus(200) sends
    -- text/plain "OK") is data, as medusa-js keeps it; a body that claims JSON, or says
    -- nothing, and does not parse is a broken response.
    local content_type = headers["content-type"]
    if content_type and not content_type:lower():find("json", 1, true) then
      return setmetatable({ data = body, response = meta }, Result)
    end
    return nil, Error.new {
      status = response.status, type = "invalid_response",
      message = "response body is not valid JSON (" .. why .. ")",
      body = body, headers = Headers.without_lists(headers, RULES),
      attempts = call.attempts, method = call.method, url = call.url,
    }
  end
  if type(value) == "table" and getmetatable(value) == Object then
    value.response = meta
    return setmetatable(value, Result)
  end
  -- A JSON array, string or number has no keys to merge `response` into.
  return setmetatable({ data = value, response = meta }, Result)
end

return Response
