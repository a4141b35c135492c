-- spec/error_position_spec.lua: a programmer error points at the caller's line wherever the
-- caller's code lives: in a folder that is itself named medusa/, typed into the REPL, or
-- calling an installed rock (rockspec_spec.lua checks that one). The library decides what
-- is its own by the folder its modules were loaded from, not by a name pattern.
local Server = require "support.server"

local interpreter = Server.interpreter

local function run(cmd)
  local p = assert(io.popen(cmd .. " 2>&1"))
  local out = p:read("*a")
  p:close()
  return out
end

describe("a programmer error's position", function()
  local dir

  setup(function()
    dir = os.tmpname()
    os.remove(dir)
    assert(os.execute(("mkdir -p %s/shop/medusa"):format(dir)))
  end)
  teardown(function()
    os.execute("rm -rf " .. dir)
  end)

  it("is the user's line in a file under a folder named medusa/", function()
    local script = dir .. "/shop/medusa/checkout.lua"
    Server.write_file(script, table.concat({
      'local Medusa = require "medusa"',
      'local medusa = Medusa.new { baseUrl = "http://127.0.0.1:1" }',
      'local ok, err = pcall(medusa.carts.lineItems.update, "cart_1", 5, {})',
      'print(err)',
      'ok, err = pcall(function() return medusa.paymentCollections:retrieve("p", "x") end)',
      'print(err)',
      'ok, err = pcall(Medusa.new, { maxRetries = -1 })',
      'print(err)',
    }, "\n"))
    local out = run(("%s %s"):format(interpreter, script))
    local lines = {}
    for line in out:gmatch("[^\n]+") do lines[#lines + 1] = line end
    assert.are.equal(3, #lines, out)
    -- pcall calls the method itself, so the nearest Lua frame of the caller is the chunk.
    assert.matches("^" .. script:gsub("%p", "%%%0") .. ":3: medusa: bad argument 'line_id'", lines[1])
    assert.matches("^" .. script:gsub("%p", "%%%0") .. ":5: medusa: bad argument 'query'", lines[2])
    assert.matches("^" .. script:gsub("%p", "%%%0") .. ":7: medusa: bad argument 'config%.maxRetries'", lines[3])
  end)

  it("is the REPL's input line, or none when the REPL made the call a tail call", function()
    local out = run(("printf '%%s\\n' 'M = require \"medusa\"' 'm = M.new { nope = 1 }' 'M.new { maxRetries = -1 }' | %s -i 2>&1")
      :format(interpreter))
    assert.matches("stdin:1: medusa: bad argument 'config' %(unknown key 'nope'%)", out)
    -- lua5.3/5.4 -i run an expression as `return <expr>`: the caller's frame is gone, so no
    -- line is given (the REPLs of 5.1, 5.2 and LuaJIT keep it); never one inside the library.
    local before = out:match("\n[> ]*([^\n]-)medusa: bad argument 'config%.maxRetries'")
    assert.is_truthy(before == "" or before == "stdin:1: ", out)
    assert.not_matches("[%w/]+%.lua:%d+: medusa: bad argument", out)
  end)
end)
