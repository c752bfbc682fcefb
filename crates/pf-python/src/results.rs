//! Result classes: thin, frozen wrappers of the engine's serde types. Each has `to_json()` / `from_json()`
//! (the engine's JSON form), pickling through serde, `__repr__`, `_repr_html_` and `to_pandas()` (the pandas
//! and HTML work is done by the pure-Python module `pressure_forecast._frames`).

use std::collections::HashMap;
use std::fmt;

use chrono::NaiveDate;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyTuple, PyType};
use serde::de::{MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};

use crate::convert::{
    from_py_json, from_state, helper, json_to_py, named, np_array2, py_date, py_dates, state_bytes,
};
use crate::errors::{Details, Kind, make_error};

pub(crate) fn ser_err(e: serde_json::Error) -> PyErr {
    crate::errors::PressureForecastError::new_err(e.to_string())
}

/// A JSON object read with its keys in document order.
#[derive(Debug, Clone, Default)]
pub struct Ordered(pub Vec<(String, f64)>);

impl<'de> Deserialize<'de> for Ordered {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Ordered;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object of names to numbers")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<Ordered, A::Error> {
                let mut out = Vec::new();
                while let Some((k, v)) = m.next_entry::<String, Option<f64>>()? {
                    out.push((k, v.unwrap_or(f64::NAN)));
                }
                Ok(Ordered(out))
            }
        }
        d.deserialize_map(V)
    }
}

impl Ordered {
    fn names(&self) -> Vec<String> {
        self.0.iter().map(|(k, _)| k.clone()).collect()
    }
    /// The values in the order of `names` (missing names are an error).
    fn by(&self, names: &[String], what: &str) -> Result<Vec<f64>, String> {
        let m: HashMap<&str, f64> = self.0.iter().map(|(k, v)| (k.as_str(), *v)).collect();
        names
            .iter()
            .map(|n| {
                m.get(n.as_str())
                    .copied()
                    .ok_or_else(|| format!("{what}: no value for `{n}`"))
            })
            .collect()
    }
}

#[derive(Deserialize)]
struct IntervalJson {
    level: f64,
    lower: Ordered,
    upper: Ordered,
}

#[derive(Deserialize)]
struct IntervalsJson {
    draws: usize,
    seed: u64,
    mean: Ordered,
    sd: Ordered,
    #[serde(default)]
    intervals: Vec<IntervalJson>,
}

