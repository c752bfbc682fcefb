"""Scenario sweeps: many cases under many scenarios (:func:`scenario_sweep`), in one frame."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import pandas as pd

from pressure_forecast import _native, _parallel
from pressure_forecast._many import checked_cases

if TYPE_CHECKING:
    from pressure_forecast._native import Case, Model, Scenario, WhatIf

__all__ = ["ScenarioSweep", "scenario_sweep"]

_COLUMNS = ["as_of", "baseline", "probability", "delta"]


class ScenarioSweep(list["WhatIf"]):
    """The ``WhatIf`` of every case under every scenario, that also make one DataFrame.

    A list, case by case and, within a case, scenario by scenario. Returned by :func:`scenario_sweep`.

    Attributes
    ----------
    cases : list of str
        The case of each item.
    scenarios : list of str
        The scenario of each item: its name, or ``"#j"`` (its position) when it has none.
    """

    def __init__(self, items: Iterable[WhatIf] = (), cases: Iterable[str] = (), scenarios: Iterable[str] = ()):
        super().__init__(items)
        self.cases = list(cases)
        self.scenarios = list(scenarios)
        if not len(self.cases) == len(self.scenarios) == len(self):
            raise _parallel.argument_error(
                "cases, scenarios", f"one case and one scenario label per item ({len(self)})", "other lengths"
            )

    def to_pandas(self, long: bool = False) -> pd.DataFrame:
        """Every item in one frame.

        Parameters
        ----------
        long : bool, default False
            The tidy form: one row per case, scenario, outcome and forecast (``baseline``, ``scenario``).

        Returns
        -------
        pandas.DataFrame
            Indexed by ``(case, scenario, outcome)``; columns ``as_of`` (a ``Timestamp``), ``baseline`` and
            ``probability`` (without and with the scenario) and ``delta`` (their difference). The long form has the
            columns ``case``, ``scenario``, ``as_of``, ``outcome``, ``forecast`` and ``probability``.

        Examples
        --------
        >>> import pressure_forecast as pf
        >>> sweep = pf.scenario_sweep(pf.datasets.north_korea(), [pf.Scenario("none"), pf.Scenario("relief",
        ...     monthly=["sanctions_relief"])], as_of="2018-10-31")
        >>> df = sweep.to_pandas()
        >>> df.index.names, list(df.columns)
        (FrozenList(['case', 'scenario', 'outcome']), ['as_of', 'baseline', 'probability', 'delta'])
        >>> len(df), float(df.loc[("usa-prk-2017", "none", "deal"), "delta"])
        (6, 0.0)
        """
        from pressure_forecast._frames import to_pandas

        if long:
            parts = []
            for w, case, label in zip(self, self.cases, self.scenarios, strict=True):
                df = to_pandas(w, long=True)
                df.insert(0, "case", case)
                df.insert(1, "scenario", label)
                parts.append(df)
            if not parts:
                return pd.DataFrame(columns=["case", "scenario", "as_of", "outcome", "forecast", "probability"])
            return pd.concat(parts, ignore_index=True)
        frames = []
        for w, case, label in zip(self, self.cases, self.scenarios, strict=True):
            df = to_pandas(w).rename(columns={"scenario": "probability"}).reset_index()
            df.insert(0, "case", case)
            df.insert(1, "scenario", label)
            df.insert(3, "as_of", pd.Timestamp(w.baseline.as_of))
            frames.append(df)
        if not frames:
            empty = pd.MultiIndex.from_tuples([], names=["case", "scenario", "outcome"])
            return pd.DataFrame(columns=_COLUMNS, index=empty)
        return pd.concat(frames, ignore_index=True).set_index(["case", "scenario", "outcome"])


def sweep_items(
    cases: Case | Iterable[Case], scenarios: Iterable[Scenario], as_of: Any
) -> tuple[list[tuple[Case, Scenario, Any]], list[str], list[str]]:
    """The sweep's work, checked: ``(case, scenario, as_of)`` case by case, and each item's labels."""
    case_list = [cases] if isinstance(cases, _native.Case) else checked_cases(cases)
    scen = list(scenarios)
    for j, sc in enumerate(scen):
        if not isinstance(sc, _native.Scenario):
            raise _parallel.argument_error(f"scenarios[{j}]", "a Scenario", repr(sc))
    dates = _parallel.as_of_per_item(as_of, len(case_list))
    labels = [sc.name or f"#{j}" for j, sc in enumerate(scen)]
    items = [(c, sc, d) for c, d in zip(case_list, dates, strict=True) for sc in scen]
    return items, [c.id for c in case_list for _ in scen], labels * len(case_list)


def scenario_sweep(
    cases: Case | Iterable[Case],
    scenarios: Iterable[Scenario],
    as_of: Any = None,
    model: Model | None = None,
    *,
    executor: Any = None,
    batch_size: int | None = None,
) -> ScenarioSweep:
    """Every case under every scenario: ``case.what_if(scenario, ...)`` for each pair, in one result.

    Parameters
    ----------
    cases : Case or iterable of Case
        The cases (their models must be v2, or ``model`` one).
    scenarios : iterable of Scenario
        The scenarios (``pf.Scenario()`` is the default future: no new actions).
    as_of : date, str, list of them, or None
        One date for all cases, one per case, or None (today, UTC).
    model : Model, optional
        Overrides each case's own model.
    executor : concurrent.futures.Executor, optional
        Runs batches of (case, scenario) pairs as tasks: anything with ``submit`` or ``map`` (a process pool, a
        Dask client, Ray's or Spark's executors). The results equal the single-process ones.
    batch_size : int, optional
        Pairs per task (default: about four tasks per worker).

    Returns
    -------
    ScenarioSweep
        One ``WhatIf`` per case and scenario (case-major), with ``to_pandas()`` for one frame.

    Examples
    --------
    >>> import pressure_forecast as pf
    >>> scenarios = [pf.Scenario("none"), pf.Scenario("pressure", monthly=["sanctions_tightened"])]
    >>> sweep = pf.scenario_sweep([pf.datasets.north_korea(), pf.datasets.iran()], scenarios, as_of="2018-10-31")
    >>> len(sweep), sweep.scenarios[:2]
    (4, ['none', 'pressure'])
    >>> sweep[1] == pf.datasets.north_korea().what_if(scenarios[1], as_of="2018-10-31")
    True
    """
    items, case_ids, labels = sweep_items(cases, scenarios, as_of)
    if executor is None:
        if batch_size is not None:
            raise _parallel.argument_error("batch_size", "None without an executor", repr(batch_size))
        return ScenarioSweep(_parallel.sweep_batch(items, model), case_ids, labels)
    batches = _parallel.partition(len(items), batch_size, _parallel.workers_of(executor))
    parts = _parallel.run_tasks(executor, _parallel.sweep_batch, [([items[i] for i in b], model) for b in batches])
    return ScenarioSweep((w for part in parts for w in part), case_ids, labels)
