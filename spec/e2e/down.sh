#!/usr/bin/env bash
# spec/e2e/down.sh: stops what up.sh started, each process by the PID it recorded (the
# proxy, Medusa, then PostgreSQL with a fast shutdown). Safe to run twice or after a
# half-finished up.sh. The cluster's data and node_modules stay for a warm next run,
# unless --purge.
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
take_lock

stop_pid proxy "$(cat "$RUN/proxy.pid" 2>/dev/null)" TERM proxy.py 5
stop_pid medusa "$(cat "$RUN/medusa.pid" 2>/dev/null)" TERM start.js 10
# SIGINT is PostgreSQL's fast shutdown: it ends the sessions instead of waiting for them.
stop_pid postgres "$(cat "$RUN/postgres.pid" 2>/dev/null)" INT postgres 30
rm -f "$RUN/proxy.pid" "$RUN/medusa.pid" "$RUN/postgres.pid" "$RUN/proxy.port" "$RUN/env"

# --purge: the next run starts cold (no node_modules, no cluster, no npm cache).
if [ "${1:-}" = --purge ]; then
  rm -rf "$BACKEND/node_modules" "$PGROOT" "$STATE"
  say "purged node_modules, $PGROOT and $STATE"
fi
