-- .luacheckrc: luacheck settings for `make lint` (lua/, spec/, examples/, tools/, bench/).
std = "lua54"
max_line_length = 140
exclude_files = { "build/**", "**/node_modules/**", "spec/tmp/**" }

-- The library runs under Lua 5.1 to 5.4 and LuaJIT: only what all of them have ("min");
-- a newer function is reached through rawget, with a fallback. It also runs inside nginx.
files["lua/**"] = { std = "min" }
files["lua/medusa/transport/ngx.lua"] = { std = "+ngx_lua" }
files["lua/medusa/transport/init.lua"] = { std = "+ngx_lua" }

files["spec/**/*_spec.lua"] = { std = "+busted", max_line_length = 200 }
files["spec/nginx/**"] = { std = "ngx_lua" }
files["examples/openresty/**"] = { std = "ngx_lua" }
files["bench/**"] = { std = "+ngx_lua" }

-- LuaLS definitions: empty function bodies with documented parameters.
files["lua/medusa/meta.lua"] = { ignore = { "212", "211", "241" } }
