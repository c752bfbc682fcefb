"""Following a feed from Python (issue 13, part 7): `pf.Follower` and `pf.follow` over files dropped into a
temporary directory. Each file is ingested once, a restart with the same checkpoint ingests nothing, a later file
reporting more events of a day adds a new signal (or nothing) and never conflicts, and the counts come back as a
frame. The watching tests wait for states (the checkpoint naming a file), never for times; their deadline only
turns a hang into a failure."""

from __future__ import annotations

import _thread
import json
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pressure_forecast as pf
import pytest
from pressure_forecast import datasets

HANG = 120.0  # seconds before a wait for a state is a failure


def gdelt_row(
    event_id: int, date: str = "20180612", source: str = "USA", target: str = "PRK", code: str = "044"
) -> str:
    """A GDELT 2.0 row: the first data row of the shipped sample with id, date, countries, code and URL replaced."""
    with datasets.event_sample_file("gdelt2_sample") as path:
        template = path.read_text().splitlines()[1]
    f = template.split("\t")
    assert len(f) == 61
    f[0], f[1], f[7], f[17], f[26] = str(event_id), date, source, target, code
    f[60] = f"http://example.org/{event_id}"
    return "\t".join(f)


def drop(feed: Path, name: str, rows: list[str]) -> None:
    """Drop a file as a downloader should: write it under a hidden name, then rename it into place."""
    tmp = feed / f".{name}.part"
    tmp.write_text("\n".join(rows) + "\n")
    tmp.rename(feed / name)


@pytest.fixture
def setup(tmp_path: Path) -> tuple[Path, Path, Path]:
    feed = tmp_path / "feed"
    feed.mkdir()
    case = tmp_path / "prk.json"
    pf.Case("usa-prk", "USA", "PRK", "2017-01-20", "2021-01-20").save(case)
    return feed, case, tmp_path / "checkpoint.json"


def gdelt_signals(case: Path) -> list[dict[str, object]]:
    signals: list[dict[str, object]] = json.loads(case.read_text()).get("signals", [])
    return [s for s in signals if s.get("source") == "gdelt2"]


def wait_for(state: Callable[[], bool]) -> bool:
    deadline = time.monotonic() + HANG
    while not state():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.005)
    return True


def test_each_file_once_with_its_counts_and_a_restart_ingests_nothing(setup: tuple[Path, Path, Path]) -> None:
    feed, case, checkpoint = setup
    drop(feed, "1.export.CSV", [gdelt_row(1), gdelt_row(2, source="PRK", target="USA")])
    drop(feed, "2.export.CSV", [gdelt_row(5, date="20180801", code="163"), "not\ta\tgdelt\trow"])
    f = pf.Follower(feed, [case], checkpoint=checkpoint)
    assert f.files_done == []
    out = f.poll()
    assert list(out.columns) == pf._follow.COLUMNS
    assert out["file"].tolist() == ["1.export.CSV", "2.export.CSV"]
    assert out["case"].tolist() == [str(case)] * 2
    assert out["rows_read"].tolist() == [2, 2]
    assert out["bad_rows"].tolist() == [0, 1]
    assert out["rows_matched"].tolist() == [2, 1]
    assert out["already_counted"].tolist() == [0, 0]
    assert out["signals_added"].tolist() == [1, 1]
    assert out["error"].isna().all()
    assert f.files_done == ["1.export.CSV", "2.export.CSV"]
    after = case.read_bytes()
    assert [s["type"] for s in gdelt_signals(case)] == ["summit_held", "sanctions_tightened"]

    # Polling again, or restarting with the same checkpoint, ingests nothing: the case file is untouched.
    assert len(f.poll()) == 0
    restarted = pf.Follower(feed, [case], checkpoint=checkpoint)
    assert restarted.files_done == ["1.export.CSV", "2.export.CSV"]
    again = restarted.poll()
    assert len(again) == 0 and list(again.columns) == pf._follow.COLUMNS
    assert case.read_bytes() == after
    assert pf.Case.load(case).forecast(as_of="2018-10-31") == pf.Case.load(case).forecast(as_of="2018-10-31")


def test_more_events_of_a_recorded_day_add_a_signal_or_nothing_and_never_conflict(
    setup: tuple[Path, Path, Path],
) -> None:
    feed, case, checkpoint = setup
    f = pf.Follower(feed, [case], checkpoint=checkpoint)
    drop(feed, "1.export.CSV", [gdelt_row(1), gdelt_row(2)])
    assert f.poll()["signals_added"].tolist() == [1]
    (first,) = gdelt_signals(case)
    assert first["event_ids"] == ["1", "2"]

    # A later file repeats event 2 and reports event 3 of the same day: event 2 is counted already, event 3 makes
    # a new signal whose id derives from its events, so it cannot collide with the first.
    drop(feed, "2.export.CSV", [gdelt_row(2), gdelt_row(3)])
    out = f.poll()
    assert out[["rows_matched", "already_counted", "signals_added"]].values.tolist() == [[1, 1, 1]]
    signals = gdelt_signals(case)
    assert len(signals) == 2
    second = next(s for s in signals if s["id"] != first["id"])
    assert second["event_ids"] == ["3"] and second["date"] == first["date"] and second["type"] == first["type"]

    # A file whose events are all counted adds nothing.
    drop(feed, "3.export.CSV", [gdelt_row(1), gdelt_row(3)])
    out = f.poll()
    assert out[["rows_matched", "already_counted", "signals_added"]].values.tolist() == [[0, 2, 0]]
    assert len(gdelt_signals(case)) == 2

    # The case loads and forecasts (no duplicate ids), and the signals are those of a one-shot ingestion of the
    # same events with ids: three events, two signals.
    loaded = pf.Case.load(case)
    assert len(loaded) == 2
    assert sorted(e for s in gdelt_signals(case) for e in s["event_ids"]) == ["1", "2", "3"]  # type: ignore[attr-defined]


