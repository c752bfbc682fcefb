"""A client of the pressure_forecast gRPC service (``pressure-forecast serve``).

The stubs are generated from ``proto/pressure_forecast/v1/forecast_service.proto`` with grpcio-tools at first
use, into a cache directory keyed by the proto's hash (``$PRESSURE_FORECAST_CACHE``, else
``$XDG_CACHE_HOME/pressure_forecast``, else ``~/.cache/pressure_forecast``), and loaded as the private package
``pressure_forecast._proto``. The proto is looked up in ``$PRESSURE_FORECAST_PROTO_DIR``, next to this file
(``proto/``), then in the source tree.

Results are plain dicts with the field names of the engine's JSON (``Forecast.to_json()``: ``case``,
``as_of``, ``term_end``, ``probabilities``, ``regimes``, ``log_likelihood``, ``signals_used``, and
``intervals`` / ``attribution`` when asked for)::

    from pressure_forecast.client import Client

    with Client("127.0.0.1:50051") as c:
        f = c.forecast("usa-prk-2017", as_of="2018-10-31", draws=1000, seed=1)
        f["probabilities"]["deal"]
"""

from __future__ import annotations

import datetime
import hashlib
import importlib
import os
import shutil
import sys
import tempfile
import threading
import types
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import grpc

__all__ = ["Client", "ServiceError", "load_stubs"]

_PROTO = "pressure_forecast/v1/forecast_service.proto"
_PACKAGE = "pressure_forecast._proto"
_lock = threading.Lock()
_stubs: tuple[Any, Any] | None = None



class ServiceError(RuntimeError):
    """A call failed: ``code`` is the gRPC status name (``NOT_FOUND``, ``INVALID_ARGUMENT``, ...), ``field`` the
    offending request field when the server named one."""

    def __init__(self, code: str, message: str, field: str | None = None) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.field = field

    def __repr__(self) -> str:
        return f"ServiceError(code={self.code!r}, message={self.message!r}, field={self.field!r})"


def _proto_root() -> Path:
    """The directory holding ``pressure_forecast/v1/forecast_service.proto``: $PRESSURE_FORECAST_PROTO_DIR, else
    the copy compiled into the extension (the contract of this very version), written to the cache."""
    if os.environ.get("PRESSURE_FORECAST_PROTO_DIR"):
        root = Path(os.environ["PRESSURE_FORECAST_PROTO_DIR"])
        if not (root / _PROTO).is_file():
            raise FileNotFoundError(f"PRESSURE_FORECAST_PROTO_DIR={root} has no {_PROTO}")
        return root
    from ._native import PROTO_FORECAST_SERVICE

    text = PROTO_FORECAST_SERVICE.encode()
    root = _cache_dir() / f"proto-{hashlib.sha256(text).hexdigest()[:16]}"
    path = root / _PROTO
    if not path.is_file():
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_bytes(text)
        tmp.replace(path)
    return root


def _cache_dir() -> Path:
    if os.environ.get("PRESSURE_FORECAST_CACHE"):
        return Path(os.environ["PRESSURE_FORECAST_CACHE"])
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "pressure_forecast"


def _generate(root: Path, out: Path) -> None:
    from grpc_tools import protoc  # imported lazily: only needed the first time

    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".gen-", dir=out.parent))
    try:
        args = ["grpc_tools.protoc", f"-I{root}", f"--python_out={tmp}", f"--pyi_out={tmp}", f"--grpc_python_out={tmp}", str(root / _PROTO)]
        if protoc.main(args) != 0:
            raise RuntimeError(f"grpc_tools.protoc failed on {root / _PROTO}")
        gen = tmp / "pressure_forecast" / "v1"
        grpc_file = gen / "forecast_service_pb2_grpc.py"
        # The generated import names the proto package, which clashes with this Python package: make it relative.
        text = grpc_file.read_text().replace(
            "from pressure_forecast.v1 import forecast_service_pb2", "from . import forecast_service_pb2"
        )
        grpc_file.write_text(text)
        (gen / "__init__.py").write_text("")
        try:
            gen.rename(out)
        except OSError:
            if not (out / "forecast_service_pb2_grpc.py").exists():
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def load_stubs() -> tuple[Any, Any]:
    """The generated modules ``(forecast_service_pb2, forecast_service_pb2_grpc)``, generating them if needed."""
    global _stubs
    with _lock:
        if _stubs is not None:
            return _stubs
        root = _proto_root()
        digest = hashlib.sha256((root / _PROTO).read_bytes()).hexdigest()[:16]
        out = _cache_dir() / f"grpc-{digest}"
        if not (out / "forecast_service_pb2_grpc.py").exists():
            _generate(root, out)
        pkg = types.ModuleType(_PACKAGE)
        pkg.__path__ = [str(out)]  # type: ignore[attr-defined]
        sys.modules[_PACKAGE] = pkg
        pb2 = importlib.import_module(f"{_PACKAGE}.forecast_service_pb2")
        pb2_grpc = importlib.import_module(f"{_PACKAGE}.forecast_service_pb2_grpc")
        _stubs = (pb2, pb2_grpc)
        return _stubs


