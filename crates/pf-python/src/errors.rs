//! The exception tree and the one mapping from [`pf_core::Error`] to it.
//!
//! Every exception derives from `PressureForecastError`; each kind is also the builtin exception that Python
//! users catch for it (`ValueError` for bad input, `KeyError` for unknown names, `OSError` for files). Instances
//! carry the error's data as attributes: `field`, `expected`, `found`, `line` (None where they do not apply), and
//! per kind `id`, `name`, `valid`, `path`.

use pyo3::create_exception;
use pyo3::exceptions::{PyBaseException, PyException, PyKeyError, PyOSError, PyValueError};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyDict, PyTuple, PyType};

const MODULE: &str = "pressure_forecast._native";

create_exception!(
    pressure_forecast._native,
    PressureForecastError,
    PyException,
    "Base class of every error raised by pressure_forecast."
);

/// The kinds of failure, each with its own exception class.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A model file or parameter violates a constraint.
    Model,
    /// A signal record is malformed or out of range.
    Signal,
    /// A signal type the model does not know.
    UnknownSignalType,
    /// A signal id repeated with different content.
    DuplicateSignal,
    /// A case or episode header is malformed.
    Case,
    /// An outcome name the model does not know.
    UnknownOutcome,
    /// An argument of a computation is out of range.
    Argument,
    /// A file cannot be parsed.
    Parse,
    /// A file cannot be read or written.
    Io,
    /// Long work was cancelled.
    Cancelled,
}

/// Each kind with its class name and docstring (the bases are chosen in `build_types`).
const KINDS: [(Kind, &str, &str); 10] = [
    (
        Kind::Model,
        "ModelError",
        "A model file or model parameter is malformed or violates a constraint.",
    ),
    (
        Kind::Signal,
        "SignalError",
        "A signal record is malformed or out of range.",
    ),
    (
        Kind::UnknownSignalType,
        "UnknownSignalTypeError",
        "A signal type that the model does not know (`valid` lists the known ones).",
    ),
    (
        Kind::DuplicateSignal,
        "DuplicateSignalError",
        "A signal id already in the case, with different content.",
    ),
    (Kind::Case, "CaseError", "A case or episode header is malformed."),
    (
        Kind::UnknownOutcome,
        "UnknownOutcomeError",
        "An outcome name that the model does not know (`valid` lists the known ones).",
    ),
    (
        Kind::Argument,
        "ArgumentError",
        "An argument of a computation is out of range or of the wrong form.",
    ),
    (
        Kind::Parse,
        "ParseError",
        "A file or text could not be parsed (bad TOML, JSON or CSV).",
    ),
    (
        Kind::Io,
        "FileAccessError",
        "A file could not be read or written (an OSError).",
    ),
    (
        Kind::Cancelled,
        "CancelledError",
        "Long work was cancelled before it finished.",
    ),
];

static TYPES: PyOnceLock<Vec<Py<PyType>>> = PyOnceLock::new();

fn build_types(py: Python<'_>) -> PyResult<Vec<Py<PyType>>> {
    let base = py.get_type::<PressureForecastError>();
    let type_ = py.import("builtins")?.getattr("type")?;
    let plain_str = py.get_type::<PyBaseException>().getattr("__str__")?;
    let mut out: Vec<Py<PyType>> = Vec::with_capacity(KINDS.len());
    for (kind, name, doc) in KINDS {
        let value_error = py.get_type::<PyValueError>();
        let key_error = py.get_type::<PyKeyError>();
        let bases: Vec<Bound<'_, PyType>> = match kind {
            Kind::Model
            | Kind::Signal
            | Kind::DuplicateSignal
            | Kind::Case
            | Kind::Argument
            | Kind::Parse => {
                vec![base.clone(), value_error]
            }
            // A subclass of SignalError (built before it) that is also a KeyError.
            Kind::UnknownSignalType => vec![out[1].bind(py).clone(), key_error],
            Kind::UnknownOutcome => vec![base.clone(), key_error],
            Kind::Io => vec![base.clone(), py.get_type::<PyOSError>()],
            Kind::Cancelled => vec![base.clone()],
        };
        let dict = PyDict::new(py);
        dict.set_item("__module__", MODULE)?;
        dict.set_item("__doc__", doc)?;
        if matches!(kind, Kind::UnknownSignalType | Kind::UnknownOutcome) {
            // KeyError's str() shows repr(message); these carry a sentence, shown as is.
            dict.set_item("__str__", &plain_str)?;
        }
        let ty = type_
            .call1((name, PyTuple::new(py, bases)?, dict))?
            .cast_into::<PyType>()?;
        out.push(ty.unbind());
    }
    Ok(out)
}

