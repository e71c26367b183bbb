#!/usr/bin/env bash
# Runs the whole test suite. Starts PostgreSQL and Redis on 127.0.0.1 when they are not
# running, and stops with a clear message when they cannot be started.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/services.sh

export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"
cargo build --workspace --bins --tests
cargo test --workspace --no-fail-fast "$@"
