"""One exception tree for every bad input: each error is a PressureForecastError and the builtin exception Python
users catch for it, carries field/expected/found/line, names the field in its message, and leaves the case as
it was."""

from __future__ import annotations

import datetime
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pressure_forecast as pf
import pytest
from conftest import ROOT


def test_tree() -> None:
    E = pf.PressureForecastError
    assert issubclass(E, Exception)
    for cls, builtin in [
        (pf.ModelError, ValueError),
        (pf.SignalError, ValueError),
        (pf.UnknownSignalTypeError, KeyError),
        (pf.UnknownSignalTypeError, ValueError),
        (pf.DuplicateSignalError, ValueError),
        (pf.CaseError, ValueError),
        (pf.ArgumentError, ValueError),
        (pf.ParseError, ValueError),
        (pf.UnknownOutcomeError, KeyError),
        (pf.FileAccessError, OSError),
    ]:
        assert issubclass(cls, E) and issubclass(cls, builtin), cls
    assert issubclass(pf.UnknownSignalTypeError, pf.SignalError)
    assert pf.ModelError.__module__ == "pressure_forecast._native"


def _unchanged(case: pf.Case, action: Callable[[], object], exc: type[BaseException], field_part: str) -> Any:
    before = case.to_json()
    with pytest.raises(exc) as info:
        action()
    assert case.to_json() == before
    e = info.value
    assert isinstance(e, pf.PressureForecastError)
    assert field_part in (e.field or ""), (e.field, str(e))
    assert field_part.split(".")[-1] in str(e)
    return e


@pytest.mark.parametrize(
    ("kwargs", "field", "exc"),
    [
        ({"type": "no_such_type"}, "type", "UnknownSignalTypeError"),
        ({"reliability": float("nan")}, "reliability", "SignalError"),
        ({"reliability": -0.1}, "reliability", "SignalError"),
        ({"reliability": 1.5}, "reliability", "SignalError"),
        ({"weight": 0.0}, "weight", "SignalError"),
        ({"weight": float("inf")}, "weight", "SignalError"),
        ({"weight": -2.0}, "weight", "SignalError"),
        ({"date": "2030-01-01"}, "date", "SignalError"),
        ({"date": "2016-12-31"}, "date", "SignalError"),
        ({"date": "31/10/2018"}, "date", "SignalError"),
        ({"date": "2018-02-30"}, "date", "SignalError"),
        ({"date": 12345}, "date", "SignalError"),
        ({"id": ""}, "id", "SignalError"),
        ({"type": ""}, "type", "SignalError"),
    ],
)
def test_bad_signal_leaves_case_unchanged(nk: pf.Case, kwargs: dict[str, Any], field: str, exc: str) -> None:
    args = {"type": "summit_held", "date": "2018-06-12", **kwargs}
    _unchanged(nk, lambda: nk.observe(**args), getattr(pf, exc), field)


def test_unknown_type_lists_valid_types(nk: pf.Case) -> None:
    e = _unchanged(nk, lambda: nk.observe("summit", "2018-06-12"), pf.UnknownSignalTypeError, "type")
    assert e.name == "summit" and "summit_held" in e.valid
    assert "summit_held" in str(e) and not str(e).startswith("'")  # plain message, not KeyError's repr


def test_duplicate_id_with_different_content(nk: pf.Case) -> None:
    s = nk.signals[0]
    e = _unchanged(nk, lambda: nk.observe(s.type, s.date, reliability=0.5, id=s.id), pf.DuplicateSignalError, "id")
    assert e.id == s.id
    # The same content again is fine (idempotent).
    assert nk.observe(s.type, s.date, s.reliability, s.weight, s.source, s.note, s.id).unchanged == 1


def test_batch_is_atomic(nk: pf.Case) -> None:
    good = {"type": "talks_held", "date": "2018-07-01", "id": "fresh"}
    bad = {"type": "talks_held", "date": "2018-07-02", "reliability": 2.0}
    e = _unchanged(nk, lambda: nk.observe_many([good, bad]), pf.SignalError, "reliability")
    assert "[1]" in e.field  # names the record
    _unchanged(nk, lambda: nk.observe_many([good, {"date": "2018-07-02"}]), pf.SignalError, "type")
    _unchanged(nk, lambda: nk.observe_many([good, {"type": "talks_held"}]), pf.SignalError, "date")
    _unchanged(
        nk,
        lambda: nk.observe_many([good, {"type": "talks_held", "date": "2018-07-02", "weight": "heavy"}]),
        pf.SignalError,
        "weight",
    )
    _unchanged(nk, lambda: nk.observe_many([good, {**good, "note": "other"}]), pf.DuplicateSignalError, "id")


