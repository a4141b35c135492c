-- spec/e2e/differential_spec.lua: medusa-js 6.1.10 and medusa-lua run the same flows
-- (spec/e2e/diff/*.json) against the real backend, each on its own fresh fixtures;
-- after normalising ids, timestamps and UUIDs, what they returned and what they sent must
-- be equal. On a difference the failure shows the diff; both renderings are also written
-- to build/e2e/diff/ for a look.
local json = require "medusa.json"
local Backend = require "e2e.support.backend"
local Differential = require "e2e.support.differential"
local Normalise = require "e2e.support.normalise"

local function save(name, text)
  local dir = (os.getenv("E2E_STATE") or "build/e2e") .. "/diff"
  os.execute("mkdir -p '" .. dir .. "'")
  local f = io.open(dir .. "/" .. name, "w")
  if f then f:write(text) f:close() end
end

for _, flow_file in ipairs(Differential.flows()) do
describe("differential (" .. flow_file .. "): medusa-js 6.1.10 vs medusa-lua on the real backend:", function()
  local runs, flow, rendered
  local base = flow_file:gsub("%.json$", "")

  setup(function()
    Backend.env()
    runs, flow = Differential.run(flow_file)
    local function whole(run) return { results = run.results, requests = run.requests } end
    rendered = {
      js = Normalise.render(Normalise.normalise(whole(runs.js))),
      lua = Normalise.render(Normalise.normalise(whole(runs.lua))),
    }
    save(base .. ".medusa-js.txt", rendered.js)
    save(base .. ".medusa-lua.txt", rendered.lua)
  end)

  it("both runs got the statuses the flow expects (so they cannot be equally broken)", function()
    for _, side in ipairs { "js", "lua" } do
      local got, want = {}, {}
      for i, step in ipairs(flow.steps) do
        want[i] = step.expect
        got[i] = runs[side].results[i] and runs[side].results[i].status
      end
      assert.are.same(want, got, side)
    end
  end)

  it("each run used its own fixtures", function()
    for name, id in pairs(runs.js.fixtures) do
      if name ~= "region" then assert.are_not.equal(id, runs.lua.fixtures[name], name) end
    end
  end)

  it("the results are equal after normalising", function()
    local js = Normalise.render(Normalise.normalise({ results = runs.js.results }))
    local lua = Normalise.render(Normalise.normalise({ results = runs.lua.results }))
    local diff = Normalise.diff(js, lua, "medusa-js", "medusa-lua")
    assert(diff == nil, "results differ:\n" .. tostring(diff))
  end)

  it("the requests are equal after normalising (but for User-Agent and Connection)", function()
    assert.are.equal(#flow.steps, #runs.lua.requests)
    local js = Normalise.render(Normalise.normalise({ requests = runs.js.requests }))
    local lua = Normalise.render(Normalise.normalise({ requests = runs.lua.requests }))
    local diff = Normalise.diff(js, lua, "medusa-js", "medusa-lua")
    assert(diff == nil, "requests differ:\n" .. tostring(diff))
  end)

  it("the whole of both runs, normalised together, is equal", function()
    local diff = Normalise.diff(rendered.js, rendered.lua, "medusa-js", "medusa-lua")
    assert(diff == nil, "runs differ:\n" .. tostring(diff))
  end)
end)
end

describe("the normaliser", function()
  local function doc(session_id, amount, when)
    return json.decode(([[{"payment_session":{"id":"%s","amount":%d,"created_at":"%s"}}]])
      :format(session_id, amount, when))
  end

  it("makes two runs that differ only in ids and times equal", function()
    local a = Normalise.render(Normalise.normalise(doc("ps_01M8BYPJ4N5D99BB82YQ8JP2QJ", 5000, "2026-11-26T12:53:45.221Z")))
    local b = Normalise.render(Normalise.normalise(doc("ps_01M8C74JTG2GQV4JSBBYX6K3EF", 5000, "2026-11-27T01:02:03.004Z")))
    assert.is_nil(Normalise.diff(a, b))
  end)

  it("keeps a real difference, and its diff names the line", function()
    local a = Normalise.render(Normalise.normalise(doc("ps_01M8BYPJ4N5D99BB82YQ8JP2QJ", 5000, "2026-11-26T12:53:45.221Z")))
    local b = Normalise.render(Normalise.normalise(doc("ps_01M8C74JTG2GQV4JSBBYX6K3EF", 4999, "2026-11-26T12:53:45.221Z")))
    local diff = Normalise.diff(a, b, "medusa-js", "medusa-lua")
    assert.is_string(diff)
    assert.matches('-    "amount": 5000', diff, 1, true)
    assert.matches('+    "amount": 4999', diff, 1, true)
  end)

  it("numbers the run-specific store values: fixture names, session cookies, display_id", function()
    local function run(hex, sid, display_id)
      return Normalise.normalise(json.decode(([[{"email":"e2e-diff-%s@medusa-lua.test","display_id":%d,
        "cookie":"connect.sid=s%%3A%s; Path=/","handle":"e2e-product-%s","total":2000}]]):format(hex, display_id, sid, hex)))
    end
    local a = run("094ad3bee49040ec", "RHMyl1oE.DFii88p%2FA", 5)
    assert.are.same(a, run("c8505b76514849b8", "i5FqYLKA.jcCxFd3w", 6))
    assert.are.same({ email = "<e2e-diff#1>@medusa-lua.test", display_id = "<display_id#1>",
      cookie = "connect.sid=<connect.sid#1>; Path=/", handle = "<e2e-product#1>", total = 2000 }, a)
  end)

  it("keeps references: a replaced id is a new number, a repeated id the same one", function()
    local v = json.decode([[{"a":"ps_01M8BYPJ4N5D99BB82YQ8JP2QJ","b":"ps_01M8C74JTG2GQV4JSBBYX6K3EF",
      "c":"/x/ps_01M8BYPJ4N5D99BB82YQ8JP2QJ/authorize"}]])
    local n = Normalise.normalise(v)
    assert.are.same({ a = "<ps#1>", b = "<ps#2>", c = "/x/<ps#1>/authorize" }, n)
  end)
end)
