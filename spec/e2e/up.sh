#!/usr/bin/env bash
# spec/e2e/up.sh: brings up the real Medusa v1 backend on 127.0.0.1 from whatever is there
# (nothing, or a previous run's node_modules and cluster): Debian packages if missing,
# `npm ci` when the lockfile changed, a private PostgreSQL cluster, migrations (checked in
# the log: the CLI exits 0 on errors), the loopback starter, /health, the fixture region,
# and the fault-injecting proxy. Writes $RUN/env for the specs and $RUN/timings.
# Every process it starts has its PID in $RUN; down.sh stops them.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

take_lock
T_START=$(now)
# A failed bring-up leaves nothing running.
trap 'rc=$?; if [ "$rc" != 0 ]; then say "cleaning up"; bash "$E2E/down.sh"; fi' EXIT
REGION_ID=reg_medusa_lua_e2e
# The admin user the store specs' fixtures act as (spec/e2e/support/admin.lua); a loopback
# test user in a private cluster, so its password can live here.
ADMIN_ID=usr_medusa_lua_e2e_admin
ADMIN_EMAIL=admin@medusa-lua.test
ADMIN_PASSWORD=medusa-lua-e2e-admin

if [ -f "$RUN/env" ] && alive "$(cat "$RUN/medusa.pid" 2>/dev/null)" \
  && curl -fsS -o /dev/null "$(sed -n 's/^E2E_BASE_URL=//p' "$RUN/env")/health" 2>/dev/null; then
  say "backend already up ($RUN/env); reusing it"
  exit 0
fi

# ---- tools ---------------------------------------------------------------------------
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  "$REPO/tools/ensure-deps" nodejs npm
fi
node -e 'process.exit(+process.versions.node.split(".")[0] >= 20 ? 0 : 1)' \
  || die "node >= 20 is needed (found $(node --version))"
[ -n "$(pg_bin)" ] || "$REPO/tools/ensure-deps" postgresql
PGBIN=$(pg_bin)
[ -n "$PGBIN" ] || die "no initdb found after installing postgresql"
command -v psql >/dev/null || "$REPO/tools/ensure-deps" postgresql-client
command -v curl >/dev/null || "$REPO/tools/ensure-deps" curl

# ---- node_modules: npm ci only when the lockfile differs from the installed one --------
T=$(now)
NPM_RAN=no
LOCK_SUM=$(sha256sum "$BACKEND/package-lock.json" | cut -d' ' -f1)
if [ "$(cat "$BACKEND/node_modules/.e2e-lock-sha256" 2>/dev/null)" != "$LOCK_SUM" ]; then
  say "npm ci (cache: $npm_config_cache)"
  if ! (cd "$BACKEND" && npm ci --ignore-scripts --no-audit --no-fund) > "$LOGS/npm-ci.log" 2>&1; then
    show_log "$LOGS/npm-ci.log"
    die "npm ci"
  fi
  echo "$LOCK_SUM" > "$BACKEND/node_modules/.e2e-lock-sha256"
  NPM_RAN=yes
fi
T_NPM=$(elapsed "$T")

# ---- PostgreSQL: a private cluster, TCP on 127.0.0.1 only, no unix socket ---------------
T=$(now)
PG_CREATED=no
if [ ! -f "$PGDATA/PG_VERSION" ]; then
  say "initdb $PGDATA"
  rm -rf "$PGROOT"
  mkdir -p "$PGROOT"
  [ "$(id -u)" = 0 ] && chown postgres: "$PGROOT"
  chmod 700 "$PGROOT"
  if ! as_pg "$PGBIN/initdb" -D "$PGDATA" -U postgres -A trust -E UTF8 --locale=C --no-sync \
      > "$LOGS/initdb.log" 2>&1; then
    show_log "$LOGS/initdb.log"
    die "initdb"
  fi
  PG_CREATED=yes
