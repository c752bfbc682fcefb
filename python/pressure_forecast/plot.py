"""matplotlib figures for a report: trajectories, scenarios, many cases, attributions, forecasts and backtests.

matplotlib is an optional dependency (``pip install "pressure_forecast[plot]"``); the package imports without
it, and these functions say how to install it when it is missing. Each returns the matplotlib ``Axes`` and draws
in the package's one style (:mod:`pressure_forecast.plot_style`).

=============================  ===================================================================================
function                       figure
=============================  ===================================================================================
:func:`plot_trajectory`        outcome probabilities over time, 90% credible bands from parameter draws, the
                               signals as ticks and the few that moved the forecast most named
:func:`plot_scenarios`         one case under two policies: two forecasts (bars) or two trajectories (lines)
:func:`plot_cases`             many cases side by side, each outcome with its 90% credible interval
:func:`plot_attribution`       the attribution waterfall of one outcome, from the no-signal baseline to the total
:func:`plot_reliability`       reliability diagram of a backtest with bootstrap bands
:func:`plot_forecast`          one forecast's outcome probabilities as bars
=============================  ===================================================================================
"""

from __future__ import annotations

import datetime as _dt
import warnings
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from pressure_forecast import plot_style as _s

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.axes import Axes

    from pressure_forecast._native import BacktestReport, BacktestReportV2, Case, Explanation, Forecast, Trajectory

__all__ = [
    "credible_bands",
    "plot_attribution",
    "plot_cases",
    "plot_forecast",
    "plot_reliability",
    "plot_scenarios",
    "plot_trajectory",
    "reliability_forecasts",
]


def _axes(ax: Axes | None, size: tuple[float, float] = (10.0, 5.0)) -> Axes:
    if ax is not None:
        return ax
    plt = _s.pyplot()
    _, new = plt.subplots(figsize=size, layout="constrained")
    return new  # type: ignore[no-any-return]


def _pts(x: float) -> str:
    """A change of probability in percentage points, signed."""
    return f"{100 * x:+.1f} pts"


def _level_text(level: float) -> str:
    return f"{100 * level:g}%"


# ------------------------------------------------------------------------------------------------- trajectories


def credible_bands(
    case: Case,
    dates: Sequence[Any],
    draws: int = 200,
    level: float = 0.9,
    seed: int = 0,
    model: Any = None,
) -> pd.DataFrame:
    """Equal-tailed credible bands of a case's forecast at some dates, from parameter draws.

    Each date is forecast with ``draws`` parameter sets (``forecast_many``, in parallel); the band is the central
    ``level`` interval of the draws.

    Parameters
    ----------
    case : Case
        The case.
    dates : sequence of date
        The dates (as-of dates: each forecast uses the signals up to it).
    draws : int, default 200
        Parameter draws per date.
    level : float, default 0.9
        The band's probability.
    seed : int, default 0
        Seed of the draws (the same for every date, so the band is smooth in time).
    model : Model, optional
        Another model than the case's own.

    Returns
    -------
    pandas.DataFrame
        Indexed by ``date`` (a ``DatetimeIndex``); two columns per outcome, ``<outcome>_lower`` and
        ``<outcome>_upper``.

    Examples
    --------
    >>> import pressure_forecast as pf
    >>> case = pf.datasets.north_korea()
    >>> bands = credible_bands(case, ["2018-01-01", "2018-06-30"], draws=50)
    >>> bands.shape, bool((bands["deal_lower"] <= bands["deal_upper"]).all())
    ((2, 6), True)
    """
    import pandas as pd

    from pressure_forecast._native import forecast_many

    stamps = [pd.Timestamp(d).date() for d in dates]
    fs = forecast_many(
        [case] * len(stamps), as_of=stamps, model=model, draws=draws, seed=seed, levels=level, progress=False
    )
    rows = []
    for f in fs:
        bounds = f.interval(level)
        row = {}
        for o in f.outcomes:
            row[f"{o}_lower"], row[f"{o}_upper"] = bounds[o]
        rows.append(row)
    return pd.DataFrame(rows, index=pd.DatetimeIndex(pd.to_datetime(stamps), name="date"))


def _signal_moves(case: Case, as_of: _dt.date, model: Any) -> list[tuple[Any, str, str, float]]:
    """(date, type, outcome moved most, its change) per signal up to as_of, from the sequential attribution."""
    import pandas as pd

    e = case.explain(as_of=as_of, model=model)
    out = []
    for c in e.contributions:
        k = int(np.argmax(np.abs(c["delta"])))
        out.append((pd.Timestamp(c["signal"]["date"]), c["signal"]["type"], e.outcomes[k], float(c["delta"][k])))
    return out