/// The exception class of a kind.
pub fn exception_type(py: Python<'_>, kind: Kind) -> PyResult<Bound<'_, PyType>> {
    let types = TYPES.get_or_try_init(py, || build_types(py))?;
    let i = KINDS
        .iter()
        .position(|(k, _, _)| *k == kind)
        .expect("every kind is listed");
    Ok(types[i].bind(py).clone())
}

/// Register the exception classes on the module.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add("PressureForecastError", py.get_type::<PressureForecastError>())?;
    for (kind, name, _) in KINDS {
        m.add(name, exception_type(py, kind)?)?;
    }
    Ok(())
}

/// The data an exception carries besides its message.
#[derive(Debug, Default)]
pub struct Details {
    /// The offending field.
    pub field: Option<String>,
    /// The form it must take.
    pub expected: Option<String>,
    /// What was found instead.
    pub found: Option<String>,
    /// Line in a file (1-based).
    pub line: Option<usize>,
    /// Extra attributes (`id`, `name`, `valid`, `path`).
    pub extra: Vec<(&'static str, Py<PyAny>)>,
}

/// Build an exception of `kind` with `message` and its data attributes.
pub fn make_error(py: Python<'_>, kind: Kind, message: String, d: Details) -> PyErr {
    let build = || -> PyResult<PyErr> {
        let ty = exception_type(py, kind)?;
        let inst = ty.call1((message.clone(),))?;
        inst.setattr("field", d.field)?;
        inst.setattr("expected", d.expected)?;
        inst.setattr("found", d.found)?;
        inst.setattr("line", d.line)?;
        for (k, v) in d.extra {
            inst.setattr(k, v)?;
        }
        Ok(PyErr::from_value(inst))
    };
    build().unwrap_or_else(|e| e)
}

/// An argument error naming the field and the expected form.
pub fn argument_error(py: Python<'_>, field: &str, expected: &str, found: String) -> PyErr {
    let message = format!("invalid argument `{field}`: expected {expected}, found {found}");
    make_error(
        py,
        Kind::Argument,
        message,
        Details {
            field: Some(field.into()),
            expected: Some(expected.into()),
            found: Some(found),
            ..Details::default()
        },
    )
}

/// A signal error naming the field and the expected form.
pub fn signal_error(py: Python<'_>, field: &str, expected: &str, found: String) -> PyErr {
    let message = format!("invalid signal: field `{field}`: expected {expected}, found {found}");
    make_error(
        py,
        Kind::Signal,
        message,
        Details {
            field: Some(field.into()),
            expected: Some(expected.into()),
            found: Some(found),
            ..Details::default()
        },
    )
}

/// The one mapping from engine errors to Python exceptions.
pub fn to_py(py: Python<'_>, err: pf_core::Error) -> PyErr {
    use pf_core::Error as E;
    let message = err.to_string();
    let field = err.field().map(str::to_owned);
    let obj = |v: &dyn Fn(Python<'_>) -> PyResult<Py<PyAny>>| v(py).unwrap_or_else(|_| py.None());
    match err {
        E::InvalidModel { expected, found, .. } => make_error(
            py,
            Kind::Model,
            message,
            Details {
                field,
                expected: Some(expected),
                found: Some(found),
                ..Details::default()
            },
        ),
        E::InvalidSignal {
            expected,
            found,
            line,
            id,
            ..
        } => make_error(
            py,
            Kind::Signal,
            message,
            Details {
                field,
                expected: Some(expected),
                found: Some(found),
                line,
                extra: vec![("id", obj(&|py| Ok(id.clone().into_pyobject(py)?.unbind())))],
            },
        ),
        E::UnknownSignalType { name, valid, line } => make_error(
            py,
            Kind::UnknownSignalType,
            message,
            Details {
                field,
                expected: Some(format!("one of {}", valid.join(", "))),
                found: Some(name.clone()),
                line,
                extra: vec![
                    (
                        "name",
                        obj(&|py| Ok(name.clone().into_pyobject(py)?.into_any().unbind())),
                    ),
                    ("valid", obj(&|py| Ok(valid.clone().into_pyobject(py)?.unbind()))),
                ],
            },
        ),
        E::DuplicateSignal { id, stored, found } => make_error(
            py,
            Kind::DuplicateSignal,
            message,
            Details {
                field,
                expected: Some(format!("the same record as the stored one ({stored})")),
                found: Some(found),
                line: None,
                extra: vec![(
                    "id",
                    obj(&|py| Ok(id.clone().into_pyobject(py)?.into_any().unbind())),
                )],
            },
        ),
        E::InvalidCase { expected, found, .. } => make_error(
            py,
            Kind::Case,
            message,
            Details {
                field,
                expected: Some(expected),
                found: Some(found),
                ..Details::default()
            },
        ),
        E::UnknownOutcome { name, valid } => make_error(
            py,
            Kind::UnknownOutcome,
            message,
            Details {
                field,
                expected: Some(format!("one of {}", valid.join(", "))),
                found: Some(name.clone()),
                line: None,
                extra: vec![
                    (
                        "name",
                        obj(&|py| Ok(name.clone().into_pyobject(py)?.into_any().unbind())),
                    ),
                    ("valid", obj(&|py| Ok(valid.clone().into_pyobject(py)?.unbind()))),
                ],
            },
        ),
        E::InvalidArgument { expected, found, .. } => make_error(
            py,
            Kind::Argument,
            message,
            Details {
                field,
                expected: Some(expected),
                found: Some(found),
                ..Details::default()
            },
        ),
        E::Parse {
            what,
            line,
            message: parser,
        } => make_error(
            py,
            Kind::Parse,
            message,
            Details {
                field: None,
                expected: Some(format!("valid {what}")),
                found: Some(parser),
                line,
                extra: vec![],
            },
        ),
        E::Io { path, source } => {
            // OSError(errno, strerror) sets `errno` and `strerror`; the file is the `path` attribute (setting
            // `filename` would repeat it in the message).
            let build = || -> PyResult<PyErr> {
                let ty = exception_type(py, Kind::Io)?;
                let inst = match source.raw_os_error() {
                    Some(errno) => ty.call1((errno, message.clone()))?,
                    None => ty.call1((message.clone(),))?,
                };
                inst.setattr("path", path.display().to_string())?;
                inst.setattr("field", py.None())?;
                inst.setattr("expected", py.None())?;
                inst.setattr("found", py.None())?;
                inst.setattr("line", py.None())?;
                Ok(PyErr::from_value(inst))
            };
            build().unwrap_or_else(|e| e)
        }
        E::Interrupted => make_error(py, Kind::Cancelled, message, Details::default()),
        // No catch-all arm: a variant added to pf_core::Error stops this build until it is mapped here.
    }
}

/// `Result<T, pf_core::Error>` to `PyResult<T>`.
pub trait IntoPyResult<T> {
    /// Map the engine's error to its Python exception.
    fn py_err(self, py: Python<'_>) -> PyResult<T>;
}

impl<T> IntoPyResult<T> for pf_core::Result<T> {
    fn py_err(self, py: Python<'_>) -> PyResult<T> {
        self.map_err(|e| to_py(py, e))
    }
}
