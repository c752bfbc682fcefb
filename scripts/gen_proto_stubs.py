"""Generate the Python stubs of the gRPC contract into ``python/pressure_forecast/_proto/`` (committed).

    python scripts/gen_proto_stubs.py           # write them
    python scripts/gen_proto_stubs.py --check   # exit 1 when the committed stubs differ from the proto

The stubs are made by grpcio-tools' ``protoc`` from ``proto/pressureforecast/v1/forecast_service.proto``; the
one import of the proto package in the ``_grpc`` module is made relative, so the stubs live inside the
``pressure_forecast`` package and leave the name ``pressureforecast`` free for anyone's own stubs. The messages
of ``google.type`` come from the ``googleapis-common-protos`` package at run time.

Only the client side is shipped: the server is the Rust service, so the generated servicer base class (whose
methods answer UNIMPLEMENTED until a subclass overrides them) and ``add_*Servicer_to_server`` are cut out.
Anyone who wants to serve the contract from Python generates full stubs from the proto.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PROTO_ROOT = ROOT / "proto"
PROTO = "pressureforecast/v1/forecast_service.proto"
OUT = ROOT / "python" / "pressure_forecast" / "_proto"
INIT = '''"""Generated protobuf and gRPC stubs of the ``pressureforecast.v1`` contract (do not edit).

Made by ``scripts/gen_proto_stubs.py`` from ``proto/pressureforecast/v1/forecast_service.proto`` with
grpcio-tools; ``tests/test_grpc_stubs.py`` fails when they differ from what the proto gives.
"""
'''
ABSOLUTE = "from pressureforecast.v1 import forecast_service_pb2 as"
# The server half of the generated gRPC module, from the servicer base class to the experimental client class.
SERVER_START = "class ForecastServiceServicer"
SERVER_END = "# This class is part of an EXPERIMENTAL API.\nclass ForecastService:"
RELATIVE = "from . import forecast_service_pb2 as"


def generate(out: Path) -> None:
    """Write the stubs into ``out`` (created or emptied)."""
    import grpc_tools
    from grpc_tools import protoc

    wkt = Path(grpc_tools.__file__).parent / "_proto"
    with tempfile.TemporaryDirectory() as tmp:
        args = [
            "grpc_tools.protoc",
            f"-I{PROTO_ROOT}",
            f"-I{wkt}",
            f"--python_out={tmp}",
            f"--pyi_out={tmp}",
            f"--grpc_python_out={tmp}",
            str(PROTO_ROOT / PROTO),
        ]
        if protoc.main(args) != 0:
            raise SystemExit(f"grpc_tools.protoc failed on {PROTO}")
        gen = Path(tmp) / "pressureforecast" / "v1"
        grpc_file = gen / "forecast_service_pb2_grpc.py"
        text = grpc_file.read_text()
        if ABSOLUTE not in text:
            raise SystemExit(f"{grpc_file.name}: expected the line {ABSOLUTE!r} to make relative")
        start, end = text.find(SERVER_START), text.find(SERVER_END)
        if not 0 <= start < end:
            raise SystemExit(f"{grpc_file.name}: expected the servicer class before the experimental client class")
        grpc_file.write_text(text[:start].replace(ABSOLUTE, RELATIVE) + text[end:])
        if out.exists():
            shutil.rmtree(out)
        out.mkdir(parents=True)
        for f in sorted(gen.iterdir()):
            shutil.copy(f, out / f.name)
        (out / "__init__.py").write_text(INIT)


def differences(a: Path, b: Path) -> list[str]:
    """Files that differ between two stub directories."""
    names = sorted({p.name for p in a.iterdir()} | {p.name for p in b.iterdir()})
    return [n for n in names if not ((a / n).is_file() and (b / n).is_file() and (a / n).read_bytes() == (b / n).read_bytes())]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail when the committed stubs are not up to date")
    args = parser.parse_args()
    if not args.check:
        generate(OUT)
        print(f"wrote {OUT.relative_to(ROOT)}")
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        fresh = Path(tmp) / "_proto"
        generate(fresh)
        diff = differences(fresh, OUT) if OUT.is_dir() else ["(no _proto directory)"]
    if diff:
        print(f"stale stubs in {OUT.relative_to(ROOT)}: {', '.join(diff)}; run python scripts/gen_proto_stubs.py", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