def plot_trajectory(
    trajectory: Trajectory,
    ax: Axes | None = None,
    case: Case | None = None,
    *,
    draws: int = 200,
    level: float = 0.9,
    seed: int = 0,
    band_points: int = 40,
    label_top: int = 5,
    model: Any = None,
) -> Axes:
    """Plot outcome probabilities over time with credible bands, the signals as ticks and the largest named.

    With ``case``: a ``level`` credible band per outcome from ``draws`` parameter draws at ``band_points`` dates
    (:func:`credible_bands`), every signal as a light tick along the bottom, and the ``label_top`` signals that
    moved the forecast most (their sequential attribution at the trajectory's last day, :meth:`Case.explain`)
    marked on the curve of the outcome they moved and named with the change. Without it, the days with signals are
    ticks and there is no band. The y axis is the probability in [0, 1].

    Parameters
    ----------
    trajectory : Trajectory
        The daily forecasts (``Case.trajectory``).
    ax : matplotlib.axes.Axes, optional
        Where to draw; a new figure when None.
    case : Case, optional
        The case the trajectory is of: its signals, bands, names for the title.
    draws : int, default 200
        Parameter draws per band date (0: no band).
    level : float, default 0.9
        The band's probability (said in the legend).
    seed : int, default 0
        Seed of the draws.
    band_points : int, default 40
        Dates the band is computed at (evenly spread, plus the last day).
    label_top : int, default 5
        How many signals are named.
    model : Model, optional
        The model the trajectory was made with, when not the case's own.

    Returns
    -------
    matplotlib.axes.Axes
        The axes drawn on.

    Examples
    --------
    >>> import pressure_forecast as pf
    >>> case = pf.Case("demo", "USA", "PRK", "2017-01-20", "2021-01-20")
    >>> case.observe("summit_held", "2018-06-12")
    AppendReport(added=1, unchanged=0)
    >>> ax = plot_trajectory(case.trajectory(end="2018-07-01"), case=case, draws=50)
    >>> ax.get_ylabel(), [float(y) for y in ax.get_ylim()]
    ('probability by the term end', [0.0, 1.0])
    """
    import pandas as pd

    with _s.style():
        ax = _axes(ax)
        dates = pd.DatetimeIndex(pd.to_datetime(trajectory.dates))
        probs = trajectory.probabilities
        outcomes = list(trajectory.outcomes)
        x: Any = dates  # matplotlib takes dates where its stubs say float
        for i, o in enumerate(outcomes):
            ax.plot(x, probs[:, i], label=o, color=_s.outcome_colour(o, i), linewidth=2.0, zorder=3)
        n_signals = 0
        if case is not None and len(dates):
            if draws > 0 and band_points > 1:
                grid = pd.DatetimeIndex(
                    sorted({*pd.date_range(dates[0], dates[-1], periods=band_points).normalize(), dates[-1]})
                )
                bands = credible_bands(case, list(grid), draws=draws, level=level, seed=seed, model=model)
                for i, o in enumerate(outcomes):
                    colour = _s.outcome_colour(o, i)
                    ax.fill_between(
                        bands.index,
                        bands[f"{o}_lower"],
                        bands[f"{o}_upper"],
                        color=colour,
                        alpha=_s.BAND_ALPHA,
                        linewidth=0,
                        zorder=1,
                    )
                    for edge in ("lower", "upper"):
                        ax.plot(bands.index, bands[f"{o}_{edge}"], color=colour, linewidth=0.7, alpha=0.7, zorder=2)
                ax.fill_between(
                    [], [], [], color="0.5", alpha=0.3, label=f"{_level_text(level)} credible band ({draws} draws)"
                )
            moves = [m for m in _signal_moves(case, dates[-1].date(), model) if m[0] >= dates[0]]
            n_signals = len(moves)
            _signal_ticks(ax, [m[0] for m in moves])
            _label_moves(ax, moves, dates, probs, outcomes, label_top)
            title = _s.case_title(case.sender, case.target)
            sub = f"{case.id}: outcome probabilities by the term end {trajectory.term_end}, {n_signals} signals"
        else:
            marks = [d for d, types in zip(dates, trajectory.signal_types, strict=True) for _ in types]
            n_signals = len(marks)
            _signal_ticks(ax, marks)
            sub = f"outcome probabilities by the term end {trajectory.term_end}, {n_signals} signals"
            title = f"Case {trajectory.case}"
        _s.finish(ax, title, sub)
        ax.set_ylim(0.0, 1.0)
        if len(dates):
            first: Any = dates[0]
            last: Any = dates[-1]
            ax.set_xlim(first, last)
        ax.set_ylabel("probability by the term end")
        _s.date_axis(ax)
        ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0))
    return ax


