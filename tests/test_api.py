"""Each API of the Python package against the engine's own numbers (the CLI's JSON) and its documented
behaviour: models, cases, signals, forecasts, trajectories, explanations, what-if, value of information,
episodes, fit, backtest, batch forecasts, pandas frames and HTML."""

from __future__ import annotations

import datetime
import json
import subprocess
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pressure_forecast as pf
import pytest
from conftest import CASES, EPISODES, ROOT

AS_OF = "2018-10-31"


def run_cli(cli: Path, *args: str) -> dict[str, Any]:
    out = subprocess.run([str(cli), *args, "--json"], cwd=ROOT, check=True, capture_output=True, text=True)
    result: dict[str, Any] = json.loads(out.stdout)
    return result


# ------------------------------------------------------------------------------------------------------ model


def test_default_and_static_models() -> None:
    m = pf.Model.default()
    assert m.outcomes == ["deal", "stalemate", "wait_out"]
    assert m.regimes == ["engaged", "resisting", "waiting", "settled"]
    # The shipped model is v2: it knows every v1 type (with a role) and the types v2 adds.
    assert set(pf.SIGNAL_TYPES_V1) <= set(m.signal_types)
    assert {"sender_leader_reelected", "sender_leader_departing"} <= set(m.signal_types)
    assert pf.Model.v1().signal_types[:19] == pf.SIGNAL_TYPES_V1
    assert isinstance(m.prior, np.ndarray) and m.prior.sum() == pytest.approx(1.0, abs=1e-12)
    assert m.outcome_of["settled"] == "deal"
    s = pf.Model.static()
    assert s.regimes == s.outcomes
    for b in s.buckets:
        assert np.array_equal(b["matrix"], np.eye(3))


def test_model_toml_round_trip(tmp_path: Path) -> None:
    m = pf.Model.default()
    p = tmp_path / "m.toml"
    m.save(p)
    assert pf.Model.load(p) == m
    assert pf.Model.from_toml(m.to_toml()) == m
    assert pf.Model.load(ROOT / "models" / "maximum_pressure.toml") == m
    assert "maximum_pressure" in pf.Model.default_toml()
    assert m.to_dict()["name"] == m.name


def test_emission_and_transition() -> None:
    m = pf.Model.v1()
    q = m.emission("summit_held")
    assert q.shape == (4,) and np.all((q > 0) & (q <= 1))
    spec = m.to_dict()
    assert list(q) == spec["emissions"]["summit_held"]["q"]
    p = m.transition("2020-01-01", "2020-01-01", "2021-01-20")
    assert np.array_equal(p, np.eye(4))
    p = m.transition(datetime.date(2019, 1, 1), pd.Timestamp("2020-06-01"), "2021-01-20")
    assert p.shape == (4, 4)
    assert np.allclose(p.sum(axis=1), 1.0, atol=1e-12)
    assert "sanctions" in m.describe_signal_type("sanctions_tightened")
    bigger = m.scale_concentrations(10.0)
    assert bigger != m and bigger.outcomes == m.outcomes


# --------------------------------------------------------------------------------------------------- forecasts


def test_forecast_matches_cli(nk: pf.Case, cli: Path) -> None:
    ours = nk.forecast(as_of=AS_OF).to_json()
    theirs = run_cli(cli, "forecast", "--case", str(CASES / "north_korea.json"), "--as-of", AS_OF)
    assert ours == theirs


def test_forecast_with_draws_matches_cli(iran: pf.Case, cli: Path) -> None:
    ours = iran.forecast(as_of="2019-06-30", draws=200, seed=7, levels=[0.5, 0.9]).to_json()
    options = ["--as-of", "2019-06-30", "--draws", "200", "--seed", "7", "--level", "0.5", "--level", "0.9"]
    theirs = run_cli(cli, "forecast", "--case", str(CASES / "iran.json"), *options)
    assert ours == theirs


def test_trajectory_matches_cli(nk: pf.Case, cli: Path) -> None:
    ours = nk.trajectory(start="2018-01-01", end="2018-12-31", resolution="signal_dates").to_json()
    options = ["--from", "2018-01-01", "--to", "2018-12-31", "--signal-dates"]
    theirs = run_cli(cli, "trajectory", "--case", str(CASES / "north_korea.json"), *options)
    assert ours == theirs


