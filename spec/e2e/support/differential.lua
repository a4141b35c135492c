-- spec/e2e/support/differential.lua: the differential runner. It runs each flow of
-- spec/e2e/diff/*.json through medusa-js 6.1.10 (node, spec/e2e/backend/medusa-js-flow.js) and
-- through medusa-lua, each against its own fresh fixtures (diff_fixtures.lua, all made here
-- before either run; the node side gets its ids as JSON on argv) and both through the proxy,
-- which records what each client sent. Each run gives {results, requests}; normalise.lua
-- makes them comparable.
local Medusa = require "medusa"
local json = require "medusa.json"
local Backend = require "e2e.support.backend"
local DiffFixtures = require "e2e.support.diff_fixtures"

local Differential = {}

local function repo_root()
  local source = debug.getinfo(1, "S").source
  return source:sub(1, 1) == "@" and source:sub(2):match("^(.*)/spec/e2e/support/[^/]*$") or "."
end

local ROOT = repo_root()
Differential.FLOW_DIR = ROOT .. "/spec/e2e/diff"
Differential.JS_RUNNER = ROOT .. "/spec/e2e/backend/medusa-js-flow.js"

-- Request headers that differ by design (README "Differences from medusa-js" #5, #8):
-- User-Agent names the client; libcurl sends no Connection header.
local DIFFERENT_BY_DESIGN = { ["user-agent"] = true, connection = true }

-- The flow files, in name order: {"checkout.json", ...}.
function Differential.flows()
  local pipe = assert(io.popen("ls '" .. Differential.FLOW_DIR .. "'"))
  local out = {}
  for name in pipe:lines() do
    if name:match("%.json$") then out[#out + 1] = name end
  end
  pipe:close()
  table.sort(out)
  return out
end

function Differential.load_flow(name)
  local f = assert(io.open(Differential.FLOW_DIR .. "/" .. (name or "1-payment-collections.json"), "r"))
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

-- A dotted path ("payment_collection.payment_sessions.*.id"; indices count from 0;
-- "field=value" picks the element of a list whose field is value).
local function extract(value, path)
  local head, rest = path:match("^([^.]+)%.?(.*)$")
  if not head or value == nil then return value end
  local field, want = head:match("^([%w_]+)=(.*)$")
  if field then
    for _, v in ipairs(value) do
      if v[field] == want then return extract(v, rest) end
    end
    return nil
  end
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

-- The function a step calls: "request" is client.request, a dotted path a resource
-- method ("carts.lineItems.create"), a bare name a paymentCollections method (the first flow).
local function resolve(medusa, call)
  if call == "request" then return medusa.client.request end
  if not call:find(".", 1, true) then return medusa.paymentCollections[call] end
  local fn = medusa
  for part in call:gmatch("[^.]+") do fn = fn[part] end
  return assert(fn, "no such method " .. call)
end

-- Both clients echo their own User-Agent header, which differs by design (see above), and
-- the backend copies it into a cart's context: the one body field that is masked here.
local function mask_user_agent(body)
  for _, key in ipairs { "cart", "data", "order" } do
    local v = type(body) == "table" and body[key]
    if type(v) == "table" and type(v.context) == "table" and v.context.user_agent then
      v.context.user_agent = "<user-agent>"
    end
    if type(v) == "table" and type(v.cart) == "table" and type(v.cart.context) == "table" then
      v.cart.context.user_agent = "<user-agent>"
    end
  end
  return body
end
Differential.mask_user_agent = mask_user_agent

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
    local fn = resolve(medusa, step.call)
    local res, err = fn(table.unpack(args, 1, #args))
    if res then
      local body = {}
      for k, v in pairs(res) do
        if k ~= "response" then body[k] = v end
      end
      for key, path in pairs(step.save or {}) do vars[key] = extract(body, fill(path, vars)) end
      if step.pick then body = { [step.pick] = extract(body, fill(step.pick, vars)) } end
      results[i] = { step = step_name(i, step), status = res.response.status, body = mask_user_agent(body) }
    elseif err.status then
      results[i] = { step = step_name(i, step), status = err.status, body = err.body }
    else
      error(("step %s: %s"):format(step_name(i, step), tostring(err)))
    end
  end
  medusa:close()
  return { results = results }
end

-- A real difference (README "Differences from medusa-js" #13), asserted, then put in
-- medusa-lua's shape: medusa-js returns `{...data, response}`, so a 2xx text body ("OK" from
-- DELETE /store/auth) is spread into {"0": "O", "1": "K"}, where medusa-lua gives {data = "OK"}.
-- A step with "js_text_body": true must get exactly that spread; anything else fails the run.
local function unspread(body, name)
  local chars = {}
  for k, v in pairs(body) do
    local n = tonumber(k)
    assert(n and type(v) == "string" and #v == 1, name .. ": medusa-js body is not a spread string")
    chars[n + 1] = v
  end
  assert(#chars > 0, name .. ": medusa-js body is not a spread string")
  return { data = table.concat(chars) }
end

-- The medusa-js side, in node: the same shape as run_lua.
function Differential.run_js(flow, base_url, vars, name)
  local function shq(s) return "'" .. tostring(s):gsub("'", "'\\''") .. "'" end
  local file = Differential.FLOW_DIR .. "/" .. (name or "1-payment-collections.json")
  local cmd = ("node %s %s %s %s 2>&1"):format(shq(Differential.JS_RUNNER), shq(file),
    shq(base_url), shq(json.encode(vars)))
  local pipe = assert(io.popen(cmd, "r"))
  local out = pipe:read("*a")
  pipe:close()
  local ok, decoded = pcall(json.decode, out)
  if not ok or type(decoded) ~= "table" or not decoded.results then
    error("medusa-js-flow.js failed:\n" .. out)
  end
  for i, step in ipairs(flow.steps) do
    decoded.results[i].step = step_name(i, step)
    if step.js_text_body then decoded.results[i].body = unspread(decoded.results[i].body, step_name(i, step)) end
    if step.pick then
      local picked = decoded.results[i].body[step.pick]
      decoded.results[i].body = { [step.pick] = picked == json.null and nil or picked }
    end
    mask_user_agent(decoded.results[i].body)
  end
  return decoded
end

-- Runs one flow file (default 1-payment-collections.json) on both sides through the proxy, each with its own
-- fresh fixtures, both sets made before either run. Returns {js = run, lua = run}, each run
-- = {results, requests}, and the flow.
function Differential.run(name, new)
  local flow = Differential.load_flow(name)
  local proxy = Backend.proxy_url()
  local runs = {}
  local js_vars, lua_vars = DiffFixtures.make(flow), DiffFixtures.make(flow)
  Backend.proxy.reset()
  runs.js = Differential.run_js(flow, proxy, js_vars, name)
  runs.js.requests = requests_seen()
  Backend.proxy.reset()
  runs.lua = Differential.run_lua(flow, proxy, lua_vars, new)
  runs.lua.requests = requests_seen()
  runs.js.fixtures, runs.lua.fixtures = js_vars, lua_vars
  return runs, flow
end

return Differential
