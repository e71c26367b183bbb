#!/usr/bin/env bash
# Makes sure PostgreSQL (127.0.0.1:5432, user postgres) and Redis (127.0.0.1:6379) answer,
# starting the local Debian services when they do not.
set -euo pipefail

wait_for() {
    local what=$1 check=$2
    for _ in $(seq 1 30); do
        if eval "$check" >/dev/null 2>&1; then
            return 0
        fi
        sleep 1
    done
    echo "error: $what did not become ready within 30 s" >&2
    return 1
}

postgres_ready() { pg_isready -q -h 127.0.0.1 -p 5432 -U postgres; }
redis_ready() { [ "$(redis-cli -h 127.0.0.1 -p 6379 ping 2>/dev/null)" = "PONG" ]; }

# Test tools from Debian's packages: promtool checks the metrics output, and aiosmtpd is the
# SMTP server that email tests talk to.
missing=()
command -v promtool >/dev/null || missing+=(prometheus)
/usr/bin/python3 -c "import aiosmtpd" >/dev/null 2>&1 || missing+=(python3-aiosmtpd)
if [ ${#missing[@]} -gt 0 ]; then
    echo "installing test tools: ${missing[*]}"
    if ! { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"; } >/dev/null; then
        echo "error: failed to install ${missing[*]} with apt-get; install them and run again" >&2
        exit 1
    fi
fi

# openapi-spec-validator checks the generated OpenAPI document.
if ! python3 -c "import openapi_spec_validator" >/dev/null 2>&1; then
    echo "installing openapi-spec-validator"
    python3 -m pip install -q openapi-spec-validator >/dev/null 2>&1 || echo "warning: failed to install openapi-spec-validator; the OpenAPI test will use its built-in checks only" >&2
fi

if ! command -v pg_isready >/dev/null || ! command -v redis-cli >/dev/null; then
    echo "error: the PostgreSQL and Redis client tools (pg_isready, redis-cli) are not installed" >&2
    exit 1
fi

if ! postgres_ready; then
    echo "PostgreSQL is not answering on 127.0.0.1:5432; starting it"
    version=$(ls /etc/postgresql 2>/dev/null | sort -V | tail -n 1)
    if [ -z "$version" ]; then
        echo "error: no PostgreSQL cluster under /etc/postgresql; install PostgreSQL or start it on 127.0.0.1:5432" >&2
        exit 1
    fi
    pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
    wait_for "PostgreSQL on 127.0.0.1:5432" postgres_ready
fi

if ! redis_ready; then
    echo "Redis is not answering on 127.0.0.1:6379; starting it"
    if ! command -v redis-server >/dev/null; then
        echo "error: redis-server is not installed; install Redis or start it on 127.0.0.1:6379" >&2
        exit 1
    fi
    redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no
    wait_for "Redis on 127.0.0.1:6379" redis_ready
fi
echo "PostgreSQL and Redis are ready"
