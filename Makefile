# Makefile: builds the C core, installs missing Debian packages, runs the specs and the demo.
# `make` builds build/5.4/medusa/core.so; `make test` runs every spec; `make demo` is the main job.

LUA54      ?= lua5.4
CC         ?= cc
CFLAGS     ?= -O2 -g
WARN       := -Wall -Wextra -std=c99 -pedantic -Werror
SHARED     := -fPIC -shared -fvisibility=hidden
SRC        := src/core.c src/json.c src/query.c src/http.c src/contract.c
HDR        := src/core.h src/compat.h src/contract.h
LUA54_INC  := $(shell pkg-config --cflags lua5.4 2>/dev/null || echo -I/usr/include/lua5.4)
CURL_LIBS  := $(shell pkg-config --libs libcurl 2>/dev/null || echo -lcurl)

# Debian packages the build and the specs need (tools/ensure-deps installs them as root).
DEPS_BUILD := gcc make pkg-config lua5.4 liblua5.4-dev libcurl4-openssl-dev
DEPS_TEST  := $(DEPS_BUILD) lua-cjson lua-busted python3 curl perl luarocks tmux

SPECS      ?= spec/*_spec.lua
LUA_ENV    := LUA_PATH='lua/?.lua;lua/?/init.lua;spec/?.lua;;' LUA_CPATH='build/5.4/?.so;;'

# More suites (LuaJIT, nginx, sanitizers, fuzzing, e2e, benchmarks) live in mk/*.mk, one
# concern per file; each may add targets that `make test` runs to TEST_TARGETS.
.DEFAULT_GOAL := all
TEST_TARGETS :=
-include mk/*.mk

.PHONY: all deps deps-test test test-lua54 demo clean
all: build/5.4/medusa/core.so

deps:
	@tools/ensure-deps $(DEPS_BUILD)

deps-test:
	@tools/ensure-deps $(DEPS_TEST)

build/5.4/medusa/core.so: $(SRC) $(HDR) | deps
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(WARN) $(SHARED) $(LUA54_INC) $(SRC) -o $@ $(CURL_LIBS)

test: test-lua54 $(TEST_TARGETS)

test-lua54: deps-test all
	$(LUA_ENV) prove --exec '$(LUA54) /usr/bin/busted -o TAP' $(SPECS)

demo: all
	@tools/ensure-deps python3
	$(LUA_ENV) $(LUA54) examples/demo.lua

clean:
	rm -rf build
