#!/usr/bin/env python3
"""Agreement between the curated labels and a blind second annotator (percent and Cohen's kappa).

The second annotator saw only `data/episodes/blind_review/campaigns.json` (sender, target, term, eligibility, core
demand, sources) and the codebook, and wrote for each campaign whether and when a deal by the codebook was reached
before the term end and whether the sender's leader stayed in office. Their label follows mechanically: deal if a
deal was reached, else stalemate if the leader stayed, else wait_out.

    python3 scripts/blind_agreement.py [--episodes JSON] [--second JSON] [--out JSON]

Reports, over the campaigns both cover: the label (three classes), deal or not, the leader's fate, and the deal
date (the date as a category, "none" when there is no deal), each as percent agreement and Cohen's kappa, and lists
every disagreement. Standard library only.

Cohen's kappa: kappa = (p_o - p_e) / (1 - p_e), with p_o the share of items on which the two raters agree and
p_e = sum_k p1(k) p2(k) the agreement expected by chance from each rater's marginal shares; 1 when p_e = 1 and the
raters agree on everything.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_EPISODES = ROOT / "data" / "episodes" / "episodes.json"
DEFAULT_SECOND = ROOT / "data" / "episodes" / "blind_review" / "second_annotator.json"


def cohen_kappa(a: list, b: list) -> float:
    """Cohen's kappa of two raters' categorical labels of the same items."""
    if len(a) != len(b) or not a:
        raise ValueError("kappa needs two non-empty label lists of the same length")
    n = len(a)
    p_o = sum(x == y for x, y in zip(a, b)) / n
    ca, cb = Counter(a), Counter(b)
    p_e = sum(ca[k] * cb[k] for k in set(ca) | set(cb)) / (n * n)
    if p_e >= 1.0:
        return 1.0 if p_o >= 1.0 else 0.0
    return (p_o - p_e) / (1.0 - p_e)


def percent(a: list, b: list) -> float:
    return 100.0 * sum(x == y for x, y in zip(a, b)) / len(a)


def load_second(path: Path) -> dict[str, dict]:
    """The annotator's records keyed by campaign id (a list, {"annotations": [...]}, or a dict keyed by id)."""
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    if isinstance(data, dict):
        for key in ("annotations", "labels", "campaigns", "episodes"):
            if isinstance(data.get(key), list):
                data = data[key]
                break
    if isinstance(data, list):
        return {r["id"]: r for r in data}
    return {k: {"id": k, **v} for k, v in data.items() if isinstance(v, dict)}


def second_label(rec: dict) -> str:
    if rec.get("deal_reached"):
        return "deal"
    return "stalemate" if rec.get("leader_stayed") else "wait_out"


def first_view(ep: dict) -> dict:
    """Our own deal date and fate, from the episode's signals (the codebook's deal signal and fate signal)."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import codebook

    sig = codebook.deal_signal(ep)
    fates = {s["type"] for s in ep["signals"] if s["type"] in codebook.FATE}
    stayed = "sender_leader_reelected" in fates
    return {"label": ep["outcome"], "deal_date": sig["date"] if sig else None, "leader_stayed": stayed}


def compare(episodes: list[dict], second: dict[str, dict]) -> dict:
    rows = []
    for ep in episodes:
        if ep["id"] not in second:
            continue
        rec = second[ep["id"]]
        ours = first_view(ep)
        theirs = {
            "label": second_label(rec),
            "deal_date": rec.get("deal_date") if rec.get("deal_reached") else None,
            "leader_stayed": bool(rec.get("leader_stayed")),
        }
        rows.append({"id": ep["id"], "ours": ours, "second": theirs, "note": rec.get("note", "")})
    if not rows:
        raise ValueError("no campaign in common between the episodes and the second annotator")

    def measure(key) -> dict:  # type: ignore[no-untyped-def]
        a = [key(r["ours"]) for r in rows]
        b = [key(r["second"]) for r in rows]
        return {"percent": round(percent(a, b), 1), "kappa": round(cohen_kappa(a, b), 3)}

    both_deal = [r for r in rows if r["ours"]["deal_date"] and r["second"]["deal_date"]]
    disagreements = []
    for r in rows:
        what = [k for k in ("label", "deal_date", "leader_stayed") if r["ours"][k] != r["second"][k]]
        if what:
            disagreements.append({"id": r["id"], "fields": what, "ours": r["ours"], "second": r["second"], "note": r["note"]})
    return {
        "campaigns_compared": len(rows),
        "campaigns_missing_from_second": sorted(e["id"] for e in episodes if e["id"] not in second),
        "label": measure(lambda v: v["label"]),
        "deal_or_not": measure(lambda v: v["label"] == "deal"),
        "leader_stayed": measure(lambda v: v["leader_stayed"]),
        "deal_date": measure(lambda v: v["deal_date"] or "none"),
        "deal_date_where_both_found_a_deal": {
            "n": len(both_deal),
            "same_day": sum(r["ours"]["deal_date"] == r["second"]["deal_date"] for r in both_deal),
        },
        "disagreements": disagreements,
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--episodes", type=Path, default=DEFAULT_EPISODES)
    ap.add_argument("--second", type=Path, default=DEFAULT_SECOND)
    ap.add_argument("--out", type=Path, default=None, help="write the report as JSON here")
    args = ap.parse_args(argv)
    if not args.second.exists():
        print(f"no second annotation at {args.second}", file=sys.stderr)
        return 2
    episodes = json.loads(args.episodes.read_text(encoding="utf-8"))
    res = compare(episodes, load_second(args.second))
    text = json.dumps(res, indent=2, ensure_ascii=False) + "\n"
    if args.out:
        args.out.write_text(text, encoding="utf-8")
    print(text, end="")
    return 0


if __name__ == "__main__":
    sys.exit(main())
