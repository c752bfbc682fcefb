"""fit and backtest for v2 models from Python: weighted sets, the objective trace, the guard (parameters and
example forecasts against the starting model, scores, a warning when the fit scores worse), leave-one-out and
k-fold on executors (equal to the single-process run), and progress bars whose totals are true."""

from __future__ import annotations

import multiprocessing
import pickle
import warnings
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from typing import Any, ClassVar, TypeVar

import pressure_forecast as pf
import pytest

T = TypeVar("T")


@pytest.fixture(scope="module")
def curated() -> list[pf.Episode]:
    return [e for e in pf.datasets.curated_episodes() if not e.exclude_from_training]


def brier_of(checks: Any, on: str) -> dict[str, float]:
    """``{model: brier}`` of one check of ``FitReportV2.scores()``."""
    rows = checks[checks["on"] == on]
    return dict(zip(rows["model"], rows["brier"], strict=True))


def fit_v2(*args: Any, **kwargs: Any) -> pf.FitReportV2:
    r = pf.fit(*args, **kwargs)
    assert isinstance(r, pf.FitReportV2)
    return r


def backtest_v2(*args: Any, **kwargs: Any) -> pf.BacktestReportV2:
    r = pf.backtest(*args, **kwargs)
    assert isinstance(r, pf.BacktestReportV2)
    return r


def test_fit_objective_never_decreases_and_reports_the_guard(curated: list[pf.Episode]) -> None:
    start = pf.Model.default()
    r = fit_v2(start, curated[:8], max_iterations=4, progress=False, score=False)
    assert 1 <= r.iterations <= 4
    assert len(r.objective) == r.iterations + 1
    assert all(b >= a for a, b in zip(r.objective, r.objective[1:], strict=False))
    assert r.objective[-1] > r.objective[0]
    assert r.start == start and r.model != start
    df = r.to_pandas()
    assert df["objective"].tolist() == r.objective
    # Parameters: start values are the starting model's, fitted ones the fitted model's.
    params = r.parameters()
    assert list(params.columns) == ["start", "fitted", "change"]
    assert (params["fitted"] - params["start"] == params["change"]).all()
    assert (params["change"] != 0).any()
    starts = dict(zip(params.index, params["start"], strict=True))
    rates = [p for p in starts if ".rate_per_year[" in p]
    assert rates and all(starts[p] > 0 for p in rates)
    q = [starts[f"q.summit_held[{x}]"] for x in start.regimes]
    table = start.signal_table()
    assert q == pytest.approx([table[f"q[{x}]"].to_dict()["summit_held"] for x in start.regimes])
    # The example cases' forecasts under both models.
    ex = r.examples()
    assert set(ex["case"]) == {"usa-prk-2017", "usa-irn-2018"}
    nk = pf.datasets.north_korea()
    row = ex[(ex["case"] == "usa-prk-2017") & (ex["outcome"] == "deal")].iloc[0]
    assert row["start"] == nk.forecast(as_of=row["as_of"], model=start).probabilities["deal"]
    assert row["fitted"] == nk.forecast(as_of=row["as_of"], model=r.model).probabilities["deal"]
    again = pickle.loads(pickle.dumps(r))
    assert again == r and again.model == r.model
    assert pf.FitReportV2.from_json(r.to_json()) == r
    assert r._repr_html_().startswith("<p><strong>FitReportV2(")


def test_weighted_sets(curated: list[pf.Episode]) -> None:
    a, b = curated[:4], curated[4:7]
    r = fit_v2(pf.Model.default(), [a, b], weights=[1.0, 0.2], max_iterations=1, progress=False, score=False)
    assert [(d["source"], d["weight"], d["episodes"]) for d in r.data] == [("set 0", 1.0, 4), ("set 1", 0.2, 3)]
    named = fit_v2(
        pf.Model.default(), {"curated": a, "ties": b}, weights=[1.0, 0.2], max_iterations=1, progress=False, score=False
    )
    assert [d["source"] for d in named.data] == ["curated", "ties"]
    assert named.objective == r.objective
    with pytest.raises(pf.ArgumentError, match="weights"):
        pf.fit(pf.Model.default(), [a, b], weights=[1.0], progress=False)