/// The engine's `Forecast::to_json()` form: outcome and regime probabilities as objects.
#[derive(Deserialize)]
struct ForecastJson {
    case: String,
    as_of: NaiveDate,
    term_end: NaiveDate,
    probabilities: Ordered,
    #[serde(default)]
    regimes: Ordered,
    #[serde(default)]
    log_likelihood: Option<f64>,
    #[serde(default)]
    signals_used: usize,
    #[serde(default)]
    intervals: Option<IntervalsJson>,
    /// Optional outcome order (a JSON object may have lost it).
    #[serde(default)]
    outcomes: Option<Vec<String>>,
    /// Optional regime order.
    #[serde(default)]
    regime_names: Option<Vec<String>>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum ForecastForm {
    Serde(pf_core::Forecast),
    Json(ForecastJson),
}

/// `names` in the order of `model`'s list when they are the same set (a JSON object does not keep order).
fn in_model_order(names: Vec<String>, model: &[String]) -> Vec<String> {
    let mut a = names.clone();
    let mut b = model.to_vec();
    a.sort();
    b.sort();
    if a == b { model.to_vec() } else { names }
}

impl ForecastJson {
    fn into_core(self, model: &pf_core::Model) -> Result<pf_core::Forecast, String> {
        let outcomes = self
            .outcomes
            .unwrap_or_else(|| in_model_order(self.probabilities.names(), model.outcomes()));
        let regimes = self
            .regime_names
            .unwrap_or_else(|| in_model_order(self.regimes.names(), model.regimes()));
        let intervals = match self.intervals {
            None => None,
            Some(iv) => Some(pf_core::Intervals {
                draws: iv.draws,
                seed: iv.seed,
                mean: iv.mean.by(&outcomes, "intervals.mean")?,
                sd: iv.sd.by(&outcomes, "intervals.sd")?,
                intervals: iv
                    .intervals
                    .into_iter()
                    .map(|i| {
                        Ok(pf_core::Interval {
                            level: i.level,
                            lower: i.lower.by(&outcomes, "intervals.lower")?,
                            upper: i.upper.by(&outcomes, "intervals.upper")?,
                        })
                    })
                    .collect::<Result<_, String>>()?,
            }),
        };
        Ok(pf_core::Forecast {
            case: self.case,
            as_of: self.as_of,
            term_end: self.term_end,
            probabilities: self.probabilities.by(&outcomes, "probabilities")?,
            regime_probabilities: self.regimes.by(&regimes, "regimes")?,
            outcomes,
            regimes,
            log_likelihood: self.log_likelihood.unwrap_or(f64::NAN),
            signals_used: self.signals_used,
            intervals,
            model: None,
        })
    }
}

fn shape_error(py: Python<'_>, what: &str, msg: String) -> PyErr {
    make_error(
        py,
        Kind::Parse,
        format!("cannot parse {what}: {msg}"),
        Details {
            expected: Some(format!("the JSON form of {what}")),
            found: Some(msg),
            ..Details::default()
        },
    )
}

fn forecast_from_json(obj: &Bound<'_, PyAny>, model: &pf_core::Model) -> PyResult<pf_core::Forecast> {
    match from_py_json::<ForecastForm>(obj, "a Forecast")? {
        ForecastForm::Serde(f) => Ok(f),
        ForecastForm::Json(j) => j
            .into_core(model)
            .map_err(|m| shape_error(obj.py(), "a Forecast", m)),
    }
}

/// Outcome probabilities by the term end at an as-of date, with credible intervals when draws were made.
#[pyclass(module = "pressure_forecast._native", name = "Forecast", frozen)]
#[derive(Clone)]
pub struct PyForecast {
    /// The engine's forecast.
    pub inner: pf_core::Forecast,
}

#[pymethods]
impl PyForecast {
    /// The case's id.
    #[getter]
    fn case(&self) -> &str {
        &self.inner.case
    }
    /// Only signals dated on or before this day were used.
    #[getter]
    fn as_of<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        py_date(py, self.inner.as_of)
    }
    /// The term end the forecast is for.
    #[getter]
    fn term_end<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        py_date(py, self.inner.term_end)
    }
    /// Outcome names, in model order.
    #[getter]
    fn outcomes(&self) -> Vec<String> {
        self.inner.outcomes.clone()
    }
    /// `{outcome: probability}`.
    #[getter]
    fn probabilities<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        named(py, &self.inner.outcomes, &self.inner.probabilities)
    }
    /// Regime names, in model order.
    #[getter]
    fn regimes(&self) -> Vec<String> {
        self.inner.regimes.clone()
    }
    /// `{regime: probability}`: the filtered regime distribution on the as-of date.
    #[getter]
    fn regime_probabilities<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        named(py, &self.inner.regimes, &self.inner.regime_probabilities)
    }
    /// Log-likelihood of the signals used.
    #[getter]
    fn log_likelihood(&self) -> f64 {
        self.inner.log_likelihood
    }
    /// Number of signals used.
    #[getter]
    fn signals_used(&self) -> usize {
        self.inner.signals_used
    }
    /// The most probable outcome.
    #[getter]
    fn most_likely(&self) -> String {
        let i = (0..self.inner.probabilities.len())
            .max_by(|&a, &b| self.inner.probabilities[a].total_cmp(&self.inner.probabilities[b]))
            .unwrap_or(0);
        self.inner.outcomes.get(i).cloned().unwrap_or_default()
    }
    /// Credible intervals from parameter draws (the JSON form: `{draws, seed, mean, sd, intervals: [...]}`),
    /// or None when no draws were made.
    #[getter]
    fn intervals<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        match &self.inner.intervals {
            None => Ok(py.None().into_bound(py)),
            Some(iv) => json_to_py(py, &iv.to_json(&self.inner.outcomes)),
        }
    }
    /// `{outcome: (lower, upper)}` of the credible interval at `level`.
    #[pyo3(signature = (level = 0.9))]
    fn interval<'py>(&self, py: Python<'py>, level: f64) -> PyResult<Bound<'py, PyDict>> {
        let Some(iv) = &self.inner.intervals else {
            return Err(crate::errors::argument_error(
                py,
                "level",
                "a forecast made with draws > 0 (this one has no intervals)",
                "no draws".into(),
            ));
        };
        let Some(i) = iv.intervals.iter().find(|i| (i.level - level).abs() < 1e-12) else {
            let have: Vec<String> = iv.intervals.iter().map(|i| i.level.to_string()).collect();
            return Err(crate::errors::argument_error(
                py,
                "level",
                &format!("one of the levels drawn: {}", have.join(", ")),
                level.to_string(),
            ));
        };
        let d = PyDict::new(py);
        for (o, n) in self.inner.outcomes.iter().enumerate() {
            d.set_item(n, (i.lower[o], i.upper[o]))?;
        }
        Ok(d)
    }

    fn __getitem__(&self, py: Python<'_>, outcome: &str) -> PyResult<f64> {
        self.inner.probability(outcome).ok_or_else(|| {
            crate::errors::to_py(
                py,
                pf_core::Error::UnknownOutcome {
                    name: outcome.into(),
                    valid: self.inner.outcomes.clone(),
                },
            )
        })
    }

    fn __len__(&self) -> usize {
        self.inner.outcomes.len()
    }

    fn __iter__<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        PyList::new(py, &self.inner.outcomes)?
            .try_iter()
            .map(Bound::into_any)
    }

    /// The forecast as a dict in the engine's JSON form (the CLI's `--json`).
    fn to_json<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        json_to_py(py, &self.inner.to_json())
    }

    /// Build a forecast from the engine's JSON form (a dict or a JSON string). JSON objects do not keep order:
    /// outcomes and regimes take the order of the optional `outcomes` / `regime_names` lists, else of `model`
    /// (default: the default model) when the names are the same, else of the keys.
    #[classmethod]
    #[pyo3(signature = (obj, model = None))]
    fn from_json(
        _cls: &Bound<'_, PyType>,
        obj: &Bound<'_, PyAny>,
        model: Option<&Bound<'_, crate::model::PyModel>>,
    ) -> PyResult<PyForecast> {
        let m = crate::model::model_or_default(model, &crate::default_model());
        forecast_from_json(obj, &m).map(|inner| PyForecast { inner })
    }

    /// One row per outcome: probability, and with draws mean, sd and the interval bounds.
    fn to_pandas<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, PyAny>> {
        helper(slf.py(), "_frames", "forecast_frame", (slf,), None)
    }

    /// A bar chart of the outcome probabilities with their intervals (needs matplotlib).
    #[pyo3(signature = (ax = None))]
    fn plot<'py>(slf: &Bound<'py, Self>, ax: Option<&Bound<'py, PyAny>>) -> PyResult<Bound<'py, PyAny>> {
        let kw = PyDict::new(slf.py());
        kw.set_item("ax", ax)?;
        helper(slf.py(), "plot", "plot_forecast", (slf,), Some(&kw))
    }

    fn _repr_html_<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, PyAny>> {
        helper(slf.py(), "_frames", "forecast_html", (slf,), None)
    }

    fn __repr__(&self) -> String {
        let f = &self.inner;
        let probs: Vec<String> = f
            .outcomes
            .iter()
            .zip(&f.probabilities)
            .map(|(o, p)| format!("{o}={p:.3}"))
            .collect();
        let draws = f
            .intervals
            .as_ref()
            .map_or(String::new(), |i| format!(", draws={}", i.draws));
        format!(
            "Forecast(case={:?}, as_of={}, term_end={}, {}, signals_used={}{})",
            f.case,
            f.as_of,
            f.term_end,
            probs.join(", "),
            f.signals_used,
            draws
        )
    }

    fn __eq__(&self, other: &Bound<'_, PyAny>) -> bool {
        other
            .cast::<PyForecast>()
            .is_ok_and(|o| o.get().inner == self.inner)
    }

    fn __reduce__<'py>(slf: &Bound<'py, Self>) -> PyResult<(Bound<'py, PyAny>, Bound<'py, PyTuple>)> {
        let py = slf.py();
        Ok((
            py.get_type::<Self>().getattr("_from_state")?,
            PyTuple::new(py, [state_bytes(py, &slf.get().inner)?])?,
        ))
    }

    #[staticmethod]
    fn _from_state(py: Python<'_>, state: &[u8]) -> PyResult<PyForecast> {
        from_state(py, state, "a Forecast").map(|inner| PyForecast { inner })
    }
}

