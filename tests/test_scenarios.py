"""Scenarios, policy comparison, signal roles, eligibility and v2 model equality from Python.

Each number is checked against something computed another way: the command line's what-if, the same future
written out as explicit signals, the case with its terms changed, or an exact property of the model (a deal
signal of reliability 1, a revealed fate, an ineligible leader).
"""

from __future__ import annotations

import calendar
import datetime
import json
import pickle
import subprocess
from pathlib import Path

import pressure_forecast as pf
import pytest

AS_OF = "2018-10-31"
OUTCOMES = ["deal", "stalemate", "wait_out"]


def probs(f: pf.Forecast) -> list[float]:
    return [f.probabilities[o] for o in OUTCOMES]


def add_months(d: datetime.date, n: int) -> datetime.date:
    """``d`` plus ``n`` months, the day clamped to the month's last (chrono's ``checked_add_months``)."""
    y, m = divmod(d.month - 1 + n, 12)
    year, month = d.year + y, m + 1
    return datetime.date(year, month, min(d.day, calendar.monthrange(year, month)[1]))


def campaign(**kwargs: object) -> pf.Case:
    """A synthetic campaign under the shipped model (essay check a: monthly sanctions from the start)."""
    return pf.Case("synthetic", "USA", "PRK", "2017-01-20", "2021-01-20", **kwargs)  # type: ignore[arg-type]


def test_compare_difference_is_b_minus_a(nk: pf.Case) -> None:
    a = pf.Scenario("no pressure")
    b = pf.Scenario("sanctions monthly", monthly=["sanctions_tightened"])
    c = nk.compare(a, b, as_of=AS_OF)
    for o in OUTCOMES:
        assert c.difference[o] == c.b.probabilities[o] - c.a.probabilities[o]
    # a is the default future: the case's own forecast.
    assert probs(c.a) == probs(nk.forecast(as_of=AS_OF))
    # The same numbers as two what-ifs.
    assert probs(nk.what_if(b, as_of=AS_OF).scenario) == probs(c.b)
    df = c.to_pandas()
    assert list(df.columns) == ["no pressure", "sanctions monthly", "difference"]
    assert df.index.tolist() == OUTCOMES
    assert df["difference"].tolist() == [c.difference[o] for o in OUTCOMES]
    assert c._repr_html_().startswith("<p><strong>PolicyComparison(")
    assert "sanctions monthly" in repr(c)
    assert pickle.loads(pickle.dumps(c)) == c
    assert c.scenario_b == b


def test_monthly_sanctions_raise_the_chance_of_a_deal() -> None:
    # Essay check a: six months of monthly sanctions raise P(deal) at month 7 above no pressure.
    case = campaign()
    as_of = "2017-08-20"
    pressure = pf.Scenario(signals=[pf.Signal("sanctions_tightened", f"2017-0{m}-20") for m in range(2, 8)])
    c = case.compare(pf.Scenario(), pressure, as_of=as_of)
    assert c.difference["deal"] > 0
    # And sanctions monthly from now on, in the North Korea case.
    w = case.what_if(pf.Scenario(monthly=["sanctions_tightened"]), as_of=as_of)
    assert w.scenario.probabilities["deal"] > w.baseline.probabilities["deal"]


def test_monthly_equals_the_same_signals_written_out(nk: pf.Case) -> None:
    as_of = datetime.date(2018, 10, 31)
    last = nk.term_end - datetime.timedelta(days=1)
    dates = []
    n = 1
    while (d := add_months(as_of, n)) <= last:
        dates.append(d)
        n += 1
    explicit = pf.Scenario(signals=[pf.Signal("sanctions_tightened", d) for d in dates])
    monthly = pf.Scenario(monthly=["sanctions_tightened"])
    assert probs(nk.what_if(monthly, as_of=as_of).scenario) == pytest.approx(
        probs(nk.what_if(explicit, as_of=as_of).scenario), abs=1e-12
    )


def test_policy_continues_repeats_the_last_90_days_of_actions(nk: pf.Case) -> None:
    as_of = datetime.date(2018, 10, 31)
    roles = nk.model.signal_roles
    recent = [
        s for s in nk.signals if as_of - datetime.timedelta(days=90) < s.date <= as_of and roles[s.type] == "action"
    ]
    last = nk.term_end - datetime.timedelta(days=1)
    repeated = []
    for s in recent:
        k = 1
        while (d := s.date + datetime.timedelta(days=90 * k)) <= last:
            repeated.append(pf.Signal(s.type, d, reliability=s.reliability, weight=s.weight))
            k += 1
    continues = nk.what_if(pf.Scenario(policy_continues=True), as_of=as_of).scenario
    written = nk.what_if(pf.Scenario(signals=repeated), as_of=as_of).scenario
    assert probs(continues) == pytest.approx(probs(written), abs=1e-12)
    if repeated:
        assert probs(continues) != probs(nk.forecast(as_of=as_of))


def test_a_deal_signal_of_reliability_1_gives_a_deal(nk: pf.Case) -> None:
    deal = pf.Scenario(signals=[pf.Signal("agreement_signed", "2018-10-01", reliability=1.0)])
    f = nk.what_if(deal, as_of=AS_OF).scenario
    assert f.probabilities["deal"] == 1.0
    assert f.probabilities["stalemate"] == 0.0 and f.probabilities["wait_out"] == 0.0


