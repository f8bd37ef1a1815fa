#!/usr/bin/env bash
# Tests of ./interop.sh itself (issue 8, items 2, 23, 24, 25), run by `./interop.sh test` after the xUnit suite,
# on the build it made: the server restarts after a crash while PostgreSQL stays up; import shares the running
# private cluster and leaves it running; SIGTERM stops both; a server that cannot run makes `serve` exit non-zero;
# the cluster's port lies outside the kernel's ephemeral range. Prints "script tests: N passed, N failed".
set -uo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
export INTEROP_NO_BUILD=1 INTEROP_DATA_DIR
INTEROP_DATA_DIR="$(mktemp -d /tmp/interop-script.XXXXXX)"; chmod 755 "$INTEROP_DATA_DIR"
passed=0; failed=0
check() { if eval "$2"; then passed=$((passed + 1)); echo "  ok   $1"; else failed=$((failed + 1)); echo "  FAIL $1"; fi; }
port() { echo $((20000 + RANDOM % 5000)); }
ready() { local i; for i in $(seq 1 "${2:-120}"); do curl -fs "$1/health/ready" >/dev/null 2>&1 && return 0; sleep 0.5; done; return 1; }
postmaster() { head -n 1 "$INTEROP_DATA_DIR/pg/postmaster.pid" 2>/dev/null; }

echo "script tests (interop.sh):"
URL="http://127.0.0.1:$(port)"
ASPNETCORE_URLS="$URL" ./interop.sh serve >"$INTEROP_DATA_DIR/serve.log" 2>&1 &
SERVE=$!
# The first start initialises the cluster, migrates as the owner and compiles the validator: up to 3 minutes on a busy 2-core machine.
check "serve starts and answers" 'ready "$URL" 360'
PG_BEFORE="$(postmaster)"
PG_PORT="$(sed -n 4p "$INTEROP_DATA_DIR/pg/postmaster.pid")"
LOW="$(cut -f1 /proc/sys/net/ipv4/ip_local_port_range)"; HIGH="$(cut -f2 /proc/sys/net/ipv4/ip_local_port_range)"
check "the cluster's port $PG_PORT lies outside the ephemeral range $LOW-$HIGH" '[ "$PG_PORT" -lt "$LOW" ] || [ "$PG_PORT" -gt "$HIGH" ]'

PSQL="$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)/psql"
APP_SESSIONS="$(PGPASSWORD="$(cat "$INTEROP_DATA_DIR/pg.password")" "$PSQL" -h 127.0.0.1 -p "$PG_PORT" -U interop -d interop -tAc \
  "select count(*) from pg_stat_activity where usename = 'interop_app'" 2>/dev/null)"
check "the server connects as interop_app, not as the owner" '[ "${APP_SESSIONS:-0}" -gt 0 ]'
CAN_DDL="$(PGPASSWORD="$(cat "$INTEROP_DATA_DIR/app.password")" "$PSQL" -h 127.0.0.1 -p "$PG_PORT" -U interop_app -d interop -tAc \
  "create table fhir.x (a int)" 2>&1)"
check "interop_app cannot change the schema" '[[ "$CAN_DDL" == *"permission denied"* ]]'

# Item 2: kill -9 the server; the supervisor restarts it and the database stays up.
CHILD="$(pgrep -f "dotnet Interop.Server.dll" | while read -r p; do grep -qs "$INTEROP_DATA_DIR" "/proc/$p/environ" && echo "$p"; done | head -n 1)"
if [ "$(id -u)" = 0 ]; then check "started as root, the server runs as the unprivileged user interop" '[ "$(ps -o user= -p "$CHILD" | tr -d " ")" = interop ]'; fi
[ -n "$CHILD" ] && kill -9 "$CHILD"
sleep 1
check "after kill -9 the server is restarted" 'ready "$URL"'
check "PostgreSQL did not go down with it" '[ -n "$PG_BEFORE" ] && [ "$(postmaster)" = "$PG_BEFORE" ]'

# Item 23: import while serve runs shares the cluster and leaves it running.
ID="script-test-$RANDOM"
cat >"$INTEROP_DATA_DIR/bundle.json" <<JSON
{"resourceType":"Bundle","type":"transaction","entry":[{"resource":{"resourceType":"Patient","id":"$ID","active":true},
 "request":{"method":"PUT","url":"Patient/$ID"}}]}
JSON
check "import while serve runs succeeds" './interop.sh import "$INTEROP_DATA_DIR/bundle.json" >"$INTEROP_DATA_DIR/import.log" 2>&1'
TOKEN="$(INTEROP_URL="$URL" ./interop.sh token 2>"$INTEROP_DATA_DIR/token.log")"
check "./interop.sh token prints the admin client's access token" '[ -n "$TOKEN" ]'
check "without a token a read is 401 with a Bearer challenge" \
  'curl -s -o /dev/null -D - "$URL/fhir/Patient/$ID" | tr -d "\r" | grep -qi "^www-authenticate: Bearer"'
check "serve still answers after import and sees its data" 'curl -fs -H "Authorization: Bearer $TOKEN" "$URL/fhir/Patient/$ID" >/dev/null'
check "reindex while serve runs succeeds" './interop.sh reindex >"$INTEROP_DATA_DIR/reindex.log" 2>&1 && grep -q "^reindex: " "$INTEROP_DATA_DIR/reindex.log"'
check "migrate while serve runs reports the schema version" './interop.sh migrate 2>/dev/null | grep -q "^migrate: the schema is at version"'
check "search still finds the imported resource after the reindex" 'curl -fs -H "Authorization: Bearer $TOKEN" "$URL/fhir/Patient?_id=$ID" | grep -q "\"total\":1"'
check "the cluster kept running" '[ "$(postmaster)" = "$PG_BEFORE" ]'

# SIGTERM stops the server and, as the last user, the cluster; exit 0.
kill -TERM "$SERVE"; wait "$SERVE"; RC=$?
check "serve exits 0 on SIGTERM (was $RC)" '[ "$RC" = 0 ]'
check "the cluster is stopped when its last user ends" '[ ! -f "$INTEROP_DATA_DIR/pg/postmaster.pid" ]'
check "no server process is left behind" '! pgrep -f "dotnet Interop.Server.dll" | while read -r p; do grep -qs "$INTEROP_DATA_DIR" "/proc/$p/environ" && echo "$p"; done | grep -q .'

# Item 25: a server that cannot run makes serve give up with a non-zero exit.
ConnectionStrings__Interop="Host=127.0.0.1;Port=1;Username=x;Password=x;Database=x;Timeout=1" ASPNETCORE_URLS="http://127.0.0.1:$(port)" \
  timeout 180 ./interop.sh serve >"$INTEROP_DATA_DIR/fail.log" 2>&1; RC=$?
check "serve exits non-zero when the server keeps failing (was $RC)" '[ "$RC" != 0 ] && [ "$RC" != 124 ]'

if [ "$failed" -gt 0 ]; then tail -n 30 "$INTEROP_DATA_DIR"/*.log; fi
pkill -f "$INTEROP_DATA_DIR" 2>/dev/null
rm -rf "$INTEROP_DATA_DIR"
echo "script tests: $passed passed, $failed failed"
[ "$failed" = 0 ]
