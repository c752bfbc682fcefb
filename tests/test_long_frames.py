"""The tidy (long) form of the frames added with model v2: policy comparisons, v2 fit and backtest reports, and
the v1 fit report. Each long frame holds exactly the wide frame's values, one row per index entry and column."""

from __future__ import annotations

import pandas as pd
import pressure_forecast as pf


def check_long(wide: pd.DataFrame, long: pd.DataFrame, var: str, value: str = "value") -> None:
    ids = [n for n in wide.index.names if n is not None]
    assert list(long.columns) == [*ids, var, value]
    assert len(long) == wide.shape[0] * wide.shape[1]
    back = long.pivot(index=ids, columns=var, values=value)
    back.columns.name = None
    pd.testing.assert_frame_equal(back.loc[wide.index, wide.columns], wide, check_names=False)


def test_policy_comparison_long() -> None:
    case = pf.datasets.north_korea()
    cmp = case.compare(pf.Scenario(), pf.Scenario(monthly=["sanctions_tightened"]), as_of="2018-10-31")
    check_long(cmp.to_pandas(), cmp.to_pandas(long=True), "forecast", "probability")


def test_v2_fit_and_backtest_reports_long() -> None:
    episodes = [e for e in pf.datasets.curated_episodes() if not e.exclude_from_training][:4]
    fit = pf.fit(pf.Model.default(), episodes, max_iterations=1, progress=False, score=False)
    assert isinstance(fit, pf.FitReportV2)
    check_long(fit.to_pandas(), fit.to_pandas(long=True), "quantity")
    bt = pf.backtest(pf.Model.default(), episodes, progress=False)
    assert isinstance(bt, pf.BacktestReportV2)
    check_long(bt.to_pandas(), bt.to_pandas(long=True), "score")


def test_v1_fit_report_long() -> None:
    case = pf.Case("demo", "USA", "PRK", "2017-01-20", "2021-01-20", model=pf.Model.v1())
    case.observe("summit_held", "2018-06-12")
    fit = pf.fit(pf.Model.v1(), [pf.Episode(case, "deal")], max_iterations=2, progress=False)
    check_long(fit.to_pandas(), fit.to_pandas(long=True), "quantity")
