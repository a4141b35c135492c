# mk/fuzz.mk: libFuzzer targets (fuzz/targets/*.lua, one binary each from fuzz/harness.c).
#   make fuzz [FUZZ_SECONDS=60] [FUZZ_TARGETS="json_decode query"]  fuzz each target N s
#   make fuzz-regressions   replay fuzz/regressions/ and the seed corpora (every input once)
#   make fuzz-ci            both, 20 s per target: part of `make test`
# New corpus entries go to build/fuzz/corpus/<target>/ (fuzz/corpus/ holds the committed
# seeds), crashes to build/fuzz/crashes/; build/fuzz/summary.txt has executions per target.

FUZZ_CC      ?= clang
FUZZ_TARGETS ?= json_decode json_roundtrip json_encode query headers number
FUZZ_SECONDS ?= 60
FUZZ_DIR     := build/fuzz
FUZZ_BINS    := $(FUZZ_TARGETS:%=$(FUZZ_DIR)/%)
FUZZ_FLAGS   := -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
                -fno-omit-frame-pointer
FUZZ_LUA     := $(wildcard fuzz/targets/*.lua fuzz/lib/*.lua)
# Largest input per target: JSON documents get room for deep nesting and long strings.
FUZZ_MAXLEN_json_decode    := 65536
FUZZ_MAXLEN_json_roundtrip := 65536
FUZZ_MAXLEN_headers        := 16384
FUZZ_MAXLEN_number         := 64
FUZZ_MAXLEN_json_encode    := 8192
FUZZ_MAXLEN_query          := 8192
FUZZ_DICT_json_decode      := fuzz/dict/json.dict
FUZZ_DICT_json_roundtrip   := fuzz/dict/json.dict
FUZZ_DICT_number           := fuzz/dict/json.dict
FUZZ_DICT_headers          := fuzz/dict/headers.dict
FUZZ_OPTIONS  = -max_len=$(FUZZ_MAXLEN_$*) -timeout=20 -rss_limit_mb=2048 -print_final_stats=1 \
                $(if $(FUZZ_DICT_$*),-dict=$(FUZZ_DICT_$*))
FUZZ_ENV     := ASAN_OPTIONS=detect_leaks=1:halt_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1

.PHONY: fuzz fuzz-ci fuzz-regressions fuzz-build fuzz-seeds deps-fuzz

# Rewrites fuzz/corpus/ from the recordings (needs ../shared/reference/recordings).
FUZZ_RECORDINGS ?= ../shared/reference/recordings
fuzz-seeds: all
	rm -rf fuzz/corpus && mkdir -p $(addprefix fuzz/corpus/,$(FUZZ_TARGETS))
	LUA_PATH='./?.lua;;' LUA_CPATH='build/5.4/?.so;;' $(LUA54) fuzz/seeds.lua $(FUZZ_RECORDINGS) fuzz/corpus

deps-fuzz:
	@tools/ensure-deps clang libclang-rt-14-dev liblua5.4-dev libcurl4-openssl-dev

fuzz-build: $(FUZZ_BINS)

$(FUZZ_DIR)/%: fuzz/harness.c $(SRC) $(HDR) mk/fuzz.mk | deps-fuzz
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_FLAGS) $(WARN) $(LUA54_INC) -DFUZZ_TARGET='"$*"' -DFUZZ_ROOT='"$(CURDIR)"' \
	  fuzz/harness.c src/core.c src/json.c src/query.c src/contract.c src/multi.c -o $@ -llua5.4 $(CURL_LIBS)

# One target for FUZZ_SECONDS; "Done N runs" is its execution count (a crash fails make).
fuzz-run-%: $(FUZZ_DIR)/% $(FUZZ_LUA)
	@mkdir -p $(FUZZ_DIR)/corpus/$* $(FUZZ_DIR)/crashes $(FUZZ_DIR)/logs
	@echo "fuzz $*: $(FUZZ_SECONDS) s"
	@$(FUZZ_ENV) $< $(FUZZ_OPTIONS) -max_total_time=$(FUZZ_SECONDS) \
	  -artifact_prefix=$(FUZZ_DIR)/crashes/$*- $(FUZZ_DIR)/corpus/$* fuzz/corpus/$* \
	  > $(FUZZ_DIR)/logs/$*.log 2>&1 || { tail -60 $(FUZZ_DIR)/logs/$*.log; exit 1; }
	@runs=$$(sed -n 's/^Done \([0-9]*\) runs.*/\1/p' $(FUZZ_DIR)/logs/$*.log | tail -1); \
	  cov=$$(grep -ao 'cov: [0-9]*' $(FUZZ_DIR)/logs/$*.log | tail -1 | cut -d' ' -f2); \
	  line="$* $(FUZZ_SECONDS) s: $$runs executions, 0 crashes, $$cov edges, corpus $$(find $(FUZZ_DIR)/corpus/$* fuzz/corpus/$* -type f | wc -l)"; \
	  echo "fuzz $$line"; echo "$$line" >> $(FUZZ_DIR)/summary.txt

fuzz: $(FUZZ_BINS)
	@rm -f $(FUZZ_DIR)/summary.txt
	@$(MAKE) --no-print-directory $(FUZZ_TARGETS:%=fuzz-run-%)
	@echo "--- fuzz summary ($(FUZZ_DIR)/summary.txt)"; cat $(FUZZ_DIR)/summary.txt

# Every kept input once per target: the regressions (each a crash that was fixed) and the
# seeds. libFuzzer runs the files given as arguments and exits non-zero on a crash.
fuzz-regressions: $(FUZZ_BINS)
	@for t in $(FUZZ_TARGETS); do \
	  files=$$(find fuzz/regressions/$$t fuzz/corpus/$$t -type f 2>/dev/null); \
	  [ -n "$$files" ] || continue; \
	  $(FUZZ_ENV) $(FUZZ_DIR)/$$t $$files > $(FUZZ_DIR)/$$t.replay.log 2>&1 \
	    || { tail -40 $(FUZZ_DIR)/$$t.replay.log; echo "fuzz-regressions: $$t failed"; exit 1; }; \
	  echo "fuzz-regressions $$t: $$(echo "$$files" | wc -l) inputs replayed, 0 crashes"; \
	done

fuzz-ci: fuzz-regressions
	@$(MAKE) --no-print-directory fuzz FUZZ_SECONDS=20

TEST_TARGETS += fuzz-ci
