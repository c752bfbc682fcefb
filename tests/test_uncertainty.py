"""Forecast.draws, summary() in ArviZ's conventions, to_arviz(), the tidy (long) frames, date indexes, and many
cases in one frame (`pf.compare`, `forecast_many(...).to_pandas()`)."""

from __future__ import annotations

import json
import pickle
import subprocess
import sys
import warnings
from typing import Any

import numpy as np
import pandas as pd
import pressure_forecast as pf
import pytest
from conftest import ROOT
from pressure_forecast._uncertainty import bound_names, hdi_interval

AS_OF = "2018-10-31"


@pytest.fixture(scope="module")
def nk() -> pf.Case:
    return pf.datasets.north_korea()


@pytest.fixture(scope="module")
def drawn(nk: pf.Case) -> pf.Forecast:
    return nk.forecast(as_of=AS_OF, draws=500, seed=11, levels=(0.5, 0.9))


# ----------------------------------------------------------------------------------------------------- draws


def test_draws_are_the_forecasts_behind_the_intervals(drawn: pf.Forecast) -> None:
    d = drawn.draws
    assert d is not None and d.shape == (500, 3)
    assert np.allclose(d.sum(axis=1), 1.0, atol=1e-9)
    iv = drawn.intervals
    assert iv is not None
    assert np.allclose(d.mean(axis=0), iv["mean"], atol=1e-12)
    assert np.allclose(d.std(axis=0, ddof=1), iv["sd"], atol=1e-12)
    for i in iv["intervals"]:
        q = np.quantile(d, [(1 - i["level"]) / 2, (1 + i["level"]) / 2], axis=0)
        assert np.allclose(q[0], i["lower"], atol=1e-12) and np.allclose(q[1], i["upper"], atol=1e-12)


def test_draws_are_reproducible_and_absent_without_draws(nk: pf.Case, drawn: pf.Forecast) -> None:
    again = nk.forecast(as_of=AS_OF, draws=500, seed=11, levels=(0.5, 0.9))
    assert again == drawn and again.draws is not None and drawn.draws is not None
    assert np.array_equal(again.draws, drawn.draws)
    assert nk.forecast(as_of=AS_OF).draws is None
    many = pf.forecast_many([nk, nk], as_of=AS_OF, draws=500, seed=11, levels=(0.5, 0.9))
    assert all(f.draws is not None and np.array_equal(f.draws, drawn.draws) for f in many)


def test_draws_survive_pickle_and_json_equality_ignores_them(drawn: pf.Forecast) -> None:
    back = pickle.loads(pickle.dumps(drawn))
    assert back == drawn and back.draws is not None and drawn.draws is not None
    assert np.array_equal(back.draws, drawn.draws)
    from_json = pf.Forecast.from_json(json.dumps(drawn.to_json()))
    assert from_json == drawn and from_json.draws is None


# ---------------------------------------------------------------------------------------------------- summary


def test_summary_names_and_values_match_arviz(drawn: pf.Forecast) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        import arviz as az

    s = drawn.summary(levels=0.9)
    assert list(s.columns) == ["mean", "sd", "hdi_5%", "hdi_95%", "eti_5%", "eti_95%"]
    assert s.index.tolist() == drawn.outcomes
    idata = drawn.to_arviz()
    ref: Any = az.summary(idata, kind="stats", hdi_prob=0.9, round_to="none")
    ref_eti: Any = az.summary(idata, kind="stats", hdi_prob=0.9, stat_focus="median", round_to="none")
    for o in drawn.outcomes:
        row = f"probability[{o}]"
        for col in ("mean", "sd", "hdi_5%", "hdi_95%"):
            assert s.loc[o, col] == pytest.approx(ref.loc[row, col], abs=1e-12), col
        for col in ("eti_5%", "eti_95%"):
            assert s.loc[o, col] == pytest.approx(ref_eti.loc[row, col], abs=1e-12), col
    assert drawn.draws is not None
    reference = az.hdi(drawn.draws[:, 0], hdi_prob=0.9)  # type: ignore[no-untyped-call]
    assert hdi_interval(drawn.draws[:, 0], 0.9) == pytest.approx(tuple(reference))


def test_summary_levels(drawn: pf.Forecast, nk: pf.Case) -> None:
    s = drawn.summary()
    assert list(s.columns) == [
        "mean",
        "sd",
        "hdi_25%",
        "hdi_75%",
        "eti_25%",
        "eti_75%",
        "hdi_5%",
        "hdi_95%",
        "eti_5%",
        "eti_95%",
    ]
    assert (s["hdi_5%"] <= s["hdi_25%"]).all() and (s["eti_75%"] <= s["eti_95%"]).all()
    # A level that was not drawn comes from the raw draws.
    assert list(drawn.summary(levels=0.8, hdi=False).columns) == ["mean", "sd", "eti_10%", "eti_90%"]
    assert bound_names("hdi", 0.94) == ("hdi_3%", "hdi_97%")
    # Without the raw draws (read back from JSON): the drawn levels only, no HDI.
    bare = pf.Forecast.from_json(drawn.to_json())
    assert list(bare.summary().columns) == ["mean", "sd", "eti_25%", "eti_75%", "eti_5%", "eti_95%"]
    with pytest.raises(pf.ArgumentError):
        bare.summary(levels=0.8)
    with pytest.raises(pf.ArgumentError):
        nk.forecast(as_of=AS_OF).summary()


