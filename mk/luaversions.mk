# mk/luaversions.mk: the whole spec suite under PUC Lua 5.1, 5.2 and 5.3 (test-lua51,
# test-lua52, test-lua53), each against its own build/<version>/medusa/core.so; 5.4 is
# test-lua54 (Makefile) and LuaJIT test-luajit (mk/openresty.mk). Debian's lua-busted and
# lua-cjson serve every version. Sanitizers, valgrind, fuzzing and benchmarks stay on 5.4
# (and LuaJIT for the benchmarks): they test the C core, not the Lua version.
# Included by the Makefile.

# $(call lua_env,5.3): the paths for that version. Lua 5.2+ reads LUA_PATH_5_N before the
# plain variables (5.1 reads only the plain ones), so the _5_4 pair keeps the lua5.4
# processes some specs start (the REPL transcript, the proxy check) on the 5.4 build while
# this version's interpreter and its children use build/<version>.
lua_env = LUA_PATH='lua/?.lua;lua/?/init.lua;spec/?.lua;;' LUA_CPATH='build/$(1)/?.so;;' \
          LUA_PATH_5_4='lua/?.lua;lua/?/init.lua;spec/?.lua;;' LUA_CPATH_5_4='build/5.4/?.so;;'

OLD_LUAS := 5.1 5.2 5.3

.PHONY: $(subst .,,$(OLD_LUAS:%=test-lua%))
# test-lua51 -> 5.1: the targets' names drop the dot, the build trees keep it.
$(subst .,,$(OLD_LUAS:%=test-lua%)): test-lua5%: deps-test build/5.%/medusa/core.so build/5.4/medusa/core.so
	@tools/ensure-deps lua5.$* lua-cjson lua-busted
	$(call lua_env,5.$*) prove --exec 'lua5.$* /usr/bin/busted -o TAP' $(SPECS)

TEST_TARGETS += $(subst .,,$(OLD_LUAS:%=test-lua%))
