"""Backtest scores against an independent numpy computation on the same forecasts (MODEL.md, "Scoring").

The engine's backtest replays each episode day by day; here the same daily forecasts are taken from the
trajectory API and scored with numpy: Brier = Σ_o (p_o - [o = y])², log score = -ln p_y, time-averaged per
episode, averaged over episodes; ECE from one-vs-rest reliability bins pooled over episodes (each episode
weighing 1 in total), averaged over outcomes; and the three baselines. Tolerance 1e-12 (the same floats, summed
in another order).
"""

from __future__ import annotations

import numpy as np
import pressure_forecast as pf
import pytest
from conftest import ROOT

TOL = 1e-12


def ece(forecasts: list[np.ndarray], ys: list[int], bins: int) -> float:
    k = forecasts[0].shape[1]
    per_outcome = []
    for o in range(k):
        sp, sy, sw = np.zeros(bins), np.zeros(bins), np.zeros(bins)
        for p, y in zip(forecasts, ys, strict=True):
            w = 1.0 / len(p)
            b = np.minimum((p[:, o] * bins).astype(int), bins - 1)
            np.add.at(sp, b, w * p[:, o])
            np.add.at(sy, b, w * (y == o))
            np.add.at(sw, b, w)
        used = sw > 0
        per_outcome.append(np.sum(sw[used] / sw.sum() * np.abs(sp[used] / sw[used] - sy[used] / sw[used])))
    return float(np.mean(per_outcome))


def scores(p: np.ndarray, y: int) -> tuple[float, float]:
    onehot = np.zeros(p.shape[1])
    onehot[y] = 1.0
    brier = np.mean(np.sum((p - onehot) ** 2, axis=1))
    log = np.mean(-np.log(np.maximum(p[:, y], 1e-300)))
    return float(brier), float(log)


def test_backtest_equals_numpy_on_the_same_forecasts() -> None:
    model = pf.Model.v1()
    episodes = pf.load_episodes(ROOT / "data/episodes/episodes.json", model=model)
    report = pf.backtest(model, episodes, progress=False)
    # Episodes marked exclude_from_training (the two example campaigns) are neither trained on nor scored.
    episodes = [ep for ep in episodes if not ep.exclude_from_training]
    outcomes = list(model.outcomes)
    daily, prior_only, ys = [], [], []
    for ep in episodes:
        case = ep.case(model)
        daily.append(np.asarray(case.trajectory(model=model).probabilities))
        empty = pf.Case(ep.id, ep.sender, ep.target, ep.start, ep.term_end, model=model)
        prior_only.append(np.asarray(empty.trajectory(model=model).probabilities))
        ys.append(outcomes.index(ep.outcome))
    rate = np.bincount(ys, minlength=len(outcomes)) / len(ys)

    per = [scores(p, y) for p, y in zip(daily, ys, strict=True)]
    for (b, ls), row in zip(per, report.per_episode, strict=True):
        assert row["brier"] == pytest.approx(b, abs=TOL)
        assert row["log_score"] == pytest.approx(ls, abs=TOL)
    assert report.scores["brier"] == pytest.approx(np.mean([b for b, _ in per]), abs=TOL)
    assert report.scores["log_score"] == pytest.approx(np.mean([ls for _, ls in per]), abs=TOL)
    assert report.scores["ece"] == pytest.approx(ece(daily, ys, 10), abs=TOL)

    def baseline(fs: list[np.ndarray]) -> dict[str, float]:
        s = [scores(p, y) for p, y in zip(fs, ys, strict=True)]
        return {
            "brier": float(np.mean([b for b, _ in s])),
            "log_score": float(np.mean([ls for _, ls in s])),
            "ece": ece(fs, ys, 10),
        }

    expected = {
        "uniform": baseline([np.full_like(p, 1 / len(outcomes)) for p in daily]),
        "base_rate": baseline([np.tile(rate, (len(p), 1)) for p in daily]),
        "prior": baseline(prior_only),
    }
    for name, exp in expected.items():
        for key, value in exp.items():
            assert report.baselines[name][key] == pytest.approx(value, abs=TOL), (name, key)
    assert expected["uniform"]["brier"] == pytest.approx(2 / 3, abs=TOL)
    # The shipped model beats the uniform forecast on the shipped episodes (issue 3's bar).
    assert report.scores["brier"] < expected["uniform"]["brier"]
