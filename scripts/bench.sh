#!/usr/bin/env bash
# Benchmarks a release build of Keystone on PostgreSQL and on SQLite with wrk, and measures the
# database limit of the database-backed workloads with pgbench. Prints a Markdown table; raw
# results, server logs and pgbench scripts stay in the output folder. docs/benchmarks.md
# explains the method and the results.
#
# Workloads, each at every concurrency in BENCH_CONCURRENCY:
#   a  GET /version/                          anonymous
#   b  GET /health/json/                      anonymous
#   c  GET /allocations/requests/?_limit=100  staff session
#   d  GET /users/users/?_limit=100           staff session
#   e  POST /research/grants/                 staff session and CSRF token
#
# Settings (environment variables):
#   BENCH_BACKENDS     databases to run on (default "postgres sqlite")
#   BENCH_WORKLOADS    workloads to run (default "a b c d e")
#   BENCH_CONCURRENCY  open connections per run (default "1 32")
#   BENCH_ROUNDS       measured rounds per workload and concurrency (default 3)
#   BENCH_SECONDS      length of one round in seconds (default 10)
#   BENCH_WARMUP       seconds of unmeasured load before the rounds (default 3)
#   BENCH_PORT         port on 127.0.0.1 for the server (default 18700)
#   BENCH_PROFILE      1 adds one profiled round per workload at the highest concurrency,
#                      recorded with `perf record -a` (default 0)
#   BENCH_OUT          output folder (default target/bench/<UTC time>)
#   BENCH_BINARY       keystone binary to measure instead of building target/release/keystone,
#                      for comparing two builds
#
# Needs PostgreSQL on 127.0.0.1:5432 (user postgres, trust authentication), its client tools
# (psql, pgbench), curl and python3; installs wrk from Debian's packages when it is missing.
# The PostgreSQL database keystone_bench is dropped and created again. All traffic goes to
# 127.0.0.1, and every load run is bounded in time.
set -euo pipefail
cd "$(dirname "$0")/.."

BACKENDS=${BENCH_BACKENDS:-"postgres sqlite"}
WORKLOADS=${BENCH_WORKLOADS:-"a b c d e"}
CONCURRENCY=${BENCH_CONCURRENCY:-"1 32"}
ROUNDS=${BENCH_ROUNDS:-3}
ROUND_SECONDS=${BENCH_SECONDS:-10}
WARMUP_SECONDS=${BENCH_WARMUP:-3}
PORT=${BENCH_PORT:-18700}
PROFILE=${BENCH_PROFILE:-0}
OUT=${BENCH_OUT:-target/bench/$(date -u +%Y%m%dT%H%M%SZ)}

PG_HOST=127.0.0.1
PG_PORT=5432
PG_USER=postgres
DATABASE=keystone_bench
BASE_URL="http://127.0.0.1:$PORT"
BINARY=${BENCH_BINARY:-target/release/keystone}
HERE=scripts/bench
GRANT_BODY='{"title": "Benchmark grant", "agency": "National Benchmark Foundation", "amount": "25000.00", "start_date": "2026-01-01", "team": 1}'

SERVER_PID=""
STATEMENT_LOGGING=0

log() { echo "bench: $*" >&2; }
fail() {
    echo "bench: error: $*" >&2
    exit 1
}

psql_admin() { psql -h "$PG_HOST" -p "$PG_PORT" -U "$PG_USER" -X -q -v ON_ERROR_STOP=1 "$@"; }

cleanup() {
    stop_server
    if [ "$STATEMENT_LOGGING" = 1 ]; then
        psql_admin -d postgres -c "ALTER DATABASE $DATABASE RESET log_statement" >/dev/null 2>&1 || true
    fi
}
trap cleanup EXIT

check_tools() {
    if ! command -v wrk >/dev/null; then
        log "installing wrk from Debian's packages"
        { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends wrk; } >/dev/null ||
            fail "failed to install wrk with apt-get; install it and run again"
    fi
    local tool
    for tool in curl python3 psql pgbench; do
        command -v "$tool" >/dev/null || fail "$tool is not installed (psql and pgbench come with Debian's postgresql-client package)"
    done
    if [ "$PROFILE" = 1 ] && ! command -v perf >/dev/null; then
        fail "BENCH_PROFILE=1 needs perf (Debian package linux-perf)"
    fi
}

# --- the server ------------------------------------------------------------------------------

