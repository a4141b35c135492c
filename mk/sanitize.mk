# mk/sanitize.mk: the memory checks of the C core. `make check-asan` runs the whole spec
# suite against a core built with AddressSanitizer + UndefinedBehaviorSanitizer (leaks by
# LeakSanitizer); `make check-valgrind` runs it with the interpreter under valgrind memcheck.
# Both are part of `make test`. `make soak` (not in the tests) runs bench/soak.lua.

ASAN_DIR      := build/asan
ASAN_CORE     := $(ASAN_DIR)/medusa/core.so
ASAN_HELPER   := $(ASAN_DIR)/children_env.so
ASAN_CURL     := $(ASAN_DIR)/bin/curl
ASAN_MAKE     := $(ASAN_DIR)/bin/make
ASAN_CANARY   := $(ASAN_DIR)/canary.so
SANITIZE      := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
# The interpreter is not instrumented, so the runtime must come first: preloaded.
ASAN_RUNTIME   = $(shell $(CC) -print-file-name=libasan.so)
# Errors are fatal everywhere. The checked process (busted) also looks for leaks (with no
# suppressions: Lua, libcurl and OpenSSL free or keep reachable all they allocate) and for
# stack use after return; the processes it starts get the same minus leaks (see
# fuzz/sanitize/children_env.c for why).
ASAN_COMMON   := halt_on_error=1:abort_on_error=0:strict_string_checks=1:check_initialization_order=1:detect_odr_violation=0
ASAN_ROOT_OPTIONS  := $(ASAN_COMMON):detect_leaks=1:detect_stack_use_after_return=1
ASAN_CHILD_OPTIONS := $(ASAN_COMMON):detect_leaks=0
ASAN_ENV       = MEDUSA_PRELOAD='$(ASAN_RUNTIME) $(CURDIR)/$(ASAN_HELPER)' \
                 ASAN_OPTIONS='$(ASAN_ROOT_OPTIONS)' MEDUSA_ASAN_CHILD_OPTIONS='$(ASAN_CHILD_OPTIONS)' \
                 UBSAN_OPTIONS='halt_on_error=1:print_stacktrace=1'
ASAN_LUA_ENV  := LUA_PATH='lua/?.lua;lua/?/init.lua;spec/?.lua;;' LUA_CPATH='$(ASAN_DIR)/?.so;;' \
                 PATH='$(CURDIR)/$(ASAN_DIR)/bin':"$$PATH"
ASAN_SPECS    ?= $(SPECS)

VALGRIND_DIR  := build/valgrind
VALGRIND      := valgrind --quiet --leak-check=full --errors-for-leak-kinds=definite,indirect \
                 --error-exitcode=99
# Two faults re-run the interpreter found at /proc/self/exe, which under valgrind is
# valgrind's own tool binary; they run in check-asan and test-lua54 instead.
VALGRIND_SKIP := --filter-out=does%snot%sresolve --filter-out=peak%smemory%sstays

.PHONY: check-asan check-asan-canary check-valgrind check-valgrind-canary check-valgrind-numbers \
        deps-sanitize

deps-sanitize:
	@tools/ensure-deps gcc valgrind

$(ASAN_CORE): $(SRC) $(HDR) | deps
	@mkdir -p $(dir $@)
	$(CC) -O1 -g $(SANITIZE) $(WARN) $(SHARED) $(LUA54_INC) $(SRC) -o $@ $(CURL_LIBS)

$(ASAN_HELPER): fuzz/sanitize/children_env.c | deps
	@mkdir -p $(dir $@)
	$(CC) -O2 $(WARN) -fPIC -shared $< -o $@

$(ASAN_CANARY): fuzz/sanitize/canary.c | deps
	@mkdir -p $(dir $@)
	$(CC) -O1 -g $(SANITIZE) $(WARN) $(SHARED) $(LUA54_INC) $< -o $@

# The curl CLI (the specs' control plane) hangs at start-up in setlocale when libasan is
# preloaded; it is not under test, so on this PATH it runs without the preload.
$(ASAN_CURL): | deps-test
	@mkdir -p $(dir $@)
	printf '#!/bin/sh\nunset LD_PRELOAD\nexec %s "$$@"\n' "$$(command -v curl)" > $@
	chmod +x $@

# GNU make 4.3 reads past a buffer in xstrndup under libasan's strict string checks
# (store_command_spec starts `make store`); make is not under test either.
$(ASAN_MAKE): | deps-test
	@mkdir -p $(dir $@)
	printf '#!/bin/sh\nunset LD_PRELOAD\nexec %s "$$@"\n' "$$(command -v make)" > $@
	chmod +x $@

