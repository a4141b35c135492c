# mk/e2e.mk: `make e2e` proves medusa-lua against a real Medusa v1 backend on 127.0.0.1
# (issue 5): spec/e2e/run.sh installs and starts everything (node >= 20 and PostgreSQL from
# Debian if missing, `npm ci`, a private cluster, migrations, the backend, a proxy), runs
# spec/e2e/*_spec.lua, stops it all by PID and prints the figures. `make test` runs it too.
# cosocket_spec.lua runs the cases inside Debian's nginx too, hence the nginx packages.
#   make e2e-up / e2e-down   keep the backend up between spec runs; make e2e-specs runs them
#   make e2e-clean           also removes node_modules, the cluster and build/e2e (next run is cold)
.PHONY: e2e e2e-up e2e-down e2e-specs e2e-clean

E2E_DEPS := nginx libnginx-mod-http-lua luajit2 libluajit2-5.1-dev lua-cjson lua-busted curl

e2e: all deps-test
	@tools/ensure-deps $(E2E_DEPS)
	$(LUA_ENV) LUA54='$(LUA54)' bash spec/e2e/run.sh

e2e-up:
	bash spec/e2e/up.sh

e2e-down:
	bash spec/e2e/down.sh

e2e-specs: all deps-test
	@tools/ensure-deps $(E2E_DEPS)
	@mkdir -p build/e2e
	$(LUA_ENV) flock -w 900 build/e2e/lock $(LUA54) /usr/bin/busted -o TAP spec/e2e

e2e-clean:
	bash spec/e2e/down.sh --purge

TEST_TARGETS += e2e