# Starts `keystone ARGS... --bind` for BACKEND with the data folder DATA_DIR and extra
# environment assignments, and waits until it responds.
start_server() {
    local backend=$1 data_dir=$2 log_file=$3
    shift 3
    local settings=(
        "KEYSTONE_DATA_DIR=$data_dir"
        "EMAIL_DEBUG_DIR=$data_dir/email"
        "LOG_APP_LEVEL=WARNING"
        # The default rates (120/min anonymous, 300/min per user) would reject almost all of
        # the benchmark's requests.
        "API_THROTTLE_ANON=1000000/s"
        "API_THROTTLE_USER=1000000/s"
    )
    if [ "$backend" = postgres ]; then
        settings+=("DB_POSTGRES_ENABLE=true" "DB_NAME=$DATABASE" "DB_USER=$PG_USER" "DB_HOST=$PG_HOST" "DB_PORT=$PG_PORT")
    else
        settings+=("DB_POSTGRES_ENABLE=false")
    fi

    local assignments=()
    while [ $# -gt 0 ] && [[ $1 == *=* ]]; do
        assignments+=("$1")
        shift
    done
    env -u RUST_LOG "${settings[@]}" "${assignments[@]}" "$BINARY" "$@" --bind "127.0.0.1:$PORT" >"$log_file" 2>&1 &
    SERVER_PID=$!

    local waited
    for waited in $(seq 1 240); do
        if ! kill -0 "$SERVER_PID" 2>/dev/null; then
            tail -n 20 "$log_file" >&2
            SERVER_PID=""
            fail "keystone $* exited during start-up; its log is $log_file"
        fi
        if curl -sf -o /dev/null "$BASE_URL/version/"; then
            return 0
        fi
        sleep 0.5
    done
    fail "keystone $* did not respond on $BASE_URL within 120 s; its log is $log_file"
}

# Stops the server with SIGTERM, which lets requests in flight finish, and SIGKILL after 30 s.
stop_server() {
    [ -n "$SERVER_PID" ] || return 0
    kill -TERM "$SERVER_PID" 2>/dev/null || true
    local waited
    for waited in $(seq 1 60); do
        kill -0 "$SERVER_PID" 2>/dev/null || break
        sleep 0.5
    done
    if kill -0 "$SERVER_PID" 2>/dev/null; then
        log "keystone ($SERVER_PID) did not stop within 30 s; killing it"
        kill -KILL "$SERVER_PID" 2>/dev/null || true
    fi
    wait "$SERVER_PID" 2>/dev/null || true
    SERVER_PID=""
}

# Signs in as the quickstart staff user and sets SESSION_ID, CSRF_TOKEN and USER_ID.
sign_in() {
    local jar=$1
    local body
    body=$(curl -sf -c "$jar" -H 'Content-Type: application/json' \
        -d '{"username": "admin", "password": "quickstart"}' "$BASE_URL/authentication/login/") ||
        fail "signing in as admin failed"
    SESSION_ID=$(awk '$6 == "sessionid" {print $7}' "$jar")
    CSRF_TOKEN=$(awk '$6 == "csrftoken" {print $7}' "$jar")
    USER_ID=$(printf '%s' "$body" | python3 -c 'import json, sys; print(json.load(sys.stdin)["id"])')
    [ -n "$SESSION_ID" ] && [ -n "$CSRF_TOKEN" ] || fail "the sign-in response set no sessionid or csrftoken cookie"
}

read_status_kib() { awk -v field="$2:" '$1 == field {print $2}' "/proc/$1/status"; }

# --- workloads -------------------------------------------------------------------------------

workload_path() {
    case $1 in
    a) echo "/version/" ;;
    b) echo "/health/json/" ;;
    c) echo "/allocations/requests/?_limit=100" ;;
    d) echo "/users/users/?_limit=100" ;;
    e) echo "/research/grants/" ;;
    *) fail "unknown workload '$1'; expected a, b, c, d or e" ;;
    esac
}

workload_method() { if [ "$1" = e ]; then echo POST; else echo GET; fi; }
signed_in() { [[ $1 == [cde] ]]; }
database_backed() { [[ $1 == [cde] ]]; }

