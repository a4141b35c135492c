-- spec/repl_spec.lua: examples/repl.md is what the REPL really shows today: the spec
-- records a fresh session under tmux and compares it (timestamps aside) with the file.
local function read(path)
  local f = assert(io.open(path, "rb"))
  local text = f:read("*a")
  f:close()
  return text
end

local function normalise(text)
  text = text:gsub("%d%d%d%d%-%d%d%-%d%dT%d%d:%d%d:%d%d%.%d+Z", "<timestamp>")
  text = text:gsub('"etag": "[^\n]*",', '"etag": "<etag>",')
  return (text:gsub('"date": "[^"]*"', '"date": "<date>"'))
end

describe("examples/repl.md", function()
  it("matches a fresh REPL session against the stand-in store", function()
    local out = os.tmpname()
    local p = io.popen(("lua5.4 tools/repl_transcript.lua %s 2>&1; echo \"exit=$?\""):format(out))
    local log = p:read("*a")
    p:close()
    assert.matches("exit=0%s*$", log, log)
    local fresh, committed = normalise(read(out)), normalise(read("examples/repl.md"))
    os.remove(out)
    assert.are.equal(committed, fresh)
    -- and it shows what the REPL promises
    assert.matches('"amount": 5000,', committed)
    assert.matches("%-%- response: HTTP 200", committed)
    assert.matches("\n> err\nmedusa: 404 not_found: Payment collection with id paycol_nope was not found\n", committed)
    assert.matches("medusa%.Medusa <http://127%.0%.0%.1:9000> { client, auth, carts, ", committed)
    -- the module explains itself; nested values print as JSON; secrets are masked on screen
    assert.matches("\n> Medusa\nmedusa [%d.]+: a client of the Medusa v1 store API\n", committed)
    assert.matches('\n> res%.payment_collection%.region\n{\n  "automatic_taxes": false,', committed)
    assert.matches('\n  "set%-cookie": "%[redacted%]",\n', committed)
    assert.matches('\n> err%.body\n{\n  "message": "Payment collection with id paycol_nope was not found",', committed)
    assert.is_nil(committed:find("table: 0x", 1, true))
    assert.matches("\n> medusa%.carts\nmedusa%.carts\n  addShippingMethod%(cart_id, payload, customHeaders%?%)\n", committed)
  end)
end)
