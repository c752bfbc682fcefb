#!/usr/bin/env python3
"""The outcome codebook (docs/outcomes.md) as code: label an episode and validate its record.

`label(episode)` derives `deal`, `stalemate` or `wait_out` mechanically from an episode's fields and signals;
`validate(episode)` returns error messages that name the field. Standard library only, so that tests and
analysts can use it without the engine.

    python3 scripts/codebook.py data/episodes/episodes.json data/episodes/ties_terms.jsonl

prints each file's episode counts by outcome and every error, and exits 1 on any error.

The rule (docs/outcomes.md, "The signals the label follows from"):

1. deal: the earliest `agreement_signed` with reliability 1, dated in [start, term_end), not followed on or before
   term_end by a `sender_withdraws_from_agreement` / `target_withdraws_from_agreement` (reliability 1) dated
   after it; a later agreement after a repudiation can make a deal again;
2. otherwise `sender_leader_reelected` -> stalemate, `sender_leader_departing` -> wait_out;
3. otherwise an ineligible leader (`reelection_eligible: false`) -> wait_out; an eligible leader without a fate
   signal cannot be labelled (`CodebookError`; in a format-2 file `validate` reports it in `signals`).
"""

from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path
from typing import Any

OUTCOMES = ("deal", "stalemate", "wait_out")

#: The v2 vocabulary: type -> role (docs/signals.md).
SIGNAL_ROLES: dict[str, str] = {
    "sanctions_tightened": "action",
    "sanctions_relief": "action",
    "diplomatic_isolation": "action",
    "military_threat": "action",
    "upfront_surrender_demanded": "action",
    "concession_offered_by_sender": "action",
    "concession_offered_by_target": "evidence",
    "summit_held": "evidence",
    "talks_held": "evidence",
    "talks_refused": "evidence",
    "demands_rejected_by_target": "evidence",
    "precondition_demanded_by_target": "evidence",
    "provocation_by_target": "evidence",
    "third_party_circumvention": "context",
    "sender_isolated_internationally": "context",
    "agreement_framework_announced": "evidence",
    "agreement_signed": "deal",
    "sender_withdraws_from_agreement": "action",
    "target_withdraws_from_agreement": "deal",
    "leadership_change_expected": "evidence",
    "sender_leader_reelected": "fate",
    "sender_leader_departing": "fate",
}
DEAL = "agreement_signed"
REPUDIATIONS = ("sender_withdraws_from_agreement", "target_withdraws_from_agreement")
REELECTED = "sender_leader_reelected"
DEPARTING = "sender_leader_departing"
FATE = (REELECTED, DEPARTING)
#: Days from the default election date to the term end (a US election day to inauguration day).
DEFAULT_ELECTION_LEAD_DAYS = 78


class CodebookError(ValueError):
    """An episode whose label the codebook cannot derive (bad dates, or no fate for an eligible leader)."""


def _date(value: Any) -> dt.date:
    if not isinstance(value, str):
        raise ValueError(f"expected an ISO date string, got {value!r}")
    return dt.date.fromisoformat(value)


def _reliability(sig: dict) -> float:
    r = sig.get("reliability", 1.0)
    return float(r) if isinstance(r, (int, float)) and not isinstance(r, bool) else -1.0


def election_date(episode: dict) -> dt.date:
    """The episode's election date, or 78 days before the term end when absent."""
    if episode.get("election_date"):
        return _date(episode["election_date"])
    return _date(episode["term_end"]) - dt.timedelta(days=DEFAULT_ELECTION_LEAD_DAYS)


