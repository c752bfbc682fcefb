"""Every class pickles and unpickles (so it crosses to worker processes), and to_json/from_json round-trip."""

from __future__ import annotations

import datetime
import json
import multiprocessing
import pickle
from concurrent.futures import ProcessPoolExecutor
from typing import Any

import pressure_forecast as pf
import pytest

AS_OF = "2018-10-31"


def _forecast_in_worker(case: pf.Case) -> pf.Forecast:
    return case.forecast(as_of=AS_OF)


@pytest.fixture
def objects(nk: pf.Case, episodes: list[pf.Episode]) -> dict[str, Any]:
    name = f'name = "{pf.Model.default().name}"'
    custom = pf.Model.from_toml(pf.Model.default_toml().replace(name, 'name = "custom"', 1))
    return {
        "model": pf.Model.default(),
        "static": pf.Model.static(),
        "signal": nk.signals[0],
        "case": nk,
        "case_custom_model": pf.Case("x", "USA", "PRK", "2017-01-20", "2021-01-20", model=custom),
        "forecast": nk.forecast(as_of=AS_OF, draws=50),
        "trajectory": nk.trajectory(start="2018-01-01", end="2018-03-01"),
        "explanation": nk.explain(as_of=AS_OF),
        "what_if": nk.what_if([pf.Signal("summit_held", "2019-02-28")], as_of=AS_OF),
        "value": nk.value_of_information(as_of=AS_OF),
        "episode": episodes[0],
        "fit": pf.fit(pf.Model.v1(), episodes[:3], max_iterations=2, progress=False),
        "backtest": pf.backtest(pf.Model.v1(), episodes[:3], progress=False),
        "scenario": pf.Scenario("sanctions", monthly=["sanctions_tightened"], fate="leaves"),
        "comparison": nk.compare(pf.Scenario(), pf.Scenario(monthly=["sanctions_tightened"]), as_of=AS_OF),
        "fit_v2": pf.fit(pf.Model.default(), episodes[:3], max_iterations=1, score=False, progress=False),
        "backtest_v2": pf.backtest(pf.Model.default(), episodes[:3], progress=False),
    }


def test_pickle_round_trips(objects: dict[str, Any]) -> None:
    for name, obj in objects.items():
        for protocol in (2, pickle.HIGHEST_PROTOCOL):
            again = pickle.loads(pickle.dumps(obj, protocol=protocol))
            assert type(again) is type(obj), name
            assert again == obj, name


def test_case_keeps_its_model(objects: dict[str, Any]) -> None:
    again = pickle.loads(pickle.dumps(objects["case_custom_model"]))
    assert again.model.name == "custom"


def test_json_round_trips(objects: dict[str, Any]) -> None:
    for name in (
        "forecast",
        "trajectory",
        "explanation",
        "what_if",
        "value",
        "backtest",
        "fit",
        "scenario",
        "fit_v2",
        "backtest_v2",
    ):
        obj = objects[name]
        cls = type(obj)
        assert cls.from_json(obj.to_json()) == obj, name
    assert pf.Signal.from_json(objects["signal"].to_json()) == objects["signal"]
    assert pf.Case.from_json(objects["case"].to_json()) == objects["case"]


def test_forecast_json_is_the_one_serde_form(objects: dict[str, Any]) -> None:
    """`to_json` is the engine's serde form: values in the order of the name lists beside them (issue 9)."""
    f = objects["forecast"]
    d = f.to_json()
    assert d["outcomes"] == f.outcomes
    assert d["probabilities"] == [f.probabilities[o] for o in f.outcomes]
    assert pf.Forecast.from_json(json.dumps(d)) == f


# Pickles written by release 0.1.0 (state version 1): they must load in every later release.
SIGNAL_V1 = (
    b"\x80\x04\x95\xbe\x00\x00\x00\x00\x00\x00\x00\x8c\x19pressure_forecast._native\x94\x8c\t_unpickle\x94\x93\x94C\x8c"
    b"\x84\xa6format\xb1pressure_forecast\xa7version\x01\xa4kind\xa6Signal\xa5state\x86\xa2id\xa2s1\xa4type"
    b"\xabsummit_held\xa4date\xaa2018-06-12\xabreliability\xcb?\xf0\x00\x00\x00\x00\x00\x00\xa6weight"
    b"\xcb?\xf0\x00\x00\x00\x00\x00\x00\xa6source\xa2AP\x94\x85\x94R\x94."
)
FORECAST_V1 = (
    b"\x80\x04\x95s\x01\x00\x00\x00\x00\x00\x00\x8c\x19pressure_forecast._native\x94\x8c\t_unpickle\x94\x93\x94B>"
    b"\x01\x00\x00\x84\xa6format\xb1pressure_forecast\xa7version\x01\xa4kind\xa8Forecast\xa5state\x89\xa4case"
    b"\xa4demo\xa5as_of\xaa2018-07-01\xa8term_end\xaa2021-01-20\xa8outcomes\x93\xa4deal\xa9stalemate\xa8wait_out"
    b"\xadprobabilities\x93\xcb?\xe3\xefO\x93Z\xc9\xcd\xcb?\xcf\xb7\x04R\x18R\xe9\xcb?\xc0\x8b\xbd`|\x85\xe5"
    b"\xa7regimes\x94\xa7engaged\xa9resisting\xa7waiting\xa7settled\xb4regime_probabilities\x94\xcb?\xe2\x9e\xb8c"
    b"\xc1\x05M\xcb?\xad\x9e\xcd\xee6#\x0b\xcb?|\xba\xaf\xd3R\x1a\xcb\xcb?\xd6\x9b\xca\xbbi\xe8\x9b\xaelog_likelihood"
    b'\xcb\xc0\x14H\xaa\\m"\x15\xacsignals_used\x01\x94\x85\x94R\x94.'
)


def test_pickles_of_an_older_release_load() -> None:
    s = pickle.loads(SIGNAL_V1)
    assert s == pf.Signal("summit_held", "2018-06-12", source="AP", id="s1")
    f = pickle.loads(FORECAST_V1)
    assert isinstance(f, pf.Forecast)
    assert (f.case, f.as_of, f.outcomes, f.signals_used) == ("demo", datetime.date(2018, 7, 1), list(pf.OUTCOMES_V1), 1)
    assert f.probabilities["deal"] == 0.6229627492924067
    assert f.log_likelihood == -5.0709623757943705


def test_pickle_of_a_newer_release_says_so() -> None:
    _, (state,) = pf.Signal("summit_held", "2018-06-12").__reduce__()
    newer = state.replace(b"\xa7version\x01", b"\xa7version\x63")  # version 99
    with pytest.raises(pf.ParseError, match="newer pressure_forecast") as info:
        pf._native._unpickle(newer)
    assert "version 99" in str(info.value)
    with pytest.raises(pf.ParseError, match="not a pressure_forecast pickle"):
        pf._native._unpickle(b"not msgpack at all")


def test_objects_cross_to_worker_processes(nk: pf.Case) -> None:
    with ProcessPoolExecutor(max_workers=2, mp_context=multiprocessing.get_context("spawn")) as ex:
        results = list(ex.map(_forecast_in_worker, [nk, nk]))
    assert results == [nk.forecast(as_of=AS_OF)] * 2
