"""The wheel outside the repository (issue 13's first check): build the wheel, install it with pip into a new
virtual environment in a temporary directory, and run the README's Python snippet and the example notebook
unchanged there, with the temporary directory as the working directory and nothing of the repository on the path.

Slow (a release build of the extension and a pip install): marked ``slow`` and ``wheel``; ``make test`` runs it
(``pytest -m "not wheel"`` leaves it out). ``PF_WHEEL=path/to/pressure_forecast-*.whl`` tests a wheel already
built instead of building one. The runtime dependencies come from pip's cache or the package index.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest
from conftest import ROOT
from test_readme import readme_example

pytestmark = [pytest.mark.slow, pytest.mark.wheel]

# What the wheel must carry besides the extension: the typing information and the package data of pf.datasets.
REQUIRED = [
    "pressure_forecast/__init__.py",
    "pressure_forecast/py.typed",
    "pressure_forecast/_native.pyi",
    "pressure_forecast/datasets.py",
    "pressure_forecast/_follow.py",
    "pressure_forecast/data/README.md",
    "pressure_forecast/data/cases/north_korea.json",
    "pressure_forecast/data/cases/iran.json",
    "pressure_forecast/data/episodes/episodes.json",
    "pressure_forecast/data/episodes/ties_terms.jsonl",
    "pressure_forecast/data/events/gdelt2_events_sample_50rows.tsv",
    "pressure_forecast/data/events/icews18_2018-06_usa_prk.csv",
]


def run(cmd: list[str], cwd: Path, env: dict[str, str], timeout: float) -> subprocess.CompletedProcess[str]:
    r = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False)
    assert r.returncode == 0, f"{' '.join(cmd)} failed ({r.returncode}):\n{r.stdout[-4000:]}\n{r.stderr[-4000:]}"
    return r


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel: ``$PF_WHEEL``, or one built now with ``maturin build --release`` (in the extension's target dir,
    so a ``make develop`` before it leaves little to compile)."""
    given = os.environ.get("PF_WHEEL")
    if given:
        return Path(given).resolve()
    maturin = shutil.which("maturin", path=str(Path(sys.executable).parent)) or shutil.which("maturin")
    assert maturin is not None, "maturin is needed to build the wheel (make venv installs it)"
    out = tmp_path_factory.mktemp("wheels")
    env = {**os.environ, "CARGO_TARGET_DIR": str(ROOT / "target" / "maturin")}
    started = time.monotonic()
    run([maturin, "build", "--release", "--quiet", "--out", str(out)], ROOT, env, timeout=1800)
    print(f"maturin build --release: {time.monotonic() - started:.0f} s")
    (built,) = out.glob("pressure_forecast-*.whl")
    return built


def test_the_wheel_carries_the_package_data_and_the_typing_information(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    missing = [n for n in REQUIRED if n not in names]
    assert not missing, f"{wheel.name} lacks {missing}"
    assert any(n.startswith("pressure_forecast/_native.") and n.endswith(".so") for n in names)
    # Nothing of the repository's own tree leaks in (tests, data/ at the top, target/).
    assert not [n for n in names if n.split("/")[0] in {"tests", "data", "target", "crates"}]


def test_readme_snippet_and_notebook_run_from_a_new_venv_outside_the_repository(wheel: Path, tmp_path: Path) -> None:
    started = time.monotonic()
    work = tmp_path / "analyst"
    work.mkdir()
    assert ROOT not in work.parents
    venv = tmp_path / "venv"
    # A clean environment: nothing of the repository or of this test's virtual environment on the path.
    env = {k: v for k, v in os.environ.items() if k not in {"PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME"}}
    env["MPLBACKEND"] = "Agg"
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    base = getattr(sys, "_base_executable", sys.executable)
    run([base, "-m", "venv", str(venv)], work, env, timeout=300)
    py = str(venv / "bin" / "python")
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    # The notebook plots (plot) and has a section on a Dask LocalCluster (dask).
    run([py, "-m", "pip", "install", "--quiet", f"{wheel}[plot,dask]"], work, env, timeout=900)
    installed = time.monotonic()

    where = run([py, "-c", "import pressure_forecast as pf; print(pf.__file__)"], work, env, timeout=120).stdout
    assert Path(where.strip()).is_relative_to(venv), f"imported from {where.strip()}, not the new environment"

    # The README's snippet, unchanged.
    code = readme_example()
    assert code is not None
    (work / "readme_snippet.py").write_text(code)
    run([py, "readme_snippet.py"], work, env, timeout=600)

    # The notebook, unchanged: its code cells in order, as one script (IPython's display of a cell's last
    # expression aside, that is what a kernel runs).
    nb = json.loads((ROOT / "examples" / "maximum_pressure.ipynb").read_text())
    cells = ["".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code"]
    assert len(cells) > 10
    assert not [c for c in cells if c.lstrip().startswith(("%", "!"))], "the notebook must run as plain Python"
    script = "\n\n".join(f"# --- cell {i} ---\n{c}" for i, c in enumerate(cells))
    (work / "notebook.py").write_text(script)
    out = run([py, "notebook.py"], work, env, timeout=900)
    assert "IngestReport(" in out.stdout  # the ICEWS cell ran on the packaged sample

    # Nothing was read from the repository: the working directory holds only what the test wrote.
    assert sorted(p.name for p in work.iterdir()) == ["notebook.py", "readme_snippet.py"]
    print(f"pip install: {installed - started:.0f} s, snippet and notebook: {time.monotonic() - installed:.0f} s")
