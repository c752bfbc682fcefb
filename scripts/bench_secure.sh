#!/usr/bin/env bash
# GetForecast throughput with TLS, a bearer token and the limits on, against the same server with them off: the
# secure_load example (crates/pf-server/examples/secure_load.rs) run RUNS times, each run alternating off/on
# rounds in one process with one load client. Prints every run's summary line, the load average before and
# after, and the mean ratio. Goal (issue 12): on >= 0.85x off.
#
#   scripts/bench_secure.sh [RUNS] [CONNECTIONS] [STREAMS] [SECONDS_PER_ROUND] [ROUNDS]
#
# PF_SECURE_PARTS (tls, token, limits; default all three) prices each part alone. Everything runs on 127.0.0.1
# and every run is bounded in time. On a shared machine compare the ratios, not the absolute calls/s, and read
# the CPU time per call beside them: it does not depend on the share of the machine the process gets.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${1:-3}
CONNS=${2:-10}
STREAMS=${3:-10}
SECS=${4:-3}
ROUNDS=${5:-4}

cargo build --release -q -p pf-server --example secure_load
BIN=target/release/examples/secure_load
echo "secure_load: $RUNS runs of $ROUNDS rounds x ${SECS}s, $CONNS connections x $STREAMS streams, on $(nproc) cores, parts ${PF_SECURE_PARTS:-tls,token,limits}"
echo "load average before: $(cat /proc/loadavg)"
OUT=$(mktemp)
trap 'rm -f "$OUT"' EXIT
for r in $(seq 1 "$RUNS"); do
  timeout 600 "$BIN" "$CONNS" "$STREAMS" "$SECS" "$ROUNDS" 2>/dev/null | tail -n 1 | tee -a "$OUT"
done
echo "load average after: $(cat /proc/loadavg)"
python3 - "$OUT" <<'PY'
import json, sys
runs = [json.loads(line) for line in open(sys.argv[1]) if line.strip()]
ratio = sum(r["ratio"] for r in runs) / len(runs)
cpu = sum(r["cpu_ratio_off_on"] for r in runs) / len(runs)
off = sum(r["off_rps"] for r in runs) / len(runs)
on = sum(r["on_rps"] for r in runs) / len(runs)
print(f"mean over {len(runs)} runs: off {off:.0f} calls/s, on {on:.0f} calls/s, ratio on/off {ratio:.3f} "
      f"(min {min(r['ratio'] for r in runs):.3f}), CPU-per-call ratio off/on {cpu:.3f} (goal >= 0.85)")
if any(r["errors"] for r in runs):
    print("calls failed")
    sys.exit(1)
PY
