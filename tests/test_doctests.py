"""The examples in the native module's docstrings (written in the Rust doc comments) run and give what they say.

The pure-Python modules' examples run through pytest's ``--doctest-modules`` (see pyproject.toml); the native
module is an extension, so its docstrings are collected here with :mod:`doctest`.
"""

from __future__ import annotations

import doctest
import os
from pathlib import Path

import pressure_forecast._native as native
import pytest

FINDER = doctest.DocTestFinder(exclude_empty=True)
FLAGS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE
TESTS = [t for t in FINDER.find(native, "pressure_forecast._native") if t.examples]


def _is_exception(obj: object) -> bool:
    return isinstance(obj, type) and issubclass(obj, Exception)


def test_native_docstrings_have_examples() -> None:
    documented = {t.name.rsplit(".", 1)[-1] for t in TESTS}
    public = {n for n in dir(native) if not n.startswith("_") and callable(getattr(native, n))}
    exceptions = {
        n for n in public if isinstance(getattr(native, n), type) and issubclass(getattr(native, n), Exception)
    }
    assert public - exceptions <= documented, sorted(public - exceptions - documented)


@pytest.mark.parametrize("test", TESTS, ids=[t.name for t in TESTS])
def test_native_docstring_examples(test: doctest.DocTest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # the examples use no repository paths: they run from anywhere
    monkeypatch.setitem(os.environ, "MPLBACKEND", "Agg")
    runner = doctest.DocTestRunner(optionflags=FLAGS)
    runner.run(test)
    result = runner.summarize(verbose=False)
    assert result.failed == 0, f"{result.failed} of {result.attempted} examples of {test.name} failed"
