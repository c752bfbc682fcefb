"""pandas frames, HTML and text summaries of the native result classes (called from the native module).

Kept in Python on purpose: the Rust adapter only converts; the tables analysts see are built here.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Sequence
from typing import Any

import pandas as pd

_MAX_HTML_ROWS = 30

#: What the two measures of an Explanation say, shown in its HTML and in docs/explanations.md.
ATTRIBUTION_NOTE = (
    "Two measures of what each signal did, in percentage points of each outcome's probability at the as-of date. "
    "Sequential attribution (delta_*): the signals are replayed in date order, and each one's value is the change "
    "it made to the forecast given only the signals before it; the values add up exactly from the no-signal "
    "baseline to the forecast. Drop-one (drop_one_*): the forecast with every signal minus the forecast with this "
    "one left out; what the signal still adds given all the others, earlier and later (without_* is the forecast "
    "without it). They differ because the model is not additive: a signal's weight depends on what else is known. "
    "Evidence about the hidden regime (what the target does) is screened off by later evidence about the same "
    "regime, so an early concession can have a large sequential value and a drop-one value near 0; the sender's "
    "own actions change the dynamics from their date on and keep similar values in both. Drop-one values do not "
    "add up to anything. Worked example (North Korea): docs/explanations.md."
)


def _title(text: str) -> str:
    return f"<p><strong>{html.escape(text)}</strong></p>"


def _table(df: pd.DataFrame, float_format: str = "{:.4f}") -> str:
    shown = df if len(df) <= _MAX_HTML_ROWS else pd.concat([df.head(_MAX_HTML_ROWS // 2), df.tail(_MAX_HTML_ROWS // 2)])
    note = (
        ""
        if len(df) <= _MAX_HTML_ROWS
        else f"<p><em>{len(df)} rows, first and last {_MAX_HTML_ROWS // 2} shown</em></p>"
    )
    out: str = shown.to_html(float_format=float_format.format, border=0, classes="pressure-forecast")
    return out + note


# ---------------------------------------------------------------------------------------------------- signals


def signals_frame(signals: Sequence[Any]) -> pd.DataFrame:
    """One row per signal: date, type, reliability, weight, source, note, id.

    Parameters
    ----------
    signals : sequence of Signal
        The signals, in the order of the rows.

    Returns
    -------
    pandas.DataFrame
        Columns ``date`` (a ``Timestamp``), ``type``, ``reliability``, ``weight``, ``source``, ``note``, ``id``.

    Examples
    --------
    >>> import pressure_forecast as pf
    >>> case = pf.Case("demo", "USA", "PRK", "2017-01-20", "2021-01-20")
    >>> case.observe("summit_held", "2018-06-12")
    AppendReport(added=1, unchanged=0)
    >>> from pressure_forecast._frames import signals_frame
    >>> df = signals_frame(case.signals)
    >>> df.shape, list(df.columns)[:2]
    ((1, 7), ['date', 'type'])
    """
    rows = [
        {
            "date": pd.Timestamp(s.date),
            "type": s.type,
            "reliability": s.reliability,
            "weight": s.weight,
            "source": s.source,
            "note": s.note,
            "id": s.id,
        }
        for s in signals
    ]
    cols = ["date", "type", "reliability", "weight", "source", "note", "id"]
    return pd.DataFrame(rows, columns=cols)


def signals_html(signals: Sequence[Any]) -> str:
    """The table of :func:`signals_frame` as HTML (for notebooks).

    Parameters
    ----------
    signals : sequence of Signal
        The signals.

    Returns
    -------
    str
        An HTML table, at most 30 rows shown.

    Examples
    --------
    >>> import pressure_forecast as pf
    >>> case = pf.Case("demo", "USA", "PRK", "2017-01-20", "2021-01-20")
    >>> case.observe("summit_held", "2018-06-12")
    AppendReport(added=1, unchanged=0)
    >>> from pressure_forecast._frames import signals_html
    >>> "summit_held" in signals_html(case.signals)
    True
    """
    return _table(signals_frame(signals))


def case_html(case: Any) -> str:
    """A case as HTML: its header (id, countries, dates, signal count, model) and its signals (``Case._repr_html_``).

    Parameters
    ----------
    case : Case
        The case.

    Returns
    -------
    str
        HTML: a title, the header table and, when the case has signals, the signal table.

    Examples
    --------
    >>> import pressure_forecast as pf
    >>> case = pf.Case("demo", "USA", "PRK", "2017-01-20", "2021-01-20")
    >>> case.observe("summit_held", "2018-06-12")
    AppendReport(added=1, unchanged=0)
    >>> from pressure_forecast._frames import case_html
    >>> case_html(case).startswith("<p><strong>Case demo: USA presses PRK")
    True
    """
    head = pd.DataFrame(
        {
            "": [case.id, case.sender, case.target, str(case.start), str(case.term_end), len(case), case.model.name],
        },
        index=["id", "sender", "target", "start", "term end", "signals", "model"],
    )
    body = _title(f"Case {case.id}: {case.sender} presses {case.target}") + head.to_html(header=False, border=0)
    if len(case):
        body += _table(signals_frame(case.signals).drop(columns=["note"]))
    return body


def episodes_html(episodes: Iterable[Any]) -> str:
    """Episodes as an HTML table: one row per episode (id, countries, dates, outcome, signal count).

    Parameters
    ----------
    episodes : iterable of Episode
        The episodes.

    Returns
    -------
    str
        An HTML table, at most 30 rows shown.

    Examples
    --------
    >>> import pressure_forecast as pf
    >>> case = pf.Case("demo", "USA", "PRK", "2017-01-20", "2021-01-20")
    >>> case.observe("summit_held", "2018-06-12")
    AppendReport(added=1, unchanged=0)
    >>> from pressure_forecast._frames import episodes_html
    >>> "stalemate" in episodes_html([pf.Episode(case, "stalemate")])
    True
    """
    rows = [
        {
            "id": e.id,
            "sender": e.sender,
            "target": e.target,
            "start": e.start,
            "term_end": e.term_end,
            "outcome": e.outcome,
            "signals": len(e),
        }
        for e in episodes
    ]
    return _table(pd.DataFrame(rows))


def model_html(model: Any) -> str:
    """A model as HTML (``Model._repr_html_``): its regimes with their outcome and prior, and its time buckets.

    Parameters
    ----------
    model : Model
        The model.

    Returns
    -------
    str
        HTML: a title and two tables.

    Examples
    --------
    >>> import pressure_forecast as pf
    >>> from pressure_forecast._frames import model_html
    >>> model_html(pf.Model.default()).startswith("<p><strong>Model ")
    True
    """
    prior = list(model.prior)
    outcome_of = model.outcome_of
    regimes = pd.DataFrame(
        {"outcome": [outcome_of[r] for r in model.regimes], "prior": prior},
        index=pd.Index(model.regimes, name="regime"),
    )
    buckets = pd.DataFrame(
        [
            {"bucket": b["name"], "min_days_left": b["min_days_left"], "max_days_left": b["max_days_left"]}
            for b in model.buckets
        ]
    )
    return (
        _title(f"Model {model.name}: {len(model.regimes)} regimes, {len(model.signal_types)} signal types")
        + regimes.to_html(float_format="{:.4f}".format, border=0)
        + buckets.to_html(index=False, border=0)
    )


# -------------------------------------------------------------------------------------------------- forecasts


def forecast_frame(f: Any, long: bool = False) -> pd.DataFrame:
    """One row per outcome: probability, and with draws mean, sd and the equal-tailed interval bounds.

    Parameters
    ----------
    f : Forecast
        The forecast.
    long : bool, default False
        The tidy form: one row per outcome and statistic, columns ``case``, ``as_of`` (a ``Timestamp``),
        ``outcome``, ``statistic``, ``value``.

    Returns
    -------
    pandas.DataFrame
        Indexed by ``outcome``; ``probability``, and ``mean``, ``sd`` and ``eti_<a>%`` / ``eti_<b>%`` of each level
        when the forecast was made with draws (ArviZ's names: ``eti_5%`` and ``eti_95%`` bound a 90% interval).

    Examples
    --------
    >>> import pressure_forecast as pf
    >>> case = pf.Case("demo", "USA", "PRK", "2017-01-20", "2021-01-20")
    >>> case.observe("summit_held", "2018-06-12")
    AppendReport(added=1, unchanged=0)
    >>> from pressure_forecast._frames import forecast_frame
    >>> f = case.forecast(as_of="2018-07-01", draws=50, seed=1, levels=0.9)
    >>> df = forecast_frame(f)
    >>> list(df.columns)
    ['probability', 'mean', 'sd', 'eti_5%', 'eti_95%']
    >>> round(float(df["probability"].sum()), 6)
    1.0
    >>> forecast_frame(f, long=True).shape
    (15, 5)
    """
    from pressure_forecast._uncertainty import bound_names

    df = pd.DataFrame(
        {"probability": [f.probabilities[o] for o in f.outcomes]}, index=pd.Index(f.outcomes, name="outcome")
    )
    iv = f.intervals
    if iv is not None:
        # The serde form: every vector in the forecast's outcome order.
        df["mean"] = iv["mean"]
        df["sd"] = iv["sd"]
        for i in iv["intervals"]:
            lo, hi = bound_names("eti", float(i["level"]))
            df[lo] = i["lower"]
            df[hi] = i["upper"]
    if long:
        return _long_outcomes(df, f.case, f.as_of)
    return df


def _long_outcomes(df: pd.DataFrame, case: str, as_of: Any) -> pd.DataFrame:
    out = df.reset_index().melt(id_vars="outcome", var_name="statistic", value_name="value")
    out.insert(0, "as_of", pd.Timestamp(as_of))
    out.insert(0, "case", case)
    return out


def forecast_html(f: Any) -> str:
    """A forecast as HTML (``Forecast._repr_html_``): a title and the table of :func:`forecast_frame`.

    Parameters
    ----------
    f : Forecast
        The forecast.

    Returns
    -------
    str
        HTML.

    Examples
    --------
    >>> import pressure_forecast as pf
    >>> case = pf.Case("demo", "USA", "PRK", "2017-01-20", "2021-01-20")
    >>> case.observe("summit_held", "2018-06-12")
    AppendReport(added=1, unchanged=0)
    >>> from pressure_forecast._frames import forecast_html
    >>> forecast_html(case.forecast(as_of="2018-07-01")).startswith("<p><strong>Forecast for demo as of 2018-07-01")
    True
    """
    draws = "" if f.intervals is None else f", {f.intervals['draws']} draws"
    head = f"Forecast for {f.case} as of {f.as_of} (term end {f.term_end}, {f.signals_used} signals{draws})"
    return _title(head) + _table(forecast_frame(f))


def trajectory_frame(t: Any, regimes: bool = False, long: bool = False) -> pd.DataFrame:
    """One row per day: a column per outcome, then signals_used and signal_types (and regime:<name> columns).

    Parameters
    ----------
    t : Trajectory
        The trajectory.
    regimes : bool, default False
        Add a column per regime, ``regime:<name>``, with the filtered regime probabilities.
    long : bool, default False
        The tidy form: one row per day and outcome, columns ``date``, ``outcome``, ``probability`` (with
        ``regimes=True`` the regimes follow, ``outcome`` being ``regime:<name>``).

    Returns
    -------
    pandas.DataFrame
        Indexed by ``date`` (a ``DatetimeIndex``); ``signal_types`` is a string, the day's signal types joined by
        ``", "`` (empty on days without signals).

    Examples
    --------
    >>> import pressure_forecast as pf
    >>> case = pf.Case("demo", "USA", "PRK", "2017-01-20", "2021-01-20")
    >>> case.observe("summit_held", "2018-06-12")
    AppendReport(added=1, unchanged=0)
    >>> from pressure_forecast._frames import trajectory_frame
    >>> t = case.trajectory(start="2018-06-01", end="2018-06-30")
    >>> df = trajectory_frame(t)
    >>> df.shape, list(df.columns)[-2:]
    ((30, 5), ['signals_used', 'signal_types'])
    >>> df.loc["2018-06-12", "signal_types"]
    'summit_held'
    >>> trajectory_frame(t, regimes=True).shape[0]
    30
    >>> trajectory_frame(t, long=True).shape
    (90, 3)
    """
    index = pd.DatetimeIndex(pd.to_datetime(t.dates), name="date")
    df = pd.DataFrame(t.probabilities, columns=t.outcomes, index=index)
    if regimes:
        reg = pd.DataFrame(t.regime_probabilities, columns=[f"regime:{r}" for r in t.regimes], index=index)
        df = pd.concat([df, reg], axis=1)
    if long:
        out = df.reset_index().melt(id_vars="date", var_name="outcome", value_name="probability")
        return out
    df["signals_used"] = t.signals_used
    df["signal_types"] = [", ".join(types) for types in t.signal_types]
    return df


def trajectory_html(t: Any) -> str:
    """A trajectory as HTML (``Trajectory._repr_html_``): the days with signals, or every day when none has.

    Parameters
    ----------
    t : Trajectory
        The trajectory.

    Returns
    -------
    str
        HTML: a title and a table of at most 30 rows.

    Examples
    --------
    >>> import pressure_forecast as pf
    >>> case = pf.Case("demo", "USA", "PRK", "2017-01-20", "2021-01-20")
    >>> case.observe("summit_held", "2018-06-12")
    AppendReport(added=1, unchanged=0)
    >>> from pressure_forecast._frames import trajectory_html
    >>> html = trajectory_html(case.trajectory(start="2018-06-01", end="2018-06-30"))
    >>> "30 days, days with signals shown" in html
    True
    """
    df = trajectory_frame(t)
    marked = df[df["signal_types"] != ""]
    shown = marked if len(marked) else df
    what = "days with signals" if len(marked) else "days"
    return _title(f"Trajectory of {t.case}: {len(df)} days, {what} shown") + _table(shown)


# ---------------------------------------------------------------------------------------------------- results


def _explanation_frame(e: Any, long: bool = False) -> pd.DataFrame:
    outcomes = e.outcomes
    rows = []
    drops = dict(enumerate(e.drop_one))
    for i, c in enumerate(e.contributions):
        s = c["signal"]
        row: dict[str, Any] = {"date": pd.Timestamp(s["date"]), "type": s["type"], "id": s.get("id")}
        for k, o in enumerate(outcomes):
            row[f"delta_{o}"] = c["delta"][k]
        for k, o in enumerate(outcomes):
            row[f"delta_log_odds_{o}"] = c["delta_log_odds"][k]
        d = drops.get(i)
        if d is not None and d["signal"] == s:
            for k, o in enumerate(outcomes):
                row[f"without_{o}"] = d["probabilities"][k]
            for k, o in enumerate(outcomes):
                row[f"drop_one_{o}"] = e.total[o] - d["probabilities"][k]
        rows.append(row)
    columns = ["date", "type", "id"]
    for stem in ("delta", "delta_log_odds", "without", "drop_one"):
        columns += [f"{stem}_{o}" for o in outcomes]
    df = pd.DataFrame(rows, columns=[c for c in columns if not rows or c in rows[0] or c in ("date", "type", "id")])
    df["date"] = pd.to_datetime(df["date"])
    if long:
        parts = []
        for k, o in enumerate(outcomes):
            part = df[["date", "type", "id"]].copy()
            part["order"] = range(len(df))
            part["outcome"] = o
            for stem in ("delta", "delta_log_odds", "without", "drop_one"):
                if f"{stem}_{o}" in df:
                    part[stem] = df[f"{stem}_{o}"].to_numpy()
            part["_k"] = k
            parts.append(part)
        if not parts:
            return pd.DataFrame(columns=["date", "type", "id", "order", "outcome", "delta"])
        out = pd.concat(parts).sort_values(["order", "_k"], kind="stable").drop(columns="_k")
        return out.reset_index(drop=True)
    return df.set_index("date")


def _voi_frame(v: Any, long: bool = False) -> pd.DataFrame:
    rows = []
    for x in v.values:
        row: dict[str, Any] = {
            "signal_type": x["signal_type"],
            "probability": x["probability"],
            "share": x["share"],
            "score": x["score"],
        }
        for k, o in enumerate(v.outcomes):
            row[f"delta_{o}"] = x["delta"][k]
        for k, o in enumerate(v.outcomes):
            row[f"if_observed_{o}"] = x["forecast_if_observed"][k]
        rows.append(row)
    df = pd.DataFrame(rows).set_index("signal_type")
    if long:
        parts = []
        for o in v.outcomes:
            part = df[["probability", "share", "score"]].reset_index()
            part.insert(1, "outcome", o)
            part["delta"] = df[f"delta_{o}"].to_numpy()
            part["if_observed"] = df[f"if_observed_{o}"].to_numpy()
            part["_rank"] = range(len(part))
            parts.append(part)
        return pd.concat(parts).sort_values("_rank", kind="stable").drop(columns="_rank").reset_index(drop=True)
    return df


def _what_if_frame(w: Any, long: bool = False) -> pd.DataFrame:
    b, s = w.baseline, w.scenario
    df = pd.DataFrame(
        {
            "baseline": [b.probabilities[o] for o in b.outcomes],
            "scenario": [s.probabilities.get(o) for o in b.outcomes],
            "delta": [w.delta[o] for o in b.outcomes],
        },
        index=pd.Index(b.outcomes, name="outcome"),
    )
    if long:
        out = (
            df[["baseline", "scenario"]]
            .reset_index()
            .melt(id_vars="outcome", var_name="forecast", value_name="probability")
        )
        out.insert(0, "as_of", pd.Timestamp(b.as_of))
        return out
    return df


def _backtest_frame(r: Any, long: bool = False) -> pd.DataFrame:
    rows = {"model": r.scores, **r.baselines}
    order = ["model", "uniform", "base_rate", "prior"]
    df = pd.DataFrame.from_dict(rows, orient="index")[["brier", "log_score", "ece"]]
    df = df.reindex([k for k in order if k in df.index]).rename_axis("forecaster")
    if long:
        return df.reset_index().melt(id_vars="forecaster", var_name="score", value_name="value")
    return df


def _fit_frame(r: Any, long: bool = False) -> pd.DataFrame:
    ll, obj = r.log_likelihood, r.objective
    n = max(len(ll), len(obj))
    df = pd.DataFrame(
        {"log_likelihood": ll + [float("nan")] * (n - len(ll)), "objective": obj + [float("nan")] * (n - len(obj))},
        index=pd.RangeIndex(n, name="iteration"),
    )
    if long:
        return df.reset_index().melt(id_vars="iteration", var_name="quantity", value_name="value")
    return df


_FRAMES = {
    "Explanation": _explanation_frame,
    "ValueOfInformation": _voi_frame,
    "WhatIf": _what_if_frame,
    "BacktestReport": _backtest_frame,
    "FitReport": _fit_frame,
}


def to_pandas(obj: Any, long: bool = False) -> pd.DataFrame:
    """The DataFrame of a result class: the ``to_pandas`` of every result but Forecast and Trajectory.

    Parameters
    ----------
    obj : Explanation, ValueOfInformation, WhatIf, BacktestReport or FitReport
        The result.
    long : bool, default False
        The tidy form. Explanation: one row per signal and outcome (``date``, ``type``, ``id``, ``order``,
        ``outcome``, ``delta``, ``delta_log_odds``, ``without``, ``drop_one``); ValueOfInformation: one per signal
        type and outcome; WhatIf: one per outcome and forecast (baseline, scenario); BacktestReport: one per
        forecaster and score; FitReport: one per iteration and quantity.

    Returns
    -------
    pandas.DataFrame
        Explanation: one row per signal, indexed by its date (``delta_<outcome>`` is the sequential attribution,
        ``drop_one_<outcome>`` the forecast minus the forecast without the signal, ``without_<outcome>``);
        ValueOfInformation: one per signal type; WhatIf: one per outcome; BacktestReport: one per forecaster;
        FitReport: one per EM iteration.

    Examples
    --------
    >>> import pressure_forecast as pf
    >>> case = pf.Case("demo", "USA", "PRK", "2017-01-20", "2021-01-20")
    >>> case.observe("summit_held", "2018-06-12")
    AppendReport(added=1, unchanged=0)
    >>> from pressure_forecast._frames import to_pandas
    >>> w = case.what_if([pf.Signal("talks_refused", "2018-08-01")], as_of="2018-09-01")
    >>> list(to_pandas(w).columns)
    ['baseline', 'scenario', 'delta']
    """
    return _FRAMES[type(obj).__name__](obj, long)


def result_repr(obj: Any) -> str:
    """The one-line ``repr`` of a result class (Explanation, ValueOfInformation, WhatIf, BacktestReport).

    Parameters
    ----------
    obj : Explanation, ValueOfInformation, WhatIf or BacktestReport
        The result.

    Returns
    -------
    str
        The class name and the result's headline numbers; ``"<name>()"`` for another class.

    Examples
    --------
    >>> import pressure_forecast as pf
    >>> case = pf.Case("demo", "USA", "PRK", "2017-01-20", "2021-01-20")
    >>> case.observe("summit_held", "2018-06-12")
    AppendReport(added=1, unchanged=0)
    >>> from pressure_forecast._frames import result_repr
    >>> result_repr(case.explain(as_of="2018-07-01"))
    "Explanation(case='demo', as_of=2018-07-01, signals=1, largest: summit_held 2018-06-12)"
    """
    name = type(obj).__name__
    if name == "Explanation":
        top = sorted(obj.contributions, key=lambda c: -max(abs(x) for x in c["delta"]))[:3]
        moved = ", ".join(f"{c['signal']['type']} {c['signal']['date']}" for c in top)
        return f"Explanation(case={obj.case!r}, as_of={obj.as_of}, signals={len(obj.contributions)}, largest: {moved})"
    if name == "ValueOfInformation":
        ranked = ", ".join(f"{x['signal_type']} ({x['score']:.4f})" for x in obj.values[:3])
        return f"ValueOfInformation(case={obj.case!r}, as_of={obj.as_of}, top: {ranked})"
    if name == "WhatIf":
        d = ", ".join(f"{o}={x:+.3f}" for o, x in obj.delta.items())
        return f"WhatIf(case={obj.baseline.case!r}, as_of={obj.baseline.as_of}, delta: {d})"
    if name == "BacktestReport":
        s = obj.scores
        return (
            f"BacktestReport(model={obj.model!r}, episodes={obj.episodes}, loo={obj.loo}, brier={s['brier']:.4f}, "
            f"log_score={s['log_score']:.4f}, ece={s['ece']:.4f})"
        )
    return f"{name}()"


def result_html(obj: Any) -> str:
    """A result class as HTML (its ``_repr_html_``): the repr as a title and the table of :func:`to_pandas`.

    Parameters
    ----------
    obj : Explanation, ValueOfInformation, WhatIf, BacktestReport or FitReport
        The result.

    Returns
    -------
    str
        HTML.

    Examples
    --------
    >>> import pressure_forecast as pf
    >>> case = pf.Case("demo", "USA", "PRK", "2017-01-20", "2021-01-20")
    >>> case.observe("summit_held", "2018-06-12")
    AppendReport(added=1, unchanged=0)
    >>> from pressure_forecast._frames import result_html
    >>> result_html(case.value_of_information(as_of="2018-07-01")).startswith("<p><strong>ValueOfInformation(")
    True
    """
    name = type(obj).__name__
    title = result_repr(obj) if name != "FitReport" else repr(obj)
    if name == "Explanation":
        note = f"<p><small>{html.escape(ATTRIBUTION_NOTE)}</small></p>"
        return _title(title) + note + _table(to_pandas(obj))
    return _title(title) + _table(to_pandas(obj))