def _signal_ticks(ax: Axes, dates: Sequence[Any]) -> None:
    if not dates:
        return
    x: Any = list(dates)
    ax.vlines(x, 0.0, 0.035, color="0.35", alpha=0.45, linewidth=0.7, zorder=2, gid="signal-ticks")
    ax.plot([], [], marker="|", linestyle="", markersize=9, color="0.35", label=f"signal ({len(dates)})")


def _label_moves(
    ax: Axes,
    moves: list[tuple[Any, str, str, float]],
    dates: Any,
    probs: Any,
    outcomes: list[str],
    top: int,
) -> None:
    if top <= 0 or not moves:
        return
    chosen = sorted(range(len(moves)), key=lambda i: -abs(moves[i][3]))[:top]
    chosen.sort(key=lambda i: moves[i][0])
    # The labels are spread evenly along the top in date order, in two alternating rows, each joined to its
    # marker on the curve by a thin line: signals days apart never overlap.
    rows = [0.975, 0.86]
    for n, i in enumerate(chosen):
        d, kind, o, delta = moves[i]
        k = outcomes.index(o)
        pos = int(np.clip(dates.searchsorted(d), 0, len(dates) - 1))
        y = float(probs[pos, k])
        colour = _s.outcome_colour(o, k)
        x: Any = d
        ax.plot([x], [y], marker="o", markersize=6, color=colour, markeredgecolor="white", zorder=5)
        slot = 0.5 if len(chosen) == 1 else 0.12 + 0.76 * n / (len(chosen) - 1)
        ax.annotate(
            f"{kind}\n{d:%Y-%m-%d}: {o} {_pts(delta)}",
            xy=(x, y),
            xytext=(slot, rows[n % len(rows)]),
            textcoords="axes fraction",
            ha="center",
            va="top",
            fontsize=7.5,
            color="0.15",
            bbox={"boxstyle": "round,pad=0.25", "fc": "white", "ec": colour, "lw": 0.8, "alpha": 0.92},
            arrowprops={"arrowstyle": "-", "color": colour, "lw": 0.7, "alpha": 0.8, "shrinkA": 0, "shrinkB": 3},
            zorder=6,
            gid="signal-label",
        )
    ax.plot([], [], marker="o", linestyle="", color="0.3", label=f"largest moves (top {len(chosen)} named)")


# ---------------------------------------------------------------------------------------------------- scenarios


