# mk/wire.mk: `make record-wire` records again what the real medusa-js 6.1.10 sends for every
# call of spec/wire/calls.json, into the fixture spec/store_wire_spec.lua compares medusa-lua
# with. Run it after changing the case list; commit both. medusa-js comes from the e2e
# backend's node_modules (its package.json pins 6.1.10; `make e2e-up` runs `npm ci` there).
# Not in TEST_TARGETS: the spec reads the committed fixture, so the tests need no node.
.PHONY: record-wire

WIRE_CALLS   := spec/wire/calls.json
WIRE_FIXTURE := spec/support/fixtures/medusa-js-store-wire.json

record-wire:
	@command -v node >/dev/null || tools/ensure-deps nodejs
	node spec/wire/record_medusa_js.js $(WIRE_CALLS) $(WIRE_FIXTURE)