def deal_signal(episode: dict) -> dict | None:
    """The deal signal standing at the term end, or None.

    Scans the dated deal and repudiation signals (reliability 1) in [start, term_end] in date order: an
    `agreement_signed` before term_end opens a deal when none stands; a repudiation dated after the standing
    deal's agreement (on or before term_end) closes it. Returns the agreement that opened the deal standing at
    the end.
    """
    start, end = _date(episode["start"]), _date(episode["term_end"])
    events = []
    for i, sig in enumerate(episode.get("signals", [])):
        t = sig.get("type")
        if t not in (DEAL, *REPUDIATIONS) or _reliability(sig) < 1.0:
            continue
        try:
            d = _date(sig.get("date"))
        except ValueError:
            continue
        if d < start or d > end:
            continue
        if t == DEAL and d >= end:
            continue
        # on one day an agreement follows a repudiation (a new deal replacing a voided one)
        events.append((d, 0 if t != DEAL else 1, i, sig))
    events.sort(key=lambda e: (e[0], e[1], e[2]))
    standing: dict | None = None
    standing_date: dt.date | None = None
    for d, _, _, sig in events:
        if sig["type"] == DEAL:
            if standing is None:
                standing, standing_date = sig, d
        elif standing is not None and standing_date is not None and d > standing_date:
            standing, standing_date = None, None
    return standing


def fate_signals(episode: dict) -> list[dict]:
    return [s for s in episode.get("signals", []) if s.get("type") in FATE]


def label(episode: dict) -> str:
    """The outcome by the codebook: deal, stalemate or wait_out.

    # Errors
    `CodebookError` when the dates cannot be read, or when an eligible leader's no-deal episode has no fate
    signal (the codebook does not guess whether the leader stayed).
    """
    try:
        if deal_signal(episode) is not None:
            return "deal"
    except (KeyError, ValueError) as exc:
        raise CodebookError(f"start/term_end: {exc}") from exc
    fates = {s["type"] for s in fate_signals(episode)}
    if fates == {REELECTED}:
        return "stalemate"
    if fates == {DEPARTING}:
        return "wait_out"
    if len(fates) > 1:
        raise CodebookError("signals: both sender_leader_reelected and sender_leader_departing")
    if episode.get("reelection_eligible", True) is False:
        return "wait_out"
    raise CodebookError(
        "signals: no deal and no fate signal (sender_leader_reelected or sender_leader_departing) "
        "for a leader with reelection_eligible true"
    )


