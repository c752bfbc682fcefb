"""docs/explanations.md runs as a doctest: its worked example's numbers are the code's, so they cannot go stale."""

from __future__ import annotations

import doctest

from conftest import ROOT


def test_explanations_page_runs() -> None:
    r = doctest.testfile(
        str(ROOT / "docs" / "explanations.md"),
        module_relative=False,
        optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE,
        verbose=False,
    )
    assert r.attempted >= 10 and r.failed == 0, r
