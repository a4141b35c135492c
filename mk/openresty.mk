# mk/openresty.mk: the LuaJIT build of the C core and the two suites that need it:
# test-luajit (every spec under LuaJIT) and test-nginx (the cosocket transport inside a
# real nginx with libnginx-mod-http-lua). Included by the Makefile.

LUAJIT       ?= luajit
LUAJIT_INC   := $(shell pkg-config --cflags luajit 2>/dev/null || echo -I/usr/include/luajit-2.1)
# The _5_4 variables (read by lua5.4 before the plain ones, ignored by LuaJIT) keep the
# lua5.4 processes some specs start (the REPL, the proxy check) on the 5.4 build.
LUAJIT_ENV   := LUA_PATH='lua/?.lua;lua/?/init.lua;spec/?.lua;;' LUA_CPATH='build/luajit/?.so;;' \
                LUA_PATH_5_4='lua/?.lua;lua/?/init.lua;spec/?.lua;;' LUA_CPATH_5_4='build/5.4/?.so;;'
# luajit2 and libluajit2-5.1-dev, not luajit/libluajit-5.1-dev: lua-resty-core (pulled in
# by the nginx module) conflicts with the latter.
DEPS_LUAJIT  := gcc make pkg-config luajit2 libluajit2-5.1-dev libcurl4-openssl-dev
DEPS_NGINX   := $(DEPS_LUAJIT) nginx libnginx-mod-http-lua lua-cjson lua-busted python3 curl perl openssl ca-certificates

.PHONY: deps-luajit test-luajit test-nginx
all: build/luajit/medusa/core.so

deps-luajit:
	@tools/ensure-deps $(DEPS_LUAJIT)

build/luajit/medusa/core.so: $(SRC) $(HDR) | deps-luajit
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(WARN) $(SHARED) $(LUAJIT_INC) $(SRC) -o $@ $(CURL_LIBS)

# The whole suite of issues 2 and 3 again, under LuaJIT (the nginx part of nginx_spec.lua
# stays pending here: it runs once, in test-nginx).
test-luajit: deps-test all build/5.4/medusa/core.so
	@tools/ensure-deps $(DEPS_LUAJIT) lua-cjson lua-busted
	$(LUAJIT_ENV) prove --exec '$(LUAJIT) /usr/bin/busted -o TAP' $(SPECS)

# Starts Debian's nginx on 127.0.0.1 from spec/nginx/ and drives it; the spec stops it by PID.
# tasks_nginx_spec: the shared task cases (spec/tasks_cases.lua) as light threads in nginx.
NGINX_SPECS := spec/nginx_spec.lua spec/tasks_nginx_spec.lua
test-nginx: deps-test all build/5.4/medusa/core.so
	@tools/ensure-deps $(DEPS_NGINX)
	MEDUSA_TEST_NGINX=1 $(LUA_ENV) prove --exec '$(LUA54) /usr/bin/busted -o TAP' $(NGINX_SPECS)

TEST_TARGETS += test-luajit test-nginx
