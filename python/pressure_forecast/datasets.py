"""Datasets shipped with pressure_forecast: example cases, finished episodes and coded-event samples.

The files are package data (``pressure_forecast/data/``), read with :mod:`importlib.resources`, so the loaders
work from an installed wheel in any working directory, without a clone of the repository. Their provenance is in
``pressure_forecast/data/README.md`` (they are copies of the repository's ``data/`` files).

=========================  ==========================================================================
loader                     returns
=========================  ==========================================================================
:func:`list_datasets`      a DataFrame of the datasets: name, kind, file, loader, description
:func:`example_case`       a :class:`pressure_forecast.Case` (``"north_korea"``, ``"iran"``)
:func:`north_korea`        the North Korea case (``usa-prk-2017``)
:func:`iran`               the Iran case (``usa-irn-2018``)
:func:`curated_episodes`   the 33 curated episodes, as :func:`pressure_forecast.load_episodes` returns them
:func:`ties_episodes`      the 874 TIES-derived term episodes, likewise
:func:`curated_episodes_frame`, :func:`ties_episodes_frame`
                           one row per episode: id, sender, target, start, term_end, outcome,
                           n_signals, exclude_from_training
:func:`event_sample`       a DataFrame of shipped coded-event rows (ICEWS18 or GDELT 2.0)
:func:`event_sample_file`  a context manager giving a real path to an event file (for ``ingest_events``)
=========================  ==========================================================================

The frame and JSON functions need only pandas; the loaders returning cases and episodes use the native engine.

Examples
--------
>>> from pressure_forecast import datasets
>>> case = datasets.north_korea()
>>> case.id
'usa-prk-2017'
>>> frame = datasets.curated_episodes_frame()
>>> len(frame)
33
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

if TYPE_CHECKING:
    from pressure_forecast._native import Case, Episode, Model

__all__ = [
    "case_json",
    "curated_episodes",
    "curated_episodes_frame",
    "episodes_json",
    "event_sample",
    "event_sample_file",
    "example_case",
    "iran",
    "list_datasets",
    "north_korea",
    "ties_episodes",
    "ties_episodes_frame",
]

# name -> (file under data/, description)
_CASES: dict[str, tuple[str, str]] = {
    "north_korea": (
        "cases/north_korea.json",
        "USA presses North Korea, 2017-01-20 to the term end 2021-01-20; signals to 2018-10-31",
    ),
    "iran": (
        "cases/iran.json",
        "USA presses Iran after the exit from the JCPOA, 2018-05-08 to 2021-01-20; signals to 2018-10-31",
    ),
}
_EPISODES: dict[str, tuple[str, str]] = {
    "curated": (
        "episodes/episodes.json",
        "33 finished campaigns written by hand from the public record, labelled by the codebook",
    ),
    "ties": (
        "episodes/ties_terms.jsonl",
        "874 term episodes: one per US presidential term per US-led TIES v4.1 sanctions case",
    ),
}
# name -> (file, description, format name for ingest_events)
_EVENTS: dict[str, tuple[str, str, str]] = {
    "icews18_usa_prk_2018_06": (
        "events/icews18_2018-06_usa_prk.csv",
        "ICEWS18 events between the USA and North Korea in June 2018 (1012 rows; the Singapore summit)",
        "csv",
    ),
    "gdelt2_sample": (
        "events/gdelt2_events_sample_50rows.tsv",
        "50 rows of a GDELT 2.0 event export (61 tab-separated columns, with a header row)",
        "gdelt2",
    ),
}

#: Columns of the episode frames, in order.
EPISODE_COLUMNS = [
    "id",
    "sender",
    "target",
    "start",
    "term_end",
    "outcome",
    "n_signals",
    "exclude_from_training",
]


def _data() -> Traversable:
    return resources.files(__package__ or "pressure_forecast").joinpath("data")


def _resource(relative: str) -> Traversable:
    node = _data()
    for part in relative.split("/"):
        node = node.joinpath(part)
    return node


def _pick(table: dict[str, Any], name: str, what: str) -> Any:
    try:
        return table[name]
    except KeyError:
        raise KeyError(f"unknown {what} {name!r}: expected one of {sorted(table)}") from None


@contextlib.contextmanager
def _as_path(relative: str) -> Iterator[Path]:
    # A real file for the native loaders, which take paths: the file itself when the package is installed as
    # files (the usual case), a temporary copy when it is zipped.
    with resources.as_file(_resource(relative)) as path:
        yield Path(path)


def list_datasets() -> pd.DataFrame:
    """The datasets shipped with the package.

    Returns
    -------
    pandas.DataFrame
        One row per dataset, indexed by ``name``, with columns ``kind`` (``case``, ``episodes`` or
        ``events``), ``file`` (under ``pressure_forecast/data/``), ``loader`` (the call that loads it) and
        ``description``.

    Examples
    --------
    >>> from pressure_forecast import datasets
    >>> datasets.list_datasets().loc["north_korea", "loader"]
    'example_case("north_korea")'
    """
    rows = [
        {"name": n, "kind": "case", "file": f, "loader": f"example_case({n!r})".replace("'", '"'), "description": d}
        for n, (f, d) in _CASES.items()
    ]
    rows += [
        {"name": n, "kind": "episodes", "file": f, "loader": f"{n}_episodes()", "description": d}
        for n, (f, d) in _EPISODES.items()
    ]
    rows += [
        {"name": n, "kind": "events", "file": f, "loader": f'event_sample("{n}")', "description": d}
        for n, (f, d, _) in _EVENTS.items()
    ]
    return pd.DataFrame(rows).set_index("name")


def case_json(name: str) -> dict[str, Any]:
    """The parsed JSON of an example case file (no native engine needed).

    Parameters
    ----------
    name : str
        ``"north_korea"`` or ``"iran"``.

    Returns
    -------
    dict
        The case record: ``id``, ``sender``, ``target``, ``start``, ``term_end``, ``signals``, ...

    Raises
    ------
    KeyError
        For an unknown name; the message lists the known ones.

    Examples
    --------
    >>> from pressure_forecast import datasets
    >>> datasets.case_json("iran")["target"]
    'IRN'
    """
    relative, _ = _pick(_CASES, name, "example case")
    result: dict[str, Any] = json.loads(_resource(relative).read_text(encoding="utf-8"))
    return result


def example_case(name: str, model: Model | None = None) -> Case:
    """Load an example case as a :class:`pressure_forecast.Case`.

    Parameters
    ----------
    name : str
        ``"north_korea"`` (``usa-prk-2017``) or ``"iran"`` (``usa-irn-2018``); see :func:`list_datasets`.
    model : pressure_forecast.Model, optional
        The model whose vocabulary checks the signals; the default model when absent (as ``Case.load``).

    Returns
    -------
    pressure_forecast.Case
        A fresh case: changing it does not change the shipped file.

    Raises
    ------
    KeyError
        For an unknown name; the message lists the known ones.

    Examples
    --------
    >>> from pressure_forecast import datasets
    >>> case = datasets.example_case("north_korea")
    >>> case.sender, case.target
    ('USA', 'PRK')
    >>> f = case.forecast(as_of="2018-10-31")
    """
    from pressure_forecast import _native

    relative, _ = _pick(_CASES, name, "example case")
    with _as_path(relative) as path:
        return _native.Case.load(path, model=model)


def north_korea(model: Model | None = None) -> Case:
    """The North Korea case (``usa-prk-2017``): the US campaign from 2017-01-20, signals to 2018-10-31.

    Parameters
    ----------
    model : pressure_forecast.Model, optional
        As in :func:`example_case`.

    Returns
    -------
    pressure_forecast.Case

    Examples
    --------
    >>> from pressure_forecast import datasets
    >>> datasets.north_korea().id
    'usa-prk-2017'
    """
    return example_case("north_korea", model=model)


def iran(model: Model | None = None) -> Case:
    """The Iran case (``usa-irn-2018``): the US campaign after the exit from the JCPOA, signals to 2018-10-31.

    Parameters
    ----------
    model : pressure_forecast.Model, optional
        As in :func:`example_case`.

    Returns
    -------
    pressure_forecast.Case

    Examples
    --------
    >>> from pressure_forecast import datasets
    >>> datasets.iran().id
    'usa-irn-2018'
    """
    return example_case("iran", model=model)


def episodes_json(which: str = "curated") -> list[dict[str, Any]]:
    """The parsed episode records of a shipped episodes file (no native engine needed).

    Parameters
    ----------
    which : {"curated", "ties"}
        ``"curated"``: ``episodes.json`` (a JSON array); ``"ties"``: ``ties_terms.jsonl`` (JSON Lines).

    Returns
    -------
    list of dict
        One record per episode, in file order.

    Raises
    ------
    KeyError
        For an unknown name.

    Examples
    --------
    >>> from pressure_forecast import datasets
    >>> len(datasets.episodes_json("ties"))
    874
    """
    relative, _ = _pick(_EPISODES, which, "episodes file")
    text = _resource(relative).read_text(encoding="utf-8")
    if relative.endswith(".jsonl"):
        return [json.loads(line) for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    value = json.loads(text)
    return list(value) if isinstance(value, list) else [value]


def _load_episodes(which: str, model: Model | None) -> list[Episode]:
    from pressure_forecast import _native

    relative, _ = _pick(_EPISODES, which, "episodes file")
    with _as_path(relative) as path:
        return _native.load_episodes(path, model=model)


def curated_episodes(model: Model | None = None) -> list[Episode]:
    """The 33 curated episodes (finished campaigns with their outcome), as :func:`pressure_forecast.load_episodes`.

    Parameters
    ----------
    model : pressure_forecast.Model, optional
        The model whose vocabulary checks the signals; the default model when absent.

    Returns
    -------
    list of pressure_forecast.Episode
        In file order. Episodes marked ``exclude_from_training`` are included: ``fit`` and ``backtest`` leave
        them out themselves.

    Examples
    --------
    >>> import pressure_forecast as pf
    >>> from pressure_forecast import datasets
    >>> episodes = datasets.curated_episodes()
    >>> report = pf.backtest(pf.Model.default(), episodes)  # doctest: +SKIP
    """
    return _load_episodes("curated", model)


def ties_episodes(model: Model | None = None) -> list[Episode]:
    """The 874 TIES-derived term episodes, as :func:`pressure_forecast.load_episodes`.

    One episode per US presidential term per US-led TIES v4.1 sanctions case active in that term, labelled by
    the codebook at the term end (``data/episodes/ties_terms.README.md`` in the repository).

    Parameters
    ----------
    model : pressure_forecast.Model, optional
        The model whose vocabulary checks the signals; the default model when absent.

    Returns
    -------
    list of pressure_forecast.Episode

    Examples
    --------
    >>> from pressure_forecast import datasets
    >>> len(datasets.ties_episodes())
    874
    """
    return _load_episodes("ties", model)


def _episodes_frame(which: str) -> pd.DataFrame:
    records = episodes_json(which)
    frame = pd.DataFrame(
        [
            {
                "id": r["id"],
                "sender": r["sender"],
                "target": r["target"],
                "start": r["start"],
                "term_end": r["term_end"],
                "outcome": r.get("outcome"),
                "n_signals": len(r.get("signals") or []),
                "exclude_from_training": bool(r.get("exclude_from_training", False)),
            }
            for r in records
        ],
        columns=EPISODE_COLUMNS,
    )
    for column in ("start", "term_end"):
        frame[column] = pd.to_datetime(frame[column], format="%Y-%m-%d")
    frame["n_signals"] = frame["n_signals"].astype("int64")
    frame["exclude_from_training"] = frame["exclude_from_training"].astype(bool)
    return frame


def curated_episodes_frame() -> pd.DataFrame:
    """The curated episodes as a DataFrame, one row per episode.

    Returns
    -------
    pandas.DataFrame
        Columns ``id``, ``sender``, ``target``, ``start`` and ``term_end`` (``datetime64``), ``outcome``,
        ``n_signals`` (int) and ``exclude_from_training`` (bool), in file order, with a default index.

    Examples
    --------
    >>> from pressure_forecast import datasets
    >>> frame = datasets.curated_episodes_frame()
    >>> list(frame.columns)
    ['id', 'sender', 'target', 'start', 'term_end', 'outcome', 'n_signals', 'exclude_from_training']
    >>> int(frame["outcome"].value_counts().sum())
    33
    """
    return _episodes_frame("curated")


def ties_episodes_frame() -> pd.DataFrame:
    """The TIES-derived term episodes as a DataFrame, one row per episode.

    The columns are those of :func:`curated_episodes_frame`.

    Returns
    -------
    pandas.DataFrame

    Examples
    --------
    >>> from pressure_forecast import datasets
    >>> frame = datasets.ties_episodes_frame()
    >>> int(frame.groupby("outcome").size().sum())
    874
    """
    return _episodes_frame("ties")


@contextlib.contextmanager
def event_sample_file(name: str = "icews18_usa_prk_2018_06") -> Iterator[Path]:
    """A real path to a shipped event file, for :func:`pressure_forecast.ingest_events`.

    Parameters
    ----------
    name : str
        ``"icews18_usa_prk_2018_06"`` (format ``csv``) or ``"gdelt2_sample"`` (format ``gdelt2``).

    Yields
    ------
    pathlib.Path
        The file; valid inside the ``with`` block.

    Examples
    --------
    >>> import pressure_forecast as pf
    >>> from pressure_forecast import datasets
    >>> with datasets.event_sample_file("icews18_usa_prk_2018_06") as path:
    ...     report = pf.ingest_events(path, "csv", "USA", "PRK")
    """
    relative, _, _ = _pick(_EVENTS, name, "event sample")
    with _as_path(relative) as path:
        yield path


def event_sample(name: str = "icews18_usa_prk_2018_06") -> pd.DataFrame:
    """The rows of a shipped coded-event sample as a DataFrame.

    Parameters
    ----------
    name : str
        ``"icews18_usa_prk_2018_06"``: ICEWS18 events between the USA and North Korea in June 2018 (columns
        ``event_date`` (``datetime64``), ``source_name``, ``source_country_iso3``, ``event_text``,
        ``cameo_code`` (str, leading zeros kept), ``goldstein``, ``target_name``, ``target_country_iso3``,
        ``icews18_split``, ``icews18_timestamp_hours``); or ``"gdelt2_sample"``: 50 rows of a GDELT 2.0 export
        with its 61 named columns (``SQLDATE`` as ``datetime64``, CAMEO and actor codes as str).

    Returns
    -------
    pandas.DataFrame
        One row per event, in file order.

    Raises
    ------
    KeyError
        For an unknown name; the message lists the known ones.

    Examples
    --------
    >>> from pressure_forecast import datasets
    >>> events = datasets.event_sample()
    >>> events["cameo_code"].iloc[0]
    '046'
    """
    relative, _, fmt = _pick(_EVENTS, name, "event sample")
    with _resource(relative).open("rb") as handle:
        if fmt == "csv":
            frame = pd.read_csv(handle, dtype={"cameo_code": str, "icews18_split": str})
            frame["event_date"] = pd.to_datetime(frame["event_date"], format="%Y-%m-%d")
        else:
            frame = pd.read_csv(handle, sep="\t", dtype=str, keep_default_na=False, quoting=3)
            for column in ("GLOBALEVENTID", "MonthYear", "Year", "IsRootEvent", "QuadClass", "NumMentions",
                           "NumSources", "NumArticles"):
                frame[column] = pd.to_numeric(frame[column], errors="coerce").astype("Int64")
            for column in ("FractionDate", "GoldsteinScale", "AvgTone"):
                frame[column] = pd.to_numeric(frame[column], errors="coerce")
            frame["SQLDATE"] = pd.to_datetime(frame["SQLDATE"], format="%Y%m%d")
    return frame