def _date(d: Any) -> str:
    if d is None:
        return ""
    if isinstance(d, (datetime.date, datetime.datetime)):
        return d.strftime("%Y-%m-%d")
    return str(d)


def _ordered(m: Mapping[str, float], order: Sequence[str]) -> dict[str, float]:
    names = list(order) or sorted(m)
    return {n: m[n] for n in names if n in m}


def _signal_to_dict(s: Any) -> dict[str, Any]:
    d: dict[str, Any] = {"type": s.type, "date": s.date}
    if s.id:
        d = {"id": s.id, **d}
    d["reliability"] = s.reliability if s.HasField("reliability") else 1.0
    d["weight"] = s.weight if s.HasField("weight") else 1.0
    if s.source:
        d["source"] = s.source
    if s.note:
        d["note"] = s.note
    if s.HasField("reports"):
        d["reports"] = s.reports
    if s.event_ids:
        d["event_ids"] = list(s.event_ids)
    return d


def _forecast_to_dict(f: Any) -> dict[str, Any]:
    out: dict[str, Any] = {
        "case": f.case,
        "as_of": f.as_of,
        "term_end": f.term_end,
        "probabilities": _ordered(f.probabilities, f.outcome_order),
        "regimes": _ordered(f.regimes, f.regime_order),
        "log_likelihood": f.log_likelihood,
        "signals_used": f.signals_used,
        "outcomes": list(f.outcome_order),
        "regime_names": list(f.regime_order),
    }
    o = list(f.outcome_order)
    if f.HasField("intervals"):
        iv = f.intervals
        out["intervals"] = {
            "draws": iv.draws,
            "seed": iv.seed,
            "mean": _ordered(iv.mean, o),
            "sd": _ordered(iv.sd, o),
            "intervals": [
                {"level": i.level, "lower": _ordered(i.lower, o), "upper": _ordered(i.upper, o)} for i in iv.intervals
            ],
        }
    if f.HasField("attribution"):
        a = f.attribution
        out["attribution"] = {
            "baseline": _ordered(a.baseline, o),
            "total": _ordered(a.total, o),
            "contributions": [
                {
                    "signal": _signal_to_dict(c.signal),
                    "before": _ordered(c.before, o),
                    "after": _ordered(c.after, o),
                    "delta": _ordered(c.delta, o),
                    "delta_log_odds": _ordered(c.delta_log_odds, o),
                }
                for c in a.contributions
            ],
            "drop_one": [
                {"signal": _signal_to_dict(d.signal), "probabilities": _ordered(d.probabilities, o), "delta": _ordered(d.delta, o)}
                for d in a.drop_one
            ],
        }
    return out