# Sends one request of WORKLOAD with curl and prints "STATUS QUERIES", the HTTP status and the
# X-Keystone-Queries header (empty unless the server counts statements). The body goes to FILE.
probe() {
    local workload=$1 file=$2
    local args=(-s -o "$file" -D - -X "$(workload_method "$workload")")
    if signed_in "$workload"; then
        args+=(-H "Cookie: sessionid=$SESSION_ID; csrftoken=$CSRF_TOKEN" -H "X-CSRFToken: $CSRF_TOKEN")
    fi
    if [ "$workload" = e ]; then
        args+=(-H 'Content-Type: application/json' --data "$GRANT_BODY")
    fi
    curl "${args[@]}" "$BASE_URL$(workload_path "$workload")" | tr -d '\r' |
        awk 'NR == 1 {status = $2} tolower($1) == "x-keystone-queries:" {queries = $2} END {print status, queries}'
}

expected_status() { if [ "$1" = e ]; then echo 201; else echo 200; fi; }

# Runs wrk for one round and prints its RESULT line.
run_wrk() {
    local workload=$1 connections=$2 seconds=$3
    local threads=$((connections < 2 ? connections : 2))
    local request=("BENCH_METHOD=$(workload_method "$workload")")
    if signed_in "$workload"; then
        request+=("BENCH_COOKIE=sessionid=$SESSION_ID; csrftoken=$CSRF_TOKEN" "BENCH_CSRF=$CSRF_TOKEN")
    fi
    if [ "$workload" = e ]; then
        request+=("BENCH_BODY=$GRANT_BODY")
    fi
    env "${request[@]}" timeout $((seconds + 30)) wrk -t"$threads" -c"$connections" -d"${seconds}s" --timeout 10s \
        -s "$HERE/wrk.lua" "$BASE_URL$(workload_path "$workload")" | grep '^RESULT' ||
        fail "wrk printed no result for workload $workload at concurrency $connections"
}

# Runs pgbench with the captured statements of WORKLOAD for one round and prints its RESULT line.
run_pgbench() {
    local workload=$1 connections=$2 seconds=$3
    python3 "$HERE/pgbench.py" run --script "$OUT/pgbench-$workload.sql" --defines "$OUT/pgbench-$workload.json" \
        --clients "$connections" --jobs $((connections < 2 ? connections : 2)) --seconds "$seconds" \
        --host "$PG_HOST" --port "$PG_PORT" --user "$PG_USER" --database "$DATABASE" | grep '^RESULT' ||
        fail "pgbench printed no result for workload $workload at concurrency $connections"
}

# Runs one measured round of TOOL (wrk or pgbench) with the CPU sampler and appends a RUN line.
measured_round() {
    local backend=$1 workload=$2 connections=$3 tool=$4 round=$5
    local sample_file="$OUT/sample.tmp"
    python3 "$HERE/sample.py" --server-pid "$SERVER_PID" --database "$DATABASE" --seconds $((ROUND_SECONDS + 60)) >"$sample_file" &
    local sampler=$!
    local result
    if [ "$tool" = wrk ]; then
        result=$(run_wrk "$workload" "$connections" "$ROUND_SECONDS")
    else
        result=$(run_pgbench "$workload" "$connections" "$ROUND_SECONDS")
    fi
    kill -TERM "$sampler" 2>/dev/null || true
    wait "$sampler" || true
    local line="RUN backend=$backend workload=$workload concurrency=$connections tool=$tool round=$round ${result#RESULT } $(sed -n 's/^CPU //p' "$sample_file")"
    echo "$line" >>"$OUT/results.txt"
    log "$line"
}

# Records one round under `perf record -a` and keeps the reports beside the results.
profiled_round() {
    local backend=$1 workload=$2 connections=$3
    local data="$OUT/perf-$backend-$workload-c$connections.data"
    perf record -a -F 499 -o "$data" -- sleep "$ROUND_SECONDS" >/dev/null 2>&1 &
    local recorder=$!
    run_wrk "$workload" "$connections" "$ROUND_SECONDS" >/dev/null
    wait "$recorder" || log "perf record failed for workload $workload"
    perf report -i "$data" --no-children --sort comm,dso --stdio 2>/dev/null | grep -v '^#' | grep -v '^$' | head -n 25 \
        >"$OUT/perf-$backend-$workload-c$connections.processes.txt" || true
    perf report -i "$data" --no-children --pid "$SERVER_PID" --sort dso,symbol --stdio 2>/dev/null | grep -v '^#' | grep -v '^$' | head -n 60 \
        >"$OUT/perf-$backend-$workload-c$connections.keystone.txt" || true
    rm -f "$data"
    log "profile of $backend workload $workload at concurrency $connections: $OUT/perf-$backend-$workload-c$connections.*.txt"
}