def test_to_arviz(drawn: pf.Forecast) -> None:
    idata = drawn.to_arviz()
    post = idata.posterior["probability"]
    assert post.dims == ("chain", "draw", "outcome") and post.shape == (1, 500, 3)
    assert list(post.coords["outcome"].values) == drawn.outcomes
    assert idata.posterior.attrs["case"] == "usa-prk-2017"


def test_to_arviz_without_arviz_names_the_extra() -> None:
    code = (
        "import sys; sys.modules['arviz'] = None\n"
        "import pressure_forecast as pf\n"
        "f = pf.datasets.north_korea().forecast(as_of='2018-10-31', draws=20)\n"
        "try:\n    f.to_arviz()\nexcept ImportError as e:\n    print(e)\n"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert 'pip install "pressure_forecast[arviz]"' in r.stdout, r.stdout + r.stderr


def test_arviz_extra_is_pinned() -> None:
    import tomllib

    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    (spec,) = extras["arviz"]
    assert spec.startswith("arviz~=") or "==" in spec


# ------------------------------------------------------------------------------------------------ tidy frames


def test_forecast_frame_names_intervals_as_arviz(drawn: pf.Forecast) -> None:
    df = drawn.to_pandas()
    assert list(df.columns) == ["probability", "mean", "sd", "eti_25%", "eti_75%", "eti_5%", "eti_95%"]
    assert not any(c.startswith(("lower_", "upper_")) for c in df.columns)
    long = drawn.to_pandas(long=True)
    assert list(long.columns) == ["case", "as_of", "outcome", "statistic", "value"]
    assert len(long) == 3 * 7 and set(long["as_of"]) == {pd.Timestamp(AS_OF)}
    wide = long.pivot(index="outcome", columns="statistic", values="value")
    assert wide["eti_5%"].to_numpy() == pytest.approx(df.loc[wide.index, "eti_5%"].to_numpy(), abs=0)


def test_trajectory_frames(nk: pf.Case) -> None:
    t = nk.trajectory(end=AS_OF)
    df = t.to_pandas()
    assert isinstance(df.index, pd.DatetimeIndex)
    types = [str(x) for x in df["signal_types"]]
    assert all(isinstance(x, str) for x in df["signal_types"])
    assert "summit_held" in types[list(df.index).index(pd.Timestamp("2018-06-12"))].split(", ")
    long = t.to_pandas(long=True)
    assert list(long.columns) == ["date", "outcome", "probability"] and len(long) == 3 * len(t)
    back = long.pivot(index="date", columns="outcome", values="probability")
    assert np.allclose(back[t.outcomes].to_numpy(), t.probabilities)
    with_regimes = t.to_pandas(regimes=True, long=True)
    assert len(with_regimes) == (3 + len(t.regimes)) * len(t)


def test_explanation_frames(nk: pf.Case) -> None:
    e = nk.explain(as_of=AS_OF)
    df = e.to_pandas()
    assert isinstance(df.index, pd.DatetimeIndex) and df.index.name == "date"
    assert len(df) == len(e.contributions) and "delta_deal" in df and "drop_one_deal" in df
    assert df["drop_one_deal"].to_numpy() == pytest.approx(e.total["deal"] - df["without_deal"].to_numpy())
    assert df["delta_deal"].sum() == pytest.approx(e.total["deal"] - e.baseline["deal"], abs=1e-12)
    assert not df.map(lambda v: isinstance(v, list)).any().any()
    long = e.to_pandas(long=True)
    assert len(long) == 3 * len(df)
    assert {"date", "type", "outcome", "delta", "drop_one", "without"} <= set(long.columns)
    assert "Sequential attribution" in e._repr_html_() and "Drop-one" in e._repr_html_()


def test_other_long_frames(nk: pf.Case) -> None:
    v = nk.value_of_information(as_of=AS_OF)
    assert len(v.to_pandas(long=True)) == 3 * len(v)
    w = nk.what_if([pf.Signal("talks_held", "2018-11-30")], as_of="2018-12-31")
    lw = w.to_pandas(long=True)
    assert list(lw.columns) == ["as_of", "outcome", "forecast", "probability"] and len(lw) == 6
    r = pf.backtest(pf.Model.default(), pf.datasets.curated_episodes()[:4], progress=False)
    lr = r.to_pandas(long=True)
    assert list(lr.columns) == ["forecaster", "score", "value"] and len(lr) == 3 * len(r.to_pandas())


def test_many_cases_in_one_frame(nk: pf.Case) -> None:
    cases = [nk, pf.datasets.iran()]
    fs = pf.forecast_many(cases, as_of=AS_OF, draws=100)
    assert isinstance(fs, list) and isinstance(fs, pf.Forecasts) and len(fs) == 2
    df = fs.to_pandas()
    assert df.index.names == ["case", "outcome"] and len(df) == 6
    assert df.loc[("usa-irn-2018", "wait_out"), "probability"] == fs[1]["wait_out"]
    assert "eti_5%" in df
    c = pf.compare(cases, as_of=AS_OF)
    assert list(c.columns) == ["sender", "target", "as_of", "term_end", "probability"]
    assert c.loc[("usa-prk-2017", "deal"), "probability"] == nk.forecast(as_of=AS_OF)["deal"]
    long = pf.compare(cases, as_of=AS_OF, long=True)
    assert list(long.columns) == ["case", "sender", "target", "as_of", "outcome", "statistic", "value"]
    assert len(long) == 6
