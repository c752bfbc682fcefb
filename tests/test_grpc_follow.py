"""Following a feed through the service from Python: `pf.Follower(..., client=Client(...))` reads each case with
`load_case` and appends a file's new signals with `append_signals`, to a real `pressure-forecast serve` seeded with
the example cases. Each file once, a restart with the checkpoint ingests nothing, more events of a recorded day
add a new signal with its own id, repeated events add nothing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pressure_forecast as pf
import pytest
from test_follow import drop, gdelt_row
from test_grpc_service import ServerProcess

from pressure_forecast.client import Client


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Any:
    s = ServerProcess(tmp_path_factory.mktemp("grpc-follow") / "store.sqlite3", "--seed-examples").start()
    yield s
    s.kill()


def gdelt(client: Client, case_id: str) -> list[tuple[str, list[str]]]:
    return [(s.id, list(s.event_ids)) for s in client.load_case(case_id).signals if s.source == "gdelt2"]


def test_follow_through_the_service(server: ServerProcess, tmp_path: Path) -> None:
    feed = tmp_path / "feed"
    feed.mkdir()
    checkpoint = tmp_path / "checkpoint.json"
    with Client(server.address, timeout=20) as client:
        seeded = len(client.load_case("usa-prk-2017").signals)
        assert gdelt(client, "usa-prk-2017") == []

        f = pf.Follower(feed, ["usa-prk-2017"], checkpoint=checkpoint, client=client)
        drop(feed, "1.export.CSV", [gdelt_row(1), gdelt_row(2, source="PRK", target="USA")])
        out = f.poll()
        assert out["case"].tolist() == [f"{server.address}/usa-prk-2017"]
        assert out[["rows_matched", "already_counted", "signals_added", "signals_present"]].values.tolist() == [[2, 0, 1, 0]]
        assert out["error"].isna().all()
        ((first_id, first_events),) = gdelt(client, "usa-prk-2017")
        assert first_events == ["1", "2"]
        assert len(client.load_case("usa-prk-2017").signals) == seeded + 1

        # A restart with the same checkpoint ingests nothing again.
        again = pf.Follower(feed, ["usa-prk-2017"], checkpoint=checkpoint, client=client)
        assert again.files_done == ["1.export.CSV"] and len(again.poll()) == 0

        # More of the same day: event 2 is counted, event 3 makes a new signal with its own id.
        drop(feed, "2.export.CSV", [gdelt_row(2, source="PRK", target="USA"), gdelt_row(3)])
        out = again.poll()
        assert out[["rows_matched", "already_counted", "signals_added"]].values.tolist() == [[1, 1, 1]]
        signals = gdelt(client, "usa-prk-2017")
        assert sorted(signals) == sorted([(first_id, ["1", "2"]), (next(i for i, _ in signals if i != first_id), ["3"])])

        # Events all counted: nothing added.
        drop(feed, "3.export.CSV", [gdelt_row(1), gdelt_row(3)])
        assert again.poll()[["already_counted", "signals_added"]].values.tolist() == [[2, 0]]
        assert len(gdelt(client, "usa-prk-2017")) == 2


def test_an_unknown_case_is_an_error_row_and_not_checkpointed(server: ServerProcess, tmp_path: Path) -> None:
    feed = tmp_path / "feed"
    feed.mkdir()
    with Client(server.address, timeout=20) as client:
        f = pf.Follower(feed, ["no-such-case"], client=client)
        drop(feed, "1.export.CSV", [gdelt_row(1)])
        out = f.poll()
    assert out["file"].tolist() == ["1.export.CSV"] and out["case"].isna().tolist() == [True]
    assert "no-such-case`: load_case failed" in str(out["error"].iloc[0])
    assert f.files_done == []