def test_warns_when_the_fit_scores_worse(curated: list[pf.Episode]) -> None:
    # A tiny misleading set: ten curated episodes with their deal and fate signals removed and their outcomes
    # turned around (deals and stalemates recorded as waited out, waits as stalemates where the leader could
    # stay), fitted and then checked against the true curated episodes.
    start = pf.Model.default()
    roles = start.signal_roles
    turned = {"deal": "wait_out", "stalemate": "wait_out", "wait_out": "stalemate"}
    misleading = []
    for ep in curated[:10]:
        case = ep.case(start)
        for s in case.signals:
            if roles[s.type] in ("deal", "fate") and s.id is not None:
                case.remove(s.id)
        outcome = turned[ep.outcome]
        if outcome == "stalemate" and not case.reelection_eligible:
            outcome = "wait_out"
        misleading.append(pf.Episode(case, outcome))
    with pytest.warns(UserWarning, match="scores worse than the starting model") as record:
        r = fit_v2(start, misleading, max_iterations=8, validation=curated, score=False, progress=False)
    checks = r.scores()
    val = brier_of(checks, "validation")
    assert val["fitted"] > val["start"]
    assert len(r.warnings) == len(record) == 1
    assert "validation (31 episodes)" in r.warnings[0]
    # The forecasts moved away from deals.
    ex = r.examples()
    deal = ex[ex["outcome"] == "deal"]
    assert (deal["change"] < 0).all()


def test_warnings_match_the_checks(curated: list[pf.Episode]) -> None:
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        r = fit_v2(pf.Model.default(), curated[:5], max_iterations=2, progress=False)
    checks = r.scores()
    worse = 0
    for on in set(checks["on"]):
        b = brier_of(checks, on)
        worse += int(b["fitted"] > b["start"])
    assert worse == len(r.warnings) == len([w for w in record if issubclass(w.category, UserWarning)])
    assert set(checks["on"]) == {"in-sample (episodes)"}


def _serial_and(
    executor: Any, episodes: list[pf.Episode], **kw: Any
) -> tuple[pf.BacktestReportV2, pf.BacktestReportV2]:
    serial = backtest_v2(pf.Model.default(), episodes, max_iterations=2, progress=False, **kw)
    parallel = backtest_v2(pf.Model.default(), episodes, max_iterations=2, progress=False, executor=executor, **kw)
    return serial, parallel


def _assert_same(a: pf.BacktestReportV2, b: pf.BacktestReportV2) -> None:
    assert a.refit == b.refit and a.episodes == b.episodes
    for name in ("model", *a.baselines):
        sa = a.scores if name == "model" else a.baselines[name]
        sb = b.scores if name == "model" else b.baselines[name]
        for k in ("brier", "log_score", "ece"):
            assert abs(sa[k] - sb[k]) <= 1e-12, (name, k)
    for ea, eb in zip(a.per_episode, b.per_episode, strict=True):
        assert ea["id"] == eb["id"]
        assert ea["final_probabilities"] == pytest.approx(eb["final_probabilities"], abs=1e-12)
    assert a == b  # in fact bit for bit


def test_loo_on_a_thread_pool_equals_serial(curated: list[pf.Episode]) -> None:
    with ThreadPoolExecutor(2) as pool:
        serial, parallel = _serial_and(pool, curated[:4], loo=True)
    _assert_same(serial, parallel)
    assert serial.loo and serial.refit == "leave-one-out"
    assert list(serial.baselines) == [
        "uniform",
        "base_rate",
        "prior_only",
        "codebook_base_rate",
        "constant_deal_hazard",
    ]
    assert list(serial.to_pandas().index) == ["model", *serial.baselines]