#[derive(Deserialize)]
struct PointJson {
    date: NaiveDate,
    probabilities: Ordered,
    #[serde(default)]
    regimes: Ordered,
    #[serde(default)]
    signals_used: usize,
    #[serde(default)]
    signal_types: Vec<String>,
}

/// The engine's `Trajectory::to_json()` form.
#[derive(Deserialize)]
struct TrajectoryJson {
    case: String,
    term_end: NaiveDate,
    outcomes: Vec<String>,
    regimes: Vec<String>,
    points: Vec<PointJson>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum TrajectoryForm {
    Serde(pf_core::Trajectory),
    Json(TrajectoryJson),
}

/// Outcome probabilities over time, each day forecast with the signals dated up to that day.
#[pyclass(module = "pressure_forecast._native", name = "Trajectory", frozen)]
#[derive(Clone)]
pub struct PyTrajectory {
    /// The engine's trajectory.
    pub inner: pf_core::Trajectory,
}

#[pymethods]
impl PyTrajectory {
    /// The case's id.
    #[getter]
    fn case(&self) -> &str {
        &self.inner.case
    }
    /// The term end.
    #[getter]
    fn term_end<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        py_date(py, self.inner.term_end)
    }
    /// Outcome names.
    #[getter]
    fn outcomes(&self) -> Vec<String> {
        self.inner.outcomes.clone()
    }
    /// Regime names.
    #[getter]
    fn regimes(&self) -> Vec<String> {
        self.inner.regimes.clone()
    }
    /// The days (`datetime.date`).
    #[getter]
    fn dates<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        py_dates(py, self.inner.points.iter().map(|p| p.date))
    }
    /// Outcome probabilities, a numpy array of shape (days, outcomes).
    #[getter]
    fn probabilities<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let flat: Vec<f64> = self
            .inner
            .points
            .iter()
            .flat_map(|p| p.probabilities.iter().copied())
            .collect();
        np_array2(py, &flat, self.inner.outcomes.len())
    }
    /// Filtered regime probabilities, a numpy array of shape (days, regimes).
    #[getter]
    fn regime_probabilities<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let flat: Vec<f64> = self
            .inner
            .points
            .iter()
            .flat_map(|p| p.regime_probabilities.iter().copied())
            .collect();
        np_array2(py, &flat, self.inner.regimes.len())
    }
    /// Signals used up to each day.
    #[getter]
    fn signals_used(&self) -> Vec<usize> {
        self.inner.points.iter().map(|p| p.signals_used).collect()
    }
    /// Types of the signals dated on each day.
    #[getter]
    fn signal_types(&self) -> Vec<Vec<String>> {
        self.inner.points.iter().map(|p| p.signal_types.clone()).collect()
    }

    fn __len__(&self) -> usize {
        self.inner.points.len()
    }

    /// The trajectory as a dict in the engine's JSON form.
    fn to_json<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        json_to_py(py, &self.inner.to_json())
    }

    /// Build a trajectory from the engine's JSON form (a dict or a JSON string).
    #[classmethod]
    fn from_json(_cls: &Bound<'_, PyType>, obj: &Bound<'_, PyAny>) -> PyResult<PyTrajectory> {
        let py = obj.py();
        let inner = match from_py_json::<TrajectoryForm>(obj, "a Trajectory")? {
            TrajectoryForm::Serde(t) => t,
            TrajectoryForm::Json(j) => {
                let points = j
                    .points
                    .into_iter()
                    .map(|p| {
                        Ok(pf_core::TrajectoryPoint {
                            date: p.date,
                            probabilities: p.probabilities.by(&j.outcomes, "points.probabilities")?,
                            regime_probabilities: p.regimes.by(&j.regimes, "points.regimes")?,
                            signals_used: p.signals_used,
                            signal_types: p.signal_types,
                        })
                    })
                    .collect::<Result<_, String>>()
                    .map_err(|m| shape_error(py, "a Trajectory", m))?;
                pf_core::Trajectory {
                    case: j.case,
                    term_end: j.term_end,
                    outcomes: j.outcomes,
                    regimes: j.regimes,
                    points,
                }
            }
        };
        Ok(PyTrajectory { inner })
    }

    /// One row per day (a DatetimeIndex): a column per outcome, `signals_used`, `signal_types`; with
    /// `regimes=True` also a column per regime (`regime:<name>`).
    #[pyo3(signature = (regimes = false))]
    fn to_pandas<'py>(slf: &Bound<'py, Self>, regimes: bool) -> PyResult<Bound<'py, PyAny>> {
        let kw = PyDict::new(slf.py());
        kw.set_item("regimes", regimes)?;
        helper(slf.py(), "_frames", "trajectory_frame", (slf,), Some(&kw))
    }

    /// Plot the outcome probabilities over time with each signal marked (needs matplotlib).
    #[pyo3(signature = (ax = None, case = None))]
    fn plot<'py>(
        slf: &Bound<'py, Self>,
        ax: Option<&Bound<'py, PyAny>>,
        case: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let kw = PyDict::new(slf.py());
        kw.set_item("ax", ax)?;
        kw.set_item("case", case)?;
        helper(slf.py(), "plot", "plot_trajectory", (slf,), Some(&kw))
    }

    fn _repr_html_<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, PyAny>> {
        helper(slf.py(), "_frames", "trajectory_html", (slf,), None)
    }

    fn __repr__(&self) -> String {
        let t = &self.inner;
        let span = match (t.points.first(), t.points.last()) {
            (Some(a), Some(b)) => format!("{} to {}", a.date, b.date),
            _ => "empty".into(),
        };
        let last = t.points.last().map_or(String::new(), |p| {
            let v: Vec<String> = t
                .outcomes
                .iter()
                .zip(&p.probabilities)
                .map(|(o, x)| format!("{o}={x:.3}"))
                .collect();
            format!(", last: {}", v.join(", "))
        });
        format!(
            "Trajectory(case={:?}, {} points, {}{})",
            t.case,
            t.points.len(),
            span,
            last
        )
    }

    fn __eq__(&self, other: &Bound<'_, PyAny>) -> bool {
        other
            .cast::<PyTrajectory>()
            .is_ok_and(|o| o.get().inner == self.inner)
    }

    fn __reduce__<'py>(slf: &Bound<'py, Self>) -> PyResult<(Bound<'py, PyAny>, Bound<'py, PyTuple>)> {
        let py = slf.py();
        Ok((
            py.get_type::<Self>().getattr("_from_state")?,
            PyTuple::new(py, [state_bytes(py, &slf.get().inner)?])?,
        ))
    }

    #[staticmethod]
    fn _from_state(py: Python<'_>, state: &[u8]) -> PyResult<PyTrajectory> {
        from_state(py, state, "a Trajectory").map(|inner| PyTrajectory { inner })
    }
}