def test_explain_value_and_what_if_match_cli(nk: pf.Case, cli: Path) -> None:
    args = ["--case", str(CASES / "north_korea.json"), "--as-of", AS_OF]
    e = nk.explain(as_of=AS_OF)
    theirs = run_cli(cli, "explain", *args, "--drop-one")
    assert e.to_json() == theirs
    v = nk.value_of_information(as_of=AS_OF)
    assert v.to_json() == run_cli(cli, "value", *args)
    w = nk.what_if([pf.Signal("summit_held", "2019-02-28")], as_of=AS_OF)
    assert w.to_json() == run_cli(cli, "what-if", *args, "--signal", "summit_held@2019-02-28")


def test_backtest_matches_cli(episodes: list[pf.Episode], cli: Path) -> None:
    # The v1 backtest (the v2 one, with its five baselines, is the command line's for v2 models).
    r = pf.backtest(pf.Model.v1(), episodes, progress=False)
    v1 = str(ROOT / "models" / "maximum_pressure_v1.toml")
    assert r.to_dict() == run_cli(cli, "backtest", "--model", v1, "--episodes", str(EPISODES))


def test_forecast_probabilities_and_accessors(nk: pf.Case) -> None:
    f = nk.forecast(as_of=AS_OF)
    assert sum(f.probabilities.values()) == pytest.approx(1.0, abs=1e-12)
    assert f["deal"] == f.probabilities["deal"]
    assert list(f) == f.outcomes and len(f) == 3
    assert f.as_of == datetime.date(2018, 10, 31)
    assert f.term_end == datetime.date(2021, 1, 20)
    assert f.signals_used == len([s for s in nk.signals if s.date <= datetime.date(2018, 10, 31)])
    assert f.most_likely == max(f.probabilities, key=lambda o: f.probabilities[o])
    assert f.intervals is None
    df = f.to_pandas()
    assert list(df.index) == f.outcomes and list(df.columns) == ["probability"]
    assert "<table" in f._repr_html_() and "Forecast(" in repr(f)


def test_forecast_intervals(nk: pf.Case) -> None:
    f = nk.forecast(as_of=AS_OF, draws=300, seed=3, levels=(0.5, 0.9))
    iv = f.intervals
    assert iv is not None and iv["draws"] == 300 and iv["seed"] == 3
    lo, hi = f.interval(0.9)["deal"]
    lo5, hi5 = f.interval(0.5)["deal"]
    assert lo <= lo5 <= hi5 <= hi
    df = f.to_pandas()
    # Interval bounds are named as ArviZ names equal-tailed intervals (they were `lower_0.9`, `upper_0.9`).
    assert {"mean", "sd", "eti_5%", "eti_95%", "eti_25%", "eti_75%"} <= set(df.columns)
    again = nk.forecast(as_of=AS_OF, draws=300, seed=3, levels=(0.5, 0.9))
    assert again == f  # seeded draws are reproducible


def test_date_forms_agree(nk: pf.Case) -> None:
    forms: list[datetime.date | str | np.datetime64] = [
        "2018-10-31",
        datetime.date(2018, 10, 31),
        datetime.datetime(2018, 10, 31, 15, 30),
        pd.Timestamp(AS_OF),
        np.datetime64(AS_OF),
        "2018-10-31T08:00:00",
    ]
    results = [nk.forecast(as_of=d).probabilities for d in forms]
    assert all(r == results[0] for r in results)


def test_no_look_ahead(nk: pf.Case) -> None:
    before = nk.forecast(as_of="2018-06-11")
    nk.observe("agreement_signed", "2018-06-20", id="hypothetical")
    assert nk.forecast(as_of="2018-06-11") == before
    assert nk.forecast(as_of="2018-06-20") != before


