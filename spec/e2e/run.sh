#!/usr/bin/env bash
# spec/e2e/run.sh: what `make e2e` runs. Brings the real backend up (up.sh), runs every
# spec/e2e/*_spec.lua against it, stops every process it started by PID (down.sh, from an
# EXIT trap, so also when a spec fails or the run is interrupted), and prints the figures:
# bring-up time (cold or warm), spec time, and the count of real-backend cases passing.
# Expects LUA_PATH/LUA_CPATH from the Makefile's $(LUA_ENV); LUA54 names the interpreter.
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$REPO" || exit 1

T0=$(now)
take_lock

# A backend someone brought up by hand (make e2e-up) is reused and left running.
STARTED=yes
if [ -f "$RUN/env" ] && alive "$(cat "$RUN/medusa.pid" 2>/dev/null)"; then STARTED=no; fi
trap 'if [ "$STARTED" = yes ]; then bash "$E2E/down.sh"; fi' EXIT
SPECS_PID=
trap 'if [ -n "$SPECS_PID" ]; then kill "$SPECS_PID" 2>/dev/null; fi; exit 130' INT TERM

rm -f "$RUN/timings"
bash "$E2E/up.sh" || die "the backend did not come up"

T_SPECS=$(now)
# In the background so a TERM or INT reaches the trap at once, not after the specs end.
timeout 900 "${LUA54:-lua5.4}" /usr/bin/busted -o TAP spec/e2e > "$LOGS/specs.tap" 2>&1 &
SPECS_PID=$!
tail -n +1 -s 0.2 -f --pid="$SPECS_PID" "$LOGS/specs.tap" &
TAIL_PID=$!
wait "$SPECS_PID"
RC=$?
wait "$TAIL_PID"
SPECS_S=$(elapsed "$T_SPECS")

T_STOP=$(now)
if [ "$STARTED" = yes ]; then
  bash "$E2E/down.sh"
  STARTED=no
fi
STOP_S=$(elapsed "$T_STOP")

PASSED=$(grep -c '^ok ' "$LOGS/specs.tap")
FAILED=$(grep -c '^not ok ' "$LOGS/specs.tap")
[ "$RC" != 0 ] && [ "$FAILED" = 0 ] && FAILED=1   # busted died before reporting
# Cases that talk to the real backend (the normaliser's self-checks do not).
REAL='(real Medusa v1 backend|differential:)'
REAL_OK=$(grep -cE "^ok .*$REAL" "$LOGS/specs.tap")
REAL_ALL=$(grep -cE "^(not )?ok .*$REAL" "$LOGS/specs.tap")
# Of those, the store API flows of store_cases.lua (both runners nest them under this title).
STORE='real Medusa v1 backend.*store API end to end:'
STORE_OK=$(grep -cE "^ok .*$STORE" "$LOGS/specs.tap")
STORE_ALL=$(grep -cE "^(not )?ok .*$STORE" "$LOGS/specs.tap")

if [ -f "$RUN/timings" ]; then
  # shellcheck disable=SC1091,SC2154
  source "$RUN/timings"
  if [ "$npm_ci_ran" = yes ] || [ "$cluster_created" = yes ]; then KIND=cold; else KIND=warm; fi
  say "backend up ($KIND) in ${up_s}s: npm ci ${npm_s}s (ran: $npm_ci_ran), postgres ${postgres_s}s" \
    "(new cluster: $cluster_created), migrations ${migrations_s}s, admin user ${admin_user_s:-0}s, boot to /health ${boot_s}s"
else
  say "backend was already up (make e2e-up); reused"
fi
say "specs ran in ${SPECS_S}s; stopping took ${STOP_S}s; e2e total $(elapsed "$T0")s"
say "real-backend cases passing: $REAL_OK of $REAL_ALL (store API flows: $STORE_OK of $STORE_ALL)"
echo "e2e: $PASSED passed, $FAILED failed"
exit "$RC"
