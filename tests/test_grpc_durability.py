"""Durability: concurrent clients append batches, the server is killed with SIGKILL at an arbitrary moment and
restarted; every acknowledged signal is there exactly once, every batch is all-or-nothing, retries add
nothing, and the forecast equals one computed locally from the signals."""

from __future__ import annotations

import random
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from test_grpc_service import ServerProcess

from pressure_forecast.client import Client, ServiceError

TYPES = ["sanctions_tightened", "talks_held", "talks_refused", "provocation_by_target", "summit_held", "military_threat"]
CASE = {"id": "dur", "sender": "USA", "target": "PRK", "start": "2017-01-20", "term_end": "2021-01-20"}
BATCH = 5


def make_batch(rng: random.Random, worker: int, n: int) -> list[dict[str, Any]]:
    out = []
    for i in range(BATCH):
        day = rng.randrange(0, 1400)
        date = time.strftime("%Y-%m-%d", time.gmtime(time.mktime((2017, 1, 21, 12, 0, 0, 0, 0, 0)) + day * 86400))
        out.append({"id": f"w{worker}-b{n}-s{i}", "type": rng.choice(TYPES), "date": date, "reliability": round(rng.uniform(0.3, 1.0), 3)})
    return out


@pytest.mark.parametrize("seed", [1, 2])
def test_sigkill_loses_no_acknowledged_signal(tmp_path: Path, seed: int) -> None:
    rng = random.Random(seed)
    db = tmp_path / "dur.sqlite3"
    server = ServerProcess(db).start()
    with Client(server.address, timeout=10) as c:
        c.create_case(CASE)
    acked: list[list[dict[str, Any]]] = []
    attempted: list[list[dict[str, Any]]] = []
    lock = threading.Lock()
    stop = threading.Event()

    def worker(w: int) -> None:
        wr = random.Random(seed * 100 + w)
        with Client(server.address, timeout=10) as c:
            n = 0
            while not stop.is_set():
                batch = make_batch(wr, w, n)
                n += 1
                with lock:
                    attempted.append(batch)
                try:
                    r = c.append_signals("dur", batch)
                except ServiceError:
                    return  # the server died under us
                assert r.report.added == BATCH
                with lock:
                    acked.append(batch)

    threads = [threading.Thread(target=worker, args=(w,), daemon=True) for w in range(4)]
    for t in threads:
        t.start()
    time.sleep(rng.uniform(0.4, 1.5))
    server.kill()  # SIGKILL, mid-flight
    stop.set()
    for t in threads:
        t.join(15)
    assert acked, "no batch was acknowledged before the kill"

    server = ServerProcess(db).start()
    try:
        with Client(server.address, timeout=20) as c:
            stored = c.load_case("dur", page_size=97).signals
            ids = [s.id for s in stored]
            assert len(ids) == len(set(ids)), "a signal is stored twice"
            present = set(ids)
            for b in acked:
                for s in b:
                    assert s["id"] in present, f"acknowledged signal {s['id']} lost"
            # Each attempted batch is all or nothing; nothing else is stored.
            attempted_ids = {s["id"] for b in attempted for s in b}
            assert present <= attempted_ids
            for b in attempted:
                got = [s["id"] in present for s in b]
                assert all(got) or not any(got), "a batch was stored in part"
            # Retrying an acknowledged batch adds nothing; retrying the lost ones completes the set.
            r = c.append_signals("dur", acked[0])
            assert (r.report.added, r.report.unchanged) == (0, BATCH)
            for b in attempted:
                c.append_signals("dur", b)
            final = c.get_case("dur").coercion_case
            assert final.signal_count == len(attempted_ids)
            remote = c.forecast("dur", as_of="2020-12-31")

        pf = pytest.importorskip("pressure_forecast")
        if not hasattr(pf, "Case"):
            pytest.skip("the native module is not built (make develop)")
        local_case = pf.Case("dur", "USA", "PRK", "2017-01-20", "2021-01-20")
        local_case.observe_many([s for b in attempted for s in b])
        local = local_case.forecast(as_of="2020-12-31")
        assert type(remote) is type(local)
        assert remote == local
    finally:
        server.kill()
