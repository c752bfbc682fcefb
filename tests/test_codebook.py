"""Every episode's label follows from its fields and signals by the codebook (docs/outcomes.md).

Pure Python (scripts/codebook.py, json): these tests do not load the engine, so they hold for format-2 files
before the engine reads them.
"""

from __future__ import annotations

import copy
import datetime as dt
import importlib.util
import json
import sys
import types
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
CURATED = ROOT / "data" / "episodes" / "episodes.json"
TIES_TERMS = ROOT / "data" / "episodes" / "ties_terms.jsonl"
BLIND = ROOT / "data" / "episodes" / "blind_review" / "campaigns.json"
OUTCOMES = ("deal", "stalemate", "wait_out")


def _load_codebook() -> types.ModuleType:
    spec = importlib.util.spec_from_file_location("codebook", ROOT / "scripts" / "codebook.py")
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    sys.modules["codebook"] = mod
    spec.loader.exec_module(mod)
    return mod


cb = _load_codebook()


def _curated() -> list[dict[str, Any]]:
    eps: list[dict[str, Any]] = cb.load_episodes(CURATED)
    return eps


def _ties() -> list[dict[str, Any]]:
    eps: list[dict[str, Any]] = cb.load_episodes(TIES_TERMS)
    return eps


SETS = {"curated": _curated, "ties_terms": _ties}


# ---------------------------------------------------------------- every episode


@pytest.mark.parametrize("name", sorted(SETS))
def test_every_label_follows_from_the_codebook(name: str) -> None:
    mismatches = []
    for i, ep in enumerate(SETS[name]()):
        try:
            derived = cb.label(ep)
        except cb.CodebookError as exc:
            mismatches.append(f"{ep['id']}: {exc}")
            continue
        if derived != ep["outcome"]:
            mismatches.append(f"episodes[{i}] {ep['id']}: labelled {ep['outcome']}, codebook gives {derived}")
    assert not mismatches, "\n".join(mismatches)


@pytest.mark.parametrize("name", sorted(SETS))
def test_every_episode_is_valid_format_2(name: str) -> None:
    eps = SETS[name]()
    errs = []
    for i, ep in enumerate(eps):
        assert ep["format_version"] == 2, ep["id"]
        errs.extend(cb.validate(ep, f"episodes[{i}]"))
    assert not errs, "\n".join(errs[:50])
    ids = [e["id"] for e in eps]
    assert len(ids) == len(set(ids))


@pytest.mark.parametrize("name", sorted(SETS))
def test_deal_episodes_hold_their_dated_deal_signal(name: str) -> None:
    for ep in SETS[name]():
        start, end = dt.date.fromisoformat(ep["start"]), dt.date.fromisoformat(ep["term_end"])
        sig = cb.deal_signal(ep)
        if ep["outcome"] == "deal":
            assert sig is not None, ep["id"]
            assert sig["type"] == "agreement_signed" and sig["reliability"] == 1.0, ep["id"]
            assert start <= dt.date.fromisoformat(sig["date"]) < end, ep["id"]
            # the justification cites the agreement's date
            assert sig["date"] in ep["outcome_justification"], ep["id"]
        else:
            assert sig is None, ep["id"]


@pytest.mark.parametrize("name", sorted(SETS))
def test_stalemate_only_with_an_eligible_leader_who_stayed(name: str) -> None:
    for ep in SETS[name]():
        fates = {s["type"] for s in ep["signals"] if s["type"] in cb.FATE}
        if ep["outcome"] == "stalemate":
            assert ep["reelection_eligible"] is True, ep["id"]
            assert fates == {"sender_leader_reelected"}, ep["id"]
        if ep["reelection_eligible"] is False:
            assert "sender_leader_reelected" not in fates, ep["id"]
        if ep["outcome"] == "wait_out":
            assert fates in ({"sender_leader_departing"}, set()) and (fates or ep["reelection_eligible"] is False), ep[
                "id"
            ]


@pytest.mark.parametrize("name", sorted(SETS))
def test_signals_use_the_v2_vocabulary_and_are_sourced(name: str) -> None:
    for ep in SETS[name]():
        start, end = ep["start"], ep["term_end"]
        for s in ep["signals"]:
            assert s["type"] in cb.SIGNAL_ROLES, (ep["id"], s["type"])
            dt.date.fromisoformat(s["date"])
            assert start <= s["date"] <= end, (ep["id"], s["id"])
            assert s.get("source") and s.get("note"), (ep["id"], s["id"])
            assert 0.0 <= s["reliability"] <= 1.0 and s["weight"] > 0.0


# ---------------------------------------------------------------- the curated set


def test_curated_set_size_and_balance() -> None:
    eps = _curated()
    counts = {o: sum(e["outcome"] == o for e in eps) for o in OUTCOMES}
    assert len(eps) >= 30
    assert all(n >= 6 for n in counts.values()), counts
    assert len({e["target"] for e in eps}) >= 10
    assert len({e["sender"] for e in eps}) >= 2


