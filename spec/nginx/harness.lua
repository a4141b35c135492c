-- spec/nginx/harness.lua: starts Debian's nginx (with libnginx-mod-http-lua) for the
-- specs, on 127.0.0.1 in a temporary prefix, from a config template of the repo, and
-- stops it by the PID it wrote. Talks to it with the curl CLI only.
--
--   local Nginx = require "nginx.harness"
--   local nginx = Nginx.start { vars = { UPSTREAM = srv.url } }   -- conf = template path
--   nginx.url, nginx.port, nginx.prefix
--   nginx:get(path) / nginx:post(path, value) -> decoded JSON, HTTP status, seconds
--   nginx:error_log() -> text;  nginx:master_pid(), nginx:worker_pid()
--   nginx:stop()      -> QUIT, then TERM/KILL after a grace period; idempotent
--   Nginx.dns{names}  -> a DNS server for `resolver` (names -> 127.0.0.1): .port, :stop()
--   Nginx.pki()       -> a throw-away CA and server certificate: .ca, .cert, .key, .other_ca,
--                        :cleanup(); the certificate names localhost, medusa.test, 127.0.0.1
local cjson = require "cjson"
local Server = require "support.server"

local run, shq = Server.run, Server.shell_quote

local Nginx = {}
Nginx.__index = Nginx

local read_file, write_file, sleep = Server.read_file, Server.write_file, Server.sleep

local function alive(pid)
  local stat = read_file("/proc/" .. pid .. "/stat")
  return stat ~= nil and not stat:match("^%d+ %b() ([ZX])")
end

Nginx.root = (run("pwd"):gsub("%s+$", ""))
Nginx.is_root = (run("id -u"):gsub("%s+$", "")) == "0"

-- Fills ${NAME} fields; every field must be given (an empty string is fine).
function Nginx.render(template, vars)
  local missing
  local text = template:gsub("%${(%u[%u_]*)}", function(name)
    local v = vars[name]
    if v == nil then missing = name return "" end
    return tostring(v)
  end)
  if missing then error("nginx.harness: no value for ${" .. missing .. "}", 2) end
  return text
end

