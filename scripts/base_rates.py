#!/usr/bin/env python3
"""Outcome base rates for the default model's prior, by the codebook at the sender leader's term end.

The primary figures (`term_end` and `recommended_prior` in the output) follow the codebook of docs/outcomes.md: one
episode per US presidential term per US-led TIES v4.1 case active in it, batch-coded cases merged, each labelled
deal / stalemate / wait_out at the term end (scripts/ties_terms.py, run here in memory from the same TIES file and
data/presidents/us_terms.csv, so this one command reproduces everything). Rates are given overall, for leaders
eligible for another term and for those who are not (no stalemate is possible for them), and for the episodes of
cases in which sanctions were imposed.

The figures below the line are the earlier derivation, kept under `case_end_v1` for comparison only: outcomes at
the end of a sanctions case (not at the term end), with wait_out guessed from case ends near a change of president.

---- case_end_v1 (superseded) ----

Outcome base rates from TIES v4.1 and GSDB release 2.

Maps each dataset's outcome codes to the project's three outcomes {deal, stalemate, wait_out}
and writes counts, rates, the mapping used and a recommended prior to a JSON file.
Standard library only (csv, json, argparse, datetime). See data/sanctions/README.md.

Neither dataset codes "wait_out" (the target stalls, betting on the sender's next leader). It is
derived here from US presidential transitions (dates below, a public fact not in the data):

* a no-deal case (stalemate or sender capitulation) whose end falls in the first year of a new
  president is counted as wait_out (the campaign ended right after the sender's leader changed);
  every other no-deal case is counted as stalemate;
* some no-deal cases end in that window by chance, so the share of wait_out is also estimated
  corrected for chance: with b the share of deal-like cases that end in the window (the control
  group: same datasets, same calendar, no waiting out), and p the share of no-deal cases ending in
  the window, the share f of no-deal outcomes that are true wait-outs solves p = f + (1 - f) b,
  i.e. f = (p - b) / (1 - b), clipped to [0, 1]. The recommended prior uses this corrected f.

Usage: python3 scripts/base_rates.py [--ties CSV] [--gsdb CSV] [--terms CSV] [--out JSON] [--quiet]
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_TIES = ROOT / "data" / "sanctions" / "ties" / "TIESv4.1_cases.csv"
DEFAULT_GSDB = ROOT / "data" / "sanctions" / "gsdb" / "GSDB_V2_cases.csv"
DEFAULT_OUT = ROOT / "data" / "sanctions" / "base_rates.json"
DEFAULT_TERMS = ROOT / "data" / "presidents" / "us_terms.csv"

OUTCOMES = ("deal", "stalemate", "wait_out")
US_COW = "2"
US_GSDB = "US"

# Days on which a new person became US president (1945-2017). Public record, not in the data.
US_PRESIDENT_CHANGES = [
    dt.date(1945, 4, 12),  # Truman (Roosevelt died)
    dt.date(1953, 1, 20),  # Eisenhower
    dt.date(1961, 1, 20),  # Kennedy
    dt.date(1963, 11, 22),  # Johnson (Kennedy assassinated)
    dt.date(1969, 1, 20),  # Nixon
    dt.date(1974, 8, 9),  # Ford (Nixon resigned)
    dt.date(1977, 1, 20),  # Carter
    dt.date(1981, 1, 20),  # Reagan
    dt.date(1989, 1, 20),  # G. H. W. Bush
    dt.date(1993, 1, 20),  # Clinton
    dt.date(2001, 1, 20),  # G. W. Bush
    dt.date(2009, 1, 20),  # Obama
    dt.date(2017, 1, 20),  # Trump
]
WINDOW_DAYS = 365
# GSDB has years only: a case ending in the year a new president was inaugurated on 20 January.
GSDB_TRANSITION_YEARS = {d.year for d in US_PRESIDENT_CHANGES if (d.month, d.day) == (1, 20)}

# TIES finaloutcome (TIES manual v4, variable 39) -> class used here.
TIES_LABELS = {
    "1": "partial acquiescence by target, threat stage",
    "2": "complete acquiescence by target, threat stage",
    "3": "capitulation by sender, threat stage",
    "4": "stalemate, threat stage",
    "5": "negotiated settlement, threat stage",
    "6": "partial acquiescence by target after imposition",
    "7": "total acquiescence by target after imposition",
    "8": "capitulation by sender after imposition",
    "9": "stalemate after imposition",
    "10": "negotiated settlement after imposition",
}
TIES_DEAL = {"1", "2", "5", "6", "7", "10"}
TIES_NO_DEAL = {"3", "4", "8", "9"}
TIES_IMPOSED = {"6", "7", "8", "9", "10"}

GSDB_DEAL = {"success_total", "success_part", "nego_settlement"}
GSDB_NO_DEAL = {"failed"}
GSDB_ONGOING = "ongoing"

ROUND = 6


def in_transition_window(day: dt.date) -> bool:
    """True if `day` falls within WINDOW_DAYS after a change of US president."""
    return any(0 <= (day - c).days < WINDOW_DAYS for c in US_PRESIDENT_CHANGES)


def rates(counts: dict[str, int]) -> dict[str, float]:
    total = sum(counts[o] for o in OUTCOMES)
    return {o: round(counts[o] / total, ROUND) if total else 0.0 for o in OUTCOMES}


def chance_corrected(p_nodeal: float, b_deal: float) -> float:
    """Share f of no-deal outcomes that are wait-outs: solves p = f + (1 - f) b."""
    if b_deal >= 1.0:
        return 0.0
    return min(1.0, max(0.0, (p_nodeal - b_deal) / (1.0 - b_deal)))


def three_way(deal_share: float, wait_share_of_no_deal: float) -> dict[str, float]:
    no_deal = 1.0 - deal_share
    return {
        "deal": round(deal_share, ROUND),
        "stalemate": round(no_deal * (1.0 - wait_share_of_no_deal), ROUND),
        "wait_out": round(no_deal * wait_share_of_no_deal, ROUND),
    }


def window_stats(deal_dates: list[dt.date], nodeal_dates: list[dt.date]) -> dict:
    """Share of dated deal / no-deal cases that end in a transition window, and the corrected f."""
    nd_in = sum(in_transition_window(d) for d in nodeal_dates)
    d_in = sum(in_transition_window(d) for d in deal_dates)
    p = nd_in / len(nodeal_dates) if nodeal_dates else 0.0
    b = d_in / len(deal_dates) if deal_dates else 0.0
    return {
        "no_deal_dated": len(nodeal_dates),
        "no_deal_in_window": nd_in,
        "share_no_deal_in_window": round(p, ROUND),
        "deal_dated": len(deal_dates),
        "deal_in_window": d_in,
        "share_deal_in_window_baseline": round(b, ROUND),
        "wait_out_share_of_no_deal_corrected": round(chance_corrected(p, b), ROUND),
    }


# ---------------------------------------------------------------- TIES


def ties_end_date(row: dict[str, str]) -> dt.date | None:
    """End date of a TIES case; the 15th when only the month is known; None without a month."""
    try:
        year, month = int(row["endyear"]), int(row["endmonth"])
    except ValueError:
        return None
    day = int(row["endday"]) if row["endday"].strip() else 15
    try:
        return dt.date(year, month, day)
    except ValueError:
        return dt.date(year, month, 15)


def ties_summary(rows: list[dict[str, str]], *, use_window: bool) -> dict:
    """Mapped counts for a set of TIES rows with a coded finaloutcome."""
    by_code = {code: 0 for code in TIES_LABELS}
    counts = {o: 0 for o in OUTCOMES}
    no_deal_undated = 0
    deal_dates: list[dt.date] = []
    nodeal_dates: list[dt.date] = []
    for row in rows:
        code = row["finaloutcome"].strip()
        by_code[code] += 1
        end = ties_end_date(row)
        if code in TIES_DEAL:
            counts["deal"] += 1
            if end:
                deal_dates.append(end)
        else:
            if end:
                nodeal_dates.append(end)
            else:
                no_deal_undated += 1
            if use_window and end and in_transition_window(end):
                counts["wait_out"] += 1
            else:
                counts["stalemate"] += 1
    out = {
        "rows_used": len(rows),
        "by_finaloutcome": by_code,
        "counts": counts,
        "rates": rates(counts),
        "no_deal_without_end_month": no_deal_undated,
    }
    if use_window:
        win = window_stats(deal_dates, nodeal_dates)
        out["transition_window"] = win
        deal_share = counts["deal"] / len(rows) if rows else 0.0
        out["rates_chance_corrected"] = three_way(
            deal_share, win["wait_out_share_of_no_deal_corrected"]
        )
        out["clustered"] = ties_clustered(rows)
    return out


def ties_clustered(rows: list[dict[str, str]]) -> dict:
    """The same estimate with batch-coded cases merged.

    TIES codes one policy against many targets as many cases that end on the same day (29 US
    cases end on 2009-03-12 as sender capitulations, 12 on 1997-07-31 as acquiescence). Cases with
    the same exact end day (day, month and year known) and the same class (deal / no_deal) count
    once here; all other cases count as their own cluster.
    """
    clusters: dict[tuple, dt.date | None] = {}
    for i, row in enumerate(rows):
        cls = "deal" if row["finaloutcome"].strip() in TIES_DEAL else "no_deal"
        end = ties_end_date(row)
        key = (cls, end.isoformat()) if end and row["endday"].strip() else (cls, "case", i)
        clusters[key] = end
    deal_dates = [d for k, d in clusters.items() if k[0] == "deal" and d]
    nodeal_dates = [d for k, d in clusters.items() if k[0] == "no_deal" and d]
    n_deal = sum(1 for k in clusters if k[0] == "deal")
    n_total = len(clusters)
    win = window_stats(deal_dates, nodeal_dates)
    return {
        "clusters": n_total,
        "deal_clusters": n_deal,
        "no_deal_clusters": n_total - n_deal,
        "transition_window": win,
        "rates_chance_corrected": three_way(
            n_deal / n_total if n_total else 0.0, win["wait_out_share_of_no_deal_corrected"]
        ),
    }


def load_ties(path: Path) -> dict:
    with open(path, newline="", encoding="utf-8", errors="replace") as fh:
        rows = list(csv.DictReader(fh))
    coded = [r for r in rows if r["finaloutcome"].strip()]
    for r in coded:
        if r["finaloutcome"].strip() not in TIES_LABELS:
            raise ValueError(f"ties case {r['caseid']}: unknown finaloutcome {r['finaloutcome']!r}")
    us = [r for r in coded if r["primarysender"].strip() == US_COW]
    us_imposed = [r for r in us if r["finaloutcome"].strip() in TIES_IMPOSED]
    return {
        "file": path.name,
        "rows_total": len(rows),
        "rows_without_finaloutcome": len(rows) - len(coded),
        "mapping": {
            "deal": sorted(TIES_DEAL, key=int),
            "no_deal": sorted(TIES_NO_DEAL, key=int),
            "no_deal_rule": (
                "no_deal case ending within 365 days after a change of US president -> wait_out, "
                "else stalemate (US primary sender only; other senders: no leader data, all "
                "no_deal -> stalemate)"
            ),
            "labels": TIES_LABELS,
        },
        "all_senders": ties_summary(coded, use_window=False),
        "us_primary_sender": ties_summary(us, use_window=True),
        "us_primary_sender_imposed": ties_summary(us_imposed, use_window=True),
    }


# ---------------------------------------------------------------- GSDB


def gsdb_case_class(row: dict[str, str]) -> str:
    """Collapse a GSDB case's per-objective `success` list to deal / no_deal / ongoing.

    deal if any objective was (partly) achieved or settled by negotiation; no_deal if every
    finished objective failed; ongoing if every objective is ongoing.
    """
    entries = [e.strip() for e in row["success"].split(",") if e.strip()]
    known = GSDB_DEAL | GSDB_NO_DEAL | {GSDB_ONGOING}
    for e in entries:
        if e not in known:
            raise ValueError(f"gsdb case {row['case_id']}: unknown success code {e!r}")
    finished = [e for e in entries if e != GSDB_ONGOING]
    if not finished:
        return "ongoing"
    if any(e in GSDB_DEAL for e in finished):
        return "deal"
    return "no_deal"


def gsdb_summary(rows: list[dict[str, str]], *, use_window: bool) -> dict:
    per_objective = {k: 0 for k in sorted(GSDB_DEAL | GSDB_NO_DEAL | {GSDB_ONGOING})}
    mixed = 0
    counts = {o: 0 for o in OUTCOMES}
    ongoing = 0
    deal_years: list[int] = []
    nodeal_years: list[int] = []
    for row in rows:
        entries = [e.strip() for e in row["success"].split(",") if e.strip()]
        for e in entries:
            per_objective[e] += 1
        cls = gsdb_case_class(row)
        finished = {e for e in entries if e != GSDB_ONGOING}
        if finished & GSDB_DEAL and finished & GSDB_NO_DEAL:
            mixed += 1
        end = int(row["end"])
        if cls == "ongoing":
            ongoing += 1
        elif cls == "deal":
            counts["deal"] += 1
            deal_years.append(end)
        else:
            nodeal_years.append(end)
            if use_window and end in GSDB_TRANSITION_YEARS:
                counts["wait_out"] += 1
            else:
                counts["stalemate"] += 1
    used = sum(counts.values())
    out = {
        "rows_total": len(rows),
        "rows_ongoing_excluded": ongoing,
        "rows_used": used,
        "cases_mixed_success_and_failed_counted_deal": mixed,
        "per_objective_entries": per_objective,
        "counts": counts,
        "rates": rates(counts),
    }
    if use_window:
        p = sum(y in GSDB_TRANSITION_YEARS for y in nodeal_years) / len(nodeal_years) if nodeal_years else 0.0
        b = sum(y in GSDB_TRANSITION_YEARS for y in deal_years) / len(deal_years) if deal_years else 0.0
        f = chance_corrected(p, b)
        out["transition_window"] = {
            "no_deal_dated": len(nodeal_years),
            "no_deal_in_window": sum(y in GSDB_TRANSITION_YEARS for y in nodeal_years),
            "share_no_deal_in_window": round(p, ROUND),
            "deal_dated": len(deal_years),
            "deal_in_window": sum(y in GSDB_TRANSITION_YEARS for y in deal_years),
            "share_deal_in_window_baseline": round(b, ROUND),
            "wait_out_share_of_no_deal_corrected": round(f, ROUND),
        }
        out["rates_chance_corrected"] = three_way(counts["deal"] / used if used else 0.0, f)
    return out


def load_gsdb(path: Path) -> dict:
    with open(path, newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    us = [r for r in rows if US_GSDB in [s.strip() for s in r["sanctioning_state"].split(",")]]
    return {
        "file": path.name,
        "mapping": {
            "deal": sorted(GSDB_DEAL),
            "no_deal": sorted(GSDB_NO_DEAL),
            "excluded": [GSDB_ONGOING],
            "case_rule": (
                "a case is deal if any finished objective is success_total, success_part or "
                "nego_settlement; no_deal if all finished objectives failed; excluded if all are ongoing"
            ),
            "no_deal_rule": (
                "no_deal case whose end year is a year in which a new US president was inaugurated "
                "on 20 January -> wait_out, else stalemate (US among senders only; others: all "
                "no_deal -> stalemate)"
            ),
            "transition_years": sorted(GSDB_TRANSITION_YEARS),
        },
        "all_senders": gsdb_summary(rows, use_window=False),
        "us_sender": gsdb_summary(us, use_window=True),
    }


# ---------------------------------------------------------------- combined


def combine(ties: dict, gsdb: dict) -> dict:
    """Combine the two US subsets (they overlap, so counts are not pooled).

    deal: unweighted mean of the deal rate of TIES US-led imposed cases (batch-coded cases merged)
    and GSDB US cases. wait_out share of the no-deal remainder: from TIES only, whose end dates are
    exact to the day; GSDB's end years cannot tell the first year of a new president from the last
    days of the old one (a case ending in 2009 may have ended before 20 January).
    """
    t = ties["us_primary_sender_imposed"]
    tc = t["clustered"]
    g = gsdb["us_sender"]
    raw = {o: round((t["rates"][o] + g["rates"][o]) / 2, ROUND) for o in OUTCOMES}
    deal = (tc["rates_chance_corrected"]["deal"] + g["rates"]["deal"]) / 2
    f = tc["transition_window"]["wait_out_share_of_no_deal_corrected"]
    return {
        "subsets": ["ties.us_primary_sender_imposed", "gsdb.us_sender"],
        "rates_method": "unweighted mean of the two subsets' per-case rates (raw window rule)",
        "rates": raw,
        "estimate_method": (
            "deal = mean of ties.us_primary_sender_imposed.clustered and gsdb.us_sender deal rates; "
            "no-deal remainder split by f = ties.us_primary_sender_imposed.clustered "
            "wait_out_share_of_no_deal_corrected"
        ),
        "wait_out_share_of_no_deal": round(f, ROUND),
        "estimate": three_way(deal, f),
    }


def recommend(combined: dict) -> dict:
    est = combined["estimate"]
    vals = [round(est[o], 2) for o in OUTCOMES]
    vals[1] = round(1.0 - vals[0] - vals[2], 2)  # absorb rounding into stalemate
    return {
        "outcomes": list(OUTCOMES),
        "prior": vals,
        "suggested_concentration": 10,
        "reasoning": (
            "deal is the mean of the deal rates (target acquiescence, partial or total, or a "
            "negotiated settlement) of US-led imposed sanctions in TIES (finaloutcome 6-10, "
            "batch-coded cases merged) and of US sanctions in GSDB (success_total, success_part, "
            "nego_settlement; ongoing excluded). The no-deal remainder is split into wait_out and "
            "stalemate by the share of TIES no-deal cases that end in the first year of a new US "
            "president in excess of the share of deal cases ending there (chance baseline): "
            "f = (p - b) / (1 - b). These are outcomes at the end of a sanctions episode, not at the "
            "sender's term end, and most episodes are far milder than a 'maximum pressure' campaign "
            "against a nuclear programme, so deal is likely overstated for this project; hence a "
            "weak Dirichlet concentration (about 10) is suggested."
        ),
    }


def _ties_terms():
    """scripts/ties_terms.py, imported from beside this script."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("ties_terms", Path(__file__).resolve().parent / "ties_terms.py")
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("ties_terms", mod)
    spec.loader.exec_module(mod)
    return mod