def test_trajectory(nk: pf.Case) -> None:
    t = nk.trajectory()
    n = (nk.term_end - nk.start).days + 1
    assert len(t) == n and t.probabilities.shape == (n, 3) and t.regime_probabilities.shape == (n, 4)
    assert t.dates[0] == nk.start and t.dates[-1] == nk.term_end
    assert np.allclose(t.probabilities.sum(axis=1), 1.0, atol=1e-12)
    # Each day equals a forecast as of that day.
    day = datetime.date(2018, 6, 12)
    i = t.dates.index(day)
    assert np.allclose(t.probabilities[i], list(nk.forecast(as_of=day).probabilities.values()), atol=1e-12)
    df = t.to_pandas(regimes=True)
    assert isinstance(df.index, pd.DatetimeIndex)
    assert {"deal", "stalemate", "wait_out", "regime:settled", "signals_used", "signal_types"} <= set(df.columns)
    # `signal_types` is a string (the day's types joined by ", "), no longer a list column.
    assert sum(len(x.split(", ")) for x in df["signal_types"] if x) == len(nk)
    assert "<table" in t._repr_html_()
    with pytest.raises(pf.ArgumentError):
        nk.trajectory(resolution="weekly")


# --------------------------------------------------------------------------------------------------- cases


def test_case_create_observe_idempotent() -> None:
    c = pf.Case("c1", "USA", "IRN", "2017-01-20", "2021-01-20", description="test")
    r = c.observe("sanctions_tightened", "2018-05-08", reliability=0.9, weight=2.0, source="Treasury", note="n", id="a")
    assert (r.added, r.unchanged) == (1, 0)
    r = c.observe("sanctions_tightened", "2018-05-08", reliability=0.9, weight=2.0, source="Treasury", note="n", id="a")
    assert (r.added, r.unchanged) == (0, 1)
    s = c.signals[0]
    assert (s.type, s.date, s.reliability, s.weight, s.source, s.note, s.id) == (
        "sanctions_tightened",
        datetime.date(2018, 5, 8),
        0.9,
        2.0,
        "Treasury",
        "n",
        "a",
    )
    assert c.remove("a") == s and len(c) == 0 and c.remove("a") is None
    assert c.description == "test"


def test_observe_many_from_dataframe_and_dicts() -> None:
    c = pf.Case("c2", "USA", "PRK", "2017-01-20", "2021-01-20")
    df = pd.DataFrame(
        {
            "type": ["summit_held", "talks_held"],
            "date": [pd.Timestamp("2018-06-12"), pd.Timestamp("2018-07-06")],
            "reliability": [1.0, 0.8],
            "source": ["AP", None],
            "id": ["s1", "t1"],
        }
    )
    assert c.observe_many(df).added == 2
    assert c.signals[1].source is None and c.signals[1].reliability == 0.8
    r = c.observe_many(
        [
            {"signal_type": "talks_refused", "date": datetime.date(2018, 8, 1)},
            pf.Signal("summit_held", "2018-06-12", source="AP", id="s1"),
        ]
    )
    assert (r.added, r.unchanged) == (1, 1)
    assert c.to_pandas()["type"].tolist() == ["summit_held", "talks_held", "talks_refused"]


def test_case_files(nk: pf.Case, tmp_path: Path) -> None:
    p = tmp_path / "case.json"
    nk.save(p)
    again = pf.Case.load(p)
    assert again == nk
    assert pf.Case.from_json(nk.to_json()) == nk
    assert pf.Case.from_json(json.dumps(nk.to_json())) == nk
    lines = tmp_path / "s.jsonl"
    lines.write_text("\n".join(json.dumps(s.to_json()) for s in nk.signals) + "\n")
    c = pf.Case.from_signals_file(lines, nk.id, nk.sender, nk.target, nk.start, nk.term_end)
    assert c.forecast(as_of=AS_OF) == nk.forecast(as_of=AS_OF)
    csv = tmp_path / "s.csv"
    nk.to_pandas().assign(date=lambda d: d["date"].dt.strftime("%Y-%m-%d")).to_csv(csv, index=False)
    c2 = pf.Case.from_signals_file(csv, nk.id, nk.sender, nk.target, nk.start, nk.term_end)
    assert c2.forecast(as_of=AS_OF).probabilities == pytest.approx(nk.forecast(as_of=AS_OF).probabilities, abs=1e-12)