/// What an append did: signals added, and repeats of stored ids left unchanged.
#[pyclass(module = "pressure_forecast._native", name = "AppendReport", frozen, eq)]
#[derive(Clone, PartialEq, Eq)]
pub struct PyAppendReport {
    /// Signals stored.
    #[pyo3(get)]
    pub added: usize,
    /// Signals whose id was already present with the same content.
    #[pyo3(get)]
    pub unchanged: usize,
}

#[pymethods]
impl PyAppendReport {
    fn __repr__(&self) -> String {
        format!("AppendReport(added={}, unchanged={})", self.added, self.unchanged)
    }
}

/// Generates a frozen result class around a serde type of the engine: `to_json`, `from_json`, `to_pandas`,
/// `_repr_html_`, `__repr__`, `__eq__` and pickling, plus the given methods.
macro_rules! serde_result {
    ($(#[$doc:meta])* $py:ident, $core:ty, $name:literal, { $($extra:tt)* }) => {
        $(#[$doc])*
        #[pyclass(module = "pressure_forecast._native", name = $name, frozen)]
        #[derive(Clone)]
        pub struct $py {
            /// The engine's result.
            pub inner: $core,
        }

        #[pymethods]
        impl $py {
            /// The result as a dict (the engine's JSON form).
            fn to_json<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
                $crate::convert::json_to_py(py, &serde_json::to_value(&self.inner).map_err($crate::results::ser_err)?)
            }

            /// Build from the engine's JSON form (a dict or a JSON string).
            #[classmethod]
            fn from_json(_cls: &Bound<'_, pyo3::types::PyType>, obj: &Bound<'_, PyAny>) -> PyResult<Self> {
                $crate::convert::from_py_json(obj, concat!("a ", $name)).map(|inner| Self { inner })
            }

            /// The result as a pandas DataFrame.
            fn to_pandas<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, PyAny>> {
                $crate::convert::helper(slf.py(), "_frames", "to_pandas", (slf,), None)
            }

            fn _repr_html_<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, PyAny>> {
                $crate::convert::helper(slf.py(), "_frames", "result_html", (slf,), None)
            }

            fn __repr__<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, PyAny>> {
                $crate::convert::helper(slf.py(), "_frames", "result_repr", (slf,), None)
            }

            /// Equal when their JSON forms are (so that NaN in empty bins compares equal).
            fn __eq__(&self, other: &Bound<'_, PyAny>) -> bool {
                other.cast::<Self>().is_ok_and(|o| {
                    serde_json::to_value(&o.get().inner).ok() == serde_json::to_value(&self.inner).ok()
                })
            }

            fn __reduce__<'py>(slf: &Bound<'py, Self>) -> PyResult<(Bound<'py, PyAny>, Bound<'py, pyo3::types::PyTuple>)> {
                let py = slf.py();
                Ok((py.get_type::<Self>().getattr("_from_state")?, pyo3::types::PyTuple::new(py, [$crate::convert::state_bytes(py, &slf.get().inner)?])?))
            }

            #[staticmethod]
            fn _from_state(py: Python<'_>, state: &[u8]) -> PyResult<Self> {
                $crate::convert::from_state(py, state, $name).map(|inner| Self { inner })
            }

            $($extra)*
        }
    };
}
pub(crate) use serde_result;

