-- spec/api_docs_spec.lua: the method types in lua/medusa/meta.lua and the method tables in
-- README.md are what tools/gen_api.lua makes of the route declarations today (`make api-docs`
-- rewrites both), the tables name every declared method, and print(resource) in the REPL
-- shows the same signatures.
local Resource = require "medusa.resource"
local Resources = require "medusa.resources"
local Medusa = require "medusa"

local gen = assert(loadfile("tools/gen_api.lua"))()

local function lines(text)
  local list = {}
  for line in text:gmatch("([^\n]*)\n") do list[#list + 1] = line end
  return list
end

-- Where a committed span first differs from the generated one, as file:line and both lines.
local function first_difference(file, head, committed, generated)
  local have, want = lines(committed), lines(generated)
  for i = 1, math.max(#have, #want) do
    if have[i] ~= want[i] then
      return ("%s:%d differs from `tools/gen_api.lua` (run `make api-docs`):\n  committed: %s\n  generated: %s")
        :format(file, #lines(head) + i, have[i] or "(the span ends)", want[i] or "(the span ends)")
    end
  end
end

-- Every method the registry declares, as (path, owner, name, route), nested resources too.
local function each_method(visit)
  local function walk(spec, path)
    for name, decl in pairs(spec.methods) do visit(path, spec, name, decl) end
    for key, child in pairs(spec.resources or {}) do walk(child, path .. "." .. key) end
  end
  for name, spec in pairs(Resources.list) do walk(spec, name) end
end

-- The rows of the README table headed `medusa.<name>`, up to the next heading.
local function table_of(block, name)
  local start = block:find("### `medusa." .. name .. "`\n", 1, true)
  if not start then return nil end
  local stop = block:find("\n###", start + 1, true) or #block
  return block:sub(start, stop)
end

describe("the generated API docs", function()
  for _, kind in ipairs { "meta", "readme" } do
    it(("%s: the committed span is what tools/gen_api.lua %s prints"):format(kind, kind), function()
      local head, committed = gen.split(kind)
      local generated = gen.generate[kind]()
      local file = kind == "meta" and "lua/medusa/meta.lua" or "README.md"
      local why = first_difference(file, head, committed, generated)
      assert(why == nil, why)
      assert.are.equal(generated, committed) -- the same lines, and the same bytes
    end)
  end

  it("the README names every declared method, each in its resource's table", function()
    local _, block = gen.split("readme")
    local count = 0
    each_method(function(path, spec, name, decl)
      count = count + 1
      local rows = table_of(block, spec.name)
      assert(rows, "no table for medusa." .. spec.name)
      local row = "| `" .. Resource.signature(name, decl) .. "` |"
      assert(rows:find(row, 1, true), ("medusa.%s's table has no row %s"):format(spec.name, row))
      if path ~= spec.name then
        assert(block:find("`medusa." .. path .. "`", 1, true), "medusa." .. path .. " is not mentioned")
      end
    end)
    assert(count >= 65, "only " .. count .. " methods declared")
    local instance = block:match("### `medusa`\n(.-)\n###")
    assert(instance and instance:find("| `setPublishableKey(key)` |", 1, true), "no setPublishableKey row")
  end)

  it("the README tables hold no code block for spec/readme_spec.lua to run", function()
    local _, block = gen.split("readme")
    assert.is_nil(block:find("```", 1, true))
  end)

  it("print(medusa.carts) lists the same signatures and the nested resources", function()
    local medusa = Medusa.new { baseUrl = "http://127.0.0.1:9" }
    local text = tostring(medusa.carts)
    medusa:close()
    assert.truthy(text:find("\n  retrieve(cart_id, customHeaders?)\n", 1, true), text)
    assert.truthy(text:find("\n  lineItems: medusa.carts.lineItems", 1, true), text)
  end)
end)
