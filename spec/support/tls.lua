-- spec/support/tls.lua: throw-away PKI for the TLS specs, made with the openssl CLI in a
-- private temp dir: a CA, a server certificate it signed for 127.0.0.1 and localhost, one
-- it signed for another host name only, and an unrelated second CA. Plain Lua 5.1/5.4/LuaJIT.
--
--   local Tls = require "support.tls"
--   local pki = Tls.generate()
--   pki.ca, pki.cert, pki.key              -- CA bundle; server cert (IP:127.0.0.1, DNS:localhost)
--   pki.wrong_cert, pki.wrong_key          -- signed by the same CA for DNS:wrong-host.invalid only
--   pki.other_ca                           -- a CA that signed none of them
--   pki.not_a_bundle                       -- a readable file that holds no certificate
--   pki:cleanup()                          -- removes the dir; idempotent

local Tls = {}
Tls.__index = Tls

local function shq(s)
  return "'" .. (tostring(s):gsub("'", "'\\''")) .. "'"
end

-- Runs a shell command; returns its output and whether it exited 0 (same on 5.1 and 5.4).
local function run(cmd)
  local p = assert(io.popen(cmd .. ' 2>&1; echo "__rc=$?"', "r"))
  local out = p:read("*a")
  p:close()
  local rc = tonumber(out:match("__rc=(%d+)%s*$"))
  return out:gsub("__rc=%d+%s*$", ""), rc == 0
end

local function must(cmd)
  local out, ok = run(cmd)
  if not ok then error("support.tls: command failed: " .. cmd .. "\n" .. out, 3) end
  return out
end

local function write_file(path, data)
  local f = assert(io.open(path, "wb"))
  f:write(data)
  f:close()
end

-- Short-lived EC keys: quick to make, and nothing here outlives the test run.
local NEWKEY = "-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes"

local function make_ca(dir, name, cn)
  must(("cd %s && openssl req -x509 %s -keyout %s.key -out %s.pem -days 2 -subj %s"
    .. " -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign")
    :format(shq(dir), NEWKEY, name, name, shq("/CN=" .. cn)))
end

local function make_leaf(dir, name, ca, san, serial)
  write_file(dir .. "/" .. name .. ".ext", table.concat({
    "basicConstraints=CA:FALSE",
    "keyUsage=critical,digitalSignature,keyEncipherment",
    "extendedKeyUsage=serverAuth",
    "subjectAltName=" .. san,
  }, "\n") .. "\n")
  must(("cd %s && openssl req %s -keyout %s.key -out %s.csr -subj %s"):format(
    shq(dir), NEWKEY, name, name, shq("/CN=medusa-lua " .. name)))
  must(("cd %s && openssl x509 -req -in %s.csr -CA %s.pem -CAkey %s.key -set_serial %d"
    .. " -days 2 -extfile %s.ext -out %s.pem"):format(shq(dir), name, ca, ca, serial, name, name))
end

function Tls.available()
  local _, ok = run("command -v openssl")
  return ok
end

function Tls.generate()
  if not Tls.available() then
    error("support.tls: the openssl CLI is missing (apt-get install openssl; make test installs it)", 2)
  end
  local dir = os.tmpname()
  os.remove(dir)
  must("mkdir -m 700 " .. shq(dir))
  local self = setmetatable({ dir = dir }, Tls)
  local ok, err = pcall(function()
    make_ca(dir, "ca", "medusa-lua throw-away CA")
    make_ca(dir, "other_ca", "medusa-lua unrelated CA")
    make_leaf(dir, "server", "ca", "IP:127.0.0.1,DNS:localhost", 1001)
    make_leaf(dir, "wrong", "ca", "DNS:wrong-host.invalid", 1002)
    write_file(dir .. "/not_a_bundle.pem", "this file holds no certificate\n")
  end)
  if not ok then
    self:cleanup()
    error(err, 2)
  end
  self.ca = dir .. "/ca.pem"
  self.other_ca = dir .. "/other_ca.pem"
  self.cert, self.key = dir .. "/server.pem", dir .. "/server.key"
  self.wrong_cert, self.wrong_key = dir .. "/wrong.pem", dir .. "/wrong.key"
  self.not_a_bundle = dir .. "/not_a_bundle.pem"
  return self
end

function Tls:cleanup()
  if self.dir then
    run("rm -rf " .. shq(self.dir))
    self.dir = nil
  end
end

return Tls
