-- spec/fuzz_regressions_spec.lua: replays what the fuzzers keep (fuzz/regressions/: inputs
-- that once failed, each fixed; fuzz/corpus/: the seeds from recorded traffic) through the
-- same properties (fuzz/targets/*.lua), against the build under test, so they also run under
-- check-asan and check-valgrind. Response heads go through the real transport instead: the
-- scripted server sends each one, and the client must answer with a result (whose fields
-- are those fuzz/lib/head.lua reads) or a clean error, and keep working.
local core = require "medusa.core"
local Server = require "support.server"

package.path = "./?.lua;" .. package.path
local Head = require "fuzz.lib.head"
local Headers = require "medusa.headers"

local function inputs(target)
  local found = {}
  for _, dir in ipairs({ "fuzz/regressions/" .. target, "fuzz/corpus/" .. target }) do
    local p = io.popen("find " .. dir .. " -type f 2>/dev/null | sort")
    for path in p:lines() do found[#found + 1] = path end
    p:close()
  end
  return found
end

local function read(path)
  local f = assert(io.open(path, "rb"))
  local s = f:read("*a")
  f:close()
  return s
end

-- The properties (fuzz/targets/*.lua) use integers, string.pack and utf8: they run under
-- Lua 5.3 and 5.4; 5.1, 5.2 and LuaJIT have none of the three, so there the inputs are
-- pending (json_spec covers the codec under those).
local properties_run = math.type ~= nil and string.pack ~= nil and rawget(_G, "utf8") ~= nil

describe("fuzz regressions", function()
  for _, target in ipairs({ "json_decode", "json_roundtrip", "json_encode", "query", "number" }) do
    describe(target, function()
      local files = inputs(target)
      it("has inputs to replay", function()
        assert.is_true(#files > 0, "no inputs under fuzz/regressions/" .. target .. " or fuzz/corpus/" .. target)
      end)
      for _, path in ipairs(files) do
        local run = properties_run and it or pending
        run(path, function()
          local check = require("fuzz.targets." .. target)
          check(read(path))
        end)
      end
    end)
  end

  describe("response heads through libcurl", function()
    local srv, handle
    setup(function()
      srv = Server.start { mode = "script" }
      handle = core.http_new()
    end)
    teardown(function()
      if handle then handle:close() end
      if srv then srv:stop() end
    end)

    local function get(cap, rules)
      return handle:perform { method = "GET", url = srv.url .. "/store/x", headers = {},
        timeout_ms = 5000, max_response_bytes = cap, header_rules = rules }
    end

    for _, path in ipairs(inputs("headers")) do
      it(path, function()
        local data = read(path)
        local cap = (data:byte(1) or 0) * 256 + (data:byte(2) or 0)
        local head = data:sub(3)
        -- as recorded, and without Content-Length, so that a head whose body never came
        -- also reaches the header list (the body then ends with the connection)
        local unsized = head:gsub("[Cc][Oo][Nn][Tt][Ee][Nn][Tt]%-[Ll][Ee][Nn][Gg][Tt][Hh]:[^\n]*\n", "")
        for _, raw in ipairs({ head, unsized }) do
          srv:script { { raw = raw, after = "close" } }
          local res, err = get(cap > 0 and cap or nil)
          if res then
            assert.is_number(res.status)
            assert.are.equal(0, #res.headers % 2)
            for _, field in ipairs(res.headers) do
              assert.is_string(field)
              assert.is_nil(field:find("\n", 1, true))
            end
            -- one final head (no 1xx before it): the fields are what lib/head.lua reads
            local text = raw:match("^(.-\n)\r?\n")
            if text and not text:match("^HTTP/%S+ 1%d%d") then
              assert.are.same(Head.fields(text), res.headers)
              -- and the map the pipeline gets is what medusa.headers makes of those fields
              srv:script { { raw = raw, after = "close" } }
              local mapped = assert(get(cap > 0 and cap or nil, Headers.RULES))
              assert.are.same(Headers.map(Head.fields(text), Headers.RULES), mapped.headers)
            end
          else
            assert.is_string(err.type)
            assert.is_string(err.message)
            assert.is_string(err.code)
          end
        end
        -- the handle survives whatever came before
        srv:script { { json = { ok = true } } }
        local res, err = get(nil)
        assert.is_table(res, err and err.message)
        assert.are.equal(200, res.status)
        assert.are.equal('{"ok":true}', res.body)
      end)
    end
  end)
end)
