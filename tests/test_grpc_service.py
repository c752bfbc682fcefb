"""The gRPC service driven by a real non-Rust client: grpcio stubs generated from the proto, health and
reflection, and numbers equal to the local Python API's for the same case.

The server runs as a process (``pressure-forecast serve``, or the ``serve`` example of pf-server when the CLI
does not have the subcommand) on a free port with a temporary store.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import grpc
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "python"))

from pressure_forecast.client import Client, ServiceError  # noqa: E402


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def server_command() -> list[str]:
    """The command that runs the server: $PRESSURE_FORECAST_SERVER (a program taking the serve flags), else
    `pressure-forecast serve` from the workspace, rebuilt by cargo (a no-op when up to date)."""
    if os.environ.get("PRESSURE_FORECAST_SERVER"):
        return [os.environ["PRESSURE_FORECAST_SERVER"]]
    cargo = shutil.which("cargo")
    assert cargo is not None, "cargo is needed to build the server under test"
    subprocess.run([cargo, "build", "-q", "-p", "pf-cli"], cwd=ROOT, check=True)
    return [str(ROOT / "target" / "debug" / "pressure-forecast"), "serve"]


class ServerProcess:
    """A server process on a free port; `start()` waits until it listens."""

    def __init__(self, db: Path, *extra: str) -> None:
        self.db = db
        self.extra = list(extra)
        self.port = free_port()
        self.address = f"127.0.0.1:{self.port}"
        self.proc: subprocess.Popen[str] | None = None
        self.output: list[str] = []

    def start(self, timeout: float = 30.0) -> ServerProcess:
        cmd = server_command() + ["--listen", self.address, "--db", str(self.db), *self.extra]
        env = {k: v for k, v in os.environ.items() if not k.startswith("PRESSURE_FORECAST_")}
        env["PRESSURE_FORECAST_LOG"] = "warn"
        self.proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        ready = threading.Event()

        def pump() -> None:
            assert self.proc is not None and self.proc.stdout is not None
            for line in self.proc.stdout:
                self.output.append(line)
                if "listening on" in line:
                    ready.set()

        threading.Thread(target=pump, daemon=True).start()
        deadline = time.monotonic() + timeout
        while not ready.wait(0.05):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("server did not start:\n" + "".join(self.output))
        return self

    def kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)

    def terminate(self) -> int:
        assert self.proc is not None
        self.proc.terminate()
        return self.proc.wait(20)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Any:
    s = ServerProcess(tmp_path_factory.mktemp("grpc") / "store.sqlite3", "--seed-examples").start()
    yield s
    s.kill()


@pytest.fixture()
def client(server: ServerProcess) -> Any:
    with Client(server.address, timeout=20) as c:
        yield c


def test_start_prints_example_forecasts_and_address(server: ServerProcess) -> None:
    text = "".join(server.output)
    assert "usa-prk-2017" in text and "usa-irn-2018" in text
    assert server.address in text


def test_health_and_reflection(server: ServerProcess, client: Client) -> None:
    from grpc_health.v1 import health_pb2, health_pb2_grpc
    from grpc_reflection.v1alpha.proto_reflection_descriptor_database import ProtoReflectionDescriptorDatabase

    assert client.health() == "SERVING"
    with grpc.insecure_channel(server.address) as ch:
        r = health_pb2_grpc.HealthStub(ch).Check(health_pb2.HealthCheckRequest(service=""), timeout=10)
        assert r.status == health_pb2.HealthCheckResponse.SERVING
        db = ProtoReflectionDescriptorDatabase(ch)
        services = db.get_services()
        assert "pressureforecast.v1.ForecastService" in services
        assert "grpc.health.v1.Health" in services
        from google.protobuf.descriptor_pool import DescriptorPool

        pool = DescriptorPool(db)
        svc = pool.FindServiceByName("pressureforecast.v1.ForecastService")
        assert {"GetForecast", "AppendSignals", "WatchForecast", "ImportEvents", "UpdateCase", "RetractSignal", "ListSignals"} <= {
            m.name for m in svc.methods
        }


def test_numbers_equal_the_local_api(client: Client) -> None:
    pf = pytest.importorskip("pressure_forecast")
    if not hasattr(pf, "Case"):
        pytest.skip("the native module is not built (make develop)")
    for path in sorted((ROOT / "data" / "cases").glob("*.json")):
        local_case = pf.Case.load(str(path))
        for as_of in ("2018-06-30", "2018-10-31", "2020-06-01"):
            remote_forecast = client.forecast(local_case.id, as_of=as_of)
            assert isinstance(remote_forecast, pf.Forecast)
            remote = remote_forecast.to_json()
            local = local_case.forecast(as_of=as_of).to_json()
            assert remote == local
            assert remote["probabilities"] == local["probabilities"], (path.name, as_of)
            assert remote["regimes"] == local["regimes"]
            assert remote["log_likelihood"] == local["log_likelihood"]
            assert remote["signals_used"] == local["signals_used"]
            assert (remote["as_of"], remote["term_end"]) == (local["as_of"], local["term_end"])
        # Intervals from draws: same seed, same numbers.
        remote = client.forecast(local_case.id, as_of="2018-10-31", draws=300, seed=11, levels=[0.5, 0.9]).to_json()
        local = local_case.forecast(as_of="2018-10-31", draws=300, seed=11, levels=[0.5, 0.9]).to_json()
        assert remote["intervals"]["mean"] == pytest.approx(local["intervals"]["mean"], abs=1e-12)
        for a, b in zip(remote["intervals"]["intervals"], local["intervals"]["intervals"]):
            assert a["lower"] == pytest.approx(b["lower"], abs=1e-12)
            assert a["upper"] == pytest.approx(b["upper"], abs=1e-12)


def test_case_lifecycle_append_and_errors(client: Client) -> None:
    import pressure_forecast as pf

    case = {
        "id": "py-case",
        "sender": "USA",
        "target": "PRK",
        "start": "2017-01-20",
        "term_end": "2021-01-20",
        "signals": [{"id": "a", "type": "sanctions_tightened", "date": "2017-08-05"}],
    }
    r = client.create_case(case)
    assert r.created and isinstance(r.forecast, pf.Forecast)
    assert client.get_case("py-case").coercion_case.signal_count == 1
    assert not client.create_case(case).created
    batch = [{"id": "b", "type": "summit_held", "date": "2018-06-12"}, {"id": "c", "type": "talks_held", "date": "2018-07-06", "weight": 0.5}]
    r = client.append_signals("py-case", batch, as_of="2018-10-31")
    assert (r.report.added, r.report.unchanged, r.signal_count) == (2, 0, 3)
    assert abs(sum(r.forecast.probabilities.values()) - 1) < 1e-12
    r = client.append_signals("py-case", batch)
    assert (r.report.added, r.report.unchanged) == (0, 2)
    with pytest.raises(ValueError):
        client.append_signals("py-case", [{"id": "d", "type": "talks_held", "date": "2018-02-30"}])
    with pytest.raises(ServiceError) as e:
        client.append_signals("py-case", [{"id": "b", "type": "talks_refused", "date": "2018-06-12"}])
    assert e.value.code == "ALREADY_EXISTS" and e.value.field == "signals[0].id"
    with pytest.raises(ServiceError) as e:
        client.forecast("no-such-case")
    assert e.value.code == "NOT_FOUND" and e.value.reason == "CASE_NOT_FOUND"
    assert client.get_case("py-case").coercion_case.signal_count == 3
    ids = [c.id for c in client.iter_cases(page_size=1)]
    assert ids == sorted(ids) and "py-case" in ids and "usa-prk-2017" in ids

    explained = client.explain("py-case", as_of="2018-10-31")
    att = explained.to_json()
    for i in range(len(att["outcomes"])):
        total = sum(c["delta"][i] for c in att["contributions"])
        assert abs(total - (att["total"][i] - att["baseline"][i])) < 1e-12
    assert len(explained.to_pandas()) == 3
    local = client.load_case("py-case").forecast(as_of="2018-10-31")
    assert local == client.forecast("py-case", as_of="2018-10-31")
    t = client.trajectory("py-case", start="2018-06-10", end="2018-06-14")
    assert len(t.to_pandas()) == 5
    assert [p["date"] for p in t.to_json()["points"]] == ["2018-06-10", "2018-06-11", "2018-06-12", "2018-06-13", "2018-06-14"]
    w = client.what_if("py-case", signals=[{"type": "agreement_signed", "date": "2018-11-01"}], as_of="2018-10-31")
    assert w.to_json()["delta"][0] > 0
    assert w.scenario.probabilities["deal"] > w.baseline.probabilities["deal"]
    v = client.value_of_information("py-case", as_of="2018-10-31").to_json()
    assert v["values"] and v["values"][0]["score"] >= v["values"][-1]["score"]
    m = client.model()
    assert list(m.outcomes) == ["deal", "stalemate", "wait_out"] and m.toml
    assert {t.name for t in client.signal_types()} >= {"summit_held", "talks_refused"}
    assert client.delete_case("py-case") == 3


def test_watch_receives_a_forecast_after_each_append(client: Client, server: ServerProcess) -> None:
    client.create_case({"id": "py-watch", "sender": "USA", "target": "IRN", "start": "2018-05-08", "term_end": "2021-01-20"})
    got: list[Any] = []
    first = threading.Event()
    done = threading.Event()

    def watch() -> None:
        with Client(server.address) as c2:
            for f in c2.watch("py-watch", as_of="2020-01-01", timeout=30):
                got.append(f)
                first.set()
                if len(got) == 3:
                    done.set()
                    return

    th = threading.Thread(target=watch, daemon=True)
    th.start()
    assert first.wait(10)
    r1 = client.append_signals("py-watch", [{"id": "x1", "type": "sanctions_tightened", "date": "2018-11-05"}], as_of="2020-01-01")
    r2 = client.append_signals("py-watch", [{"id": "x2", "type": "talks_refused", "date": "2019-01-05"}], as_of="2020-01-01")
    assert done.wait(10)
    assert [g.signal_count for g in got] == [0, 1, 2]
    assert got[1].forecast == r1.forecast
    assert got[2].forecast == r2.forecast


def test_sigterm_shuts_down_cleanly(tmp_path: Path) -> None:
    s = ServerProcess(tmp_path / "s.sqlite3").start()
    with Client(s.address) as c:
        c.create_case({"id": "t", "sender": "USA", "target": "PRK", "start": "2017-01-20", "term_end": "2021-01-20"})
    assert s.terminate() == 0
    s2 = ServerProcess(tmp_path / "s.sqlite3").start()
    try:
        with Client(s2.address) as c:
            assert c.get_case("t").coercion_case.id == "t"
    finally:
        s2.kill()
    # The example files the server embeds are the ones in data/cases.
    assert json.loads((ROOT / "data" / "cases" / "north_korea.json").read_text())["id"] == "usa-prk-2017"
