"""matplotlib plots of trajectories, attributions, forecasts and backtests.

matplotlib is an optional dependency (``pip install "pressure_forecast[plot]"``); the package imports without
it, and these functions say how to install it when it is missing. Each returns the matplotlib ``Axes``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from matplotlib.axes import Axes

    from pressure_forecast._native import BacktestReport, Case, Explanation, Forecast, Trajectory

__all__ = ["plot_attribution", "plot_forecast", "plot_reliability", "plot_trajectory"]

_INSTALL = (
    "plotting needs matplotlib, which is not installed: "
    'pip install "pressure_forecast[plot]" (or pip install matplotlib)'
)

#: One colour per outcome of the v1 vocabulary; other outcomes take matplotlib's cycle.
_COLOURS = {"deal": "#2a9d8f", "stalemate": "#e9c46a", "wait_out": "#e76f51"}


def _pyplot() -> Any:
    try:
        import matplotlib.pyplot as plt
    except ImportError as e:  # pragma: no cover - exercised by the "without matplotlib" test in a subprocess
        raise ImportError(_INSTALL) from e
    return plt


def _axes(ax: Axes | None, size: tuple[float, float] = (9.0, 4.5)) -> Axes:
    if ax is not None:
        return ax
    plt = _pyplot()
    _, new = plt.subplots(figsize=size)
    return new  # type: ignore[no-any-return]


def _colour(outcome: str, i: int) -> str:
    return _COLOURS.get(outcome, f"C{i}")


def plot_trajectory(trajectory: Trajectory, ax: Axes | None = None, case: Case | None = None) -> Axes:
    """Plot outcome probabilities over time, each signal marked at its date.

    Each signal is a tick under the curves with its type written beside it.

    Parameters
    ----------
    trajectory : Trajectory
        The daily forecasts (``Case.trajectory``).
    ax : matplotlib.axes.Axes, optional
        Where to draw; a new figure when None.
    case : Case, optional
        Take the ticks from this case's signals instead of the trajectory's signal types.

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
    >>> ax = plot_trajectory(case.trajectory(end="2018-07-01"), case=case)
    >>> ax.get_ylabel()
    'probability by the term end'
    """
    import pandas as pd

    ax = _axes(ax)
    dates = pd.to_datetime(trajectory.dates)
    probs = trajectory.probabilities
    for i, o in enumerate(trajectory.outcomes):
        ax.plot(dates, probs[:, i], label=o, color=_colour(o, i), linewidth=1.8)
    if case is not None:
        marks = [(pd.Timestamp(s.date), s.type) for s in case.signals]
        if len(dates):
            marks = [(d, t) for d, t in marks if dates[0] <= d <= dates[-1]]
    else:
        marks = [(d, t) for d, types in zip(dates, trajectory.signal_types, strict=True) for t in types]
    seen: dict[pd.Timestamp, int] = {}
    for d, _t in marks:
        k = seen.get(d, 0)
        seen[d] = k + 1
        x: Any = d  # matplotlib takes dates where its stubs say float
        ax.axvline(x, color="0.85", linewidth=0.6, zorder=0)
        ax.plot([x], [-0.03 - 0.025 * k], marker="|", color="0.3", markersize=8, clip_on=False)
    ax.set_ylim(-0.05 - 0.025 * max(seen.values(), default=0), 1.0)
    ax.set_ylabel("probability by the term end")
    ax.set_title(f"{trajectory.case}: outcome probabilities ({len(marks)} signals marked)")
    ax.legend(loc="upper left", frameon=False)
    ax.grid(axis="y", alpha=0.3)
    return ax


def plot_attribution(
    explanation: Explanation, outcome: str | None = None, ax: Axes | None = None, top: int = 15
) -> Axes:
    """Plot the attribution waterfall of one outcome's probability.

    From the no-signal baseline, each signal's change (the ``top`` largest; the rest pooled as "other signals")
    up to the total.

    Parameters
    ----------
    explanation : Explanation
        The attribution (``Case.explain``).
    outcome : str, optional
        The outcome to show; by default the one that moved most.
    ax : matplotlib.axes.Axes, optional
        Where to draw; a new figure when None.
    top : int, default 15
        How many signals get their own bar.

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
    >>> len(ax.patches) >= 3
    True
    """
    outcomes = explanation.outcomes
    outcome = outcome or max(outcomes, key=lambda o: abs(explanation.total[o] - explanation.baseline[o]))
    if outcome not in outcomes:
        from pressure_forecast._native import UnknownOutcomeError

        raise UnknownOutcomeError(f"unknown outcome `{outcome}`: expected one of {', '.join(outcomes)}")
    k = outcomes.index(outcome)
    steps = [(f"{c['signal']['date']} {c['signal']['type']}", c["delta"][k]) for c in explanation.contributions]
    if len(steps) > top:
        keep = sorted(range(len(steps)), key=lambda i: -abs(steps[i][1]))[:top]
        rest = sum(steps[i][1] for i in range(len(steps)) if i not in keep)
        steps = [steps[i] for i in sorted(keep)] + [("other signals", rest)]
    ax = _axes(ax, (9.0, 0.35 * (len(steps) + 2) + 1.0))
    labels = ["baseline (no signals)", *[s[0] for s in steps], "total"]
    level = explanation.baseline[outcome]
    y = list(range(len(labels)))[::-1]
    ax.barh(y[0], level, color="0.6")
    for i, (_, d) in enumerate(steps, start=1):
        ax.barh(y[i], d, left=level, color="#2a9d8f" if d >= 0 else "#e76f51")
        level += d
    ax.barh(y[-1], explanation.total[outcome], color="0.3")
    ax.set_yticks(y, labels, fontsize=8)
    ax.set_xlabel(f"P({outcome}) by the term end")
    ax.set_title(f"{explanation.case}: what moved P({outcome}) as of {explanation.as_of}")
    ax.axvline(explanation.baseline[outcome], color="0.5", linewidth=0.6, linestyle=":")
    return ax


def plot_reliability(report: BacktestReport, ax: Axes | None = None) -> Axes:
    """Plot the reliability diagram of a backtest.

    Observed frequency against mean forecast probability in each bin, per outcome (one-vs-rest); marker area
    follows the bin's weight; the diagonal is perfect calibration.

    Parameters
    ----------
    report : BacktestReport
        The backtest (``pressure_forecast.backtest``).
    ax : matplotlib.axes.Axes, optional
        Where to draw; a new figure when None.

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
    >>> episodes = [pf.Episode(case, "stalemate"), pf.Episode(case, "deal")]
    >>> report = pf.backtest(pf.Model.default(), episodes, progress=False)
    >>> ax = plot_reliability(report)
    >>> ax.get_xlabel()
    'mean forecast probability'
    """
    ax = _axes(ax, (5.5, 5.5))
    ax.plot([0, 1], [0, 1], color="0.6", linestyle="--", linewidth=1, label="perfect calibration")
    for i, (o, bins) in enumerate(report.calibration.items()):
        pts = [(b["mean_predicted"], b["observed"], b["weight"]) for b in bins if b["weight"] > 0]
        if not pts:
            continue
        xs, ys, ws = zip(*pts, strict=True)
        total = sum(ws)
        ax.plot(xs, ys, color=_colour(o, i), linewidth=1, alpha=0.7)
        ax.scatter(xs, ys, s=[20 + 300 * w / total for w in ws], color=_colour(o, i), label=o, alpha=0.8)
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_xlabel("mean forecast probability")
    ax.set_ylabel("observed frequency")
    ax.set_title(f"Reliability: {report.model}, {report.episodes} episodes (ECE {report.scores['ece']:.3f})")
    ax.legend(loc="upper left", frameon=False)
    return ax


def plot_forecast(forecast: Forecast, ax: Axes | None = None) -> Axes:
    """Plot the outcome probabilities as bars, with the first credible interval when there are draws.

    Parameters
    ----------
    forecast : Forecast
        The forecast (``Case.forecast``).
    ax : matplotlib.axes.Axes, optional
        Where to draw; a new figure when None.

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
    >>> len(ax.patches)
    3
    """
    ax = _axes(ax, (5.5, 3.5))
    outcomes = forecast.outcomes
    p = [forecast.probabilities[o] for o in outcomes]
    err = None
    iv = forecast.intervals
    if iv is not None and iv["intervals"]:
        first = iv["intervals"][0]
        # The serde form: bounds in the forecast's outcome order.
        err = [
            [p[i] - first["lower"][i] for i in range(len(outcomes))],
            [first["upper"][i] - p[i] for i in range(len(outcomes))],
        ]
        err = [[max(0.0, x) for x in row] for row in err]
    ax.bar(outcomes, p, yerr=err, capsize=6, color=[_colour(o, i) for i, o in enumerate(outcomes)])
    ax.set_ylim(0, 1)
    ax.set_ylabel("probability")
    ax.set_title(f"{forecast.case} as of {forecast.as_of}")
    return ax
