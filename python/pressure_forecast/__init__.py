"""pressure_forecast: Bayesian forecasts of how coercive-diplomacy campaigns end.

A sender (say the United States) presses a target (North Korea, Iran) until the sender's leader leaves office.
From dated political signals the engine gives, at any date, the probability that the campaign ends in a
``deal``, a ``stalemate``, or with the target waiting the term out (``wait_out``)::

    import pressure_forecast as pf

    case = pf.Case.load("data/cases/north_korea.json")
    f = case.forecast(as_of="2018-10-31", draws=1000)
    f.to_pandas()
    case.trajectory().plot(case=case)

The classes and functions are those of the native module :mod:`pressure_forecast._native` (built from the Rust
engine with PyO3); pandas frames and matplotlib plots come from :mod:`pressure_forecast.plot` and the private
``_frames`` helpers. matplotlib is optional: ``pip install "pressure_forecast[plot]"``.
"""

from pressure_forecast import datasets
from pressure_forecast._follow import follow
from pressure_forecast._many import Forecasts, compare, forecast_many
from pressure_forecast._native import (
    OUTCOMES_V1,
    PROTO_FORECAST_SERVICE,
    SIGNAL_TYPES_V1,
    AppendReport,
    ArgumentError,
    BacktestReport,
    BacktestReportV2,
    CancelledError,
    Case,
    CaseError,
    DuplicateSignalError,
    Episode,
    Explanation,
    FileAccessError,
    FitReport,
    FitReportV2,
    Follower,
    Forecast,
    IngestReport,
    Model,
    ModelError,
    ParseError,
    PolicyComparison,
    PressureForecastError,
    Scenario,
    Signal,
    SignalError,
    Trajectory,
    UnknownOutcomeError,
    UnknownSignalTypeError,
    ValueOfInformation,
    WhatIf,
    __version__,
    backtest,
    fit,
    ingest_events,
    load_episodes,
)
from pressure_forecast._sweep import ScenarioSweep, scenario_sweep

__all__ = [
    "OUTCOMES_V1",
    "PROTO_FORECAST_SERVICE",
    "SIGNAL_TYPES_V1",
    "AppendReport",
    "ArgumentError",
    "BacktestReport",
    "BacktestReportV2",
    "CancelledError",
    "Case",
    "CaseError",
    "Client",
    "DuplicateSignalError",
    "Episode",
    "Explanation",
    "FileAccessError",
    "FitReport",
    "FitReportV2",
    "Follower",
    "Forecast",
    "Forecasts",
    "IngestReport",
    "Model",
    "ModelError",
    "ParseError",
    "PolicyComparison",
    "PressureForecastError",
    "Scenario",
    "ScenarioSweep",
    "ServiceError",
    "Signal",
    "SignalError",
    "Trajectory",
    "UnknownOutcomeError",
    "UnknownSignalTypeError",
    "ValueOfInformation",
    "WhatIf",
    "__version__",
    "backtest",
    "compare",
    "datasets",
    "fit",
    "follow",
    "forecast_many",
    "ingest_events",
    "load_episodes",
    "scenario_sweep",
]


def __getattr__(name: str) -> object:
    # The gRPC client needs grpcio (`pip install "pressure_forecast[client]"`); import it only when asked for.
    if name in ("Client", "ServiceError"):
        from . import client

        return getattr(client, name)
    raise AttributeError(f"module 'pressure_forecast' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | {"Client", "ServiceError"})
