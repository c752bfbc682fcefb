"""A client of the pressure_forecast gRPC service (``pressure-forecast serve``), contract ``pressureforecast.v1``.

Results are the local API's own types: ``forecast`` returns a :class:`pressure_forecast.Forecast` equal to the
one ``Case.forecast`` gives for the same case, ``trajectory`` a :class:`~pressure_forecast.Trajectory`, and so
on. The response bytes are decoded in Rust by the contract's own conversions (pf-proto); the request messages
come from the stubs shipped in :mod:`pressure_forecast._proto` (generated from the proto, nothing is generated
at run time)::

    from pressure_forecast.client import Client

    with Client("127.0.0.1:50051") as c:
        f = c.forecast("usa-prk-2017", as_of="2018-10-31", draws=1000, seed=1)
        f.probabilities["deal"]

Errors raise :class:`ServiceError`, which carries the standard error details the service attaches: the
``google.rpc.ErrorInfo`` reason and the ``google.rpc.BadRequest`` field violations (``signals[2].date``).
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any, NamedTuple

import grpc

from . import _native as _native_module
from ._proto import forecast_service_pb2 as pb

# The response decoders (`_remote_*`, crates/pf-python/src/remote.rs) are private to this module and not in the
# stub: typed here as what they return, the local API's classes.
_native: Any = _native_module

__all__ = ["AppendResult", "Client", "CreateResult", "ImportResult", "RetractResult", "ServiceError", "WatchItem", "pb"]

SERVICE = "pressureforecast.v1.ForecastService"
_UNSET: Any = object()


class ServiceError(RuntimeError):
    """A call failed. ``code`` is the gRPC status name (``NOT_FOUND``, ``INVALID_ARGUMENT``, ...), ``reason``
    the ``ErrorInfo`` reason (``INVALID_FIELD``, ``CASE_NOT_FOUND``, ...), ``violations`` the ``BadRequest``
    field violations as ``(field path, description)``, and ``field`` the first violation's path.

    Parameters
    ----------
    code : str
        The gRPC status name.
    message : str
        The status message.
    reason : str, default ''
        The ``ErrorInfo`` reason.
    violations : sequence of (str, str), default ()
        The ``BadRequest`` field violations.

    Examples
    --------
    >>> from pressure_forecast.client import ServiceError
    >>> e = ServiceError("INVALID_ARGUMENT", "bad date", "INVALID_FIELD", [("signals[2].date", "not a date")])
    >>> e.field, str(e)
    ('signals[2].date', 'INVALID_ARGUMENT: bad date')
    """

    def __init__(self, code: str, message: str, reason: str = "", violations: Sequence[tuple[str, str]] = ()) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.reason = reason
        self.violations = list(violations)
        self.field = self.violations[0][0] if self.violations else None

    def __repr__(self) -> str:
        return f"ServiceError(code={self.code!r}, reason={self.reason!r}, field={self.field!r}, message={self.message!r})"


class CreateResult(NamedTuple):
    """What ``create_case`` did: ``created`` is False for an identical case already stored."""

    created: bool
    forecast: Any


class AppendResult(NamedTuple):
    """What ``append_signals`` did: the local API's ``AppendReport``, the case's signal count, its forecast."""

    report: Any
    signal_count: int
    forecast: Any


class RetractResult(NamedTuple):
    """What ``retract_signal`` did: ``retracted`` is False when it already was."""

    retracted: bool
    signal_count: int
    forecast: Any


class ImportResult(NamedTuple):
    """What ``import_events`` did: rows read and matched, skipped rows ``(line, reason)``, the append."""

    rows_read: int
    rows_matched: int
    bad_rows: list[tuple[int, str]]
    report: Any
    forecast: Any


class WatchItem(NamedTuple):
    """One message of ``watch``: the forecast and the case's signal count when it was made."""

    forecast: Any
    signal_count: int


def _date(d: Any) -> Any:
    """A ``google.type.Date`` from a ``datetime.date`` or ``YYYY-MM-DD``; ``None`` leaves the field unset."""
    if d is None:
        return None
    if isinstance(d, datetime.datetime):
        d = d.date()
    if not isinstance(d, datetime.date):
        try:
            d = datetime.date.fromisoformat(str(d))
        except ValueError:
            raise ValueError(f"date: expected a datetime.date or YYYY-MM-DD, found {d!r}") from None
    from google.type import date_pb2

    return date_pb2.Date(year=d.year, month=d.month, day=d.day)


def _absent(v: Any) -> bool:
    """``None``, or a missing value of a DataFrame row (NaN, NaT, ``pandas.NA``): the field is not given."""
    if v is None:
        return True
    try:
        return bool(v != v)
    except TypeError:  # pandas.NA: its comparisons are NA, whose truth value is undefined
        return True


