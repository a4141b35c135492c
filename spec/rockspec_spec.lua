-- spec/rockspec_spec.lua: the root rockspec installs a working module offline for every
-- Lua it promises (`lua >= 5.1, < 5.5`), with `luarocks make --lua-version=5.N
-- --deps-mode=none --tree=<dir>` for 5.1, 5.2, 5.3 and 5.4, from a copy of the checkout (so
-- no build product lands in the work tree); each tree is checked by its own interpreter.
-- The LuaJIT tree (--lua-version=5.1 against LuaJIT's headers) is nginx_spec's.
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

  -- Run by the installed tree's own interpreter, with only that tree on its paths.
  local script = [[
    local Medusa = require "medusa"
    local version = ...
    assert(_VERSION == "Lua " .. version and not rawget(_G, "jit"), _VERSION)
    -- package.searchpath is 5.2+: the first file a template names, by hand.
    local function found(name, path)
      for template in path:gmatch("[^;]+") do
        local file = template:gsub("%?", (name:gsub("%.", "/")))
        local f = io.open(file)
        if f then f:close() return file end
      end
    end
    assert(found("medusa.core", package.cpath):find("/tree-" .. version .. "/", 1, true))
    assert(found("medusa.client", package.path):find("/tree-" .. version .. "/", 1, true))
    local m = Medusa.new { baseUrl = "http://127.0.0.1:1", connectTimeout = 500 }
    local res, err = m.paymentCollections.retrieve("p")
    assert(res == nil and err.type == "network", tostring(err))
    assert(Medusa.json.encode(Medusa.json.decode('{"a":[5000]}')) == '{"a":[5000]}')
    -- Integers as the README says: their own subtype from 5.3 on, doubles before it.
    local n = Medusa.json.decode("9007199254740993")
    if version >= "5.3" then
      assert(math.type(n) == "integer" and n == 9007199254740993)
    else
      assert(math.type == nil and n == 2 ^ 53)
    end
    -- A programmer error points at this file's line, not into the installed tree.
    local _, e = pcall(function() local r = m.carts.retrieve(nil) return r end)
    assert(e:find("^check%.lua:%d+: medusa: bad argument 'cart_id'"), e)
    print("installed ok " .. Medusa.version .. " " .. _VERSION)
  ]]

  for _, version in ipairs { "5.1", "5.2", "5.3", "5.4" } do
    it(("installs offline for Lua %s and the installed module works on its own"):format(version), function()
      local tree = ("%s/tree-%s"):format(tmp, version)
      local rc, out = sh(("cd %s/src && HOME=%s/home luarocks make --lua-version=%s --deps-mode=none --tree=%s medusa-lua-dev-1.rockspec")
        :format(tmp, tmp, version, tree))
      assert.are.equal(0, rc, out)
      local f = assert(io.open(tmp .. "/check.lua", "w"))
      f:write(script)
      f:close()
      -- Both the plain and the _5_N variables: the _5_N ones (5.2+) win over the plain
      -- ones, and the suite's own environment may set some (test-luajit's LUA_PATH_5_4).
      local lpath = ("%s/share/lua/%s/?.lua;%s/share/lua/%s/?/init.lua"):format(tree, version, tree, version)
      local cpath = ("%s/lib/lua/%s/?.so"):format(tree, version)
      local suffix = version:gsub("%.", "_")
      rc, out = sh(("cd %s && env LUA_PATH='%s' LUA_CPATH='%s' LUA_PATH_%s='%s' LUA_CPATH_%s='%s' lua%s check.lua %s")
        :format(tmp, lpath, cpath, suffix, lpath, suffix, cpath, version, version))
      assert.are.equal(0, rc, out)
      assert.matches("installed ok .* Lua " .. version:gsub("%.", "%%."), out)
    end)
  end
end)
