"""The filter, through Python, against independent references: hmmlearn's CategoricalHMM (forward pass) on random
models, and numpy's matrix_power for n-day transitions. Tolerance 1e-9 (MODEL.md, "Numbers that must hold")."""

from __future__ import annotations

import datetime

import numpy as np
import pressure_forecast as pf
import pytest
from hmmlearn import hmm
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

START = datetime.date(2000, 1, 1)
TINY = 1e-6  # q of the v1 types, which must be present in every model but are never observed here


def _rows(a: np.ndarray) -> str:
    return "[" + ", ".join("[" + ", ".join(repr(float(x)) for x in r) + "]" for r in a) + "]"


def hmm_model_toml(startprob: np.ndarray, transmat: np.ndarray, emissionprob: np.ndarray) -> str:
    """A model whose regimes are the HMM's states (one bucket) and whose custom types sym0..symM are its symbols."""
    k, m = emissionprob.shape
    lines = [
        "format_version = 1",
        'name = "hmm"',
        'outcomes = ["a", "b"]',
    ]
    for j in range(k):
        lines += ["[[regimes]]", f'name = "s{j}"', f'outcome = "{"ab"[j % 2]}"']
    lines += ["[prior]", f"probabilities = [{', '.join(repr(float(x)) for x in startprob)}]", "concentration = 10.0"]
    lines += [
        "[[transitions]]",
        'name = "all"',
        "min_days_left = 0",
        f"matrix = {_rows(transmat)}",
        "concentration = 10.0",
    ]
    for t in pf.SIGNAL_TYPES_V1:
        lines += [f"[emissions.{t}]", f"q = [{', '.join([repr(TINY)] * k)}]", "concentration = 10.0"]
    for s in range(m):
        lines += [
            f"[emissions.sym{s}]",
            f"q = [{', '.join(repr(float(x)) for x in emissionprob[:, s])}]",
            "concentration = 10.0",
        ]
    return "\n".join(lines) + "\n"


def _normalise_rows(a: np.ndarray) -> np.ndarray:
    a = a / a.sum(axis=1, keepdims=True)
    # Make the sums exact enough for the model's 1e-9 check whatever the rounding.
    a[:, -1] = 1.0 - a[:, :-1].sum(axis=1)
    return a


def random_hmm(rng: np.random.Generator, k: int, m: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    start = rng.dirichlet(np.ones(k))
    start[-1] = 1.0 - start[:-1].sum()
    trans = _normalise_rows(rng.dirichlet(np.ones(k), size=k) + 1e-3)
    emis = _normalise_rows(rng.dirichlet(np.ones(m), size=k) + 1e-3)
    return start, trans, emis


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**32 - 1), k=st.integers(2, 5), m=st.integers(2, 6), n=st.integers(1, 60))
def test_filter_matches_hmmlearn(seed: int, k: int, m: int, n: int) -> None:
    rng = np.random.default_rng(seed)
    start, trans, emis = random_hmm(rng, k, m)
    model = pf.Model.from_toml(hmm_model_toml(start, trans, emis))
    ref = hmm.CategoricalHMM(n_components=k, n_features=m, init_params="", params="")
    ref.startprob_, ref.transmat_, ref.emissionprob_ = start, trans, emis
    xs = rng.integers(0, m, size=n)
    case = pf.Case("hmm", "S", "T", START, START + datetime.timedelta(days=n + 10), model=model)
    case.observe_many([{"type": f"sym{x}", "date": START + datetime.timedelta(days=t)} for t, x in enumerate(xs)])
    for t in sorted({0, n // 2, n - 1}):
        prefix = xs[: t + 1].reshape(-1, 1)
        f = case.forecast(as_of=START + datetime.timedelta(days=t))
        assert f.signals_used == t + 1
        assert f.log_likelihood == pytest.approx(ref.score(prefix), abs=1e-9)
        filtered = ref.predict_proba(prefix)[-1]
        ours = np.array([f.regime_probabilities[f"s{j}"] for j in range(k)])
        np.testing.assert_allclose(ours, filtered, atol=1e-9, rtol=0)


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), k=st.integers(1, 6), days=st.integers(0, 3000))
def test_transition_matches_matrix_power(seed: int, k: int, days: int) -> None:
    rng = np.random.default_rng(seed)
    start, trans, emis = random_hmm(rng, max(k, 2), 2)
    model = pf.Model.from_toml(hmm_model_toml(start, trans, emis))
    end = START + datetime.timedelta(days=days)
    ours = model.transition(START, end, end + datetime.timedelta(days=1))
    np.testing.assert_allclose(ours, np.linalg.matrix_power(trans, days), atol=1e-9, rtol=0)


def test_default_model_transition_is_ordered_product_of_buckets() -> None:
    m = pf.Model.v1()
    term_end = datetime.date(2021, 1, 20)
    start = datetime.date(2017, 1, 20)
    expect = np.eye(len(m.regimes))
    d = start
    buckets = m.buckets
    while d < term_end:
        left = (term_end - d).days
        b = next(
            b
            for b in buckets
            if b["min_days_left"] <= left and (b["max_days_left"] is None or left <= b["max_days_left"])
        )
        expect = expect @ b["matrix"]
        d += datetime.timedelta(days=1)
    np.testing.assert_allclose(m.transition(start, term_end, term_end), expect, atol=1e-9, rtol=0)
