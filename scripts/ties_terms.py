#!/usr/bin/env python3
"""Term episodes from TIES: one episode per US presidential term per US-led TIES v4.1 case active in it.

Reads `data/sanctions/ties/TIESv4.1_cases.csv` (TIES v4.1, Morgan, Bapat & Kobayashi 2014) and
`data/presidents/us_terms.csv`, and writes `data/episodes/ties_terms.jsonl`: one `format_version: 2` episode a line,
labelled by the codebook (`docs/outcomes.md`) at the term end. Standard library only; the output is a pure function
of the two input files (sorted, no timestamps), so a second run is byte-identical.

    python3 scripts/ties_terms.py [--ties CSV] [--terms CSV] [--out JSONL] [--quiet]

Every mapping choice is a named constant below with its reason; the counts of each choice are printed and written
in `data/episodes/ties_terms.README.md` (pinned by `tests/test_ties_terms.py`).

Episodes. A case is active in a term when it was threatened or imposed before the term ends and had not ended
before the term starts (`start < term end` and `end >= term start`; the term is the half-open span
[start, end)). The episode runs from the later of the case's start and the term's start to the term's end.

Outcome at the term end (codebook): `deal` when TIES's final outcome is a negotiated settlement or the target's
complete or partial acquiescence (FINAL_OUTCOME below) and the case ended inside the term, before its end; then
the episode holds an `agreement_signed` signal on the case's end date. Otherwise `stalemate` if the president
stayed in office after the term end, `wait_out` if he left (`data/presidents/us_terms.csv`), with the fate signal.
"""

from __future__ import annotations

import argparse
import calendar
import csv
import datetime as dt
import json
import sys
from collections import Counter, defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_TIES = ROOT / "data" / "sanctions" / "ties" / "TIESv4.1_cases.csv"
DEFAULT_TERMS = ROOT / "data" / "presidents" / "us_terms.csv"
DEFAULT_OUT = ROOT / "data" / "episodes" / "ties_terms.jsonl"

#: COW country code of the United States. A case is "US-led" when TIES's `primarysender` is the US; cases in which
#: the US is only a secondary sender are campaigns led by another state (or the EU) and are left out (counted).
US_COW = "2"

#: TIES `finaloutcome` (manual v4, variable 39) -> the codebook. `deal` codes give a deal in the term in which the
#: case ended (before the term end); `no_deal` codes never do: the episode is judged by the president's fate, as
#: the codebook judges a sender that lifts its pressure without an agreement. Blank = no outcome coded (ongoing or
#: unknown): no deal in any term that ended while the case was known to be ongoing.
FINAL_OUTCOME: dict[str, tuple[str, str]] = {
    "1": ("deal", "partial acquiescence by target, threat stage"),
    "2": ("deal", "complete acquiescence by target, threat stage"),
    "3": ("no_deal", "capitulation by sender, threat stage"),
    "4": ("no_deal", "stalemate, threat stage"),
    "5": ("deal", "negotiated settlement, threat stage"),
    "6": ("deal", "partial acquiescence by target after imposition"),
    "7": ("deal", "total acquiescence by target after imposition"),
    "8": ("no_deal", "capitulation by sender after imposition"),
    "9": ("no_deal", "stalemate after imposition"),
    "10": ("deal", "negotiated settlement after imposition"),
    "": ("unknown", "no final outcome coded (ongoing or unknown)"),
}

#: A TIES threat of economic sanctions is typed `sanctions_tightened` (the sender's economic pressure), not
#: `military_threat` (a threat of force); weight 0.5 because it is a threat, not an imposition.
THREAT_TYPE, THREAT_WEIGHT = "sanctions_tightened", 0.5
#: The imposition of sanctions: `sanctions_tightened`, weight 1.
IMPOSITION_TYPE, IMPOSITION_WEIGHT = "sanctions_tightened", 1.0
#: A sender's capitulation (codes 3, 8) ends the pressure without an agreement: `sanctions_relief` on the end date,
#: weight 0.5 for a dropped threat (3) and 1 for lifted sanctions (8).
CAPITULATION_WEIGHT = {"3": 0.5, "8": 1.0}
#: A TIES date whose day is missing is put on the 15th, one whose month is missing on 1 July; a signal on such an
#: approximate date has reliability 0.8 (a deal signal never does: a deal is only labelled when the case's end,
#: however approximate, lies wholly inside the term, and then its signal has reliability 1 with the note saying so).
APPROX_DAY, APPROX_MONTH, APPROX_RELIABILITY = 15, 7, 0.8

