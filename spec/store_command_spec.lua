-- spec/store_command_spec.lua: `make store` (mk/store.mk) starts the stand-in store in the
-- foreground and prints its base URL and the seeded ids; a printed id works through
-- medusa-lua; the README's quick start runs against it as written (its port aside); and
-- stopping make by PID stops the store too.
local Medusa = require "medusa"
local Server = require "support.server"
local helpers = require "helpers"

local read_file, sleep, run = Server.read_file, Server.sleep, Server.run

-- true while pid is a live, non-zombie process
local function alive(pid)
  local stat = read_file("/proc/" .. pid .. "/stat")
  if not stat then return false end
  local state = stat:match("^%d+ %b() (%a)")
  return state ~= "Z" and state ~= "X"
end

local function wait_gone(pid, secs)
  for _ = 1, secs * 20 do
    if not alive(pid) then return true end
    sleep(0.05)
  end
  return not alive(pid)
end

-- The text between a heading line and the next "## " heading.
local function section(text, heading)
  return text:match("\n" .. heading:gsub("%p", "%%%0") .. "\n(.-)\n## ")
end

local function lua_blocks(text)
  local blocks = {}
  for block in text:gmatch("```lua\n(.-)```") do blocks[#blocks + 1] = block end
  return blocks
end

-- What a README block promises: the text after `-->` of each print line, in order.
local function promises(block)
  local list = {}
  for line in block:gmatch("[^\n]+") do
    local promised = line:match("^%s*print%b()%s*%-%->%s*(.-)%s*$")
    if promised then list[#list + 1] = promised end
  end
  return list
end

local function squeeze(s)
  return (s:gsub("%s+", " "):gsub("^ ", ""):gsub(" $", ""))
end

describe("make store", function()
  local port = Server.refused_port()
  local out_file = os.tmpname()
  local make_pid, banner, store_pid

  setup(function()
    -- A make of our own: the parent make's jobserver is not ours to share.
    local p = assert(io.popen(("env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make --no-print-directory -s store PORT=%d"
      .. " </dev/null >%s 2>&1 & echo $!"):format(port, Server.shell_quote(out_file))))
    make_pid = tonumber(p:read("*a"):match("%d+"))
    p:close()
    assert(make_pid, "make did not start")
    for _ = 1, 200 do
      banner = read_file(out_file) or ""
      if banner:find("Ctrl%-C stops it") then break end
      if not alive(make_pid) then break end
      sleep(0.05)
    end
    store_pid = tonumber(banner:match("\n%s*pid%s+(%d+)"))
  end)

  teardown(function()
    if make_pid and alive(make_pid) then run("kill -TERM " .. make_pid .. " 2>/dev/null") end
    if store_pid and not wait_gone(store_pid, 3) then run("kill -KILL " .. store_pid .. " 2>/dev/null") end
    if make_pid and not wait_gone(make_pid, 3) then run("kill -KILL " .. make_pid .. " 2>/dev/null") end
    os.remove(out_file)
  end)

  local function printed(pattern)
    assert(banner:match(pattern), ("the banner has no match for %q:\n%s"):format(pattern, banner))
    return banner:match(pattern)
  end

  it("prints its base URL, the seeded ids, the demo customer and its pid", function()
    assert.are.equal("http://127.0.0.1:" .. port, printed("base URL%s+(%S+)"))
    local ids = {}
    for id in printed("payment collections%s+([^\n]+)"):gmatch("paycol_%w+") do ids[#ids + 1] = id end
    assert.are.same({ "paycol_01JGFJJZ000000000000000001", "paycol_01JGFJJZ000000000000000002",
      "paycol_01JGFJJZ000000000000000003" }, ids)
    assert.are.equal("reg_01JGFJJZ0000000000000000RG", printed("region%s+(reg_%w+)"))
    assert.are.equal("demo@example.com / demo-password", printed("demo customer%s+(%S+ / %S+)"))
    assert.truthy(store_pid and alive(store_pid), banner)
    assert.truthy(read_file("/proc/" .. store_pid .. "/cmdline"):find("server.py", 1, true))
  end)

  it("serves what it printed, through medusa-lua", function()
    local medusa = Medusa.new { baseUrl = printed("base URL%s+(%S+)") }
    local id = printed("payment collections%s+(paycol_%w+)")
    local res = assert(medusa.paymentCollections.retrieve(id, { expand = "region" }))
    assert.are.equal(200, res.response.status)
    assert.are.equal(id, res.payment_collection.id)
    assert.are.equal("not_paid", res.payment_collection.status)
    assert.are.equal(5000, res.payment_collection.amount)
    assert.are.equal(printed("region%s+(reg_%w+)"), res.payment_collection.region.id)
    local email, password = printed("demo customer%s+(%S+) / (%S+)")
    assert(medusa.auth.authenticate { email = email, password = password })
    assert.are.equal(email, assert(medusa.auth.getSession()).customer.email)
    medusa:close()
  end)

  it("runs the README's first example and its quick start as written", function()
    local text = assert(read_file("README.md"))
    local blocks = { lua_blocks(text)[1] }
    for _, block in ipairs(lua_blocks(assert(section(text, "## Quick start"), "no Quick start section"))) do
      blocks[#blocks + 1] = block
    end
    assert.is_true(#blocks >= 2, "no example in the Quick start")
    for i, block in ipairs(blocks) do
      -- The README points at make store's default port; this store has its own.
      assert.truthy(block:find("http://127.0.0.1:9000", 1, true), "example " .. i .. " does not use make store's URL")
      local source = block:gsub("http://127%.0%.0%.1:9000", "http://127.0.0.1:" .. port)
      local shown = {}
      local env = setmetatable({
        print = function(...)
          local parts = {}
          for k = 1, select("#", ...) do parts[k] = tostring((select(k, ...))) end
          shown[#shown + 1] = table.concat(parts, "\t")
        end,
      }, { __index = _G })
      local chunk = assert(helpers.load(source, "=README example " .. i, env))
      chunk()
      local promised = promises(block)
      assert.is_true(#promised > 0, "example " .. i .. " promises no output")
      for k, want in ipairs(promised) do
        assert.are.equal(squeeze(want), squeeze((shown[k] or "(nothing)"):gsub("127%.0%.0%.1:%d+", "127.0.0.1:9000")))
      end
    end
  end)

  it("stops when make is stopped by its PID", function()
    assert.truthy(alive(make_pid))
    run("kill -TERM " .. make_pid)
    assert.is_true(wait_gone(store_pid, 5), "the store outlived make")
    assert.is_true(wait_gone(make_pid, 5), "make did not stop")
  end)
end)
