#!/usr/bin/env bash
# Interop: one entry point for users, developers and CI.
#   ./interop.sh serve            build and serve FHIR at http://localhost:8080/fhir (restarted if it crashes)
#   ./interop.sh test             run every test against a throwaway PostgreSQL
#   ./interop.sh bench [crud|ingest|search|audit|validation|indicators|policy] [--workers N] [--seconds S] [--resources N] [--events N] [--residents N]
#                                 benchmarks: raw PostgreSQL baselines vs the server
#   ./interop.sh import PATH...   load bundles / NDJSON (resumable; --parallel N, --replicate N, --no-validate)
#   ./interop.sh seed [--residents N] [--seed S] [--no-validate]
#                                 load the group's directory, its accounts and N synthetic residents
#   ./interop.sh reindex          rebuild the search index of every resource
#   ./interop.sh migrate          apply the numbered schema migrations (serve also does, by default)
#   ./interop.sh token [--scope S] print an access token of the admin client for the local server
#   ./interop.sh clients|users add '<json>' | list | remove ID
#                                 register OAuth clients and the users who sign in
#   ./interop.sh audit verify [--start DAY] [--end DAY] | purge --before DAY
#                                 check the access log's hash chains; retention by whole days
# Installs what is missing (PostgreSQL via apt when root or sudo is available).
# INTEROP_NO_BUILD=1 skips the build: the existing Release output is used as it is.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
CALLER_DIR="$PWD"
cd "$ROOT"
SERVER_BIN=src/Interop.Server/bin/Release/net10.0
export DOTNET_NOLOGO=1 DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

log() { printf '[interop] %s\n' "$*" >&2; }
die() { printf '[interop] error: %s\n' "$*" >&2; exit 1; }

# ---------------------------------------------------------------- prerequisites
as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"
  elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then sudo "$@"
  else return 1; fi
}

pg_bindir() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1; }

ensure_dotnet() {
  command -v dotnet >/dev/null 2>&1 || die "the .NET 10 SDK is required (https://dot.net); 'dotnet' is not on PATH."
}

ensure_postgres() {
  PGBIN="$(pg_bindir)"
  if [ -z "$PGBIN" ] || [ ! -x "$PGBIN/initdb" ]; then
    log "PostgreSQL server binaries not found; installing them with apt"
    if ! { as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q &&
           as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q postgresql postgresql-contrib; } >&2; then
      die "PostgreSQL server is missing and could not be installed (needs root or sudo).
  Install it yourself: sudo apt-get install postgresql postgresql-contrib
  or point the server at an existing database: export ConnectionStrings__Interop='Host=...;Database=...;Username=...;Password=...'"
    fi
    PGBIN="$(pg_bindir)"
  fi
  [ "$(id -u)" != 0 ] || id postgres >/dev/null 2>&1 || die "running as root but there is no 'postgres' system user to run the database as."
}

build() {
  if [ "${INTEROP_NO_BUILD:-}" = 1 ]; then
    [ -f "$SERVER_BIN/Interop.Server.dll" ] || die "INTEROP_NO_BUILD=1 but there is no build in $SERVER_BIN"
    log "INTEROP_NO_BUILD=1: using the existing build"
    return 0
  fi
  log "building (Release)"
  dotnet build Interop.sln -c Release -nologo -v q "-clp:ErrorsOnly;WarningsOnly" >&2 || die "build failed"
}

# ---------------------------------------------------------------- private PostgreSQL clusters
pg_run() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

