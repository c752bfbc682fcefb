"""The README's Python example runs as written (the ```python block between the python-example markers)."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from conftest import ROOT

START, END = "<!-- python-example:start -->", "<!-- python-example:end -->"


def readme_example() -> str | None:
    readme = ROOT / "README.md"
    if not readme.exists():
        return None
    text = readme.read_text()
    if START not in text or END not in text:
        return None
    section = text.split(START, 1)[1].split(END, 1)[0]
    m = re.search(r"```python\n(.*?)```", section, re.S)
    return m.group(1) if m else None


def test_readme_python_example(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """The README's snippet runs from any directory: its case comes from the package (pf.datasets)."""
    code = readme_example()
    assert code is not None, "README.md must keep its python example between the python-example markers"
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MPLBACKEND", "Agg")
    exec(compile(code, "README.md#python-example", "exec"), {"__name__": "__readme__"})
    assert os.getcwd() == str(tmp_path)