def plot_scenarios(
    first: Forecast | Trajectory,
    second: Forecast | Trajectory,
    labels: tuple[str, str] = ("policy A", "policy B"),
    ax: Axes | None = None,
    case: Case | None = None,
    level: float = 0.9,
) -> Axes:
    """Compare one case under two policies: two forecasts as paired bars, or two trajectories as lines.

    Forecasts: for each outcome a bar per policy, with the ``level`` credible interval when the forecasts were
    made with draws, and the value over each bar. Trajectories: per outcome a solid line (first) and a dashed one
    (second).

    Parameters
    ----------
    first, second : Forecast or Trajectory
        The two results, both forecasts or both trajectories (for instance ``Case.forecast`` and
        ``Case.what_if(...).scenario``).
    labels : tuple of str, default ("policy A", "policy B")
        The two policies' names, for the legend.
    ax : matplotlib.axes.Axes, optional
        Where to draw; a new figure when None.
    case : Case, optional
        The case, for a title with the countries' names.
    level : float, default 0.9
        The interval shown on bars (one of the levels the forecasts were made with).

    Returns
    -------
    matplotlib.axes.Axes
        The axes drawn on.

    Examples
    --------
    >>> import pressure_forecast as pf
    >>> case = pf.datasets.north_korea()
    >>> w = case.what_if([pf.Signal("summit_held", "2018-11-15")], as_of="2018-12-31")
    >>> ax = plot_scenarios(w.baseline, w.scenario, labels=("as observed", "with a second summit"), case=case)
    >>> [t.get_text() for t in ax.get_legend().get_texts()]
    ['as observed', 'with a second summit']
    """
    import pandas as pd

    kinds = {type(first).__name__, type(second).__name__}
    if len(kinds) != 1 or not kinds <= {"Forecast", "Trajectory"}:
        raise TypeError(f"plot_scenarios takes two Forecasts or two Trajectories, not {' and '.join(sorted(kinds))}")
    title = _s.case_title(case.sender, case.target) if case is not None else f"Case {first.case}"
    with _s.style():
        if type(first).__name__ == "Forecast":
            ax = _axes(ax, (8.0, 4.8))
            fa: Any = first
            fb: Any = second
            outcomes = list(fa.outcomes)
            xs = np.arange(len(outcomes))
            width = 0.38
            any_interval = False
            for j, (f, lab) in enumerate(((fa, labels[0]), (fb, labels[1]))):
                p = np.array([f.probabilities[o] for o in outcomes])
                err = None
                if f.intervals is not None and any(abs(i["level"] - level) < 1e-12 for i in f.intervals["intervals"]):
                    iv = f.interval(level)
                    err = np.array([[p[k] - iv[o][0], iv[o][1] - p[k]] for k, o in enumerate(outcomes)]).T.clip(0)
                    any_interval = True
                colours = [_s.outcome_colour(o, k) for k, o in enumerate(outcomes)]
                bars = ax.bar(
                    xs + (j - 0.5) * width,
                    p,
                    width * 0.95,
                    yerr=err,
                    capsize=4,
                    color=colours,
                    alpha=1.0 if j == 0 else 0.55,
                    hatch=None if j == 0 else "//",
                    edgecolor="white" if j == 0 else "0.25",
                    linewidth=0.6,
                    label=lab,
                    error_kw={"elinewidth": 1.0, "ecolor": "0.2"},
                )
                tops = p if err is None else p + err[1]
                for b, v, top in zip(bars, p, tops, strict=True):
                    ax.text(b.get_x() + b.get_width() / 2, top + 0.015, f"{100 * v:.0f}%", ha="center", fontsize=8)
            ax.set_xticks(xs, outcomes)
            ax.set_ylim(0.0, 1.0)
            ax.set_ylabel("probability by the term end")
            ax.set_xlabel("outcome")
            ax.grid(axis="x", visible=False)
            handles, texts = ax.get_legend_handles_labels()
            ax.legend(handles, texts, loc="upper right")
            what = f"as of {fa.as_of}" + (f"; whiskers: {_level_text(level)} credible interval" if any_interval else "")
            _s.finish(ax, title, f"two policies compared, {what}")
            _s.percent_axis(ax)
        else:
            ax = _axes(ax, (10.0, 5.0))
            ta: Any = first
            tb: Any = second
            for j, (t, lab) in enumerate(((ta, labels[0]), (tb, labels[1]))):
                dates: Any = pd.to_datetime(t.dates)
                for k, o in enumerate(t.outcomes):
                    ax.plot(
                        dates,
                        t.probabilities[:, k],
                        color=_s.outcome_colour(o, k),
                        linestyle="-" if j == 0 else "--",
                        linewidth=2.0 if j == 0 else 1.6,
                        label=f"{o} ({lab})",
                    )
            ax.set_ylim(0.0, 1.0)
            ax.set_ylabel("probability by the term end")
            _s.date_axis(ax)
            ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0))
            _s.finish(ax, title, f"two policies compared: solid {labels[0]}, dashed {labels[1]}")
    return ax


# ---------------------------------------------------------------------------------------------------- many cases


