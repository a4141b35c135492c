# mk/faults.mk: what the fault, hostile-input, TLS and lifecycle specs (spec/faults_spec.lua,
# hostile_spec.lua, tls_spec.lua, lifecycle_spec.lua) need beyond DEPS_TEST: the openssl CLI
# for the throw-away PKI, and unshare/mount (util-linux, mount) for the DNS scenario's
# private /etc/hosts. The specs themselves run with every other spec in test-lua54.

.PHONY: deps-faults
deps-faults:
	@tools/ensure-deps openssl util-linux mount

test-lua54: deps-faults
