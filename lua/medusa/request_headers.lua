-- medusa.request_headers: the headers a call sends. It checks the caller's headers (so none
-- can split the request) and builds each call's ordered list with medusa-js's precedence.
-- What repeated response header fields become is medusa.headers.
local core = require "medusa.core"
local Error = require "medusa.error"
local Session = require "medusa.session"

local RequestHeaders = {}

local USER_AGENT = ("medusa-lua/%s libcurl/%s"):format(core.version, core.curl_version)

-- Admin routes medusa-js sends without the API token: logging in, and the password reset
-- and invite steps that come before a user has one.
local UNAUTHENTICATED_ADMIN = {
  ["/admin/auth"] = "POST",
  ["/admin/users/password-token"] = "POST",
  ["/admin/users/reset-password"] = "POST",
  ["/admin/invites/accept"] = "POST",
}

local cookie_header = Session.cookie_header

-- Raises, naming `where`, unless name/value make a header that cannot split the request:
-- the rule of the transports' contract (core.header_problem, src/contract.c), which the
-- libcurl transport applies again in C.
local header_problem = core.header_problem
local function check_header(where, name, value)
  local why = type(name) ~= "string" and "is not an HTTP token"
    or header_problem(name, type(value) == "string" and value or "")
  if why == "is not an HTTP token" then
    Error.argument(where, ("header name %q is not an HTTP token"):format(tostring(name)))
  end
  if type(value) ~= "string" then
    Error.argument(where, ("header %q must be a string, got %s"):format(name, type(value)))
  end
  if why then Error.argument(where, ("header %q %s"):format(name, why)) end
end
RequestHeaders.check_header = check_header

-- The names of an absent header table; shared, so that a call without one allocates nothing.
local NO_NAMES = {}
RequestHeaders.NO_NAMES = NO_NAMES

-- Validates a table of headers and returns its names sorted case-insensitively, so the
-- order on the wire never depends on Lua's table iteration order.
function RequestHeaders.check_headers(where, headers)
  if headers == nil then return NO_NAMES end
  if type(headers) ~= "table" then
    Error.argument(where, "expected a table of header strings, got " .. type(headers))
  end
  local names = {}
  for name, value in pairs(headers) do
    check_header(where, name, value)
    names[#names + 1] = name
  end
  table.sort(names, function(a, b)
    local la, lb = a:lower(), b:lower()
    if la ~= lb then return la < lb end
    return a < b
  end)
  return names
end

-- An ordered header list where a name that differs only in case replaces the earlier
-- entry in place and takes the new spelling (what Node does with medusa-js's headers).
local function header_list()
  return { n = 0, index = {} }
end

local function set_header(list, name, value)
  local key = name:lower()
  local at = list.index[key]
  if at then
    list[at] = { name, value }
  else
    list.n = list.n + 1
    list[list.n] = { name, value }
    list.index[key] = list.n
  end
end

-- Framing headers belong to the transport, which sets them from the body it sends. A
-- caller's value would desynchronise the connection (`Content-Length: 0` leaves the body
-- to be read as the next request), so it is dropped, as axios overwrites it.
local FRAMING = { ["content-length"] = true, ["transfer-encoding"] = true }

-- What a table of headers adds to a head ("Name: value\r\n" each).
function RequestHeaders.size(headers, names)
  local bytes = 0
  for i = 1, #names do bytes = bytes + #names[i] + #headers[names[i]] + 4 end
  return bytes
end

local function add_table(list, headers, names)
  for i = 1, #names do
    if not FRAMING[names[i]:lower()] then
      set_header(list, names[i], headers[names[i]])
    end
  end
end

-- The header list of one call of `client`, and whether it is a list the transport saw
-- before. medusa-js's order: Accept, Content-Type, the API token (admin routes only), the
-- bearer token (/store routes only), the publishable key, the Idempotency-Key (a POST
-- that may be retried), the session cookie; then the call's options, the config's
-- customHeaders and the call's customHeaders, each replacing what came before under the
-- same name in any case; User-Agent last, unless one of those set it.
function RequestHeaders.build(client, method, path, options, option_names, custom, custom_names)
  local s = client.settings
  local admin = s.apiKey ~= nil and path:sub(1, 6) == "/admin" and UNAUTHENTICATED_ADMIN[path] ~= method
  -- Most calls carry nothing that changes from call to call (no per-call headers, no
  -- Idempotency-Key, cookie or token): their list is built once per client and reused,
  -- and the transport may keep what it derived from it (see `headers_reused`).
  local fixed = #option_names == 0 and #custom_names == 0 and not client.jar.enabled
    and not (s.maxRetries > 0 and method == "POST") and not (client.bearer and path:sub(1, 7) == "/store/")
  if fixed then
    local cache = client.fixed_headers
    if cache.version ~= client.headers_version then
      cache = { version = client.headers_version }
      client.fixed_headers = cache
    end
    local cached = cache[admin]
    if cached then return cached, true end
  end
  local list = header_list()
  set_header(list, "Accept", "application/json")
  set_header(list, "Content-Type", "application/json")
  if admin then
    set_header(list, "x-medusa-access-token", s.apiKey)
  end
  if client.bearer and path:sub(1, 7) == "/store/" then
    set_header(list, "Authorization", "Bearer " .. client.bearer)
  end
  if client.publishable_key then
    set_header(list, "x-publishable-api-key", client.publishable_key)
  end
  if s.maxRetries > 0 and method == "POST" then
    set_header(list, "Idempotency-Key", core.uuid4())
  end
  if client.jar.enabled then
    local cookie = cookie_header(client, path)
    if cookie then set_header(list, "Cookie", cookie) end
  end
  add_table(list, options, option_names)
  add_table(list, s.customHeaders, client.custom_names)
  add_table(list, custom, custom_names)
  if not list.index["user-agent"] then
    set_header(list, "User-Agent", USER_AGENT)
  end
  list.index = nil
  list.n = nil
  -- Its size on the wire ("Name: value\r\n" each), for the pipeline's head limit; kept
  -- with the list, so a reused list is measured once.
  local bytes = 0
  for i = 1, #list do bytes = bytes + #list[i][1] + #list[i][2] + 4 end
  list.bytes = bytes
  if fixed then
    client.fixed_headers[admin] = list
    -- Listed once: the transport sees this table again on later calls.
    return list, true
  end
  return list, false
end

return RequestHeaders