def test_kfold_on_a_process_pool_equals_serial(curated: list[pf.Episode]) -> None:
    with ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("spawn")) as pool:
        serial, parallel = _serial_and(pool, curated[:6], folds=3)
    _assert_same(serial, parallel)
    assert serial.refit == "3-fold" and serial.episodes == 6


class MapOnly:
    """An executor with only ``map`` (no ``submit``), running in this thread."""

    def __init__(self) -> None:
        self.calls = 0

    def map(self, fn: Callable[..., T], *iterables: Iterable[Any]) -> Iterator[T]:
        self.calls += 1
        return map(fn, *iterables)


def test_loo_on_a_map_only_executor_equals_serial(curated: list[pf.Episode]) -> None:
    ex = MapOnly()
    serial, parallel = _serial_and(ex, curated[:3], loo=True)
    assert ex.calls == 1
    _assert_same(serial, parallel)


def test_fit_loo_on_an_executor(curated: list[pf.Episode]) -> None:
    with ThreadPoolExecutor(2) as pool, warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        r = fit_v2(
            pf.Model.default(), curated[:4], max_iterations=1, loo=True, executor=pool, progress=False, score=False
        )
    b = brier_of(r.scores(), "leave-one-out (episodes)")
    assert len(record) == len(r.warnings) == int(b["fitted"] > b["start"])
    loo = backtest_v2(pf.Model.default(), curated[:4], loo=True, max_iterations=1, progress=False)
    given = backtest_v2(pf.Model.default(), curated[:4], progress=False)
    assert b == {"fitted": loo.scores["brier"], "start": given.scores["brier"]}


def test_backtest_report_v2_reads_like_the_v1_report(curated: list[pf.Episode]) -> None:
    r = backtest_v2(pf.Model.default(), curated[:3], progress=False)
    assert r.refit == "given" and not r.loo and r.outcomes == ["deal", "stalemate", "wait_out"]
    assert sorted(r.scores) == ["brier", "ece", "log_score"]
    assert set(r.calibration) == {"deal", "stalemate", "wait_out"}
    assert {"id", "outcome", "days", "brier", "log_score", "baselines"} <= set(r.per_episode[0])
    assert pickle.loads(pickle.dumps(r)) == r
    assert pf.BacktestReportV2.from_json(r.to_dict()) == r
    assert r._repr_html_().startswith("<p><strong>BacktestReportV2(")
    with pytest.raises(pf.ArgumentError, match="folds"):
        pf.backtest(pf.Model.default(), curated[:3], folds=1, progress=False)


class RecordingBar:
    """Stands in for ``tqdm.auto.tqdm``: records each bar's total and count when it closes."""

    closed: ClassVar[list[tuple[int, int, str]]] = []

    def __init__(self, total: int = 0, desc: str = "", leave: bool = True) -> None:
        self.total, self.n, self.desc = total, 0, desc

    def update(self, n: int) -> None:
        self.n += n

    def refresh(self) -> None:
        pass

    def close(self) -> None:
        RecordingBar.closed.append((self.total, self.n, self.desc))


def test_progress_totals_are_true_and_bars_are_off_when_not_interactive(
    curated: list[pf.Episode], monkeypatch: pytest.MonkeyPatch
) -> None:
    import tqdm.auto

    monkeypatch.setattr(tqdm.auto, "tqdm", RecordingBar)
    RecordingBar.closed = []
    # pytest's standard error is not a terminal: no bar unless asked for.
    fit_v2(pf.Model.default(), curated[:3], max_iterations=1, score=False)
    assert RecordingBar.closed == []
    # Asked for: a loose tolerance stops the fit after its first iteration, below the limit of 40.
    r = fit_v2(pf.Model.default(), curated[:3], tolerance=1e3, progress=True, score=True)
    assert r.iterations == 1 and r.converged
    assert RecordingBar.closed, "no bar was shown"
    assert all(total == n for total, n, _ in RecordingBar.closed), RecordingBar.closed
    assert any(d == "iterations" and n == 1 for _, n, d in RecordingBar.closed)
