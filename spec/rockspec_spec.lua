-- spec/rockspec_spec.lua: the root rockspec installs a working module offline, with
-- `luarocks make --lua-version=5.4 --deps-mode=none --tree=<dir>`, from a copy of the
-- checkout (so no build product lands in the work tree).
local function sh(cmd)
  local p = io.popen(cmd .. " 2>&1; echo \"rc=$?\"")
  local out = p:read("*a")
  p:close()
  local rc = tonumber(out:match("rc=(%d+)%s*$"))
  return rc, out
end

describe("the rockspec", function()
  local tmp

  setup(function()
    tmp = os.tmpname()
    os.remove(tmp)
    assert(sh(("mkdir -p %s/src %s/home && cp -r medusa-lua-dev-1.rockspec src lua %s/src/"):format(tmp, tmp, tmp)) == 0)
  end)
  teardown(function()
    sh("rm -rf " .. tmp)
  end)

  it("lists every Lua module of lua/medusa under its module name", function()
    local rockspec = assert(io.open("medusa-lua-dev-1.rockspec")):read("*a")
    local _, files = sh("cd lua && find medusa -name '*.lua' ! -name meta.lua | sort")
    local count = 0
    for file in files:gmatch("(medusa[^\n]-%.lua)\n") do
      local module = file:gsub("/init%.lua$", ""):gsub("%.lua$", ""):gsub("/", ".")
      assert.truthy(rockspec:find(('["%s"] = "lua/%s"'):format(module, file), 1, true), file .. " is not in the rockspec")
      count = count + 1
    end
    assert.is_true(count > 20)
  end)

  it("installs offline and the installed module works on its own", function()
    local rc, out = sh(("cd %s/src && HOME=%s/home luarocks make --lua-version=5.4 --deps-mode=none --tree=%s/tree medusa-lua-dev-1.rockspec")
      :format(tmp, tmp, tmp))
    assert.are.equal(0, rc, out)
    -- Only the installed tree on the paths (plus nothing else of ours): a missing module fails.
    local script = [[
      local Medusa = require "medusa"
      assert(package.searchpath("medusa.core", package.cpath):find("/tree/", 1, true))
      assert(package.searchpath("medusa.client", package.path):find("/tree/", 1, true))
      local m = Medusa.new { baseUrl = "http://127.0.0.1:1", connectTimeout = 500 }
      local res, err = m.paymentCollections.retrieve("p")
      assert(res == nil and err.type == "network", tostring(err))
      assert(Medusa.json.encode(Medusa.json.decode('{"a":[5000]}')) == '{"a":[5000]}')
      -- A programmer error points at this file's line, not into the installed tree.
      local _, e = pcall(function() local r = m.carts.retrieve(nil) return r end)
      assert(e:find("^check%.lua:%d+: medusa: bad argument 'cart_id'"), e)
      print("installed ok " .. Medusa.version)
    ]]
    local f = assert(io.open(tmp .. "/check.lua", "w"))
    f:write(script)
    f:close()
    rc, out = sh(("cd %s && LUA_PATH_5_4='%s/tree/share/lua/5.4/?.lua;%s/tree/share/lua/5.4/?/init.lua' LUA_CPATH_5_4='%s/tree/lib/lua/5.4/?.so' LUA_PATH= LUA_CPATH= lua5.4 check.lua")
      :format(tmp, tmp, tmp, tmp))
    assert.are.equal(0, rc, out)
    assert.matches("installed ok", out)
  end)
end)
