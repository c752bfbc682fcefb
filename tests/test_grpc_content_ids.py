"""Idempotent by content over gRPC: AppendSignals with id-less records, retried, changes nothing, and the ids the
service gives are those the local API gives."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from test_content_ids import AS_OF, idless_frame
from test_grpc_service import ServerProcess

import pressure_forecast as pf
from pressure_forecast.client import Client


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Client]:
    s = ServerProcess(tmp_path_factory.mktemp("content_ids") / "store.sqlite3").start()
    try:
        with Client(s.address, timeout=30) as c:
            yield c
    finally:
        s.kill()


def test_append_retried_three_times_changes_nothing(client: Client) -> None:
    local = pf.datasets.north_korea()
    client.create_case(local)
    records = idless_frame().to_dict("records")
    results = [client.append_signals(local.id, records, as_of=AS_OF) for _ in range(3)]
    assert [(r.report.added, r.report.unchanged) for r in results] == [(3, 1), (0, 4), (0, 4)]
    assert results[0].forecast == results[1].forecast == results[2].forecast
    local.observe_many(idless_frame())
    remote = client.load_case(local.id)
    assert remote == local
    assert client.forecast(local.id, as_of=AS_OF) == local.forecast(as_of=AS_OF)