def _serde_forecast(d: dict[str, Any]) -> dict[str, Any]:
    """A forecast dict in ``Forecast.to_json()`` shape -> the engine's serde shape (lists in outcome order), as
    nested in what-if answers."""
    o, g = d["outcomes"], d["regime_names"]
    out = {
        "case": d["case"],
        "as_of": d["as_of"],
        "term_end": d["term_end"],
        "outcomes": o,
        "probabilities": [d["probabilities"][x] for x in o],
        "regimes": g,
        "regime_probabilities": [d["regimes"][x] for x in g],
        "log_likelihood": d["log_likelihood"],
        "signals_used": d["signals_used"],
    }
    if "intervals" in d:
        iv = d["intervals"]
        out["intervals"] = {
            "draws": iv["draws"],
            "seed": iv["seed"],
            "mean": [iv["mean"][x] for x in o],
            "sd": [iv["sd"][x] for x in o],
            "intervals": [
                {"level": i["level"], "lower": [i["lower"][x] for x in o], "upper": [i["upper"][x] for x in o]}
                for i in iv["intervals"]
            ],
        }
    return out


def _native(name: str, d: dict[str, Any]) -> Any:
    """Build the local API's result type from the JSON shape the service's answer was converted to."""
    import pressure_forecast

    return getattr(pressure_forecast, name).from_json(d)


def _case_to_dict(c: Any) -> dict[str, Any]:
    d: dict[str, Any] = {
        "id": c.id,
        "sender": c.sender,
        "target": c.target,
        "start": c.start,
        "term_end": c.term_end,
    }
    if c.description:
        d["description"] = c.description
    d["signals"] = [_signal_to_dict(s) for s in c.signals]
    d["signal_count"] = c.signal_count
    return d


