-- spec/e2e/support/differential.lua: the differential runner. It runs spec/e2e/diff/flow.json
-- through medusa-js 6.1.10 (node, spec/e2e/backend/medusa-js-flow.js) and through medusa-lua,
-- each against its own fresh collections and both through the proxy, which records what
-- each client sent. Each run gives {results, requests}; normalise.lua makes them comparable.
local Medusa = require "medusa"
local json = require "medusa.json"
local Backend = require "e2e.support.backend"

local Differential = {}

local function repo_root()
  local source = debug.getinfo(1, "S").source
  return source:sub(1, 1) == "@" and source:sub(2):match("^(.*)/spec/e2e/support/[^/]*$") or "."
end

local ROOT = repo_root()
Differential.FLOW_FILE = ROOT .. "/spec/e2e/diff/flow.json"
Differential.JS_RUNNER = ROOT .. "/spec/e2e/backend/medusa-js-flow.js"

-- Request headers that differ by design (README "Differences from medusa-js" #5, #8):
-- User-Agent names the client; libcurl sends no Connection header.
local DIFFERENT_BY_DESIGN = { ["user-agent"] = true, connection = true }

function Differential.load_flow()
  local f = assert(io.open(Differential.FLOW_FILE, "r"))
  local flow = json.decode(f:read("*a"))
  f:close()
  return flow
end

-- '${x}' inside a string is replaced by vars.x; a string that is only '${x}' becomes vars.x.
local function fill(value, vars)
  if type(value) == "string" then
    local whole = value:match("^%${([%w_]+)}$")
    if whole then return vars[whole] end
    return (value:gsub("%${([%w_]+)}", vars))
  end
  if type(value) ~= "table" then return value end
  local out = setmetatable({}, getmetatable(value))
  for k, v in pairs(value) do out[k] = fill(v, vars) end
  return out
end

-- A dotted path ("payment_collection.payment_sessions.*.id"; indices count from 0).
local function extract(value, path)
  local head, rest = path:match("^([^.]+)%.?(.*)$")
  if not head then return value end
  if head == "*" then
    local out = json.array()
    for i, v in ipairs(value) do out[i] = extract(v, rest) end
    return out
  end
  local index = tonumber(head)
  return extract(value[index and index + 1 or head], rest)
end

local function step_name(i, step)
  return ("%02d %s"):format(i, step.call)
end

-- Creates the flow's fresh collections: {a = "paycol_...", ...}.
local function fresh_collections(flow)
  local vars = {}
  for name, amount in pairs(flow.collections) do vars[name] = Backend.new_collection(amount) end
  return vars
end

-- What a client sent, as the proxy saw it, minus what differs by design.
local function requests_seen()
  local out = json.array()
  for i, r in ipairs(Backend.proxy.log()) do
    local headers = {}
    for _, h in ipairs(r.headers) do
      local name = h[1]:lower()
      if not DIFFERENT_BY_DESIGN[name] then headers[name] = h[2] end
    end
    out[i] = { method = r.method, target = r.target, headers = headers, body = r.body }
  end
  return out
end

-- The medusa-lua side: {results = {{step, status, body}, ...}}. `new` builds the client
-- (default Medusa.new), so another transport can run the same flow.
function Differential.run_lua(flow, base_url, vars, new)
  local medusa = (new or Medusa.new) { baseUrl = base_url, maxRetries = 3 }
  local results = json.array()
  for i, step in ipairs(flow.steps) do
    local args = fill(step.args, vars)
    local fn = step.call == "request" and medusa.client.request or medusa.paymentCollections[step.call]
    local res, err = fn(table.unpack(args, 1, #args))
    if res then
      local body = {}
      for k, v in pairs(res) do
        if k ~= "response" then body[k] = v end
      end
      results[i] = { step = step_name(i, step), status = res.response.status, body = body }
      for key, path in pairs(step.save or {}) do vars[key] = extract(body, path) end
    elseif err.status then
      results[i] = { step = step_name(i, step), status = err.status, body = err.body }
    else
      error(("step %s: %s"):format(step_name(i, step), tostring(err)))
    end
  end
  medusa:close()
  return { results = results }
end

-- The medusa-js side, in node: the same shape as run_lua.
function Differential.run_js(flow, base_url, vars)
  local function shq(s) return "'" .. tostring(s):gsub("'", "'\\''") .. "'" end
  local cmd = ("node %s %s %s %s 2>&1"):format(shq(Differential.JS_RUNNER), shq(Differential.FLOW_FILE),
    shq(base_url), shq(json.encode(vars)))
  local pipe = assert(io.popen(cmd, "r"))
  local out = pipe:read("*a")
  pipe:close()
  local ok, decoded = pcall(json.decode, out)
  if not ok or type(decoded) ~= "table" or not decoded.results then
    error("medusa-js-flow.js failed:\n" .. out)
  end
  for i, step in ipairs(flow.steps) do decoded.results[i].step = step_name(i, step) end
  return decoded
end

-- Runs both sides through the proxy, each with fresh collections. Returns {js = run,
-- lua = run}, each run = {results, requests}.
function Differential.run(new)
  local flow = Differential.load_flow()
  local proxy = Backend.proxy_url()
  local runs = {}
  Backend.proxy.reset()
  runs.js = Differential.run_js(flow, proxy, fresh_collections(flow))
  runs.js.requests = requests_seen()
  Backend.proxy.reset()
  runs.lua = Differential.run_lua(flow, proxy, fresh_collections(flow), new)
  runs.lua.requests = requests_seen()
  return runs, flow
end

return Differential