def test_fate_and_eligibility_are_exact(nk: pf.Case) -> None:
    leaves = nk.what_if(pf.Scenario(fate="leaves"), as_of=AS_OF).scenario
    assert leaves.probabilities["stalemate"] == 0.0
    stays = nk.what_if(pf.Scenario(fate="stays"), as_of=AS_OF).scenario
    assert stays.probabilities["wait_out"] == 0.0
    ineligible = nk.what_if(pf.Scenario(reelection_eligible=False), as_of=AS_OF).scenario
    assert ineligible.probabilities["stalemate"] == 0.0
    # The same as a case built ineligible.
    case = campaign(reelection_eligible=False)
    assert not case.reelection_eligible
    assert case.forecast(as_of=AS_OF).probabilities["stalemate"] == 0.0
    assert probs(campaign().what_if(pf.Scenario(reelection_eligible=False), as_of=AS_OF).scenario) == probs(
        case.forecast(as_of=AS_OF)
    )


def test_term_end_scenario_equals_the_case_with_that_term_end(nk: pf.Case) -> None:
    new_end = "2022-01-20"
    sc = nk.what_if(pf.Scenario(term_end=new_end), as_of=AS_OF).scenario
    moved = nk.with_term_end(new_end)
    assert moved.election_date == datetime.date(2021, 11, 3)
    assert probs(sc) == pytest.approx(probs(moved.forecast(as_of=AS_OF)), abs=1e-15)
    # The old keyword form still answers the same question.
    assert probs(nk.what_if(term_end=new_end, as_of=AS_OF).scenario) == probs(sc)


def test_scenario_equals_the_command_line(nk: pf.Case, cli: Path, tmp_path: Path) -> None:
    path = tmp_path / "nk.json"
    nk.save(path)
    out = subprocess.run(
        [str(cli), "what-if", "--case", str(path), "--as-of", AS_OF, "--signal", "talks_held@2018-10-15", "--json"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    expected = json.loads(out)
    w = nk.what_if(pf.Scenario(signals=[pf.Signal("talks_held", "2018-10-15")]), as_of=AS_OF)
    assert probs(w.scenario) == pytest.approx(expected["scenario"]["probabilities"], abs=1e-12)
    assert probs(w.baseline) == pytest.approx(expected["baseline"]["probabilities"], abs=1e-12)


def test_scenario_class() -> None:
    s = pf.Scenario(
        "relief",
        signals=[pf.Signal("sanctions_relief", "2019-03-01")],
        monthly=["sanctions_tightened"],
        policy_continues=True,
        fate="leaves",
        term_end="2025-01-20",
        reelection_eligible=False,
    )
    assert s.name == "relief" and s.fate == "leaves" and s.term_end == datetime.date(2025, 1, 20)
    assert s.monthly == ["sanctions_tightened"] and s.policy_continues and s.reelection_eligible is False
    assert [x.type for x in s.signals] == ["sanctions_relief"]
    assert pickle.loads(pickle.dumps(s)) == s
    assert pf.Scenario.from_json(s.to_json()) == s
    assert repr(s).startswith("Scenario('relief'") or repr(s).startswith('Scenario("relief"')
    with pytest.raises(AttributeError):
        s.name = "other"  # type: ignore[misc]
    with pytest.raises(pf.ArgumentError):
        pf.Scenario(fate="gone")  # type: ignore[arg-type]


def test_scenario_errors(nk: pf.Case) -> None:
    with pytest.raises(pf.ArgumentError, match="v2 model"):
        nk.compare(pf.Scenario(), pf.Scenario(), as_of=AS_OF, model=pf.Model.v1())
    with pytest.raises(pf.ArgumentError, match="monthly"):
        nk.what_if(pf.Scenario(monthly=["summit_held"]), as_of=AS_OF)
    with pytest.raises(pf.ArgumentError):
        nk.what_if(pf.Scenario(), term_end="2022-01-20", as_of=AS_OF)


def test_signal_roles_and_terms() -> None:
    m = pf.Model.default()
    roles = m.signal_roles
    assert roles["sanctions_tightened"] == "action"
    assert roles["third_party_circumvention"] == "context"
    assert roles["agreement_signed"] == "deal"
    assert roles["sender_leader_departing"] == "fate"
    assert roles["summit_held"] == "evidence"
    assert set(pf.Model.v1().signal_roles.values()) == {"evidence"}
    table = m.signal_table()
    assert table.loc["agreement_signed", "role"] == "deal"
    assert table.loc["summit_held", [f"q[{r}]" for r in m.regimes]].notna().all()
    assert m.format_version == 2 and pf.Model.v1().format_version == 1
    case = pf.Case("x", "USA", "PRK", "2017-01-20", "2021-01-20", election_date="2020-11-03")
    assert case.reelection_eligible and case.election_date == datetime.date(2020, 11, 3)
    with pytest.raises(pf.ArgumentError, match="election_date"):
        pf.Case("x", "USA", "PRK", "2017-01-20", "2021-01-20", election_date="2021-02-01")


def test_v2_model_equality_uses_the_v2_model() -> None:
    m = pf.Model.default()
    text = m.to_toml()
    same = pf.Model.from_toml(text)
    assert same == m and hash(same) == hash(m)
    # A change only the v2 model sees (a hazard's rate; the v1 view of regimes and types is unchanged).
    marker = "rate_sd_log = 0.5"
    assert marker in text
    other = pf.Model.from_toml(text.replace(marker, "rate_sd_log = 0.6", 1))
    assert other != m
    assert other.model_id["hash"] != m.model_id["hash"]
    assert hash(other) != hash(m)
    assert pf.Model.v1() != m
    assert pickle.loads(pickle.dumps(other)) == other
