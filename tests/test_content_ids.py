"""Idempotent by content (docs/signals.md): a record without an id gets ``c-`` + 24 hex digits of the SHA-256 of
its canonical form, so re-running a cell or retrying a call changes nothing; two identical reports stay two only
with their own ids. The id is checked against an independent computation with hashlib and numpy."""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd
import pressure_forecast as pf

AS_OF = "2018-10-31"


def reference_id(
    type_: str, date: str, source: str = "", note: str = "", reliability: float = 1.0, weight: float = 1.0
) -> str:
    """The documented canonical form, computed here without the package."""

    def net(s: str) -> bytes:
        b = s.encode()
        return str(len(b)).encode() + b":" + b + b","

    def num(x: float) -> str:
        return np.format_float_positional(x, unique=True, trim="-")

    form = b"".join(net(f) for f in ["pf-signal-content/1", type_, date, source, note, num(reliability), num(weight)])
    return "c-" + hashlib.sha256(form).hexdigest()[:24]


def idless_frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "type": ["talks_held", "sanctions_tightened", "talks_held", "concession_offered_by_target"],
            "date": ["2018-07-06", "2018-08-03", "2018-07-06", "2018-09-19"],
            "reliability": [0.8, 1.0, 0.8, 0.0000001],
            "source": ["AP", 'Treasury, OFAC: "new designations"', "AP", ""],
            "note": [None, "line one\nline two", None, "tiny reliability"],
        }
    )


def test_ids_match_the_documented_form() -> None:
    assert reference_id("summit_held", "2018-06-12", reliability=0.9) == "c-b56b4afbdc0e56bd0cf15441"
    c = pf.Case("ids", "USA", "PRK", "2017-01-20", "2021-01-20")
    c.observe_many(idless_frame())
    want = {
        reference_id("talks_held", "2018-07-06", "AP", "", 0.8, 1.0),
        reference_id(
            "sanctions_tightened", "2018-08-03", 'Treasury, OFAC: "new designations"', "line one\nline two", 1.0, 1.0
        ),
        reference_id("concession_offered_by_target", "2018-09-19", "", "tiny reliability", 0.0000001, 1.0),
    }
    assert {s.id for s in c.signals} == want


def test_rerunning_a_cell_three_times_changes_nothing() -> None:
    case = pf.datasets.north_korea()
    before = case.forecast(as_of=AS_OF)
    n = len(case)
    reports = [case.observe_many(idless_frame()) for _ in range(3)]
    # The first run adds the three distinct records (the repeated row is the same signal); the others add nothing.
    assert [(r.added, r.unchanged) for r in reports] == [(3, 1), (0, 4), (0, 4)]
    assert len(case) == n + 3
    after = [case.forecast(as_of=AS_OF)]
    case.observe_many(idless_frame())
    after.append(case.forecast(as_of=AS_OF))
    assert after[0] == after[1] and after[0] != before


def test_identical_reports_stay_two_only_with_their_own_ids() -> None:
    c = pf.Case("twins", "USA", "PRK", "2017-01-20", "2021-01-20")
    c.observe_many([{"type": "talks_held", "date": "2018-07-06"}, {"type": "talks_held", "date": "2018-07-06"}])
    assert len(c) == 1
    c.observe_many(
        [
            {"type": "talks_held", "date": "2018-07-06", "id": "a"},
            {"type": "talks_held", "date": "2018-07-06", "id": "b"},
        ]
    )
    assert len(c) == 3
