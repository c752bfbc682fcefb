"""Every class pickles and unpickles (so it crosses to worker processes), and to_json/from_json round-trip."""

from __future__ import annotations

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
    custom = pf.Model.from_toml(pf.Model.default_toml().replace('name = "maximum_pressure"', 'name = "custom"', 1))
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
        "fit": pf.fit(pf.Model.default(), episodes[:3], max_iterations=2, progress=False),
        "backtest": pf.backtest(pf.Model.default(), episodes[:3], progress=False),
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
    for name in ("forecast", "trajectory", "explanation", "what_if", "value", "backtest", "fit"):
        obj = objects[name]
        cls = type(obj)
        assert cls.from_json(obj.to_json()) == obj, name
    assert pf.Signal.from_json(objects["signal"].to_json()) == objects["signal"]
    assert pf.Case.from_json(objects["case"].to_json()) == objects["case"]


def test_forecast_from_json_of_a_client(objects: dict[str, Any]) -> None:
    """The gRPC client builds results from the engine's JSON form, possibly with keys in any order."""
    f = objects["forecast"]
    d = f.to_json()
    d["probabilities"] = dict(reversed(list(d["probabilities"].items())))
    again = pf.Forecast.from_json(d)
    assert again.outcomes == f.outcomes and again == f
    other = {**d, "outcomes": ["wait_out", "stalemate", "deal"]}
    assert pf.Forecast.from_json(other).outcomes == ["wait_out", "stalemate", "deal"]


def test_objects_cross_to_worker_processes(nk: pf.Case) -> None:
    with ProcessPoolExecutor(max_workers=2, mp_context=multiprocessing.get_context("spawn")) as ex:
        results = list(ex.map(_forecast_in_worker, [nk, nk]))
    assert results == [nk.forecast(as_of=AS_OF)] * 2
