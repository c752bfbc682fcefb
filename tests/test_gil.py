"""Behaviour of a good extension: the GIL is released around long work (a Python thread keeps running), and
Ctrl-C stops long work with KeyboardInterrupt."""

from __future__ import annotations

import os
import signal
import threading
import time

import pressure_forecast as pf
import pytest


def _long_case() -> pf.Case:
    c = pf.Case("long", "USA", "PRK", "1990-01-01", "2030-01-01")
    types = pf.SIGNAL_TYPES_V1
    c.observe_many(
        [
            {"type": types[i % len(types)], "date": f"{1990 + i // 300}-{1 + (i // 25) % 12:02d}-{1 + i % 25:02d}"}
            for i in range(3000)
        ]
    )
    return c


@pytest.mark.parametrize("work", ["draws", "forecast_many", "backtest"])
def test_python_thread_runs_while_engine_works(nk: pf.Case, episodes: list[pf.Episode], work: str) -> None:
    ticks = 0
    stop = threading.Event()

    def count() -> None:
        nonlocal ticks
        while not stop.is_set():
            ticks += 1
            time.sleep(0.001)

    t = threading.Thread(target=count)
    t.start()
    time.sleep(0.05)
    start_ticks = ticks
    t0 = time.perf_counter()
    if work == "draws":
        nk.forecast(as_of="2018-10-31", draws=100_000, progress=False)
    elif work == "forecast_many":
        pf.forecast_many([_long_case()] * 8, as_of="2029-01-01", draws=2000)
    else:
        pf.backtest(pf.Model.v1(), episodes, loo=True, max_iterations=10, progress=False)
    elapsed = time.perf_counter() - t0
    during = ticks - start_ticks
    stop.set()
    t.join()
    assert elapsed > 0.05, "the computation was too short to show anything"
    # Holding the GIL for the whole call would allow only a handful of switches (one per 5 ms switch interval
    # at best, and none while inside Rust); the counter thread sleeps 1 ms per tick.
    assert during >= max(10, 0.2 * elapsed / 0.0011), (during, elapsed)


@pytest.mark.usefixtures("ctrl_c")
def test_ctrl_c_interrupts_long_work(nk: pf.Case, monkeypatch: pytest.MonkeyPatch) -> None:
    """Ctrl-C during long work raises KeyboardInterrupt and stops the engine early.

    The test waits for states, never for a time: SIGINT is sent once the engine has reported progress (so the work
    is running in Rust), and "early" means the engine stopped before finishing its draws.
    """
    import tqdm.auto

    running = threading.Event()
    seen: dict[str, int] = {"total": 0, "done": 0}

    class RecordingBar:
        """Stands in for tqdm: records the total and the progress the engine reports."""

        def __init__(self, total: int = 0, **_: object) -> None:
            seen["total"] = total

        def update(self, n: int) -> None:
            seen["done"] += n
            running.set()

        def close(self) -> None:
            pass

    monkeypatch.setattr(tqdm.auto, "tqdm", RecordingBar)

    def interrupt_when_running() -> None:
        running.wait()
        os.kill(os.getpid(), signal.SIGINT)

    sender = threading.Thread(target=interrupt_when_running, daemon=True)
    sender.start()
    draws = 5_000_000
    with pytest.raises(KeyboardInterrupt):
        nk.forecast(as_of="2018-10-31", draws=draws, progress=True)
    sender.join()
    assert seen["total"] == draws
    assert 0 < seen["done"] < draws, seen
    # The extension is still usable afterwards.
    assert nk.forecast(as_of="2018-10-31").signals_used > 0


def test_progress_bar_does_not_change_numbers(nk: pf.Case, capsys: pytest.CaptureFixture[str]) -> None:
    a = nk.forecast(as_of="2018-10-31", draws=2000, seed=5, progress=True)
    b = nk.forecast(as_of="2018-10-31", draws=2000, seed=5, progress=False)
    assert a == b
