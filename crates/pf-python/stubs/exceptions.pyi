
# ------------------------------------------------------------------------------------------------ exceptions
# Appended by `stub_gen` from crates/pf-python/stubs/exceptions.pyi: the exception classes are built at import
# time (errors.rs), so no annotation describes them; stubtest checks them against the built module.

class PressureForecastError(Exception):
    """Base class of every error raised by pressure_forecast."""

    field: str | None
    expected: str | None
    found: str | None
    line: int | None

class ModelError(PressureForecastError, ValueError): ...

class SignalError(PressureForecastError, ValueError):
    id: str | None

class UnknownSignalTypeError(SignalError, KeyError):
    name: str
    valid: list[str]

class DuplicateSignalError(PressureForecastError, ValueError):
    id: str

class CaseError(PressureForecastError, ValueError): ...
class ArgumentError(PressureForecastError, ValueError): ...
class ParseError(PressureForecastError, ValueError): ...

class UnknownOutcomeError(PressureForecastError, KeyError):
    name: str
    valid: list[str]

class FileAccessError(PressureForecastError, OSError):
    path: str

class CancelledError(PressureForecastError): ...
