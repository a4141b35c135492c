# spec/e2e/lib.sh: what up.sh, down.sh and run.sh share: where state lives, the
# environment that keeps npm, Medusa and PostgreSQL off $HOME and off the network, and
# stopping a process by PID. Sourced, never run.
# shellcheck shell=bash disable=SC2034  # the variables are for the scripts that source this

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
E2E=$REPO/spec/e2e
BACKEND=$E2E/backend
STATE=${E2E_STATE:-$REPO/build/e2e}
RUN=$STATE/run          # pid files, the env file the specs read, timings
LOGS=$STATE/logs
# PostgreSQL refuses to run as root and its user may not reach a repo under /root, so the
# cluster lives in /tmp, one per checkout (the checksum of the repo path).
PGROOT=${E2E_PGROOT:-/tmp/medusa-lua-e2e-$(printf %s "$REPO" | cksum | cut -d' ' -f1)}
PGDATA=$PGROOT/data
DB_NAME=medusa_e2e

mkdir -p "$RUN" "$LOGS" "$STATE/home/.config/medusa"

# Nothing may land in the caller's $HOME: npm's cache and logs, Medusa's telemetry
# settings (XDG_CONFIG_HOME) and anything else that writes to ~ all go under $STATE.
export HOME=$STATE/home
export XDG_CONFIG_HOME=$STATE/home/.config
export npm_config_cache=${E2E_NPM_CACHE:-$STATE/npm-cache}
export npm_config_update_notifier=false npm_config_fund=false npm_config_audit=false
export MEDUSA_DISABLE_TELEMETRY=true DO_NOT_TRACK=1
export NODE_ENV=development   # the mode the reference recordings were made in
# medusa-telemetry asks its configstore before the environment; a stored "no" keeps it
# quiet and sends nothing.
echo '{"telemetry":{"enabled":false}}' > "$XDG_CONFIG_HOME/medusa/config.json"
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY all_proxy ALL_PROXY

say() { printf 'e2e: %s\n' "$*" >&2; }
die() { say "FAILED: $*"; exit 1; }
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

# A free TCP port on 127.0.0.1 (the kernel picks it; tiny race, acceptable for tests).
free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

pg_bin() {
  local initdb
  initdb=$(ls -d /usr/lib/postgresql/*/bin/initdb 2>/dev/null | sort -V | tail -n 1)
  [ -n "$initdb" ] || initdb=$(command -v initdb || true)
  if [ -n "$initdb" ]; then dirname "$(readlink -f "$initdb")"; fi
}

# Runs a PostgreSQL server program as the postgres user when we are root.
as_pg() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

# Alive and not a zombie: a daemon whose starter exited is reaped by whoever adopted it,
# sometimes only much later.
alive() {
  [ -n "${1:-}" ] && kill -0 "$1" 2>/dev/null \
    && ! awk '{ exit ($3 == "Z" ? 0 : 1) }' "/proc/$1/stat" 2>/dev/null
}

# stop_pid NAME PID SIGNAL CMDLINE-PATTERN SECONDS: signals PID only if its command line
# still matches (a recycled PID is left alone), waits, then KILLs.
stop_pid() {
  local name=$1 pid=$2 sig=$3 pattern=$4 secs=$5 i
  alive "$pid" || return 0
  if ! tr '\0' ' ' < "/proc/$pid/cmdline" 2>/dev/null | grep -q -- "$pattern"; then
    say "pid $pid is no longer $name; left alone"
    return 0
  fi
  kill "-$sig" "$pid" 2>/dev/null || true
  for ((i = 0; i < secs * 10; i++)); do
    alive "$pid" || { say "stopped $name (pid $pid)"; return 0; }
    sleep 0.1
  done
  say "$name (pid $pid) ignored SIG$sig for ${secs}s; killing it"
  kill -KILL "$pid" 2>/dev/null || true
}

# One bring-up, spec run or stop per checkout at a time (other `make test` runs in the same
# tree wait): run.sh holds the lock for a whole run, and the up.sh/down.sh it calls inherit it.
take_lock() {
  [ -n "${E2E_LOCKED:-}" ] && return 0
  exec 9> "$STATE/lock"
  flock -w 900 9 || die "another e2e run has held $STATE/lock for 15 minutes"
  export E2E_LOCKED=1
}

# Prints the last lines of a log, for failure messages.
show_log() {
  say "---- last lines of $1 ----"
  tail -n "${2:-40}" "$1" >&2 || true
}
