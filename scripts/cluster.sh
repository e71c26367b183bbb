#!/usr/bin/env bash
# Runs a local three-node Keystone cluster on 127.0.0.1:8001-8003: CLUSTER_ENABLE=true, the
# PostgreSQL database keystone_cluster on 127.0.0.1:5432 (user postgres) and the Redis on
# 127.0.0.1:6379 with the key prefix keystone-cluster:.
#
#   scripts/cluster.sh start    build keystone, create and migrate the database, start the nodes
#   scripts/cluster.sh status   print which nodes respond to /version/
#   scripts/cluster.sh stop     send SIGTERM to the recorded nodes and wait for them to exit
#
# State lives in KEYSTONE_CLUSTER_DIR (default .cluster/ in the repository): the generated
# secret key, one pid file and one log per node, and the shared data directory.
#
# Environment:
#   KEYSTONE_BIN            use this keystone binary instead of building one with cargo
#   KEYSTONE_CLUSTER_DIR    state folder
#   KEYSTONE_CLUSTER_PORTS  node ports, separated by spaces (default "8001 8002 8003")
# Other Keystone settings in the environment (KEYSTONE_WORKERS, LOG_APP_LEVEL, ...) reach
# every node. LOG_APP_LEVEL defaults to INFO here.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
state_dir=${KEYSTONE_CLUSTER_DIR:-$repo/.cluster}
ports=${KEYSTONE_CLUSTER_PORTS:-8001 8002 8003}
database=keystone_cluster
# Seconds that start waits for a node to respond and stop waits for a node to exit.
start_timeout=60
stop_timeout=30

usage() {
    echo "usage: $0 start|stop|status" >&2
    exit 2
}

pid_file() { echo "$state_dir/node-$1.pid"; }
log_file() { echo "$state_dir/node-$1.log"; }

# Prints the pid recorded for the node on port $1 while that process still runs the node's
# command line, so a pid reused by another program is never signalled.
running_pid() {
    local file pid
    file=$(pid_file "$1")
    [ -f "$file" ] || return 1
    pid=$(cat "$file")
    [[ "$pid" =~ ^[0-9]+$ ]] || return 1
    kill -0 "$pid" 2>/dev/null || return 1
    tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q -- "serve --bind 127.0.0.1:$1 " || return 1
    echo "$pid"
}

responds() {
    curl -fsS -m 2 -o /dev/null "http://127.0.0.1:$1/version/" 2>/dev/null
}

keystone_binary() {
    if [ -n "${KEYSTONE_BIN:-}" ]; then
        echo "$KEYSTONE_BIN"
        return
    fi
    (cd "$repo" && cargo build --bin keystone >&2)
    echo "${CARGO_TARGET_DIR:-$repo/target}/debug/keystone"
}

# Exports the settings every node and the migration share.
cluster_environment() {
    local key_file=$state_dir/secret_key
    if [ ! -s "$key_file" ]; then
        (umask 077 && head -c 48 /dev/urandom | base64 | tr -d '\n/+=' >"$key_file")
        echo "generated a secret key in $key_file"
    fi
    export CLUSTER_ENABLE=true
    export SECURE_SECRET_KEY
    SECURE_SECRET_KEY=$(cat "$key_file")
    export DB_POSTGRES_ENABLE=true DB_NAME=$database DB_USER=postgres DB_HOST=127.0.0.1 DB_PORT=5432
    export REDIS_HOST=127.0.0.1 REDIS_PORT=6379 REDIS_KEY_PREFIX=keystone-cluster:
    export KEYSTONE_DATA_DIR=$state_dir/data
    # INFO shows leader changes and job runs in the node logs.
    export LOG_APP_LEVEL=${LOG_APP_LEVEL:-INFO}
}

create_database() {
    local exists
    if ! exists=$(psql -h 127.0.0.1 -p 5432 -U postgres -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname = '$database'"); then
        echo "error: failed to reach PostgreSQL on 127.0.0.1:5432 as postgres; run scripts/services.sh" >&2
        exit 1
    fi
    if [ "$exists" != "1" ]; then
        psql -h 127.0.0.1 -p 5432 -U postgres -d postgres -qc "CREATE DATABASE $database"
        echo "created the database $database"
    fi
}

start() {
    mkdir -p "$state_dir/data"
    local bin
    bin=$(keystone_binary)
    if [ ! -x "$bin" ]; then
        echo "error: $bin is not an executable keystone binary" >&2
        exit 1
    fi
    cluster_environment
    create_database
    "$bin" migrate

    local port pid started=()
    for port in $ports; do
        if pid=$(running_pid "$port"); then
            echo "node on port $port is already running (pid $pid)"
            continue
        fi
        if responds "$port"; then
            echo "error: another server already listens on 127.0.0.1:$port" >&2
            exit 1
        fi
        # setsid detaches the node from this terminal, so closing it does not stop the node.
        setsid "$bin" serve --bind "127.0.0.1:$port" </dev/null >>"$(log_file "$port")" 2>&1 &
        echo $! >"$(pid_file "$port")"
        started+=("$port")
    done

    for port in "${started[@]}"; do
        local waited=0
        until responds "$port"; do
            if ! running_pid "$port" >/dev/null; then
                echo "error: the node on port $port exited; last lines of $(log_file "$port"):" >&2
                tail -n 20 "$(log_file "$port")" >&2
                exit 1
            fi
            if [ "$waited" -ge $((start_timeout * 10)) ]; then
                echo "error: the node on port $port did not respond within $start_timeout s; see $(log_file "$port")" >&2
                exit 1
            fi
            sleep 0.1
            waited=$((waited + 1))
        done
        echo "node on port $port started (pid $(cat "$(pid_file "$port")"), log $(log_file "$port"))"
    done
}

stop() {
    local port pid pids=() left
    for port in $ports; do
        if pid=$(running_pid "$port"); then
            kill -TERM "$pid"
            pids+=("$port:$pid")
            echo "sent SIGTERM to the node on port $port (pid $pid)"
        else
            rm -f "$(pid_file "$port")"
        fi
    done

    if [ ${#pids[@]} -eq 0 ]; then
        echo "no node is running"
        return
    fi

    local waited=0
    while :; do
        left=()
        for entry in "${pids[@]}"; do
            if kill -0 "${entry#*:}" 2>/dev/null; then
                left+=("$entry")
            fi
        done
        if [ ${#left[@]} -eq 0 ]; then
            break
        fi
        if [ "$waited" -ge $((stop_timeout * 10)) ]; then
            echo "error: still running after $stop_timeout s: ${left[*]} (port:pid); see the logs in $state_dir" >&2
            exit 1
        fi
        sleep 0.1
        waited=$((waited + 1))
    done
    for entry in "${pids[@]}"; do
        rm -f "$(pid_file "${entry%%:*}")"
        echo "node on port ${entry%%:*} stopped"
    done
}

status() {
    local port pid down=0
    for port in $ports; do
        pid=$(running_pid "$port") || pid=""
        if responds "$port"; then
            echo "node on port $port: responds${pid:+ (pid $pid)}"
        else
            echo "node on port $port: no response${pid:+ (pid $pid is running)}"
            down=$((down + 1))
        fi
    done
    [ "$down" -eq 0 ]
}

[ $# -eq 1 ] || usage
case $1 in
    start) start ;;
    stop) stop ;;
    status) status ;;
    *) usage ;;
esac
