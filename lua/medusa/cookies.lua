-- medusa.cookies: a client's own cookie jar, in the pipeline so every transport shares it.
-- It stays off until a login turns it on (so until then the wire matches medusa-js, which
-- never sends cookies in Node), and it only ever talks to the client's one base host, so
-- cookies are host-only: Domain attributes are ignored, Path, Max-Age, Expires and
-- Secure are honoured.
local core = require "medusa.core"

local Jar = {}
Jar.__index = Jar
Jar.__name = "medusa.cookies"

function Jar.new(secure_origin)
  return setmetatable({ enabled = false, secure_origin = secure_origin, cookies = {} }, Jar)
end

local function now_s()
  return core.now_ms() / 1000
end

local function default_path(request_path)
  local dir = request_path:match("^(/.*)/[^/]*$")
  return (dir and dir ~= "") and dir or "/"
end

-- RFC 6265 §5.1.4: /a matches /a, /a/ and /a/b but not /ab.
local function path_matches(cookie_path, request_path)
  if request_path == cookie_path then return true end
  if request_path:sub(1, #cookie_path) ~= cookie_path then return false end
  return cookie_path:sub(-1) == "/" or request_path:sub(#cookie_path + 1, #cookie_path + 1) == "/"
end

-- Stores one Set-Cookie header value received for request_path.
function Jar:store(header, request_path)
  local pair, attributes = header:match("^([^;]*)(.*)$")
  local name, value = pair:match("^%s*([^=]-)%s*=%s*(.-)%s*$")
  if not name or name == "" then return end
  local cookie = { name = name, value = value, path = default_path(request_path) }
  for attribute in attributes:gmatch(";%s*([^;]*)") do
    local key, arg = attribute:match("^([^=]-)%s*=%s*(.-)%s*$")
    key = (key or attribute):lower():gsub("%s+$", "")
    if key == "path" and arg and arg:sub(1, 1) == "/" then
      cookie.path = arg
    elseif key == "max-age" and arg and tonumber(arg) then
      cookie.expires = now_s() + tonumber(arg)
    elseif key == "expires" and arg and not cookie.max_age_seen then
      local t = core.parse_http_date(arg)
      if t then cookie.expires = t end
    elseif key == "secure" then
      cookie.secure = true
    end
    if key == "max-age" then cookie.max_age_seen = true end
  end
  local key = cookie.name .. "\0" .. cookie.path
  if cookie.expires and cookie.expires <= now_s() then
    self.cookies[key] = nil
  else
    self.cookies[key] = cookie
  end
end

-- Stores every Set-Cookie of a response header map (set-cookie is a list there).
function Jar:store_all(list, request_path)
  for _, header in ipairs(list or {}) do self:store(header, request_path) end
end

-- The Cookie header value for a request, or nil. Longer paths first, as RFC 6265 says.
function Jar:header(request_path)
  if not self.enabled then return nil end
  local now, matching = now_s(), {}
  for key, cookie in pairs(self.cookies) do
    if cookie.expires and cookie.expires <= now then
      self.cookies[key] = nil
    elseif path_matches(cookie.path, request_path) and (self.secure_origin or not cookie.secure) then
      matching[#matching + 1] = cookie
    end
  end
  if #matching == 0 then return nil end
  table.sort(matching, function(a, b)
    if #a.path ~= #b.path then return #a.path > #b.path end
    return a.name < b.name
  end)
  local parts = {}
  for i, cookie in ipairs(matching) do parts[i] = cookie.name .. "=" .. cookie.value end
  return table.concat(parts, "; ")
end

function Jar:clear()
  self.cookies = {}
end

return Jar