fi
PG_PORT=$(free_port)
# Durability is worthless for a throwaway test database; fsync off makes migrations fast.
PG_OPTS="-p $PG_PORT -c listen_addresses=127.0.0.1 -c unix_socket_directories= \
-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
# 9>&-: daemons must not inherit the e2e lock (lib.sh's fd 9), or later runs wait on it.
if ! as_pg "$PGBIN/pg_ctl" -D "$PGDATA" -l "$PGROOT/postgres.log" -w -t 60 -o "$PG_OPTS" start \
    > "$LOGS/pg_ctl.log" 2>&1 9>&-; then
  show_log "$LOGS/pg_ctl.log"
  show_log "$PGROOT/postgres.log"
  die "PostgreSQL did not start (make e2e-clean starts from nothing)"
fi
head -n 1 "$PGDATA/postmaster.pid" > "$RUN/postgres.pid"
say "PostgreSQL on 127.0.0.1:$PG_PORT (pid $(cat "$RUN/postgres.pid"))"

export PGHOST=127.0.0.1 PGPORT=$PG_PORT PGUSER=postgres PGCONNECT_TIMEOUT=10
if [ "$(psql -X -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname = '$DB_NAME'")" != 1 ]; then
  psql -X -d postgres -q -c "CREATE DATABASE $DB_NAME" || die "CREATE DATABASE"
fi
export DATABASE_URL="postgres://postgres@127.0.0.1:$PG_PORT/$DB_NAME"
T_PG=$(elapsed "$T")

# ---- migrations: the CLI exits 0 even when it fails (and "Migrations completed." comes
# after its process.exit, so it never prints): its own log lines and the migrations table
# are the verdict.
T=$(now)
(cd "$BACKEND" && node_modules/.bin/medusa migrations run) > "$LOGS/migrations.log" 2>&1 \
  || { show_log "$LOGS/migrations.log"; die "migrations exited non-zero"; }
# SQL echoed by TypeORM (indented, or after "query:") mentions enum values like 'error'.
if grep -v -E '^(query|[[:space:]]|$)' "$LOGS/migrations.log" \
    | grep -Eiq 'error|cannot find module|exception|failed'; then
  show_log "$LOGS/migrations.log"
  die "migrations printed an error (see $LOGS/migrations.log)"
fi
FOUND=$(sed -n 's/^\([0-9][0-9]*\) migrations were found.*/\1/p' "$LOGS/migrations.log")
APPLIED=$(psql -X -d "$DB_NAME" -tAc 'SELECT count(*) FROM migrations' 2>/dev/null || echo 0)
# A first run prints "N migrations were found"; a later one "No migrations are pending".
grep -q '^No migrations are pending' "$LOGS/migrations.log" && FOUND=${FOUND:-1}
if [ -z "$FOUND" ] || [ "$APPLIED" -lt "$FOUND" ]; then
  show_log "$LOGS/migrations.log"
  die "migrations: ${APPLIED:-0} applied of ${FOUND:-?} found"
fi
T_MIGRATE=$(elapsed "$T")

# ---- the admin user, once per cluster, with Medusa's own CLI (it hashes the password) ----
T=$(now)
if [ "$(psql -X -d "$DB_NAME" -tAc "SELECT count(*) FROM \"user\" WHERE id = '$ADMIN_ID' AND deleted_at IS NULL")" != 1 ]; then
  say "medusa user $ADMIN_EMAIL"
  (cd "$BACKEND" && node_modules/.bin/medusa user -i "$ADMIN_ID" -e "$ADMIN_EMAIL" -p "$ADMIN_PASSWORD") \
    > "$LOGS/admin-user.log" 2>&1 9>&- || { show_log "$LOGS/admin-user.log"; die "medusa user"; }
  [ "$(psql -X -d "$DB_NAME" -tAc "SELECT count(*) FROM \"user\" WHERE id = '$ADMIN_ID'")" = 1 ] \
    || { show_log "$LOGS/admin-user.log"; die "medusa user created no user"; }
fi
T_ADMIN=$(elapsed "$T")

