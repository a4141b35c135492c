# mk/api.mk: `make api-docs` regenerates, from the route declarations in lua/medusa/resources/,
# the method types in lua/medusa/meta.lua and the method tables in README.md (tools/gen_api.lua).
# spec/api_docs_spec.lua fails when they are stale, so this is not a test target.
.PHONY: api-docs
api-docs: all
	$(LUA_ENV) $(LUA54) tools/gen_api.lua meta --write
	$(LUA_ENV) $(LUA54) tools/gen_api.lua readme --write
