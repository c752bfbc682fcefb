#!/usr/bin/env bash
# Soak the gRPC service: mixed load with kill -9 cycles for PF_SOAK_SECONDS (default 600), checking the
# acknowledgement ledger after every restart and the server's RSS each cycle. Prints one JSON line of figures.
# The load, the kills and the checks are in crates/pf-server/tests/soak.rs (the tests run a short form of it).
set -euo pipefail
cd "$(dirname "$0")/.."
export PF_SOAK_SECONDS="${PF_SOAK_SECONDS:-600}"
export PF_SOAK_ACKS="${PF_SOAK_ACKS:-2000}"
exec cargo test ${CARGO_FLAGS:-} -p pf-server --test soak -- --nocapture --test-threads=2
