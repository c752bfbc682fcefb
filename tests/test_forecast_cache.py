"""A case forecast again reuses its signals resolved against the model (the cache on Case): the forecasts are
the same as the first, uncached one, at every as-of date, for v1 and v2 models and model overrides; any change
of the case, or another model, is seen at once; a record the model cannot resolve as a whole still forecasts
up to the signal it rejects; concurrent forecasts of one case agree."""

from __future__ import annotations

import datetime
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pressure_forecast as pf
import pytest
from test_reference import hmm_model_toml, random_hmm

DAY0 = datetime.date(2017, 1, 20)
DATES = ["2016-12-01", "2017-01-20", "2017-08-05", "2018-06-12", "2018-10-31", "2020-12-31", "2021-01-20", "2022-01-01"]


def _fresh(case: pf.Case, as_of: str, model: pf.Model | None = None) -> pf.Forecast:
    """The uncached forecast: a copy starts with an empty cache, and a first forecast does not build one."""
    return case.copy().forecast(as_of=as_of, model=model)


@pytest.mark.parametrize("model", [pf.Model.default(), pf.Model.v1()], ids=["v2", "v1"])
def test_repeated_forecasts_equal_the_first(model: pf.Model) -> None:
    case = pf.datasets.north_korea(model=model)
    for _ in range(3):  # first call, the call that builds the cache, and calls that use it
        for d in DATES:
            assert case.forecast(as_of=d) == _fresh(case, d), d


def test_a_change_of_the_case_is_seen_at_once(nk: pf.Case) -> None:
    case = nk.copy()
    before = [case.forecast(as_of="2018-10-31") for _ in range(3)]
    assert before[0] == before[1] == before[2]
    case.observe("sanctions_relief", "2018-09-01")
    after = case.forecast(as_of="2018-10-31")
    assert after != before[0] and after.signals_used == before[0].signals_used + 1
    assert after == _fresh(case, "2018-10-31")
    new = next(s for s in case.signals if s.type == "sanctions_relief" and s.date == datetime.date(2018, 9, 1))
    assert new.id is not None and case.remove(new.id) is not None
    assert case.forecast(as_of="2018-10-31") == before[0]
    case.description = "another description"
    assert case.forecast(as_of="2018-10-31") == before[0]


def test_model_overrides_alternate(nk: pf.Case) -> None:
    case = nk.copy()
    static, v1 = pf.Model.static(), pf.Model.v1()
    for _ in range(3):
        assert case.forecast(as_of="2018-10-31") == _fresh(case, "2018-10-31")
        assert case.forecast(as_of="2018-10-31", model=static) == _fresh(case, "2018-10-31", static)
        assert case.forecast(as_of="2018-10-31", model=static) == _fresh(case, "2018-10-31", static)
        assert case.forecast(as_of="2018-10-31", model=v1) == _fresh(case, "2018-10-31", v1)
    assert case.forecast(as_of="2018-10-31", model=v1) != case.forecast(as_of="2018-10-31")


def test_a_record_the_model_rejects_after_as_of() -> None:
    start, trans, emis = random_hmm(np.random.default_rng(3), 3, 4)
    hmm = pf.Model.from_toml(hmm_model_toml(start, trans, emis))
    case = pf.Case("hmm", "S", "T", DAY0, DAY0 + datetime.timedelta(days=60), model=hmm)
    case.observe("summit_held", DAY0 + datetime.timedelta(days=1))
    case.observe("sym0", DAY0 + datetime.timedelta(days=10))
    early, late = DAY0 + datetime.timedelta(days=5), DAY0 + datetime.timedelta(days=12)
    v1 = pf.Model.v1()  # has summit_held, not sym0
    first = case.forecast(as_of=early, model=v1)
    for _ in range(3):
        assert case.forecast(as_of=early, model=v1) == first
        with pytest.raises(pf.UnknownSignalTypeError, match="sym0"):
            case.forecast(as_of=late, model=v1)
    assert first.signals_used == 1
    assert case.forecast(as_of=late).signals_used == case.forecast(as_of=late).signals_used == 2


def test_concurrent_forecasts_of_one_case_agree(nk: pf.Case) -> None:
    case = nk.copy()
    expected = {d: _fresh(case, d) for d in DATES}
    with ThreadPoolExecutor(4) as pool:
        got = list(pool.map(lambda d: (d, case.forecast(as_of=d)), DATES * 25))
    assert all(f == expected[d] for d, f in got)
