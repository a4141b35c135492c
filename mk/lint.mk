# mk/lint.mk: `make lint` runs luacheck (Debian lua-check) over every Lua file we own,
# with the settings in .luacheckrc; `make test` runs it too.
.PHONY: lint
lint:
	@tools/ensure-deps lua-check
	luacheck --no-color --codes lua spec examples tools bench fuzz

TEST_TARGETS += lint
