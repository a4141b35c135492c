-- The LuaRocks build of medusa-lua: the C core (libcurl from the system) and the Lua layer.
-- Offline install: luarocks make --lua-version=5.4 --deps-mode=none --tree=<dir>
rockspec_format = "3.0"
package = "medusa-lua"
version = "dev-1"
source = {
  -- `luarocks make` builds from the checkout and never fetches this.
  url = "git+file:///medusa-lua.git",
}
description = {
  summary = "Medusa v1 Store API client: libcurl and a JSON codec in C, a thin Lua layer",
  detailed = [[
A Lua client for the Medusa v1 Store API (every store resource of medusa-js), wire-identical to
@medusajs/medusa-js 6.x where medusa-js is right, safer where it is not.]],
  license = "MIT",
}
dependencies = {
  "lua >= 5.1, < 5.5",
}
test_dependencies = {
  "lua-cjson",
  "busted",
}
build = {
  type = "builtin",
  modules = {
    -- libcurl's header is found on the compiler's default path (Debian puts it under the
    -- multiarch include dir, which gcc searches by itself).
    ["medusa.core"] = {
      sources = { "src/core.c", "src/json.c", "src/query.c", "src/transfer.c", "src/http.c", "src/multi.c", "src/contract.c" },
      libraries = { "curl" },
    },
    ["medusa"] = "lua/medusa/init.lua",
    ["medusa.client"] = "lua/medusa/client.lua",
    ["medusa.request_headers"] = "lua/medusa/request_headers.lua",
    ["medusa.response"] = "lua/medusa/response.lua",
    ["medusa.retry"] = "lua/medusa/retry.lua",
    ["medusa.session"] = "lua/medusa/session.lua",
    ["medusa.events"] = "lua/medusa/events.lua",
    ["medusa.cookies"] = "lua/medusa/cookies.lua",
    ["medusa.pretty"] = "lua/medusa/pretty.lua",
    ["medusa.headers"] = "lua/medusa/headers.lua",
    ["medusa.error"] = "lua/medusa/error.lua",
    ["medusa.json"] = "lua/medusa/json.lua",
    ["medusa.resource"] = "lua/medusa/resource.lua",
    ["medusa.limits"] = "lua/medusa/limits.lua",
    ["medusa.resources"] = "lua/medusa/resources/init.lua",
    ["medusa.tasks"] = "lua/medusa/tasks/init.lua",
    ["medusa.tasks.scheduler"] = "lua/medusa/tasks/scheduler.lua",
    ["medusa.tasks.ngx"] = "lua/medusa/tasks/ngx.lua",
    ["medusa.resources.auth"] = "lua/medusa/resources/auth.lua",
    ["medusa.resources.carts"] = "lua/medusa/resources/carts.lua",
    ["medusa.resources.collections"] = "lua/medusa/resources/collections.lua",
    ["medusa.resources.customers"] = "lua/medusa/resources/customers.lua",
    ["medusa.resources.gift_cards"] = "lua/medusa/resources/gift_cards.lua",
    ["medusa.resources.order_edits"] = "lua/medusa/resources/order_edits.lua",
    ["medusa.resources.orders"] = "lua/medusa/resources/orders.lua",
    ["medusa.resources.payment_collections"] = "lua/medusa/resources/payment_collections.lua",
    ["medusa.resources.payment_methods"] = "lua/medusa/resources/payment_methods.lua",
    ["medusa.resources.product_categories"] = "lua/medusa/resources/product_categories.lua",
    ["medusa.resources.product_tags"] = "lua/medusa/resources/product_tags.lua",
    ["medusa.resources.product_types"] = "lua/medusa/resources/product_types.lua",
    ["medusa.resources.products"] = "lua/medusa/resources/products.lua",
    ["medusa.resources.regions"] = "lua/medusa/resources/regions.lua",
    ["medusa.resources.return_reasons"] = "lua/medusa/resources/return_reasons.lua",
    ["medusa.resources.returns"] = "lua/medusa/resources/returns.lua",
    ["medusa.resources.shipping_options"] = "lua/medusa/resources/shipping_options.lua",
    ["medusa.resources.swaps"] = "lua/medusa/resources/swaps.lua",
    ["medusa.transport"] = "lua/medusa/transport/init.lua",
    ["medusa.transport.curl"] = "lua/medusa/transport/curl.lua",
    ["medusa.transport.ngx"] = "lua/medusa/transport/ngx.lua",
    ["medusa.transport.http1"] = "lua/medusa/transport/http1.lua",
    ["medusa.transport.reader"] = "lua/medusa/transport/reader.lua",
    ["medusa.transport.failure"] = "lua/medusa/transport/failure.lua",
  },
}