def term_block(episodes: list[dict]) -> dict:
    counts = {o: sum(1 for e in episodes if e["outcome"] == o) for o in OUTCOMES}
    return {"episodes": len(episodes), "counts": counts, "rates": rates(counts)}


def term_end(ties_path: Path, terms_path: Path) -> dict:
    """Base rates by the codebook at the term end, from the TIES term episodes (batch-coded cases merged)."""
    tt = _ties_terms()
    episodes, summary = tt.build(ties_path, terms_path)
    elig = [e for e in episodes if e["reelection_eligible"]]
    inel = [e for e in episodes if not e["reelection_eligible"]]
    imposed = [e for e in episodes if e["ties"]["imposed"]]
    term_start = {t["term_id"]: t["start"].isoformat() for t in tt.load_terms(terms_path)}
    first = [e for e in episodes if e["start"] != term_start[e["ties"]["term_id"]]]
    return {
        "source": "scripts/ties_terms.py (data/episodes/ties_terms.jsonl): one episode per US presidential term per "
        "US-led TIES v4.1 case active in it, batch-coded cases merged, labelled by docs/outcomes.md",
        "us_led_cases": summary["us_led_cases"],
        "merged_cases": summary["merged_cases"],
        "all": term_block(episodes),
        "eligible": term_block(elig),
        "ineligible": term_block(inel),
        "imposed": {
            "all": term_block(imposed),
            "eligible": term_block([e for e in imposed if e["reelection_eligible"]]),
            "ineligible": term_block([e for e in imposed if not e["reelection_eligible"]]),
        },
        "campaign_began_in_term": {
            "note": "episodes whose case began after the term's first day (the campaign's first term), as a forecast "
            "made at a campaign's start sees it; the others continue a case from an earlier term",
            "all": term_block(first),
            "eligible": term_block([e for e in first if e["reelection_eligible"]]),
            "ineligible": term_block([e for e in first if not e["reelection_eligible"]]),
        },
        "caveats": [
            "episodes of one case in successive terms are not independent (a case active for three terms gives "
            "three episodes); rates are per episode",
            "TIES covers cases that began 1945-2005 and codes ends to 2012; terms after a case's last known "
            "date are left out (data/episodes/ties_terms.README.md)",
            "most TIES cases are far milder than a 'maximum pressure' campaign against a nuclear programme",
        ],
    }