def test_curated_episodes_carry_sources_and_dated_fate() -> None:
    for ep in _curated():
        assert ep["sources"], ep["id"]
        assert ep.get("election_date"), ep["id"]
        assert 6 <= len(ep["signals"]) <= 60, ep["id"]
        fates = [s for s in ep["signals"] if s["type"] in cb.FATE]
        assert len(fates) == 1, ep["id"]  # every curated episode records the leader's fate


def test_example_campaigns_are_excluded_from_training() -> None:
    eps = {e["id"]: e for e in _curated()}
    for cid, fname in (("usa-prk-2017", "north_korea.json"), ("usa-irn-2018", "iran.json")):
        ep = eps[cid]
        assert ep.get("exclude_from_training") is True
        case = json.loads((ROOT / "data" / "cases" / fname).read_text(encoding="utf-8"))
        assert (ep["start"], ep["term_end"]) == (case["start"], case["term_end"])
        ids = {s["id"] for s in ep["signals"]}
        assert {s["id"] for s in case["signals"]} <= ids, cid  # built from the example case's signals
    others = [e for e in eps.values() if e["id"] not in ("usa-prk-2017", "usa-irn-2018")]
    assert not any(e.get("exclude_from_training") for e in others)


def test_blind_review_list_gives_nothing_away() -> None:
    doc = json.loads(BLIND.read_text(encoding="utf-8"))
    eps = {e["id"]: e for e in _curated()}
    assert {c["id"] for c in doc["campaigns"]} == set(eps)
    for c in doc["campaigns"]:
        assert set(c) == {
            "id",
            "sender",
            "target",
            "episode_start",
            "term_start",
            "term_end",
            "reelection_eligible",
            "core_demand",
            "sources",
        }
        ep = eps[c["id"]]
        assert (c["episode_start"], c["term_end"], c["reelection_eligible"]) == (
            ep["start"],
            ep["term_end"],
            ep["reelection_eligible"],
        )
        text = json.dumps(c).lower()
        for word in ("deal", "stalemate", "wait_out", "agreement_signed"):
            assert word not in text, (c["id"], word)


# ---------------------------------------------------------------- the rules, on small records


def _base() -> dict[str, Any]:
    return {
        "format_version": 2,
        "id": "t",
        "sender": "USA",
        "target": "PRK",
        "start": "2017-01-20",
        "term_end": "2021-01-20",
        "reelection_eligible": True,
        "election_date": "2020-11-03",
        "outcome": "stalemate",
        "outcome_justification": "test",
        "signals": [
            {"id": "f", "type": "sender_leader_reelected", "date": "2020-11-04", "reliability": 1.0, "weight": 1.0},
        ],
    }


def _sig(id: str, type: str, date: str, reliability: float = 1.0) -> dict[str, Any]:
    return {"id": id, "type": type, "date": date, "reliability": reliability, "weight": 1.0}


def test_base_record_is_valid() -> None:
    assert cb.validate(_base()) == []
    assert cb.label(_base()) == "stalemate"


def test_label_rules() -> None:
    ep = _base()
    ep["signals"].append(_sig("a", "agreement_signed", "2019-05-01"))
    assert cb.label(ep) == "deal"
    # repudiated before the term end: no deal
    ep["signals"].append(_sig("w", "target_withdraws_from_agreement", "2020-01-01"))
    assert cb.label(ep) == "stalemate"
    # a new agreement after the repudiation is a deal again
    ep["signals"].append(_sig("a2", "agreement_signed", "2020-06-01"))
    assert cb.label(ep) == "deal"
    assert cb.deal_signal(ep)["id"] == "a2"
    # the sender's withdrawal repudiates too
    ep["signals"].append(_sig("w2", "sender_withdraws_from_agreement", "2020-07-01"))
    assert cb.label(ep) == "stalemate"
    # an agreement on the term end day is not before the term end
    e2 = _base()
    e2["signals"].append(_sig("a", "agreement_signed", "2021-01-20"))
    assert cb.label(e2) == "stalemate"
    # a murky report of an agreement (reliability < 1) does not make a deal
    e3 = _base()
    e3["signals"].append(_sig("a", "agreement_signed", "2019-05-01", reliability=0.8))
    assert cb.label(e3) == "stalemate"
    # the leader leaves
    e4 = _base()
    e4["signals"] = [_sig("f", "sender_leader_departing", "2020-11-07")]
    assert cb.label(e4) == "wait_out"
    # an ineligible leader without a fate signal
    e5 = _base()
    e5["signals"], e5["reelection_eligible"] = [], False
    assert cb.label(e5) == "wait_out"
    # an eligible leader without a fate signal cannot be labelled
    e6 = _base()
    e6["signals"] = []
    with pytest.raises(cb.CodebookError, match="signals"):
        cb.label(e6)


