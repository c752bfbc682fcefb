"""scripts/base_rates.py reproduces data/sanctions/base_rates.json and its counts add up.

The primary figures are the term-end base rates by the codebook (`term_end`, `recommended_prior`); the earlier
case-end figures are kept under `case_end_v1`.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "base_rates.py"
COMMITTED = ROOT / "data" / "sanctions" / "base_rates.json"
OUTCOMES = ("deal", "stalemate", "wait_out")


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    out = tmp_path_factory.mktemp("base_rates") / "base_rates.json"
    subprocess.run([sys.executable, str(SCRIPT), "--out", str(out), "--quiet"], check=True)
    data: dict[str, Any] = json.loads(out.read_text(encoding="utf-8"))
    return data


def blocks(res: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    v1 = res["case_end_v1"]
    return [
        ("ties.all_senders", v1["ties"]["all_senders"]),
        ("ties.us_primary_sender", v1["ties"]["us_primary_sender"]),
        ("ties.us_primary_sender_imposed", v1["ties"]["us_primary_sender_imposed"]),
        ("gsdb.all_senders", v1["gsdb"]["all_senders"]),
        ("gsdb.us_sender", v1["gsdb"]["us_sender"]),
    ]


def test_output_equals_committed(generated: dict[str, Any]) -> None:
    committed = json.loads(COMMITTED.read_text(encoding="utf-8"))
    assert generated == committed


@pytest.mark.parametrize("idx", range(5))
def test_mapped_counts_sum_to_rows_used(generated: dict[str, Any], idx: int) -> None:
    name, block = blocks(generated)[idx]
    assert sum(block["counts"][o] for o in OUTCOMES) == block["rows_used"], name
    assert abs(sum(block["rates"].values()) - 1.0) < 1e-5, name


def test_ties_rows_accounted_for(generated: dict[str, Any]) -> None:
    t = generated["case_end_v1"]["ties"]
    assert t["rows_total"] == 1412
    assert t["all_senders"]["rows_used"] + t["rows_without_finaloutcome"] == t["rows_total"]
    assert sum(t["all_senders"]["by_finaloutcome"].values()) == t["all_senders"]["rows_used"]
    mapped = set(t["mapping"]["deal"]) | set(t["mapping"]["no_deal"])
    assert mapped == set(t["mapping"]["labels"]) and not set(t["mapping"]["deal"]) & set(t["mapping"]["no_deal"])
    # the US subsets are subsets
    assert (
        t["us_primary_sender_imposed"]["rows_used"]
        <= t["us_primary_sender"]["rows_used"]
        <= t["all_senders"]["rows_used"]
    )


def test_gsdb_rows_accounted_for(generated: dict[str, Any]) -> None:
    for key in ("all_senders", "us_sender"):
        g = generated["case_end_v1"]["gsdb"][key]
        assert g["rows_used"] + g["rows_ongoing_excluded"] == g["rows_total"], key
    assert generated["case_end_v1"]["gsdb"]["all_senders"]["rows_total"] == 1101


def test_recommended_prior_is_a_distribution(generated: dict[str, Any]) -> None:
    for rec in (generated["recommended_prior"], generated["case_end_v1"]["recommended_prior"]):
        assert rec["outcomes"] == list(OUTCOMES)
        assert all(0.0 < p < 1.0 for p in rec["prior"])
        assert abs(sum(rec["prior"]) - 1.0) < 1e-9
        assert rec["reasoning"]
    ineligible = generated["recommended_prior"]["prior_ineligible"]
    assert ineligible[1] == 0.0 and abs(sum(ineligible) - 1.0) < 1e-9


def _term_blocks(te: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    out = [(k, te[k]) for k in ("all", "eligible", "ineligible")]
    for group in ("imposed", "campaign_began_in_term"):
        out += [(f"{group}.{k}", te[group][k]) for k in ("all", "eligible", "ineligible")]
    return out


def test_term_end_counts_add_up(generated: dict[str, Any]) -> None:
    te = generated["term_end"]
    for name, block in _term_blocks(te):
        assert sum(block["counts"].values()) == block["episodes"], name
        if block["episodes"]:
            assert abs(sum(block["rates"].values()) - 1.0) < 1e-5, name
    assert te["eligible"]["episodes"] + te["ineligible"]["episodes"] == te["all"]["episodes"]
    # stalemate is impossible for a leader who cannot stay
    assert te["ineligible"]["counts"]["stalemate"] == 0
    assert te["imposed"]["ineligible"]["counts"]["stalemate"] == 0


def test_term_end_matches_the_term_episodes_file(generated: dict[str, Any]) -> None:
    eps = [json.loads(line) for line in (ROOT / "data" / "episodes" / "ties_terms.jsonl").open(encoding="utf-8")]
    te = generated["term_end"]
    assert te["all"]["episodes"] == len(eps) == 874
    for o in OUTCOMES:
        assert te["all"]["counts"][o] == sum(e["outcome"] == o for e in eps)
    assert te["all"]["counts"] == {"deal": 254, "stalemate": 263, "wait_out": 357}
    assert te["merged_cases"] == 539 and te["us_led_cases"] == 681
