"""Benchmark (not a test) of the Python face: per-call overhead of a forecast on a small case, and
`forecast_many` against a Python loop of single calls.

    .venv/bin/python scripts/bench_python.py [--cases 2000] [--repeat 5]
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable

import pressure_forecast as pf


def best(f: Callable[[], object], repeat: int, number: int) -> float:
    """Best mean seconds per call over `repeat` runs of `number` calls."""
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        for _ in range(number):
            f()
        times.append((time.perf_counter() - t0) / number)
    return min(times)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--cases", type=int, default=2000)
    ap.add_argument("--repeat", type=int, default=5)
    a = ap.parse_args()

    small = pf.Case("small", "USA", "PRK", "2017-01-20", "2021-01-20")
    small.observe("sanctions_tightened", "2017-08-05")
    small.observe("summit_held", "2018-06-12")
    small.observe("talks_refused", "2018-07-07")
    nk = pf.Case.load("data/cases/north_korea.json")

    print(f"machine: {os.cpu_count()} cores; pressure_forecast {pf.__version__}")
    t = best(lambda: small.forecast(as_of="2018-10-31"), a.repeat, 2000)
    print(f"forecast, small case (3 signals), per call:       {t * 1e6:8.1f} us")
    t = best(lambda: nk.forecast(as_of="2018-10-31"), a.repeat, 2000)
    print(f"forecast, north_korea.json (34 signals), per call: {t * 1e6:8.1f} us")
    t = best(lambda: small.forecast(as_of="2018-10-31", draws=1000), a.repeat, 5)
    print(f"forecast with 1000 draws, small case:              {t * 1e3:8.1f} ms")

    cases = [nk.copy() if i % 2 else small.copy() for i in range(a.cases)]
    loop = best(lambda: [c.forecast(as_of="2018-10-31") for c in cases], a.repeat, 1)
    batch = best(lambda: pf.forecast_many(cases, as_of="2018-10-31"), a.repeat, 1)
    print(f"{a.cases} cases, Python loop of single calls:       {loop * 1e3:8.1f} ms ({loop / a.cases * 1e6:.1f} us/case)")
    print(f"{a.cases} cases, forecast_many (rayon, GIL off):    {batch * 1e3:8.1f} ms ({batch / a.cases * 1e6:.1f} us/case)"
          f"  speed-up x{loop / batch:.2f}")
    dcases = cases[:40]
    loop = best(lambda: [c.forecast(as_of="2018-10-31", draws=200) for c in dcases], 3, 1)
    batch = best(lambda: pf.forecast_many(dcases, as_of="2018-10-31", draws=200), 3, 1)
    print(f"40 cases x 200 draws, loop: {loop * 1e3:.1f} ms; forecast_many: {batch * 1e3:.1f} ms (x{loop / batch:.2f})")


if __name__ == "__main__":
    main()
