"""The one style of pressure_forecast's figures: colours, fonts, grid, date axes and titles.

Every function of :mod:`pressure_forecast.plot` draws inside :func:`style` and finishes its axes with the helpers
here, so that the figures of a report look alike. Use :func:`style` around your own matplotlib code to match them.

Examples
--------
>>> from pressure_forecast import plot_style
>>> plot_style.outcome_colour("deal", 0)
'#2a9d8f'
>>> plot_style.country_name("PRK")
'North Korea'
>>> plot_style.case_title("USA", "IRN")
'United States presses Iran'
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = [
    "BAND_ALPHA",
    "COLOURS",
    "LOWER",
    "NEUTRAL",
    "RAISE",
    "RC",
    "case_title",
    "country_name",
    "date_axis",
    "finish",
    "outcome_colour",
    "percent_axis",
    "style",
]

_INSTALL = (
    "plotting needs matplotlib, which is not installed: "
    'pip install "pressure_forecast[plot]" (or pip install matplotlib)'
)

#: One colour per outcome of the v1/v2 vocabulary; other outcomes take matplotlib's cycle.
COLOURS = {"deal": "#2a9d8f", "stalemate": "#e9a23b", "wait_out": "#d1495b"}
#: Increases and decreases in waterfalls, and the neutral grey of baselines and totals.
RAISE, LOWER, NEUTRAL = "#2a9d8f", "#d1495b", "#6c757d"
#: Opacity of credible bands.
BAND_ALPHA = 0.18

#: matplotlib settings of every figure.
RC: dict[str, Any] = {
    "figure.dpi": 100,
    "savefig.dpi": 150,
    "savefig.bbox": "tight",
    "font.size": 10,
    "axes.titlesize": 12,
    "axes.titleweight": "bold",
    "axes.titlelocation": "left",
    "axes.labelsize": 10,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "grid.linewidth": 0.6,
    "legend.frameon": False,
    "legend.fontsize": 9,
    "xtick.labelsize": 9,
    "ytick.labelsize": 9,
}

#: Names of the countries of the shipped cases and episodes, by ISO 3166 alpha-3 code.
_COUNTRIES = {
    "USA": "United States",
    "PRK": "North Korea",
    "IRN": "Iran",
    "CUB": "Cuba",
    "HTI": "Haiti",
    "IRQ": "Iraq",
    "LBY": "Libya",
    "NIC": "Nicaragua",
    "RUS": "Russia",
    "SYR": "Syria",
    "TUR": "Turkey",
    "VEN": "Venezuela",
    "YUG": "Yugoslavia",
    "ZAF": "South Africa",
    "CHN": "China",
    "KOR": "South Korea",
    "JPN": "Japan",
    "GBR": "United Kingdom",
    "FRA": "France",
    "DEU": "Germany",
    "ISR": "Israel",
    "SAU": "Saudi Arabia",
    "PAK": "Pakistan",
    "IND": "India",
    "MMR": "Myanmar",
    "SDN": "Sudan",
    "ZWE": "Zimbabwe",
    "BLR": "Belarus",
    "AFG": "Afghanistan",
}


def pyplot() -> Any:
    """``matplotlib.pyplot``, or an ImportError that says how to install it.

    Returns
    -------
    module
        ``matplotlib.pyplot``.
    """
    try:
        import matplotlib.pyplot as plt
    except ImportError as e:  # pragma: no cover - exercised by the "without matplotlib" test in a subprocess
        raise ImportError(_INSTALL) from e
    return plt


@contextlib.contextmanager
def style() -> Iterator[None]:
    """The package's matplotlib settings, for the duration of a ``with`` block.

    Yields
    ------
    None
    """
    plt = pyplot()
    with plt.rc_context(RC):
        yield


def outcome_colour(outcome: str, i: int) -> str:
    """The colour of an outcome (``i``, its position, picks one from matplotlib's cycle for other names).

    Parameters
    ----------
    outcome : str
        The outcome.
    i : int
        Its position among the outcomes.

    Returns
    -------
    str
        A matplotlib colour.
    """
    return COLOURS.get(outcome, f"C{i}")


def country_name(code: str) -> str:
    """The English short name of an ISO alpha-3 code (the code itself when unknown; ``+``-joined codes each).

    Parameters
    ----------
    code : str
        ``"USA"``, ``"PRK"``, ...

    Returns
    -------
    str
        The name.
    """
    return " + ".join(_COUNTRIES.get(c, c) for c in code.split("+"))


def case_title(sender: str, target: str) -> str:
    """A title from a case's sender and target: ``"United States presses North Korea"``.

    Parameters
    ----------
    sender, target : str
        The countries' codes.

    Returns
    -------
    str
        The title.
    """
    return f"{country_name(sender)} presses {country_name(target)}"


def date_axis(ax: Axes, label: str = "date") -> None:
    """Concise date ticks and a label on the x axis.

    Parameters
    ----------
    ax : matplotlib.axes.Axes
        The axes.
    label : str, default "date"
        The axis label.
    """
    import matplotlib.dates as mdates

    locator = mdates.AutoDateLocator(minticks=4, maxticks=9)  # type: ignore[no-untyped-call]
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))  # type: ignore[no-untyped-call]
    ax.set_xlabel(label)


def percent_axis(ax: Axes, axis: str = "y") -> None:
    """Show a probability axis as percentages (the data stay in [0, 1]).

    Parameters
    ----------
    ax : matplotlib.axes.Axes
        The axes.
    axis : {"x", "y"}, default "y"
        Which axis.
    """
    from matplotlib.ticker import PercentFormatter

    (ax.yaxis if axis == "y" else ax.xaxis).set_major_formatter(PercentFormatter(xmax=1.0, decimals=0))


def finish(ax: Axes, title: str, subtitle: str | None = None, wrap: int = 95) -> None:
    """Title (bold, left) and an optional grey subtitle under it.

    Parameters
    ----------
    ax : matplotlib.axes.Axes
        The axes.
    title : str
        The title.
    subtitle : str, optional
        A line of detail (as-of date, draws, episodes), wrapped at ``wrap`` characters.
    wrap : int, default 95
        The subtitle's line length.
    """
    import textwrap

    if subtitle is not None:
        subtitle = "\n".join(textwrap.wrap(subtitle, width=wrap)) or subtitle
    lines = 0 if subtitle is None else subtitle.count("\n") + 1
    ax.set_title(title + "\n" * lines, loc="left")
    if subtitle is not None:
        ax.text(
            0.0,
            1.02,
            subtitle,
            transform=ax.transAxes,
            fontsize=9,
            color="0.35",
            va="bottom",
            ha="left",
            gid="subtitle",
        )
