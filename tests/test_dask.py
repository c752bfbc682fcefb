"""pressure_forecast.dask on a real 2-worker LocalCluster (worker processes, so every model, case and episode
crosses by pickle): leave-one-out and k-fold backtests, forecast_many and scenario sweeps equal the
single-process results exactly; the shared executor path (a process pool, a map-only executor) too; clear
errors without Dask or a client."""

from __future__ import annotations

import multiprocessing
import subprocess
import sys
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from typing import Any, TypeVar

import pressure_forecast as pf
import pressure_forecast.dask as pfd
import pytest
from conftest import ROOT
from distributed import Client, LocalCluster

T = TypeVar("T")

AS_OF = "2018-10-31"


@pytest.fixture(scope="module")
def client() -> Iterator[Client]:
    with (
        LocalCluster(  # type: ignore[no-untyped-call]  # distributed's constructors are not annotated
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0"
        ) as cluster,
        Client(cluster) as c,  # type: ignore[no-untyped-call]
    ):
        yield c


@pytest.fixture(scope="module")
def episodes() -> list[pf.Episode]:
    """A small subset of the curated episodes (the whole TIES-derived set is scripts/bench_dask.py's)."""
    return [e for e in pf.datasets.curated_episodes() if not e.exclude_from_training][:5]


@pytest.fixture(scope="module")
def cases() -> list[pf.Case]:
    return [pf.datasets.north_korea(), pf.datasets.iran(), *(e.case() for e in pf.datasets.curated_episodes()[:4])]


@pytest.fixture(scope="module")
def scenarios() -> list[pf.Scenario]:
    return [
        pf.Scenario("none"),
        pf.Scenario("pressure", monthly=["sanctions_tightened"]),
        pf.Scenario("relief", monthly=["sanctions_relief"], policy_continues=True),
        pf.Scenario(fate="leaves"),
    ]


def _same_report(a: pf.BacktestReportV2 | pf.BacktestReport, b: pf.BacktestReportV2 | pf.BacktestReport) -> None:
    assert isinstance(a, pf.BacktestReportV2) and isinstance(b, pf.BacktestReportV2)
    assert a.refit == b.refit and a.episodes == b.episodes
    assert a.scores == b.scores and a.baselines == b.baselines
    for ea, eb in zip(a.per_episode, b.per_episode, strict=True):
        assert ea["id"] == eb["id"]
        assert ea["final_probabilities"] == eb["final_probabilities"]
    assert a == b  # the whole report, bit for bit


def test_loo_on_a_local_cluster_equals_single_process(client: Client, episodes: list[pf.Episode]) -> None:
    model = pf.Model.default()
    single = pf.backtest(model, episodes, loo=True, max_iterations=2, progress=False)
    assert isinstance(single, pf.BacktestReportV2)
    # batch_size=2: three tasks over two workers, the last one short.
    dist = pfd.backtest(model, episodes, loo=True, max_iterations=2, client=client, batch_size=2)
    assert isinstance(dist, pf.BacktestReportV2)
    _same_report(single, dist)
    assert dist.refit == "leave-one-out" and dist.episodes == len(episodes)
    assert len(client.scheduler_info()["workers"]) == 2


def test_kfold_with_two_sets_on_a_local_cluster(client: Client, episodes: list[pf.Episode]) -> None:
    model = pf.Model.default()
    sets = {"a": episodes[:3], "b": episodes[3:]}
    kw: dict[str, Any] = {"folds": 2, "max_iterations": 1, "weights": [1.0, 0.5], "score": 1}
    single = pf.backtest(model, sets, progress=False, **kw)
    dist = pfd.backtest(model, sets, client=client, **kw)
    assert isinstance(single, pf.BacktestReportV2) and isinstance(dist, pf.BacktestReportV2)
    _same_report(single, dist)
    assert dist.refit == "2-fold" and dist.episodes == 2


def test_backtest_without_refits_runs_here(client: Client, episodes: list[pf.Episode]) -> None:
    model = pf.Model.default()
    assert pfd.backtest(model, episodes, client=client) == pf.backtest(model, episodes, progress=False)


def test_forecast_many_on_a_local_cluster(client: Client, cases: list[pf.Case]) -> None:
    single = pf.forecast_many(cases, as_of=AS_OF, draws=40, seed=7)
    dist = pfd.forecast_many(cases, as_of=AS_OF, draws=40, seed=7, client=client)
    assert dist == single and len(dist) == len(cases)
    assert dist.to_pandas().equals(single.to_pandas())
    # One date per case, a model for all, one case per task.
    dates = ["2018-06-30", "2019-01-31", "2018-10-31", "2017-05-01", "2017-12-31", "2018-03-01"]
    model = pf.Model.static()
    by_case = pfd.forecast_many(cases, as_of=dates, model=model, client=client, batch_size=1)
    assert by_case == [c.forecast(as_of=d, model=model) for c, d in zip(cases, dates, strict=True)]


def test_the_current_client_is_the_default(client: Client, cases: list[pf.Case]) -> None:
    assert pfd.forecast_many(cases[:2], as_of=AS_OF) == pf.forecast_many(cases[:2], as_of=AS_OF)