def recommend_term_end(te: dict) -> dict:
    def prior(block: dict) -> list[float]:
        vals = [round(block["rates"][o], 2) for o in OUTCOMES]
        vals[1] = round(1.0 - vals[0] - vals[2], 2)  # absorb rounding into stalemate
        return vals

    elig = prior(te["imposed"]["eligible"])
    inel = prior(te["imposed"]["ineligible"])
    inel[1], inel[2] = 0.0, round(1.0 - inel[0], 2)
    return {
        "outcomes": list(OUTCOMES),
        "prior": elig,
        "prior_eligible": elig,
        "prior_ineligible": inel,
        "suggested_concentration": 10,
        "subset": "term_end.imposed.eligible (and term_end.imposed.ineligible for a leader who cannot stay)",
        "reasoning": (
            "Outcome at the sender leader's term end by the codebook (docs/outcomes.md), over the TIES v4.1 "
            "term episodes of US-led cases in which sanctions were imposed, batch-coded cases merged: deal when "
            "TIES's final outcome is a negotiated settlement or the target's (partial) acquiescence dated before "
            "the term end; otherwise stalemate if the president stayed in office, wait_out if he left. For an "
            "eligible leader the three rates are used as they are; for an ineligible one stalemate is impossible, "
            "so the no-deal mass is all wait_out. Most TIES cases are far milder than a 'maximum pressure' "
            "campaign, so deal is likely overstated for this project: a weak Dirichlet concentration (about 10)."
        ),
    }