run_workload() {
    local backend=$1 workload=$2
    local connections round
    for connections in $CONCURRENCY; do
        log "$backend: workload $workload ($(workload_method "$workload") $(workload_path "$workload")) at concurrency $connections"
        run_wrk "$workload" "$connections" "$WARMUP_SECONDS" >/dev/null
        # After this reset, VmHWM is the peak resident memory of this workload alone.
        echo 5 2>/dev/null >"/proc/$SERVER_PID/clear_refs" || log "failed to reset the server's VmHWM; peak memory covers earlier workloads too"
        for round in $(seq 1 "$ROUNDS"); do
            measured_round "$backend" "$workload" "$connections" wrk "$round"
        done
        echo "PEAK backend=$backend workload=$workload concurrency=$connections kib=$(read_status_kib "$SERVER_PID" VmHWM)" >>"$OUT/results.txt"
        if [ "$PROFILE" = 1 ] && [ "$connections" = "${CONCURRENCY##* }" ]; then
            profiled_round "$backend" "$workload" "$connections"
        fi
        if [ "$backend" = postgres ] && database_backed "$workload" && [ -f "$OUT/pgbench-$workload.sql" ]; then
            log "postgres: database limit of workload $workload at concurrency $connections (pgbench)"
            run_pgbench "$workload" "$connections" "$WARMUP_SECONDS" >/dev/null
            for round in $(seq 1 "$ROUNDS"); do
                measured_round "$backend" "$workload" "$connections" pgbench "$round"
            done
        fi
    done
}

# --- the database limit: Keystone's statements replayed with pgbench ------------------------

postgres_log_file() {
    local file
    file=$(psql_admin -d postgres -Atc "SELECT CASE WHEN pg_current_logfile() IS NULL THEN '' WHEN pg_current_logfile() LIKE '/%' THEN pg_current_logfile() ELSE current_setting('data_directory') || '/' || pg_current_logfile() END")
    if [ -z "$file" ]; then
        # Debian's clusters without the logging collector write to this file.
        local version
        version=$(psql_admin -d postgres -Atc "SELECT current_setting('server_version_num')::int / 10000")
        file="/var/log/postgresql/postgresql-$version-main.log"
    fi
    echo "$file"
}

# Sends one request of each database-backed workload with `log_statement = 'all'` on the
# benchmark database, and turns each request's logged statements into a pgbench script.
capture_statements() {
    local data_dir=$1
    local log_file
    log_file=$(postgres_log_file)
    if [ ! -r "$log_file" ]; then
        log "cannot read the PostgreSQL server log ($log_file); skipping the database limit"
        return 0
    fi
    STATEMENT_LOGGING=1
    psql_admin -d postgres -c "ALTER DATABASE $DATABASE SET log_statement = 'all'"
    start_server postgres "$data_dir" "$OUT/postgres-capture.log" KEYSTONE_DEBUG_QUERIES=true serve
    sign_in "$OUT/cookies.txt"

    local workload attempt
    for workload in c d e; do
        [[ " $WORKLOADS " == *" $workload "* ]] || continue
        for attempt in 1 2 3; do
            local start end answer status queries returned_id=()
            start=$(stat -c %s "$log_file")
            answer=$(probe "$workload" "$OUT/probe-$workload.json")
            sleep 0.3
            end=$(stat -c %s "$log_file")
            read -r status queries <<<"$answer"
            [ "$status" = "$(expected_status "$workload")" ] ||
                fail "workload $workload answered HTTP $status, expected $(expected_status "$workload"); the body is in $OUT/probe-$workload.json"
            [ -n "$queries" ] || fail "the server sent no X-Keystone-Queries header although KEYSTONE_DEBUG_QUERIES=true"
            if [ "$workload" = e ]; then
                returned_id=(--returned-id "$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["id"])' "$OUT/probe-$workload.json")")
            fi
            if python3 "$HERE/pgbench.py" capture --log "$log_file" --start "$start" --end "$end" --database "$DATABASE" \
                --expect "$queries" --method "$(workload_method "$workload")" --endpoint "$(workload_path "$workload")" \
                --status "$status" --user-id "$USER_ID" "${returned_id[@]}" \
                --script "$OUT/pgbench-$workload.sql" --defines "$OUT/pgbench-$workload.json" >&2; then
                echo "STATEMENTS workload=$workload queries=$queries" >>"$OUT/results.txt"
                break
            fi
            [ "$attempt" -lt 3 ] || fail "could not capture the statements of workload $workload"
        done
    done

    stop_server
    psql_admin -d postgres -c "ALTER DATABASE $DATABASE RESET log_statement"
    STATEMENT_LOGGING=0
}