# A free local port outside the kernel's ephemeral range: a port inside it can be taken by some outgoing
# connection between this check and the bind ("Address already in use"). Below the range when there is
# room (20767-32767 for the default 32768-60999), else above it.
free_port() {
  local lo=32768 hi=60999 from to
  { read -r lo hi < /proc/sys/net/ipv4/ip_local_port_range; } 2>/dev/null || true
  if [ "$lo" -gt 2048 ]; then to=$((lo - 1)); from=$((to > 13024 ? to - 12000 : 1024))
  elif [ "$hi" -lt 64535 ]; then from=$((hi + 1)); to=65535
  else from=1024; to=65535; fi  # the range covers everything: nothing better to do
  local span=$((to - from + 1)) start=$((RANDOM % (to - from + 1))) i p
  for i in $(seq 0 199); do
    p=$((from + (start + i) % span))
    (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { echo "$p"; return 0; }
  done
  die "no free local port found in $from-$to"
}

# start_cluster DIR [extra postgres -c settings...]; sets PG_PORT, PG_PASSWORD, PG_DIR
start_cluster() {
  PG_DIR="$1"; shift
  local base; base="$(dirname "$PG_DIR")"
  mkdir -p "$base"
  if [ ! -f "$PG_DIR/PG_VERSION" ]; then
    log "initialising private PostgreSQL cluster in $PG_DIR"
    mkdir -p "$PG_DIR"
    head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$base/pg.password"
    chmod 600 "$base/pg.password"
    if [ "$(id -u)" = 0 ]; then chown postgres "$PG_DIR" "$base/pg.password"; fi
    chmod 700 "$PG_DIR"
    pg_run "$PGBIN/initdb" -D "$PG_DIR" -U interop --pwfile="$base/pg.password" \
      --auth-local=scram-sha-256 --auth-host=scram-sha-256 -E UTF8 --no-locale >"$base/initdb.log" 2>&1 \
      || { cat "$base/initdb.log" >&2; die "initdb failed"; }
  fi
  PG_PASSWORD="$(cat "$base/pg.password")"
  # Patient data stays out of the log: no failing statement (log_min_error_statement), and no DETAIL line
  # with the values of an error (log_error_verbosity=terse; "Key (x)=(...) already exists").
  local settings="-c listen_addresses=127.0.0.1 -c max_connections=200 -c shared_buffers=512MB"
  settings="$settings -c log_min_error_statement=panic -c log_error_verbosity=terse"
  local s; for s in "$@"; do settings="$settings -c $s"; done
  local attempt seen out log="$PG_DIR/server.log"
  for attempt in 1 2 3 4 5; do
    PG_PORT="$(free_port)"
    seen=0; [ ! -f "$log" ] || seen="$(wc -l < "$log")"
    # 9>&-: the postmaster must not inherit the lock of the shared cluster (see use_shared_cluster).
    out="$(pg_run "$PGBIN/pg_ctl" -D "$PG_DIR" -l "$log" -w -t 60 -o "-p $PG_PORT -k $PG_DIR $settings" start 2>&1 9>&-)" && break
    # The port can still be taken between free_port and the bind: then another port.
    if [ "$attempt" -lt 5 ] && tail -n +"$((seen + 1))" "$log" | grep -q 'Address already in use'; then
      log "port $PG_PORT was taken meanwhile; trying another"; continue
    fi
    printf '%s\n' "$out" >&2; tail -n 30 "$log" >&2; die "PostgreSQL did not start"
  done
  PGPASSWORD="$PG_PASSWORD" "$PGBIN/psql" -h 127.0.0.1 -p "$PG_PORT" -U interop -d postgres -tAq \
    -c "select 1 from pg_database where datname='interop'" | grep -q 1 \
    || PGPASSWORD="$PG_PASSWORD" "$PGBIN/createdb" -h 127.0.0.1 -p "$PG_PORT" -U interop interop
  log "PostgreSQL listening on 127.0.0.1:$PG_PORT"
}

stop_cluster() {
  if [ -n "${PG_DIR:-}" ] && [ -f "$PG_DIR/postmaster.pid" ]; then pg_run "$PGBIN/pg_ctl" -D "$PG_DIR" -m fast -w stop >/dev/null 2>&1 || true; fi
  return 0
}

cluster_running() { [ -f "$1/postmaster.pid" ] && pg_run "$PGBIN/pg_ctl" -D "$1" status >/dev/null 2>&1; }

# Start time of a process (field 22 of /proc/PID/stat, after the command name that may hold spaces).
proc_start() { sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f20; }

# The private cluster in $(data_dir)/pg is shared by the commands using it at the same time (serve, and an
# import or reindex beside it): each registers its PID in $base/users; the first starts the cluster, a
# later one reuses it (port from line 4 of postmaster.pid), the last to leave stops it. flock on
# $base/pg.lock serialises these decisions. Sets PG_PORT, PG_PASSWORD, PG_DIR.
use_shared_cluster() {
  PG_DIR="$1"; SHARED_BASE="$(dirname "$PG_DIR")"
  mkdir -p "$SHARED_BASE/users"
  trap leave_shared_cluster EXIT
  exec 9>"$SHARED_BASE/pg.lock"; flock 9
  proc_start $$ > "$SHARED_BASE/users/$$"
  if cluster_running "$PG_DIR"; then
    PG_PORT="$(sed -n 4p "$PG_DIR/postmaster.pid")"
    PG_PASSWORD="$(cat "$SHARED_BASE/pg.password")"
    log "PostgreSQL already running on 127.0.0.1:$PG_PORT; sharing it"
  else
    start_cluster "$PG_DIR"
  fi
  exec 9>&-
}

# EXIT trap: always succeeds. Stops the cluster unless another registered command still runs; entries of
# commands that died without leaving (kill -9) are dropped.
leave_shared_cluster() {
  [ -n "${SHARED_BASE:-}" ] || return 0
  exec 9>"$SHARED_BASE/pg.lock"; flock 9 || true
  rm -f "$SHARED_BASE/users/$$"
  if ! cluster_in_use "$SHARED_BASE/users"; then stop_cluster; fi
  exec 9>&-
  return 0
}

# A registered command still runs if its PID exists and started when it registered (PIDs get reused).
# /proc rather than kill -0: kill -0 fails for another user's process (root serve, user import).
cluster_in_use() {
  local f used=1
  for f in "$1"/*; do
    [ -f "$f" ] || continue
    if [ -d "/proc/${f##*/}" ] && [ "$(proc_start "${f##*/}")" = "$(cat "$f")" ]; then used=0; else rm -f "$f"; fi
  done
  return "$used"
}