ROUND = 6


# ---------------------------------------------------------------- dates


def _int(s: str) -> int | None:
    s = (s or "").strip()
    return int(s) if s else None


def window(year: str, month: str, day: str) -> tuple[dt.date, dt.date, str] | None:
    """The span of days a TIES (year, month, day) can mean, and its precision: day, month or year. None if no year."""
    y, m, d = _int(year), _int(month), _int(day)
    if y is None:
        return None
    if m is None:
        return dt.date(y, 1, 1), dt.date(y, 12, 31), "year"
    last = calendar.monthrange(y, m)[1]
    if d is None or not 1 <= d <= last:
        return dt.date(y, m, 1), dt.date(y, m, last), "month"
    return dt.date(y, m, d), dt.date(y, m, d), "day"


def point(year: str, month: str, day: str) -> tuple[dt.date, str] | None:
    """One date for a TIES (year, month, day): the 15th when the day is missing, 1 July when the month is."""
    w = window(year, month, day)
    if w is None:
        return None
    lo, _, prec = w
    if prec == "day":
        return lo, prec
    if prec == "month":
        return lo.replace(day=APPROX_DAY), prec
    return dt.date(lo.year, APPROX_MONTH, 1), prec


# ---------------------------------------------------------------- inputs


def load_terms(path: Path) -> list[dict]:
    with open(path, newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    terms = []
    for r in rows:
        terms.append(
            {
                "term_id": r["term_id"],
                "president": r["president"],
                "start": dt.date.fromisoformat(r["start"]),
                "end": dt.date.fromisoformat(r["end"]),
                "end_reason": r["end_reason"],
                "election_date": dt.date.fromisoformat(r["election_date"]),
                "eligible": r["reelection_eligible"] == "true",
                "stayed": r["stayed"] == "true",
                "fate": r["fate"],
                "fate_date": dt.date.fromisoformat(r["fate_date"]),
            }
        )
    for a, b in zip(terms, terms[1:]):
        if a["end"] != b["start"]:
            raise ValueError(f"us_terms: {a['term_id']} ends {a['end']} but {b['term_id']} starts {b['start']}")
    return terms


def load_cases(path: Path) -> tuple[list[dict], dict]:
    """US-led TIES cases, merged by batch (same sender, start, end and final outcome), and the counts."""
    with open(path, newline="", encoding="utf-8", errors="replace") as fh:
        rows = list(csv.DictReader(fh))
    us_any = [r for r in rows if US_COW in [r[f"sender{i}"].strip() for i in range(1, 6)]]
    us = [r for r in rows if r["primarysender"].strip() == US_COW]
    for r in us:
        if r["finaloutcome"].strip() not in FINAL_OUTCOME:
            raise ValueError(f"ties case {r['caseid']}: unknown finaloutcome {r['finaloutcome']!r}")
    # Batch key: the same sender, start date, end date and final outcome. An ongoing case has no end date; its
    # "ongoing as of" date stands in for it, so that two ongoing cases merge only if TIES saw them at the same day.
    groups: dict[tuple, list[dict]] = defaultdict(list)
    for r in us:
        end = (r["endyear"], r["endmonth"], r["endday"])
        if not any(x.strip() for x in end):
            end = ("asof", r["ongoingasofyear"], r["ongoingasofmonth"], r["ongoingasofday"])
        key = (
            r["primarysender"].strip(),
            (r["startyear"], r["startmonth"], r["startday"]),
            tuple(x.strip() for x in end),
            r["finaloutcome"].strip(),
        )
        groups[key].append(r)
    cases = []
    for members in groups.values():
        members.sort(key=lambda r: r["caseid"])
        first = members[0]
        imposed = [m for m in members if m["imposition"].strip() == "1"]
        imp_dates = sorted(
            p for m in imposed
            if (p := point(m["sancimpositionstartyear"], m["sancimpositionstartmonth"], m["sancimpositionstartday"]))
        )
        start = point(first["startyear"], first["startmonth"], first["startday"])
        end_point = point(first["endyear"], first["endmonth"], first["endday"])
        # An approximate start (day or month missing) never falls after a dated imposition or end of the case.
        if start[1] != "day":
            bounds = [start[0]] + [d for d, _ in imp_dates[:1]] + ([end_point[0]] if end_point else [])
            start = (min(bounds), start[1])
        cases.append(
            {
                "caseids": [m["caseid"] for m in members],
                "targets": sorted({m["targetstate"].strip() for m in members}, key=int),
                "code": first["finaloutcome"].strip(),
                "start": start,
                "threat": any(m["threat"].strip() == "1" for m in members),
                "imposition": imp_dates[0] if imp_dates else None,
                "imposed_undated": bool(imposed) and not imp_dates,
                "end": window(first["endyear"], first["endmonth"], first["endday"]),
                "end_point": end_point,
                "asof": window(first["ongoingasofyear"], first["ongoingasofmonth"], first["ongoingasofday"]),
            }
        )
    cases.sort(key=lambda c: c["caseids"][0])
    counts = {
        "ties_rows": len(rows),
        "us_among_senders": len(us_any),
        "us_secondary_sender_only": len(us_any) - len(us),
        "us_led_cases": len(us),
        "merged_cases": len(cases),
        "batches_merged": sum(1 for c in cases if len(c["caseids"]) > 1),
        "cases_absorbed_by_merging": len(us) - len(cases),
        "largest_batch": max(len(c["caseids"]) for c in cases),
    }
    return cases, counts


# ---------------------------------------------------------------- episodes


def fate_signal(term: dict, ep_start: dt.date, tag: str) -> dict:
    t = term
    typ = "sender_leader_reelected" if t["stayed"] else "sender_leader_departing"
    what = {
        "reelected": f"{t['president']} re-elected on {t['election_date']}",
        "lost": f"{t['president']} loses the election of {t['election_date']}",
        "term_limited": f"{t['president']} cannot stand again; successor elected on {t['election_date']}",
        "not_standing": f"{t['president']} announces on {t['fate_date']} that he will not stand again",
        "died": f"{t['president']} dies in office on {t['fate_date']}",
        "resigned": f"{t['president']} announces his resignation on {t['fate_date']}",
    }[t["fate"]]
    date, note = t["fate_date"], what + " (data/presidents/us_terms.csv)."
    if date < ep_start:
        date = ep_start
        note += f" Known before this episode began, so dated at its start ({ep_start})."
    return {
        "id": f"{tag}-fate",
        "type": typ,
        "date": date.isoformat(),
        "reliability": 1.0,
        "weight": 1.0,
        "source": "data/presidents/us_terms.csv (National Archives; Federal Election Commission)",
        "note": note,
    }


def classify(case: dict, term: dict) -> tuple[str, str | None]:
    """(`status`, reason): status `deal`, `no_deal`, `outside` (not active in the term) or `skip` (TIES cannot tell)."""
    ts, te = term["start"], term["end"]
    start = case["start"][0]
    if start >= te:
        return "outside", None
    kind = FINAL_OUTCOME[case["code"]][0]
    if case["end"] is not None:
        lo, hi, _ = case["end"]
        if hi < ts:
            return "outside", None
        if lo >= te:
            return "no_deal", "ongoing_at_term_end"
        if lo >= ts and hi < te:
            if kind == "deal":
                return "deal", "ended_in_term"
            if kind == "no_deal":
                return "no_deal", "ended_in_term_without_deal"
            return "skip", "ended_in_term_outcome_unknown"
        if lo < ts:
            return "skip", "end_date_straddles_term_start"
        # lo in [ts, te), hi >= te: ends around the term end
        if kind == "no_deal":
            return "no_deal", "ended_around_term_end_without_deal"
        return "skip", "end_date_straddles_term_end"
    # no end date
    if case["asof"] is not None:
        a_lo = case["asof"][0]
        if te <= a_lo:
            return "no_deal", "ongoing_at_term_end"
        if ts <= a_lo:
            if kind == "no_deal":
                return "no_deal", "ongoing_as_of_date_in_term_no_deal_code"
            return "skip", "ongoing_as_of_date_in_term"
        return "skip", "after_ongoing_as_of_date"
    if ts <= start < te and kind == "no_deal":
        return "no_deal", "no_end_date_no_deal_code_first_term"
    return "skip", "no_end_date"


def build_episode(case: dict, term: dict, status: str, reason: str) -> dict:
    ts, te = term["start"], term["end"]
    start = max(case["start"][0], ts)
    cid = case["caseids"][0]
    tag = f"ties-{cid}-{term['term_id']}"
    code = case["code"]
    label_text = FINAL_OUTCOME[code][1]
    ids = ", ".join(case["caseids"])
    signals: list[dict] = []

    def add(kind: str, typ: str, date: dt.date, prec: str, weight: float, note: str) -> None:
        if not start <= date < te:
            return
        rel = 1.0 if prec == "day" else APPROX_RELIABILITY
        if prec != "day":
            note += f" TIES gives this date to the {prec} only; placed on {date}."
        signals.append(
            {
                "id": f"{tag}-{kind}",
                "type": typ,
                "date": date.isoformat(),
                "reliability": rel,
                "weight": weight,
                "source": f"TIES v4.1 case {ids}",
                "note": note,
            }
        )

    s_date, s_prec = case["start"]
    if case["threat"]:
        add("threat", THREAT_TYPE, s_date, s_prec, THREAT_WEIGHT, "Threat of economic sanctions (TIES case start, threat = 1).")
    if case["imposition"] is not None:
        i_date, i_prec = case["imposition"]
        add("imposition", IMPOSITION_TYPE, i_date, i_prec, IMPOSITION_WEIGHT, "Sanctions imposed (TIES imposition start date).")
    if status == "deal":
        e_date, e_prec = case["end_point"]
        note = f"TIES final outcome {code} ({label_text}) on the case's end date: the deal by the codebook."
        if e_prec != "day":
            note += f" TIES gives the end to the {e_prec} only, which lies wholly inside the term; placed on {e_date}."
        signals.append(
            {
                "id": f"{tag}-settlement",
                "type": "agreement_signed",
                "date": e_date.isoformat(),
                "reliability": 1.0,
                "weight": 1.0,
                "source": f"TIES v4.1 case {ids}",
                "note": note,
            }
        )
    elif code in CAPITULATION_WEIGHT and case["end_point"] is not None and reason in (
        "ended_in_term_without_deal",
    ):
        e_date, e_prec = case["end_point"]
        add("capitulation", "sanctions_relief", e_date, e_prec, CAPITULATION_WEIGHT[code],
            f"TIES final outcome {code} ({label_text}): the sender drops its pressure without an agreement.")
    signals.append(fate_signal(term, start, tag))
    signals.sort(key=lambda s: (s["date"], s["id"]))

    if status == "deal":
        outcome = "deal"
        just = (
            f"Deal on {case['end_point'][0]}: TIES v4.1 case {ids} ends then with final outcome {code} "
            f"({label_text}), before the term end {te}."
        )
    else:
        outcome = "stalemate" if term["stayed"] else "wait_out"
        how = {
            "ongoing_at_term_end": "was still active at the term end",
            "ended_in_term_without_deal": f"ended in the term with final outcome {code} ({label_text}), without a deal",
            "ended_around_term_end_without_deal": f"ended around the term end with final outcome {code} ({label_text}), without a deal",
            "ongoing_as_of_date_in_term_no_deal_code": f"was coded ongoing in this term with final outcome {code} ({label_text})",
            "no_end_date_no_deal_code_first_term": f"has no end date and final outcome {code} ({label_text})",
        }[reason]
        fate = {
            "reelected": f"{term['president']} was re-elected on {term['election_date']} and stayed in office",
            "lost": f"{term['president']} lost the election of {term['election_date']}",
            "term_limited": f"{term['president']} could not stand again and left office",
            "not_standing": f"{term['president']} announced on {term['fate_date']} that he would not stand and left office",
            "died": f"{term['president']} died in office on {term['fate_date']}",
            "resigned": f"{term['president']} resigned, leaving office on {term['end']}",
        }[term["fate"]]
        just = f"No deal before {te}: TIES v4.1 case {ids} {how}; {fate}."

    ep = {
        "format_version": 2,
        "id": tag,
        "sender": "USA",
        "target": "+".join(f"COW-{t}" for t in case["targets"]),
        "start": start.isoformat(),
        "term_end": te.isoformat(),
        "reelection_eligible": term["eligible"],
        "election_date": term["election_date"].isoformat(),
        "outcome": outcome,
        "outcome_justification": just,
        "ties": {
            "caseids": case["caseids"],
            "finaloutcome": code,
            "imposed": case["imposition"] is not None or case["imposed_undated"],
            "term_id": term["term_id"],
            "rule": reason,
        },
        "signals": signals,
    }
    return ep


def build(ties_path: Path, terms_path: Path) -> tuple[list[dict], dict]:
    terms = load_terms(terms_path)
    cases, counts = load_cases(ties_path)
    episodes: list[dict] = []
    skipped: Counter = Counter()
    rules: Counter = Counter()
    before_terms = 0
    cases_with_episodes = set()
    for case in cases:
        if case["start"][0] < terms[0]["start"]:
            before_terms += 1
        for term in terms:
            status, reason = classify(case, term)
            if status == "outside":
                continue
            if status == "skip":
                # TIES stops telling here: this term and every later one are left out for this case
                skipped[reason] += 1
                break
            rules[reason] += 1
            episodes.append(build_episode(case, term, status, reason))
            cases_with_episodes.add(case["caseids"][0])
    episodes.sort(key=lambda e: (e["start"], e["id"]))

    by_outcome = Counter(e["outcome"] for e in episodes)
    by_decade: dict[str, Counter] = defaultdict(Counter)
    for e in episodes:
        by_decade[f"{e['term_end'][:3]}0s"][e["outcome"]] += 1
    by_code_cases = Counter(c["code"] for c in cases)
    by_code_eps: dict[str, Counter] = defaultdict(Counter)
    code_of = {c["caseids"][0]: c["code"] for c in cases}
    for e in episodes:
        by_code_eps[code_of[e["ties"]["caseids"][0]]][e["outcome"]] += 1
    by_elig: dict[str, Counter] = {"eligible": Counter(), "ineligible": Counter()}
    for e in episodes:
        by_elig["eligible" if e["reelection_eligible"] else "ineligible"][e["outcome"]] += 1
    summary = {
        **counts,
        "merged_cases_with_episodes": len(cases_with_episodes),
        "merged_cases_without_episodes": len(cases) - len(cases_with_episodes),
        "episodes": len(episodes),
        "by_outcome": {o: by_outcome.get(o, 0) for o in ("deal", "stalemate", "wait_out")},
        "by_eligibility": {k: {o: v.get(o, 0) for o in ("deal", "stalemate", "wait_out")} for k, v in by_elig.items()},
        "by_decade_of_term_end": {
            d: {o: c.get(o, 0) for o in ("deal", "stalemate", "wait_out")} for d, c in sorted(by_decade.items())
        },
        "finaloutcome_map": {
            code: {
                "ties": FINAL_OUTCOME[code][1],
                "codebook": FINAL_OUTCOME[code][0],
                "merged_cases": by_code_cases.get(code, 0),
                "episodes": {o: by_code_eps[code].get(o, 0) for o in ("deal", "stalemate", "wait_out")},
            }
            for code in sorted(FINAL_OUTCOME, key=lambda c: int(c) if c else 99)
        },
        "episode_rules": dict(sorted(rules.items())),
        "cases_cut_short": dict(sorted(skipped.items())),
        "signals": dict(sorted(Counter(s["type"] for e in episodes for s in e["signals"]).items())),
        "signals_on_approximate_dates": sum(1 for e in episodes for s in e["signals"] if s["reliability"] < 1),
        "fate_signals_known_before_episode_start": sum(
            1 for e in episodes for s in e["signals"] if "Known before this episode began" in s["note"]
        ),
    }
    return episodes, summary


def write(episodes: list[dict], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8", newline="\n") as fh:
        for e in episodes:
            fh.write(json.dumps(e, ensure_ascii=False, sort_keys=False) + "\n")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ties", type=Path, default=DEFAULT_TIES)
    ap.add_argument("--terms", type=Path, default=DEFAULT_TERMS)
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT)
    ap.add_argument("--summary", type=Path, default=None, help="also write the counts as JSON here")
    ap.add_argument("--quiet", action="store_true")
    args = ap.parse_args(argv)
    episodes, summary = build(args.ties, args.terms)
    write(episodes, args.out)
    if args.summary:
        args.summary.write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    if not args.quiet:
        print(json.dumps(summary, indent=2))
        print(f"written: {args.out} ({len(episodes)} episodes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
