-- .luacheckrc: luacheck settings for `make lint` (lua/, spec/, examples/, tools/, bench/).
std = "lua54"
max_line_length = 140
exclude_files = { "build/**", "**/node_modules/**", "spec/tmp/**" }

-- The library also runs under LuaJIT and inside nginx.
files["lua/medusa/transport/ngx.lua"] = { std = "+ngx_lua" }
files["lua/medusa/transport/init.lua"] = { std = "+ngx_lua" }

files["spec/**/*_spec.lua"] = { std = "+busted", max_line_length = 200 }
files["spec/nginx/**"] = { std = "ngx_lua" }
files["examples/openresty/**"] = { std = "ngx_lua" }
files["bench/**"] = { std = "+ngx_lua" }

-- LuaLS definitions: empty function bodies with documented parameters.
files["lua/medusa/meta.lua"] = { ignore = { "212", "211", "241" } }
