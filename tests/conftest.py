"""Shared fixtures of the Python tests: the repository's paths, the default model and the example cases."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pressure_forecast
import pytest

# Plots render off-screen in tests and in the notebook kernel.
os.environ.setdefault("MPLBACKEND", "Agg")

ROOT = Path(__file__).resolve().parent.parent
CASES = ROOT / "data" / "cases"
EPISODES = ROOT / "data" / "episodes" / "episodes.json"


@pytest.fixture
def ctrl_c() -> Iterator[None]:
    """SIGINT raises KeyboardInterrupt during the test, as it does in an interactive session.

    A process started in the background by a non-interactive shell (`make test &`, `nohup`) inherits SIGINT
    ignored, and Python then leaves it ignored: a Ctrl-C test run that way would wait for ever. The handler is
    put back afterwards.
    """
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


@pytest.fixture(scope="session")
def root() -> Path:
    return ROOT


@pytest.fixture(scope="session")
def pf() -> ModuleType:
    """The package (tests written before it was imported at module level take it as a fixture)."""
    return pressure_forecast


@pytest.fixture
def nk() -> pressure_forecast.Case:
    """The North Korea case, freshly loaded (tests may change it)."""
    return pressure_forecast.Case.load(CASES / "north_korea.json")


@pytest.fixture
def iran() -> pressure_forecast.Case:
    return pressure_forecast.Case.load(CASES / "iran.json")


@pytest.fixture(scope="session")
def episodes() -> list[pressure_forecast.Episode]:
    return pressure_forecast.load_episodes(EPISODES)


@pytest.fixture(scope="session")
def cli() -> Path:
    """The CLI binary, rebuilt by cargo (a no-op when it is up to date) so it never lags the extension."""
    exe = ROOT / "target" / "debug" / "pressure-forecast"
    assert shutil.which("cargo") is not None, "cargo is needed to build the CLI that the tests compare against"
    subprocess.run(["cargo", "build", "-q", "-p", "pf-cli"], cwd=ROOT, check=True)
    return exe