-- opts.conf: a template (default spec/nginx/nginx.conf); opts.vars: its fields beyond
-- ROOT, PORT and USER; opts.text: a ready config instead of a template; opts.port;
-- opts.links: repo directories to symlink into the prefix (for configs using $prefix);
-- opts.env: environment variables for nginx; opts.probe: a path that answers once up.
function Nginx.start(opts)
  opts = opts or {}
  local self = setmetatable({ stopped = false }, Nginx)
  local base = os.tmpname()
  os.remove(base)
  self.prefix = base .. "-nginx"
  -- 0755: the workers may run as another user than the master.
  local _, rc = run(("mkdir -p %s/logs %s/tmp && chmod 755 %s"):format(shq(self.prefix), shq(self.prefix), shq(self.prefix)))
  assert(rc == 0, "nginx.harness: cannot create " .. self.prefix)
  self.port = opts.port or Server.refused_port()
  self.url = "http://127.0.0.1:" .. self.port
  local text = opts.text
  if not text then
    local vars = { ROOT = Nginx.root, PORT = self.port, RESOLVER = "", TRUST = "",
      -- As root the workers would run as nobody, who may not read a checkout under /root.
      USER = Nginx.is_root and "user root root;" or "" }
    for k, v in pairs(opts.vars or {}) do vars[k] = v end
    text = Nginx.render(assert(read_file(opts.conf or "spec/nginx/nginx.conf")), vars)
  end
  write_file(self.prefix .. "/nginx.conf", text)
  for _, dir in ipairs(opts.links or {}) do
    run(("ln -s %s %s"):format(shq(Nginx.root .. "/" .. dir), shq(self.prefix .. "/" .. dir)))
  end
  local env = {}
  for k, v in pairs(opts.env or {}) do env[#env + 1] = k .. "=" .. shq(v) end
  self.probe = opts.probe or "/ping"
  local out, code = run(("env %s nginx -p %s/ -c nginx.conf -e logs/error.log 2>&1")
    :format(table.concat(env, " "), shq(self.prefix)))
  if code ~= 0 then
    local log = self:error_log()
    self:stop()
    error(("nginx.harness: nginx did not start (exit %s): %s\n%s"):format(tostring(code), out, log), 2)
  end
  for _ = 1, 100 do
    self.pid = tonumber(read_file(self.prefix .. "/logs/nginx.pid") or "")
    if self.pid and self:reachable() then
      self:watch()
      return self
    end
    sleep(0.05)
  end
  local log = self:error_log()
  self:stop()
  error("nginx.harness: nginx is not answering on " .. self.url .. "\n" .. log, 2)
end

-- If this Lua process dies without stop() (a killed test run), a small shell loop
-- stops this nginx by its PID (after checking the PID is still this nginx).
function Nginx:watch()
  local owner = tonumber((read_file("/proc/self/stat") or ""):match("^(%d+)"))
  if not owner then return end
  local script = ("while kill -0 %d 2>/dev/null && kill -0 %d 2>/dev/null; do sleep 1; done; "
    .. "if ! kill -0 %d 2>/dev/null && grep -q %s /proc/%d/cmdline 2>/dev/null; then kill -QUIT %d; fi")
    :format(owner, self.pid, owner, shq(self.prefix), self.pid, self.pid)
  run("sh -c " .. shq(script) .. " </dev/null >/dev/null 2>&1 & true")
end

function Nginx:reachable()
  local _, rc = run(("curl -q -s --noproxy '*' --max-time 2 -o /dev/null %s"):format(shq(self.url .. self.probe)))
  return rc == 0
end

function Nginx:error_log()
  return read_file(self.prefix .. "/logs/error.log") or ""
end

function Nginx:master_pid()
  return self.pid
end

function Nginx:worker_pid()
  local children = read_file(("/proc/%d/task/%d/children"):format(self.pid, self.pid)) or ""
  return tonumber(children:match("(%d+)"))
end

-- One HTTP request through the curl CLI: decoded JSON body (or the raw text), status, seconds.
function Nginx:request(method, path, value, max_time)
  local dir = self.prefix .. "/tmp"
  local body_file, out_file = dir .. "/req.json", dir .. "/resp.out"
  local cmd = ("curl -q -sS --noproxy '*' --max-time %d -o %s -w '%%{http_code} %%{time_total}' -X %s")
    :format(max_time or 60, shq(out_file), method)
  if value ~= nil then
    write_file(body_file, cjson.encode(value))
    cmd = cmd .. " -H 'Content-Type: application/json' --data-binary @" .. shq(body_file)
  end
  local out, rc = run(cmd .. " " .. shq(self.url .. path) .. " 2>&1")
  local status, secs = out:match("(%d%d%d) ([%d.]+)")
  assert(rc == 0 and status, ("nginx.harness: %s %s failed: %s"):format(method, path, out))
  local text = read_file(out_file) or ""
  local ok, decoded = pcall(cjson.decode, text)
  return ok and decoded or text, tonumber(status), tonumber(secs)
end

function Nginx:get(path, max_time)
  return self:request("GET", path, nil, max_time)
end

function Nginx:post(path, value, max_time)
  return self:request("POST", path, value, max_time)
end

-- Graceful QUIT, then TERM and KILL; only ever the master whose PID nginx wrote here.
function Nginx:stop()
  if self.stopped then return end
  self.stopped = true
  local pid = self.pid or tonumber(read_file(self.prefix .. "/logs/nginx.pid") or "")
  if pid and alive(pid) and (read_file("/proc/" .. pid .. "/cmdline") or ""):find(self.prefix, 1, true) then
    for _, signal in ipairs { "QUIT", "TERM", "KILL" } do
      run(("kill -%s %d 2>/dev/null"):format(signal, pid))
      for _ = 1, 60 do
        if not alive(pid) then break end
        sleep(0.05)
      end
      if not alive(pid) then break end
    end
  end
  run("rm -rf " .. shq(self.prefix))
end

---------------------------------------------------------------- helpers for TLS tests

local function own_pid()
  return tonumber((read_file("/proc/self/stat") or ""):match("^(%d+)"))
end

-- spec/nginx/dns.py in the background; stopped by its PID.
function Nginx.dns(names)
  local dir = os.tmpname()
  os.remove(dir)
  assert(select(2, run("mkdir -m 700 " .. shq(dir))) == 0)
  local args = { "python3", Nginx.root .. "/spec/nginx/dns.py", "--port-file", dir .. "/port",
    "--parent-pid", tostring(own_pid()) }
  for _, name in ipairs(names) do
    args[#args + 1] = "--name"
    args[#args + 1] = name
  end
  for i, a in ipairs(args) do args[i] = shq(a) end
  local out = run(table.concat(args, " ") .. " </dev/null >" .. shq(dir .. "/log") .. " 2>&1 & echo $!")
  local dns = { pid = tonumber(out:match("(%d+)")), dir = dir }
  for _ = 1, 100 do
    dns.port = tonumber(read_file(dir .. "/port") or "")
    if dns.port then break end
    sleep(0.05)
  end
  function dns.stop()
    if dns.pid and alive(dns.pid) and (read_file("/proc/" .. dns.pid .. "/cmdline") or ""):find("dns.py", 1, true) then
      run("kill -TERM " .. dns.pid)
      for _ = 1, 40 do
        if not alive(dns.pid) then break end
        sleep(0.05)
      end
    end
    run("rm -rf " .. shq(dir))
  end
  if not dns.port then
    local log = read_file(dir .. "/log") or ""
    dns.stop()
    error("nginx.harness: dns.py did not start: " .. log, 2)
  end
  return dns
end

-- A CA, a server certificate it signed, and an unrelated CA, made with the openssl CLI.
function Nginx.pki()
  local dir = os.tmpname()
  os.remove(dir)
  local key = "-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes"
  local script = table.concat({
    "set -e",
    "mkdir -m 755 " .. shq(dir),
    "cd " .. shq(dir),
    "for ca in ca other_ca; do openssl req -x509 " .. key .. " -keyout $ca.key -out $ca.pem -days 2"
      .. " -subj /CN=medusa-lua-spec-$ca -addext basicConstraints=critical,CA:TRUE"
      .. " -addext keyUsage=critical,keyCertSign,cRLSign; done",
    "printf 'basicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n"
      .. "subjectAltName=DNS:localhost,DNS:medusa.test,IP:127.0.0.1\n' > server.ext",
    "openssl req " .. key .. " -keyout server.key -out server.csr -subj /CN=medusa.test",
    "openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -set_serial 7 -days 2 -extfile server.ext -out server.pem",
    "chmod 644 *",
  }, "\n")
  local out, rc = run("sh -c " .. shq(script) .. " 2>&1")
  if rc ~= 0 then
    run("rm -rf " .. shq(dir))
    error("nginx.harness: openssl failed: " .. out, 2)
  end
  return {
    dir = dir, ca = dir .. "/ca.pem", other_ca = dir .. "/other_ca.pem",
    cert = dir .. "/server.pem", key = dir .. "/server.key",
    cleanup = function() run("rm -rf " .. shq(dir)) end,
  }
end

return Nginx
