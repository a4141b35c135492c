-- spec/support/server.lua: spec-side handle on spec/support/server.py (the test HTTP server).
-- Starts/stops the Python server and drives its control plane through the curl CLI and
-- lua-cjson, never through the library under test.  Plain Lua 5.1 to 5.4 and LuaJIT.
--
--   local Server = require "support.server"
--   local srv = Server.start{ mode = "script" }   -- or "store"; tls_cert=, tls_key=,
--                                                  -- keepalive_timeout= (seconds)
--   srv.port, srv.url ("http://127.0.0.1:PORT" or https with TLS), srv.pid
--   srv:script{ {status = 503}, {json = {ok = true}} }   -- replace the step queue
--                              (body/raw/header strings go out as their exact bytes)
--   srv:script{ {match = "/a", status = 404}, {match = "/b", status = 503}, {match = "/b"} }
--                              -- match: the step only answers a request whose target
--                              (path + query, exact bytes) contains this plain substring;
--                              a request takes the first step without match or with one
--                              it satisfies, whatever order concurrent requests come in
--   srv:append{ ... }                                   -- append steps
--   srv:log([since])        -> array of request records (JSON null -> nil; method, target,
--                              path, query, raw_head and headers are the exact wire bytes;
--                              body is the UTF-8 text or nil, body_b64 always exact;
--                              t_ms / t_done_ms: ms since start at the head / when the
--                              server was done (right before the last response byte, or
--                              action/client end; nil while in flight); in_flight /
--                              open_conns: requests in flight and client connections
--                              open when its head completed, itself included)
--   srv:wait_log(n[, secs]) -> log once it has >= n records (default 5 s), or error
--   srv:remaining()         -> steps still queued
--   srv:stats()             -> {max_in_flight=, max_open_conns=, conns_total=, requests=}
--                              since start or reset (the highest in_flight/open_conns of a
--                              request head, connections that carried requests, request
--                              heads), plus the gauges in_flight= and open_conns= now
--   srv:wait_idle([secs])   -> stats once nothing is in flight and no client connection is
--                              open (default 5 s), or error
--   srv:reset()             -> clear log + queue + stats, re-seed the store
--   srv:store()             -> {ids=, region=, customer=, collections=}
--   srv:new_collection([amount]) -> payment_collection table (fresh, not_paid)
--   srv:server_log()        -> the server's stderr so far (for failure messages)
--   srv:stop()              -> TERM, wait, KILL after 3 s; idempotent; removes temp files
--   Server.refused_port()   -> a 127.0.0.1 port where nothing listens
--   Server.header(rec, name), Server.header_count(rec, name)  -- case-insensitive
--   Server.b64encode(s), Server.b64decode(s)
--   Server.read_file(path) -> contents | nil, Server.write_file(path, data), Server.sleep(secs)
--   Server.interpreter     -> the command of the Lua running the specs: "lua5.1" ... "lua5.4"
--                              or "luajit", for the child processes that test that Lua
-- The step language is documented at the top of server.py.

local cjson = require "cjson"

local Server = {}
Server.__index = Server

local function shq(s)
  return "'" .. (tostring(s):gsub("'", "'\\''")) .. "'"
end

local function read_file(path)
  local f = io.open(path, "rb")
  if not f then return nil end
  local s = f:read("*a")
  f:close()
  return s
end

local function write_file(path, data)
  local f = assert(io.open(path, "wb"))
  f:write(data)
  f:close()
end

local function sleep(secs)
  os.execute("sleep " .. string.format("%.3f", secs))
end

-- Runs a shell command; returns stdout and the exit status (portable across 5.1/5.4).
local function run(cmd)
  local p = assert(io.popen(cmd .. '; echo "__rc=$?"', "r"))
  local out = p:read("*a")
  p:close()
  local rc = tonumber(out:match("__rc=(%d+)%s*$"))
  out = out:gsub("__rc=%d+%s*$", "")
  return out, rc
end

local function here()
  local src = debug.getinfo(1, "S").source
  if src:sub(1, 1) == "@" then
    local dir = src:sub(2):match("^(.*)/[^/]*$")
    if dir then return dir end
  end
  return "spec/support"
end

local function own_pid()
  local s = read_file("/proc/self/stat")
  return s and tonumber(s:match("^(%d+)")) or nil
