"""The stubs (`_native.pyi`, generated from the Rust definitions) match the built module (mypy.stubtest), the
committed file is what the generator writes, and the package is typed."""

from __future__ import annotations

import subprocess
import sys

from conftest import ROOT


def _succeeds(*cmd: str, timeout: int) -> None:
    r = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=timeout)
    assert r.returncode == 0, r.stdout + r.stderr


def test_stubtest() -> None:
    allowlist = str(ROOT / ".mypy-stubtest-allowlist")
    _succeeds(sys.executable, "-m", "mypy.stubtest", "pressure_forecast._native", "--allowlist", allowlist, timeout=600)


def test_committed_stubs_are_what_the_generator_writes() -> None:
    """`make stubs` (the `stub_gen` bin) would not change `_native.pyi`: a Rust change without it fails here."""
    _succeeds("cargo", "run", "-q", "-p", "pf-python", "--bin", "stub_gen", "--", "--check", timeout=1800)


def test_package_is_typed() -> None:
    assert (ROOT / "python" / "pressure_forecast" / "py.typed").exists()
    import pressure_forecast as pf

    assert set(pf.__all__) <= set(dir(pf))
    import pressure_forecast._native as native

    public = {n for n in dir(native) if not n.startswith("_")}
    assert public <= set(pf.__all__), public - set(pf.__all__)


def test_imports_without_matplotlib() -> None:
    code = (
        "import sys; sys.modules['matplotlib'] = None; sys.modules['matplotlib.pyplot'] = None\n"
        "import pressure_forecast as pf\n"
        "t = pf.Case.load('data/cases/north_korea.json').trajectory(end='2017-03-01')\n"
        "try:\n    t.plot()\nexcept ImportError as e:\n    print(e)\n"
    )
    r = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert "pip install" in r.stdout and "pressure_forecast[plot]" in r.stdout