def test_case_with_custom_model() -> None:
    text = (
        pf.Model.v1().to_toml() + "\n[emissions.cyber_attack]\nq = [0.01, 0.02, 0.03, 0.001]\nconcentration = 100.0\n"
    )
    m = pf.Model.from_toml(text)
    assert "cyber_attack" in m.signal_types
    c = pf.Case("c3", "USA", "PRK", "2017-01-20", "2021-01-20", model=m)
    c.observe("cyber_attack", "2018-01-01")
    assert c.model == m
    assert c.forecast(as_of="2018-02-01").signals_used == 1
    with pytest.raises(pf.UnknownSignalTypeError):
        pf.Case("c4", "USA", "PRK", "2017-01-20", "2021-01-20").observe("cyber_attack", "2018-01-01")


def test_repr_and_html(nk: pf.Case) -> None:
    assert repr(nk).startswith("Case(id=") and "signals=" in repr(nk)
    assert "<table" in nk._repr_html_()
    assert "<table" in pf.Model.default()._repr_html_()
    assert "Signal(" in repr(nk.signals[0])


# ---------------------------------------------------------------------------------- explanations and what-if


def test_explain_adds_up(nk: pf.Case) -> None:
    e = nk.explain(as_of=AS_OF)
    for o in e.outcomes:
        total = sum(c["delta"][e.outcomes.index(o)] for c in e.contributions)
        assert total == pytest.approx(e.total[o] - e.baseline[o], abs=1e-12)
    assert e.total == pytest.approx(nk.forecast(as_of=AS_OF).probabilities, abs=1e-12)
    assert len(e.drop_one) == len(e.contributions)
    df = e.to_pandas()
    assert len(df) == len(e.contributions) and "delta_deal" in df and "without_deal" in df
    assert "<table" in e._repr_html_()


def test_what_if_leaves_case_unchanged(nk: pf.Case) -> None:
    before = nk.to_json()
    w = nk.what_if(pd.DataFrame({"type": ["agreement_signed"], "date": ["2019-02-28"]}), as_of=AS_OF)
    assert nk.to_json() == before
    assert w.scenario["deal"] > w.baseline["deal"]
    assert w.delta["deal"] == pytest.approx(w.scenario["deal"] - w.baseline["deal"], abs=1e-15)
    t = nk.what_if(term_end="2025-01-20", as_of=AS_OF)
    assert t.scenario.term_end == datetime.date(2025, 1, 20)
    assert list(w.to_pandas().columns) == ["baseline", "scenario", "delta"]


def test_value_of_information_ranked(nk: pf.Case) -> None:
    v = nk.value_of_information(as_of=AS_OF)
    scores = [x["score"] for x in v.values]
    assert scores == sorted(scores, reverse=True)
    # The shipped v2 model ranks the evidence types: actions and context are inputs, deal and fate signals are
    # observed outcomes, none of them evidence about the target's posture.
    ranked = {x["signal_type"] for x in v.values}
    assert len(ranked) == len(v) and ranked <= set(pf.Model.default().signal_types)
    assert {"talks_held", "summit_held", "provocation_by_target"} <= ranked
    assert not {"sanctions_tightened", "agreement_signed", "sender_leader_reelected"} & ranked
    assert sum(x["share"] for x in v.values) == pytest.approx(1.0, abs=1e-12)
    assert v.to_pandas().index[0] == v.values[0]["signal_type"]


# ----------------------------------------------------------------------------------- episodes, fit, backtest


def test_episodes(episodes: list[pf.Episode]) -> None:
    assert len(episodes) >= 2
    e = episodes[0]
    assert e.outcome in pf.OUTCOMES_V1 and len(e.signals) == len(e)
    case = e.case()
    assert case.id == e.id and len(case) == len(e)
    assert pf.Episode.from_json(e.to_json()) == e
    again = pf.Episode(
        case,
        e.outcome,
        outcome_justification=e.outcome_justification,
        exclude_from_training=e.exclude_from_training,
    )
    assert again == e
    with pytest.raises(pf.UnknownOutcomeError):
        pf.Episode(case, "victory")