# Proof that the sanitizers watch a Lua process in this environment: each canary must fail
# it with the sanitizer's own report.
check-asan-canary: $(ASAN_CANARY) $(ASAN_HELPER) $(ASAN_CORE)
	@for probe in 'leak:detected memory leaks' 'overflow:heap-buffer-overflow' \
	              'signed_overflow:signed integer overflow'; do \
	  fn=$${probe%%:*}; want=$${probe#*:}; \
	  if $(ASAN_ENV) LUA_CPATH='$(ASAN_DIR)/?.so;;' fuzz/sanitize/preload $(LUA54) \
	       -e "require('canary').$$fn()" > $(ASAN_DIR)/canary.out 2>&1; then \
	    echo "check-asan: canary $$fn passed unnoticed: the sanitizers are not active"; exit 1; \
	  fi; \
	  grep -q "$$want" $(ASAN_DIR)/canary.out || { cat $(ASAN_DIR)/canary.out; \
	    echo "check-asan: canary $$fn failed without the report '$$want'"; exit 1; }; \
	  echo "check-asan: canary $$fn caught ($$want)"; \
	done
	@$(ASAN_LUA_ENV) $(ASAN_ENV) fuzz/sanitize/preload $(LUA54) -e \
	  "local p = package.searchpath('medusa.core', package.cpath); assert(p:find('$(ASAN_DIR)', 1, true), p)"
	@echo "check-asan: the specs load $(ASAN_CORE)"

# prove itself runs unpreloaded; only the command it starts per spec file is checked.
check-asan: deps-test $(ASAN_CORE) $(ASAN_HELPER) $(ASAN_CURL) $(ASAN_MAKE) check-asan-canary
	$(ASAN_LUA_ENV) $(ASAN_ENV) prove --exec 'fuzz/sanitize/preload $(LUA54) /usr/bin/busted -o TAP' $(ASAN_SPECS)

TEST_TARGETS += check-asan

$(VALGRIND_DIR)/canary.so: fuzz/sanitize/canary.c | deps
	@mkdir -p $(dir $@)
	$(CC) -O0 -g $(WARN) $(SHARED) $(LUA54_INC) $< -o $@

# The same negative control for memcheck (it cannot see a signed overflow).
check-valgrind-canary: $(VALGRIND_DIR)/canary.so | deps-sanitize
	@for fn in leak overflow; do \
	  if LUA_CPATH='$(VALGRIND_DIR)/?.so;;' $(VALGRIND) $(LUA54) -e "require('canary').$$fn()" \
	       > $(VALGRIND_DIR)/canary.out 2>&1; then \
	    echo "check-valgrind: canary $$fn passed unnoticed"; exit 1; \
	  fi; \
	  grep -Eq 'definitely lost|Invalid write' $(VALGRIND_DIR)/canary.out || { cat $(VALGRIND_DIR)/canary.out; exit 1; }; \
	  echo "check-valgrind: canary $$fn caught"; \
	done

# json.c formats most doubles on an x87 fast path that it turns off when long doubles have
# no extra precision, as under valgrind: the bytes must be the same either way.
check-valgrind-numbers: all | deps-sanitize
	@native=$$(LUA_CPATH='build/5.4/?.so;;' $(LUA54) fuzz/sanitize/numbers.lua); \
	  checked=$$(LUA_CPATH='build/5.4/?.so;;' $(VALGRIND) $(LUA54) fuzz/sanitize/numbers.lua); \
	  echo "check-valgrind: native    $$native"; echo "check-valgrind: valgrind  $$checked"; \
	  [ -n "$$native" ] && [ "$$native" = "$$checked" ]

# The whole suite with the interpreter under memcheck (the processes it starts run natively).
check-valgrind: deps-test deps-sanitize all check-valgrind-canary check-valgrind-numbers
	$(LUA_ENV) prove --exec '$(VALGRIND) $(LUA54) /usr/bin/busted -o TAP $(VALGRIND_SKIP)' $(SPECS)

TEST_TARGETS += check-valgrind

# Not a test: minutes long. SOAK_REQUESTS=100000 requests on one client; fails on >= 1 MiB
# of RSS growth after the warm-up.
SOAK_REQUESTS ?= 100000
.PHONY: soak
soak: deps-test all
	$(LUA_ENV) $(LUA54) bench/soak.lua $(SOAK_REQUESTS)

# The same through medusa:all (the multi handle, its transfers, the scheduler): in the
# tests, as 100,000 calls take well under a minute this way.
.PHONY: soak-tasks
soak-tasks: deps-test all
	$(LUA_ENV) $(LUA54) bench/soak.lua $(SOAK_REQUESTS) 10000 all

TEST_TARGETS += soak-tasks