def plot_cases(
    forecasts: Sequence[Forecast],
    cases: Sequence[Case] | None = None,
    ax: Axes | None = None,
    level: float = 0.9,
) -> Axes:
    """Many cases side by side: for each case a row, each outcome a dot with its credible interval.

    Parameters
    ----------
    forecasts : sequence of Forecast
        One forecast per case (``pf.compare`` or ``forecast_many``; with ``draws`` for the intervals).
    cases : sequence of Case, optional
        The cases, in the same order, for row labels with the countries' names (else the case ids).
    ax : matplotlib.axes.Axes, optional
        Where to draw; a new figure when None.
    level : float, default 0.9
        The interval shown (one of the levels the forecasts were made with).

    Returns
    -------
    matplotlib.axes.Axes
        The axes drawn on.

    Examples
    --------
    >>> import pressure_forecast as pf
    >>> cases = [pf.datasets.north_korea(), pf.datasets.iran()]
    >>> fs = pf.forecast_many(cases, as_of="2018-10-31", draws=100)
    >>> ax = plot_cases(fs, cases=cases)
    >>> [t.get_text().splitlines()[0] for t in ax.get_yticklabels()]
    ['United States presses North Korea', 'United States presses Iran']
    """
    fs = list(forecasts)
    if cases is not None and len(cases) != len(fs):
        raise ValueError(f"{len(fs)} forecasts but {len(cases)} cases")
    names = (
        [f"{_s.case_title(c.sender, c.target)}\n{c.id}" for c in cases]
        if cases is not None
        else [f"case {f.case}" for f in fs]
    )
    outcomes: list[str] = list(fs[0].outcomes) if fs else []
    with _s.style():
        ax = _axes(ax, (9.0, 1.4 + 0.9 * max(len(fs), 1)))
        offsets = np.linspace(-0.22, 0.22, max(len(outcomes), 1))
        has_iv = False
        for k, o in enumerate(outcomes):
            ys = np.arange(len(fs)) + offsets[k]
            p = np.array([f.probabilities.get(o, np.nan) for f in fs])
            lo, hi = p.copy(), p.copy()
            for n, f in enumerate(fs):
                if f.intervals is not None and any(abs(i["level"] - level) < 1e-12 for i in f.intervals["intervals"]):
                    lo[n], hi[n] = f.interval(level)[o]
                    has_iv = True
            colour = _s.outcome_colour(o, k)
            ax.hlines(ys, lo, hi, color=colour, linewidth=2.2, alpha=0.6)
            ax.plot(p, ys, "o", color=colour, markersize=7, label=o, markeredgecolor="white")
            for xv, hv, yv in zip(p, hi, ys, strict=True):
                ax.text(hv + 0.01, yv, f"{100 * xv:.0f}%", ha="left", va="center", fontsize=7.5, color=colour)
        ax.set_yticks(np.arange(len(fs)), names)
        ax.invert_yaxis()
        ax.set_xlim(0.0, 1.0)
        ax.set_xlabel("probability by the term end")
        _s.percent_axis(ax, "x")
        ax.grid(axis="y", visible=False)
        if has_iv:
            ax.hlines([], 0, 0, color="0.5", linewidth=2.2, alpha=0.6, label=f"{_level_text(level)} credible interval")
        ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0))
        as_of = sorted({str(f.as_of) for f in fs})
        _s.finish(ax, "Cases compared", f"forecasts as of {', '.join(as_of)}")
    return ax


# ------------------------------------------------------------------------------------------------- attribution


