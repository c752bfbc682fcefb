#!/usr/bin/env bash
# GetForecast throughput and latency of the real service next to a bare tonic handler that returns a message of
# the same size, measured in the same run with the same load client (crates/pf-server/examples/grpc_load.rs,
# which checks every gRPC status; h2load would count gRPC errors as successes).
#
#   scripts/bench_grpc.sh [CONNECTIONS] [STREAMS_PER_CONNECTION] [SECONDS]
#
# The service runs twice: with PRESSURE_FORECAST_LOG=warn and with the default log level (info), to measure what
# the default logging costs (issue 14: it must be cheap). All servers run on 127.0.0.1 only; each load run is
# bounded in time. Goals: service >= 0.8x bare; default log level >= 0.95x warn.
set -euo pipefail
cd "$(dirname "$0")/.."
CONNS=${1:-10}
STREAMS=${2:-10}
SECS=${3:-10}
CASE=usa-prk-2017
AS_OF=2018-10-31

cargo build --release -q -p pf-server --examples
BIN=target/release/examples
TMP=$(mktemp -d)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$TMP"; }
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_for() { for _ in $(seq 1 200); do grep -q "listening on" "$1" 2>/dev/null && return 0; sleep 0.05; done; cat "$1"; return 1; }

P1=$(free_port)
PRESSURE_FORECAST_LOG=warn "$BIN/serve" --listen "127.0.0.1:$P1" --db "$TMP/bench.sqlite3" --seed-examples >"$TMP/serve.log" 2>&1 &
PIDS+=($!)
P3=$(free_port)
env -u PRESSURE_FORECAST_LOG -u RUST_LOG "$BIN/serve" --listen "127.0.0.1:$P3" --db "$TMP/bench_info.sqlite3" --seed-examples >"$TMP/serve_info.log" 2>&1 &
PIDS+=($!)
P2=$(free_port)
"$BIN/bare_server" "127.0.0.1:$P2" "$CASE" "$AS_OF" >"$TMP/bare.log" 2>&1 &
PIDS+=($!)
wait_for "$TMP/serve.log"
wait_for "$TMP/serve_info.log"
wait_for "$TMP/bare.log"

echo "GetForecast $CASE as of $AS_OF: $CONNS connections x $STREAMS streams, ${SECS}s each, on $(nproc) cores"
run() { "$BIN/grpc_load" "127.0.0.1:$1" "$CASE" "$AS_OF" "$CONNS" "$STREAMS" "$SECS"; }
# Alternate the three so that none profits from a quieter machine.
BARE1=$(run "$P2"); SVC1=$(run "$P1"); INFO1=$(run "$P3"); BARE2=$(run "$P2"); INFO2=$(run "$P3"); SVC2=$(run "$P1")
python3 - "$BARE1" "$SVC1" "$INFO1" "$BARE2" "$INFO2" "$SVC2" <<'PY'
import json, sys
b1, s1, i1, b2, i2, s2 = (json.loads(x) for x in sys.argv[1:])
runs = (("bare #1", b1), ("warn #1", s1), ("info #1", i1), ("bare #2", b2), ("info #2", i2), ("warn #2", s2))
for name, r in runs:
    print(f"{name:8s} {r['rps']:>8.0f} req/s  p50 {r['p50_us']:>6d} us  p99 {r['p99_us']:>6d} us  ok {r['ok']:>8d}  errors {r['errors']}  response {r['response_bytes']} B")
bare = (b1["rps"] + b2["rps"]) / 2
svc = (s1["rps"] + s2["rps"]) / 2
info = (i1["rps"] + i2["rps"]) / 2
print(f"ratio service (log warn)/bare: {svc / bare:.2f} (goal >= 0.80)")
print(f"ratio service (log info, the default)/bare: {info / bare:.2f}")
print(f"ratio default log level/warn: {info / svc:.2f} (goal >= 0.95)")
errors = sum(r["errors"] for _, r in runs)
if errors:
    print(f"{errors} calls failed")
    sys.exit(1)
PY
