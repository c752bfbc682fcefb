"""Each figure of `pressure_forecast.plot` rendered (Agg) for the North Korea case, its coded-event version (500+
ICEWS signals) and a backtest, and its elements checked: labels, limits, legend texts, labelled markers."""

from __future__ import annotations

import io
from typing import Any

import matplotlib
import pytest

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import pressure_forecast as pf
from conftest import ROOT
from matplotlib.axes import Axes
from matplotlib.collections import PolyCollection
from pressure_forecast import plot

AS_OF = "2018-10-31"
ICEWS = [
    ROOT / "data/events/icews18_2018-01-01_to_10-31_usa_prk_irn.csv",
    ROOT / "data/events/icews18_2018-01-01_to_10-31_prk_irn_thirdparty.csv",
]


@pytest.fixture(scope="module")
def nk() -> pf.Case:
    return pf.datasets.north_korea()


@pytest.fixture(scope="module")
def coded(nk: pf.Case) -> pf.Case:
    """North Korea from coded ICEWS events instead of hand-written signals (the notebook's `from_icews`)."""
    case = pf.Case(nk.id + "-icews", nk.sender, nk.target, nk.start, nk.term_end)
    for path in ICEWS:
        report = pf.ingest_events(path, "csv", nk.sender, nk.target, start=nk.start, end=nk.term_end)
        case.observe_many(report.signals)
    return case


@pytest.fixture(autouse=True)
def _close_figures() -> Any:
    yield
    plt.close("all")


def _render(ax: Axes) -> None:
    """Draw the figure to PNG bytes: layout and text are laid out for real, and nothing raises."""
    buf = io.BytesIO()
    fig: Any = ax.figure
    fig.savefig(buf, format="png")
    assert buf.getvalue()[:4] == b"\x89PNG"


def _legend(ax: Axes) -> list[str]:
    legend = ax.get_legend()
    assert legend is not None
    return [t.get_text() for t in legend.get_texts()]


def _labels(ax: Axes) -> list[str]:
    return [t.get_text() for t in ax.texts if t.get_gid() == "signal-label"]


def _subtitle(ax: Axes) -> str:
    return next(t.get_text() for t in ax.texts if t.get_gid() == "subtitle")


def test_trajectory_of_the_example_case(nk: pf.Case) -> None:
    t = nk.trajectory(end=AS_OF)
    ax = plot.plot_trajectory(t, case=nk, draws=60, band_points=12, label_top=4)
    _render(ax)
    assert ax.get_ylim() == (0.0, 1.0)
    assert ax.get_ylabel() == "probability by the term end" and ax.get_xlabel() == "date"
    assert ax.get_title(loc="left").startswith("United States presses North Korea")
    legend = _legend(ax)
    assert legend[:3] == ["deal", "stalemate", "wait_out"]
    assert "90% credible band (60 draws)" in legend
    assert f"signal ({len(nk)})" in legend
    assert "largest moves (top 4 named)" in legend
    assert sum(isinstance(c, PolyCollection) for c in ax.collections) >= 3  # one band per outcome
    labels = _labels(ax)
    assert len(labels) == 4
    # The named signals are the four largest moves of the sequential attribution.
    e = nk.explain(as_of=AS_OF)
    top = sorted(e.contributions, key=lambda c: -max(abs(x) for x in c["delta"]))[:4]
    assert {c["signal"]["type"] for c in top} == {label.split("\n")[0] for label in labels}
    assert f"{len(nk)} signals" in _subtitle(ax)


def test_trajectory_of_the_coded_case_is_thinned(coded: pf.Case) -> None:
    assert len(coded) >= 500
    t = coded.trajectory(start="2018-01-01", end=AS_OF)
    ax = plot.plot_trajectory(t, case=coded, draws=40, band_points=8, label_top=5)
    _render(ax)
    assert ax.get_ylim() == (0.0, 1.0)
    labels = _labels(ax)
    assert 1 <= len(labels) <= 5
    in_range = [s for s in coded.signals if str(s.date) >= "2018-01-01"]
    assert f"signal ({len(in_range)})" in _legend(ax)
    # Every signal is one light tick in a single collection, not a line each.
    ticks: list[Any] = [c for c in ax.collections if c.get_gid() == "signal-ticks"]
    assert len(ticks) == 1 and len(ticks[0].get_segments()) == len(in_range)
    assert len(ax.lines) < 20


def test_trajectory_without_its_case_has_ticks_and_no_band(nk: pf.Case) -> None:
    ax = plot.plot_trajectory(nk.trajectory(end=AS_OF))
    _render(ax)
    assert ax.get_ylim() == (0.0, 1.0)
    assert not any(isinstance(c, PolyCollection) for c in ax.collections)
    assert ax.get_title(loc="left").startswith("Case usa-prk-2017")


def test_scenarios_of_two_forecasts(nk: pf.Case) -> None:
    base = nk.forecast(as_of="2018-12-31", draws=100, seed=1)
    w = nk.what_if([pf.Signal("summit_held", "2018-11-15")], as_of="2018-12-31")
    ax = plot.plot_scenarios(base, w.scenario, labels=("as observed", "second summit"), case=nk)
    _render(ax)
    assert _legend(ax) == ["as observed", "second summit"]
    assert ax.get_ylim() == (0.0, 1.0) and ax.get_ylabel() == "probability by the term end"
    assert len(ax.patches) == 6
    assert "90% credible interval" in _subtitle(ax)