def test_scenario_sweep_on_a_local_cluster(client: Client, cases: list[pf.Case], scenarios: list[pf.Scenario]) -> None:
    single = pf.scenario_sweep(cases[:2], scenarios, as_of=AS_OF)
    dist = pfd.scenario_sweep(cases[:2], scenarios, as_of=AS_OF, client=client, batch_size=3)
    assert dist == single and len(dist) == 2 * len(scenarios)
    assert dist.cases == single.cases and dist.scenarios == single.scenarios
    assert dist.scenarios[:4] == ["none", "pressure", "relief", "#3"]
    assert dist.to_pandas().equals(single.to_pandas())
    # Each item is the case's own what_if under that scenario.
    assert dist[5] == cases[1].what_if(scenario=scenarios[1], as_of=AS_OF)


def test_the_process_pool_path_equals_single_process(
    episodes: list[pf.Episode], cases: list[pf.Case], scenarios: list[pf.Scenario]
) -> None:
    model = pf.Model.default()
    with ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("spawn")) as pool:
        loo = pfd.backtest(model, episodes[:3], loo=True, max_iterations=1, client=pool)
        fs = pf.forecast_many(cases, as_of=AS_OF, draws=20, executor=pool)
        sweep = pf.scenario_sweep(cases[:2], scenarios[:2], as_of=AS_OF, executor=pool)
    assert isinstance(loo, pf.BacktestReportV2)
    _same_report(loo, pf.backtest(model, episodes[:3], loo=True, max_iterations=1, progress=False))
    assert fs == pf.forecast_many(cases, as_of=AS_OF, draws=20)
    assert sweep == pf.scenario_sweep(cases[:2], scenarios[:2], as_of=AS_OF)


class MapOnly:
    """An executor with only ``map`` (as some Spark and Ray wrappers have), running in this thread."""

    def __init__(self) -> None:
        self.calls = 0

    def map(self, fn: Callable[..., T], *iterables: Iterable[Any]) -> Iterator[T]:
        self.calls += 1
        return map(fn, *iterables)


def test_a_map_only_executor(cases: list[pf.Case], scenarios: list[pf.Scenario]) -> None:
    ex = MapOnly()
    assert pf.forecast_many(cases, as_of=AS_OF, executor=ex, batch_size=4) == pf.forecast_many(cases, as_of=AS_OF)
    assert pf.scenario_sweep(cases[0], scenarios, as_of=AS_OF, executor=ex) == pf.scenario_sweep(
        cases[0], scenarios, as_of=AS_OF
    )
    assert ex.calls == 2


def test_bad_arguments_say_what_was_expected(client: Client, cases: list[pf.Case]) -> None:
    with pytest.raises(pf.ArgumentError, match=r"`cases\[1\]`: expected a Case, found 'x'"):
        pfd.forecast_many([cases[0], "x"], as_of=AS_OF, client=client)  # type: ignore[list-item]
    with pytest.raises(pf.ArgumentError, match=r"`scenarios\[0\]`: expected a Scenario"):
        pfd.scenario_sweep(cases[0], ["pressure"], as_of=AS_OF, client=client)  # type: ignore[list-item]
    with pytest.raises(pf.ArgumentError, match=r"`batch_size`: expected an integer >= 1"):
        pfd.forecast_many(cases, as_of=AS_OF, client=client, batch_size=0)
    with pytest.raises(pf.ArgumentError, match=r"`as_of`: expected one date for all cases or a list of 6 dates"):
        pfd.forecast_many(cases, as_of=[AS_OF], client=client)
    with pytest.raises(pf.ArgumentError, match=r"`client`: expected a distributed.Client or a concurrent"):
        pfd.forecast_many(cases, as_of=AS_OF, client=object())
    with pytest.raises(pf.ArgumentError, match=r"`folds`: expected no such argument for a v1 model"):
        pfd.backtest(pf.Model.v1(), [pf.Episode(cases[0], "deal")], folds=2, client=client)
    with pytest.raises(pf.ArgumentError, match="expected a v2 model"):
        pfd.scenario_sweep(cases[0], [pf.Scenario()], as_of=AS_OF, model=pf.Model.v1(), client=client)


def _python(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)


def test_without_dask_the_import_says_which_extra_to_install() -> None:
    r = _python("import sys; sys.modules['distributed'] = None\nimport pressure_forecast.dask")
    assert r.returncode != 0
    assert 'pip install "pressure_forecast[dask]"' in r.stderr, r.stderr


def test_without_a_client_the_error_says_how_to_get_one() -> None:
    r = _python(
        "import pressure_forecast as pf, pressure_forecast.dask as pfd\n"
        "try:\n"
        "    pfd.forecast_many([pf.datasets.iran()], as_of='2018-10-31')\n"
        "except pf.ArgumentError as e:\n"
        "    print(e)\n"
    )
    assert r.returncode == 0, r.stderr
    assert "invalid argument `client`: expected a distributed.Client (none is running" in r.stdout


@pytest.mark.slow
def test_the_benchmark_script_runs_bounded() -> None:
    """scripts/bench_dask.py --quick (6 curated episodes): the two reports identical; times are printed, not checked."""
    r = subprocess.run(
        [sys.executable, "scripts/bench_dask.py", "--quick"], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert r.returncode == 0, r.stdout + r.stderr
    assert "reports identical: True" in r.stdout, r.stdout
