# mk/bench.mk: `make bench` runs the benchmark suite in bench/ and writes bench/results/latest.md
# (printed too), latest.json (its raw figures), the chart latest.svg/.png and README.md's
# Performance table; `make bench-profile` writes bench/results/profile.md (callgrind instruction
# counts, its targets' verdict printed last, a FAIL still exits 0: it is a measurement; with the
# lower bound of bench/lua_bound.c, the least a result of plain Lua tables can cost);
# `make bench-readme` the README's table again from latest.json; `make bench-header-map` the
# callgrind cost of one response header map alone. Benchmarks are not tests: nothing here is in
# TEST_TARGETS.
#   make bench BENCH_ONLY=get,codec   groups: get post codec startup nginx concurrent
#   make bench QUICK=1                fewer requests and repetitions (a quick look, ~1 min)
#   make bench BENCH_REPS=3 BENCH_N=5000
# Only a full run replaces bench/results/latest.* and the README's table; the others write
# bench/results/tmp/latest.*.
BENCH_DEPS := wrk gnuplot-nox nginx libnginx-mod-http-lua luajit2 libluajit2-5.1-dev \
              libcurl4-openssl-dev lua-cjson python3 curl time
BENCH_ONLY ?=
QUICK ?=
BENCH_REPS ?=
BENCH_N ?=
BENCH_ARGS = $(if $(BENCH_ONLY),--only $(BENCH_ONLY)) $(if $(QUICK),--quick) \
             $(if $(BENCH_REPS),--reps $(BENCH_REPS)) $(if $(BENCH_N),--n $(BENCH_N)) \
             --luajit-cpath '$(dir $(patsubst %/,%,$(dir $(BENCH_LUAJIT_CORE))))?.so'

# The LuaJIT build of the C core: mk/openresty.mk's when it has a rule for it, else bench's own.
ifneq ($(shell grep -ls 'build/luajit/medusa/core.so' mk/openresty.mk 2>/dev/null),)
BENCH_LUAJIT_CORE := build/luajit/medusa/core.so
else
BENCH_LUAJIT_CORE := bench/build/luajit/medusa/core.so
$(BENCH_LUAJIT_CORE): $(SRC) $(HDR) | bench-deps
	@mkdir -p $(dir $@)
	$(CC) -O2 -g $(WARN) $(SHARED) -I/usr/include/luajit-2.1 $(SRC) -o $@ $(CURL_LIBS)
endif

.PHONY: bench bench-profile bench-readme bench-header-map bench-deps
bench-deps:
	@tools/ensure-deps $(BENCH_DEPS)
	@command -v npm >/dev/null 2>&1 || tools/ensure-deps nodejs npm

bench/build/raw_curl: bench/raw_curl.c | bench-deps
	@mkdir -p $(dir $@)
	$(CC) -O2 -g $(WARN) $< -o $@ $(CURL_LIBS)

# The `concurrent` group's raw C contender: one curl_multi handle, N transfers in flight.
bench/build/raw_multi: bench/raw_multi.c | bench-deps
	@mkdir -p $(dir $@)
	$(CC) -O2 -g $(WARN) $< -o $@ $(CURL_LIBS)

# The benchmarks' own Lua C modules, one source each for Lua 5.4 and LuaJIT: bench_rusage
# (bench/lua_rusage.c, user and sys CPU apart for the Lua contenders of `concurrent`) and
# bench_bound (bench/lua_bound.c, bench-profile's lower bound).
bench/build/5.4/bench_%.so: bench/lua_%.c | bench-deps
	@mkdir -p $(dir $@)
	$(CC) -O2 -g $(WARN) $(SHARED) $(LUA54_INC) $< -o $@
bench/build/luajit/bench_%.so: bench/lua_%.c | bench-deps
	@mkdir -p $(dir $@)
	$(CC) -O2 -g $(WARN) $(SHARED) -I/usr/include/luajit-2.1 $< -o $@

# Debian's lua5.4 is stripped; the same static liblua with symbols, for callgrind.
bench/build/lua_sym: bench/lua_sym.c | bench-deps
	@mkdir -p $(dir $@)
	$(CC) -O2 -g $(WARN) $(LUA54_INC) $< -o $@ $(shell pkg-config --variable=libdir lua5.4 2>/dev/null || echo /usr/lib/x86_64-linux-gnu)/liblua5.4.a -lm -ldl -Wl,-E

# The header map alone (bench/header_map.c), on the same static liblua with symbols.
bench/build/header_map: bench/header_map.c $(SRC) $(HDR) | bench-deps
	@mkdir -p $(dir $@)
	$(CC) -O2 -g $(WARN) $(LUA54_INC) $< src/contract.c -o $@ $(shell pkg-config --variable=libdir lua5.4 2>/dev/null || echo /usr/lib/x86_64-linux-gnu)/liblua5.4.a -lm -ldl $(CURL_LIBS)

# Ir of one push_header_map: (callgrind with HEADER_MAP_N maps - with none) / HEADER_MAP_N,
# HEADER_MAP_REPS times, the median printed: Lua 5.4 seeds its string hash per process, so
# runs differ by about 1 %.
HEADER_MAP_N ?= 10000
HEADER_MAP_REPS ?= 5
bench-header-map: bench/build/header_map
	@tools/ensure-deps valgrind
	@cd bench/build && for r in $$(seq $(HEADER_MAP_REPS)); do \
	  for n in $(HEADER_MAP_N) 0; do \
	    LUA_PATH='$(CURDIR)/lua/?.lua;;' valgrind --tool=callgrind --callgrind-out-file=header_map.$$n.out \
	      ./header_map $$n > /dev/null 2> header_map.$$n.log || { cat header_map.$$n.log; exit 1; }; \
	  done; \
	  a=$$(sed -n 's/.*Collected : \([0-9]*\).*/\1/p' header_map.$(HEADER_MAP_N).log); \
	  b=$$(sed -n 's/.*Collected : \([0-9]*\).*/\1/p' header_map.0.log); \
	  echo $$(( (a - b) / $(HEADER_MAP_N) )); \
	done | sort -n | tr '\n' ' ' | awk '{ printf "push_header_map: %d Ir per map (median of %s)\n", $$((NF + 1) / 2), $$0 }'

# medusa-js 6.1.10 exactly as the committed lockfile pins it; no install scripts run.
bench/node/node_modules/.package-lock.json: bench/node/package.json bench/node/package-lock.json | bench-deps
	cd bench/node && npm ci --ignore-scripts --no-audit --no-fund
	@touch $@

BENCH_INPUTS := all bench-deps bench/build/raw_curl bench/build/raw_multi bench/build/5.4/bench_rusage.so \
                bench/build/luajit/bench_rusage.so $(BENCH_LUAJIT_CORE) bench/node/node_modules/.package-lock.json

bench: $(BENCH_INPUTS)
	$(PYTHON3_BENCH) bench/run.py $(BENCH_ARGS)

bench-profile: $(BENCH_INPUTS) bench/build/lua_sym bench/build/5.4/bench_bound.so bench/build/luajit/bench_bound.so
	@tools/ensure-deps valgrind
	$(PYTHON3_BENCH) bench/run.py profile $(BENCH_ARGS)

bench-readme:
	$(PYTHON3_BENCH) bench/run.py readme

PYTHON3_BENCH ?= python3