def test_scenarios_of_two_trajectories(nk: pf.Case) -> None:
    other = pf.Case.from_json(nk.to_json())
    other.observe("summit_held", "2018-11-15", id="hypothetical")
    ax = plot.plot_scenarios(
        nk.trajectory(end="2019-06-30"), other.trajectory(end="2019-06-30"), labels=("now", "summit"), case=nk
    )
    _render(ax)
    assert "deal (now)" in _legend(ax) and "deal (summit)" in _legend(ax)
    assert ax.get_ylim() == (0.0, 1.0) and ax.get_xlabel() == "date"
    with pytest.raises(TypeError):
        plot.plot_scenarios(nk.forecast(as_of=AS_OF), nk.trajectory(end=AS_OF))


def test_many_cases(nk: pf.Case, coded: pf.Case) -> None:
    cases = [nk, coded, pf.datasets.iran()]
    fs = pf.forecast_many(cases, as_of=AS_OF, draws=80)
    ax = plot.plot_cases(fs, cases=cases)
    _render(ax)
    assert [t.get_text() for t in ax.get_yticklabels()] == [
        "United States presses North Korea\nusa-prk-2017",
        "United States presses North Korea\nusa-prk-2017-icews",
        "United States presses Iran\nusa-irn-2018",
    ]
    assert _legend(ax) == ["deal", "stalemate", "wait_out", "90% credible interval"]
    assert ax.get_xlim() == (0.0, 1.0) and ax.get_xlabel() == "probability by the term end"


def test_attribution_waterfall(nk: pf.Case) -> None:
    e = nk.explain(as_of=AS_OF)
    ax = plot.plot_attribution(e, outcome="deal", top=8, case=nk)
    _render(ax)
    lo, hi = ax.get_xlim()
    assert lo == 0.0 and hi >= e.baseline["deal"] and hi >= e.total["deal"]
    legend = _legend(ax)
    assert legend[0] == "baseline and forecast"
    assert {"raised P(deal)", "lowered P(deal)"} & set(legend)
    values = [t.get_text() for t in ax.texts if t.get_text().strip().endswith("pts")]
    assert len(values) == 9  # 8 signals and the pooled rest, each with its value
    ticks = [t.get_text() for t in ax.get_yticklabels()]
    assert ticks[0] == "baseline (no signals)" and ticks[-1] == "forecast (all signals)"
    assert ax.get_xlabel() == "P(deal) by the term end"
    # The bars start from the baseline's full bar.
    baseline_bar: Any = ax.patches[0]
    assert baseline_bar.get_width() == pytest.approx(e.baseline["deal"])


def test_attribution_waterfall_of_the_coded_case(coded: pf.Case) -> None:
    e = coded.explain(as_of=AS_OF)
    ax = plot.plot_attribution(e, top=10, case=coded)
    _render(ax)
    assert len(ax.get_yticklabels()) == 13 and "other signals" in ax.get_yticklabels()[-2].get_text()


def test_reliability_diagram_of_a_backtest() -> None:
    episodes = pf.datasets.curated_episodes()
    report = pf.backtest(pf.Model.default(), episodes, progress=False)
    ax = plot.plot_reliability(report, episodes=episodes, bootstrap=200)
    _render(ax)
    assert ax.get_xlim() == (0.0, 1.0) and ax.get_ylim() == (0.0, 1.0)
    assert ax.get_xlabel() == "mean forecast probability" and ax.get_ylabel() == "observed frequency"
    legend = _legend(ax)
    assert legend[0] == "perfect calibration" and "90% bootstrap interval (200 resamples)" in legend
    assert {"deal", "stalemate", "wait_out"} <= set(legend)
    assert f"{report.episodes} episodes" in _subtitle(ax)
    # Halfway through the terms the forecasts are spread out (on the term end they are all 0 or 1).
    _, probs, _ = plot.reliability_forecasts(episodes)
    assert ((probs > 0.05) & (probs < 0.95)).mean() > 0.5
    # Without the episodes: the report's own bins, no band.
    plain = plot.plot_reliability(report)
    _render(plain)
    assert not any("bootstrap" in t for t in _legend(plain))


def test_forecast_bars(nk: pf.Case) -> None:
    ax = plot.plot_forecast(nk.forecast(as_of=AS_OF, draws=100, levels=(0.5, 0.9)), case=nk)
    _render(ax)
    assert _legend(ax) == ["90% credible interval (100 draws)"]
    assert ax.get_ylim() == (0.0, 1.0) and ax.get_title(loc="left").startswith("United States presses")


def test_methods_draw_the_same_figures(nk: pf.Case) -> None:
    t = nk.trajectory(end=AS_OF)
    ax = t.plot(case=nk)
    assert ax.get_ylim() == (0.0, 1.0) and "90% credible band (200 draws)" in _legend(ax)
    assert nk.explain(as_of=AS_OF).plot(outcome="deal").get_xlim()[0] == 0.0


def test_gallery_page_shows_committed_figures() -> None:
    """`make gallery` writes docs/gallery.md and its PNGs; every figure the page shows is committed beside it."""
    page = (ROOT / "docs" / "gallery.md").read_text()
    shown = [line.split("](", 1)[1].rstrip(")") for line in page.splitlines() if line.startswith("![")]
    assert len(shown) >= 9
    for rel in shown:
        assert (ROOT / "docs" / rel).read_bytes()[:4] == b"\x89PNG", rel
    for name in ("plot_trajectory", "plot_scenarios", "plot_cases", "plot_reliability", "plot_attribution"):
        assert name in page or name.removeprefix("plot_") in page