class Client:
    """A connection to a pressure_forecast service.

    ``timeout`` (seconds) is the deadline of each call (``None``: no deadline); every method also takes
    ``timeout=`` to override it. Errors raise :class:`ServiceError`.
    """

    def __init__(self, address: str = "127.0.0.1:50051", timeout: float | None = 30.0, *, max_message_bytes: int = 4 * 1024 * 1024) -> None:
        self._pb, pb_grpc = load_stubs()
        self.address = address
        self.timeout = timeout
        opts = [("grpc.max_receive_message_length", max_message_bytes), ("grpc.max_send_message_length", max_message_bytes)]
        self._channel = grpc.insecure_channel(address, options=opts)
        self._stub = pb_grpc.ForecastServiceStub(self._channel)

    def __repr__(self) -> str:
        return f"Client({self.address!r}, timeout={self.timeout!r})"

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the channel."""
        self._channel.close()

    @property
    def pb(self) -> Any:
        """The generated message module (``forecast_service_pb2``)."""
        return self._pb

    def _call(self, method: str, request: Any, timeout: Any = ...) -> Any:
        t = self.timeout if timeout is ... else timeout
        try:
            return getattr(self._stub, method)(request, timeout=t)
        except grpc.RpcError as e:
            raise _error(e) from None

    def _signals(self, signals: Iterable[Mapping[str, Any]]) -> list[Any]:
        out = []
        for s in signals:
            kw: dict[str, Any] = {"type": s["type"], "date": _date(s["date"])}
            for k in ("id", "source", "note"):
                if s.get(k) is not None:
                    kw[k] = str(s[k])
            for k in ("reliability", "weight"):
                if s.get(k) is not None:
                    kw[k] = float(s[k])
            if s.get("reports") is not None:
                kw["reports"] = int(s["reports"])
            if s.get("event_ids"):
                kw["event_ids"] = [str(x) for x in s["event_ids"]]
            out.append(self._pb.Signal(**kw))
        return out

    # Cases -------------------------------------------------------------------------------------------------
    def create_case(self, case: Mapping[str, Any], timeout: Any = ...) -> dict[str, Any]:
        """Create a case from a case-file dict ``{id, sender, target, start, term_end, description?, signals?}``.
        Returns ``{case, created, forecast}``."""
        pc = self._pb.Case(
            id=case["id"],
            sender=case["sender"],
            target=case["target"],
            start=_date(case["start"]),
            term_end=_date(case["term_end"]),
            description=case.get("description") or "",
            signals=self._signals(case.get("signals") or []),
        )
        r = self._call("CreateCase", self._pb.CreateCaseRequest(case=pc), timeout)
        return {"case": _case_to_dict(r.case), "created": r.created, "forecast": _forecast_to_dict(r.forecast)}

    def get_case(self, case_id: str, timeout: Any = ...) -> dict[str, Any]:
        """The case with its signals, in the case-file shape (plus ``signal_count``)."""
        return _case_to_dict(self._call("GetCase", self._pb.GetCaseRequest(case_id=case_id), timeout).case)

    def list_cases(self, page_size: int = 0, page_token: str = "", timeout: Any = ...) -> tuple[list[dict[str, Any]], str]:
        """One page of cases (without signals) and the next page's token (empty at the end)."""
        r = self._call("ListCases", self._pb.ListCasesRequest(page_size=page_size, page_token=page_token), timeout)
        return [_case_to_dict(c) for c in r.cases], r.next_page_token

    def iter_cases(self, page_size: int = 100) -> Iterator[dict[str, Any]]:
        """Every case (without signals), page by page."""
        token = ""
        while True:
            cases, token = self.list_cases(page_size, token)
            yield from cases
            if not token:
                return

    def delete_case(self, case_id: str, timeout: Any = ...) -> int:
        """Delete a case; returns the number of signals deleted."""
        return self._call("DeleteCase", self._pb.DeleteCaseRequest(case_id=case_id), timeout).signals_deleted

    def append_signals(self, case_id: str, signals: Iterable[Mapping[str, Any]], as_of: Any = None, timeout: Any = ...) -> dict[str, Any]:
        """Append a batch of signal dicts atomically. Returns ``{added, unchanged, signal_count, forecast}``."""
        req = self._pb.AppendSignalsRequest(case_id=case_id, signals=self._signals(signals), as_of=_date(as_of))
        r = self._call("AppendSignals", req, timeout)
        return {"added": r.added, "unchanged": r.unchanged, "signal_count": r.signal_count, "forecast": _forecast_to_dict(r.forecast)}

    # Forecasts ---------------------------------------------------------------------------------------------
    def forecast(
        self,
        case_id: str,
        as_of: Any = None,
        draws: int = 0,
        seed: int = 0,
        levels: Sequence[float] | float | None = None,
        timeout: Any = ...,
    ) -> Any:
        """The forecast at ``as_of`` (default: today), with intervals when ``draws > 0``, as a
        :class:`pressure_forecast.Forecast` (the local API's type)."""
        return _native("Forecast", self.forecast_dict(case_id, as_of, draws, seed, levels, False, timeout))

    def explain(self, case_id: str, as_of: Any = None, timeout: Any = ...) -> Any:
        """Attribution and drop-one of the forecast at ``as_of``, as a :class:`pressure_forecast.Explanation`."""
        d = self.forecast_dict(case_id, as_of, attribution=True, timeout=timeout)
        a, o = d["attribution"], d["outcomes"]

        def seq(m: Mapping[str, float]) -> list[float]:
            return [m[x] for x in o]

        contributions = [
            {"signal": c["signal"], **{k: seq(c[k]) for k in ("before", "after", "delta", "delta_log_odds")}}
            for c in a["contributions"]
        ]
        drop_one = [{"signal": x["signal"], "probabilities": seq(x["probabilities"]), "delta": seq(x["delta"])} for x in a["drop_one"]]
        return _native(
            "Explanation",
            {
                "case": d["case"],
                "as_of": d["as_of"],
                "outcomes": o,
                "baseline": seq(a["baseline"]),
                "total": seq(a["total"]),
                "contributions": contributions,
                "drop_one": drop_one,
            },
        )

    def forecast_dict(
        self,
        case_id: str,
        as_of: Any = None,
        draws: int = 0,
        seed: int = 0,
        levels: Sequence[float] | float | None = None,
        attribution: bool = False,
        timeout: Any = ...,
    ) -> dict[str, Any]:
        """The forecast as a dict in the JSON shape of ``Forecast.to_json()`` (plus ``attribution`` if asked)."""
        if isinstance(levels, (int, float)):
            levels = [float(levels)]
        req = self._pb.GetForecastRequest(
            case_id=case_id, as_of=_date(as_of), draws=draws, seed=seed, levels=list(levels or []), include_attribution=attribution
        )
        return _forecast_to_dict(self._call("GetForecast", req, timeout).forecast)

    def load_case(self, case_id: str, timeout: Any = ...) -> Any:
        """The stored case with all its signals, as a :class:`pressure_forecast.Case`."""
        d = self.get_case(case_id, timeout)
        d.pop("signal_count", None)
        return _native("Case", d)

    def trajectory(self, case_id: str, start: Any = None, end: Any = None, resolution: str = "daily", timeout: Any = ...) -> Any:
        """Outcome probabilities per day, as a :class:`pressure_forecast.Trajectory`."""
        return _native("Trajectory", self.trajectory_dict(case_id, start, end, resolution, timeout))

    def trajectory_dict(self, case_id: str, start: Any = None, end: Any = None, resolution: str = "daily", timeout: Any = ...) -> dict[str, Any]:
        """Outcome probabilities per day: ``{case, term_end, outcomes, regimes, points: [...]}``."""
        res = {"daily": 1, "signal_dates": 2}.get(resolution)
        if res is None:
            raise ValueError(f"resolution: expected 'daily' or 'signal_dates', found {resolution!r}")
        req = self._pb.GetTrajectoryRequest(case_id=case_id, to=_date(end), resolution=res)
        setattr(req, "from", _date(start))
        r = self._call("GetTrajectory", req, timeout)
        o, g = list(r.outcome_order), list(r.regime_order)
        return {
            "case": r.case,
            "term_end": r.term_end,
            "outcomes": o,
            "regimes": g,
            "points": [
                {
                    "date": p.date,
                    "probabilities": _ordered(p.probabilities, o),
                    "regimes": _ordered(p.regimes, g),
                    "signals_used": p.signals_used,
                    "signal_types": list(p.signal_types),
                }
                for p in r.points
            ],
        }

    def what_if(self, case_id: str, signals: Iterable[Mapping[str, Any]] | None = None, term_end: Any = None, as_of: Any = None, timeout: Any = ...) -> Any:
        """The forecast with hypothetical signals and/or another term end, as a :class:`pressure_forecast.WhatIf`."""
        d = self.what_if_dict(case_id, signals, term_end, as_of, timeout)
        o = d["baseline"]["outcomes"]
        return _native(
            "WhatIf",
            {"baseline": _serde_forecast(d["baseline"]), "scenario": _serde_forecast(d["scenario"]), "delta": [d["delta"][x] for x in o]},
        )

    def what_if_dict(self, case_id: str, signals: Iterable[Mapping[str, Any]] | None = None, term_end: Any = None, as_of: Any = None, timeout: Any = ...) -> dict[str, Any]:
        """The forecast with hypothetical signals and/or another term end: ``{baseline, scenario, delta}``."""
        req = self._pb.WhatIfRequest(case_id=case_id, as_of=_date(as_of), signals=self._signals(signals or []), term_end=_date(term_end))
        r = self._call("WhatIf", req, timeout)
        return {
            "baseline": _forecast_to_dict(r.baseline),
            "scenario": _forecast_to_dict(r.scenario),
            "delta": _ordered(r.delta, r.baseline.outcome_order),
        }

    def value_of_information(self, case_id: str, as_of: Any = None, timeout: Any = ...) -> Any:
        """Signal types ranked by how much observing them next would move the forecast, as a
        :class:`pressure_forecast.ValueOfInformation`."""
        d = self.value_of_information_dict(case_id, as_of, timeout)
        o = d["outcomes"]

        def seq(m: Mapping[str, float]) -> list[float]:
            return [m[x] for x in o]

        values = [
            {**v, **{k: seq(v[k]) for k in ("forecast_if_observed", "delta", "expected_abs_change")}} for v in d["values"]
        ]
        return _native("ValueOfInformation", {**d, "current": seq(d["current"]), "values": values})

    def value_of_information_dict(self, case_id: str, as_of: Any = None, timeout: Any = ...) -> dict[str, Any]:
        """Signal types ranked by how much observing them next would move the forecast (JSON shape)."""
        r = self._call("GetValueOfInformation", self._pb.GetValueOfInformationRequest(case_id=case_id, as_of=_date(as_of)), timeout)
        o = list(r.outcome_order)
        return {
            "case": r.case,
            "as_of": r.as_of,
            "outcomes": o,
            "current": _ordered(r.current, o),
            "values": [
                {
                    "signal_type": v.type,
                    "probability": v.probability,
                    "share": v.share,
                    "forecast_if_observed": _ordered(v.forecast_if_observed, o),
                    "delta": _ordered(v.delta, o),
                    "expected_abs_change": _ordered(v.expected_abs_change, o),
                    "score": v.score,
                }
                for v in r.values
            ],
        }

    def watch(self, case_id: str, as_of: Any = None, timeout: float | None = None) -> Iterator[dict[str, Any]]:
        """The current forecast, then a new one after every append to the case (a blocking iterator; each item
        also carries ``signal_count``)."""
        try:
            for r in self._stub.WatchForecast(self._pb.WatchForecastRequest(case_id=case_id, as_of=_date(as_of)), timeout=timeout):
                f = _forecast_to_dict(r.forecast)
                f["signal_count"] = r.signal_count
                yield f
        except grpc.RpcError as e:
            raise _error(e) from None

    # Model and events ---------------------------------------------------------------------------------------
    def model(self, timeout: Any = ...) -> dict[str, Any]:
        """``{name, description, toml, regimes, outcomes, signal_types}`` of the service's model."""
        r = self._call("GetModel", self._pb.GetModelRequest(), timeout)
        return {
            "name": r.name,
            "description": r.description,
            "toml": r.toml,
            "regimes": list(r.regimes),
            "outcomes": list(r.outcomes),
            "signal_types": list(r.signal_types),
        }

    def signal_types(self, timeout: Any = ...) -> list[dict[str, Any]]:
        """``[{name, description, likelihood: {regime: q}}]``."""
        r = self._call("ListSignalTypes", self._pb.ListSignalTypesRequest(), timeout)
        return [{"name": t.name, "description": t.description, "likelihood": dict(t.likelihood)} for t in r.types]

    def import_events(
        self,
        case_id: str,
        text: str,
        format: str,
        sender: str | None = None,
        target: str | None = None,
        mapping: str | None = None,
        strict: bool = False,
        as_of: Any = None,
        timeout: Any = ...,
    ) -> dict[str, Any]:
        """Import raw event rows (``format``: icews, gdelt1, gdelt2 or csv) into a case, atomically."""
        fmt = {"icews": 1, "gdelt1": 2, "gdelt2": 3, "csv": 4}.get(format.lower())
        if fmt is None:
            raise ValueError(f"format: expected icews, gdelt1, gdelt2 or csv, found {format!r}")
        req = self._pb.ImportEventsRequest(
            case_id=case_id, text=text, format=fmt, sender=sender or "", target=target or "", mapping=mapping or "", strict=strict, as_of=_date(as_of)
        )
        r = self._call("ImportEvents", req, timeout)
        return {
            "rows_read": r.rows_read,
            "rows_matched": r.rows_matched,
            "bad_rows": [{"line": b.line, "reason": b.reason} for b in r.bad_rows],
            "added": r.added,
            "unchanged": r.unchanged,
            "forecast": _forecast_to_dict(r.forecast),
        }

    def health(self, service: str = "pressure_forecast.v1.ForecastService", timeout: Any = ...) -> str:
        """The health status name (``SERVING``, ``NOT_SERVING``, ...), through ``grpc.health.v1``."""
        from grpc_health.v1 import health_pb2, health_pb2_grpc

        stub = health_pb2_grpc.HealthStub(self._channel)
        t = self.timeout if timeout is ... else timeout
        try:
            r = stub.Check(health_pb2.HealthCheckRequest(service=service), timeout=t)
        except grpc.RpcError as e:
            raise _error(e) from None
        return str(health_pb2.HealthCheckResponse.ServingStatus.Name(r.status))


def _error(e: grpc.RpcError) -> ServiceError:
    code = e.code().name if hasattr(e, "code") and e.code() is not None else "UNKNOWN"  # type: ignore[attr-defined]
    details = e.details() if hasattr(e, "details") else str(e)  # type: ignore[attr-defined]
    field = None
    try:
        for k, v in e.trailing_metadata() or ():  # type: ignore[attr-defined]
            if k == "pf-field":
                field = v
    except Exception:  # noqa: BLE001 - metadata is optional
        pass
    return ServiceError(code, details or "", field)