def test_bad_case_headers() -> None:
    headers: list[tuple[dict[str, Any], str]] = [
        ({"id": ""}, "id"),
        ({"sender": " "}, "sender"),
        ({"target": ""}, "target"),
        ({"term_end": "2016-01-01"}, "term_end"),
        ({"start": "yesterday"}, "start"),
        ({"term_end": None}, "term_end"),
    ]
    for kwargs, field in headers:
        args: dict[str, Any] = {
            "id": "c",
            "sender": "USA",
            "target": "PRK",
            "start": "2017-01-20",
            "term_end": "2021-01-20",
            **kwargs,
        }
        with pytest.raises(pf.CaseError) as info:
            pf.Case(**args)
        assert info.value.field == field and field in str(info.value)


def test_bad_case_files(tmp_path: Path) -> None:
    good = json.loads((ROOT / "data/cases/north_korea.json").read_text())
    mutations: list[tuple[Callable[[Any], object], type[pf.PressureForecastError], str]] = [
        (lambda d: d.pop("sender"), pf.CaseError, "sender"),
        (lambda d: d.update(start="2017/01/20"), pf.CaseError, "start"),
        (lambda d: d["signals"][0].update(type="nope"), pf.UnknownSignalTypeError, "type"),
        (lambda d: d["signals"][1].update(reliability=-1), pf.SignalError, "signals[1].reliability"),
        (lambda d: d["signals"][2].pop("date"), pf.SignalError, "signals[2].date"),
    ]
    for mutate, exc, field in mutations:
        d = json.loads(json.dumps(good))
        mutate(d)
        p = tmp_path / "case.json"
        p.write_text(json.dumps(d))
        with pytest.raises(exc) as info:
            pf.Case.load(p)
        assert info.value.field == field, (info.value.field, str(info.value))
    p.write_text("{not json")
    with pytest.raises(pf.ParseError) as info:
        pf.Case.load(p)
    assert info.value.line == 1
    with pytest.raises(pf.FileAccessError) as info2:
        pf.Case.load(tmp_path / "missing.json")
    assert isinstance(info2.value, FileNotFoundError) or info2.value.errno == 2


def test_bad_signal_file_names_the_line(nk: pf.Case, tmp_path: Path) -> None:
    p = tmp_path / "s.jsonl"
    p.write_text('{"type": "summit_held", "date": "2018-06-12"}\n{"type": "summit_held", "date": "2018-13-01"}\n')
    before = nk.to_json()
    with pytest.raises(pf.SignalError) as info:
        nk.observe_file(p)
    assert info.value.line == 2 and info.value.field == "date" and "line 2" in str(info.value)
    assert nk.to_json() == before
    c = tmp_path / "s.csv"
    c.write_text("kind,date\nsummit_held,2018-06-12\n")
    with pytest.raises(pf.SignalError) as info:
        nk.observe_file(c)
    assert info.value.field == "type"


def _model_text(old: str, new: str) -> str:
    text = pf.Model.default_toml()
    assert old in text, old
    return text.replace(old, new, 1)


def test_bad_models() -> None:
    m = pf.Model.v1().to_dict()
    summit_q = m["emissions"]["summit_held"]["q"]
    base = pf.Model.v1().to_toml()
    cases: list[tuple[str, Any, Any]] = [
        ("[prior]\nprobabilities = [", "[prior]\nprobabilities = [0.5, ", "prior.probabilities"),
        (f"q = {json.dumps(summit_q)}".replace(",", ", ").replace("[", "[").replace("  ", " "), None, None),
    ]
    del cases[1]
    for old, new, field in cases:
        if old not in base:
            continue
        with pytest.raises(pf.ModelError) as info:
            pf.Model.from_toml(base.replace(old, new, 1))
        assert field in (info.value.field or "")

    def with_spec(mutate: Callable[[dict[str, Any]], object]) -> str:
        spec = pf.Model.v1().to_dict()
        mutate(spec)
        return _toml(spec)

    for mutate, field in [
        (lambda s: s["emissions"]["summit_held"].update(q=[float("nan")] * 4), "emissions.summit_held.q[0]"),
        (lambda s: s["emissions"]["summit_held"].update(q=[0.0, 0.1, 0.1, 0.1]), "emissions.summit_held.q[0]"),
        (lambda s: s["emissions"]["summit_held"].update(q=[1.5, 0.1, 0.1, 0.1]), "emissions.summit_held.q[0]"),
        (lambda s: s["emissions"]["summit_held"].update(q=[-0.1, 0.1, 0.1, 0.1]), "emissions.summit_held.q[0]"),
        (lambda s: s["emissions"].pop("summit_held"), "emissions.summit_held"),
        (lambda s: s["prior"].update(probabilities=[0.5, 0.5, 0.5, 0.0]), "prior.probabilities"),
        (lambda s: s["transitions"][0]["matrix"][0].__setitem__(0, 0.9), "transitions[0].matrix[0]"),
        (lambda s: s["prior"].update(concentration=-1.0), "prior.concentration"),
        (lambda s: s.update(outcomes=["deal"]), "outcomes"),
    ]:
        with pytest.raises(pf.ModelError) as info:
            pf.Model.from_toml(with_spec(mutate))
        assert info.value.field == field, (info.value.field, str(info.value))
        assert field.split("[")[0] in str(info.value)
    with pytest.raises(pf.ParseError) as p:
        pf.Model.from_toml("format_version = 1\nname = [unclosed")
    assert p.value.line is not None
    with pytest.raises(pf.ParseError):
        pf.Model.from_toml("format_version = 1\nname = 'x'\n")  # missing fields
    with pytest.raises(pf.FileAccessError):
        pf.Model.load("/nonexistent/model.toml")


