-- spec/examples_spec.lua: the demo (every example against the stand-in store) succeeds,
-- so no example can break unnoticed.
describe("examples/demo.lua", function()
  it("runs every example against the stand-in store", function()
    -- Under the interpreter running the specs (the demo runs each example with it too),
    -- so that `make test-luajit`, `make test-lua51` ... show the examples work there as well.
    local p = io.popen(require("support.server").interpreter .. " examples/demo.lua 2>&1; echo \"exit=$?\"")
    local out = p:read("*a")
    p:close()
    assert.matches("exit=0%s*$", out, out)
    assert.matches("0 example%(s%) failed", out)
    assert.matches("session ps_%w+: authorized", out)
    assert.matches("paycol_%w+: authorized, authorized 5000 of 5000", out)
    -- the calls inside cqueues and luv (spec/event_loops_spec.lua tests them closely)
    assert.matches("3 calls, %d+ loop steps; the other coroutine ticked meanwhile", out)
    assert.matches("3 calls, %d+ loop steps; the uv timer ticked meanwhile", out)
    assert.matches("medusa: 404 not_found: Payment collection with id paycol_does_not_exist was not found", out)
    -- the refresh gave a new id
    local old, new = out:match("session (ps_%w+) refreshed %-> (ps_%w+)")
    assert.is_not_nil(old)
    assert.are_not.equal(old, new)
  end)
end)
