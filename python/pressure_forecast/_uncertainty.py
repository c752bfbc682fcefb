"""Posterior summaries of parameter draws in ArviZ's conventions, and the ArviZ export.

``Forecast.summary`` and ``Forecast.to_arviz`` call these.

A forecast made with ``draws=n`` carries its intervals (mean, sd and equal-tailed quantiles computed by the engine)
and, when made in this process, the raw draws (``Forecast.draws``, shape ``(n, outcomes)``). The names follow
``arviz.summary`` (ArviZ 0.23): ``hdi_5%`` / ``hdi_95%`` for a 90% highest-density interval, ``eti_5%`` /
``eti_95%`` for a 90% equal-tailed one. The HDI is ArviZ's: the narrowest window holding ``floor(level * n)``
sorted draws; the equal-tailed bounds are numpy's linear-interpolation quantiles, as the engine computes them.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

__all__ = ["ARVIZ_EXTRA", "bound_names", "forecast_summary", "forecast_to_arviz", "hdi_interval"]

#: The optional dependency group that installs ArviZ, named in the ImportError.
ARVIZ_EXTRA = "arviz"

_ARVIZ_MISSING = (
    "Forecast.to_arviz needs arviz, which is not installed: "
    f'pip install "pressure_forecast[{ARVIZ_EXTRA}]" (the version the package is tested with)'
)


def _argument_error(message: str, field: str, expected: str, found: object) -> Exception:
    from pressure_forecast._native import ArgumentError

    e = ArgumentError(message)
    e.field, e.expected, e.found, e.line = field, expected, str(found), None
    return e


def _pct(x: float) -> str:
    # ArviZ writes `f"hdi_{100 * alpha / 2:g}%"`; rounding first drops float noise (5.000000000000004 -> 5).
    return f"{round(100 * x, 10):g}%"


def bound_names(kind: str, level: float) -> tuple[str, str]:
    """The column names of an interval's bounds, as ``arviz.summary`` writes them.

    Parameters
    ----------
    kind : {"hdi", "eti"}
        Highest-density or equal-tailed.
    level : float
        The interval's probability, in (0, 1).

    Returns
    -------
    tuple of str
        The lower and the upper bound's names.

    Examples
    --------
    >>> bound_names("eti", 0.9)
    ('eti_5%', 'eti_95%')
    >>> bound_names("hdi", 0.89)
    ('hdi_5.5%', 'hdi_94.5%')
    """
    alpha = 1.0 - level
    return f"{kind}_{_pct(alpha / 2)}", f"{kind}_{_pct(1 - alpha / 2)}"


def hdi_interval(samples: npt.ArrayLike, level: float) -> tuple[float, float]:
    """The highest-density interval of one-dimensional draws, by ArviZ's method.

    Parameters
    ----------
    samples : array-like
        The draws.
    level : float
        The interval's probability, in (0, 1).

    Returns
    -------
    tuple of float
        The narrowest window ``(lower, upper)`` that holds ``floor(level * n)`` sorted draws.

    Examples
    --------
    >>> hdi_interval([0.1, 0.2, 0.2, 0.25, 0.9], 0.6)
    (0.1, 0.25)
    """
    a = np.sort(np.asarray(samples, dtype=np.float64).ravel())
    n = len(a)
    if n == 0:
        raise ValueError("hdi of no draws")
    k = math.floor(level * n)
    if k >= n:
        return float(a[0]), float(a[-1])
    widths = a[k:] - a[: n - k]
    i = int(np.argmin(widths))
    return float(a[i]), float(a[i + k])


def _levels(f: Any, levels: float | Sequence[float] | None) -> list[float]:
    if levels is None:
        iv = f.intervals
        return [float(i["level"]) for i in iv["intervals"]] if iv is not None else []
    if isinstance(levels, int | float):
        return [float(levels)]
    return [float(x) for x in levels]


def forecast_summary(f: Any, levels: float | Sequence[float] | None = None, hdi: bool = True) -> pd.DataFrame:
    """``Forecast.summary``: mean, sd, HDI and equal-tailed interval of each outcome's probability.

    Parameters
    ----------
    f : Forecast
        A forecast made with draws.
    levels : float or sequence of float, optional
        Interval levels; by default those the forecast was made with.
    hdi : bool, default True
        Add the HDI columns (only when the raw draws are kept).

    Returns
    -------
    pandas.DataFrame
        Indexed by ``outcome``; columns ``mean``, ``sd``, then per level ``hdi_*`` and ``eti_*`` bounds.

    Examples
    --------
    >>> import pressure_forecast as pf
    >>> f = pf.datasets.north_korea().forecast(as_of="2018-10-31", draws=400, seed=7, levels=(0.5, 0.9))
    >>> list(forecast_summary(f).columns)
    ['mean', 'sd', 'hdi_25%', 'hdi_75%', 'eti_25%', 'eti_75%', 'hdi_5%', 'hdi_95%', 'eti_5%', 'eti_95%']
    """
    iv = f.intervals
    if iv is None:
        raise _argument_error(
            "Forecast.summary needs a forecast made with draws: case.forecast(..., draws=1000)",
            "draws",
            "a forecast made with draws > 0",
            "no draws",
        )
    outcomes = list(f.outcomes)
    draws = f.draws
    wanted = _levels(f, levels)
    df = pd.DataFrame({"mean": iv["mean"], "sd": iv["sd"]}, index=pd.Index(outcomes, name="outcome"))
    drawn = {round(float(i["level"]), 12): i for i in iv["intervals"]}
    for level in wanted:
        if not 0.0 < level < 1.0:
            raise _argument_error(f"interval level {level} is not in (0, 1)", "levels", "levels in (0, 1)", level)
        if hdi and draws is not None:
            lo, hi = bound_names("hdi", level)
            bounds = [hdi_interval(draws[:, k], level) for k in range(len(outcomes))]
            df[lo] = [b[0] for b in bounds]
            df[hi] = [b[1] for b in bounds]
        lo, hi = bound_names("eti", level)
        known = drawn.get(round(level, 12))
        if known is not None:
            df[lo], df[hi] = known["lower"], known["upper"]
        elif draws is not None:
            q = np.quantile(draws, [(1 - level) / 2, (1 + level) / 2], axis=0)
            df[lo], df[hi] = q[0], q[1]
        else:
            have = ", ".join(f"{x:g}" for x in drawn)
            raise _argument_error(
                f"level {level:g} was not drawn and the raw draws are not kept (drawn: {have})",
                "levels",
                f"one of the levels drawn ({have})",
                level,
            )
    return df


def forecast_to_arviz(f: Any) -> Any:
    """``Forecast.to_arviz``: the raw draws as an ``arviz.InferenceData``.

    Parameters
    ----------
    f : Forecast
        A forecast made with draws in this process (so that ``f.draws`` is kept).

    Returns
    -------
    arviz.InferenceData
        A ``posterior`` group with one variable, ``probability``, of dimensions ``(chain, draw, outcome)``; the
        attributes name the case, the as-of date, the term end and the seed.
    """
    try:
        import arviz as az
    except ImportError as e:
        raise ImportError(_ARVIZ_MISSING) from e
    draws = f.draws
    if draws is None:
        raise _argument_error(
            "Forecast.to_arviz needs the raw draws: a forecast made with draws > 0 in this process",
            "draws",
            "a forecast made with draws > 0",
            "no raw draws",
        )
    iv = f.intervals
    idata = az.from_dict(
        posterior={"probability": np.asarray(draws)[None, :, :]},
        coords={"outcome": list(f.outcomes)},
        dims={"probability": ["outcome"]},
    )
    idata.posterior.attrs.update(
        {
            "case": f.case,
            "as_of": str(f.as_of),
            "term_end": str(f.term_end),
            "seed": int(iv["seed"]) if iv is not None else 0,
            "inference_library": "pressure_forecast",
        }
    )
    return idata
