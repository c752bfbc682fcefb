"""Raw parameter draws over gRPC (issue 13, deliverable 4): ``Client.forecast(..., include_draws=True)`` gives a
``Forecast`` whose ``draws`` are the local ones for the same seed, only when asked for, and a reply over the
service's message size is refused before the work.

The servers run as processes on free ports (see ``test_grpc_service.ServerProcess``).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from test_grpc_service import ROOT, ServerProcess

from pressure_forecast.client import Client, ServiceError

pf = pytest.importorskip("pressure_forecast")
if not hasattr(pf, "Case"):
    pytest.skip("the native module is not built (make develop)", allow_module_level=True)

CASE = ROOT / "data" / "cases" / "north_korea.json"
AS_OF = "2018-10-31"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    s = ServerProcess(tmp_path_factory.mktemp("draws") / "store.sqlite3", "--seed-examples").start()
    yield s
    s.kill()


@pytest.fixture()
def client(server: ServerProcess) -> Iterator[Client]:
    with Client(server.address, timeout=60) as c:
        yield c


def local_case() -> Any:
    return pf.Case.load(str(CASE))


def test_remote_draws_equal_the_local_ones(client: Client) -> None:
    case = local_case()
    local = case.forecast(as_of=AS_OF, draws=400, seed=5, levels=[0.5, 0.9])
    remote = client.forecast(case.id, as_of=AS_OF, draws=400, seed=5, levels=[0.5, 0.9], include_draws=True)
    assert isinstance(remote, pf.Forecast)
    assert remote == local
    assert remote.draws is not None and local.draws is not None
    assert remote.draws.shape == (400, len(remote.outcomes)) == local.draws.shape
    assert remote.draws.dtype == np.float64
    np.testing.assert_array_equal(remote.draws, local.draws)  # the same numbers, bit for bit
    # The intervals are the summary of the draws received.
    assert np.allclose(remote.draws.mean(axis=0), remote.intervals["mean"], rtol=0, atol=1e-12)
    # summary() works on it as on the local forecast, HDI columns included (they need the raw draws).
    s_remote, s_local = remote.summary(), local.summary()
    assert list(s_remote.columns) == list(s_local.columns)
    assert {"hdi_5%", "hdi_95%", "eti_25%", "eti_75%"} <= set(s_remote.columns)
    assert list(s_remote.index) == list(s_local.index) == remote.outcomes
    np.testing.assert_allclose(s_remote.to_numpy(), s_local.to_numpy(), rtol=0, atol=1e-12)
    # Levels other than those asked for need the raw draws: they work remotely too.
    np.testing.assert_allclose(remote.summary(levels=0.8).to_numpy(), local.summary(levels=0.8).to_numpy(), rtol=0, atol=1e-12)


def test_draws_only_when_asked_for(client: Client) -> None:
    case = local_case()
    plain = client.forecast(case.id, as_of=AS_OF, draws=100, seed=5)
    assert plain.draws is None
    assert plain.intervals is not None and plain.intervals["draws"] == 100
    # Asked for without draws: nothing to send.
    none = client.forecast(case.id, as_of=AS_OF, include_draws=True)
    assert none.draws is None and none.intervals is None
    # The same seed gives the same draws; the draws are not part of equality (as locally).
    a = client.forecast(case.id, as_of=AS_OF, draws=100, seed=5, include_draws=True)
    b = client.forecast(case.id, as_of=AS_OF, draws=100, seed=5, include_draws=True)
    assert a.draws is not None and b.draws is not None
    assert np.array_equal(a.draws, b.draws)
    assert a == plain


def test_over_size_reply_is_refused(tmp_path: Path) -> None:
    s = ServerProcess(tmp_path / "small.sqlite3", "--seed-examples", "--max-message-bytes", "65536").start()
    try:
        with Client(s.address, timeout=60) as c:
            # 5,000 draws x 3 outcomes x 8 bytes = 120,000 bytes: over the 64 KiB the server allows.
            with pytest.raises(ServiceError) as e:
                c.forecast("usa-prk-2017", as_of=AS_OF, draws=5000, seed=1, include_draws=True)
            assert e.value.code == "RESOURCE_EXHAUSTED"
            assert e.value.reason == "LIMIT_EXCEEDED"
            assert "max_message_bytes" in e.value.message
            # Without the raw draws the same forecast fits.
            f = c.forecast("usa-prk-2017", as_of=AS_OF, draws=5000, seed=1)
            assert f.draws is None and f.intervals is not None
    finally:
        s.kill()