def test_load_episodes_lenient_leaves_out_signals_outside_the_span(tmp_path: Path) -> None:
    path = tmp_path / "eps.json"
    path.write_text(
        '[{"id": "e1", "sender": "USA", "target": "IRN", "start": "2018-05-08", "term_end": "2021-01-20",'
        ' "outcome": "wait_out", "signals": [{"id": "a", "type": "talks_refused", "date": "2018-07-30"},'
        ' {"id": "late", "type": "talks_held", "date": "2021-06-01"}]}]'
    )
    with pytest.raises(pf.SignalError) as e:
        pf.load_episodes(path)
    assert (e.value.field or "").endswith("date")
    with pytest.warns(UserWarning, match="signal late .* outside the episode's span"):
        eps = pf.load_episodes(path, lenient=True)
    assert [s.id for s in eps[0].signals] == ["a"]


def test_fit(episodes: list[pf.Episode]) -> None:
    r = pf.fit(pf.Model.v1(), episodes, max_iterations=3, progress=False)
    assert r.iterations <= 3 and len(r.log_likelihood) >= 1
    assert r.model is not None and r.model.provenance is not None
    assert r.model.outcomes == pf.Model.v1().outcomes
    assert list(r.to_pandas().columns) == ["log_likelihood", "objective"]


def test_backtest(episodes: list[pf.Episode]) -> None:
    r = pf.backtest(pf.Model.v1(), episodes, progress=False)
    # Episodes marked exclude_from_training (the two example campaigns) are not scored.
    assert r.episodes == len([e for e in episodes if not e.exclude_from_training])
    df = r.to_pandas()
    assert list(df.index) == ["model", "uniform", "base_rate", "prior"]
    assert df.loc["uniform", "brier"] == pytest.approx(2 / 3, abs=1e-12)
    assert set(r.calibration) == set(r.outcomes)
    assert pf.BacktestReport.from_dict(r.to_dict()) == r
    assert "<table" in r._repr_html_()


# ------------------------------------------------------------------------------------------------------ batch


def test_forecast_many_equals_single_calls(nk: pf.Case, iran: pf.Case) -> None:
    cases = [nk, iran] * 5
    many = pf.forecast_many(cases, as_of=AS_OF)
    assert many == [c.forecast(as_of=AS_OF) for c in cases]
    dates = ["2018-01-01", "2019-01-01"] * 5
    many = pf.forecast_many(cases, as_of=dates)
    assert many == [c.forecast(as_of=d) for c, d in zip(cases, dates, strict=True)]
    drawn = pf.forecast_many(cases[:2], as_of=AS_OF, draws=50, seed=1)
    assert drawn == [c.forecast(as_of=AS_OF, draws=50, seed=1) for c in cases[:2]]
    static = pf.forecast_many(cases[:2], as_of=AS_OF, model=pf.Model.static())
    assert static[0] == nk.forecast(as_of=AS_OF, model=pf.Model.static())
    with pytest.raises(pf.ArgumentError):
        pf.forecast_many(cases, as_of=dates[:3])
    with pytest.raises(pf.ArgumentError):
        pf.forecast_many([nk, "not a case"])


def test_static_model_is_bayes_rule() -> None:
    m = pf.Model.static()
    c = pf.Case("b", "USA", "IRN", "2017-01-20", "2021-01-20", model=m)
    c.observe("sanctions_tightened", "2018-01-01")
    c.observe("talks_refused", "2018-02-01")
    prior = m.prior
    like = m.emission("sanctions_tightened") * m.emission("talks_refused")
    expect = prior * like / (prior * like).sum()
    f = c.forecast(as_of="2018-03-01")
    assert np.allclose([f[o] for o in m.outcomes], expect, atol=1e-12)


def test_default_as_of_is_today_in_utc(nk: pf.Case) -> None:
    """ "Today" is the UTC date on every face (pf_core::dates::today), whatever the machine's time zone."""
    before = datetime.datetime.now(datetime.UTC).date()
    f = nk.forecast()
    after = datetime.datetime.now(datetime.UTC).date()
    assert f.as_of in (before, after)
