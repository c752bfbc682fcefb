//! Pickling, one pattern for every class: `__reduce__` returns `(_unpickle, (bytes,))`, where the bytes are a
//! MessagePack map with named fields (self-describing, so a field added later with a serde default still reads
//! an older pickle) wrapped in an envelope with the class and a format version:
//!
//! ```text
//! {"format": "pressure_forecast", "version": 1, "kind": "Forecast", "state": {...the class's serde state...}}
//! ```
//!
//! A class opts in by implementing [`Pickle`] and adding `fn __reduce__(slf) { pickle::reduce(slf) }`; the one
//! module-level `_unpickle` dispatches on `kind`. A pickle written by a newer release (a larger `version`)
//! raises a `ParseError` that says so, instead of misreading it. When a state's shape changes incompatibly,
//! bump [`VERSION`] and convert the older versions in [`unpickle`].

use pyo3::PyClass;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyTuple};
use pyo3_stub_gen::derive::*;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::errors::{Details, Kind, make_error};

/// The newest state format this release writes and reads.
pub const VERSION: u32 = 1;
/// The envelope's `format` tag, so that other bytes are rejected by name.
const FORMAT: &str = "pressure_forecast";

/// A class that pickles through a serde state.
pub trait Pickle: PyClass + Into<PyClassInitializer<Self>> + Sized {
    /// The class name written into the envelope (the Python class name).
    const KIND: &'static str;
    /// The state: a serde type of the engine or a small adapter struct.
    type State: Serialize + DeserializeOwned;
    /// The state of this object.
    fn state(&self) -> Self::State;
    /// Rebuild an object from its state.
    fn from_state(py: Python<'_>, state: Self::State) -> PyResult<Self>;
}

#[derive(Serialize)]
struct EnvelopeOut<'a, S> {
    format: &'static str,
    version: u32,
    kind: &'a str,
    state: S,
}

#[derive(Deserialize)]
struct Header {
    #[serde(default)]
    format: String,
    version: u32,
    kind: String,
}

#[derive(Deserialize)]
struct EnvelopeIn<S> {
    state: S,
}

fn unpickle_error(py: Python<'_>, found: String) -> PyErr {
    make_error(
        py,
        Kind::Parse,
        format!("cannot unpickle: {found}"),
        Details {
            expected: Some(format!(
                "a pickle written by pressure_forecast (state version {VERSION} or older)"
            )),
            found: Some(found),
            ..Details::default()
        },
    )
}

/// The `__reduce__` of a [`Pickle`] class: `(pressure_forecast._native._unpickle, (state bytes,))`.
pub fn reduce<'py, T: Pickle>(slf: &Bound<'py, T>) -> PyResult<(Bound<'py, PyAny>, Bound<'py, PyTuple>)> {
    let py = slf.py();
    let state = slf.borrow().state();
    let envelope = EnvelopeOut {
        format: FORMAT,
        version: VERSION,
        kind: T::KIND,
        state,
    };
    let bytes = rmp_serde::to_vec_named(&envelope).map_err(|e| {
        crate::errors::PressureForecastError::new_err(format!("cannot pickle {}: {e}", T::KIND))
    })?;
    let f = py.import("pressure_forecast._native")?.getattr("_unpickle")?;
    Ok((f, PyTuple::new(py, [PyBytes::new(py, &bytes)])?))
}

fn load<T: Pickle>(py: Python<'_>, data: &[u8]) -> PyResult<Py<PyAny>> {
    let e: EnvelopeIn<T::State> =
        rmp_serde::from_slice(data).map_err(|e| unpickle_error(py, format!("{} state: {e}", T::KIND)))?;
    Ok(Bound::new(py, T::from_state(py, e.state)?)?.into_any().unbind())
}

/// Rebuild an object pickled by any release of pressure_forecast (the target of every `__reduce__`).
#[gen_stub_pyfunction]
#[pyfunction]
pub fn _unpickle(
    py: Python<'_>,
    #[gen_stub(override_type(type_repr = "builtins.bytes", imports = ("builtins")))] data: Vec<u8>,
) -> PyResult<Py<PyAny>> {
    unpickle(py, &data)
}

fn unpickle(py: Python<'_>, data: &[u8]) -> PyResult<Py<PyAny>> {
    use crate::{case, episodes, events, learning, learning_v2, model, results, scenario, signal};
    let h: Header = rmp_serde::from_slice(data)
        .map_err(|e| unpickle_error(py, format!("not a pressure_forecast pickle ({e})")))?;
    if h.format != FORMAT {
        return Err(unpickle_error(py, format!("format {:?}", h.format)));
    }
    if h.version > VERSION {
        return Err(unpickle_error(
            py,
            format!(
                "state version {} (written by a newer pressure_forecast; this release reads up to {VERSION}: upgrade)",
                h.version
            ),
        ));
    }
    // Version 1 is the only one so far; an older version's conversion goes here when VERSION is bumped.
    match h.kind.as_str() {
        model::PyModel::KIND => load::<model::PyModel>(py, data),
        signal::PySignal::KIND => load::<signal::PySignal>(py, data),
        case::PyCase::KIND => load::<case::PyCase>(py, data),
        results::PyForecast::KIND => load::<results::PyForecast>(py, data),
        results::PyTrajectory::KIND => load::<results::PyTrajectory>(py, data),
        results::PyExplanation::KIND => load::<results::PyExplanation>(py, data),
        results::PyWhatIf::KIND => load::<results::PyWhatIf>(py, data),
        results::PyValueOfInformation::KIND => load::<results::PyValueOfInformation>(py, data),
        results::PyAppendReport::KIND => load::<results::PyAppendReport>(py, data),
        episodes::PyEpisode::KIND => load::<episodes::PyEpisode>(py, data),
        learning::PyFitReport::KIND => load::<learning::PyFitReport>(py, data),
        learning::PyBacktestReport::KIND => load::<learning::PyBacktestReport>(py, data),
        events::PyIngestReport::KIND => load::<events::PyIngestReport>(py, data),
        learning_v2::PyFitReportV2::KIND => load::<learning_v2::PyFitReportV2>(py, data),
        learning_v2::PyBacktestReportV2::KIND => load::<learning_v2::PyBacktestReportV2>(py, data),
        scenario::PyScenario::KIND => load::<scenario::PyScenario>(py, data),
        scenario::PyPolicyComparison::KIND => load::<scenario::PyPolicyComparison>(py, data),
        other => Err(unpickle_error(py, format!("unknown class {other:?}"))),
    }
}

/// `impl Pickle` for a newtype `$py { inner: $core }` whose state is the engine's serde type, and
/// `From<$core>` so that other modules (the gRPC client's decoding) build the Python class from the engine's.
macro_rules! pickle_inner {
    ($py:ty, $core:ty, $kind:literal) => {
        impl From<$core> for $py {
            fn from(inner: $core) -> Self {
                Self { inner }
            }
        }

        impl $crate::pickle::Pickle for $py {
            const KIND: &'static str = $kind;
            type State = $core;
            fn state(&self) -> $core {
                self.inner.clone()
            }
            fn from_state(_py: Python<'_>, inner: $core) -> PyResult<Self> {
                Ok(Self { inner })
            }
        }
    };
}
pub(crate) use pickle_inner;
