-- medusa.session: a client's login state, kept per client: the session cookie jar
-- (client.jar), the store bearer token (client.bearer) and the publishable key
-- (client.publishable_key). medusa.client installs these functions as its methods; the
-- resources name them as the hooks of their login, logout and token routes. A view of a
-- client (medusa:with) reads these fields through its root client and writes them there,
-- so a login through a view is the client's login.
local Error = require "medusa.error"
local Cookies = require "medusa.cookies"

local Session = {}

-- Gives a new client (its settings and base already set) its login state: no token, the
-- configured publishable key, and a jar that stays off until a login.
function Session.init(client)
  client.bearer = nil -- a store JWT from auth.getToken, for this client only
  client.publishable_key = client.settings.publishableApiKey -- setPublishableKey replaces it
  client.jar = Cookies.new(client.base:lower():sub(1, 8) == "https://")
  -- Cookie paths are matched against the whole URL path, path prefix of baseUrl included.
  client.base_path = client.base:match("^%a[%w+.-]*://[^/]*(.*)$")
end

-- The cookie path of a request path: the query is no part of it.
local function cookie_path(client, path)
  return client.base_path .. path:match("^[^?]*")
end

-- The Cookie header value for a request to path, or nil.
function Session.cookie_header(client, path)
  return client.jar:header(cookie_path(client, path))
end

-- Stores the Set-Cookie headers of a raw response (or of a failure that carries a head).
function Session.keep_cookies(client, response, path)
  local headers = response.headers
  local cookies = headers and headers["set-cookie"]
  if cookies then client.jar:store_all(cookies, cookie_path(client, path)) end
end

-- After a successful login: keep the session cookie it set, and send it from now on.
function Session.start_session(client, result, path)
  client.jar.enabled = true
  client.jar:store_all(result.response.headers["set-cookie"], cookie_path(client, path))
end

-- After logging out: forget every cookie and stop sending any.
function Session.end_session(client, _)
  client.jar:clear()
  client.jar.enabled = false
end

-- A store JWT to send as Authorization: Bearer on this client's /store requests (nil forgets it).
local function set_token(client, token)
  if token ~= nil and (type(token) ~= "string" or token == "" or token:find("[%c ]")) then
    Error.argument("token", "expected a non-empty string without spaces or control characters, or nil")
  end
  client.root.bearer = token
end
Session.set_token = set_token

-- After auth.getToken: keep the access token it returned.
function Session.keep_token(client, result)
  if type(result.access_token) == "string" then set_token(client, result.access_token) end
end

-- The x-publishable-api-key this client sends from now on (nil or "" stops sending one).
function Session.set_publishable_key(client, key)
  if key ~= nil and (type(key) ~= "string" or key:find("[\r\n%z]")) then
    Error.argument("key", "expected a string without CR, LF or NUL, or nil")
  end
  local root = client.root
  root.publishable_key = key ~= "" and key or nil
  -- The cached header lists (medusa.request_headers) of the client and of its views carry
  -- the old key: a new version makes each of them rebuild.
  root.headers_version = root.headers_version + 1
end

return Session
