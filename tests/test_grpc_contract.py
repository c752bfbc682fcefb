"""The ``pressureforecast.v1`` contract from Python: every RPC through :class:`Client` returns the local API's
own type and compares equal to the local result; standard error details with field paths; UpdateCase with a
field mask; RetractSignal (the forecast changes back); GetCase and ListSignals paging.

The server runs as a process on a free port (see ``test_grpc_service.ServerProcess``).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import grpc
import pytest
from test_grpc_service import ROOT, ServerProcess

import pressure_forecast as pf
from pressure_forecast.client import AppendResult, Client, ServiceError
from pressure_forecast._proto import forecast_service_pb2 as pb
from pressure_forecast._proto import forecast_service_pb2_grpc as pb_grpc

AS_OF = "2018-10-31"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    s = ServerProcess(tmp_path_factory.mktemp("contract") / "store.sqlite3").start()
    yield s
    s.kill()


@pytest.fixture()
def client(server: ServerProcess) -> Iterator[Client]:
    with Client(server.address, timeout=30) as c:
        yield c


def same(remote: Any, local: Any) -> None:
    assert type(remote) is type(local), (type(remote), type(local))
    assert remote == local


def test_every_rpc_returns_the_local_type_and_equals_it(client: Client) -> None:
    local = pf.Case.load(str(ROOT / "data" / "cases" / "north_korea.json"))
    created = client.create_case(local)
    assert created.created
    cid = local.id

    # GetCase + ListSignals (every page): the same Case.
    same(client.load_case(cid, page_size=3), local)
    signals, token = client.list_signals(cid, page_size=2)
    assert [type(s) for s in signals] == [pf.Signal, pf.Signal] and token
    assert signals == local.signals[:2]

    # GetForecast, with and without draws; attribution (Explanation); trajectory; what-if; value of information.
    same(client.forecast(cid, as_of=AS_OF), local.forecast(as_of=AS_OF))
    same(
        client.forecast(cid, as_of=AS_OF, draws=200, seed=3, levels=[0.5, 0.9]),
        local.forecast(as_of=AS_OF, draws=200, seed=3, levels=[0.5, 0.9]),
    )
    same(client.explain(cid, as_of=AS_OF), local.explain(as_of=AS_OF))
    same(
        client.trajectory(cid, start="2018-06-01", end="2018-06-20", resolution="signal_dates"),
        local.trajectory(start="2018-06-01", end="2018-06-20", resolution="signal_dates"),
    )
    hypo = [{"type": "agreement_signed", "date": "2018-11-02"}]
    same(client.what_if(cid, signals=hypo, as_of=AS_OF), local.what_if(signals=hypo, as_of=AS_OF))
    same(
        client.what_if(cid, term_end="2019-06-30", as_of=AS_OF),
        local.what_if(term_end="2019-06-30", as_of=AS_OF),
    )
    same(client.value_of_information(cid, as_of=AS_OF), local.value_of_information(as_of=AS_OF))

    # RunScenario (a Scenario given to what_if) and ComparePolicies: the local WhatIf and PolicyComparison.
    relief = pf.Scenario("relief in March", signals=[pf.Signal("sanctions_relief", "2019-03-01")])
    monthly = pf.Scenario("sanctions monthly", monthly=["sanctions_tightened"], fate="stays")
    same(client.what_if(cid, relief, as_of=AS_OF), local.what_if(relief, as_of=AS_OF))
    same(client.what_if(cid, monthly, as_of=AS_OF), local.what_if(monthly, as_of=AS_OF))
    cmp = client.compare(cid, pf.Scenario(), monthly, as_of=AS_OF)
    same(cmp, local.compare(pf.Scenario(), monthly, as_of=AS_OF))
    assert cmp.to_pandas().columns.tolist() == local.compare(pf.Scenario(), monthly, as_of=AS_OF).to_pandas().columns.tolist()

    # AppendSignals: the local API's AppendReport, and the forecast the local case gives after the same append.
    batch = [pf.Signal("talks_held", "2018-11-05", id="contract-1"), {"id": "contract-2", "type": "talks_refused", "date": "2018-11-20"}]
    r = client.append_signals(cid, batch, as_of="2018-12-31")
    report = local.observe_many(batch)
    assert isinstance(r, AppendResult)
    same(r.report, report)
    same(r.forecast, local.forecast(as_of="2018-12-31"))
    assert r.signal_count == len(local.signals)

    # WatchForecast: the first message is the current forecast.
    item = next(iter(client.watch(cid, as_of="2018-12-31", timeout=30)))
    same(item.forecast, local.forecast(as_of="2018-12-31"))

    # RetractSignal: the local case without the signal.
    rr = client.retract_signal(cid, "contract-2", reason="test", as_of="2018-12-31")
    local.remove("contract-2")
    assert rr.retracted and rr.signal_count == len(local.signals)
    same(rr.forecast, local.forecast(as_of="2018-12-31"))
    same(client.load_case(cid), local)

    # UpdateCase: the case message; the local Case with the same description compares equal.
    assert client.update_case(cid, description="updated over gRPC").description == "updated over gRPC"
    local.description = "updated over gRPC"
    same(client.load_case(cid), local)

    # ImportEvents: the forecast equals the local API's on the case as stored after the import.
    text = (ROOT / "data" / "events" / "icews_events_2018-06-01_to_06-02_sample.tab").read_text()
    imp = client.import_events(cid, text, "icews", as_of=AS_OF)
    assert imp.rows_read > 0
    assert isinstance(imp.report, pf.AppendReport)
    same(imp.forecast, client.load_case(cid).forecast(as_of=AS_OF))

    # CreateCase's forecast is the local one at today (UTC), as both default to it.
    created_local = pf.Case("contract-new", "USA", "IRN", "2018-05-08", "2030-01-20")
    r2 = client.create_case(created_local)
    same(r2.forecast, created_local.forecast(as_of=r2.forecast.as_of))

    # RPCs with no local-API type return the generated messages.
    assert isinstance(client.model(), pb.GetModelResponse)
    assert all(isinstance(t, pb.SignalType) for t in client.signal_types())
    assert isinstance(client.get_case(cid), pb.GetCaseResponse)
    cases, _ = client.list_cases()
    assert {c.id for c in cases} >= {cid, "contract-new"}
    assert client.delete_case("contract-new") == 0


def details(e: grpc.RpcError) -> tuple[str, list[str]]:
    """(ErrorInfo reason, BadRequest field paths) read with the stock googleapis-common-protos messages."""
    from google.rpc import error_details_pb2, status_pb2

    trailer = dict(e.trailing_metadata())["grpc-status-details-bin"]  # type: ignore[attr-defined]
    reason, fields = "", []
    for d in status_pb2.Status.FromString(trailer).details:
        info, bad = error_details_pb2.ErrorInfo(), error_details_pb2.BadRequest()
        if d.Unpack(info):
            assert info.domain == "pressureforecast.v1"
            reason = info.reason
        elif d.Unpack(bad):
            fields += [v.field for v in bad.field_violations]
    return reason, fields


def test_errors_carry_field_paths(server: ServerProcess, client: Client) -> None:
    from google.type import date_pb2

    client.create_case({"id": "errs", "sender": "USA", "target": "PRK", "start": "2017-01-20", "term_end": "2021-01-20"})
    ok = [pb.Signal(id=f"s{i}", signal_type="talks_held", date=date_pb2.Date(year=2018, month=1, day=i + 1)) for i in range(2)]
    bad = pb.Signal(id="s2", signal_type="talks_held", date=date_pb2.Date(year=2018, month=2, day=30))
    with grpc.insecure_channel(server.address) as ch:
        stub = pb_grpc.ForecastServiceStub(ch)
        with pytest.raises(grpc.RpcError) as e:
            stub.AppendSignals(pb.AppendSignalsRequest(case_id="errs", signals=[*ok, bad]), timeout=20)
        assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert details(e.value) == ("INVALID_FIELD", ["signals[2].date"])
        with pytest.raises(grpc.RpcError) as e:
            stub.GetForecast(pb.GetForecastRequest(case_id="nope"), timeout=20)
        assert details(e.value) == ("CASE_NOT_FOUND", [])
    # The client reads the same details into ServiceError.
    with pytest.raises(ServiceError) as se:
        client.append_signals("errs", [{"id": "x", "type": "no_such_type", "date": "2018-01-01"}])
    assert (se.value.code, se.value.reason, se.value.field) == ("INVALID_ARGUMENT", "INVALID_FIELD", "signals[0].signal_type")
    with pytest.raises(ServiceError) as se:
        client.append_signals("errs", [{"id": "x", "type": "talks_held", "date": "2030-01-01"}])
    assert se.value.field == "signals[0].date"


def test_update_case_with_a_mask(client: Client) -> None:
    client.create_case({"id": "upd", "sender": "USA", "target": "PRK", "start": "2017-01-20", "term_end": "2021-01-20", "description": "d0"})
    c = client.update_case("upd", reelection_eligible=True, election_date="2020-11-03")
    assert (c.description, c.reelection_eligible, (c.election_date.year, c.election_date.month, c.election_date.day)) == ("d0", True, (2020, 11, 3))
    c = client.update_case("upd", description="d1", election_date=None)
    assert (c.description, c.reelection_eligible, c.HasField("election_date")) == ("d1", True, False)
    assert client.load_case("upd").description == "d1"
    with pytest.raises(ServiceError) as e:
        client.update_case("upd")
    assert e.value.field == "update_mask"
    with pytest.raises(ServiceError) as e:
        client.update_case("nope", description="x")
    assert e.value.code == "NOT_FOUND"


def test_retract_changes_the_forecast_back(client: Client) -> None:
    client.create_case({"id": "ret", "sender": "USA", "target": "PRK", "start": "2017-01-20", "term_end": "2021-01-20"})
    before = client.forecast("ret", as_of="2020-12-31")
    r = client.append_signals("ret", [{"id": "deal", "type": "agreement_signed", "date": "2018-06-12"}], as_of="2020-12-31")
    assert r.forecast != before
    first = client.retract_signal("ret", "deal", as_of="2020-12-31")
    assert first.retracted and first.forecast == before and first.signal_count == 0
    again = client.retract_signal("ret", "deal", as_of="2020-12-31")
    assert not again.retracted and again.forecast == before
    assert client.forecast("ret", as_of="2020-12-31") == before
    with pytest.raises(ServiceError) as e:
        client.append_signals("ret", [{"id": "deal", "type": "talks_held", "date": "2018-06-12"}])
    assert (e.value.code, e.value.reason) == ("ALREADY_EXISTS", "SIGNAL_CONFLICT")
    with pytest.raises(ServiceError) as e:
        client.retract_signal("ret", "never")
    assert (e.value.code, e.value.reason) == ("NOT_FOUND", "SIGNAL_NOT_FOUND")


def test_get_case_and_list_signals_page(client: Client) -> None:
    sigs = [{"id": f"p{i:02d}", "type": "talks_held", "date": f"2018-01-{i + 1:02d}"} for i in range(7)]
    client.create_case({"id": "pages", "sender": "USA", "target": "PRK", "start": "2017-01-20", "term_end": "2021-01-20", "signals": sigs})
    g = client.get_case("pages", page_size=3)
    assert (len(g.coercion_case.signals), g.coercion_case.signal_count) == (3, 7) and g.next_page_token
    ids = [s.id for s in g.coercion_case.signals]
    token = g.next_page_token
    while token:
        page, token = client.list_signals("pages", page_size=3, page_token=token)
        assert len(page) <= 3
        ids += [s.id for s in page]
    assert ids == [s["id"] for s in sigs]
    with pytest.raises(ServiceError) as e:
        client.list_signals("pages", page_token="bogus")
    assert e.value.field == "page_token"


def test_watch_sees_a_retraction(server: ServerProcess, client: Client) -> None:
    client.create_case({"id": "wr", "sender": "USA", "target": "PRK", "start": "2017-01-20", "term_end": "2021-01-20"})
    client.append_signals("wr", [{"id": "a", "type": "summit_held", "date": "2018-06-12"}])
    got: list[Any] = []
    first, done = threading.Event(), threading.Event()

    def watch() -> None:
        with Client(server.address) as c2:
            for item in c2.watch("wr", as_of="2020-01-01", timeout=30):
                got.append(item)
                first.set()
                if len(got) == 2:
                    done.set()
                    return

    threading.Thread(target=watch, daemon=True).start()
    assert first.wait(20)
    r = client.retract_signal("wr", "a", as_of="2020-01-01")
    assert done.wait(20)
    assert [g.signal_count for g in got] == [1, 0]
    assert got[1].forecast == r.forecast