def test_default_election_date_is_78_days_before_the_term_end() -> None:
    ep = _base()
    del ep["election_date"]
    assert cb.election_date(ep) == dt.date(2020, 11, 3)


def _errors(mutate) -> list[str]:  # type: ignore[no-untyped-def]
    ep = copy.deepcopy(_base())
    mutate(ep)
    errors: list[str] = cb.validate(ep, "episodes[3]")
    return errors


def _has(errs: list[str], field: str, words: str) -> bool:
    return any(e.startswith(f"episodes[3].{field}:") and words in e for e in errs)


def test_rejects_stalemate_with_an_ineligible_leader() -> None:
    def m(ep: dict[str, Any]) -> None:
        ep["reelection_eligible"] = False
        ep["signals"] = []

    errs = _errors(m)
    assert "episodes[3].outcome: stalemate is impossible when reelection_eligible is false" in errs


def test_rejects_deal_without_a_deal_signal() -> None:
    def m(ep: dict[str, Any]) -> None:
        ep["outcome"] = "deal"
        ep["signals"].append(_sig("fw", "agreement_framework_announced", "2018-06-12"))

    assert _has(_errors(m), "outcome", "deal without a standing agreement_signed")


def test_rejects_deal_signal_after_the_term_end_or_repudiated() -> None:
    def late(ep: dict[str, Any]) -> None:
        ep["outcome"] = "deal"
        ep["term_end"] = "2021-01-20"
        ep["signals"].append(_sig("a", "agreement_signed", "2021-01-20"))

    assert _has(_errors(late), "outcome", "deal without a standing agreement_signed")

    def repudiated(ep: dict[str, Any]) -> None:
        ep["outcome"] = "deal"
        ep["signals"] += [
            _sig("a", "agreement_signed", "2018-01-01"),
            _sig("w", "sender_withdraws_from_agreement", "2018-05-08"),
        ]

    assert _has(_errors(repudiated), "outcome", "deal without")


def test_rejects_election_date_after_the_term_end() -> None:
    def m(ep: dict[str, Any]) -> None:
        ep["election_date"] = "2021-02-01"

    assert _has(_errors(m), "election_date", "after term_end")


def test_rejects_start_not_before_term_end() -> None:
    def m(ep: dict[str, Any]) -> None:
        ep["start"] = ep["term_end"]

    assert _has(_errors(m), "start", "not before term_end")


def test_rejects_fate_signal_before_the_case_starts() -> None:
    def m(ep: dict[str, Any]) -> None:
        ep["signals"][0]["date"] = "2016-11-09"

    assert _has(_errors(m), "signals[0].date", "before the case starts")


def test_rejects_missing_justification_in_format_2_only() -> None:
    def m(ep: dict[str, Any]) -> None:
        del ep["outcome_justification"]

    assert _has(_errors(m), "outcome_justification", "missing")

    def v1(ep: dict[str, Any]) -> None:
        del ep["outcome_justification"]
        ep["format_version"] = 1

    assert not _has(_errors(v1), "outcome_justification", "missing")


def test_rejects_reelected_signal_for_an_ineligible_leader() -> None:
    def m(ep: dict[str, Any]) -> None:
        ep["reelection_eligible"] = False
        ep["outcome"] = "wait_out"

    assert _has(_errors(m), "signals[0].type", "reelection_eligible false")


def test_rejects_eligible_no_deal_without_fate_signal() -> None:
    def m(ep: dict[str, Any]) -> None:
        ep["signals"] = []

    assert _has(_errors(m), "signals", "no fate signal")


def test_rejects_a_label_the_codebook_does_not_give() -> None:
    def m(ep: dict[str, Any]) -> None:
        ep["outcome"] = "wait_out"

    assert _has(_errors(m), "outcome", "wait_out but the codebook gives stalemate")


def test_rejects_bad_signal_fields() -> None:
    def m(ep: dict[str, Any]) -> None:
        ep["signals"] += [
            {"id": "x", "type": "leader_sneezed", "date": "2018-01-01"},
            {"id": "x", "type": "talks_held", "date": "2018-13-01"},
            {"id": "y", "type": "talks_held", "date": "2018-01-01", "reliability": 1.5, "weight": 0},
        ]

    errs = _errors(m)
    assert _has(errs, "signals[1].type", "unknown type")
    assert _has(errs, "signals[2].date", "not an ISO date")
    assert _has(errs, "signals[2].id", "duplicate")
    assert _has(errs, "signals[3].reliability", "[0, 1]")
    assert _has(errs, "signals[3].weight", "> 0")


def test_rejects_both_fate_types() -> None:
    def m(ep: dict[str, Any]) -> None:
        ep["signals"].append(_sig("g", "sender_leader_departing", "2020-11-05"))

    assert _has(_errors(m), "signals", "both")
