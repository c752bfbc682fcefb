"""scripts/ties_terms.py is deterministic, reproduces data/episodes/ties_terms.jsonl, and its counts are pinned."""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "ties_terms.py"
COMMITTED = ROOT / "data" / "episodes" / "ties_terms.jsonl"
SUMMARY = ROOT / "data" / "episodes" / "ties_terms.summary.json"
TERMS = ROOT / "data" / "presidents" / "us_terms.csv"


def _run(out_dir: Path) -> tuple[bytes, dict[str, Any]]:
    out, summary = out_dir / "ties_terms.jsonl", out_dir / "summary.json"
    subprocess.run([sys.executable, str(SCRIPT), "--out", str(out), "--summary", str(summary), "--quiet"], check=True)
    return out.read_bytes(), json.loads(summary.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> tuple[tuple[bytes, dict[str, Any]], tuple[bytes, dict[str, Any]]]:
    return _run(tmp_path_factory.mktemp("a")), _run(tmp_path_factory.mktemp("b"))


def test_byte_identical_across_runs_and_to_the_committed_file(runs) -> None:  # type: ignore[no-untyped-def]
    (a, sa), (b, sb) = runs
    assert a == b
    assert sa == sb
    assert a == COMMITTED.read_bytes()
    assert sa == json.loads(SUMMARY.read_text(encoding="utf-8"))


def test_pinned_counts(runs) -> None:  # type: ignore[no-untyped-def]
    _, s = runs[0]
    assert s["us_led_cases"] == 681
    assert s["merged_cases"] == 539
    assert s["cases_absorbed_by_merging"] == 142
    assert s["batches_merged"] == 58
    assert s["episodes"] == 874
    assert s["by_outcome"] == {"deal": 254, "stalemate": 263, "wait_out": 357}
    assert s["by_eligibility"]["ineligible"]["stalemate"] == 0
    assert sum(sum(d.values()) for d in s["by_decade_of_term_end"].values()) == s["episodes"]
    assert sum(s["episode_rules"].values()) == s["episodes"]
    assert sum(m["merged_cases"] for m in s["finaloutcome_map"].values()) == s["merged_cases"]
    assert sum(sum(m["episodes"].values()) for m in s["finaloutcome_map"].values()) == s["episodes"]


def test_every_ties_code_is_mapped(runs) -> None:  # type: ignore[no-untyped-def]
    _, s = runs[0]
    m = s["finaloutcome_map"]
    assert set(m) == {str(i) for i in range(1, 11)} | {""}
    assert {c for c, v in m.items() if v["codebook"] == "deal"} == {"1", "2", "5", "6", "7", "10"}
    assert {c for c, v in m.items() if v["codebook"] == "no_deal"} == {"3", "4", "8", "9"}
    for c, v in m.items():
        if v["codebook"] != "deal":
            assert v["episodes"]["deal"] == 0, c


def test_episodes_lie_within_terms_and_cases(runs) -> None:  # type: ignore[no-untyped-def]
    import csv

    terms = {r["term_id"]: r for r in csv.DictReader(TERMS.open(encoding="utf-8"))}
    for line in runs[0][0].decode("utf-8").splitlines():
        ep = json.loads(line)
        t = terms[ep["ties"]["term_id"]]
        assert t["start"] <= ep["start"] < ep["term_end"] == t["end"], ep["id"]
        assert ep["reelection_eligible"] == (t["reelection_eligible"] == "true")
        assert ep["election_date"] <= ep["term_end"]
        for cid in ep["ties"]["caseids"]:
            assert cid in ep["outcome_justification"]
        for sig in ep["signals"]:
            assert ep["start"] <= sig["date"] <= ep["term_end"], ep["id"]


def test_presidents_table_is_contiguous_and_consistent() -> None:
    import csv

    rows = list(csv.DictReader(TERMS.open(encoding="utf-8")))
    for a, b in itertools.pairwise(rows):
        assert a["end"] == b["start"]
    for r in rows:
        assert r["election_date"] <= r["end"]
        assert r["fate_date"] <= r["end"]
        assert (r["stayed"] == "true") == (r["fate"] == "reelected")
        if r["reelection_eligible"] == "false":
            assert r["stayed"] == "false"
    by_id = {r["term_id"]: r for r in rows}
    assert by_id["kennedy-1"]["end"] == "1963-11-22" and by_id["nixon-2"]["end"] == "1974-08-09"
    assert by_id["truman-2"]["fate"] == by_id["johnson-2"]["fate"] == "not_standing"