conn_string() { echo "Host=127.0.0.1;Port=$PG_PORT;Username=interop;Password=$PG_PASSWORD;Database=${1:-interop}"; }

# The private cluster lives under .data/ unless the postgres user cannot reach it (repo under /root).
data_dir() {
  if [ -n "${INTEROP_DATA_DIR:-}" ]; then echo "$INTEROP_DATA_DIR"; return 0; fi  # the script's own tests use a temporary one
  local d="$ROOT/.data"
  if [ "$(id -u)" = 0 ] && ! runuser -u postgres -- test -x "$ROOT" 2>/dev/null; then
    d="/var/lib/interop/$(printf '%s' "$ROOT" | md5sum | cut -c1-12)"
    log "postgres cannot reach $ROOT; keeping the private cluster in $d"
  fi
  echo "$d"
}

synthea_dir() {
  if [ -n "${INTEROP_SYNTHEA_DIR:-}" ]; then echo "$INTEROP_SYNTHEA_DIR"
  elif [ -d "$ROOT/../shared/data/synthea-r4" ]; then (cd "$ROOT/../shared/data/synthea-r4" && pwd)
  fi
}

# ---------------------------------------------------------------- child processes
# Runs the built server (or one of its commands) from its output folder, so appsettings.json there is the
# content root. exec: the child's PID is the dotnet process itself.
RUN_DIR="$SERVER_BIN"
in_build_dir() { cd "$RUN_DIR" && exec "$@"; }

# The server never runs as root: started as root, the script runs it as the unprivileged system user 'interop'
# (created when missing), which needs nothing but read access to the build.
SERVER_AS=()
server_user() {
  [ "$(id -u)" = 0 ] || return 0
  id interop >/dev/null 2>&1 || useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin interop \
    || die "could not create the system user 'interop' to run the server as"
  if ! runuser -u interop -- test -r "$ROOT/$SERVER_BIN/Interop.Server.dll"; then
    # The checkout is private (e.g. under /root): run a copy of the build from a folder the user can read.
    RUN_DIR="/var/lib/interop/$(printf '%s' "$ROOT" | md5sum | cut -c1-12)/app"
    log "the 'interop' user cannot read $ROOT; running a copy of the build from $RUN_DIR"
    rm -rf "$RUN_DIR"; mkdir -p "$RUN_DIR"; cp -r "$SERVER_BIN/." "$RUN_DIR/"
    chmod 755 /var/lib/interop "$(dirname "$RUN_DIR")"; chmod -R a+rX "$RUN_DIR"
  fi
  # setpriv execs in place (runuser would stay as a parent, and killing it would orphan the server).
  SERVER_AS=(setpriv --reuid=interop --regid=interop --init-groups -- env HOME=/tmp)
}

CHILD_PID=""; STOP_SIGNAL=""
# INT/TERM to this script: remember it and pass it on to the child (a second one kills the child outright).
on_signal() {
  local sig=TERM; [ -z "$STOP_SIGNAL" ] || sig=KILL
  STOP_SIGNAL="$1"
  [ -n "$CHILD_PID" ] || return 0
  if [ "$sig" = TERM ]; then log "SIG$1: stopping (a second signal kills at once)"; else log "SIG$1 again: killing"; fi
  kill -"$sig" "$CHILD_PID" 2>/dev/null || true
}