def test_a_file_that_fails_is_reported_and_left_out_of_the_checkpoint(setup: tuple[Path, Path, Path]) -> None:
    feed, case, checkpoint = setup
    drop(feed, "1.export.CSV", [gdelt_row(1), "not\ta\tgdelt\trow"])
    f = pf.Follower(feed, [case], checkpoint=checkpoint, strict=True)
    out = f.poll()
    assert len(out) == 1
    assert out["file"].tolist() == ["1.export.CSV"] and out["case"].isna().tolist() == [True]
    assert "line 2" in str(out.loc[0, "error"])
    assert f.files_done == [] and gdelt_signals(case) == []
    # Not retried until it changes; fixed, it is ingested.
    assert len(f.poll()) == 0
    drop(feed, "1.export.CSV", [gdelt_row(1)])
    assert f.poll()["signals_added"].tolist() == [1]
    assert f.files_done == ["1.export.CSV"]


def test_counts_are_logged(setup: tuple[Path, Path, Path], caplog: pytest.LogCaptureFixture) -> None:
    feed, case, checkpoint = setup
    drop(feed, "1.export.CSV", [gdelt_row(1)])
    with caplog.at_level("INFO", logger="pressure_forecast.follow"):
        pf.Follower(feed, [case], checkpoint=checkpoint).poll()
    (record,) = caplog.records
    assert record.levelname == "INFO"
    assert "1.export.CSV: 1 rows read, 0 bad" in record.getMessage()
    assert "1 matched, 0 already counted, 1 signals added" in record.getMessage()


def test_follow_once_is_one_pass(setup: tuple[Path, Path, Path]) -> None:
    feed, case, _ = setup
    drop(feed, "1.export.CSV", [gdelt_row(1)])
    assert pf.follow(feed, [case], once=True)["signals_added"].tolist() == [1]
    assert (feed / ".pressure-forecast-follow.json").exists()
    assert len(pf.follow(feed, [case], once=True)) == 0
    assert len(gdelt_signals(case)) == 1


def test_bad_arguments_raise_the_package_errors(setup: tuple[Path, Path, Path]) -> None:
    feed, case, checkpoint = setup
    with pytest.raises(pf.ArgumentError, match="cases"):
        pf.Follower(feed, [])
    with pytest.raises(pf.ArgumentError, match="directory"):
        pf.Follower(feed / "missing", [case])
    with pytest.raises(pf.ArgumentError):
        pf.Follower(feed, [case], format="json")
    checkpoint.write_text("[1, 2]")
    with pytest.raises(pf.ParseError, match="invalid checkpoint"):
        pf.Follower(feed, [case], checkpoint=checkpoint)
    with pytest.raises(pf.ArgumentError, match="interval"):
        pf.Follower(feed, [case]).run(interval=0)


def test_run_picks_up_files_dropped_while_it_watches_and_stops_on_the_event(setup: tuple[Path, Path, Path]) -> None:
    feed, case, checkpoint = setup
    f = pf.Follower(feed, [case], checkpoint=checkpoint)
    stop = threading.Event()
    result: list[pd.DataFrame] = []
    errors: list[BaseException] = []

    def watch() -> None:
        try:
            result.append(f.run(stop, interval=0.01))
        except BaseException as e:  # pragma: no cover - reported below
            errors.append(e)

    thread = threading.Thread(target=watch)
    thread.start()
    try:
        # This thread keeps running Python while run() watches: the GIL is released.
        drop(feed, "1.export.CSV", [gdelt_row(1)])
        first = wait_for(lambda: "1.export.CSV" in f.files_done)
        drop(feed, "2.export.CSV", [gdelt_row(1), gdelt_row(2, date="20180801", code="163")])
        second = first and wait_for(lambda: "2.export.CSV" in f.files_done)
    finally:
        stop.set()
        thread.join(HANG)
    assert not thread.is_alive(), "run() did not return after the stop event"
    assert not errors, errors
    assert first and second, "the follower did not record the files in time"
    (out,) = result
    assert out["file"].tolist() == ["1.export.CSV", "2.export.CSV"]
    assert out["signals_added"].tolist() == [1, 1]
    assert out["already_counted"].tolist() == [0, 1]
    assert [s["type"] for s in gdelt_signals(case)] == ["summit_held", "sanctions_tightened"]


class Probe:
    """A stop event that never fires and counts how often run() looked at it (run() is waiting once it has)."""

    def __init__(self) -> None:
        self.calls = 0

    def is_set(self) -> bool:
        self.calls += 1
        return False


@pytest.mark.usefixtures("ctrl_c")
def test_run_stops_on_ctrl_c_during_its_wait(setup: tuple[Path, Path, Path]) -> None:
    feed, case, checkpoint = setup
    f = pf.Follower(feed, [case], checkpoint=checkpoint)
    probe = Probe()
    seen: list[bool] = []

    def interrupt_when_waiting() -> None:
        # Wait for the state (run() has made its first pass and is waiting: it looked at the stop event more than
        # twice), then press Ctrl-C in the main thread.
        seen.append(wait_for(lambda: probe.calls > 2))
        _thread.interrupt_main()

    t = threading.Thread(target=interrupt_when_waiting)
    t.start()
    started = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        f.run(probe, interval=3600.0)  # type: ignore[arg-type]  # any object with is_set() will do
    elapsed = time.monotonic() - started
    t.join()
    assert seen == [True]
    assert elapsed < HANG, "Ctrl-C was not taken during the wait"