# --- one backend -----------------------------------------------------------------------------

run_backend() {
    local backend=$1
    local data_dir="$OUT/$backend-data"
    rm -rf "$data_dir"
    mkdir -p "$data_dir"
    if [ "$backend" = postgres ]; then
        psql_admin -d postgres -c "DROP DATABASE IF EXISTS $DATABASE WITH (FORCE)" -c "CREATE DATABASE $DATABASE"
    fi

    log "$backend: seeding with keystone quickstart --seed"
    start_server "$backend" "$data_dir" "$OUT/$backend-seed.log" quickstart --seed
    stop_server
    if [ "$backend" = postgres ]; then
        # Bulk-inserted tables get planner statistics now, not whenever autovacuum gets to them.
        psql_admin -d "$DATABASE" -c "VACUUM ANALYZE"
        psql_admin -d "$DATABASE" -Atc "SELECT 'ROWS backend=postgres table=' || relname || ' rows=' || n_live_tup FROM pg_stat_user_tables ORDER BY relname" >>"$OUT/results.txt"
        capture_statements "$data_dir"
    fi

    # Seeding raises the peak memory of the process that does it, so the measured server is a
    # fresh `keystone serve` on the seeded data.
    start_server "$backend" "$data_dir" "$OUT/$backend-server.log" serve
    sign_in "$OUT/cookies.txt"
    local workload answer
    for workload in $WORKLOADS; do
        answer=$(probe "$workload" "$OUT/probe-$workload.json")
        [ "${answer%% *}" = "$(expected_status "$workload")" ] ||
            fail "$backend: workload $workload answered HTTP ${answer%% *}; the body is in $OUT/probe-$workload.json"
    done
    sleep 5
    echo "IDLE backend=$backend when=start kib=$(read_status_kib "$SERVER_PID" VmRSS)" >>"$OUT/results.txt"

    for workload in $WORKLOADS; do
        run_workload "$backend" "$workload"
    done

    sleep 10
    echo "IDLE backend=$backend when=end kib=$(read_status_kib "$SERVER_PID" VmRSS)" >>"$OUT/results.txt"
    echo "HWM backend=$backend kib=$(read_status_kib "$SERVER_PID" VmHWM)" >>"$OUT/results.txt"
    stop_server
}

machine_description() {
    echo "MACHINE nproc=$(nproc)"
    echo "MACHINE memory=$(awk '/^MemTotal/ {printf "%.1f GiB", $2 / 1048576}' /proc/meminfo)"
    echo "MACHINE cpu=$(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)"
    echo "MACHINE kernel=$(uname -r)"
    echo "MACHINE postgres=$(psql_admin -d postgres -Atc 'SHOW server_version')"
    echo "MACHINE wrk=$(wrk -v 2>&1 | head -n 1 | awk '{print $2}')"
    echo "MACHINE rustc=$(rustc --version)"
    echo "MACHINE binary=$BINARY"
    echo "MACHINE keystone=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet HEAD 2>/dev/null || echo ' with uncommitted changes')"
    echo "MACHINE settings=rounds $ROUNDS x $ROUND_SECONDS s after $WARMUP_SECONDS s of warm-up"
}

main() {
    check_tools
    if ! pg_isready -q -h "$PG_HOST" -p "$PG_PORT" -U "$PG_USER"; then
        scripts/services.sh >&2
    fi
    mkdir -p "$OUT"
    : >"$OUT/results.txt"
    log "writing results to $OUT"
    if [ -z "${BENCH_BINARY:-}" ]; then
        log "building the release binary"
        cargo build --release --bin keystone >&2
    fi
    [ -x "$BINARY" ] || fail "$BINARY is not an executable file"
    machine_description >>"$OUT/results.txt"
    local backend
    for backend in $BACKENDS; do
        case $backend in
        postgres | sqlite) run_backend "$backend" ;;
        *) fail "unknown backend '$backend' in BENCH_BACKENDS; expected postgres or sqlite" ;;
        esac
    done
    python3 "$HERE/report.py" "$OUT/results.txt" | tee "$OUT/report.md"
}

main "$@"