def _signal(s: Any) -> Any:
    """A ``Signal`` message from a :class:`pressure_forecast.Signal` or a signal record dict (missing values, as in
    ``DataFrame.to_dict("records")``, are absent fields, as :meth:`pressure_forecast.Case.observe_many` reads them)."""
    given: Mapping[str, Any] = s.to_json() if hasattr(s, "to_json") else s
    rec = {k: v for k, v in given.items() if not _absent(v)}
    kw: dict[str, Any] = {"signal_type": rec.get("type") or rec.get("signal_type"), "date": _date(rec["date"])}
    for k in ("id", "source", "note"):
        if rec.get(k) is not None:
            kw[k] = str(rec[k])
    for k in ("reliability", "weight"):
        if rec.get(k) is not None:
            kw[k] = float(rec[k])
    if rec.get("reports") is not None:
        kw["reports"] = int(rec["reports"])
    if rec.get("event_ids"):
        kw["event_ids"] = [str(x) for x in rec["event_ids"]]
    return pb.Signal(**kw)


def _scenario(sc: Any) -> Any:
    """A ``Scenario`` message from a :class:`pressure_forecast.Scenario` (the engine's own conversion)."""
    if not isinstance(sc, _native.Scenario):
        raise TypeError(f"expected a pressure_forecast.Scenario, found {type(sc).__name__}")
    return pb.Scenario.FromString(_native._remote_scenario_message(sc))


