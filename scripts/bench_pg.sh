#!/usr/bin/env bash
# The PostgreSQL store against its baselines, in one run on a throw-away PostgreSQL cluster (default durability:
# fsync on, synchronous_commit on):
#
#  1. GetForecast of a cached case: the service on PostgreSQL next to the service on SQLite, the same load client
#     (crates/pf-server/examples/grpc_load.rs, which checks every status), alternated. Goal: PostgreSQL >= 0.9x.
#  2. AppendSignals: W writers, each appending N batches of B new signals to a case of its own, through the
#     service on PostgreSQL, next to a plain PostgreSQL client inserting the same rows into the same table with
#     one transaction per batch (crates/pf-server/examples/append_load.rs), alternated. Goal: service >= 0.8x.
#     The batches' dates are spread over the span (most appends land inside the history, so the reply's forecast
#     advances the case's checkpoints from deep in it). Beside them: the service with replies as of the cases'
#     second day (a diagnostic), and the service with each writer's signals dated in the order it sends them
#     (`ordered`, as a feed of new events: every append in date order, the reply's forecast advancing the
#     checkpoints over the new signals only). And the ceiling of any gRPC front end to those inserts on this
#     machine: the same gRPC load client against a bare relay (crates/pf-server/examples/bare_server.rs with the
#     database's URL: per call the plain client's transaction, nothing else: no layers, no case in memory, no
#     version, no notification, no forecast).
#
#   scripts/bench_pg.sh [SECONDS] [WRITERS] [BATCHES] [BATCH]
set -euo pipefail
cd "$(dirname "$0")/.."
SECS=${1:-5}
WRITERS=${2:-4}
BATCHES=${3:-200}
BATCH=${4:-10}
CASE=usa-prk-2017
AS_OF=2018-10-31

cargo build --release -q -p pf-server --examples
BIN=target/release/examples
PGBIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
[ -x "$PGBIN/initdb" ] || { echo "PostgreSQL is not installed (apt-get install postgresql)"; exit 1; }
TMP=$(mktemp -d)
PIDS=()
AS=()
[ "$(id -u)" = 0 ] && { chown postgres:postgres "$TMP"; AS=(runuser -u postgres --); }
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true
  "${AS[@]}" "$PGBIN/pg_ctl" -D "$TMP/data" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$TMP"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_for() { for _ in $(seq 1 400); do grep -q "listening on" "$1" 2>/dev/null && return 0; sleep 0.05; done; cat "$1"; return 1; }

PGPORT=$(free_port)
"${AS[@]}" "$PGBIN/initdb" -D "$TMP/data" -A trust -U postgres -E UTF8 >/dev/null
"${AS[@]}" "$PGBIN/pg_ctl" -D "$TMP/data" -l "$TMP/pg.log" -w -o "-p $PGPORT -k $TMP -c listen_addresses=127.0.0.1" start >/dev/null
"${AS[@]}" "$PGBIN/psql" -X -q -h 127.0.0.1 -p "$PGPORT" -U postgres -c "CREATE DATABASE bench" postgres
URL="postgres://postgres@127.0.0.1:$PGPORT/bench"
SETTINGS=$("${AS[@]}" "$PGBIN/psql" -X -A -t -h 127.0.0.1 -p "$PGPORT" -U postgres -c "SELECT current_setting('server_version') || ', fsync ' || current_setting('fsync') || ', synchronous_commit ' || current_setting('synchronous_commit')" bench)

P1=$(free_port)
PRESSURE_FORECAST_LOG=warn "$BIN/serve" --listen "127.0.0.1:$P1" --db "$TMP/bench.sqlite3" --seed-examples >"$TMP/sqlite.log" 2>&1 &
PIDS+=($!)
P2=$(free_port)
PRESSURE_FORECAST_LOG=warn "$BIN/serve" --listen "127.0.0.1:$P2" --db "$URL" --seed-examples >"$TMP/pg.log" 2>&1 &
PIDS+=($!)
wait_for "$TMP/sqlite.log"
wait_for "$TMP/pg.log"
# The relay writes into the tables the service created (it waited for them above).
P3=$(free_port)
"$BIN/bare_server" "127.0.0.1:$P3" "$CASE" "$AS_OF" "$URL" >"$TMP/relay.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 1 400); do grep -q "listening on" "$TMP/relay.log" 2>/dev/null && break; sleep 0.05; done
grep -q "listening on" "$TMP/relay.log" || { cat "$TMP/relay.log"; exit 1; }