# Runs "$@" in the background and returns its exit status. Not in the foreground: a TERM would end this
# script at once, its EXIT trap stopping PostgreSQL under a child that keeps running.
run_child() {
  trap 'on_signal INT' INT; trap 'on_signal TERM' TERM
  "$@" & CHILD_PID=$!
  # A trapped signal ends wait early (status > 128) while the child still runs: wait until it is gone,
  # then once more for its status (bash keeps the status of a child it has reaped).
  # 2>/dev/null: no "Killed" job notice from bash; the status is logged (supervise) or returned.
  while kill -0 "$CHILD_PID" 2>/dev/null; do wait "$CHILD_PID" 2>/dev/null || true; done
  local rc=0; wait "$CHILD_PID" 2>/dev/null || rc=$?
  CHILD_PID=""
  return "$rc"
}

# Keeps the server up: a crash (any exit other than a clean one or one we asked for) is logged and the
# server restarted after a pause, PostgreSQL staying up. 5 crashes within 60 s mean it cannot run at all:
# then give up with a non-zero exit.
supervise() {
  local rc crashes=() recent t
  while :; do
    rc=0; run_child in_build_dir "${SERVER_AS[@]}" dotnet Interop.Server.dll "$@" || rc=$?
    if [ -n "$STOP_SIGNAL" ]; then log "stopped on SIG$STOP_SIGNAL"; return 0; fi
    if [ "$rc" = 0 ]; then log "the server exited normally"; return 0; fi
    recent=()
    for t in "${crashes[@]}" "$SECONDS"; do if [ $((SECONDS - t)) -lt 60 ]; then recent+=("$t"); fi; done
    crashes=("${recent[@]}")
    local why="exit status $rc"; [ "$rc" -le 128 ] || why="$why, killed by SIG$(kill -l $((rc - 128)) 2>/dev/null || echo '?')"
    [ "${#crashes[@]}" -lt 5 ] || die "the server failed ${#crashes[@]} times within 60 s ($why); giving up"
    log "the server failed ($why); restarting in 2 s"
    sleep 2 & wait $! || true
    if [ -n "$STOP_SIGNAL" ]; then log "stopped on SIG$STOP_SIGNAL"; return 0; fi
  done
}

