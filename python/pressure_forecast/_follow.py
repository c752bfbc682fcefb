"""Following a feed of event files: :func:`follow` and the frames of :class:`pressure_forecast.Follower`.

The native ``Follower`` does the work (the engine of ``pressure-forecast follow``); this module logs each file's
counts to the ``pressure_forecast.follow`` logger and turns them into a DataFrame.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Sequence
from typing import Any

import pandas as pd

__all__ = ["COLUMNS", "follow"]

LOG = logging.getLogger("pressure_forecast.follow")

#: Columns of the frames of ``Follower.poll`` and ``Follower.run``, in order.
COLUMNS = [
    "file",
    "case",
    "rows_read",
    "bad_rows",
    "rows_matched",
    "already_counted",
    "signals_added",
    "signals_present",
    "error",
]
_COUNTS = COLUMNS[2:-1]


def report(rows: list[dict[str, Any]], lines: list[tuple[bool, str]]) -> pd.DataFrame:
    """Log a pass's lines (errors as warnings) and return its rows as a frame (counts of failed files are 0)."""
    for ok, line in lines:
        if ok:
            LOG.info("%s", line)
        else:
            LOG.warning("%s", line)
    frame = pd.DataFrame(rows, columns=COLUMNS)
    frame[_COUNTS] = frame[_COUNTS].fillna(0).astype("int64")
    frame["error"] = frame["error"].astype(object).where(frame["error"].notna(), None)
    return frame


def concat(frames: list[pd.DataFrame]) -> pd.DataFrame:
    """The rows of several passes in one frame."""
    kept = [f for f in frames if len(f)]
    if not kept:
        return report([], [])
    return pd.concat(kept, ignore_index=True)


def follow(
    directory: str | os.PathLike[str],
    cases: Sequence[str | os.PathLike[str]],
    *,
    format: str = "gdelt2",
    checkpoint: str | os.PathLike[str] | None = None,
    once: bool = False,
    interval: float = 60.0,
    stop: threading.Event | None = None,
    mapping: str | os.PathLike[str] | None = None,
    suffix: str | None = None,
    strict: bool = False,
    client: Any = None,
) -> pd.DataFrame:
    r"""Ingest each new event file of a directory exactly once into case files; watch it unless ``once``.

    The Python face of ``pressure-forecast follow`` (see :class:`pressure_forecast.Follower` for the rules:
    checkpoint, ids derived from the events, files being written).

    Parameters
    ----------
    directory : str or os.PathLike
        The directory of event files (e.g. where GDELT 2.0 exports are downloaded every 15 minutes).
    cases : list of str or os.PathLike
        Case files (JSON) to append the signals to.
    format : str, default "gdelt2"
        ``icews``, ``gdelt1``, ``gdelt2`` or ``csv``.
    checkpoint : str or os.PathLike, optional
        The checkpoint file (default: ``.pressure-forecast-follow.json`` in the directory).
    once : bool, default False
        Ingest the files there now and return; otherwise watch until ``stop`` is set or Ctrl-C.
    interval : float, default 60.0
        Seconds between two looks at the directory when watching.
    stop : threading.Event, optional
        Set it (from another thread) to end the watch.
    mapping : str or os.PathLike, optional
        A CAMEO mapping file (default: the built-in mapping).
    suffix : str, optional
        Only files whose name ends with this (e.g. ``.export.CSV``).
    strict : bool, default False
        Fail a file on its first malformed row instead of skipping the row.
    client : pressure_forecast.Client, optional
        Append through a running service: ``cases`` are then case ids of the service.

    Returns
    -------
    pandas.DataFrame
        One row per file and case with the counts (see ``Follower.poll``).

    Examples
    --------
    >>> import pathlib, tempfile
    >>> import pressure_forecast as pf
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> pf.Case("usa-prk", "USA", "PRK", "2017-01-20", "2021-01-20").save(folder / "prk.json")
    >>> feed = folder / "feed"
    >>> feed.mkdir()
    >>> _ = (feed / "1.csv").write_text("date,source_country,target_country,cameo_code\n2018-06-12,USA,PRK,044\n")
    >>> pf.follow(feed, [folder / "prk.json"], format="csv", once=True)["signals_added"].tolist()
    [1]
    >>> len(pf.follow(feed, [folder / "prk.json"], format="csv", once=True))
    0
    """
    from pressure_forecast._native import Follower

    follower = Follower(
        directory,
        list(cases),
        format=format,
        checkpoint=checkpoint,
        mapping=mapping,
        suffix=suffix,
        strict=strict,
        client=client,
    )
    if once:
        return follower.poll()
    return follower.run(stop, interval=interval)