end

-- true if pid is a live (non-zombie) process
local function alive(pid)
  local stat = read_file("/proc/" .. pid .. "/stat")
  if stat then
    local state = stat:match("^%d+ %b() (%a)")
    return state ~= "Z" and state ~= "X"
  end
  if read_file("/proc/self/stat") then return false end -- /proc works: pid is gone
  local _, rc = run("kill -0 " .. pid .. " 2>/dev/null")
  return rc == 0
end

local function is_our_server(pid)
  local cmdline = read_file("/proc/" .. pid .. "/cmdline")
  if cmdline == nil then return alive(pid) end -- no /proc: trust the pid we spawned
  return cmdline:find("server.py", 1, true) ~= nil
end

-- The log's head fields are latin-1 decoded by the server, so every character is <= U+00FF
-- and cjson hands them to Lua as UTF-8; this turns them back into the exact wire bytes.
local function latin1_bytes(s)
  if type(s) ~= "string" then return s end
  return (s:gsub("([\194\195])([\128-\191])", function(a, b)
    return string.char((a:byte() - 192) * 64 + (b:byte() - 128))
  end))
end

local function wire_record(r)
  for _, k in ipairs({ "method", "target", "path", "query", "version", "raw_head" }) do
    r[k] = latin1_bytes(r[k])
  end
  for _, h in ipairs(r.headers or {}) do
    h[1], h[2] = latin1_bytes(h[1]), latin1_bytes(h[2])
  end
  return r
end

-- Steps as sent: a Lua `body` or `raw` string with bytes >= 0x80 goes as body_b64/raw_b64,
-- so the exact bytes of the Lua string reach the wire (raw is latin-1 on the Python side).
local function wire_steps(steps)
  local out = {}
  for i, st in ipairs(steps or {}) do
    local c = {}
    for k, v in pairs(st) do c[k] = v end
    if type(c.raw) == "string" and c.raw:find("[\128-\255]") then
      c.raw_b64, c.raw = Server.b64encode(c.raw), nil
    end
    if type(c.body) == "string" and c.json == nil and c.body:find("[\128-\255]") then
      c.body_b64, c.body = Server.b64encode(c.body), nil
    end
    if type(c.match) == "string" then -- the server compares it with the latin-1 decoded target
      c.match = c.match:gsub("[\128-\255]", function(b)
        b = b:byte()
        return string.char(192 + math.floor(b / 64), 128 + b % 64)
      end)
    end
    out[i] = c
  end
  return out
end

local function denull(v)
  if v == cjson.null then return nil end
  if type(v) == "table" then
    for k, x in pairs(v) do v[k] = denull(x) end
  end
  return v
end

---------------------------------------------------------------- base64

local B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"