def plot_attribution(
    explanation: Explanation,
    outcome: str | None = None,
    ax: Axes | None = None,
    top: int = 12,
    case: Case | None = None,
) -> Axes:
    """Plot the attribution waterfall of one outcome's probability, each step with its value.

    From the no-signal baseline, each signal's change in date order (the sequential attribution: the ``top``
    largest get a bar; the rest are pooled as "other signals") up to the forecast with every signal. The axis
    starts at 0, so the baseline's bar is whole.

    Parameters
    ----------
    explanation : Explanation
        The attribution (``Case.explain``).
    outcome : str, optional
        The outcome to show; by default the one that moved most.
    ax : matplotlib.axes.Axes, optional
        Where to draw; a new figure when None.
    top : int, default 12
        How many signals get their own bar.
    case : Case, optional
        The case, for a title with the countries' names.

    Returns
    -------
    matplotlib.axes.Axes
        The axes drawn on.

    Examples
    --------
    >>> import pressure_forecast as pf
    >>> case = pf.Case("demo", "USA", "PRK", "2017-01-20", "2021-01-20")
    >>> case.observe("summit_held", "2018-06-12")
    AppendReport(added=1, unchanged=0)
    >>> ax = plot_attribution(case.explain(as_of="2018-07-01"), outcome="deal")
    >>> len(ax.patches) >= 3, float(ax.get_xlim()[0])
    (True, 0.0)
    """
    outcomes = explanation.outcomes
    outcome = outcome or max(outcomes, key=lambda o: abs(explanation.total[o] - explanation.baseline[o]))
    if outcome not in outcomes:
        from pressure_forecast._native import UnknownOutcomeError

        raise UnknownOutcomeError(f"unknown outcome `{outcome}`: expected one of {', '.join(outcomes)}")
    k = outcomes.index(outcome)
    steps = [(f"{c['signal']['date']}  {c['signal']['type']}", c["delta"][k]) for c in explanation.contributions]
    n_all = len(steps)
    if len(steps) > top:
        keep = set(sorted(range(len(steps)), key=lambda i: -abs(steps[i][1]))[:top])
        rest = sum(steps[i][1] for i in range(len(steps)) if i not in keep)
        steps = [steps[i] for i in sorted(keep)] + [(f"{n_all - len(keep)} other signals", rest)]
    base, total = explanation.baseline[outcome], explanation.total[outcome]
    with _s.style():
        ax = _axes(ax, (10.0, 0.36 * (len(steps) + 2) + 1.6))
        labels = ["baseline (no signals)", *[s[0] for s in steps], "forecast (all signals)"]
        y = list(range(len(labels)))[::-1]
        ax.barh(y[0], base, color=_s.NEUTRAL, alpha=0.55, label="baseline and forecast", height=0.7)
        ax.text(base, y[0], f"  {100 * base:.1f}%", va="center", fontsize=8)
        level = base
        levels = [base]
        raised = lowered = False
        for i, (_, d) in enumerate(steps, start=1):
            up = d >= 0
            lab = None
            if up and not raised:
                lab, raised = f"raised P({outcome})", True
            elif not up and not lowered:
                lab, lowered = f"lowered P({outcome})", True
            ax.barh(y[i], d, left=level, color=_s.RAISE if up else _s.LOWER, height=0.7, label=lab)
            ax.plot([level, level], [y[i - 1] - 0.35, y[i] + 0.35], color="0.55", linewidth=0.6, linestyle=":")
            level += d
            levels.append(level)
            ax.text(max(level, level - d), y[i], f"  {_pts(d)}", va="center", fontsize=8, color="0.15")
        ax.plot([level, level], [y[-2] - 0.35, y[-1] + 0.35], color="0.55", linewidth=0.6, linestyle=":")
        ax.barh(y[-1], total, color=_s.NEUTRAL, height=0.7)
        ax.text(total, y[-1], f"  {100 * total:.1f}%", va="center", fontsize=8, fontweight="bold")
        ax.set_yticks(y, labels, fontsize=8)
        ax.grid(axis="y", visible=False)
        right = max([*levels, total, base]) + 0.12
        ax.set_xlim(0.0, min(1.0, max(right, 0.1)) if right <= 1.0 else right)
        ax.set_xlabel(f"P({outcome}) by the term end")
        _s.percent_axis(ax, "x")
        ax.axvline(base, color="0.5", linewidth=0.6, linestyle=":")
        ax.legend(loc="upper right")
        title = _s.case_title(case.sender, case.target) if case is not None else f"Case {explanation.case}"
        _s.finish(
            ax,
            title,
            f"what moved P({outcome}) as of {explanation.as_of}: each signal's change in date order "
            f"(sequential attribution, {n_all} signals, in percentage points)",
            wrap=80,
        )
    return ax


# --------------------------------------------------------------------------------------------------- backtests