def build(ties_path: Path, gsdb_path: Path, terms_path: Path = DEFAULT_TERMS) -> dict:
    ties = load_ties(ties_path)
    gsdb = load_gsdb(gsdb_path)
    combined = combine(ties, gsdb)
    te = term_end(ties_path, terms_path)
    return {
        "generated_by": "scripts/base_rates.py",
        "outcomes": list(OUTCOMES),
        "term_end": te,
        "recommended_prior": recommend_term_end(te),
        "case_end_v1": {
            "note": "superseded: outcomes at the end of a sanctions case, wait_out guessed from case ends within a "
            "year of a change of president; kept for comparison only",
            "wait_out_derivation": {
                "us_president_changes": [d.isoformat() for d in US_PRESIDENT_CHANGES],
                "window_days": WINDOW_DAYS,
                "formula": "f = clip((p - b) / (1 - b), 0, 1); p = share of no-deal cases ending in window, "
                "b = share of deal cases ending in window",
            },
            "ties": ties,
            "gsdb": gsdb,
            "combined": combined,
            "recommended_prior": recommend(combined),
        },
    }


def summary_text(res: dict) -> str:
    def line(name: str, block: dict) -> str:
        c, r = block["counts"], block["rates"]
        s = f"  {name:<34} n={block['rows_used']:<5}" + "  ".join(
            f"{o}={c[o]:>4} ({r[o]:.3f})" for o in OUTCOMES
        )
        if "rates_chance_corrected" in block:
            rc = block["rates_chance_corrected"]
            w = block["transition_window"]
            s += (
                f"\n  {'':<34}window: no-deal {w['share_no_deal_in_window']:.3f} vs deal "
                f"{w['share_deal_in_window_baseline']:.3f} -> corrected "
                + "  ".join(f"{o}={rc[o]:.3f}" for o in OUTCOMES)
            )
        return s

    te = res["term_end"]

    def tline(name: str, block: dict) -> str:
        c, r = block["counts"], block["rates"]
        return f"  {name:<34} n={block['episodes']:<5}" + "  ".join(f"{o}={c[o]:>4} ({r[o]:.3f})" for o in OUTCOMES)

    v1 = res["case_end_v1"]
    t, g = v1["ties"], v1["gsdb"]
    out = [
        "Outcome base rates at the term end, by the codebook (TIES v4.1 term episodes, batches merged)",
        tline("all", te["all"]),
        tline("eligible leader", te["eligible"]),
        tline("ineligible leader", te["ineligible"]),
        tline("imposed, eligible", te["imposed"]["eligible"]),
        tline("imposed, ineligible", te["imposed"]["ineligible"]),
        "Recommended prior [deal, stalemate, wait_out]: eligible " + str(res["recommended_prior"]["prior_eligible"])
        + ", ineligible " + str(res["recommended_prior"]["prior_ineligible"]),
        "",
        "Superseded (case_end_v1): outcome base rates at the case's end (deal / stalemate / wait_out)",
        f"TIES v4.1: {t['rows_total']} cases, {t['rows_without_finaloutcome']} without finaloutcome",
        line("all senders", t["all_senders"]),
        line("US primary sender", t["us_primary_sender"]),
        line("US primary sender, imposed", t["us_primary_sender_imposed"]),
        f"GSDB v2: {g['all_senders']['rows_total']} cases",
        line("all senders (ongoing excluded)", g["all_senders"]),
        line("US sender (ongoing excluded)", g["us_sender"]),
        "  TIES US imposed, batch-coded cases merged, corrected: "
        + "  ".join(f"{o}={v:.3f}" for o, v in t["us_primary_sender_imposed"]["clustered"]["rates_chance_corrected"].items()),
        "Combined (TIES US imposed + GSDB US):",
        "  raw mean  " + "  ".join(f"{o}={v:.3f}" for o, v in v1["combined"]["rates"].items()),
        "  estimate  " + "  ".join(f"{o}={v:.3f}" for o, v in v1["combined"]["estimate"].items())
        + f"  (wait_out share of no-deal {v1['combined']['wait_out_share_of_no_deal']:.3f})",
        "Superseded prior [deal, stalemate, wait_out]: " + str(v1["recommended_prior"]["prior"]),
    ]
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ties", type=Path, default=DEFAULT_TIES, help="TIES v4.1 case CSV")
    ap.add_argument("--gsdb", type=Path, default=DEFAULT_GSDB, help="GSDB release 2 case CSV")
    ap.add_argument("--terms", type=Path, default=DEFAULT_TERMS, help="US presidential terms CSV")
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output JSON")
    ap.add_argument("--quiet", action="store_true", help="do not print the summary")
    args = ap.parse_args(argv)
    res = build(args.ties, args.gsdb, args.terms)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with open(args.out, "w", encoding="utf-8") as fh:
        json.dump(res, fh, indent=2, ensure_ascii=False)
        fh.write("\n")
    if not args.quiet:
        print(summary_text(res))
        print(f"written: {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
