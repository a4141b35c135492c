-- spec/readme_spec.lua: every Lua block of the README's API reference runs, as written,
-- against the stand-in store, so the reference cannot drift from the library.
local Server = require "support.server"
local helpers = require "helpers"

local function readme()
  local f = assert(io.open("README.md", "rb"))
  local text = f:read("*a")
  f:close()
  return text
end

-- The sections whose Lua blocks this spec runs with the prelude below; the intro's example
-- and the Quick start need `make store` and run in store_command_spec.lua.
local SECTIONS = { "API reference", "Methods", "Hooks and the debug log", "Concurrency" }
local ELSEWHERE = { "", "Quick start" }

local function section_blocks(name)
  local section = assert(readme():match("\n## " .. name:gsub("%p", "%%%0") .. "\n(.-)\n## "), "no section " .. name)
  local blocks = {}
  for block in section:gmatch("```lua\n(.-)```") do blocks[#blocks + 1] = block end
  return blocks
end

local function api_reference_blocks()
  local blocks = {}
  for _, name in ipairs(SECTIONS) do
    for _, block in ipairs(section_blocks(name)) do blocks[#blocks + 1] = block end
  end
  return blocks
end

describe("the README's Lua blocks", function()
  it("all run: here, or in store_command_spec.lua (the intro and the Quick start)", function()
    local where = {}
    local current = ""
    for line in (readme() .. "\n"):gmatch("([^\n]*)\n") do
      local heading = line:match("^## (.*)$")
      if heading then current = heading end
      if line == "```lua" then where[#where + 1] = current end
    end
    local known = {}
    for _, name in ipairs(SECTIONS) do known[name] = true end
    for _, name in ipairs(ELSEWHERE) do known[name] = true end
    for _, name in ipairs(where) do assert.is_true(known[name] ~= nil, "a Lua block in '" .. name .. "' runs nowhere") end
    assert.is_true(#where >= 20)
  end)
end)

describe("the README's API reference", function()
  local store
  setup(function() store = Server.start { mode = "store" } end)
  teardown(function() store:stop() end)

  local blocks = api_reference_blocks()
  it("has an example for every public name", function()
    assert(#blocks >= 14, "only " .. #blocks .. " examples")
  end)

  for i, block in ipairs(blocks) do
    it(("example %d runs: %s"):format(i, (block:match("[^\n]*"))), function()
      local printed = {}
      local fake_os = setmetatable({
        getenv = function(name)
          if name == "MEDUSA_BASE_URL" then return store.url end
          return os.getenv(name)
        end,
      }, { __index = os })
      -- LuaJIT has no math.type; the examples use it to show integers stay integers.
      local fake_math = setmetatable({
        type = math.type or function(x)
          if type(x) ~= "number" then return nil end
          return x % 1 == 0 and "integer" or "float"
        end,
      }, { __index = math })
      local env = setmetatable({
        os = fake_os,
        math = fake_math,
        print = function(...) printed[#printed + 1] = table.concat({ tostring((...)) }, "\t") end,
      }, { __index = _G })
      local prelude = 'local Medusa = require "medusa"; '
        .. 'local medusa = Medusa.new { baseUrl = os.getenv("MEDUSA_BASE_URL") }; '
        .. ("local id = %q; "):format(store:new_collection(5000).id)
      local chunk = assert(helpers.load(prelude .. block, "=README example " .. i, env))
      chunk()
      -- A `--> text` comment promises what print shows.
      local promised = block:match("print%b()%s*%-%->%s*([^\n]+)")
      if promised then
        local shown = printed[1]:gsub("127%.0%.0%.1:%d+", "127.0.0.1:9000")
        assert.are.equal(promised, shown)
      end
    end)
  end
end)

-- Relative links in the README and docs/ name files of the checkout: a renamed example or
-- results file must not leave a link to nothing behind.
describe("the README's and docs' relative links", function()
  local pages = { "README.md" }
  local p = io.popen("ls docs/*.md")
  for line in p:lines() do pages[#pages + 1] = line end
  p:close()
  for _, page in ipairs(pages) do
    it("point at files that exist, from " .. page, function()
      local dir = page:match("^(.*/)") or ""
      local checked = 0
      for target in assert(Server.read_file(page)):gmatch("%]%(([^)%s]+)%)") do
        if not target:find("^%a[%w+.-]*:") and not target:find("^#") then
          local file = target:gsub("#.*$", "")
          local f = io.open(dir .. file, "rb")
          assert(f, page .. " links to " .. target .. ", which does not exist")
          f:close()
          checked = checked + 1
        end
      end
      if page == "README.md" then assert.is_true(checked >= 10) end
    end)
  end
end)
