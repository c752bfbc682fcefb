"""Render the figure gallery: docs/gallery/*.png and docs/gallery.md (`make gallery`).

Every figure of `pressure_forecast.plot`, drawn for the North Korea example case, its coded-event version (ICEWS
events of 2018 mapped to signals), Iran, and a backtest of the default model on the curated episodes. The page's
numbers are computed here, so the page is regenerated with the figures.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

os.environ.setdefault("MPLBACKEND", "Agg")

import matplotlib.pyplot as plt
import pressure_forecast as pf
from pressure_forecast import plot

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "docs" / "gallery"
PAGE = ROOT / "docs" / "gallery.md"
AS_OF = "2018-10-31"
ICEWS = [
    ROOT / "data/events/icews18_2018-01-01_to_10-31_usa_prk_irn.csv",
    ROOT / "data/events/icews18_2018-01-01_to_10-31_prk_irn_thirdparty.csv",
]


def coded(hand: pf.Case) -> pf.Case:
    """The case fed from coded ICEWS events instead of hand-written signals (as in the example notebook)."""
    case = pf.Case(hand.id + "-icews", hand.sender, hand.target, hand.start, hand.term_end)
    for path in ICEWS:
        report = pf.ingest_events(path, "csv", hand.sender, hand.target, start=hand.start, end=hand.term_end)
        case.observe_many(report.signals)
    return case


def save(ax: plt.Axes, name: str) -> str:
    path = OUT / f"{name}.png"
    ax.figure.savefig(path, dpi=110, metadata={"Software": None})
    plt.close(ax.figure)
    return f"gallery/{name}.png"


def pct(x: float) -> str:
    return f"{100 * x:.1f}%"


def main() -> int:
    OUT.mkdir(parents=True, exist_ok=True)
    nk, iran = pf.datasets.north_korea(), pf.datasets.iran()
    nk_icews, iran_icews = coded(nk), coded(iran)
    sections: list[str] = []

    t = nk.trajectory(end=AS_OF)
    img = save(plot.plot_trajectory(t, case=nk, draws=300, label_top=5), "trajectory_north_korea")
    f = nk.forecast(as_of=AS_OF, draws=1000, seed=0)
    s = f.summary(levels=0.9)
    sections.append(
        f"## Trajectory, North Korea (hand-coded signals)\n\n![trajectory]({img})\n\n"
        f'`plot_trajectory(case.trajectory(end="{AS_OF}"), case=case)`: the outcome probabilities by the term end '
        f"for each day from {nk.start} to {AS_OF} ({len(nk)} signals), each with its 90% credible band from 300 "
        "parameter draws; every signal a light tick along the bottom; the five signals that moved the forecast "
        "most (their sequential attribution as of the last day) marked on the curve they moved and named with the "
        f"change. On {AS_OF}: deal {pct(f['deal'])} (90% HDI {pct(s.loc['deal', 'hdi_5%'])} to "
        f"{pct(s.loc['deal', 'hdi_95%'])}), stalemate {pct(f['stalemate'])}, wait_out {pct(f['wait_out'])}.\n"
    )

    t = nk_icews.trajectory(start="2018-01-01", end=AS_OF)
    img = save(plot.plot_trajectory(t, case=nk_icews, draws=200, label_top=5), "trajectory_north_korea_icews")
    sections.append(
        f"## Trajectory, North Korea from coded events ({len(nk_icews)} signals)\n\n![coded trajectory]({img})\n\n"
        f"The same figure for the case fed from ICEWS events ({len(nk_icews)} signals in 2018): the signals stay a "
        "band of light ticks along the bottom, only the five largest moves are named, and the bands show how "
        "uncertain the parameters leave the forecast.\n"
    )

    hypothetical = pf.Case.from_json(nk.to_json())
    hypothetical.observe("summit_held", "2018-11-15", id="hypothetical-second-summit")
    a = nk.forecast(as_of="2018-12-31", draws=1000)
    b = hypothetical.forecast(as_of="2018-12-31", draws=1000)
    img = save(
        plot.plot_scenarios(a, b, labels=("as observed", "with a second summit on 2018-11-15"), case=nk),
        "scenarios_north_korea",
    )
    sections.append(
        f"## Two policies, one case\n\n![scenarios]({img})\n\n"
        "`plot_scenarios(forecast_a, forecast_b, labels=...)`: North Korea as of 2018-12-31 as observed and with a "
        f"hypothetical second summit on 2018-11-15; deal {pct(a['deal'])} against {pct(b['deal'])}. Solid bars are "
        "the first policy, hatched the second; whiskers are 90% credible intervals from 1000 draws.\n"
    )
    ta = nk.trajectory(start="2018-01-01", end="2019-06-30")
    tb = hypothetical.trajectory(start="2018-01-01", end="2019-06-30")
    img = save(
        plot.plot_scenarios(ta, tb, labels=("as observed", "second summit"), case=nk), "scenarios_north_korea_lines"
    )
    sections.append(
        f"![scenario trajectories]({img})\n\nThe same two policies as trajectories: solid as observed, dashed "
        "with the second summit; the lines part on 2018-11-15.\n"
    )

    cases = [nk, nk_icews, iran, iran_icews]
    fs = pf.forecast_many(cases, as_of=AS_OF, draws=1000)
    img = save(plot.plot_cases(fs, cases=cases), "cases")
    wide = pf.compare(cases, as_of=AS_OF)["probability"].unstack()
    table = "| case | " + " | ".join(wide.columns) + " |\n|---|" + "---:|" * len(wide.columns) + "\n"
    table += "".join(f"| {c} | " + " | ".join(pct(v) for v in row) + " |\n" for c, row in wide.iterrows())
    sections.append(
        f"## Many cases\n\n![cases]({img})\n\n`plot_cases(pf.forecast_many(cases, as_of=..., draws=1000), "
        "cases=cases)`: a row per case (hand-coded and coded-event versions of North Korea and Iran), each outcome "
        f'a dot with its 90% credible interval. `pf.compare(cases, as_of="{AS_OF}")` gives the same numbers as a '
        f"frame:\n\n{table}\n"
    )

    e = nk.explain(as_of=AS_OF)
    img = save(plot.plot_attribution(e, outcome="deal", case=nk), "attribution_north_korea")
    sections.append(
        f'## Attribution waterfall\n\n![attribution]({img})\n\n`case.explain(as_of=...).plot(outcome="deal")`: '
        f"from the no-signal baseline ({pct(e.baseline['deal'])}) each signal's change to P(deal) in date order "
        "(the twelve largest; the rest pooled), to the forecast with every signal "
        f"({pct(e.total['deal'])}). Green raised it, red lowered it; each step's value is written beside it in "
        "percentage points; the axis starts at 0 so the baseline's bar is whole. What the two attribution measures "
        "mean: [explanations.md](explanations.md).\n"
    )
    e2 = nk_icews.explain(as_of=AS_OF)
    img = save(plot.plot_attribution(e2, case=nk_icews, top=12), "attribution_north_korea_icews")
    sections.append(
        f"![coded attribution]({img})\n\nThe coded-event case's waterfall ({len(e2.contributions)} signals, the "
        "outcome that moved most): twelve named steps and the rest pooled.\n"
    )

    episodes = pf.datasets.curated_episodes()
    report = pf.backtest(pf.Model.default(), episodes, progress=False)
    img = save(plot.plot_reliability(report, episodes=episodes, bootstrap=1000), "reliability")
    sections.append(
        f"## Reliability\n\n![reliability]({img})\n\n`plot_reliability(pf.backtest(model, episodes), "
        f"episodes=episodes)`: the {report.episodes} curated episodes' forecasts halfway through their terms (on "
        "the term end every forecast is 0 or 1), one-vs-rest per outcome, in five bins; "
        "marker area is the number of episodes in the bin; the vertical bars are the 90% interval of the observed "
        f"frequency over 1000 bootstrap resamplings of the episodes. ECE {report.scores['ece']:.3f}, Brier "
        f"{report.scores['brier']:.3f}.\n"
    )

    img = save(plot.plot_forecast(f, case=nk), "forecast_north_korea")
    sections.append(
        f"## One forecast\n\n![forecast]({img})\n\n`case.forecast(as_of=..., draws=1000).plot()`: the three "
        "probabilities with their 90% credible intervals.\n"
    )

    PAGE.write_text(
        "# Figure gallery\n\n"
        "Made by `make gallery` (scripts/gallery.py) from the package's example cases, the ICEWS event files in "
        "`data/events/` and the curated episodes; every number on this page is computed by that script. The "
        "figures come from `pressure_forecast.plot` in its one style (`pressure_forecast.plot_style`).\n\n"
        + "\n".join(sections)
    )
    print(f"wrote {len(list(OUT.glob('*.png')))} figures to {OUT.relative_to(ROOT)} and {PAGE.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
