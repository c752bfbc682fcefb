"""The contract's Python stubs cannot drift, and cannot collide.

- The stubs shipped in ``pressure_forecast._proto`` are exactly what ``scripts/gen_proto_stubs.py`` makes from the
  proto today.
- A stranger who generates stubs from ``proto/`` with their own ``grpc_tools.protoc`` into a directory of theirs
  imports them beside the installed ``pressure_forecast`` package (the proto package ``pressureforecast.v1``
  no longer shares its name) and calls the service with them.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
from test_grpc_service import ROOT, ServerProcess


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    s = ServerProcess(tmp_path_factory.mktemp("stubs") / "store.sqlite3", "--seed-examples").start()
    yield s
    s.kill()


def test_shipped_stubs_match_the_proto() -> None:
    r = subprocess.run([sys.executable, str(ROOT / "scripts" / "gen_proto_stubs.py"), "--check"], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr


def test_a_strangers_stubs_import_beside_the_package_and_call_the_service(tmp_path: Path, server: ServerProcess) -> None:
    pytest.importorskip("grpc_tools")
    import grpc_tools

    out = tmp_path / "gen"
    out.mkdir()
    wkt = Path(grpc_tools.__file__).parent / "_proto"
    gen = subprocess.run(
        [
            sys.executable,
            "-m",
            "grpc_tools.protoc",
            f"-I{ROOT / 'proto'}",
            f"-I{wkt}",
            f"--python_out={out}",
            f"--grpc_python_out={out}",
            "pressureforecast/v1/forecast_service.proto",
        ],
        capture_output=True,
        text=True,
    )
    assert gen.returncode == 0, gen.stderr
    script = textwrap.dedent(
        f"""
        import grpc
        import pressure_forecast                          # the installed package, with its own stubs
        from pressure_forecast.client import Client
        from pressureforecast.v1 import forecast_service_pb2 as spb, forecast_service_pb2_grpc as sgrpc
        from google.type import date_pb2

        with grpc.insecure_channel({server.address!r}) as ch:
            stub = sgrpc.ForecastServiceStub(ch)
            m = stub.GetModel(spb.GetModelRequest(), timeout=20)
            assert list(m.outcomes) == ["deal", "stalemate", "wait_out"], m.outcomes
            r = stub.GetForecast(
                spb.GetForecastRequest(case_id="usa-prk-2017", as_of=date_pb2.Date(year=2018, month=10, day=31)), timeout=20
            )
            stranger = dict(r.forecast.probabilities)
        with Client({server.address!r}) as c:
            mine = c.forecast("usa-prk-2017", as_of="2018-10-31").probabilities
        assert stranger == mine, (stranger, mine)
        print("ok")
        """
    )
    run = subprocess.run([sys.executable, "-c", script], cwd=out, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "ok"
