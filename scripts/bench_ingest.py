#!/usr/bin/env python3
"""Rows per second of `pf_events` (Rust) against pandas `read_csv` plus a vectorised mapping, in the same run.

Both sides read the same bytes from memory: the event file's body repeated N times under its header. The pandas
side reads every column as strings, gives each country its role (sender, target, a named set of the mapping
file), matches the mapping file's rules with `str.startswith` + `np.select` (longest code first, then file
order, as the Rust mapping does) and groups the matched rows by (date, signal type) counting reports and
distinct stories. The Rust side is `cargo run --release -p pf-events --example ingest_bench`, which does the
same (plus validating every row against the CAMEO codebook); it is built once with
`cargo build --release -p pf-events --example ingest_bench` and run as target/release/examples/ingest_bench.

Usage (from the repository root):
    .venv/bin/python scripts/bench_ingest.py [--repeat 20] [--runs 5]
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import platform
import subprocess
import sys
import time
import tomllib
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
EVENTS = ROOT / "data" / "events"

# (format, file, sender, target, pandas read_csv arguments, column names: date, source, target, code, story)
CASES = [
    (
        "csv",
        "icews18_2018-01-01_to_10-31_usa_prk_irn.csv",
        "USA",
        "PRK",
        {},
        ("event_date", "source_country_iso3", "target_country_iso3", "cameo_code", None),
    ),
    (
        "icews",
        "icews_events_2018-06-01_to_06-02_sample.tab",
        "USA",
        "PRK",
        {"sep": "\t", "quoting": csv.QUOTE_NONE},
        ("Event Date", "Source Country", "Target Country", "CAMEO Code", "Story ID"),
    ),
    (
        "gdelt2",
        "gdelt2_events_sample_50rows.tsv",
        "SAU",
        "EGY",
        {"sep": "\t", "quoting": csv.QUOTE_NONE},
        ("SQLDATE", "Actor1CountryCode", "Actor2CountryCode", "EventCode", "SOURCEURL"),
    ),
]

# ICEWS writes country names; the Rust crate has a full table, here the names the sample needs.
ICEWS_NAMES = {"United States": "USA", "North Korea": "PRK", "South Korea": "KOR", "China": "CHN",
               "Russian Federation": "RUS", "Japan": "JPN", "Germany": "DEU", "France": "FRA",
               "United Kingdom": "GBR", "India": "IND", "Iran": "IRN", "Turkey": "TUR", "Iraq": "IRQ",
               "Syria": "SYR", "United Arab Emirates": "ARE", "Qatar": "QAT", "Oman": "OMN", "Pakistan": "PAK",
               "Saudi Arabia": "SAU", "Israel": "ISR", "Mongolia": "MNG", "Vietnam": "VNM", "Singapore": "SGP",
               "Malaysia": "MYS", "Italy": "ITA", "Spain": "ESP", "Netherlands": "NLD", "Belgium": "BEL",
               "Switzerland": "CHE", "Austria": "AUT", "Sweden": "SWE", "Canada": "CAN", "Australia": "AUS",
               "Brazil": "BRA", "South Africa": "ZAF"}


def repeated(path: Path, n: int) -> tuple[bytes, int]:
    text = path.read_bytes()
    header, body = text.split(b"\n", 1)
    if not body.endswith(b"\n"):
        body += b"\n"
    rows = body.count(b"\n")
    return header + b"\n" + body * n, rows * n


def pandas_ingest(data: bytes, fmt: str, sender: str, target: str, read_args: dict, cols: tuple, mapping: dict):
    df = pd.read_csv(io.BytesIO(data), dtype=str, keep_default_na=False, **read_args)
    date_c, src_c, dst_c, code_c, story_c = cols
    src, dst = df[src_c], df[dst_c]
    if fmt == "icews":
        src, dst = src.map(ICEWS_NAMES), dst.map(ICEWS_NAMES)
    sets = mapping.get("roles", {})

    def roles(c: pd.Series) -> np.ndarray:
        conds = [c.eq(sender).to_numpy(), c.eq(target).to_numpy()]
        names = ["sender", "target"]
        for name, members in sets.items():
            conds.append(c.isin(members).to_numpy())
            names.append(name)
        return np.select(conds, names, default="")

    src_role, dst_role = roles(src), roles(dst)
    code = df[code_c]
    pairs = [(len(c), i, c, r) for i, r in enumerate(mapping["rule"]) for c in r["codes"]]
    pairs.sort(key=lambda p: (-p[0], p[1]))  # longest code first, then file order
    conds, sigs = [], []
    for _, _, c, r in pairs:
        conds.append((src_role == r["from"]) & (dst_role == r["to"]) & code.str.startswith(c).to_numpy())
        sigs.append(r["signal"])
    signal = np.select(conds, sigs, default="")
    matched = df.assign(signal=signal)[signal != ""]
    story = matched[story_c] if story_c else pd.Series(np.arange(len(matched)), index=matched.index)
    g = matched.assign(story=story).groupby([date_c, "signal"]).agg(reports=("signal", "size"),
                                                                    stories=("story", "nunique"))
    r0, cap = mapping["reliability"]["r0"], mapping["reliability"]["cap"]
    g["reliability"] = np.minimum(cap, 1 - (1 - r0) ** g["stories"])
    return len(df), len(matched), g


BENCH_BIN = ROOT / "target" / "release" / "examples" / "ingest_bench"


def build_rust() -> None:
    cmd = ["cargo", "build", "--quiet", "--release", "-p", "pf-events", "--example", "ingest_bench"]
    done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"cannot build the Rust benchmark ({' '.join(cmd)}):\n{done.stderr}")


def rust_ingest(fmt: str, path: Path, sender: str, target: str, repeat: int, runs: int) -> dict:
    cmd = [str(BENCH_BIN), "--format", fmt, "--sender", sender, "--target", target, "--repeat", str(repeat),
           "--runs", str(runs), str(path)]
    done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"the Rust benchmark failed ({' '.join(cmd)}):\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=20, help="copies of each file's body (default 20)")
    ap.add_argument("--runs", type=int, default=5, help="timed runs per side; the best is kept (default 5)")
    ap.add_argument("--no-build", action="store_true", help="use the already built example binary")
    args = ap.parse_args()
    if not args.no_build:
        build_rust()
    mapping = tomllib.loads((ROOT / "models" / "cameo_mapping.toml").read_text())
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, {platform.platform()}; "
          f"python {platform.python_version()}, pandas {pd.__version__}, numpy {np.__version__}")
    print(f"{'format':8} {'rows':>9} {'pandas rows/s':>14} {'rust rows/s':>12} {'ratio':>6}  matched (pandas/rust)")
    for fmt, name, sender, target, read_args, cols in CASES:
        path = EVENTS / name
        repeat = args.repeat if fmt != "gdelt2" else args.repeat * 100
        data, rows = repeated(path, repeat)
        best = float("inf")
        for _ in range(args.runs):
            t = time.perf_counter()
            n, matched, _ = pandas_ingest(data, fmt, sender, target, read_args, cols, mapping)
            best = min(best, time.perf_counter() - t)
        assert n == rows, (n, rows)
        rust = rust_ingest(fmt, path, sender, target, repeat, args.runs)
        assert rust["rows"] == rows, (rust, rows)
        pandas_rps = rows / best
        print(f"{fmt:8} {rows:>9} {pandas_rps:>14,.0f} {rust['rows_per_s']:>12,.0f} "
              f"{rust['rows_per_s'] / pandas_rps:>5.1f}x  {matched}/{rust['matched']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
