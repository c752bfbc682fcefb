"""Benchmark (not a test) of the Python face: per-call overhead of a forecast on a small case,
`forecast_many` against a Python loop of single calls, and a filter step through the API against hmmlearn's
`score` (its scaling forward pass) on the same HMM and observations, side by side.

    .venv/bin/python scripts/bench_python.py [--cases 2000] [--repeat 5] [--steps 70000] [--only-hmm]
"""

from __future__ import annotations

import argparse
import datetime
import os
import time
from collections.abc import Callable

import numpy as np
import pandas as pd
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


def _rows(a: np.ndarray) -> str:
    return "[" + ", ".join("[" + ", ".join(repr(float(x)) for x in r) + "]" for r in a) + "]"


def _normalise_rows(a: np.ndarray) -> np.ndarray:
    a = a / a.sum(axis=1, keepdims=True)
    a[:, -1] = 1.0 - a[:, :-1].sum(axis=1)
    return a


def hmm_model(rng: np.random.Generator, k: int, m: int) -> tuple[pf.Model, np.ndarray, np.ndarray, np.ndarray]:
    """A random HMM (k states, m symbols) as a v1 model whose regimes are the states and types sym0..sym{m-1}
    the symbols (as tests/test_reference.py builds it), and its parameters."""
    start = rng.dirichlet(np.ones(k))
    start[-1] = 1.0 - start[:-1].sum()
    trans = _normalise_rows(rng.dirichlet(np.ones(k), size=k) + 1e-3)
    emis = _normalise_rows(rng.dirichlet(np.ones(m), size=k) + 1e-3)
    lines = ["format_version = 1", 'name = "hmm"', 'outcomes = ["a", "b"]']
    for j in range(k):
        lines += ["[[regimes]]", f'name = "s{j}"', f'outcome = "{"ab"[j % 2]}"']
    lines += ["[prior]", f"probabilities = [{', '.join(repr(float(x)) for x in start)}]", "concentration = 10.0"]
    lines += ["[[transitions]]", 'name = "all"', "min_days_left = 0", f"matrix = {_rows(trans)}"]
    lines += ["concentration = 10.0"]
    for t in pf.SIGNAL_TYPES_V1:
        lines += [f"[emissions.{t}]", f"q = [{', '.join(['1e-6'] * k)}]", "concentration = 10.0"]
    for s in range(m):
        lines += [f"[emissions.sym{s}]", f"q = [{', '.join(repr(float(x)) for x in emis[:, s])}]"]
        lines += ["concentration = 10.0"]
    return pf.Model.from_toml("\n".join(lines) + "\n"), start, trans, emis


def against_hmmlearn(steps: int, repeat: int, k: int = 4, m: int = 20) -> None:
    """A forecast through the API over `steps` daily signals against hmmlearn's `score` on the same symbols."""
    from hmmlearn import hmm

    rng = np.random.default_rng(14)
    model, start, trans, emis = hmm_model(rng, k, m)
    xs = rng.integers(0, m, size=steps)
    day0 = datetime.date(1900, 1, 1)  # dates run from 1900 to 2100: at most 73,000 daily steps
    case = pf.Case("hmm", "S", "T", day0, day0 + datetime.timedelta(days=steps + 10), model=model)
    dates = pd.date_range(day0, periods=steps, freq="D")
    case.observe_many(pd.DataFrame({"type": [f"sym{x}" for x in xs], "date": dates}))
    as_of = day0 + datetime.timedelta(days=steps - 1)
    ref = hmm.CategoricalHMM(n_components=k, n_features=m, init_params="", params="", implementation="scaling")
    ref.startprob_, ref.transmat_, ref.emissionprob_ = start, trans, emis
    obs = xs.reshape(-1, 1)
    f = case.forecast(as_of=as_of)
    assert f.signals_used == steps and abs(f.log_likelihood - ref.score(obs)) < 1e-6 * steps, "not the same HMM"
    t_ref = best(lambda: ref.score(obs), repeat, 1) / steps
    # A case forecast again (its signals resolved against the model once, on the second forecast, and kept).
    t_api = best(lambda: case.forecast(as_of=as_of), repeat, 1) / steps
    # The first forecast of a case (a fresh copy each time: every signal's type looked up, as before the cache).
    t_first = best(lambda: case.copy().forecast(as_of=as_of), repeat, 1) / steps
    print(f"filter step, {steps} daily signals, {k} regimes, {m} types (per step):")
    rows = [
        ("hmmlearn CategoricalHMM.score (scaling)", t_ref),
        ("case.forecast, repeated (types resolved)", t_api),
        ("case.forecast, first call (types looked up)", t_first),
    ]
    for label, t in rows:
        print(f"  {label:<44}{t * 1e9:7.1f} ns   hmmlearn / this x{t_ref / t:.2f}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--cases", type=int, default=2000)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--steps", type=int, default=70_000, help="daily signals (dates allow up to 73,000)")
    ap.add_argument("--only-hmm", action="store_true", help="only the comparison with hmmlearn")
    a = ap.parse_args()

    print(f"machine: {os.cpu_count()} cores; pressure_forecast {pf.__version__}")
    against_hmmlearn(a.steps, a.repeat)
    if a.only_hmm:
        return

    small = pf.Case("small", "USA", "PRK", "2017-01-20", "2021-01-20")
    small.observe("sanctions_tightened", "2017-08-05")
    small.observe("summit_held", "2018-06-12")
    small.observe("talks_refused", "2018-07-07")
    nk = pf.Case.load("data/cases/north_korea.json")

    t = best(lambda: small.forecast(as_of="2018-10-31"), a.repeat, 2000)
    print(f"forecast, small case (3 signals), per call:       {t * 1e6:8.1f} us")
    t = best(lambda: nk.forecast(as_of="2018-10-31"), a.repeat, 2000)
    print(f"forecast, north_korea.json (34 signals), per call: {t * 1e6:8.1f} us")
    t = best(lambda: small.forecast(as_of="2018-10-31", draws=1000), a.repeat, 5)
    print(f"forecast with 1000 draws, small case:              {t * 1e3:8.1f} ms")

    cases = [nk.copy() if i % 2 else small.copy() for i in range(a.cases)]
    loop = best(lambda: [c.forecast(as_of="2018-10-31") for c in cases], a.repeat, 1)
    batch = best(lambda: pf.forecast_many(cases, as_of="2018-10-31"), a.repeat, 1)
    print(
        f"{a.cases} cases, Python loop of single calls:       {loop * 1e3:8.1f} ms ({loop / a.cases * 1e6:.1f} us/case)"
    )
    print(
        f"{a.cases} cases, forecast_many (rayon, GIL off):    {batch * 1e3:8.1f} ms"
        f" ({batch / a.cases * 1e6:.1f} us/case)"
        f"  speed-up x{loop / batch:.2f}"
    )
    dcases = cases[:40]
    loop = best(lambda: [c.forecast(as_of="2018-10-31", draws=200) for c in dcases], 3, 1)
    batch = best(lambda: pf.forecast_many(dcases, as_of="2018-10-31", draws=200), 3, 1)
    print(f"40 cases x 200 draws, loop: {loop * 1e3:.1f} ms; forecast_many: {batch * 1e3:.1f} ms (x{loop / batch:.2f})")


if __name__ == "__main__":
    main()
