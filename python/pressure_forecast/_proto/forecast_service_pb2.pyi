from google.protobuf import field_mask_pb2 as _field_mask_pb2
from google.type import date_pb2 as _date_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Resolution(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    RESOLUTION_UNSPECIFIED: _ClassVar[Resolution]
    RESOLUTION_DAILY: _ClassVar[Resolution]
    RESOLUTION_SIGNAL_DATES: _ClassVar[Resolution]

class SignalRole(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    SIGNAL_ROLE_UNSPECIFIED: _ClassVar[SignalRole]
    SIGNAL_ROLE_ACTION: _ClassVar[SignalRole]
    SIGNAL_ROLE_CONTEXT: _ClassVar[SignalRole]
    SIGNAL_ROLE_EVIDENCE: _ClassVar[SignalRole]
    SIGNAL_ROLE_DEAL: _ClassVar[SignalRole]
    SIGNAL_ROLE_FATE: _ClassVar[SignalRole]

class Fate(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    FATE_UNSPECIFIED: _ClassVar[Fate]
    FATE_STAYS: _ClassVar[Fate]
    FATE_LEAVES: _ClassVar[Fate]

class EventFormat(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    EVENT_FORMAT_UNSPECIFIED: _ClassVar[EventFormat]
    EVENT_FORMAT_ICEWS: _ClassVar[EventFormat]
    EVENT_FORMAT_GDELT1: _ClassVar[EventFormat]
    EVENT_FORMAT_GDELT2: _ClassVar[EventFormat]
    EVENT_FORMAT_CSV: _ClassVar[EventFormat]
RESOLUTION_UNSPECIFIED: Resolution
RESOLUTION_DAILY: Resolution
RESOLUTION_SIGNAL_DATES: Resolution
SIGNAL_ROLE_UNSPECIFIED: SignalRole
SIGNAL_ROLE_ACTION: SignalRole
SIGNAL_ROLE_CONTEXT: SignalRole
SIGNAL_ROLE_EVIDENCE: SignalRole
SIGNAL_ROLE_DEAL: SignalRole
SIGNAL_ROLE_FATE: SignalRole
FATE_UNSPECIFIED: Fate
FATE_STAYS: Fate
FATE_LEAVES: Fate
EVENT_FORMAT_UNSPECIFIED: EventFormat
EVENT_FORMAT_ICEWS: EventFormat
EVENT_FORMAT_GDELT1: EventFormat
EVENT_FORMAT_GDELT2: EventFormat
EVENT_FORMAT_CSV: EventFormat

class Signal(_message.Message):
    __slots__ = ("id", "signal_type", "date", "reliability", "weight", "source", "note", "reports", "event_ids")
    ID_FIELD_NUMBER: _ClassVar[int]
    SIGNAL_TYPE_FIELD_NUMBER: _ClassVar[int]
    DATE_FIELD_NUMBER: _ClassVar[int]
    RELIABILITY_FIELD_NUMBER: _ClassVar[int]
    WEIGHT_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    NOTE_FIELD_NUMBER: _ClassVar[int]
    REPORTS_FIELD_NUMBER: _ClassVar[int]
    EVENT_IDS_FIELD_NUMBER: _ClassVar[int]
    id: str
    signal_type: str
    date: _date_pb2.Date
    reliability: float
    weight: float
    source: str
    note: str
    reports: int
    event_ids: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, id: _Optional[str] = ..., signal_type: _Optional[str] = ..., date: _Optional[_Union[_date_pb2.Date, _Mapping]] = ..., reliability: _Optional[float] = ..., weight: _Optional[float] = ..., source: _Optional[str] = ..., note: _Optional[str] = ..., reports: _Optional[int] = ..., event_ids: _Optional[_Iterable[str]] = ...) -> None: ...

class Case(_message.Message):
    __slots__ = ("id", "sender", "target", "start", "term_end", "description", "signals", "signal_count", "reelection_eligible", "election_date", "version")
    ID_FIELD_NUMBER: _ClassVar[int]
    SENDER_FIELD_NUMBER: _ClassVar[int]
    TARGET_FIELD_NUMBER: _ClassVar[int]
    START_FIELD_NUMBER: _ClassVar[int]
    TERM_END_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    SIGNALS_FIELD_NUMBER: _ClassVar[int]
    SIGNAL_COUNT_FIELD_NUMBER: _ClassVar[int]
    REELECTION_ELIGIBLE_FIELD_NUMBER: _ClassVar[int]
    ELECTION_DATE_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    id: str
    sender: str
    target: str
    start: _date_pb2.Date
    term_end: _date_pb2.Date
    description: str
    signals: _containers.RepeatedCompositeFieldContainer[Signal]
    signal_count: int
    reelection_eligible: bool
    election_date: _date_pb2.Date
    version: int
    def __init__(self, id: _Optional[str] = ..., sender: _Optional[str] = ..., target: _Optional[str] = ..., start: _Optional[_Union[_date_pb2.Date, _Mapping]] = ..., term_end: _Optional[_Union[_date_pb2.Date, _Mapping]] = ..., description: _Optional[str] = ..., signals: _Optional[_Iterable[_Union[Signal, _Mapping]]] = ..., signal_count: _Optional[int] = ..., reelection_eligible: _Optional[bool] = ..., election_date: _Optional[_Union[_date_pb2.Date, _Mapping]] = ..., version: _Optional[int] = ...) -> None: ...

class Interval(_message.Message):
    __slots__ = ("level", "lower", "upper")
    class LowerEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: float
        def __init__(self, key: _Optional[str] = ..., value: _Optional[float] = ...) -> None: ...
    class UpperEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: float
        def __init__(self, key: _Optional[str] = ..., value: _Optional[float] = ...) -> None: ...
    LEVEL_FIELD_NUMBER: _ClassVar[int]
    LOWER_FIELD_NUMBER: _ClassVar[int]
    UPPER_FIELD_NUMBER: _ClassVar[int]
    level: float
    lower: _containers.ScalarMap[str, float]
    upper: _containers.ScalarMap[str, float]
    def __init__(self, level: _Optional[float] = ..., lower: _Optional[_Mapping[str, float]] = ..., upper: _Optional[_Mapping[str, float]] = ...) -> None: ...

class Intervals(_message.Message):
    __slots__ = ("draws", "seed", "mean", "sd", "intervals")
    class MeanEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: float
        def __init__(self, key: _Optional[str] = ..., value: _Optional[float] = ...) -> None: ...
    class SdEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: float
        def __init__(self, key: _Optional[str] = ..., value: _Optional[float] = ...) -> None: ...
    DRAWS_FIELD_NUMBER: _ClassVar[int]
    SEED_FIELD_NUMBER: _ClassVar[int]
    MEAN_FIELD_NUMBER: _ClassVar[int]
    SD_FIELD_NUMBER: _ClassVar[int]
    INTERVALS_FIELD_NUMBER: _ClassVar[int]
    draws: int
    seed: int
    mean: _containers.ScalarMap[str, float]
    sd: _containers.ScalarMap[str, float]
    intervals: _containers.RepeatedCompositeFieldContainer[Interval]
    def __init__(self, draws: _Optional[int] = ..., seed: _Optional[int] = ..., mean: _Optional[_Mapping[str, float]] = ..., sd: _Optional[_Mapping[str, float]] = ..., intervals: _Optional[_Iterable[_Union[Interval, _Mapping]]] = ...) -> None: ...

class SignalContribution(_message.Message):
    __slots__ = ("signal", "before", "after", "delta", "delta_log_odds")
    class BeforeEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: float
        def __init__(self, key: _Optional[str] = ..., value: _Optional[float] = ...) -> None: ...
    class AfterEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: float
        def __init__(self, key: _Optional[str] = ..., value: _Optional[float] = ...) -> None: ...
    class DeltaEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: float
        def __init__(self, key: _Optional[str] = ..., value: _Optional[float] = ...) -> None: ...
    class DeltaLogOddsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: float
        def __init__(self, key: _Optional[str] = ..., value: _Optional[float] = ...) -> None: ...
    SIGNAL_FIELD_NUMBER: _ClassVar[int]
    BEFORE_FIELD_NUMBER: _ClassVar[int]
    AFTER_FIELD_NUMBER: _ClassVar[int]
    DELTA_FIELD_NUMBER: _ClassVar[int]
    DELTA_LOG_ODDS_FIELD_NUMBER: _ClassVar[int]
    signal: Signal
    before: _containers.ScalarMap[str, float]
    after: _containers.ScalarMap[str, float]
    delta: _containers.ScalarMap[str, float]
    delta_log_odds: _containers.ScalarMap[str, float]
    def __init__(self, signal: _Optional[_Union[Signal, _Mapping]] = ..., before: _Optional[_Mapping[str, float]] = ..., after: _Optional[_Mapping[str, float]] = ..., delta: _Optional[_Mapping[str, float]] = ..., delta_log_odds: _Optional[_Mapping[str, float]] = ...) -> None: ...

class DropOneForecast(_message.Message):
    __slots__ = ("signal", "probabilities", "delta")
    class ProbabilitiesEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: float
        def __init__(self, key: _Optional[str] = ..., value: _Optional[float] = ...) -> None: ...
    class DeltaEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: float
        def __init__(self, key: _Optional[str] = ..., value: _Optional[float] = ...) -> None: ...
    SIGNAL_FIELD_NUMBER: _ClassVar[int]
    PROBABILITIES_FIELD_NUMBER: _ClassVar[int]
    DELTA_FIELD_NUMBER: _ClassVar[int]
    signal: Signal
    probabilities: _containers.ScalarMap[str, float]
    delta: _containers.ScalarMap[str, float]
    def __init__(self, signal: _Optional[_Union[Signal, _Mapping]] = ..., probabilities: _Optional[_Mapping[str, float]] = ..., delta: _Optional[_Mapping[str, float]] = ...) -> None: ...

class Attribution(_message.Message):
    __slots__ = ("baseline", "total", "contributions", "drop_one")
    class BaselineEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: float
        def __init__(self, key: _Optional[str] = ..., value: _Optional[float] = ...) -> None: ...
    class TotalEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: float
        def __init__(self, key: _Optional[str] = ..., value: _Optional[float] = ...) -> None: ...
    BASELINE_FIELD_NUMBER: _ClassVar[int]
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    CONTRIBUTIONS_FIELD_NUMBER: _ClassVar[int]
    DROP_ONE_FIELD_NUMBER: _ClassVar[int]
    baseline: _containers.ScalarMap[str, float]
    total: _containers.ScalarMap[str, float]
    contributions: _containers.RepeatedCompositeFieldContainer[SignalContribution]
    drop_one: _containers.RepeatedCompositeFieldContainer[DropOneForecast]
    def __init__(self, baseline: _Optional[_Mapping[str, float]] = ..., total: _Optional[_Mapping[str, float]] = ..., contributions: _Optional[_Iterable[_Union[SignalContribution, _Mapping]]] = ..., drop_one: _Optional[_Iterable[_Union[DropOneForecast, _Mapping]]] = ...) -> None: ...

class Forecast(_message.Message):
    __slots__ = ("case_id", "as_of", "term_end", "probabilities", "regimes", "log_likelihood", "signals_used", "outcome_order", "regime_order", "intervals", "attribution", "model", "draws")
    class ProbabilitiesEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: float
        def __init__(self, key: _Optional[str] = ..., value: _Optional[float] = ...) -> None: ...
    class RegimesEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: float
        def __init__(self, key: _Optional[str] = ..., value: _Optional[float] = ...) -> None: ...
    CASE_ID_FIELD_NUMBER: _ClassVar[int]
    AS_OF_FIELD_NUMBER: _ClassVar[int]
    TERM_END_FIELD_NUMBER: _ClassVar[int]
    PROBABILITIES_FIELD_NUMBER: _ClassVar[int]
    REGIMES_FIELD_NUMBER: _ClassVar[int]
    LOG_LIKELIHOOD_FIELD_NUMBER: _ClassVar[int]
    SIGNALS_USED_FIELD_NUMBER: _ClassVar[int]
    OUTCOME_ORDER_FIELD_NUMBER: _ClassVar[int]
    REGIME_ORDER_FIELD_NUMBER: _ClassVar[int]
    INTERVALS_FIELD_NUMBER: _ClassVar[int]
    ATTRIBUTION_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    DRAWS_FIELD_NUMBER: _ClassVar[int]
    case_id: str
    as_of: _date_pb2.Date
    term_end: _date_pb2.Date
    probabilities: _containers.ScalarMap[str, float]
    regimes: _containers.ScalarMap[str, float]
    log_likelihood: float
    signals_used: int
    outcome_order: _containers.RepeatedScalarFieldContainer[str]
    regime_order: _containers.RepeatedScalarFieldContainer[str]
    intervals: Intervals
    attribution: Attribution
    model: ModelId
    draws: _containers.RepeatedCompositeFieldContainer[ParameterDraw]
    def __init__(self, case_id: _Optional[str] = ..., as_of: _Optional[_Union[_date_pb2.Date, _Mapping]] = ..., term_end: _Optional[_Union[_date_pb2.Date, _Mapping]] = ..., probabilities: _Optional[_Mapping[str, float]] = ..., regimes: _Optional[_Mapping[str, float]] = ..., log_likelihood: _Optional[float] = ..., signals_used: _Optional[int] = ..., outcome_order: _Optional[_Iterable[str]] = ..., regime_order: _Optional[_Iterable[str]] = ..., intervals: _Optional[_Union[Intervals, _Mapping]] = ..., attribution: _Optional[_Union[Attribution, _Mapping]] = ..., model: _Optional[_Union[ModelId, _Mapping]] = ..., draws: _Optional[_Iterable[_Union[ParameterDraw, _Mapping]]] = ...) -> None: ...

class ParameterDraw(_message.Message):
    __slots__ = ("probabilities",)
    PROBABILITIES_FIELD_NUMBER: _ClassVar[int]
    probabilities: _containers.RepeatedScalarFieldContainer[float]
    def __init__(self, probabilities: _Optional[_Iterable[float]] = ...) -> None: ...

class ModelId(_message.Message):
    __slots__ = ("name", "version", "hash")
    NAME_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    HASH_FIELD_NUMBER: _ClassVar[int]
    name: str
    version: str
    hash: str
    def __init__(self, name: _Optional[str] = ..., version: _Optional[str] = ..., hash: _Optional[str] = ...) -> None: ...

class CreateCaseRequest(_message.Message):
    __slots__ = ("coercion_case",)
    COERCION_CASE_FIELD_NUMBER: _ClassVar[int]
    coercion_case: Case
    def __init__(self, coercion_case: _Optional[_Union[Case, _Mapping]] = ...) -> None: ...

class CreateCaseResponse(_message.Message):
    __slots__ = ("coercion_case", "created", "forecast")
    COERCION_CASE_FIELD_NUMBER: _ClassVar[int]
    CREATED_FIELD_NUMBER: _ClassVar[int]
    FORECAST_FIELD_NUMBER: _ClassVar[int]
    coercion_case: Case
    created: bool
    forecast: Forecast
    def __init__(self, coercion_case: _Optional[_Union[Case, _Mapping]] = ..., created: _Optional[bool] = ..., forecast: _Optional[_Union[Forecast, _Mapping]] = ...) -> None: ...

class GetCaseRequest(_message.Message):
    __slots__ = ("case_id", "page_size")
    CASE_ID_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    case_id: str
    page_size: int
    def __init__(self, case_id: _Optional[str] = ..., page_size: _Optional[int] = ...) -> None: ...

class GetCaseResponse(_message.Message):
    __slots__ = ("coercion_case", "next_page_token")
    COERCION_CASE_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    coercion_case: Case
    next_page_token: str
    def __init__(self, coercion_case: _Optional[_Union[Case, _Mapping]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class UpdateCaseRequest(_message.Message):
    __slots__ = ("coercion_case", "update_mask")
    COERCION_CASE_FIELD_NUMBER: _ClassVar[int]
    UPDATE_MASK_FIELD_NUMBER: _ClassVar[int]
    coercion_case: Case
    update_mask: _field_mask_pb2.FieldMask
    def __init__(self, coercion_case: _Optional[_Union[Case, _Mapping]] = ..., update_mask: _Optional[_Union[_field_mask_pb2.FieldMask, _Mapping]] = ...) -> None: ...

class UpdateCaseResponse(_message.Message):
    __slots__ = ("coercion_case",)
    COERCION_CASE_FIELD_NUMBER: _ClassVar[int]
    coercion_case: Case
    def __init__(self, coercion_case: _Optional[_Union[Case, _Mapping]] = ...) -> None: ...

class ListCasesRequest(_message.Message):
    __slots__ = ("page_size", "page_token")
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    page_size: int
    page_token: str
    def __init__(self, page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListCasesResponse(_message.Message):
    __slots__ = ("cases", "next_page_token")
    CASES_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    cases: _containers.RepeatedCompositeFieldContainer[Case]
    next_page_token: str
    def __init__(self, cases: _Optional[_Iterable[_Union[Case, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class DeleteCaseRequest(_message.Message):
    __slots__ = ("case_id",)
    CASE_ID_FIELD_NUMBER: _ClassVar[int]
    case_id: str
    def __init__(self, case_id: _Optional[str] = ...) -> None: ...

class DeleteCaseResponse(_message.Message):
    __slots__ = ("signals_deleted",)
    SIGNALS_DELETED_FIELD_NUMBER: _ClassVar[int]
    signals_deleted: int
    def __init__(self, signals_deleted: _Optional[int] = ...) -> None: ...

class ListSignalsRequest(_message.Message):
    __slots__ = ("case_id", "page_size", "page_token")
    CASE_ID_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    case_id: str
    page_size: int
    page_token: str
    def __init__(self, case_id: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListSignalsResponse(_message.Message):
    __slots__ = ("signals", "next_page_token", "signal_count")
    SIGNALS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    SIGNAL_COUNT_FIELD_NUMBER: _ClassVar[int]
    signals: _containers.RepeatedCompositeFieldContainer[Signal]
    next_page_token: str
    signal_count: int
    def __init__(self, signals: _Optional[_Iterable[_Union[Signal, _Mapping]]] = ..., next_page_token: _Optional[str] = ..., signal_count: _Optional[int] = ...) -> None: ...

class AppendSignalsRequest(_message.Message):
    __slots__ = ("case_id", "signals", "as_of")
    CASE_ID_FIELD_NUMBER: _ClassVar[int]
    SIGNALS_FIELD_NUMBER: _ClassVar[int]
    AS_OF_FIELD_NUMBER: _ClassVar[int]
    case_id: str
    signals: _containers.RepeatedCompositeFieldContainer[Signal]
    as_of: _date_pb2.Date
    def __init__(self, case_id: _Optional[str] = ..., signals: _Optional[_Iterable[_Union[Signal, _Mapping]]] = ..., as_of: _Optional[_Union[_date_pb2.Date, _Mapping]] = ...) -> None: ...

class AppendSignalsResponse(_message.Message):
    __slots__ = ("added", "unchanged", "forecast", "signal_count", "version")
    ADDED_FIELD_NUMBER: _ClassVar[int]
    UNCHANGED_FIELD_NUMBER: _ClassVar[int]
    FORECAST_FIELD_NUMBER: _ClassVar[int]
    SIGNAL_COUNT_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    added: int
    unchanged: int
    forecast: Forecast
    signal_count: int
    version: int
    def __init__(self, added: _Optional[int] = ..., unchanged: _Optional[int] = ..., forecast: _Optional[_Union[Forecast, _Mapping]] = ..., signal_count: _Optional[int] = ..., version: _Optional[int] = ...) -> None: ...

class RetractSignalRequest(_message.Message):
    __slots__ = ("case_id", "signal_id", "reason", "as_of")
    CASE_ID_FIELD_NUMBER: _ClassVar[int]
    SIGNAL_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    AS_OF_FIELD_NUMBER: _ClassVar[int]
    case_id: str
    signal_id: str
    reason: str
    as_of: _date_pb2.Date
    def __init__(self, case_id: _Optional[str] = ..., signal_id: _Optional[str] = ..., reason: _Optional[str] = ..., as_of: _Optional[_Union[_date_pb2.Date, _Mapping]] = ...) -> None: ...

class RetractSignalResponse(_message.Message):
    __slots__ = ("retracted", "forecast", "signal_count", "version")
    RETRACTED_FIELD_NUMBER: _ClassVar[int]
    FORECAST_FIELD_NUMBER: _ClassVar[int]
    SIGNAL_COUNT_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    retracted: bool
    forecast: Forecast
    signal_count: int
    version: int
    def __init__(self, retracted: _Optional[bool] = ..., forecast: _Optional[_Union[Forecast, _Mapping]] = ..., signal_count: _Optional[int] = ..., version: _Optional[int] = ...) -> None: ...

class GetForecastRequest(_message.Message):
    __slots__ = ("case_id", "as_of", "draws", "seed", "levels", "include_attribution", "include_draws")
    CASE_ID_FIELD_NUMBER: _ClassVar[int]
    AS_OF_FIELD_NUMBER: _ClassVar[int]
    DRAWS_FIELD_NUMBER: _ClassVar[int]
    SEED_FIELD_NUMBER: _ClassVar[int]
    LEVELS_FIELD_NUMBER: _ClassVar[int]
    INCLUDE_ATTRIBUTION_FIELD_NUMBER: _ClassVar[int]
    INCLUDE_DRAWS_FIELD_NUMBER: _ClassVar[int]
    case_id: str
    as_of: _date_pb2.Date
    draws: int
    seed: int
    levels: _containers.RepeatedScalarFieldContainer[float]
    include_attribution: bool
    include_draws: bool
    def __init__(self, case_id: _Optional[str] = ..., as_of: _Optional[_Union[_date_pb2.Date, _Mapping]] = ..., draws: _Optional[int] = ..., seed: _Optional[int] = ..., levels: _Optional[_Iterable[float]] = ..., include_attribution: _Optional[bool] = ..., include_draws: _Optional[bool] = ...) -> None: ...

class GetForecastResponse(_message.Message):
    __slots__ = ("forecast", "version")
    FORECAST_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    forecast: Forecast
    version: int
    def __init__(self, forecast: _Optional[_Union[Forecast, _Mapping]] = ..., version: _Optional[int] = ...) -> None: ...

class GetTrajectoryRequest(_message.Message):
    __slots__ = ("case_id", "start_date", "end_date", "resolution")
    CASE_ID_FIELD_NUMBER: _ClassVar[int]
    START_DATE_FIELD_NUMBER: _ClassVar[int]
    END_DATE_FIELD_NUMBER: _ClassVar[int]
    RESOLUTION_FIELD_NUMBER: _ClassVar[int]
    case_id: str
    start_date: _date_pb2.Date
    end_date: _date_pb2.Date
    resolution: Resolution
    def __init__(self, case_id: _Optional[str] = ..., start_date: _Optional[_Union[_date_pb2.Date, _Mapping]] = ..., end_date: _Optional[_Union[_date_pb2.Date, _Mapping]] = ..., resolution: _Optional[_Union[Resolution, str]] = ...) -> None: ...

class TrajectoryPoint(_message.Message):
    __slots__ = ("date", "probabilities", "regimes", "signals_used", "signal_types")
    class ProbabilitiesEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: float
        def __init__(self, key: _Optional[str] = ..., value: _Optional[float] = ...) -> None: ...
    class RegimesEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: float
        def __init__(self, key: _Optional[str] = ..., value: _Optional[float] = ...) -> None: ...
    DATE_FIELD_NUMBER: _ClassVar[int]
    PROBABILITIES_FIELD_NUMBER: _ClassVar[int]
    REGIMES_FIELD_NUMBER: _ClassVar[int]
    SIGNALS_USED_FIELD_NUMBER: _ClassVar[int]
    SIGNAL_TYPES_FIELD_NUMBER: _ClassVar[int]
    date: _date_pb2.Date
    probabilities: _containers.ScalarMap[str, float]
    regimes: _containers.ScalarMap[str, float]
    signals_used: int
    signal_types: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, date: _Optional[_Union[_date_pb2.Date, _Mapping]] = ..., probabilities: _Optional[_Mapping[str, float]] = ..., regimes: _Optional[_Mapping[str, float]] = ..., signals_used: _Optional[int] = ..., signal_types: _Optional[_Iterable[str]] = ...) -> None: ...

class GetTrajectoryResponse(_message.Message):
    __slots__ = ("case_id", "term_end", "outcome_order", "regime_order", "points")
    CASE_ID_FIELD_NUMBER: _ClassVar[int]
    TERM_END_FIELD_NUMBER: _ClassVar[int]
    OUTCOME_ORDER_FIELD_NUMBER: _ClassVar[int]
    REGIME_ORDER_FIELD_NUMBER: _ClassVar[int]
    POINTS_FIELD_NUMBER: _ClassVar[int]
    case_id: str
    term_end: _date_pb2.Date
    outcome_order: _containers.RepeatedScalarFieldContainer[str]
    regime_order: _containers.RepeatedScalarFieldContainer[str]
    points: _containers.RepeatedCompositeFieldContainer[TrajectoryPoint]
    def __init__(self, case_id: _Optional[str] = ..., term_end: _Optional[_Union[_date_pb2.Date, _Mapping]] = ..., outcome_order: _Optional[_Iterable[str]] = ..., regime_order: _Optional[_Iterable[str]] = ..., points: _Optional[_Iterable[_Union[TrajectoryPoint, _Mapping]]] = ...) -> None: ...

class WhatIfRequest(_message.Message):
    __slots__ = ("case_id", "as_of", "signals", "term_end")
    CASE_ID_FIELD_NUMBER: _ClassVar[int]
    AS_OF_FIELD_NUMBER: _ClassVar[int]
    SIGNALS_FIELD_NUMBER: _ClassVar[int]
    TERM_END_FIELD_NUMBER: _ClassVar[int]
    case_id: str
    as_of: _date_pb2.Date
    signals: _containers.RepeatedCompositeFieldContainer[Signal]
    term_end: _date_pb2.Date
    def __init__(self, case_id: _Optional[str] = ..., as_of: _Optional[_Union[_date_pb2.Date, _Mapping]] = ..., signals: _Optional[_Iterable[_Union[Signal, _Mapping]]] = ..., term_end: _Optional[_Union[_date_pb2.Date, _Mapping]] = ...) -> None: ...

class WhatIfResponse(_message.Message):
    __slots__ = ("baseline", "scenario", "delta")
    class DeltaEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: float
        def __init__(self, key: _Optional[str] = ..., value: _Optional[float] = ...) -> None: ...
    BASELINE_FIELD_NUMBER: _ClassVar[int]
    SCENARIO_FIELD_NUMBER: _ClassVar[int]
    DELTA_FIELD_NUMBER: _ClassVar[int]
    baseline: Forecast
    scenario: Forecast
    delta: _containers.ScalarMap[str, float]
    def __init__(self, baseline: _Optional[_Union[Forecast, _Mapping]] = ..., scenario: _Optional[_Union[Forecast, _Mapping]] = ..., delta: _Optional[_Mapping[str, float]] = ...) -> None: ...

class GetValueOfInformationRequest(_message.Message):
    __slots__ = ("case_id", "as_of")
    CASE_ID_FIELD_NUMBER: _ClassVar[int]
    AS_OF_FIELD_NUMBER: _ClassVar[int]
    case_id: str
    as_of: _date_pb2.Date
    def __init__(self, case_id: _Optional[str] = ..., as_of: _Optional[_Union[_date_pb2.Date, _Mapping]] = ...) -> None: ...

class SignalValue(_message.Message):
    __slots__ = ("signal_type", "probability", "share", "forecast_if_observed", "delta", "expected_abs_change", "score")
    class ForecastIfObservedEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: float
        def __init__(self, key: _Optional[str] = ..., value: _Optional[float] = ...) -> None: ...
    class DeltaEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: float
        def __init__(self, key: _Optional[str] = ..., value: _Optional[float] = ...) -> None: ...
    class ExpectedAbsChangeEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: float
        def __init__(self, key: _Optional[str] = ..., value: _Optional[float] = ...) -> None: ...
    SIGNAL_TYPE_FIELD_NUMBER: _ClassVar[int]
    PROBABILITY_FIELD_NUMBER: _ClassVar[int]
    SHARE_FIELD_NUMBER: _ClassVar[int]
    FORECAST_IF_OBSERVED_FIELD_NUMBER: _ClassVar[int]
    DELTA_FIELD_NUMBER: _ClassVar[int]
    EXPECTED_ABS_CHANGE_FIELD_NUMBER: _ClassVar[int]
    SCORE_FIELD_NUMBER: _ClassVar[int]
    signal_type: str
    probability: float
    share: float
    forecast_if_observed: _containers.ScalarMap[str, float]
    delta: _containers.ScalarMap[str, float]
    expected_abs_change: _containers.ScalarMap[str, float]
    score: float
    def __init__(self, signal_type: _Optional[str] = ..., probability: _Optional[float] = ..., share: _Optional[float] = ..., forecast_if_observed: _Optional[_Mapping[str, float]] = ..., delta: _Optional[_Mapping[str, float]] = ..., expected_abs_change: _Optional[_Mapping[str, float]] = ..., score: _Optional[float] = ...) -> None: ...

class GetValueOfInformationResponse(_message.Message):
    __slots__ = ("case_id", "as_of", "outcome_order", "current", "values")
    class CurrentEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: float
        def __init__(self, key: _Optional[str] = ..., value: _Optional[float] = ...) -> None: ...
    CASE_ID_FIELD_NUMBER: _ClassVar[int]
    AS_OF_FIELD_NUMBER: _ClassVar[int]
    OUTCOME_ORDER_FIELD_NUMBER: _ClassVar[int]
    CURRENT_FIELD_NUMBER: _ClassVar[int]
    VALUES_FIELD_NUMBER: _ClassVar[int]
    case_id: str
    as_of: _date_pb2.Date
    outcome_order: _containers.RepeatedScalarFieldContainer[str]
    current: _containers.ScalarMap[str, float]
    values: _containers.RepeatedCompositeFieldContainer[SignalValue]
    def __init__(self, case_id: _Optional[str] = ..., as_of: _Optional[_Union[_date_pb2.Date, _Mapping]] = ..., outcome_order: _Optional[_Iterable[str]] = ..., current: _Optional[_Mapping[str, float]] = ..., values: _Optional[_Iterable[_Union[SignalValue, _Mapping]]] = ...) -> None: ...

class WatchForecastRequest(_message.Message):
    __slots__ = ("case_id", "as_of")
    CASE_ID_FIELD_NUMBER: _ClassVar[int]
    AS_OF_FIELD_NUMBER: _ClassVar[int]
    case_id: str
    as_of: _date_pb2.Date
    def __init__(self, case_id: _Optional[str] = ..., as_of: _Optional[_Union[_date_pb2.Date, _Mapping]] = ...) -> None: ...

class WatchForecastResponse(_message.Message):
    __slots__ = ("forecast", "signal_count", "version")
    FORECAST_FIELD_NUMBER: _ClassVar[int]
    SIGNAL_COUNT_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    forecast: Forecast
    signal_count: int
    version: int
    def __init__(self, forecast: _Optional[_Union[Forecast, _Mapping]] = ..., signal_count: _Optional[int] = ..., version: _Optional[int] = ...) -> None: ...

class GetModelRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class GetModelResponse(_message.Message):
    __slots__ = ("name", "description", "toml", "regimes", "outcomes", "signal_types", "roles", "format_version", "model_id")
    class RolesEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: SignalRole
        def __init__(self, key: _Optional[str] = ..., value: _Optional[_Union[SignalRole, str]] = ...) -> None: ...
    NAME_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    TOML_FIELD_NUMBER: _ClassVar[int]
    REGIMES_FIELD_NUMBER: _ClassVar[int]
    OUTCOMES_FIELD_NUMBER: _ClassVar[int]
    SIGNAL_TYPES_FIELD_NUMBER: _ClassVar[int]
    ROLES_FIELD_NUMBER: _ClassVar[int]
    FORMAT_VERSION_FIELD_NUMBER: _ClassVar[int]
    MODEL_ID_FIELD_NUMBER: _ClassVar[int]
    name: str
    description: str
    toml: str
    regimes: _containers.RepeatedScalarFieldContainer[str]
    outcomes: _containers.RepeatedScalarFieldContainer[str]
    signal_types: _containers.RepeatedScalarFieldContainer[str]
    roles: _containers.ScalarMap[str, SignalRole]
    format_version: int
    model_id: ModelId
    def __init__(self, name: _Optional[str] = ..., description: _Optional[str] = ..., toml: _Optional[str] = ..., regimes: _Optional[_Iterable[str]] = ..., outcomes: _Optional[_Iterable[str]] = ..., signal_types: _Optional[_Iterable[str]] = ..., roles: _Optional[_Mapping[str, SignalRole]] = ..., format_version: _Optional[int] = ..., model_id: _Optional[_Union[ModelId, _Mapping]] = ...) -> None: ...

class ListSignalTypesRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class SignalType(_message.Message):
    __slots__ = ("name", "description", "likelihood", "role", "repudiates", "reveals")
    class LikelihoodEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: float
        def __init__(self, key: _Optional[str] = ..., value: _Optional[float] = ...) -> None: ...
    NAME_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    LIKELIHOOD_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    REPUDIATES_FIELD_NUMBER: _ClassVar[int]
    REVEALS_FIELD_NUMBER: _ClassVar[int]
    name: str
    description: str
    likelihood: _containers.ScalarMap[str, float]
    role: SignalRole
    repudiates: bool
    reveals: Fate
    def __init__(self, name: _Optional[str] = ..., description: _Optional[str] = ..., likelihood: _Optional[_Mapping[str, float]] = ..., role: _Optional[_Union[SignalRole, str]] = ..., repudiates: _Optional[bool] = ..., reveals: _Optional[_Union[Fate, str]] = ...) -> None: ...

class ListSignalTypesResponse(_message.Message):
    __slots__ = ("types",)
    TYPES_FIELD_NUMBER: _ClassVar[int]
    types: _containers.RepeatedCompositeFieldContainer[SignalType]
    def __init__(self, types: _Optional[_Iterable[_Union[SignalType, _Mapping]]] = ...) -> None: ...

class ImportEventsRequest(_message.Message):
    __slots__ = ("case_id", "text", "format", "sender", "target", "mapping", "strict", "as_of")
    CASE_ID_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    FORMAT_FIELD_NUMBER: _ClassVar[int]
    SENDER_FIELD_NUMBER: _ClassVar[int]
    TARGET_FIELD_NUMBER: _ClassVar[int]
    MAPPING_FIELD_NUMBER: _ClassVar[int]
    STRICT_FIELD_NUMBER: _ClassVar[int]
    AS_OF_FIELD_NUMBER: _ClassVar[int]
    case_id: str
    text: str
    format: EventFormat
    sender: str
    target: str
    mapping: str
    strict: bool
    as_of: _date_pb2.Date
    def __init__(self, case_id: _Optional[str] = ..., text: _Optional[str] = ..., format: _Optional[_Union[EventFormat, str]] = ..., sender: _Optional[str] = ..., target: _Optional[str] = ..., mapping: _Optional[str] = ..., strict: _Optional[bool] = ..., as_of: _Optional[_Union[_date_pb2.Date, _Mapping]] = ...) -> None: ...

class BadRow(_message.Message):
    __slots__ = ("line", "reason")
    LINE_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    line: int
    reason: str
    def __init__(self, line: _Optional[int] = ..., reason: _Optional[str] = ...) -> None: ...

class ImportEventsResponse(_message.Message):
    __slots__ = ("rows_read", "rows_matched", "bad_rows", "added", "unchanged", "forecast", "version")
    ROWS_READ_FIELD_NUMBER: _ClassVar[int]
    ROWS_MATCHED_FIELD_NUMBER: _ClassVar[int]
    BAD_ROWS_FIELD_NUMBER: _ClassVar[int]
    ADDED_FIELD_NUMBER: _ClassVar[int]
    UNCHANGED_FIELD_NUMBER: _ClassVar[int]
    FORECAST_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    rows_read: int
    rows_matched: int
    bad_rows: _containers.RepeatedCompositeFieldContainer[BadRow]
    added: int
    unchanged: int
    forecast: Forecast
    version: int
    def __init__(self, rows_read: _Optional[int] = ..., rows_matched: _Optional[int] = ..., bad_rows: _Optional[_Iterable[_Union[BadRow, _Mapping]]] = ..., added: _Optional[int] = ..., unchanged: _Optional[int] = ..., forecast: _Optional[_Union[Forecast, _Mapping]] = ..., version: _Optional[int] = ...) -> None: ...

class Scenario(_message.Message):
    __slots__ = ("name", "signals", "monthly", "policy_continues", "fate", "term_end", "reelection_eligible")
    NAME_FIELD_NUMBER: _ClassVar[int]
    SIGNALS_FIELD_NUMBER: _ClassVar[int]
    MONTHLY_FIELD_NUMBER: _ClassVar[int]
    POLICY_CONTINUES_FIELD_NUMBER: _ClassVar[int]
    FATE_FIELD_NUMBER: _ClassVar[int]
    TERM_END_FIELD_NUMBER: _ClassVar[int]
    REELECTION_ELIGIBLE_FIELD_NUMBER: _ClassVar[int]
    name: str
    signals: _containers.RepeatedCompositeFieldContainer[Signal]
    monthly: _containers.RepeatedScalarFieldContainer[str]
    policy_continues: bool
    fate: Fate
    term_end: _date_pb2.Date
    reelection_eligible: bool
    def __init__(self, name: _Optional[str] = ..., signals: _Optional[_Iterable[_Union[Signal, _Mapping]]] = ..., monthly: _Optional[_Iterable[str]] = ..., policy_continues: _Optional[bool] = ..., fate: _Optional[_Union[Fate, str]] = ..., term_end: _Optional[_Union[_date_pb2.Date, _Mapping]] = ..., reelection_eligible: _Optional[bool] = ...) -> None: ...

class RunScenarioRequest(_message.Message):
    __slots__ = ("case_id", "as_of", "scenario")
    CASE_ID_FIELD_NUMBER: _ClassVar[int]
    AS_OF_FIELD_NUMBER: _ClassVar[int]
    SCENARIO_FIELD_NUMBER: _ClassVar[int]
    case_id: str
    as_of: _date_pb2.Date
    scenario: Scenario
    def __init__(self, case_id: _Optional[str] = ..., as_of: _Optional[_Union[_date_pb2.Date, _Mapping]] = ..., scenario: _Optional[_Union[Scenario, _Mapping]] = ...) -> None: ...

class RunScenarioResponse(_message.Message):
    __slots__ = ("baseline", "scenario", "delta", "baseline_leader_stays", "leader_stays")
    class DeltaEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: float
        def __init__(self, key: _Optional[str] = ..., value: _Optional[float] = ...) -> None: ...
    BASELINE_FIELD_NUMBER: _ClassVar[int]
    SCENARIO_FIELD_NUMBER: _ClassVar[int]
    DELTA_FIELD_NUMBER: _ClassVar[int]
    BASELINE_LEADER_STAYS_FIELD_NUMBER: _ClassVar[int]
    LEADER_STAYS_FIELD_NUMBER: _ClassVar[int]
    baseline: Forecast
    scenario: Forecast
    delta: _containers.ScalarMap[str, float]
    baseline_leader_stays: float
    leader_stays: float
    def __init__(self, baseline: _Optional[_Union[Forecast, _Mapping]] = ..., scenario: _Optional[_Union[Forecast, _Mapping]] = ..., delta: _Optional[_Mapping[str, float]] = ..., baseline_leader_stays: _Optional[float] = ..., leader_stays: _Optional[float] = ...) -> None: ...

class ComparePoliciesRequest(_message.Message):
    __slots__ = ("case_id", "as_of", "a", "b")
    CASE_ID_FIELD_NUMBER: _ClassVar[int]
    AS_OF_FIELD_NUMBER: _ClassVar[int]
    A_FIELD_NUMBER: _ClassVar[int]
    B_FIELD_NUMBER: _ClassVar[int]
    case_id: str
    as_of: _date_pb2.Date
    a: Scenario
    b: Scenario
    def __init__(self, case_id: _Optional[str] = ..., as_of: _Optional[_Union[_date_pb2.Date, _Mapping]] = ..., a: _Optional[_Union[Scenario, _Mapping]] = ..., b: _Optional[_Union[Scenario, _Mapping]] = ...) -> None: ...

class ComparePoliciesResponse(_message.Message):
    __slots__ = ("a", "b", "difference")
    class DifferenceEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: float
        def __init__(self, key: _Optional[str] = ..., value: _Optional[float] = ...) -> None: ...
    A_FIELD_NUMBER: _ClassVar[int]
    B_FIELD_NUMBER: _ClassVar[int]
    DIFFERENCE_FIELD_NUMBER: _ClassVar[int]
    a: Forecast
    b: Forecast
    difference: _containers.ScalarMap[str, float]
    def __init__(self, a: _Optional[_Union[Forecast, _Mapping]] = ..., b: _Optional[_Union[Forecast, _Mapping]] = ..., difference: _Optional[_Mapping[str, float]] = ...) -> None: ...
