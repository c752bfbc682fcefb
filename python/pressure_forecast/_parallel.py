"""Batches of work on any ``concurrent.futures``-style executor.

Shared by ``forecast_many``, ``scenario_sweep`` and :mod:`pressure_forecast.dask`.

An executor is anything with ``submit(fn, *args)`` returning a future with ``result()`` (``concurrent.futures``,
a Dask ``Client`` or its ``get_executor()``, Ray's and Spark's pool executors) or, failing that,
``map(fn, *iterables)``. The work is cut into contiguous batches (a few per worker, so that scheduling costs
little beside the work), each batch is one task, and the results come back in the order of the inputs: the
same values, bit for bit, as the single-process call. The task functions are module-level, so they pickle by
reference; the cases, models and scenarios they receive pickle by value (``pressure_forecast`` pickles).
"""

from __future__ import annotations

import datetime as _dt
import os
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from pressure_forecast import _native

__all__ = [
    "argument_error",
    "as_of_per_item",
    "forecast_batch",
    "partition",
    "run_tasks",
    "sweep_batch",
    "workers_of",
]

T = TypeVar("T")

#: Batches per worker when the caller does not choose a batch size: enough to even out uneven tasks, few
#: enough that each task's scheduling and pickling stays small beside its work.
BATCHES_PER_WORKER = 4


def argument_error(field: str, expected: str, found: object) -> Exception:
    """An ``ArgumentError`` worded as the native ones (``invalid argument `field`: expected ..., found ...``)."""
    e = _native.ArgumentError(f"invalid argument `{field}`: expected {expected}, found {found}")
    e.field, e.expected, e.found, e.line = field, expected, str(found), None
    return e


def workers_of(executor: Any) -> int:
    """How many tasks ``executor`` runs at once, as far as it says (else this machine's CPU count)."""
    nthreads = getattr(executor, "nthreads", None)  # a distributed.Client: {worker: threads}
    if callable(nthreads):
        try:
            total = sum(int(v) for v in nthreads().values())
        except Exception:  # a client that cannot answer now: fall through to the guesses below
            total = 0
        if total > 0:
            return total
    for attr in ("_max_workers", "max_workers", "_num_workers"):
        n = getattr(executor, attr, None)
        if isinstance(n, int) and n > 0:
            return n
    return os.cpu_count() or 1


def partition(n: int, batch_size: int | None, workers: int) -> list[range]:
    """Contiguous batches covering ``range(n)``.

    Each of ``batch_size`` items, or about ``BATCHES_PER_WORKER`` per worker when it is None.
    """
    if batch_size is not None and (not isinstance(batch_size, int) or isinstance(batch_size, bool) or batch_size < 1):
        raise argument_error("batch_size", "an integer >= 1 or None", repr(batch_size))
    if n == 0:
        return []
    size = batch_size or max(1, -(-n // (BATCHES_PER_WORKER * max(1, workers))))
    return [range(i, min(i + size, n)) for i in range(0, n, size)]


def run_tasks(executor: Any, fn: Callable[..., T], calls: Sequence[tuple[Any, ...]]) -> list[T]:
    """``fn(*args)`` for each ``args`` in ``calls`` on ``executor``; the results in the order of ``calls``."""
    if not calls:
        return []
    if callable(getattr(executor, "submit", None)):
        futures = [executor.submit(fn, *args) for args in calls]
        return [f.result() for f in futures]
    if callable(getattr(executor, "map", None)):
        return list(executor.map(fn, *zip(*calls, strict=True)))
    raise argument_error(
        "executor",
        "a concurrent.futures-style executor (with submit or map)",
        type(executor).__name__,
    )


def _today() -> _dt.date:
    # The engine's "today" is the UTC date (pf_core::dates::today); resolved by the caller, so that every task
    # uses the same date however long the run takes.
    return _dt.datetime.now(_dt.UTC).date()


def _is_date_list(as_of: Any) -> bool:
    # As forecast_many reads it: a sized non-string without isoformat is one date per item.
    return (
        as_of is not None
        and not isinstance(as_of, str | bytes)
        and hasattr(as_of, "__len__")
        and not hasattr(as_of, "isoformat")
    )


def as_of_per_item(as_of: Any, n: int) -> list[Any]:
    """One as-of date per item: ``as_of`` repeated, one given per item, or today (UTC) for None."""
    if _is_date_list(as_of):
        dates = list(as_of)
        if len(dates) != n:
            raise argument_error("as_of", f"one date for all cases or a list of {n} dates", f"{len(dates)} dates")
        return [_today() if d is None else d for d in dates]
    return [_today() if as_of is None else as_of] * n


def forecast_batch(
    cases: list[Any],
    as_of: list[Any],
    model: Any,
    draws: int,
    seed: int,
    levels: Any,
) -> list[Any]:
    """One task of ``forecast_many``: the forecasts of ``cases`` (each at its date), in order."""
    return list(_native.forecast_many(cases, as_of, model, draws=draws, seed=seed, levels=levels, progress=False))


def sweep_batch(items: list[tuple[Any, Any, Any]], model: Any) -> list[Any]:
    """One task of ``scenario_sweep``: ``case.what_if(scenario=..., as_of=..., model=...)``.

    One ``WhatIf`` for each ``(case, scenario, as_of)`` of ``items``, in order.
    """
    return [case.what_if(scenario=scenario, as_of=as_of, model=model) for case, scenario, as_of in items]