echo "PostgreSQL $SETTINGS; $(nproc) cores"
echo "1. GetForecast $CASE as of $AS_OF (cached): 10 connections x 10 streams, ${SECS}s each"
get() { "$BIN/grpc_load" "127.0.0.1:$1" "$CASE" "$AS_OF" 10 10 "$SECS"; }
S1=$(get "$P1"); G1=$(get "$P2"); S2=$(get "$P1"); G2=$(get "$P2")
echo "2. AppendSignals: $WRITERS writers x $BATCHES batches x $BATCH signals, a case per writer"
app() { "$BIN/append_load" "$1" "$2" "$3" "$WRITERS" "$BATCHES" "$BATCH" "${@:4}"; }
# E1/E2: the service with replies as of the day after the cases' start, so that each reply's forecast covers one
# day instead of the whole span: what the append costs without most of the reply's forecast (a diagnostic, not
# the goal's measure).
A1=$(app grpc "127.0.0.1:$P2" svc1); B1=$(app plain "$URL" plain1); E1=$(app grpc "127.0.0.1:$P2" early1 2017-01-21)
O1=$(app grpc "127.0.0.1:$P2" ord1 - ordered); R1=$(app grpc "127.0.0.1:$P3" relay1)
A2=$(app grpc "127.0.0.1:$P2" svc2); B2=$(app plain "$URL" plain2); E2=$(app grpc "127.0.0.1:$P2" early2 2017-01-21)
O2=$(app grpc "127.0.0.1:$P2" ord2 - ordered); R2=$(app grpc "127.0.0.1:$P3" relay2)
python3 - "$S1" "$G1" "$S2" "$G2" "$A1" "$B1" "$A2" "$B2" "$E1" "$E2" "$O1" "$O2" "$R1" "$R2" <<'PY'
import json, sys
s1, g1, s2, g2, a1, b1, a2, b2, e1, e2, o1, o2, r1, r2 = (json.loads(x) for x in sys.argv[1:])
for name, r in (("sqlite #1", s1), ("postgres #1", g1), ("sqlite #2", s2), ("postgres #2", g2)):
    print(f"  {name:12s} {r['rps']:>8.0f} req/s  p50 {r['p50_us']:>6d} us  p99 {r['p99_us']:>6d} us  ok {r['ok']:>8d}  errors {r['errors']}")
get_ratio = (g1["rps"] + g2["rps"]) / (s1["rps"] + s2["rps"])
print(f"  ratio GetForecast postgres/sqlite: {get_ratio:.2f} (goal >= 0.90)")
for name, r in (("service #1", a1), ("plain #1", b1), ("service #2", a2), ("plain #2", b2)):
    print(f"  {name:12s} {r['signals_per_s']:>8.0f} signals/s  {r['batches_per_s']:>7.0f} batches/s  p50 {r['p50_us']:>6d} us  p99 {r['p99_us']:>6d} us")
for name, r in (("early #1", e1), ("early #2", e2)):
    print(f"  {name:12s} {r['signals_per_s']:>8.0f} signals/s  {r['batches_per_s']:>7.0f} batches/s  p50 {r['p50_us']:>6d} us  p99 {r['p99_us']:>6d} us  (replies as of 2017-01-21)")
for name, r in (("ordered #1", o1), ("ordered #2", o2)):
    print(f"  {name:12s} {r['signals_per_s']:>8.0f} signals/s  {r['batches_per_s']:>7.0f} batches/s  p50 {r['p50_us']:>6d} us  p99 {r['p99_us']:>6d} us  (signals in date order)")
for name, r in (("relay #1", r1), ("relay #2", r2)):
    print(f"  {name:12s} {r['signals_per_s']:>8.0f} signals/s  {r['batches_per_s']:>7.0f} batches/s  p50 {r['p50_us']:>6d} us  p99 {r['p99_us']:>6d} us  (bare gRPC relay of the plain insert)")
plain = b1["signals_per_s"] + b2["signals_per_s"]
relay = r1["signals_per_s"] + r2["signals_per_s"]
app_ratio = (a1["signals_per_s"] + a2["signals_per_s"]) / plain
print(f"  ratio AppendSignals service/plain client: {app_ratio:.2f} (goal >= 0.80)")
print(f"  ratio AppendSignals service with one-day reply forecasts/plain client: {(e1['signals_per_s'] + e2['signals_per_s']) / plain:.2f}")
print(f"  ratio AppendSignals service, signals in date order/plain client: {(o1['signals_per_s'] + o2['signals_per_s']) / plain:.2f}")
print(f"  ratio AppendSignals bare gRPC relay/plain client: {relay / plain:.2f} (the ceiling of a gRPC front end here)")
print(f"  ratio AppendSignals service/bare gRPC relay: {(a1['signals_per_s'] + a2['signals_per_s']) / relay:.2f} (spread), "
      f"{(o1['signals_per_s'] + o2['signals_per_s']) / relay:.2f} (in date order)")
errors = sum(r["errors"] for r in (s1, g1, s2, g2))
if errors:
    print(f"{errors} calls failed")
    sys.exit(1)
PY