function Server.b64encode(s)
  local out = {}
  for i = 1, #s, 3 do
    local a, b, c = s:byte(i, i + 2)
    local n = a * 65536 + (b or 0) * 256 + (c or 0)
    local c1 = math.floor(n / 262144) % 64
    local c2 = math.floor(n / 4096) % 64
    local c3 = math.floor(n / 64) % 64
    local c4 = n % 64
    out[#out + 1] = B64:sub(c1 + 1, c1 + 1) .. B64:sub(c2 + 1, c2 + 1)
      .. (b and B64:sub(c3 + 1, c3 + 1) or "=") .. (c and B64:sub(c4 + 1, c4 + 1) or "=")
  end
  return table.concat(out)
end

function Server.b64decode(s)
  local map = {}
  for i = 1, 64 do map[B64:sub(i, i)] = i - 1 end
  s = s:gsub("[^%w%+/]", "")
  local out = {}
  for i = 1, #s, 4 do
    local n, k = 0, 0
    for j = i, i + 3 do
      local v = map[s:sub(j, j)]
      if v then n = n * 64 + v; k = k + 1 else n = n * 64 end
    end
    local b1 = math.floor(n / 65536) % 256
    local b2 = math.floor(n / 256) % 256
    local b3 = n % 256
    if k >= 2 then out[#out + 1] = string.char(b1) end
    if k >= 3 then out[#out + 1] = string.char(b2) end
    if k >= 4 then out[#out + 1] = string.char(b3) end
  end
  return table.concat(out)
end

---------------------------------------------------------------- records

function Server.header(record, name)
  name = name:lower()
  for _, h in ipairs(record.headers or {}) do
    if h[1]:lower() == name then return h[2] end
  end
  return nil
end

function Server.header_count(record, name)
  name = name:lower()
  local n = 0
  for _, h in ipairs(record.headers or {}) do
    if h[1]:lower() == name then n = n + 1 end
  end
  return n
end

---------------------------------------------------------------- lifecycle

local function make_tmpdir()
  local base = os.tmpname()
  os.remove(base)
  local _, rc = run("mkdir -m 700 " .. shq(base))
  if rc ~= 0 then error("support.server: cannot create temp dir " .. base) end
  return base
end

function Server.start(opts)
  opts = opts or {}
  local mode = opts.mode or "script"
  assert(mode == "script" or mode == "store", "mode must be script or store")
  local self = setmetatable({ mode = mode, stopped = false }, Server)
  self.dir = make_tmpdir()
  self.port_file = self.dir .. "/port"
  self.log_file = self.dir .. "/server.log"
  local args = {
    opts.python or os.getenv("PYTHON") or "python3", here() .. "/server.py",
    "--port", tostring(opts.port or 0), "--port-file", self.port_file, "--mode", mode,
  }
  if opts.tls_cert or opts.tls_key then
    args[#args + 1] = "--tls-cert"; args[#args + 1] = assert(opts.tls_cert, "tls_cert missing")
    args[#args + 1] = "--tls-key"; args[#args + 1] = assert(opts.tls_key, "tls_key missing")
  end
  if opts.keepalive_timeout then
    args[#args + 1] = "--keepalive-timeout"; args[#args + 1] = tostring(opts.keepalive_timeout)
  end
  local ppid = own_pid()
  if ppid then
    args[#args + 1] = "--parent-pid"; args[#args + 1] = tostring(ppid)
  end
  local quoted = {}
  for i, a in ipairs(args) do quoted[i] = shq(a) end
  local cmd = table.concat(quoted, " ") .. " </dev/null >" .. shq(self.log_file) .. " 2>&1 & echo $!"
  local p = assert(io.popen(cmd, "r"))
  local out = p:read("*a")
  p:close()
  self.pid = tonumber(out:match("(%d+)"))
  if not self.pid then
    self:_cleanup()
    error("support.server: could not spawn server.py: " .. tostring(out))
  end

  local deadline = os.time() + 11
  local port
  for _ = 1, 200 do
    local s = read_file(self.port_file)
    port = s and tonumber(s:match("^(%d+)"))
    if port then break end
    if not alive(self.pid) then break end
    if os.time() > deadline then break end
    sleep(0.05)
  end
  if not port then
    local log = read_file(self.log_file) or ""
    self:stop()
    error("support.server: server.py did not start (no port file after 10 s)\n--- server log ---\n" .. log)
  end
  self.port = port
  self.scheme = opts.tls_cert and "https" or "http"
  self.url = self.scheme .. "://127.0.0.1:" .. port
  self.ctl_url = self.url
  local ok, err
  for _ = 1, 100 do
    ok, err = pcall(self.ctl, self, "GET", "/__ctl/health")
    if ok then break end
    sleep(0.05)
  end
  if not ok then
    local log = read_file(self.log_file) or ""
    self:stop()
    error("support.server: health check failed: " .. tostring(err) .. "\n--- server log ---\n" .. log)
  end
  return self
end

function Server:server_log()
  return read_file(self.log_file) or ""
end

function Server:_cleanup()
  for _, f in ipairs({ "port", "server.log", "ctl-body.json", "ctl-out.json", "ctl-err.txt" }) do
    os.remove(self.dir .. "/" .. f)
  end
  os.remove(self.dir)
end

function Server:stop()
  if self.stopped then return end
  self.stopped = true
  if self.pid and alive(self.pid) and is_our_server(self.pid) then
    run("kill -TERM " .. self.pid .. " 2>/dev/null")
    local gone = false
    for _ = 1, 60 do
      if not alive(self.pid) then gone = true; break end
      sleep(0.05)
    end
    if not gone then
      run("kill -KILL " .. self.pid .. " 2>/dev/null")
      for _ = 1, 40 do
        if not alive(self.pid) then break end
        sleep(0.05)
      end
    end
  end
  self:_cleanup()
end

---------------------------------------------------------------- control plane

-- One control request via the curl CLI; returns the decoded JSON (null -> nil).
function Server:ctl(method, path, value)
  if self.stopped then error("support.server: server is stopped", 2) end
  local out, errf, bodyf = self.dir .. "/ctl-out.json", self.dir .. "/ctl-err.txt", self.dir .. "/ctl-body.json"
  os.remove(out)
  local cmd = "curl -q -sS --noproxy '*' --max-time 10 -k -o " .. shq(out) .. " -w '%{http_code}' -X " .. shq(method)
  if value ~= nil then
    write_file(bodyf, cjson.encode(value))
    cmd = cmd .. " -H 'Content-Type: application/json' --data-binary " .. shq("@" .. bodyf)
  end
  cmd = cmd .. " " .. shq(self.ctl_url .. path) .. " 2>" .. shq(errf)
  local code_txt, rc = run(cmd)
  local body = read_file(out) or ""
  local code = tonumber(code_txt:match("(%d%d%d)"))
  if rc ~= 0 or not code then
    error(string.format("support.server: %s %s failed (curl exit %s): %s", method, path, tostring(rc),
      (read_file(errf) or ""):gsub("%s+$", "")), 2)
  end
  local ok, decoded = pcall(cjson.decode, body)
  if code < 200 or code > 299 then
    local msg = ok and type(decoded) == "table" and decoded.error or body
    error(string.format("support.server: %s %s -> %d: %s", method, path, code, tostring(msg)), 2)
  end
  if not ok then error("support.server: bad JSON from " .. path .. ": " .. body, 2) end
  return denull(decoded)
end

function Server:script(steps)
  return self:ctl("POST", "/__ctl/script", { steps = wire_steps(steps) })
end

function Server:append(steps)
  return self:ctl("POST", "/__ctl/append", { steps = wire_steps(steps) })
end

function Server:log(since)
  local log = self:ctl("GET", "/__ctl/log" .. (since and ("?since=" .. math.floor(since)) or ""))
  for _, r in ipairs(log) do wire_record(r) end
  return log
end

function Server:wait_log(n, secs)
  local deadline = os.time() + (secs or 5) + 1
  local log
  repeat
    log = self:log()
    if #log >= n then return log end
    sleep(0.05)
  until os.time() > deadline
  error(string.format("support.server: expected %d recorded request(s), got %d", n, #log), 2)
end

function Server:remaining()
  return self:ctl("GET", "/__ctl/queue").remaining
end

function Server:stats()
  return self:ctl("GET", "/__ctl/stats")
end

function Server:wait_idle(secs)
  local deadline = os.time() + (secs or 5) + 1
  local st
  repeat
    st = self:stats()
    if st.in_flight == 0 and st.open_conns == 0 then return st end
    sleep(0.05)
  until os.time() > deadline
  error(string.format("support.server: still %d request(s) in flight, %d connection(s) open",
    st.in_flight, st.open_conns), 2)
end

function Server:reset()
  return self:ctl("POST", "/__ctl/reset", {})
end

function Server:store()
  return self:ctl("GET", "/__ctl/store")
end

function Server:new_collection(amount)
  local body = {}
  if amount ~= nil then body.amount = amount end
  return self:ctl("POST", "/__ctl/store/collections", body).payment_collection
end

---------------------------------------------------------------- helpers

-- A port on 127.0.0.1 where nothing listens (bound by python, then released).
function Server.refused_port()
  local out, rc = run((os.getenv("PYTHON") or "python3")
    .. " -c 'import socket; s = socket.socket(); s.bind((\"127.0.0.1\", 0)); print(s.getsockname()[1]); s.close()'")
  local port = tonumber(out:match("(%d+)"))
  if rc ~= 0 or not port then error("support.server: refused_port failed: " .. out) end
  return port
end

Server.shell_quote = shq
Server.run = run
-- Small file and time helpers the other spec support files share.
Server.read_file = read_file
Server.write_file = write_file
Server.sleep = sleep
-- The interpreter under test by its Debian command name (its LUA_PATH/LUA_CPATH reach the
-- children, so a child of this name loads the same build).
Server.interpreter = rawget(_G, "jit") and "luajit" or ("lua" .. _VERSION:match("%d+%.%d+"))

return Server
