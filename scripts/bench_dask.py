"""Leave-one-out backtest of the TIES-derived term episodes: one process against a Dask LocalCluster.

Both runs score the same episodes with the same refits (each episode forecast by the default v2 model fitted
without it); the script checks that the two reports are identical, bit for bit, and prints their times side by
side with the ratio, measured in the same run:

    .venv/bin/python scripts/bench_dask.py                     # the whole TIES-derived set (`make bench`)
    .venv/bin/python scripts/bench_dask.py --limit 100         # its first 100 episodes
    .venv/bin/python scripts/bench_dask.py --quick             # CI-sized: 6 curated episodes, 2 EM iterations

The whole set is long: each of its 874 refits is a fit on the other 873 episodes (about 28 s with the default
settings on one core of a 2-core x86_64 VM), so the single-process run alone takes hours there; ``--limit``
and ``--max-iterations`` bound it. The cluster has ``--workers`` worker processes of one thread each (default 2,
this machine's cores): on a machine with more cores or a real cluster the ratio grows with the workers.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from typing import Any

import pressure_forecast as pf
import pressure_forecast.dask as pfd
from distributed import Client, LocalCluster


def _episodes(which: str, limit: int | None) -> list[pf.Episode]:
    eps = pf.datasets.ties_episodes() if which == "ties" else pf.datasets.curated_episodes()
    eps = [e for e in eps if not e.exclude_from_training]
    return eps[:limit] if limit else eps


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--set", choices=["ties", "curated"], default="ties", help="the episode set (default ties)")
    ap.add_argument("--limit", type=int, default=None, help="only the first N episodes of the set")
    ap.add_argument("--max-iterations", type=int, default=None, help="EM iterations per refit (default: fit's)")
    ap.add_argument("--workers", type=int, default=2, help="worker processes of the LocalCluster (default 2)")
    ap.add_argument("--batch-size", type=int, default=None, help="folds per task (default: ~4 tasks per worker)")
    ap.add_argument("--quick", action="store_true", help="CI-sized: 6 curated episodes, 2 iterations")
    args = ap.parse_args(argv)
    if args.quick:
        args.set, args.limit, args.max_iterations = "curated", 6, 2

    episodes = _episodes(args.set, args.limit)
    model = pf.Model.default()
    kw: dict[str, Any] = {"loo": True, "max_iterations": args.max_iterations}
    print(
        f"leave-one-out backtest: {len(episodes)} {args.set} episodes,"
        f" max_iterations={args.max_iterations or 'default'} ({platform.machine()}, {os.cpu_count()} cores)",
        flush=True,
    )

    # CPU seconds beside the wall-clock ones: on a machine shared with other work, CPU / wall is the number of
    # cores each run actually got, which the ratio of wall times alone hides.
    t0, c0 = time.perf_counter(), time.process_time()
    single = pf.backtest(model, episodes, progress=sys.stderr.isatty(), **kw)
    t_single, c_single = time.perf_counter() - t0, time.process_time() - c0
    cores = c_single / t_single
    print(f"  {'single process:':<26}{t_single:9.2f} s (CPU {c_single:.2f} s: {cores:.2f} cores)", flush=True)

    t0 = time.perf_counter()
    with (
        LocalCluster(n_workers=args.workers, threads_per_worker=1, processes=True, dashboard_address=":0") as cluster,
        Client(cluster) as client,
    ):
        t_start = time.perf_counter() - t0
        cpu0 = client.run(time.process_time)
        t1 = time.perf_counter()
        dist = pfd.backtest(model, episodes, client=client, batch_size=args.batch_size, **kw)
        t_dask = time.perf_counter() - t1
        cpu = sum(c - cpu0[w] for w, c in client.run(time.process_time).items())
    label = f"LocalCluster, {args.workers} workers:"
    print(
        f"  {label:<26}{t_dask:9.2f} s (workers' CPU {cpu:.2f} s: {cpu / t_dask:.2f} cores;"
        f" + {t_start:.2f} s to start the cluster)"
    )
    identical = dist == single
    print(f"  ratio single / cluster: {t_single / t_dask:.2f}x; reports identical: {identical}")
    if isinstance(single, pf.BacktestReportV2):
        print(f"  brier {single.scores['brier']:.6f}, log score {single.scores['log_score']:.6f}")
    if not identical:
        print("ERROR: the cluster's report differs from the single-process one", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
