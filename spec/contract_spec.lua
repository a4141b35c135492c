-- spec/contract_spec.lua: the transports' contract (src/contract.h) is the one home of its
-- facts: the config defaults, medusa.limits, the header rule of the pipeline and of the C
-- transport, the cosocket transport's limits and messages, and the README's config table
-- all read or match it.
local Medusa = require "medusa"
local core = require "medusa.core"
local Limits = require "medusa.limits"
local Server = require "support.server"

local contract = core.contract

describe("the transports' contract", function()
  it("gives the config its defaults", function()
    local m = Medusa.new {}
    assert.are.equal(contract.default_timeout_ms, m.client.settings.timeout)
    assert.are.equal(contract.default_connect_timeout_ms, m.client.settings.connectTimeout)
    assert.are.equal(contract.default_max_response_bytes, m.client.settings.maxResponseBytes)
    m:close()
    assert.are.equal(30000, contract.default_timeout_ms)
    assert.are.equal(32 * 1024 * 1024, contract.default_max_response_bytes)
  end)

  it("gives medusa.limits its request limits", function()
    assert.are.equal(contract.max_request_head_bytes, Limits.REQUEST_HEAD_BYTES)
    assert.are.equal(contract.max_resource_target_bytes, Limits.RESOURCE_TARGET_BYTES)
    assert.are.equal(16384, Limits.REQUEST_HEAD_BYTES)
  end)

  it("names the failure types and the fixed messages once", function()
    assert.are.same({ network = "network", timeout = "timeout", too_large = "too_large", tls = "tls", ["local"] = "local",
      cancelled = "cancelled" },
      contract.types)
    assert.matches("^response head larger than 192 KiB$", contract.messages.head_too_large)
    assert.are.equal(192 * 1024, contract.max_response_head_bytes)
    assert.are.equal(100 * 1024, contract.max_response_line_bytes)
  end)

  it("has one header rule: the pipeline refuses what the C transport refuses", function()
    local http = core.http_new()
    for _, bad in ipairs { { "Bad Name", "v" }, { "X", "a\r\nb" }, { "X:Y", "v" }, { "", "v" }, { "X", "a\0b" }, { "é", "v" } } do
      local why = core.header_problem(bad[1], bad[2])
      assert.is_string(why)
      local ok = pcall(Medusa.new, { customHeaders = { [bad[1]] = bad[2] } })
      assert.is_false(ok, bad[1])
      local sent, err = pcall(http.perform, http, { method = "GET", url = "http://127.0.0.1:" .. Server.refused_port() .. "/",
        headers = { bad } })
      assert.is_false(sent)
      assert.matches("is not a safe header", err)
    end
    assert.is_nil(core.header_problem("X-Fine", "any value, even é and tabs\t"))
    http:close()
  end)

  it("bounds the cosocket transport's framing and names its failures", function()
    local http1 = require "medusa.transport.http1"
    assert.are.equal(contract.max_response_head_bytes, http1.MAX_HEAD_BYTES)
    assert.are.equal(contract.max_response_line_bytes, http1.MAX_LINE_BYTES)
    local failure = require "medusa.transport.failure"
    local err = failure.too_large(1000)
    assert.are.equal(contract.types.too_large, err.type)
    assert.are.equal("response larger than maxResponseBytes (1000 bytes)", err.message)
  end)

  it("matches the README's config table", function()
    local readme = assert(Server.read_file("README.md"))
    assert.truthy(readme:find("| `timeout` | `" .. contract.default_timeout_ms .. "` |", 1, true))
    assert.truthy(readme:find("| `connectTimeout` | `" .. contract.default_connect_timeout_ms .. "` |", 1, true))
    assert.truthy(readme:find("| `maxResponseBytes` | " .. math.floor(contract.default_max_response_bytes / (1024 * 1024)) .. " MiB |", 1, true))
  end)
end)
