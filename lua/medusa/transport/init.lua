-- medusa.transport: picks the transport a new client uses. Every transport implements
--   send(request) -> response | nil, err     (one HTTP exchange, no policy)
--   sleep(ms)                                (backoff between retries)
--   close()
-- request  = {method, url, headers = {{name, value}, ...}, body?, timeout_ms,
--             connect_timeout_ms, max_response_bytes, header_rules?}
-- response = {status, headers, body}: headers is the lower-cased map built with
--            header_rules (medusa.headers), or the flat {name1, value1, ...} list without;
--            a header_rules table is never changed once used (the libcurl transport
--            remembers each name's rule; the pipeline always passes medusa.headers RULES)
-- err      = {type = "network"|"timeout"|"tls"|"too_large", message, code, status?, headers?}
--
-- Outside nginx every client uses libcurl. Inside nginx an automatic client decides per
-- call: cosockets ("ngx") where nginx allows them, libcurl (which blocks the worker)
-- elsewhere, with one line in the error log the first time. Deciding per call lets a
-- client made once in init_by_lua serve content handlers without blocking.
-- The cosocket transport is medusa.transport.ngx (connections, pool, TLS, the exchange)
-- over medusa.transport.http1 (HTTP/1.1 framing) and medusa.transport.reader.
local Error = require "medusa.error"

local transport = {}

-- ngx.get_phase() values where ngx.socket.tcp and ngx.sleep work.
local COSOCKET_PHASES = {
  rewrite = true, server_rewrite = true, access = true, content = true, timer = true,
  ssl_cert = true, ssl_session_fetch = true, ssl_client_hello = true, preread = true,
}

-- The ngx API table when running inside nginx with the lua module, else nil.
local function nginx()
  local ngx = rawget(_G, "ngx")
  if type(ngx) == "table" and type(ngx.socket) == "table" and type(ngx.get_phase) == "function" then
    return ngx
  end
end

-- true when cosockets work right now; also returns the phase name (nil outside nginx).
function transport.cosockets_usable()
  local ngx = nginx()
  if not ngx then return false, nil end
  local phase = ngx.get_phase()
  return COSOCKET_PHASES[phase] == true, phase
end

local function no_cosockets(phase)
  return ("transport \"ngx\" needs nginx cosockets, which are disabled in the %s phase "
    .. "(they work in rewrite, access and content handlers and in ngx.timer callbacks); "
    .. "leave transport unset to fall back to libcurl there"):format(phase)
end

local function refuse_ca_file(settings)
  if settings.caFile then
    Error.argument("config.caFile", "cosockets trust only the CAs of nginx's lua_ssl_trusted_certificate; "
      .. "set that directive instead, or use transport = \"curl\"")
  end
end

---------------------------------------------------------------------------------------
-- "ngx" forced: cosockets or a clear error
---------------------------------------------------------------------------------------

local Forced = {}
Forced.__index = Forced
Forced.__name = "medusa.transport.ngx(forced)"
Forced.name = "ngx"

local function check_phase()
  local usable, phase = transport.cosockets_usable()
  if not usable then Error.raise(no_cosockets(phase)) end
end

function Forced:send(request)
  check_phase()
  return self.inner:send(request)
end

function Forced:sleep(ms)
  check_phase()
  self.inner:sleep(ms)
end

function Forced:close() self.inner:close() end

function Forced:pick() return self.inner end

---------------------------------------------------------------------------------------
-- automatic inside nginx: per call
---------------------------------------------------------------------------------------

local Auto = {}
Auto.__index = Auto
Auto.__name = "medusa.transport.auto"
Auto.name = "auto"

-- One notice per process and phase: enough to be seen, never a flood.
local noticed = {}

local function notice_fallback(phase)
  if noticed[phase] then return end
  noticed[phase] = true
  local ngx = nginx()
  -- In init (the master, before any request) blocking costs nothing; elsewhere it stalls
  -- every request of the worker, which deserves a warning.
  ngx.log(phase == "init" and ngx.NOTICE or ngx.WARN,
    "medusa: cosockets are disabled in the ", phase, " phase: this call uses libcurl, ",
    "which blocks the nginx worker until it returns (use an ngx.timer or a content handler)")
end

-- The transport for the current phase.
function Auto:pick()
  local usable, phase = transport.cosockets_usable()
  if usable then return self.ngx end
  notice_fallback(phase)
  if not self.curl then self.curl = require("medusa.transport.curl").new(self.settings) end
  return self.curl
end

function Auto:send(request)
  return self:pick():send(request)
end

function Auto:sleep(ms)
  return self:pick():sleep(ms)
end

function Auto:close()
  self.ngx:close()
  if self.curl then self.curl:close() end
end

---------------------------------------------------------------------------------------

-- settings.transport: nil (automatic), "curl" or "ngx".
function transport.new(settings)
  local name = settings.transport
  if name == "curl" or (name == nil and not nginx()) then
    return require("medusa.transport.curl").new(settings)
  end
  if name == "ngx" then
    if not nginx() then
      Error.argument("config.transport", "\"ngx\" needs OpenResty/nginx with the lua module "
        .. "(no ngx.socket here); leave transport unset to use libcurl")
    end
    local usable, phase = transport.cosockets_usable()
    if not usable then Error.argument("config.transport", no_cosockets(phase)) end
    refuse_ca_file(settings)
    return setmetatable({ inner = require("medusa.transport.ngx").new(settings) }, Forced)
  end
  refuse_ca_file(settings)
  return setmetatable({ settings = settings, ngx = require("medusa.transport.ngx").new(settings) }, Auto)
end

return transport
