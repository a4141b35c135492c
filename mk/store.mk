# mk/store.mk: `make store` runs the stand-in store (spec/support/server.py --mode store, the
# one `make demo` and the specs use) on 127.0.0.1 in the foreground, for trying the README's
# examples and the REPL by hand. It prints its base URL and the seeded ids (payment
# collections, region, the demo customer's email and password); Ctrl-C stops it.
# `make store PORT=9100` (or PORT in the environment) picks the port; 9000 by default, the
# port the README's examples use; PORT=0 takes any free one. Not a test target.
.PHONY: store

store:
	@tools/ensure-deps python3
	@exec python3 spec/support/server.py --mode store --port $(or $(PORT),9000) --banner
