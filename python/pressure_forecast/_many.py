"""Many cases in one frame: :func:`forecast_many` (a list of forecasts with ``to_pandas``) and :func:`compare`."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

import pandas as pd

from pressure_forecast import _native, _parallel

if TYPE_CHECKING:
    from pressure_forecast._native import Case, Forecast, Model

__all__ = ["Forecasts", "compare", "forecast_many"]


class Forecasts(list["Forecast"]):
    """The forecasts of many cases (a list, in the order of the cases) that also make one DataFrame.

    Returned by :func:`forecast_many`.
    """

    def to_pandas(self, long: bool = False) -> pd.DataFrame:
        """All the forecasts in one frame.

        Parameters
        ----------
        long : bool, default False
            The tidy form: one row per case, outcome and statistic (``case``, ``as_of``, ``outcome``,
            ``statistic``, ``value``).

        Returns
        -------
        pandas.DataFrame
            One row per case and outcome, indexed by ``(case, outcome)``; ``as_of`` (a ``Timestamp``),
            ``term_end``, ``probability`` and, with draws, ``mean``, ``sd`` and the ``eti_*`` bounds.

        Examples
        --------
        >>> import pressure_forecast as pf
        >>> fs = pf.forecast_many([pf.datasets.north_korea(), pf.datasets.iran()], as_of="2018-10-31")
        >>> df = fs.to_pandas()
        >>> df.index.names, df.shape
        (FrozenList(['case', 'outcome']), (6, 3))
        >>> fs.to_pandas(long=True).columns.tolist()
        ['case', 'as_of', 'outcome', 'statistic', 'value']
        """
        from pressure_forecast._frames import forecast_frame

        if long:
            parts = [forecast_frame(f, long=True) for f in self]
            if not parts:
                return pd.DataFrame(columns=["case", "as_of", "outcome", "statistic", "value"])
            return pd.concat(parts, ignore_index=True)
        frames = []
        for f in self:
            df = forecast_frame(f).reset_index()
            df.insert(0, "case", f.case)
            df.insert(2, "as_of", pd.Timestamp(f.as_of))
            df.insert(3, "term_end", pd.Timestamp(f.term_end))
            frames.append(df)
        if not frames:
            empty = pd.MultiIndex.from_tuples([], names=["case", "outcome"])
            return pd.DataFrame(columns=["as_of", "term_end", "probability"], index=empty)
        return pd.concat(frames, ignore_index=True).set_index(["case", "outcome"])


def forecast_many(
    cases: Iterable[Any],
    as_of: Any = None,
    model: Model | None = None,
    *,
    draws: int = 0,
    seed: int = 0,
    levels: float | Sequence[float] | None = None,
    progress: bool | None = None,
    executor: Any = None,
    batch_size: int | None = None,
) -> Forecasts:
    """Forecast many cases at once, in parallel with the GIL released, or in batches on an executor.

    Parameters
    ----------
    cases : iterable of Case
        The cases (anything else raises ``ArgumentError`` naming its position).
    as_of : date, str, list of them, or None
        One date for all cases, one per case, or None (today, UTC).
    model : Model, optional
        Overrides each case's own model.
    draws : int, default 0
        Parameter draws for credible intervals (0: none).
    seed : int, default 0
        Seed of the draws.
    levels : float or sequence of float, optional
        Levels of the credible intervals (default 0.9).
    progress : bool, optional
        Show a progress bar (default: for large work only; not with an executor).
    executor : concurrent.futures.Executor, optional
        Runs batches of cases as tasks: anything with ``submit`` (preferred) or ``map``, such as a process pool,
        a Dask client (see also :mod:`pressure_forecast.dask`), Ray's or Spark's executors. The cases and the
        model travel by pickle; the forecasts equal the single-process ones. ``as_of=None`` is resolved to
        today (UTC) here, once, before the tasks run.
    batch_size : int, optional
        Cases per task (default: about four tasks per worker).

    Returns
    -------
    Forecasts
        One forecast per case, in order: a list, with ``to_pandas()`` for one frame of them all.

    Examples
    --------
    >>> import pressure_forecast as pf
    >>> case = pf.Case("demo", "USA", "PRK", "2017-01-20", "2021-01-20")
    >>> case.observe("summit_held", "2018-06-12")
    AppendReport(added=1, unchanged=0)
    >>> a, b = pf.forecast_many([case, case], as_of="2018-07-01")
    >>> a == b == case.forecast(as_of="2018-07-01")
    True
    >>> from concurrent.futures import ThreadPoolExecutor
    >>> with ThreadPoolExecutor(2) as pool:
    ...     fs = pf.forecast_many([case] * 5, as_of="2018-07-01", executor=pool, batch_size=2)
    >>> fs == [a] * 5
    True
    """
    if executor is None:
        if batch_size is not None:
            raise _parallel.argument_error("batch_size", "None without an executor", repr(batch_size))
        return Forecasts(
            _native.forecast_many(cases, as_of, model, draws=draws, seed=seed, levels=levels, progress=progress)
        )
    items = checked_cases(cases)
    dates = _parallel.as_of_per_item(as_of, len(items))
    batches = _parallel.partition(len(items), batch_size, _parallel.workers_of(executor))
    calls = [([items[i] for i in b], [dates[i] for i in b], model, draws, seed, levels) for b in batches]
    parts = _parallel.run_tasks(executor, _parallel.forecast_batch, calls)
    return Forecasts(f for part in parts for f in part)


def checked_cases(cases: Iterable[Any]) -> list[Case]:
    """The cases as a list; anything else than a ``Case`` raises ``ArgumentError`` naming its position."""
    items = list(cases)
    for i, c in enumerate(items):
        if not isinstance(c, _native.Case):
            raise _parallel.argument_error(f"cases[{i}]", "a Case", repr(c))
    return items


def compare(
    cases: Iterable[Case],
    as_of: Any = None,
    model: Model | None = None,
    *,
    draws: int = 0,
    seed: int = 0,
    levels: float | Sequence[float] | None = None,
    long: bool = False,
    progress: bool | None = None,
) -> pd.DataFrame:
    """Forecast many cases and put them in one frame, with the countries' names.

    Parameters
    ----------
    cases : iterable of Case
        The cases.
    as_of : date, str, list of them, or None
        One date for all cases, one per case, or None (today, UTC).
    model : Model, optional
        Overrides each case's own model.
    draws : int, default 0
        Parameter draws for credible intervals (0: none).
    seed : int, default 0
        Seed of the draws.
    levels : float or sequence of float, optional
        Levels of the credible intervals (default 0.9).
    long : bool, default False
        The tidy form (one row per case, outcome and statistic).
    progress : bool, optional
        Show a progress bar (default: for large work only).

    Returns
    -------
    pandas.DataFrame
        As :meth:`Forecasts.to_pandas`, with the columns ``sender`` and ``target`` after the index (wide form), or
        before ``as_of`` (long form).

    Examples
    --------
    >>> import pressure_forecast as pf
    >>> df = pf.compare([pf.datasets.north_korea(), pf.datasets.iran()], as_of="2018-10-31", draws=100)
    >>> df.loc[("usa-prk-2017", "deal"), ["sender", "target"]].tolist()
    ['USA', 'PRK']
    >>> list(df.columns)
    ['sender', 'target', 'as_of', 'term_end', 'probability', 'mean', 'sd', 'eti_5%', 'eti_95%']
    """
    cases = list(cases)
    fs = forecast_many(cases, as_of, model, draws=draws, seed=seed, levels=levels, progress=progress)
    who = {c.id: (c.sender, c.target) for c in cases}
    df = fs.to_pandas(long=long)
    if long:
        df.insert(1, "sender", df["case"].map(lambda c: who[c][0]))
        df.insert(2, "target", df["case"].map(lambda c: who[c][1]))
        return df
    ids = df.index.get_level_values("case")
    df.insert(0, "sender", [who[c][0] for c in ids])
    df.insert(1, "target", [who[c][1] for c in ids])
    return df