def _toml(spec: dict[str, Any]) -> str:
    """A minimal TOML writer for model specs (floats written with repr, NaN as nan)."""

    def val(v: object) -> str:
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, float):
            return "nan" if v != v else repr(v)
        if isinstance(v, int):
            return str(v)
        if isinstance(v, str):
            return json.dumps(v)
        if isinstance(v, list):
            return "[" + ", ".join(val(x) for x in v) + "]"
        raise TypeError(v)

    out = []
    for k, v in spec.items():
        if not isinstance(v, (dict, list)) or (isinstance(v, list) and not (v and isinstance(v[0], dict))):
            out.append(f"{k} = {val(v)}")
    for k, v in spec.items():
        if isinstance(v, list) and v and isinstance(v[0], dict):
            for item in v:
                out.append(f"[[{k}]]")
                out += [f"{a} = {val(b)}" for a, b in item.items() if b is not None]
        elif isinstance(v, dict):
            if k == "emissions":
                for name, e in v.items():
                    out.append(f"[emissions.{name}]")
                    out += [f"{a} = {val(b)}" for a, b in e.items()]
            else:
                out.append(f"[{k}]")
                out += [f"{a} = {val(b)}" for a, b in v.items() if b is not None]
    return "\n".join(out) + "\n"


def test_toml_writer_round_trips() -> None:
    m = pf.Model.v1()
    assert pf.Model.from_toml(_toml(m.to_dict())) == m


def test_value_of_information_after_the_term_end_is_clamped(nk: pf.Case) -> None:
    """One clamp rule (pf_core::dates::clamp_as_of): an as-of date on or after the term end moves to the day
    before it, as on the command line (it raised an ArgumentError before issue 9)."""
    v = nk.value_of_information(as_of="2030-01-01")
    # The shipped v2 model's last filtered day is T - 1, and a report's value is asked for the next day, so its
    # value of information is clamped one day earlier than a forecast (T - 2).
    assert v.as_of == nk.term_end - datetime.timedelta(days=2)
    assert v == nk.value_of_information(as_of=nk.term_end - datetime.timedelta(days=1))


def test_bad_arguments(nk: pf.Case) -> None:
    calls: list[tuple[Callable[[], object], str]] = [
        (lambda: nk.forecast(as_of="not a date"), "as_of"),
        (lambda: nk.forecast(as_of=[1, 2]), "as_of"),  # type: ignore[arg-type]  # the runtime check is tested
        (lambda: nk.forecast(draws=10, levels=(1.5,)), "levels"),
        (lambda: nk.forecast(draws=10, levels="wide"), "levels"),
        (lambda: nk.trajectory(start="2019-01-01", end="2018-01-01"), "to"),
        (lambda: nk.with_term_end("2016-01-01"), "term_end"),
        (lambda: pf.Model.v1().transition("2020-01-01", "2019-01-01", "2021-01-01"), "to"),
        (lambda: pf.Model.v1().scale_concentrations(float("nan")), "factor"),
        (lambda: pf.backtest(pf.Model.v1(), [], progress=False), "episodes"),
        (lambda: pf.fit(pf.Model.v1(), ["x"], progress=False), "episodes[0]"),  # type: ignore[arg-type]
    ]
    for call, field in calls:
        with pytest.raises(pf.ArgumentError) as info:
            call()
        assert info.value.field == field, (info.value.field, str(info.value))
        assert field in str(info.value)
    with pytest.raises(OverflowError):
        nk.forecast(draws=-1)  # not an unsigned integer


def test_unknown_outcome(nk: pf.Case) -> None:
    f = nk.forecast(as_of="2018-10-31")
    with pytest.raises(pf.UnknownOutcomeError) as info:
        f["victory"]
    with pytest.raises(KeyError):
        f["victory"]
    assert info.value.valid == ["deal", "stalemate", "wait_out"] and "victory" in str(info.value)


def test_bad_episodes(tmp_path: Path) -> None:
    header = {"id": "x", "sender": "USA", "target": "LBY", "start": "2001-01-20", "term_end": "2005-01-20"}
    p = tmp_path / "e.json"
    p.write_text(json.dumps([{**header, "signals": []}]))
    with pytest.raises(pf.CaseError) as info:
        pf.load_episodes(p)
    assert "outcome" in (info.value.field or "")
    p.write_text(json.dumps([{**header, "outcome": "victory", "signals": []}]))
    eps = pf.load_episodes(p)
    with pytest.raises(pf.UnknownOutcomeError):
        pf.backtest(pf.Model.v1(), eps, progress=False)
    assert datetime.date(2001, 1, 20) == eps[0].start
