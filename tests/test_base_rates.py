"""scripts/base_rates.py reproduces data/sanctions/base_rates.json and its counts add up."""

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
    return [
        ("ties.all_senders", res["ties"]["all_senders"]),
        ("ties.us_primary_sender", res["ties"]["us_primary_sender"]),
        ("ties.us_primary_sender_imposed", res["ties"]["us_primary_sender_imposed"]),
        ("gsdb.all_senders", res["gsdb"]["all_senders"]),
        ("gsdb.us_sender", res["gsdb"]["us_sender"]),
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
    t = generated["ties"]
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
        g = generated["gsdb"][key]
        assert g["rows_used"] + g["rows_ongoing_excluded"] == g["rows_total"], key
    assert generated["gsdb"]["all_senders"]["rows_total"] == 1101


def test_recommended_prior_is_a_distribution(generated: dict[str, Any]) -> None:
    rec = generated["recommended_prior"]
    assert rec["outcomes"] == list(OUTCOMES)
    assert all(0.0 < p < 1.0 for p in rec["prior"])
    assert abs(sum(rec["prior"]) - 1.0) < 1e-9
    assert rec["reasoning"]
