# Makefile: builds the C core, installs missing Debian packages, runs the specs and the demo.
# `make` builds build/5.4/medusa/core.so (and build/luajit, mk/openresty.mk); `make LUA=5.3`
# builds build/5.3/medusa/core.so instead of the 5.4 one (5.1, 5.2, 5.3, 5.4: one C source);
# `make test` runs every spec; `make demo` is the main job.

LUA        ?= 5.4
LUA_VERSIONS := 5.1 5.2 5.3 5.4
ifeq ($(filter $(LUA),$(LUA_VERSIONS)),)
$(error LUA=$(LUA): pick one of $(LUA_VERSIONS) (LuaJIT: build/luajit, built by every `make`))
endif
LUA54      ?= lua5.4
CC         ?= cc
CFLAGS     ?= -O2 -g
WARN       := -Wall -Wextra -std=c99 -pedantic -Werror
SHARED     := -fPIC -shared -fvisibility=hidden
SRC        := src/core.c src/json.c src/query.c src/transfer.c src/http.c src/multi.c src/contract.c
HDR        := src/core.h src/compat.h src/contract.h src/transfer.h
# $(call lua_inc,5.3): the compiler flags for that Lua's headers (Debian: /usr/include/lua5.3).
lua_inc     = $(shell pkg-config --cflags lua$(1) 2>/dev/null || echo -I/usr/include/lua$(1))
LUA54_INC  := $(call lua_inc,5.4)
CURL_LIBS  := $(shell pkg-config --libs libcurl 2>/dev/null || echo -lcurl)

# Debian packages the build and the specs need (tools/ensure-deps installs them as root).
# Each Lua's headers: 5.1's package carries its soname in the name.
LUA_DEV_5.1 := liblua5.1-0-dev
LUA_DEV_5.2 := liblua5.2-dev
LUA_DEV_5.3 := liblua5.3-dev
LUA_DEV_5.4 := liblua5.4-dev
deps_build  = gcc make pkg-config lua$(1) $(LUA_DEV_$(1)) libcurl4-openssl-dev
DEPS_BUILD := $(call deps_build,5.4)
# The event loops examples/cqueues_loop.lua and examples/luv_loop.lua run medusa's tasks in
# (Debian builds both for every PUC Lua and LuaJIT); the demo runs them.
DEPS_DEMO  := python3 lua-cqueues lua-luv
# Every PUC Lua with its headers: rockspec_spec installs the rock for each of them.
DEPS_TEST  := $(DEPS_BUILD) $(foreach v,5.1 5.2 5.3,lua$(v) $(LUA_DEV_$(v))) \
              lua-cjson lua-busted python3 curl perl luarocks tmux $(DEPS_DEMO)

SPECS      ?= spec/*_spec.lua
LUA_ENV    := LUA_PATH='lua/?.lua;lua/?/init.lua;spec/?.lua;;' LUA_CPATH='build/5.4/?.so;;'

# More suites (LuaJIT, nginx, sanitizers, fuzzing, e2e, benchmarks) live in mk/*.mk, one
# concern per file; each may add targets that `make test` runs to TEST_TARGETS.
.DEFAULT_GOAL := all
TEST_TARGETS :=
-include mk/*.mk

.PHONY: all deps deps-test test test-lua54 demo clean $(LUA_VERSIONS:%=deps-lua%)
all: build/$(LUA)/medusa/core.so

deps: deps-lua$(LUA)

$(LUA_VERSIONS:%=deps-lua%): deps-lua%:
	@tools/ensure-deps $(call deps_build,$*)

deps-test:
	@tools/ensure-deps $(DEPS_TEST)

# build/5.1 ... build/5.4: the same sources against each Lua's headers.
$(LUA_VERSIONS:%=build/%/medusa/core.so): build/%/medusa/core.so: $(SRC) $(HDR) | deps-lua%
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(WARN) $(SHARED) $(call lua_inc,$*) $(SRC) -o $@ $(CURL_LIBS)

test: test-lua54 $(TEST_TARGETS)

test-lua54: deps-test all build/5.4/medusa/core.so
	$(LUA_ENV) prove --exec '$(LUA54) /usr/bin/busted -o TAP' $(SPECS)

demo: all
	@tools/ensure-deps $(DEPS_DEMO)
	$(LUA_ENV) $(LUA54) examples/demo.lua

clean:
	rm -rf build
