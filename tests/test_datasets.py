"""`pressure_forecast.datasets`: the package data and its loaders.

The file loaders and DataFrame builders are tested without the native extension (the module is loaded under a
private package name when ``pressure_forecast`` cannot be imported); the loaders returning ``pf.Case`` and
episodes run only where the extension is installed. Every test runs from a temporary working directory, as an
analyst outside the repository would.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import json
import sys
import zipfile
from pathlib import Path
from types import ModuleType

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parent.parent
PKG = ROOT / "python" / "pressure_forecast"
DATA = PKG / "data"


def _has_native() -> bool:
    try:
        importlib.import_module("pressure_forecast._native")
    except ImportError:
        return False
    return True


HAS_NATIVE = _has_native()
needs_native = pytest.mark.skipif(not HAS_NATIVE, reason="the native extension is not installed")


def _load_without_native() -> ModuleType:
    """`datasets` inside a stand-in package `_pf_datasets_pkg` whose path is the source package (its
    `__init__.py`, which imports the extension, is not run)."""
    name = "_pf_datasets_pkg"
    if f"{name}.datasets" in sys.modules:
        return sys.modules[f"{name}.datasets"]
    spec = importlib.util.spec_from_file_location(name, PKG / "__init__.py", submodule_search_locations=[str(PKG)])
    assert spec is not None
    sys.modules[name] = importlib.util.module_from_spec(spec)
    return importlib.import_module(f"{name}.datasets")


@pytest.fixture(scope="module")
def ds() -> ModuleType:
    if HAS_NATIVE:
        return importlib.import_module("pressure_forecast.datasets")
    return _load_without_native()


@pytest.fixture(autouse=True)
def elsewhere(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


COPIES = {
    "cases/north_korea.json": "data/cases/north_korea.json",
    "cases/iran.json": "data/cases/iran.json",
    "episodes/episodes.json": "data/episodes/episodes.json",
    "episodes/ties_terms.jsonl": "data/episodes/ties_terms.jsonl",
    "events/gdelt2_events_sample_50rows.tsv": "data/events/gdelt2_events_sample_50rows.tsv",
}


@pytest.mark.skipif(not (ROOT / "data").is_dir(), reason="needs the repository's data folder")
def test_package_data_matches_the_repository() -> None:
    for here, there in COPIES.items():
        assert _sha(DATA / here) == _sha(ROOT / there), f"{here} differs from {there}: copy it again"
    # The ICEWS18 extract: the source's header and its June 2018 USA<->PRK lines, unchanged.
    import csv

    lines = (ROOT / "data/events/icews18_2018-01-01_to_10-31_usa_prk_irn.csv").read_bytes().splitlines(keepends=True)
    keep = [lines[0]] + [
        line
        for line in lines[1:]
        if (f := next(csv.reader([line.decode()])))[0].startswith("2018-06") and {f[2], f[7]} == {"USA", "PRK"}
    ]
    assert (DATA / "events/icews18_2018-06_usa_prk.csv").read_bytes() == b"".join(keep)


def test_every_file_is_documented_in_the_provenance_note() -> None:
    note = (DATA / "README.md").read_text(encoding="utf-8")
    for path in DATA.rglob("*"):
        if path.is_file() and path.name != "README.md":
            assert f"`{path.relative_to(DATA).as_posix()}`" in note, path


def test_list_datasets(ds: ModuleType) -> None:
    frame = ds.list_datasets()
    assert list(frame.index) == ["north_korea", "iran", "curated", "ties", "icews18_usa_prk_2018_06", "gdelt2_sample"]
    assert list(frame.columns) == ["kind", "file", "loader", "description"]
    assert frame.loc["north_korea", "loader"] == 'example_case("north_korea")'
    assert frame.loc["ties", "loader"] == "ties_episodes()"
    for rel in frame["file"]:
        assert (DATA / rel).is_file()
        assert hasattr(ds, frame.loc[frame["file"] == rel, "loader"].iloc[0].split("(")[0])


def test_case_json(ds: ModuleType) -> None:
    nk = ds.case_json("north_korea")
    assert (nk["id"], nk["sender"], nk["target"]) == ("usa-prk-2017", "USA", "PRK")
    assert len(nk["signals"]) == 34
    assert ds.case_json("iran")["id"] == "usa-irn-2018"
    with pytest.raises(KeyError, match="north_korea"):
        ds.case_json("cuba")


def test_episodes_json(ds: ModuleType) -> None:
    assert len(ds.episodes_json("curated")) == 33
    ties = ds.episodes_json("ties")
    assert len(ties) == 874
    assert all(e["format_version"] == 2 for e in ties)
    with pytest.raises(KeyError, match="curated"):
        ds.episodes_json("other")


@pytest.mark.parametrize("which", ["curated", "ties"])
def test_episode_frames(ds: ModuleType, which: str) -> None:
    frame = getattr(ds, f"{which}_episodes_frame")()
    records = ds.episodes_json(which)
    assert list(frame.columns) == ds.EPISODE_COLUMNS
    assert len(frame) == len(records)
    assert frame["id"].tolist() == [r["id"] for r in records]
    assert frame["n_signals"].tolist() == [len(r.get("signals", [])) for r in records]
    assert frame["exclude_from_training"].tolist() == [bool(r.get("exclude_from_training")) for r in records]
    assert pd.api.types.is_datetime64_any_dtype(frame["start"])
    assert pd.api.types.is_datetime64_any_dtype(frame["term_end"])
    assert frame["n_signals"].dtype == "int64"
    assert frame["exclude_from_training"].dtype == bool
    assert (frame["term_end"] > frame["start"]).all()
    assert set(frame["outcome"]) <= {"deal", "stalemate", "wait_out"}


def test_icews_event_sample(ds: ModuleType) -> None:
    events = ds.event_sample()
    assert len(events) == 1012
    assert pd.api.types.is_datetime64_any_dtype(events["event_date"])
    assert (events["event_date"].dt.strftime("%Y-%m") == "2018-06").all()
    pairs = set(zip(events["source_country_iso3"], events["target_country_iso3"], strict=True))
    assert pairs == {("USA", "PRK"), ("PRK", "USA")}
    # CAMEO codes keep their leading zeros.
    assert events["cameo_code"].str.fullmatch(r"\d{3,4}").all()
    assert (events["cameo_code"].str.startswith("0")).any()
    # The Singapore summit day: 93 events, among them 057 (sign formal agreement).
    summit_day = events[events["event_date"] == "2018-06-12"]
    assert len(summit_day) == 93
    assert (summit_day["cameo_code"] == "057").any()


def test_gdelt2_event_sample(ds: ModuleType) -> None:
    events = ds.event_sample("gdelt2_sample")
    assert events.shape == (50, 61)
    assert events.columns[0] == "GLOBALEVENTID" and events.columns[-1] == "SOURCEURL"
    assert pd.api.types.is_datetime64_any_dtype(events["SQLDATE"])
    assert events["EventCode"].str.fullmatch(r"\d{3,4}").all()
    assert events["GLOBALEVENTID"].is_unique
    with pytest.raises(KeyError, match="gdelt2_sample"):
        ds.event_sample("nope")


def test_event_sample_file_gives_a_real_path(ds: ModuleType) -> None:
    with ds.event_sample_file("gdelt2_sample") as path:
        assert Path(path).is_file()
        assert Path(path).read_bytes() == (DATA / "events/gdelt2_events_sample_50rows.tsv").read_bytes()


def test_loaders_work_from_a_zipped_package(tmp_path: Path) -> None:
    """Package data read through importlib.resources, not paths beside the source: the module works from a zip."""
    archive = tmp_path / "pkg.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("zipped_pf/__init__.py", "")
        z.write(PKG / "datasets.py", "zipped_pf/datasets.py")
        for path in DATA.rglob("*"):
            if path.is_file():
                z.write(path, f"zipped_pf/data/{path.relative_to(DATA).as_posix()}")
    sys.path.insert(0, str(archive))
    try:
        zds = importlib.import_module("zipped_pf.datasets")
        assert zds.case_json("north_korea")["id"] == "usa-prk-2017"
        assert len(zds.curated_episodes_frame()) == 33
        assert len(zds.event_sample("gdelt2_sample")) == 50
        with zds._as_path("cases/iran.json") as p:
            assert json.loads(Path(p).read_text())["id"] == "usa-irn-2018"
    finally:
        sys.path.remove(str(archive))
        for name in [m for m in sys.modules if m.startswith("zipped_pf")]:
            del sys.modules[name]


# --- loaders returning native objects: only with the extension installed ---


@needs_native
def test_example_cases() -> None:
    import pressure_forecast as pf
    from pressure_forecast import datasets

    nk = datasets.north_korea()
    assert isinstance(nk, pf.Case)
    assert (nk.id, nk.sender, nk.target) == ("usa-prk-2017", "USA", "PRK")
    assert len(nk.signals) == 34
    assert datasets.iran().id == "usa-irn-2018"
    assert datasets.example_case("north_korea") == nk
    # The same as loading the repository's file; a fresh object each time.
    if (ROOT / "data/cases/north_korea.json").is_file():
        assert pf.Case.load(ROOT / "data/cases/north_korea.json") == nk
    assert datasets.north_korea() is not nk
    f = nk.forecast(as_of="2018-10-31")
    assert f is not None
    model = pf.Model.default()
    assert datasets.iran(model=model).id == "usa-irn-2018"


@needs_native
def test_episode_loaders_match_the_frames() -> None:
    import pressure_forecast as pf
    from pressure_forecast import datasets

    curated = datasets.curated_episodes()
    assert all(isinstance(e, pf.Episode) for e in curated)
    assert [e.id for e in curated] == datasets.curated_episodes_frame()["id"].tolist()
    assert [e.outcome for e in curated] == datasets.curated_episodes_frame()["outcome"].tolist()
    ties = datasets.ties_episodes()
    assert [e.id for e in ties] == datasets.ties_episodes_frame()["id"].tolist()


@needs_native
def test_event_sample_file_feeds_ingest_events() -> None:
    import pressure_forecast as pf
    from pressure_forecast import datasets

    with datasets.event_sample_file() as path:
        report = pf.ingest_events(path, "csv", "USA", "PRK")
    assert report.rows_read == 1012
    assert report.signals