# ---------------------------------------------------------------- commands
# Least privilege on the private cluster: migrations run as the owner 'interop', then the server connects as
# 'interop_app', which may only read and write rows (no DDL), with its own generated password.
app_role() {
  local pw="$SHARED_BASE/app.password"
  [ -f "$pw" ] || { head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$pw"; chmod 600 "$pw"; }
  APP_PASSWORD="$(cat "$pw")"
  PGPASSWORD="$PG_PASSWORD" "$PGBIN/psql" -h 127.0.0.1 -p "$PG_PORT" -U interop -d interop -qtA -v ON_ERROR_STOP=1 \
    -c "do \$\$ begin if not exists (select from pg_roles where rolname = 'interop_app') then create role interop_app login; end if; end \$\$" \
    -c "alter role interop_app password '$APP_PASSWORD'" >/dev/null || die "could not prepare the role interop_app"
  log "migrating the schema as the owner"
  (cd "$SERVER_BIN" && ConnectionStrings__Interop="$(conn_string)" Fhir__GrantTo=interop_app dotnet Interop.Server.dll migrate) >&2 \
    || die "the schema migration failed"
}

# The admin client's secret for a private cluster: made once, readable only by its owner.
admin_secret() {
  local file="$1/admin.secret"
  [ -f "$file" ] || { head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$file"; chmod 600 "$file"; }
  cat "$file"
}

# The key that signs the access log's retention checkpoints (Audit:SealKey) for a private cluster.
seal_key() {
  local file="$1/audit.key"
  [ -f "$file" ] || { head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$file"; chmod 600 "$file"; }
  cat "$file"
}

# Prints an access token of the client "admin" (client credentials) from the local server: INTEROP_URL
# (default http://localhost:8080), and INTEROP_ADMIN_SECRET or the private cluster's generated secret.
cmd_token() {
  local scope="" url="${INTEROP_URL:-http://localhost:8080}"
  while [ $# -gt 0 ]; do
    case "$1" in --scope) scope="$2"; shift 2 ;; *) die "usage: ./interop.sh token [--scope 'system/Patient.rs ...']" ;; esac
  done
  local secret="${INTEROP_ADMIN_SECRET:-}"
  if [ -z "$secret" ]; then
    local file; file="$(data_dir)/admin.secret"
    [ -r "$file" ] || die "no admin secret: set INTEROP_ADMIN_SECRET, or start the server with ./interop.sh serve first (it makes $file)"
    secret="$(cat "$file")"
  fi
  local answer
  answer="$(curl -s -u "admin:$secret" -d grant_type=client_credentials ${scope:+--data-urlencode "scope=$scope"} "${url%/}/auth/token")" \
    || die "the server at $url does not answer"
  [[ "$answer" =~ \"access_token\":[[:space:]]*\"([^\"]+)\" ]] || die "no token: $answer"
  echo "${BASH_REMATCH[1]}"
}

cmd_serve() {
  ensure_dotnet; build
  export ASPNETCORE_URLS="${ASPNETCORE_URLS:-http://localhost:8080}"
  if [ -z "${ConnectionStrings__Interop:-}" ]; then
    ensure_postgres
    use_shared_cluster "$(data_dir)/pg"
    app_role
    ConnectionStrings__Interop="Host=127.0.0.1;Port=$PG_PORT;Username=interop_app;Password=$APP_PASSWORD;Database=interop"
    export ConnectionStrings__Interop Fhir__MigrateOnStart=false
    # The bootstrap admin client's secret, generated once for the private database (./interop.sh token uses it).
    if [ -z "${INTEROP_ADMIN_SECRET:-}" ]; then
      INTEROP_ADMIN_SECRET="$(admin_secret "$SHARED_BASE")"; export INTEROP_ADMIN_SECRET
    fi
    [ -n "${Audit__SealKey:-}" ] || { Audit__SealKey="$(seal_key "$SHARED_BASE")"; export Audit__SealKey; }
  fi
  server_user
  log "serving FHIR at ${ASPNETCORE_URLS%%;*}/fhir (Ctrl-C stops)${SERVER_AS[*]:+ as user interop}"
  supervise "$@"
}

# Debian's chromium for the page tests (Playwright drives it; its own browser download cannot be reached here).
ensure_chromium() {
  if [ -n "${INTEROP_CHROMIUM:-}" ] && [ -x "$INTEROP_CHROMIUM" ]; then return 0; fi
  # and a Chinese font, so the zh-CN pages' screenshots show their text
  if ! command -v chromium >/dev/null 2>&1 || ! fc-list 2>/dev/null | grep -qi 'wqy\|noto sans cjk'; then
    log "chromium or a Chinese font not found; installing them with apt (for the page tests)"
    { as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q &&
      as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium fonts-wqy-microhei; } >&2 \
      || die "chromium is missing and could not be installed (needs root or sudo): sudo apt-get install chromium, or set INTEROP_CHROMIUM"
  fi
  INTEROP_CHROMIUM="$(command -v chromium)"; export INTEROP_CHROMIUM
}

cmd_test() {
  ensure_dotnet; ensure_postgres; ensure_chromium; build
  tmp="$(mktemp -d /tmp/interop-test.XXXXXX)"; chmod 755 "$tmp"
  trap 'stop_cluster; rm -rf "$tmp"' EXIT
  # A throwaway cluster: durability off, it is deleted afterwards.
  start_cluster "$tmp/pg" fsync=off synchronous_commit=off full_page_writes=off
  INTEROP_TEST_PG="$(conn_string postgres)"; export INTEROP_TEST_PG
  local synthea; synthea="$(synthea_dir)"
  if [ -n "$synthea" ]; then export INTEROP_SYNTHEA_DIR="$synthea"; else log "no Synthea folder found: tests that need it will be reported as skipped"; fi
  local rc=0 total=0 passed=0 failed=0 project counters
  # The unit tests (pure pieces, no database) first, then the HTTP + PostgreSQL suite.
  for project in Interop.UnitTests Interop.Tests; do
    dotnet test "tests/$project/$project.csproj" -c Release --no-build \
      --logger "trx;LogFileName=$tmp/$project.trx" --logger "console;verbosity=normal" "$@" || rc=$?
    [ -f "$tmp/$project.trx" ] || continue
    counters="$(grep -o '<Counters [^>]*>' "$tmp/$project.trx" | head -n 1)"
    total=$((total + $(sed -E 's/.* total="([0-9]+)".*/\1/' <<<"$counters")))
    passed=$((passed + $(sed -E 's/.* passed="([0-9]+)".*/\1/' <<<"$counters")))
    failed=$((failed + $(sed -E 's/.* failed="([0-9]+)".*/\1/' <<<"$counters")))
  done
  echo "xunit: $passed passed, $failed failed, $((total - passed - failed)) skipped"
  # The script's own behaviour (supervision, a shared private cluster, exit codes): only on a full run.
  if [ $# -eq 0 ]; then
    bash tests/script/supervision.sh | tee "$tmp/script.log" || rc=1
    local line; line="$(tail -n 1 "$tmp/script.log")"
    if [[ "$line" =~ ([0-9]+)\ passed,\ ([0-9]+)\ failed ]]; then
      passed=$((passed + BASH_REMATCH[1])); failed=$((failed + BASH_REMATCH[2])); total=$((total + BASH_REMATCH[1] + BASH_REMATCH[2]))
    else rc=1; fi
  fi
  echo "tests: $passed passed, $failed failed, $((total - passed - failed)) skipped"
  return "$rc"
}

# Starts the Release server on a free port against $1 (a connection string); sets SERVER_PID, SERVER_URL.
# Further arguments are settings for that server (e.g. Auth__Enabled=false).
start_server() {
  local port; port="$(free_port)"
  env ConnectionStrings__Interop="$1" ASPNETCORE_URLS="http://127.0.0.1:$port" Logging__LogLevel__Default=Warning "${@:2}" \
    bash -c 'cd src/Interop.Server/bin/Release/net10.0 && exec dotnet Interop.Server.dll' >"$tmp/server.log" 2>&1 &
  SERVER_PID=$!
  SERVER_URL="http://127.0.0.1:$port/fhir"
  local i; for i in $(seq 1 240); do
    curl -fs "http://127.0.0.1:$port/health/ready" >/dev/null 2>&1 && return 0
    kill -0 "$SERVER_PID" 2>/dev/null || { cat "$tmp/server.log" >&2; die "server did not start"; }
    sleep 0.5
  done
  die "server did not become ready"
}

# Both stop functions always succeed: they run in EXIT traps under set -e.
stop_server() {
  if [ -n "${SERVER_PID:-}" ]; then kill "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; fi
  SERVER_PID=""
}

# A cluster that serves a bench pair: each server's pools may open 150 connections (100 + the search pool's 50),
# more than the default 200 for two servers at 64 requests in flight (PostgreSQL then refuses with 53300: 503s).
PAIR_PG="max_connections=400"

# The same build twice on one database: first with the settings given (what they turn off; OTHER_PID, OTHER_URL),
# then as it is (SERVER_PID, SERVER_URL). One after the other, so only the first migrates a fresh database.
start_pair() {
  start_server "$(conn_string)" "$@"
  OTHER_PID="$SERVER_PID"; OTHER_URL="$SERVER_URL"
  start_server "$(conn_string)"
}

# A second server of a bench pair (security or the access log off): stopped by the EXIT trap as well, so a failed
# bench leaves no server behind.
stop_other() {
  if [ -n "${OTHER_PID:-}" ]; then kill "$OTHER_PID" 2>/dev/null || true; wait "$OTHER_PID" 2>/dev/null || true; fi
  OTHER_PID=""
}

bench_tool() { dotnet tests/Interop.Bench/bin/Release/net10.0/Interop.Bench.dll "$@"; }

# The search data set: Synthea replicated with fresh ids to the target size, kept in .bench/search between
# runs (loading a million resources takes a while; an interrupted load resumes). Loaded without validation, as the
# policy and indicators sets: the data set is not what is measured (bench ingest and validation measure the write).
bench_search_data() {
  local target="$1" synthea; synthea="$(synthea_dir)"
  [ -n "$synthea" ] || die "the search benchmark needs the Synthea bundles (INTEROP_SYNTHEA_DIR or ../shared/data/synthea-r4)"
  local dir="$ROOT/.bench/search"; mkdir -p "$dir"
  if [ "$(id -u)" = 0 ] && ! runuser -u postgres -- test -x "$ROOT" 2>/dev/null; then dir="$(data_dir)/bench-search"; mkdir -p "$dir"; fi
  start_cluster "$dir/pg" "$PAIR_PG" shared_buffers=2GB effective_cache_size=12GB maintenance_work_mem=512MB max_wal_size=8GB work_mem=32MB
  local replicas=$(( (target + 8397) / 8398 ))
  log "search data set: Synthea x $replicas copies with fresh ids (about $((replicas * 8398)) resources); resumes if interrupted"
  # From a private copy of the build, so a rebuild during a long load cannot disturb it.
  rm -rf "$tmp/loader"; cp -r src/Interop.Server/bin/Release/net10.0 "$tmp/loader"
  (cd "$tmp/loader" && ConnectionStrings__Interop="$(conn_string)" \
    dotnet Interop.Server.dll import --parallel 2 --replicate "$replicas" --state-dir "$dir" --no-validate "$synthea")
  PGPASSWORD="$PG_PASSWORD" "$PGBIN/psql" -h 127.0.0.1 -p "$PG_PORT" -U interop -d interop -qc "vacuum analyze" >&2
}

cmd_bench() {
  local what=all
  case "${1:-}" in crud|ingest|search|audit|validation|indicators|policy|all) what="$1"; shift ;; esac
  local resources=1000000 residents="" args=()
  while [ $# -gt 0 ]; do
    case "$1" in --resources) resources="$2"; shift 2 ;; --residents) residents="$2"; shift 2 ;; *) args+=("$1"); shift ;; esac
  done
  ensure_dotnet; ensure_postgres; build
  # The servers under test and the load generator share a fresh admin secret: the load runs with tokens.
  INTEROP_ADMIN_SECRET="$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')"; export INTEROP_ADMIN_SECRET
  tmp="$(mktemp -d /tmp/interop-bench.XXXXXX)"; chmod 755 "$tmp"
  SERVER_PID=""
  trap 'stop_server; stop_other; stop_cluster; rm -rf "$tmp"' EXIT
  mkdir -p "$ROOT/.bench"
  local synthea; synthea="$(synthea_dir)"
  if [ "$what" = crud ] || [ "$what" = all ]; then
    # Default durability (fsync and synchronous commit on): the figures are what a user would get.
    start_cluster "$tmp/pg" "$PAIR_PG"
    # The same build twice on one database: security on (tokens, scopes, the access policy) and off, so the
    # figures show what security costs, measured in the same run.
    start_pair Auth__Enabled=false
    bench_tool crud --url "$SERVER_URL" --open-url "$OTHER_URL" --pg "$(conn_string)" --out "$ROOT/.bench/crud.json" "${args[@]}"
    stop_server; stop_other; stop_cluster
  fi
  if [ "$what" = audit ] || [ "$what" = all ]; then
    # The access log at scale (5 million events unless --events N), and its cost: the same build with the log
    # off (Audit__Enabled=false) beside it on one database, alternating.
    start_cluster "$tmp/pg-audit" "$PAIR_PG"
    start_pair Audit__Enabled=false
    bench_tool audit --url "$SERVER_URL" --open-url "$OTHER_URL" --pg "$(conn_string)" --out "$ROOT/.bench/audit.json" "${args[@]}"
    stop_server; stop_other; stop_cluster
  fi
  if [ "$what" = validation ] || [ "$what" = all ]; then
    # What validation costs: the same build with it off (Fhir__Validation=off) beside it on one database, alternating.
    [ -n "$synthea" ] || die "the validation benchmark needs the Synthea bundles (INTEROP_SYNTHEA_DIR or ../shared/data/synthea-r4)"
    start_cluster "$tmp/pg-validation" "$PAIR_PG"
    start_pair Fhir__Validation=off
    bench_tool validation --url "$SERVER_URL" --open-url "$OTHER_URL" --pg "$(conn_string)" --synthea "$synthea" --out "$ROOT/.bench/validation.json" "${args[@]}"
    stop_server; stop_other; stop_cluster
  fi
  if [ "$what" = ingest ] || [ "$what" = all ]; then
    [ -n "$synthea" ] || die "the ingest benchmark needs the Synthea bundles (INTEROP_SYNTHEA_DIR or ../shared/data/synthea-r4)"
    start_cluster "$tmp/pg-ingest"
    start_server "$(conn_string)"
    bench_tool ingest --url "$SERVER_URL" --pg "$(conn_string)" --synthea "$synthea" --out "$ROOT/.bench/ingest.json" \
      --bulk "cd $ROOT/src/Interop.Server/bin/Release/net10.0 && dotnet Interop.Server.dll import --parallel 2" "${args[@]}"
    stop_server; stop_cluster
  fi
  if [ "$what" = policy ]; then
    # A station's search mix with tokens and the access policy on, against the same build with security off
    # (Auth__Enabled=false) on one seeded database (kept in .bench/policy; --residents N, default 10,000).
    residents="${residents:-10000}"
    local pdir="$ROOT/.bench/policy"; mkdir -p "$pdir"
    start_cluster "$pdir/pg" "$PAIR_PG" shared_buffers=512MB effective_cache_size=2GB maintenance_work_mem=256MB max_wal_size=4GB work_mem=16MB
    if [ ! -f "$pdir/seeded-$residents" ]; then
      log "policy data set: seeding $residents residents (through the importer; residents unvalidated, as for indicators)"
      rm -rf "$tmp/loader"; cp -r src/Interop.Server/bin/Release/net10.0 "$tmp/loader"
      (cd "$tmp/loader" && ConnectionStrings__Interop="$(conn_string)" dotnet Interop.Server.dll seed --residents "$residents" --parallel 2 --no-validate) >&2
      PGPASSWORD="$PG_PASSWORD" "$PGBIN/psql" -h 127.0.0.1 -p "$PG_PORT" -U interop -d interop -qc "vacuum analyze" >&2
      touch "$pdir/seeded-$residents"
    fi
    start_pair Auth__Enabled=false
    bench_tool policy --url "$SERVER_URL" --open-url "$OTHER_URL" --pg "$(conn_string)" --out "$ROOT/.bench/policy.json" "${args[@]}"
    stop_server; stop_other; stop_cluster
  fi
  if [ "$what" = indicators ]; then
    # The group's indicators on seeded residents (kept in .bench/indicators; --residents N, default 20,000).
    residents="${residents:-20000}"
    local idir="$ROOT/.bench/indicators"; mkdir -p "$idir"
    start_cluster "$idir/pg" shared_buffers=1GB effective_cache_size=4GB maintenance_work_mem=256MB max_wal_size=4GB work_mem=32MB
    if [ ! -f "$idir/seeded-$residents" ]; then
      log "indicators data set: seeding $residents residents (through the importer; residents unvalidated: the data set is not what is measured, SeedTests show the generator's output valid)"
      rm -rf "$tmp/loader"; cp -r src/Interop.Server/bin/Release/net10.0 "$tmp/loader"
      (cd "$tmp/loader" && ConnectionStrings__Interop="$(conn_string)" dotnet Interop.Server.dll seed --residents "$residents" --parallel 2 --no-validate) >&2
      PGPASSWORD="$PG_PASSWORD" "$PGBIN/psql" -h 127.0.0.1 -p "$PG_PORT" -U interop -d interop -qc "vacuum analyze" >&2
      touch "$idir/seeded-$residents"
    fi
    start_server "$(conn_string)"
    bench_tool indicators --url "$SERVER_URL" --pg "$(conn_string)" --out "$ROOT/.bench/indicators.json" "${args[@]}"
    stop_server; stop_cluster
  fi
  if [ "$what" = search ] || [ "$what" = all ]; then
    bench_search_data "$resources"
    # The mix also against the same build with security and the access log off (alternating), for their cost.
    start_pair Auth__Enabled=false Audit__Enabled=false
    bench_tool search --url "$SERVER_URL" --open-url "$OTHER_URL" --pg "$(conn_string)" --out "$ROOT/.bench/search.json" "${args[@]}"
    stop_server; stop_other; stop_cluster
  fi
}

# Runs a server command (reindex, import, seed) against ConnectionStrings__Interop or the private cluster, which
# a running serve may share.
cmd_tool() {
  ensure_dotnet; build
  if [ -z "${ConnectionStrings__Interop:-}" ]; then
    ensure_postgres
    use_shared_cluster "$(data_dir)/pg"
    ConnectionStrings__Interop="$(conn_string)"; export ConnectionStrings__Interop
    [ -n "${Audit__SealKey:-}" ] || { Audit__SealKey="$(seal_key "$SHARED_BASE")"; export Audit__SealKey; }
  fi
  local extra=()
  [ "$1" = import ] && extra=(--state-dir "$(data_dir)")
  export INTEROP_CALLER_DIR="$CALLER_DIR"
  run_child in_build_dir dotnet Interop.Server.dll "$@" "${extra[@]}"
}

case "${1:-}" in
  reindex|import|seed|migrate|clients|users|audit) cmd_tool "$@" ;;
  token) shift; cmd_token "$@" ;;
  serve) shift; cmd_serve "$@" ;;
  test) shift; cmd_test "$@" ;;
  bench) shift; cmd_bench "$@" ;;
  *) sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
esac
