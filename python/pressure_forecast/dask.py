"""Batch runs on a Dask cluster, with results equal to the single-process ones.

:func:`forecast_many`, :func:`backtest` (leave-one-out, k-fold) and :func:`scenario_sweep`. Needs Dask's
``distributed`` scheduler: ``pip install "pressure_forecast[dask]"``. The work is partitioned by case,
(case, scenario) pair, or fold of episodes into contiguous batches, a few per worker, each batch one task;
models, cases and episodes travel by pickle. A backtest's episode sets are scattered to the workers once rather
than sent with every task. Results are gathered and pooled in the order of the single-process run, so the
numbers are identical, bit for bit.

``client`` is a ``distributed.Client`` (default: the current one, ``distributed.get_client()``) or any
``concurrent.futures``-style executor (with ``submit`` or ``map``: a process pool, Ray's or Spark's executors),
which runs the same batches without Dask-specific steps::

    from distributed import Client, LocalCluster
    import pressure_forecast as pf
    import pressure_forecast.dask as pfd

    with LocalCluster(n_workers=2, threads_per_worker=1) as cluster, Client(cluster) as client:
        report = pfd.backtest(pf.Model.default(), pf.datasets.curated_episodes(), loo=True, client=client)
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from pressure_forecast import _native, _parallel
from pressure_forecast._many import Forecasts, checked_cases
from pressure_forecast._sweep import ScenarioSweep, sweep_items

try:
    import distributed
except ImportError as e:  # pragma: no cover - the test environment has Dask; tests/test_dask.py fakes its absence
    raise ImportError(
        "pressure_forecast.dask needs Dask's distributed scheduler, which is not installed: "
        'pip install "pressure_forecast[dask]" (or pass any concurrent.futures-style executor to '
        "pf.forecast_many, pf.scenario_sweep or pf.backtest)"
    ) from e

if TYPE_CHECKING:
    from pressure_forecast._native import BacktestReport, BacktestReportV2, Case, Episode, Model, Scenario

__all__ = ["backtest", "forecast_many", "scenario_sweep"]

T = TypeVar("T")


def _resolve(client: Any) -> Any:
    """The client or executor to run on: the one given, else the current Dask client."""
    if client is not None:
        if not callable(getattr(client, "submit", None)) and not callable(getattr(client, "map", None)):
            raise _parallel.argument_error(
                "client",
                "a distributed.Client or a concurrent.futures-style executor (with submit or map)",
                type(client).__name__,
            )
        return client
    try:
        return distributed.get_client()
    except ValueError as e:
        raise _parallel.argument_error(
            "client",
            "a distributed.Client (none is running: start one, e.g. Client(LocalCluster()), or pass client=)",
            "None",
        ) from e


def _is_dask(client: Any) -> bool:
    return isinstance(client, distributed.Client)


def _run(client: Any, fn: Callable[..., T], calls: Sequence[tuple[Any, ...]]) -> list[T]:
    """``fn(*args)`` for each call, in order.

    On Dask: futures (not hashed: the inputs are not content-addressed keys) gathered at once; else the shared
    executor path.
    """
    if not _is_dask(client):
        return _parallel.run_tasks(client, fn, calls)
    futures = [client.submit(fn, *args, pure=False) for args in calls]
    results: list[T] = client.gather(futures)
    return results


def forecast_many(
    cases: Iterable[Case],
    as_of: Any = None,
    model: Model | None = None,
    *,
    draws: int = 0,
    seed: int = 0,
    levels: float | Sequence[float] | None = None,
    client: Any = None,
    batch_size: int | None = None,
) -> Forecasts:
    """``pf.forecast_many`` on a Dask cluster: batches of cases, one task each.

    Parameters
    ----------
    cases : iterable of Case
        The cases.
    as_of : date, str, list of them, or None
        One date for all cases, one per case, or None (today, UTC, resolved once here).
    model : Model, optional
        Overrides each case's own model.
    draws, seed, levels
        As for ``pf.forecast_many``.
    client : distributed.Client or concurrent.futures.Executor, optional
        Where to run (default: the current Dask client).
    batch_size : int, optional
        Cases per task (default: about four tasks per worker).

    Returns
    -------
    Forecasts
        One forecast per case, in order, equal to ``pf.forecast_many``'s.
    """
    ex = _resolve(client)
    items = checked_cases(cases)
    dates = _parallel.as_of_per_item(as_of, len(items))
    batches = _parallel.partition(len(items), batch_size, _parallel.workers_of(ex))
    calls = [([items[i] for i in b], [dates[i] for i in b], model, draws, seed, levels) for b in batches]
    return Forecasts(f for part in _run(ex, _parallel.forecast_batch, calls) for f in part)


def scenario_sweep(
    cases: Case | Iterable[Case],
    scenarios: Iterable[Scenario],
    as_of: Any = None,
    model: Model | None = None,
    *,
    client: Any = None,
    batch_size: int | None = None,
) -> ScenarioSweep:
    """``pf.scenario_sweep`` on a Dask cluster: batches of (case, scenario) pairs, one task each.

    Parameters
    ----------
    cases : Case or iterable of Case
        The cases (v2 models).
    scenarios : iterable of Scenario
        The scenarios.
    as_of : date, str, list of them, or None
        One date for all cases, one per case, or None (today, UTC, resolved once here).
    model : Model, optional
        Overrides each case's own model.
    client : distributed.Client or concurrent.futures.Executor, optional
        Where to run (default: the current Dask client).
    batch_size : int, optional
        Pairs per task (default: about four tasks per worker).

    Returns
    -------
    ScenarioSweep
        One ``WhatIf`` per case and scenario, equal to ``pf.scenario_sweep``'s.
    """
    ex = _resolve(client)
    items, case_ids, labels = sweep_items(cases, scenarios, as_of)
    batches = _parallel.partition(len(items), batch_size, _parallel.workers_of(ex))
    calls = [([items[i] for i in b], model) for b in batches]
    return ScenarioSweep((w for part in _run(ex, _parallel.sweep_batch, calls) for w in part), case_ids, labels)


def backtest(
    model: Model,
    episodes: Iterable[Episode] | Iterable[Iterable[Episode]] | Mapping[str, Iterable[Episode]],
    *,
    loo: bool = False,
    folds: int | None = None,
    bins: int = 10,
    tolerance: float | None = None,
    max_iterations: int | None = None,
    weights: float | Sequence[float] | None = None,
    score: int = 0,
    client: Any = None,
    batch_size: int | None = None,
) -> BacktestReportV2 | BacktestReport:
    """``pf.backtest`` with its refits on a Dask cluster.

    Batches of folds (leave-one-out: of episodes), one task each; the episode sets are scattered to the workers
    once.

    Parameters
    ----------
    model : Model
        The model to score (v2: the starting model of the refits).
    episodes : iterable of Episode, iterable of iterables of Episode, or dict of str to iterable of Episode
        As for ``pf.backtest``.
    loo : bool, default False
        Leave-one-out refits.
    folds : int, optional
        k-fold refits instead.
    bins, tolerance, max_iterations, weights, score
        As for ``pf.backtest``.
    client : distributed.Client or concurrent.futures.Executor, optional
        Where to run the refits (default: the current Dask client).
    batch_size : int, optional
        Folds per task (default: about four tasks per worker).

    Returns
    -------
    BacktestReportV2 or BacktestReport
        Equal to ``pf.backtest``'s report. Without refits (neither ``loo`` nor ``folds``), and for a v1 model,
        the backtest runs in this process (``pf.backtest``): there is nothing to farm out, or no task form.
    """
    kw: dict[str, Any] = {"bins": bins, "tolerance": tolerance, "max_iterations": max_iterations}
    if model.format_version != 2 or not (loo or folds is not None):
        if weights is not None:
            kw["weights"] = weights
        if model.format_version == 2:
            kw["score"] = score
        return _native.backtest(model, episodes, loo=loo, folds=folds, progress=False, **kw)
    ex = _resolve(client)
    sets, s, fold_list, options = _native._backtest_plan(
        model, episodes, loo=loo, folds=folds, weights=weights, score=score, **kw
    )
    batches = _parallel.partition(len(fold_list), batch_size, _parallel.workers_of(ex))
    shared: Any = sets
    if _is_dask(ex):
        # One copy of the sets on each worker (hash=False: no need to tokenize the episodes for a key).
        [shared] = ex.scatter([sets], broadcast=True, hash=False)
    calls = [(model, shared, s, [fold_list[i] for i in b], options) for b in batches]
    parts = _run(ex, _native._backtest_folds, calls)
    return _native._backtest_report(model, sets[s][0], options, [p for part in parts for p in part])