class Client:
    """A connection to a pressure_forecast service.

    ``timeout`` (seconds) is the deadline of each call (``None``: no deadline); every method also takes
    ``timeout=`` to override it. Errors raise :class:`ServiceError`.

    Parameters
    ----------
    address : str, default "127.0.0.1:50051"
        The service's ``host:port``; the channel connects at the first call.
    timeout : float or None, default 30.0
        Deadline of each call in seconds (``None``: no deadline).
    max_message_bytes : int, default 4 MiB
        The largest message sent or received.

    Examples
    --------
    >>> from pressure_forecast.client import Client
    >>> with Client("127.0.0.1:50051", timeout=5) as c:
    ...     print(repr(c))
    Client('127.0.0.1:50051', timeout=5)
    """

    def __init__(
        self,
        address: str = "127.0.0.1:50051",
        timeout: float | None = 30.0,
        *,
        max_message_bytes: int = 4 * 1024 * 1024,
        token: str | None = None,
        root_certificates: bytes | str | None = None,
        client_certificate: bytes | str | None = None,
        client_key: bytes | str | None = None,
        tls: bool | None = None,
        server_name: str | None = None,
    ) -> None:
        # Credentials (issue 12): ``token`` is sent as ``authorization: Bearer <token>``; TLS is on when ``tls``
        # is true or any certificate is given (PEM bytes, or a path to a PEM file); ``server_name`` overrides the
        # name the server's certificate is checked against.
        self.address = address
        self.timeout = timeout
        opts: list[tuple[str, Any]] = [("grpc.max_receive_message_length", max_message_bytes), ("grpc.max_send_message_length", max_message_bytes)]
        pem = lambda v: None if v is None else (v if isinstance(v, bytes) else open(v, "rb").read())  # noqa: E731
        self._metadata: list[tuple[str, str]] = [("authorization", f"Bearer {token}")] if token else []
        if tls or root_certificates is not None or client_certificate is not None:
            creds = grpc.ssl_channel_credentials(root_certificates=pem(root_certificates), private_key=pem(client_key), certificate_chain=pem(client_certificate))
            if server_name:
                opts.append(("grpc.ssl_target_name_override", server_name))
            self._channel = grpc.secure_channel(address, creds, options=opts)
        else:
            self._channel = grpc.insecure_channel(address, options=opts)

    def __repr__(self) -> str:
        return f"Client({self.address!r}, timeout={self.timeout!r})"

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the channel; the client cannot make calls afterwards (``with Client(...)`` closes it on exit).

        Returns
        -------
        None
            Nothing.

        Examples
        --------
        >>> from pressure_forecast.client import Client
        >>> c = Client("127.0.0.1:50051")
        >>> c.close()
        >>> with Client("127.0.0.1:50051") as c:
        ...     pass
        """
        self._channel.close()

    def _raw(self, method: str, request: Any, timeout: Any = ...) -> bytes:
        """Call ``method`` and return the response message's bytes, undecoded."""
        call = self._channel.unary_unary(f"/{SERVICE}/{method}", request_serializer=_serialize, response_deserializer=None)
        try:
            return bytes(call(request, timeout=self.timeout if timeout is ... else timeout, metadata=self._metadata))
        except grpc.RpcError as e:
            raise _error(e) from None

    def _msg(self, method: str, request: Any, response: Callable[[bytes], Any], timeout: Any = ...) -> Any:
        """Call ``method`` and decode the response with the generated message class (for answers that have no
        local-API type: case headers, the model, signal types)."""
        return response(self._raw(method, request, timeout))

    # Cases -------------------------------------------------------------------------------------------------
    def create_case(self, case: Any, *, reelection_eligible: bool | None = None, election_date: Any = None, timeout: Any = ...) -> CreateResult:
        """Create a case from a :class:`pressure_forecast.Case` or a case-file dict (with its signals).

        Parameters
        ----------
        case : Case or dict
            The case, with the signals to store with it.
        reelection_eligible : bool, optional
            Whether the target's leader can be re-elected (unset when None).
        election_date : datetime.date or str, optional
            The target's next election.
        timeout : float or None, optional
            Deadline of this call in seconds; default the client's ``timeout``.

        Returns
        -------
        CreateResult
            ``created`` (False for an identical case already stored) and the case's forecast today.

        Examples
        --------
        The calls need a running service (``pressure-forecast serve``), hence ``+SKIP``:

        >>> from pressure_forecast.client import Client
        >>> c = Client("127.0.0.1:50051")
        >>> import pressure_forecast as pf
        >>> case = pf.Case("demo", "USA", "PRK", "2017-01-20", "2021-01-20")
        >>> c.create_case(case).created  # doctest: +SKIP
        True
        """
        rec: Mapping[str, Any] = case.to_json() if hasattr(case, "to_json") else case
        msg = pb.Case(
            id=rec["id"],
            sender=rec["sender"],
            target=rec["target"],
            start=_date(rec["start"]),
            term_end=_date(rec["term_end"]),
            description=rec.get("description") or "",
            signals=[_signal(s) for s in rec.get("signals") or []],
            reelection_eligible=reelection_eligible,
            election_date=_date(election_date),
        )
        return CreateResult(*_native._remote_create(self._raw("CreateCase", pb.CreateCaseRequest(coercion_case=msg), timeout)))

    def get_case(self, case_id: str, page_size: int = 0, timeout: Any = ...) -> Any:
        """The case message (``pb.GetCaseResponse``) with the first page of its signals and ``next_page_token``.

        Parameters
        ----------
        case_id : str
            The case's id.
        page_size : int, default 0
            Signals in the first page (0: the service's default).
        timeout : float or None, optional
            Deadline of this call in seconds; default the client's ``timeout``.

        Returns
        -------
        pb.GetCaseResponse
            The case's header, its first page of signals and the next page's token.

        Examples
        --------
        The calls need a running service (``pressure-forecast serve``), hence ``+SKIP``:

        >>> from pressure_forecast.client import Client
        >>> c = Client("127.0.0.1:50051")
        >>> c.get_case("demo").coercion_case.target  # doctest: +SKIP
        'PRK'
        """
        return self._msg("GetCase", pb.GetCaseRequest(case_id=case_id, page_size=page_size), pb.GetCaseResponse.FromString, timeout)

    def load_case(self, case_id: str, page_size: int = 1000, timeout: Any = ...) -> Any:
        """The stored case with all its signals (every page), as a :class:`pressure_forecast.Case`.

        Parameters
        ----------
        case_id : str
            The case's id.
        page_size : int, default 1000
            Signals fetched per call.
        timeout : float or None, optional
            Deadline of this call in seconds; default the client's ``timeout``.

        Returns
        -------
        Case
            The case, ready for the local API (``forecast``, ``trajectory``, ...).

        Examples
        --------
        The calls need a running service (``pressure-forecast serve``), hence ``+SKIP``:

        >>> from pressure_forecast.client import Client
        >>> c = Client("127.0.0.1:50051")
        >>> c.load_case("demo").id  # doctest: +SKIP
        'demo'
        """
        first = self._raw("GetCase", pb.GetCaseRequest(case_id=case_id, page_size=page_size), timeout)
        pages: list[bytes] = []
        token = pb.GetCaseResponse.FromString(first).next_page_token
        while token:
            page = self._raw("ListSignals", pb.ListSignalsRequest(case_id=case_id, page_size=page_size, page_token=token), timeout)
            pages.append(page)
            token = pb.ListSignalsResponse.FromString(page).next_page_token
        return _native._remote_case(first, pages)

    def update_case(
        self, case_id: str, *, description: Any = _UNSET, reelection_eligible: Any = _UNSET, election_date: Any = _UNSET, timeout: Any = ...
    ) -> Any:
        """Write the fields given (``None`` clears eligibility or the election date); returns the case message.

        Parameters
        ----------
        case_id : str
            The case's id.
        description : str, optional
            The new description (``None`` or empty clears it).
        reelection_eligible : bool or None, optional
            Whether the target's leader can be re-elected.
        election_date : datetime.date, str or None, optional
            The target's next election.
        timeout : float or None, optional
            Deadline of this call in seconds; default the client's ``timeout``.

        Returns
        -------
        pb.Case
            The case's header after the update; fields not given are left as they were.

        Examples
        --------
        The calls need a running service (``pressure-forecast serve``), hence ``+SKIP``:

        >>> from pressure_forecast.client import Client
        >>> c = Client("127.0.0.1:50051")
        >>> c.update_case("demo", description="talks").description  # doctest: +SKIP
        'talks'
        """
        given = {"description": description, "reelection_eligible": reelection_eligible, "election_date": election_date}
        paths = [k for k, v in given.items() if v is not _UNSET]
        msg = pb.Case(id=case_id)
        if description is not _UNSET:
            msg.description = description or ""
        if reelection_eligible not in (_UNSET, None):
            msg.reelection_eligible = bool(reelection_eligible)
        if election_date not in (_UNSET, None):
            msg.election_date.CopyFrom(_date(election_date))
        req = pb.UpdateCaseRequest(coercion_case=msg)
        req.update_mask.paths.extend(paths)
        return self._msg("UpdateCase", req, pb.UpdateCaseResponse.FromString, timeout).coercion_case

    def list_cases(self, page_size: int = 0, page_token: str = "", timeout: Any = ...) -> tuple[list[Any], str]:
        """One page of case messages (without signals) and the next page's token (empty at the end).

        Parameters
        ----------
        page_size : int, default 0
            Cases per page (0: the service's default).
        page_token : str, default ''
            The token of the page to read (empty: the first).
        timeout : float or None, optional
            Deadline of this call in seconds; default the client's ``timeout``.

        Returns
        -------
        tuple of (list of pb.Case, str)
            The page's cases and the next page's token.

        Examples
        --------
        The calls need a running service (``pressure-forecast serve``), hence ``+SKIP``:

        >>> from pressure_forecast.client import Client
        >>> c = Client("127.0.0.1:50051")
        >>> cases, token = c.list_cases(page_size=10)  # doctest: +SKIP
        """
        r = self._msg("ListCases", pb.ListCasesRequest(page_size=page_size, page_token=page_token), pb.ListCasesResponse.FromString, timeout)
        return list(r.cases), r.next_page_token

    def iter_cases(self, page_size: int = 100) -> Iterator[Any]:
        """Every case message (without signals), page by page.

        Parameters
        ----------
        page_size : int, default 100
            Cases fetched per call.

        Returns
        -------
        iterator of pb.Case
            The cases' headers, lazily.

        Examples
        --------
        The calls need a running service (``pressure-forecast serve``), hence ``+SKIP``:

        >>> from pressure_forecast.client import Client
        >>> c = Client("127.0.0.1:50051")
        >>> ids = [m.id for m in c.iter_cases()]  # doctest: +SKIP
        """
        token = ""
        while True:
            cases, token = self.list_cases(page_size, token)
            yield from cases
            if not token:
                return

    def delete_case(self, case_id: str, timeout: Any = ...) -> int:
        """Delete a case and its signals.

        Parameters
        ----------
        case_id : str
            The case's id.
        timeout : float or None, optional
            Deadline of this call in seconds; default the client's ``timeout``.

        Returns
        -------
        int
            The number of signals deleted.

        Examples
        --------
        The calls need a running service (``pressure-forecast serve``), hence ``+SKIP``:

        >>> from pressure_forecast.client import Client
        >>> c = Client("127.0.0.1:50051")
        >>> c.delete_case("demo")  # doctest: +SKIP
        0
        """
        return int(self._msg("DeleteCase", pb.DeleteCaseRequest(case_id=case_id), pb.DeleteCaseResponse.FromString, timeout).signals_deleted)

    # Signals -----------------------------------------------------------------------------------------------
    def list_signals(self, case_id: str, page_size: int = 0, page_token: str = "", timeout: Any = ...) -> tuple[list[Any], str]:
        """One page of the case's signals as :class:`pressure_forecast.Signal` and the next page's token.

        Parameters
        ----------
        case_id : str
            The case's id.
        page_size : int, default 0
            Signals per page (0: the service's default).
        page_token : str, default ''
            The token of the page to read (empty: the first).
        timeout : float or None, optional
            Deadline of this call in seconds; default the client's ``timeout``.

        Returns
        -------
        tuple of (list of Signal, str)
            The page's signals in date order and the next page's token.

        Examples
        --------
        The calls need a running service (``pressure-forecast serve``), hence ``+SKIP``:

        >>> from pressure_forecast.client import Client
        >>> c = Client("127.0.0.1:50051")
        >>> signals, token = c.list_signals("demo", page_size=100)  # doctest: +SKIP
        """
        req = pb.ListSignalsRequest(case_id=case_id, page_size=page_size, page_token=page_token)
        signals, token, _count = _native._remote_signals(self._raw("ListSignals", req, timeout))
        return signals, token

    def append_signals(self, case_id: str, signals: Iterable[Any], as_of: Any = None, timeout: Any = ...) -> AppendResult:
        """Append a batch of signals (:class:`pressure_forecast.Signal` or dicts) atomically.

        Parameters
        ----------
        case_id : str
            The case's id.
        signals : iterable of Signal or dict
            The signals; all are stored or none.
        as_of : datetime.date or str, optional
            The date of the forecast returned; default today (UTC).
        timeout : float or None, optional
            Deadline of this call in seconds; default the client's ``timeout``.

        Returns
        -------
        AppendResult
            The ``AppendReport``, the case's signal count and its forecast.

        Examples
        --------
        The calls need a running service (``pressure-forecast serve``), hence ``+SKIP``:

        >>> from pressure_forecast.client import Client
        >>> c = Client("127.0.0.1:50051")
        >>> import pressure_forecast as pf
        >>> c.append_signals("demo", [pf.Signal("summit_held", "2018-06-12")]).report  # doctest: +SKIP
        AppendReport(added=1, unchanged=0)
        """
        req = pb.AppendSignalsRequest(case_id=case_id, signals=[_signal(s) for s in signals], as_of=_date(as_of))
        return AppendResult(*_native._remote_append(self._raw("AppendSignals", req, timeout)))

    def retract_signal(self, case_id: str, signal_id: str, reason: str = "", as_of: Any = None, timeout: Any = ...) -> RetractResult:
        """Retract a signal by its id (logged, never deleted); the case's forecasts no longer use it.

        Parameters
        ----------
        case_id : str
            The case's id.
        signal_id : str
            The id of the signal to retract.
        reason : str, default ''
            Why, kept in the log.
        as_of : datetime.date or str, optional
            The date of the forecast returned; default today (UTC).
        timeout : float or None, optional
            Deadline of this call in seconds; default the client's ``timeout``.

        Returns
        -------
        RetractResult
            ``retracted`` (False when it already was), the signal count and the forecast.

        Examples
        --------
        The calls need a running service (``pressure-forecast serve``), hence ``+SKIP``:

        >>> from pressure_forecast.client import Client
        >>> c = Client("127.0.0.1:50051")
        >>> c.retract_signal("demo", "s1", reason="misreported").retracted  # doctest: +SKIP
        True
        """
        req = pb.RetractSignalRequest(case_id=case_id, signal_id=signal_id, reason=reason, as_of=_date(as_of))
        return RetractResult(*_native._remote_retract(self._raw("RetractSignal", req, timeout)))

    # Forecasts ---------------------------------------------------------------------------------------------
    def forecast(
        self,
        case_id: str,
        as_of: Any = None,
        draws: int = 0,
        seed: int = 0,
        levels: Sequence[float] | float | None = None,
        include_draws: bool = False,
        timeout: Any = ...,
    ) -> Any:
        """The forecast at ``as_of`` (default: today, UTC), with intervals when ``draws > 0`` and, with
        ``include_draws=True``, the raw draws in ``Forecast.draws``.

        Parameters
        ----------
        case_id : str
            The case's id.
        as_of : datetime.date or str, optional
            Only signals dated on or before this day; default today (UTC).
        draws : int, default 0
            Parameter draws for the credible intervals (0: none).
        seed : int, default 0
            Seed of the draws.
        levels : float or sequence of float, optional
            Interval levels (the service's default when None).
        include_draws : bool, default False
            Also receive the raw parameter draws (``draws`` x outcomes numbers, about ``8 * draws * outcomes``
            bytes), so that ``Forecast.draws``, ``summary()`` with HDIs and ``to_arviz()`` work as on a local
            forecast; without it ``Forecast.draws`` is None. A reply over the service's message size is refused
            before the work (:class:`ServiceError`, code ``RESOURCE_EXHAUSTED``, naming ``max_message_bytes``).
        timeout : float or None, optional
            Deadline of this call in seconds; default the client's ``timeout``.

        Returns
        -------
        Forecast
            The same class, and the same value, as ``Case.forecast`` gives locally (with ``include_draws``, the
            same draws for the same seed).

        Examples
        --------
        The calls need a running service (``pressure-forecast serve``), hence ``+SKIP``:

        >>> from pressure_forecast.client import Client
        >>> c = Client("127.0.0.1:50051")
        >>> f = c.forecast("demo", as_of="2018-07-01", draws=1000, seed=1)  # doctest: +SKIP
        >>> sorted(f.probabilities)  # doctest: +SKIP
        ['deal', 'stalemate', 'wait_out']
        """
        if isinstance(levels, (int, float)):
            levels = [float(levels)]
        req = pb.GetForecastRequest(
            case_id=case_id, as_of=_date(as_of), draws=draws, seed=seed, levels=list(levels or []), include_draws=include_draws
        )
        return _native._remote_forecast(self._raw("GetForecast", req, timeout))

    def explain(self, case_id: str, as_of: Any = None, timeout: Any = ...) -> Any:
        """Attribution and drop-one of the forecast at ``as_of``, as a :class:`pressure_forecast.Explanation`.

        Parameters
        ----------
        case_id : str
            The case's id.
        as_of : datetime.date or str, optional
            Only signals dated on or before this day; default today (UTC).
        timeout : float or None, optional
            Deadline of this call in seconds; default the client's ``timeout``.

        Returns
        -------
        Explanation
            Each signal's change to the outcome probabilities, and the forecast without it.

        Examples
        --------
        The calls need a running service (``pressure-forecast serve``), hence ``+SKIP``:

        >>> from pressure_forecast.client import Client
        >>> c = Client("127.0.0.1:50051")
        >>> e = c.explain("demo", as_of="2018-07-01")  # doctest: +SKIP
        """
        req = pb.GetForecastRequest(case_id=case_id, as_of=_date(as_of), include_attribution=True)
        return _native._remote_explanation(self._raw("GetForecast", req, timeout))

    def trajectory(self, case_id: str, start: Any = None, end: Any = None, resolution: str = "daily", timeout: Any = ...) -> Any:
        """Outcome probabilities per day, as a :class:`pressure_forecast.Trajectory`.

        Parameters
        ----------
        case_id : str
            The case's id.
        start : datetime.date or str, optional
            The first day (the service's default: the case's start).
        end : datetime.date or str, optional
            The last day (default: today, UTC, at most the term end).
        resolution : {'daily', 'signal_dates'}, default 'daily'
            Every day, or only the days with signals.
        timeout : float or None, optional
            Deadline of this call in seconds; default the client's ``timeout``.

        Returns
        -------
        Trajectory
            One point per day.

        Examples
        --------
        The calls need a running service (``pressure-forecast serve``), hence ``+SKIP``:

        >>> from pressure_forecast.client import Client
        >>> c = Client("127.0.0.1:50051")
        >>> t = c.trajectory("demo", start="2018-06-01", end="2018-06-30")  # doctest: +SKIP
        >>> len(t)  # doctest: +SKIP
        30
        """
        res = {"daily": pb.RESOLUTION_DAILY, "signal_dates": pb.RESOLUTION_SIGNAL_DATES}.get(resolution)
        if res is None:
            raise ValueError(f"resolution: expected 'daily' or 'signal_dates', found {resolution!r}")
        req = pb.GetTrajectoryRequest(case_id=case_id, start_date=_date(start), end_date=_date(end), resolution=res)
        return _native._remote_trajectory(self._raw("GetTrajectory", req, timeout))

    def what_if(self, case_id: str, signals: Any = None, term_end: Any = None, as_of: Any = None, timeout: Any = ...) -> Any:
        """The forecast with hypothetical signals and/or another term end, as a :class:`pressure_forecast.WhatIf`.

        Given a :class:`pressure_forecast.Scenario` (future sender actions, actions repeated monthly, "policy
        continues", a fate, a term end, eligibility; a v2 model), the call is ``RunScenario`` and the result is what
        the local ``case.what_if(scenario)`` returns: the default future (no new actions), the scenario, and their
        difference.

        Parameters
        ----------
        case_id : str
            The case's id.
        signals : Scenario, or iterable of Signal or dict, optional
            A scenario, or hypothetical signals (not stored).
        term_end : datetime.date or str, optional
            Another term end.
        as_of : datetime.date or str, optional
            Only signals dated on or before this day; default today (UTC).
        timeout : float or None, optional
            Deadline of this call in seconds; default the client's ``timeout``.

        Returns
        -------
        WhatIf
            The baseline and scenario forecasts and their difference.

        Examples
        --------
        The calls need a running service (``pressure-forecast serve``), hence ``+SKIP``:

        >>> from pressure_forecast.client import Client
        >>> c = Client("127.0.0.1:50051")
        >>> import pressure_forecast as pf
        >>> w = c.what_if("demo", [pf.Signal("talks_refused", "2018-08-01")])  # doctest: +SKIP
        """
        if isinstance(signals, _native.Scenario):
            if term_end is not None:
                raise TypeError("what_if: give the term end inside the Scenario, not beside it")
            req = pb.RunScenarioRequest(case_id=case_id, as_of=_date(as_of), scenario=_scenario(signals))
            return _native._remote_scenario(self._raw("RunScenario", req, timeout))
        req = pb.WhatIfRequest(case_id=case_id, as_of=_date(as_of), signals=[_signal(s) for s in signals or []], term_end=_date(term_end))
        return _native._remote_what_if(self._raw("WhatIf", req, timeout))

    def compare(self, case_id: str, a: Any, b: Any, as_of: Any = None, timeout: Any = ...) -> Any:
        """Two policies for one case in one call (``ComparePolicies``), as :class:`pressure_forecast.PolicyComparison`.

        Parameters
        ----------
        case_id : str
            The case's id.
        a, b : Scenario
            The two policies (``pf.Scenario()`` is the default future: no new actions).
        as_of : datetime.date or str, optional
            Only signals dated on or before this day; default today (UTC).
        timeout : float or None, optional
            Deadline of this call in seconds; default the client's ``timeout``.

        Returns
        -------
        PolicyComparison
            Both forecasts and ``difference`` = b - a, equal to the local ``case.compare(a, b)``.

        Examples
        --------
        The calls need a running service (``pressure-forecast serve``), hence ``+SKIP``:

        >>> from pressure_forecast.client import Client
        >>> import pressure_forecast as pf
        >>> c = Client("127.0.0.1:50051")
        >>> cmp = c.compare("usa-prk-2017", pf.Scenario(), pf.Scenario(monthly=["sanctions_tightened"]))  # doctest: +SKIP
        """
        req = pb.ComparePoliciesRequest(case_id=case_id, as_of=_date(as_of), a=_scenario(a), b=_scenario(b))
        return _native._remote_compare(self._raw("ComparePolicies", req, timeout), a, b)

    def value_of_information(self, case_id: str, as_of: Any = None, timeout: Any = ...) -> Any:
        """Signal types ranked by how much observing them next would move the forecast.

        Parameters
        ----------
        case_id : str
            The case's id.
        as_of : datetime.date or str, optional
            Only signals dated on or before this day; default today (UTC).
        timeout : float or None, optional
            Deadline of this call in seconds; default the client's ``timeout``.

        Returns
        -------
        ValueOfInformation
            The ranked entries, highest score first.

        Examples
        --------
        The calls need a running service (``pressure-forecast serve``), hence ``+SKIP``:

        >>> from pressure_forecast.client import Client
        >>> c = Client("127.0.0.1:50051")
        >>> v = c.value_of_information("demo", as_of="2018-07-01")  # doctest: +SKIP
        """
        req = pb.GetValueOfInformationRequest(case_id=case_id, as_of=_date(as_of))
        return _native._remote_value_of_information(self._raw("GetValueOfInformation", req, timeout))

    def watch(self, case_id: str, as_of: Any = None, timeout: float | None = None) -> Iterator[WatchItem]:
        """The current forecast, then a new one after every change to the case's signals (a blocking iterator).

        Parameters
        ----------
        case_id : str
            The case's id.
        as_of : datetime.date or str, optional
            Only signals dated on or before this day; default today (UTC).
        timeout : float or None, default None
            Deadline of the whole stream in seconds (None: none).

        Returns
        -------
        iterator of WatchItem
            The forecast and the signal count, one item per change.

        Examples
        --------
        The calls need a running service (``pressure-forecast serve``), hence ``+SKIP``:

        >>> from pressure_forecast.client import Client
        >>> c = Client("127.0.0.1:50051")
        >>> for item in c.watch("demo"):  # doctest: +SKIP
        ...     print(item.signal_count, item.forecast.most_likely)
        """
        call = self._channel.unary_stream(f"/{SERVICE}/WatchForecast", request_serializer=_serialize, response_deserializer=None)
        try:
            for data in call(pb.WatchForecastRequest(case_id=case_id, as_of=_date(as_of)), timeout=timeout, metadata=self._metadata):
                yield WatchItem(*_native._remote_watch(bytes(data)))
        except grpc.RpcError as e:
            raise _error(e) from None

    # Model and events ---------------------------------------------------------------------------------------
    def model(self, timeout: Any = ...) -> Any:
        """The service's model: ``pb.GetModelResponse`` (name, description, toml, regimes, outcomes, signal_types).

        Parameters
        ----------
        timeout : float or None, optional
            Deadline of this call in seconds; default the client's ``timeout``.

        Returns
        -------
        pb.GetModelResponse
            The model's description; ``pf.Model.from_toml_str(m.toml)`` rebuilds it.

        Examples
        --------
        The calls need a running service (``pressure-forecast serve``), hence ``+SKIP``:

        >>> from pressure_forecast.client import Client
        >>> c = Client("127.0.0.1:50051")
        >>> m = c.model()  # doctest: +SKIP
        >>> list(m.outcomes)  # doctest: +SKIP
        ['deal', 'stalemate', 'wait_out']
        """
        return self._msg("GetModel", pb.GetModelRequest(), pb.GetModelResponse.FromString, timeout)

    def signal_types(self, timeout: Any = ...) -> list[Any]:
        """The model's signal types: ``pb.SignalType`` messages (name, description, likelihood per regime).

        Parameters
        ----------
        timeout : float or None, optional
            Deadline of this call in seconds; default the client's ``timeout``.

        Returns
        -------
        list of pb.SignalType
            The service model's signal types.

        Examples
        --------
        The calls need a running service (``pressure-forecast serve``), hence ``+SKIP``:

        >>> from pressure_forecast.client import Client
        >>> c = Client("127.0.0.1:50051")
        >>> names = [t.name for t in c.signal_types()]  # doctest: +SKIP
        """
        return list(self._msg("ListSignalTypes", pb.ListSignalTypesRequest(), pb.ListSignalTypesResponse.FromString, timeout).types)

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
    ) -> ImportResult:
        """Import raw event rows (``format``: icews, gdelt1, gdelt2 or csv) into a case, atomically.

        Parameters
        ----------
        case_id : str
            The case's id.
        text : str
            The rows, as the file's text.
        format : {'icews', 'gdelt1', 'gdelt2', 'csv'}
            Their format.
        sender, target : str, optional
            The dyad to keep (default: the case's).
        mapping : str, optional
            A mapping in TOML from event codes to signal types (default: the service's).
        strict : bool, default False
            Fail on the first bad row instead of skipping it.
        as_of : datetime.date or str, optional
            The date of the forecast returned; default today (UTC).
        timeout : float or None, optional
            Deadline of this call in seconds; default the client's ``timeout``.

        Returns
        -------
        ImportResult
            Rows read and matched, skipped rows ``(line, reason)``, the append report and the forecast.

        Examples
        --------
        The calls need a running service (``pressure-forecast serve``), hence ``+SKIP``:

        >>> from pressure_forecast.client import Client
        >>> c = Client("127.0.0.1:50051")
        >>> r = c.import_events("demo", open("events.tsv").read(), "icews")  # doctest: +SKIP
        """
        fmt = {"icews": pb.EVENT_FORMAT_ICEWS, "gdelt1": pb.EVENT_FORMAT_GDELT1, "gdelt2": pb.EVENT_FORMAT_GDELT2, "csv": pb.EVENT_FORMAT_CSV}.get(
            format.lower()
        )
        if fmt is None:
            raise ValueError(f"format: expected icews, gdelt1, gdelt2 or csv, found {format!r}")
        req = pb.ImportEventsRequest(
            case_id=case_id, text=text, format=fmt, sender=sender or "", target=target or "", mapping=mapping or "", strict=strict, as_of=_date(as_of)
        )
        return ImportResult(*_native._remote_import(self._raw("ImportEvents", req, timeout)))

    def health(self, service: str = SERVICE, timeout: Any = ...) -> str:
        """The health status name (``SERVING``, ``NOT_SERVING``, ...), through ``grpc.health.v1``.

        Parameters
        ----------
        service : str, default SERVICE
            The service to ask about (empty: the server as a whole).
        timeout : float or None, optional
            Deadline of this call in seconds; default the client's ``timeout``.

        Returns
        -------
        str
            The status name.

        Examples
        --------
        The calls need a running service (``pressure-forecast serve``), hence ``+SKIP``:

        >>> from pressure_forecast.client import Client
        >>> c = Client("127.0.0.1:50051")
        >>> c.health()  # doctest: +SKIP
        'SERVING'
        """
        from grpc_health.v1 import health_pb2, health_pb2_grpc

        stub = health_pb2_grpc.HealthStub(self._channel)
        try:
            r = stub.Check(health_pb2.HealthCheckRequest(service=service), timeout=self.timeout if timeout is ... else timeout)
        except grpc.RpcError as e:
            raise _error(e) from None
        return str(health_pb2.HealthCheckResponse.ServingStatus.Name(r.status))


def _serialize(message: Any) -> bytes:
    return bytes(message.SerializeToString())


def _error(e: grpc.RpcError) -> ServiceError:
    """A :class:`ServiceError` from a failed call, with the details of its ``grpc-status-details-bin`` trailer."""
    code = e.code().name if hasattr(e, "code") and e.code() is not None else "UNKNOWN"  # type: ignore[attr-defined]
    message = (e.details() if hasattr(e, "details") else str(e)) or ""  # type: ignore[attr-defined]
    reason, violations = "", []
    trailer = dict(e.trailing_metadata() or ()).get("grpc-status-details-bin") if hasattr(e, "trailing_metadata") else None  # type: ignore[attr-defined]
    if trailer:
        from google.rpc import error_details_pb2, status_pb2

        for any_ in status_pb2.Status.FromString(trailer).details:
            info, bad = error_details_pb2.ErrorInfo(), error_details_pb2.BadRequest()
            if any_.Unpack(info):
                reason = info.reason
            elif any_.Unpack(bad):
                violations += [(v.field, v.description) for v in bad.field_violations]
    return ServiceError(code, message, reason, violations)
