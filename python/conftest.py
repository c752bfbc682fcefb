"""pytest setup for the doctests of the package's modules (``pytest --doctest-modules python``).

Not part of the installed package (maturin ships ``python/pressure_forecast`` only). Plots render off-screen.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

os.environ.setdefault("MPLBACKEND", "Agg")


@pytest.fixture(autouse=True)
def _close_figures() -> Iterator[None]:
    yield
    try:
        import matplotlib.pyplot as plt
    except ImportError:  # pragma: no cover - matplotlib is optional
        return
    plt.close("all")