# ---- Medusa, on 127.0.0.1 only ----------------------------------------------------------
T=$(now)
MEDUSA_PORT=$(free_port)
(cd "$BACKEND" && E2E_MEDUSA_PORT=$MEDUSA_PORT exec node start.js) > "$LOGS/medusa.log" 2>&1 9>&- &
echo $! > "$RUN/medusa.pid"
BASE_URL=http://127.0.0.1:$MEDUSA_PORT
for ((i = 0; ; i++)); do
  curl -fsS -o /dev/null "$BASE_URL/health" 2>/dev/null && break
  if ! alive "$(cat "$RUN/medusa.pid")" || [ "$i" -ge 900 ]; then
    show_log "$LOGS/medusa.log"
    die "Medusa did not answer $BASE_URL/health"
  fi
  sleep 0.1
done
T_BOOT=$(elapsed "$T")
say "Medusa on $BASE_URL (pid $(cat "$RUN/medusa.pid"))"

psql -X -d "$DB_NAME" -q -v region="$REGION_ID" -f "$E2E/fixtures.sql" > "$LOGS/fixtures.log" 2>&1 \
  || { show_log "$LOGS/fixtures.log"; die "fixtures"; }

# ---- a fresh admin API token for this bring-up, set through the admin API itself: log in
# for a JWT (POST /admin/auth/token), then POST /admin/users/:id {api_token}. The specs
# send it as x-medusa-access-token (medusa-lua's apiKey) to make their fixtures.
json_field() { python3 -c 'import json, sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1"; }
ADMIN_TOKEN=e2e_$(python3 -c 'import secrets; print(secrets.token_hex(16))')
ADMIN_JWT=$(curl -fsS -m 15 -X POST -H 'Content-Type: application/json' \
  --data-binary "{\"email\":\"$ADMIN_EMAIL\",\"password\":\"$ADMIN_PASSWORD\"}" \
  "$BASE_URL/admin/auth/token" | json_field access_token) || die "admin login (POST /admin/auth/token)"
curl -fsS -m 15 -o /dev/null -X POST -H 'Content-Type: application/json' -H "Authorization: Bearer $ADMIN_JWT" \
  --data-binary "{\"api_token\":\"$ADMIN_TOKEN\"}" "$BASE_URL/admin/users/$ADMIN_ID" \
  || die "setting the admin API token (POST /admin/users/$ADMIN_ID)"

# ---- the fault-injecting proxy in front of Medusa ------------------------------------
rm -f "$RUN/proxy.port"
python3 "$E2E/support/proxy.py" --upstream "$BASE_URL" --port-file "$RUN/proxy.port" \
  > "$LOGS/proxy.log" 2>&1 9>&- &
echo $! > "$RUN/proxy.pid"
for ((i = 0; i < 100; i++)); do [ -s "$RUN/proxy.port" ] && break; sleep 0.1; done
[ -s "$RUN/proxy.port" ] || { show_log "$LOGS/proxy.log"; die "the proxy did not start"; }

cat > "$RUN/env" <<EOF
E2E_BASE_URL=$BASE_URL
E2E_PROXY_URL=http://127.0.0.1:$(cat "$RUN/proxy.port")
E2E_PG_HOST=127.0.0.1
E2E_PG_PORT=$PG_PORT
E2E_PG_USER=postgres
E2E_PG_DB=$DB_NAME
E2E_REGION_ID=$REGION_ID
E2E_ADMIN_TOKEN=$ADMIN_TOKEN
EOF

T_UP=$(elapsed "$T_START")
cat > "$RUN/timings" <<EOF
up_s=$T_UP
npm_ci_ran=$NPM_RAN
npm_s=$T_NPM
cluster_created=$PG_CREATED
postgres_s=$T_PG
migrations_s=$T_MIGRATE
admin_user_s=$T_ADMIN
boot_s=$T_BOOT
EOF
say "backend up in ${T_UP}s (npm ci: $NPM_RAN ${T_NPM}s, postgres ${T_PG}s, migrations ${T_MIGRATE}s, admin user ${T_ADMIN}s, boot ${T_BOOT}s)"