def validate(episode: dict, where: str = "episode") -> list[str]:
    """Error messages for one episode, each naming the field (`<where>.<field>: <what was wrong>`).

    The codebook's rules apply in full to `format_version: 2` records; older records are checked only for what
    the label needs (dates and outcome values) and are not required to carry fate signals or a justification.
    """
    errs: list[str] = []
    v2 = episode.get("format_version") == 2
    if "format_version" in episode and episode["format_version"] not in (1, 2):
        errs.append(f"{where}.format_version: expected 1 or 2, got {episode['format_version']!r}")

    dates: dict[str, dt.date] = {}
    for key in ("start", "term_end"):
        if key not in episode:
            errs.append(f"{where}.{key}: missing")
            continue
        try:
            dates[key] = _date(episode[key])
        except ValueError:
            errs.append(f"{where}.{key}: not an ISO date: {episode[key]!r}")
    if episode.get("election_date") is not None:
        try:
            dates["election_date"] = _date(episode["election_date"])
        except ValueError:
            errs.append(f"{where}.election_date: not an ISO date: {episode['election_date']!r}")
    start, end = dates.get("start"), dates.get("term_end")
    if start and end and start >= end:
        errs.append(f"{where}.start: {start} is not before term_end {end}")
    if end and "election_date" in dates and dates["election_date"] > end:
        errs.append(f"{where}.election_date: {dates['election_date']} is after term_end {end}")

    eligible = episode.get("reelection_eligible", True)
    if not isinstance(eligible, bool):
        errs.append(f"{where}.reelection_eligible: expected true or false, got {eligible!r}")
        eligible = True
    if "exclude_from_training" in episode and not isinstance(episode["exclude_from_training"], bool):
        errs.append(f"{where}.exclude_from_training: expected true or false")

    outcome = episode.get("outcome")
    if outcome not in OUTCOMES:
        errs.append(f"{where}.outcome: expected one of {', '.join(OUTCOMES)}, got {outcome!r}")
    if v2:
        just = episode.get("outcome_justification")
        if not isinstance(just, str) or not just.strip():
            errs.append(f"{where}.outcome_justification: missing (required in format_version 2)")

    signals = episode.get("signals", [])
    if not isinstance(signals, list):
        errs.append(f"{where}.signals: expected a list")
        signals = []
    seen_ids: set[str] = set()
    for i, sig in enumerate(signals):
        sw = f"{where}.signals[{i}]"
        t = sig.get("type")
        if t not in SIGNAL_ROLES:
            errs.append(f"{sw}.type: unknown type {t!r}" if v2 else "")
        try:
            d = _date(sig.get("date"))
        except ValueError:
            errs.append(f"{sw}.date: not an ISO date: {sig.get('date')!r}")
            d = None
        r = sig.get("reliability", 1.0)
        if not isinstance(r, (int, float)) or isinstance(r, bool) or not 0.0 <= r <= 1.0:
            errs.append(f"{sw}.reliability: expected a number in [0, 1], got {r!r}")
        w = sig.get("weight", 1.0)
        if not isinstance(w, (int, float)) or isinstance(w, bool) or not w > 0.0:
            errs.append(f"{sw}.weight: expected a number > 0, got {w!r}")
        sid = sig.get("id")
        if sid is not None:
            if sid in seen_ids:
                errs.append(f"{sw}.id: duplicate id {sid!r}")
            seen_ids.add(sid)
        if v2 and t in FATE and d and start and end:
            if d < start:
                errs.append(f"{sw}.date: fate signal {t} on {d} is before the case starts ({start})")
            elif d > end:
                errs.append(f"{sw}.date: fate signal {t} on {d} is after term_end {end}")
        if v2 and t == REELECTED and eligible is False:
            errs.append(f"{sw}.type: sender_leader_reelected for a leader with reelection_eligible false")
        if v2 and d and start and end and not start <= d <= end:
            errs.append(f"{sw}.date: {d} is outside the episode [{start}, {end}]")
    errs = [e for e in errs if e]

    fates = {s.get("type") for s in signals if s.get("type") in FATE}
    if v2 and len(fates) > 1:
        errs.append(f"{where}.signals: both sender_leader_reelected and sender_leader_departing")

    if outcome == "stalemate" and eligible is False:
        errs.append(f"{where}.outcome: stalemate is impossible when reelection_eligible is false")
    if start is None or end is None:
        return errs
    try:
        standing = deal_signal(episode)
    except (KeyError, ValueError):
        return errs
    if outcome == "deal" and standing is None:
        errs.append(
            f"{where}.outcome: deal without a standing agreement_signed (reliability 1) dated before "
            f"term_end {end}"
        )
    if v2 and standing is None and eligible and not fates:
        errs.append(
            f"{where}.signals: no deal and no fate signal (sender_leader_reelected or "
            "sender_leader_departing) for a leader with reelection_eligible true"
        )
    if outcome in OUTCOMES and (v2 or fates or standing is not None or eligible is False):
        try:
            derived = label(episode)
        except CodebookError:
            derived = None
        if derived is not None and derived != outcome:
            errs.append(f"{where}.outcome: {outcome} but the codebook gives {derived}")
    return errs


def load_episodes(path: Path) -> list[dict]:
    """Episodes from a JSON array file or a JSON Lines file."""
    text = Path(path).read_text(encoding="utf-8")
    if Path(path).suffix == ".jsonl":
        return [json.loads(line) for line in text.splitlines() if line.strip()]
    data = json.loads(text)
    return data["episodes"] if isinstance(data, dict) else data


def validate_file(path: Path) -> list[str]:
    errs: list[str] = []
    ids: set[str] = set()
    for i, ep in enumerate(load_episodes(path)):
        errs.extend(validate(ep, f"episodes[{i}]"))
        if ep.get("id") in ids:
            errs.append(f"episodes[{i}].id: duplicate episode id {ep.get('id')!r}")
        ids.add(ep.get("id"))
    return errs


def main(argv: list[str]) -> int:
    bad = 0
    for p in argv or ["data/episodes/episodes.json"]:
        eps = load_episodes(Path(p))
        counts = {o: sum(1 for e in eps if e.get("outcome") == o) for o in OUTCOMES}
        print(f"{p}: {len(eps)} episodes, " + ", ".join(f"{o} {n}" for o, n in counts.items()))
        for e in validate_file(Path(p)):
            print("  " + e)
            bad += 1
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