/// An explanation of a forecast: attribution (each signal's change, in date order) and drop-one. Its JSON form
/// is the CLI's `explain --drop-one --json`: the attribution's fields and `drop_one`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExplanationData {
    /// Each signal's contribution; they add up to `total - baseline`.
    #[serde(flatten)]
    pub attribution: pf_core::explain::Attribution,
    /// The forecast with each signal removed.
    #[serde(default)]
    pub drop_one: Vec<pf_core::explain::DropOne>,
}

serde_result!(
    /// What moved a forecast: each signal's change to every outcome's probability (attribution, adding up to
    /// `total - baseline`) and the forecast with each signal removed (drop-one).
    PyExplanation, ExplanationData, "Explanation", {
        /// The case's id.
        #[getter]
        fn case(&self) -> &str { &self.inner.attribution.case }
        /// The as-of date.
        #[getter]
        fn as_of<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> { py_date(py, self.inner.attribution.as_of) }
        /// Outcome names.
        #[getter]
        fn outcomes(&self) -> Vec<String> { self.inner.attribution.outcomes.clone() }
        /// `{outcome: p}` with no signals.
        #[getter]
        fn baseline<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> { named(py, &self.inner.attribution.outcomes, &self.inner.attribution.baseline) }
        /// `{outcome: p}` with every signal up to the as-of date.
        #[getter]
        fn total<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> { named(py, &self.inner.attribution.outcomes, &self.inner.attribution.total) }
        /// Per-signal contributions (dicts in the engine's JSON form).
        #[getter]
        fn contributions<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
            json_to_py(py, &serde_json::to_value(&self.inner.attribution.contributions).map_err(ser_err)?)
        }
        /// Drop-one forecasts (dicts in the engine's JSON form).
        #[getter]
        fn drop_one<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
            json_to_py(py, &serde_json::to_value(&self.inner.drop_one).map_err(ser_err)?)
        }
        /// The attribution waterfall: from the baseline, each signal's change to one outcome (needs matplotlib).
        #[pyo3(signature = (outcome = None, ax = None, top = 15))]
        fn plot<'py>(slf: &Bound<'py, Self>, outcome: Option<&str>, ax: Option<&Bound<'py, PyAny>>, top: usize) -> PyResult<Bound<'py, PyAny>> {
            let kw = PyDict::new(slf.py());
            kw.set_item("outcome", outcome)?;
            kw.set_item("ax", ax)?;
            kw.set_item("top", top)?;
            helper(slf.py(), "plot", "plot_attribution", (slf,), Some(&kw))
        }
    }
);