def _reliability_points(
    p: Any, hit: Any, edges: Any
) -> tuple[Any, Any, Any]:  # mean forecast, observed frequency, count per bin
    idx = np.clip(np.digitize(p, edges[1:-1]), 0, len(edges) - 2)
    n = np.bincount(idx, minlength=len(edges) - 1).astype(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.bincount(idx, weights=p, minlength=len(edges) - 1) / n
        obs = np.bincount(idx, weights=hit, minlength=len(edges) - 1) / n
    return mean, obs, n


def reliability_forecasts(episodes: Sequence[Any], model: Any = None, at: float = 0.5) -> tuple[list[str], Any, Any]:
    """Per-episode forecasts at a point of each term, and what happened: the data of a reliability diagram.

    Parameters
    ----------
    episodes : sequence of Episode
        Finished episodes (those marked ``exclude_from_training`` are left out, as ``backtest`` leaves them out).
    model : Model, optional
        The model (default: each episode's case with the default model).
    at : float, default 0.5
        Where in each term to forecast, as a fraction from the start (0) to the term end (1).

    Returns
    -------
    tuple
        The outcomes, an array of forecasts (episodes x outcomes) and the index of each episode's outcome.
    """
    import pandas as pd

    from pressure_forecast._native import forecast_many

    episodes = [e for e in episodes if not e.exclude_from_training]  # as the backtest leaves them out
    cases = [e.case(model) for e in episodes]
    dates = [(pd.Timestamp(c.start) + (pd.Timestamp(c.term_end) - pd.Timestamp(c.start)) * at).date() for c in cases]
    fs = forecast_many(cases, as_of=dates, progress=False)
    outcomes = list(fs[0].outcomes) if fs else []
    probs = np.array([[f.probabilities[o] for o in outcomes] for f in fs], dtype=float).reshape(len(fs), -1)
    truth = np.array([outcomes.index(e.outcome) if e.outcome in outcomes else -1 for e in episodes])
    return outcomes, probs, truth


def plot_reliability(
    report: BacktestReport | BacktestReportV2,
    ax: Axes | None = None,
    episodes: Sequence[Any] | None = None,
    model: Any = None,
    at: float = 0.5,
    bins: int = 5,
    bootstrap: int = 1000,
    level: float = 0.9,
    seed: int = 0,
) -> Axes:
    """Plot the reliability diagram of a backtest, with bootstrap bands over its episodes.

    With ``episodes`` (those of the backtest, and its ``model``): each episode's forecast at the fraction ``at`` of
    its term (halfway by default; on the term end the outcome is known and every forecast is 0 or 1), for each
    outcome one-vs-rest, binned in ``bins`` equal-width bins; each bin's observed frequency against its mean
    forecast, the marker's area following its number of episodes, and as vertical bars the central ``level``
    interval of the observed frequency over ``bootstrap`` resamplings of the episodes. Without them: the report's
    own reliability bins (every day of every episode, weighted as its ECE), with no band. The diagonal is perfect
    calibration.

    Parameters
    ----------
    report : BacktestReport or BacktestReportV2
        The backtest (``pressure_forecast.backtest``): its model's name, episode count and ECE are in the title.
    ax : matplotlib.axes.Axes, optional
        Where to draw; a new figure when None.
    episodes : sequence of Episode, optional
        The backtest's episodes, for the per-episode forecasts and the bootstrap.
    model : Model, optional
        The backtest's model (default: the default model).
    at : float, default 0.5
        Where in each term the per-episode forecasts are made (0: the start, 1: the term end).
    bins : int, default 5
        Equal-width bins of the forecast probability.
    bootstrap : int, default 1000
        Resamplings of the episodes (0: no band).
    level : float, default 0.9
        The band's probability.
    seed : int, default 0
        Seed of the resampling.

    Returns
    -------
    matplotlib.axes.Axes
        The axes drawn on.

    Examples
    --------
    >>> import pressure_forecast as pf
    >>> episodes = pf.datasets.curated_episodes()[:8]
    >>> report = pf.backtest(pf.Model.default(), episodes, progress=False)
    >>> ax = plot_reliability(report, episodes=episodes, bootstrap=100)
    >>> ax.get_xlabel(), [float(x) for x in (*ax.get_xlim(), *ax.get_ylim())]
    ('mean forecast probability', [0.0, 1.0, 0.0, 1.0])
    """
    edges = np.linspace(0.0, 1.0, bins + 1)
    rng = np.random.default_rng(seed)
    with _s.style():
        ax = _axes(ax, (6.5, 6.2))
        ax.plot([0, 1], [0, 1], color="0.6", linestyle="--", linewidth=1, label="perfect calibration")
        if episodes is None:
            for k, (o, bins_) in enumerate(report.calibration.items()):
                pts = [(b["mean_predicted"], b["observed"], b["weight"]) for b in bins_ if b["weight"] > 0]
                if not pts:
                    continue
                xs, ys, ws = (np.array(v) for v in zip(*pts, strict=True))
                colour = _s.outcome_colour(o, k)
                ax.plot(xs, ys, color=colour, linewidth=1.2, alpha=0.8)
                ax.scatter(xs, ys, s=25 + 250 * ws / ws.sum(), color=colour, edgecolor="white", label=o, zorder=3)
            what = "every day of every episode (the report's bins)"
        else:
            outcomes, probs, truth = reliability_forecasts(episodes, model, at)
            for k, o in enumerate(outcomes):
                p, hit = probs[:, k], (truth == k).astype(float)
                mean, obs, n = _reliability_points(p, hit, edges)
                ok = n > 0
                colour = _s.outcome_colour(o, k)
                if bootstrap > 0 and len(p):
                    draws = np.empty((bootstrap, bins))
                    for b in range(bootstrap):
                        pick = rng.integers(0, len(p), len(p))
                        draws[b] = _reliability_points(p[pick], hit[pick], edges)[1]
                    with np.errstate(invalid="ignore"), warnings.catch_warnings():
                        warnings.simplefilter("ignore", RuntimeWarning)  # a bin empty in every resample
                        lo = np.nanquantile(draws, (1 - level) / 2, axis=0)
                        hi = np.nanquantile(draws, (1 + level) / 2, axis=0)
                    # Side by side when bins of several outcomes fall at the same place.
                    shift = (k - (len(outcomes) - 1) / 2) * 0.006
                    ax.vlines(mean[ok] + shift, lo[ok], hi[ok], color=colour, alpha=0.55, linewidth=2.2)
                ax.plot(mean[ok], obs[ok], color=colour, linewidth=1.2, alpha=0.8)
                ax.scatter(
                    mean[ok],
                    obs[ok],
                    s=25 + 250 * n[ok] / max(len(p), 1),
                    color=colour,
                    edgecolor="white",
                    label=o,
                    zorder=3,
                )
            if bootstrap > 0:
                ax.plot(
                    [],
                    [],
                    color="0.5",
                    alpha=0.55,
                    linewidth=2.2,
                    label=f"{_level_text(level)} bootstrap interval ({bootstrap} resamples)",
                )
            what = f"each episode's forecast {100 * at:g}% of the way through its term, {bins} bins"
        ax.set_xlim(0.0, 1.0)
        ax.set_ylim(0.0, 1.0)
        ax.set_aspect("equal")
        ax.set_xlabel("mean forecast probability")
        ax.set_ylabel("observed frequency")
        _s.percent_axis(ax, "x")
        _s.percent_axis(ax, "y")
        ax.legend(loc="upper left", fontsize=8)
        _s.finish(
            ax,
            f"Reliability of {report.model}",
            f"{report.episodes} episodes{' (leave-one-out)' if report.loo else ''}: {what}; "
            f"ECE {report.scores['ece']:.3f}",
            wrap=70,
        )
    return ax


# ----------------------------------------------------------------------------------------------------- forecast


def plot_forecast(forecast: Forecast, ax: Axes | None = None, case: Case | None = None, level: float = 0.9) -> Axes:
    """Plot the outcome probabilities as bars, with a credible interval when there are draws.

    Parameters
    ----------
    forecast : Forecast
        The forecast (``Case.forecast``).
    ax : matplotlib.axes.Axes, optional
        Where to draw; a new figure when None.
    case : Case, optional
        The case, for a title with the countries' names.
    level : float, default 0.9
        The interval shown (the first level drawn when this one was not).

    Returns
    -------
    matplotlib.axes.Axes
        The axes drawn on.

    Examples
    --------
    >>> import pressure_forecast as pf
    >>> case = pf.Case("demo", "USA", "PRK", "2017-01-20", "2021-01-20")
    >>> case.observe("summit_held", "2018-06-12")
    AppendReport(added=1, unchanged=0)
    >>> ax = plot_forecast(case.forecast(as_of="2018-07-01", draws=200, seed=1))
    >>> len(ax.patches), ax.get_legend().get_texts()[0].get_text()
    (3, '90% credible interval (200 draws)')
    """
    outcomes = forecast.outcomes
    p = [forecast.probabilities[o] for o in outcomes]
    err = None
    iv = forecast.intervals
    label = None
    if iv is not None and iv["intervals"]:
        chosen = next((i for i in iv["intervals"] if abs(i["level"] - level) < 1e-12), iv["intervals"][0])
        # The serde form: bounds in the forecast's outcome order.
        err = [
            [max(0.0, p[i] - chosen["lower"][i]) for i in range(len(outcomes))],
            [max(0.0, chosen["upper"][i] - p[i]) for i in range(len(outcomes))],
        ]
        label = f"{_level_text(chosen['level'])} credible interval ({iv['draws']} draws)"
    with _s.style():
        ax = _axes(ax, (6.0, 4.0))
        bars = ax.bar(
            outcomes,
            p,
            color=[_s.outcome_colour(o, i) for i, o in enumerate(outcomes)],
            width=0.6,
        )
        if err is not None:
            ax.errorbar(outcomes, p, yerr=err, fmt="none", ecolor="0.2", capsize=6, elinewidth=1.2, label=label)
            ax.legend(loc="upper right")
        for b, v in zip(bars, p, strict=True):
            ax.text(b.get_x() + b.get_width() * 0.08, v + 0.015, f"{100 * v:.1f}%", fontsize=9)
        ax.set_ylim(0, 1)
        ax.set_ylabel("probability by the term end")
        ax.set_xlabel("outcome")
        ax.grid(axis="x", visible=False)
        _s.percent_axis(ax)
        title = _s.case_title(case.sender, case.target) if case is not None else f"Case {forecast.case}"
        _s.finish(ax, title, f"forecast as of {forecast.as_of} for the term end {forecast.term_end}")
    return ax