serde_result!(
    /// The answer to a what-if question: the forecast with and without the hypothetical change.
    PyWhatIf, pf_core::explain::WhatIfResult, "WhatIf", {
        /// The case's forecast at the evaluation date.
        #[getter]
        fn baseline(&self) -> PyForecast { PyForecast { inner: self.inner.baseline.clone() } }
        /// The forecast with the hypothetical change.
        #[getter]
        fn scenario(&self) -> PyForecast { PyForecast { inner: self.inner.scenario.clone() } }
        /// `{outcome: scenario - baseline}`.
        #[getter]
        fn delta<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> { named(py, &self.inner.baseline.outcomes, &self.inner.delta) }
    }
);

serde_result!(
    /// Signal types ranked by the expected change they would bring if observed next.
    PyValueOfInformation, pf_core::explain::ValueOfInformation, "ValueOfInformation", {
        /// The case's id.
        #[getter]
        fn case(&self) -> &str { &self.inner.case }
        /// The as-of date.
        #[getter]
        fn as_of<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> { py_date(py, self.inner.as_of) }
        /// Outcome names.
        #[getter]
        fn outcomes(&self) -> Vec<String> { self.inner.outcomes.clone() }
        /// `{outcome: p}` now.
        #[getter]
        fn current<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> { named(py, &self.inner.outcomes, &self.inner.current) }
        /// The ranked entries (dicts in the engine's JSON form), highest score first.
        #[getter]
        fn values<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
            json_to_py(py, &serde_json::to_value(&self.inner.values).map_err(ser_err)?)
        }
        fn __len__(&self) -> usize { self.inner.values.len() }
    }
);
