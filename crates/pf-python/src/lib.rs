//! # pf-python: the Python face of pressure_forecast
//!
//! A thin PyO3 adapter around [`pf_core`] (and [`pf_events`] for event data), built by maturin as
//! `pressure_forecast._native`. It converts at the edge (dates, dicts, numpy arrays, pandas records), maps the
//! engine's errors to one exception tree, releases the GIL around long work and turns Ctrl-C into
//! `KeyboardInterrupt`. It has no forecasting logic of its own; pandas and plotting live in the pure-Python
//! package (`python/pressure_forecast/`).

use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyTuple, PyType};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

mod case;
mod convert;
mod errors;
mod lenient;
mod model;
mod progress;
mod remote;
mod results;
mod signal;

use case::{PyCase, forecast_one, levels_of};
use convert::{from_py_json, from_state, helper, json_to_py, opt_arg_date, py_date, py_to_json, state_bytes};
use errors::{Details, IntoPyResult, Kind, argument_error, make_error};
use model::PyModel;
use progress::{run_long, want_bar};
use results::{
    PyAppendReport, PyExplanation, PyForecast, PyTrajectory, PyValueOfInformation, PyWhatIf, serde_result,
};
use signal::PySignal;

/// The embedded default model, built once.
pub(crate) fn default_model() -> Arc<pf_core::Model> {
    static DEFAULT: OnceLock<Arc<pf_core::Model>> = OnceLock::new();
    DEFAULT
        .get_or_init(|| Arc::new(pf_core::Model::default_model()))
        .clone()
}

/// A finished case with the outcome that happened.
#[pyclass(module = "pressure_forecast._native", name = "Episode", frozen)]
#[derive(Clone)]
pub struct PyEpisode {
    /// The engine's episode.
    pub inner: pf_core::Episode,
}

#[pymethods]
impl PyEpisode {
    #[new]
    fn new(py: Python<'_>, case: &Bound<'_, PyCase>, outcome: String) -> PyResult<PyEpisode> {
        let c = case.borrow();
        c.model.outcome_index(&outcome).py_err(py)?;
        Ok(PyEpisode {
            inner: pf_core::Episode {
                case: (*c.inner).clone(),
                outcome,
                // Merge of `core` (format v2 fields); the adapter's owner exposes them.
                outcome_justification: String::new(),
                exclude_from_training: false,
            },
        })
    }
    /// The episode's id.
    #[getter]
    fn id(&self) -> &str {
        &self.inner.case.id
    }
    /// The outcome at the term end.
    #[getter]
    fn outcome(&self) -> &str {
        &self.inner.outcome
    }
    /// The state applying pressure.
    #[getter]
    fn sender(&self) -> &str {
        &self.inner.case.sender
    }
    /// The state pressed.
    #[getter]
    fn target(&self) -> &str {
        &self.inner.case.target
    }
    /// The campaign's start.
    #[getter]
    fn start<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        py_date(py, self.inner.case.start)
    }
    /// The term end.
    #[getter]
    fn term_end<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        py_date(py, self.inner.case.term_end)
    }
    /// The signals in date order.
    #[getter]
    fn signals(&self) -> Vec<PySignal> {
        self.inner
            .case
            .signals()
            .iter()
            .cloned()
            .map(|inner| PySignal { inner })
            .collect()
    }
    /// The episode as a case (read with the default model, or `model`).
    #[pyo3(signature = (model = None))]
    fn case(&self, model: Option<&Bound<'_, PyModel>>) -> PyCase {
        PyCase {
            inner: Arc::new(self.inner.case.clone()),
            model: model::model_or_default(model, &default_model()),
        }
    }
    /// The episode as a dict (the episodes file format).
    fn to_json<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        json_to_py(py, &serde_json::to_value(&self.inner).unwrap_or_default())
    }
    /// Parse an episode from its JSON form (checked against the default model, or `model`).
    #[staticmethod]
    #[pyo3(signature = (obj, model = None))]
    fn from_json(obj: &Bound<'_, PyAny>, model: Option<&Bound<'_, PyModel>>) -> PyResult<PyEpisode> {
        let py = obj.py();
        let obj = if let Ok(s) = obj.extract::<String>() {
            py.import("json")?.call_method1("loads", (s,))?
        } else {
            obj.clone()
        };
        let m = model::model_or_default(model, &default_model());
        pf_core::Episode::from_json(&py_to_json(&obj)?, m.as_ref())
            .py_err(py)
            .map(|inner| PyEpisode { inner })
    }
    fn __len__(&self) -> usize {
        self.inner.case.signals().len()
    }
    fn __eq__(&self, other: &Bound<'_, PyAny>) -> bool {
        other
            .cast::<PyEpisode>()
            .is_ok_and(|o| o.get().inner == self.inner)
    }
    fn __repr__(&self) -> String {
        let c = &self.inner.case;
        format!(
            "Episode(id={:?}, sender={:?}, target={:?}, start={}, term_end={}, outcome={:?}, signals={})",
            c.id,
            c.sender,
            c.target,
            c.start,
            c.term_end,
            self.inner.outcome,
            c.signals().len()
        )
    }
    fn _repr_html_<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, PyAny>> {
        helper(slf.py(), "_frames", "episodes_html", ([slf],), None)
    }
    fn __reduce__<'py>(slf: &Bound<'py, Self>) -> PyResult<(Bound<'py, PyAny>, Bound<'py, PyTuple>)> {
        let py = slf.py();
        Ok((
            py.get_type::<Self>().getattr("_from_state")?,
            PyTuple::new(py, [state_bytes(py, &slf.get().inner)?])?,
        ))
    }
    #[staticmethod]
    fn _from_state(py: Python<'_>, state: &[u8]) -> PyResult<PyEpisode> {
        from_state(py, state, "an Episode").map(|inner| PyEpisode { inner })
    }
}

/// Read an episodes file (a JSON array, one object, or JSON Lines). With `lenient=True`, a signal dated outside
/// its episode is left out with a `UserWarning` instead of raising (as the command line's `fit` and `backtest`
/// do).
#[pyfunction]
#[pyo3(signature = (path, model = None, lenient = false))]
fn load_episodes(
    py: Python<'_>,
    path: PathBuf,
    model: Option<&Bound<'_, PyModel>>,
    lenient: bool,
) -> PyResult<Vec<PyEpisode>> {
    let m = model::model_or_default(model, &default_model());
    let eps = if lenient {
        let (eps, warnings) = pf_core::Episode::load_many_lenient(&path, m.as_ref()).py_err(py)?;
        for w in warnings {
            let category = py.get_type::<pyo3::exceptions::PyUserWarning>();
            PyErr::warn(py, &category, &std::ffi::CString::new(w).unwrap_or_default(), 1)?;
        }
        eps
    } else {
        pf_core::Episode::load_many(&path, m.as_ref()).py_err(py)?
    };
    Ok(eps.into_iter().map(|inner| PyEpisode { inner }).collect())
}

fn episodes_of(episodes: &Bound<'_, PyAny>) -> PyResult<Vec<pf_core::Episode>> {
    episodes
        .try_iter()?
        .enumerate()
        .map(|(i, e)| {
            let e = e?;
            e.cast::<PyEpisode>().map(|e| e.get().inner.clone()).map_err(|_| {
                argument_error(
                    episodes.py(),
                    &format!("episodes[{i}]"),
                    "an Episode (see load_episodes)",
                    e.repr().map(|r| r.to_string()).unwrap_or_default(),
                )
            })
        })
        .collect()
}

/// Pickled state of a fit report: the engine's report with the fitted model as a model file.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
struct FitState {
    #[serde(default)]
    model_toml: Option<String>,
    #[serde(default)]
    log_likelihood: Vec<f64>,
    #[serde(default)]
    objective: Vec<f64>,
    #[serde(default)]
    iterations: u32,
    #[serde(default)]
    converged: bool,
}

/// The result of `fit`: the fitted model and the EM history.
#[pyclass(module = "pressure_forecast._native", name = "FitReport", frozen)]
pub struct PyFitReport {
    state: FitState,
    model: Option<Arc<pf_core::Model>>,
}

impl PyFitReport {
    fn from_state_struct(py: Python<'_>, state: FitState) -> PyResult<PyFitReport> {
        let model = match &state.model_toml {
            Some(t) => Some(Arc::new(pf_core::Model::from_toml_str(t).py_err(py)?)),
            None => None,
        };
        Ok(PyFitReport { state, model })
    }
}

#[pymethods]
impl PyFitReport {
    /// The fitted model (None for a report rebuilt from JSON without the model text).
    #[getter]
    fn model(&self) -> Option<PyModel> {
        self.model.clone().map(|inner| PyModel { inner })
    }
    /// Log-likelihood of the episodes after each iteration's E-step, starting with the starting model.
    #[getter]
    fn log_likelihood(&self) -> Vec<f64> {
        self.state.log_likelihood.clone()
    }
    /// Penalised log-likelihood at each iteration.
    #[getter]
    fn objective(&self) -> Vec<f64> {
        self.state.objective.clone()
    }
    /// Iterations run.
    #[getter]
    fn iterations(&self) -> u32 {
        self.state.iterations
    }
    /// Whether EM reached its tolerance.
    #[getter]
    fn converged(&self) -> bool {
        self.state.converged
    }
    /// The engine's JSON summary (`{iterations, converged, log_likelihood, objective, final_log_likelihood,
    /// provenance}`) plus `model_toml`, the fitted model file.
    fn to_json<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let mut v = serde_json::json!({
            "iterations": self.state.iterations,
            "converged": self.state.converged,
            "log_likelihood": self.state.log_likelihood,
            "objective": self.state.objective,
            "final_log_likelihood": self.state.log_likelihood.last(),
            "provenance": self.model.as_ref().and_then(|m| m.provenance().cloned()),
        });
        v["model_toml"] = self.state.model_toml.clone().into();
        json_to_py(py, &v)
    }
    /// Build from the JSON form (the model is rebuilt when `model_toml` is present).
    #[classmethod]
    fn from_json(_cls: &Bound<'_, PyType>, obj: &Bound<'_, PyAny>) -> PyResult<PyFitReport> {
        let state: FitState = from_py_json(obj, "a FitReport")?;
        PyFitReport::from_state_struct(obj.py(), state)
    }
    /// One row per iteration: log-likelihood and objective.
    fn to_pandas<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, PyAny>> {
        helper(slf.py(), "_frames", "to_pandas", (slf,), None)
    }
    fn _repr_html_<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, PyAny>> {
        helper(slf.py(), "_frames", "result_html", (slf,), None)
    }
    fn __repr__(&self) -> String {
        format!(
            "FitReport(iterations={}, converged={}, log_likelihood={:.4})",
            self.state.iterations,
            self.state.converged,
            self.state.log_likelihood.last().copied().unwrap_or(f64::NAN)
        )
    }
    fn __eq__(&self, other: &Bound<'_, PyAny>) -> bool {
        other
            .cast::<PyFitReport>()
            .is_ok_and(|o| o.get().state == self.state)
    }
    fn __reduce__<'py>(slf: &Bound<'py, Self>) -> PyResult<(Bound<'py, PyAny>, Bound<'py, PyTuple>)> {
        let py = slf.py();
        Ok((
            py.get_type::<Self>().getattr("_from_state")?,
            PyTuple::new(py, [state_bytes(py, &slf.get().state)?])?,
        ))
    }
    #[staticmethod]
    fn _from_state(py: Python<'_>, state: &[u8]) -> PyResult<PyFitReport> {
        PyFitReport::from_state_struct(py, from_state(py, state, "a FitReport")?)
    }
}

fn fit_options(
    tolerance: f64,
    max_iterations: u32,
    fit_prior: bool,
    fit_transitions: bool,
    fit_emissions: bool,
) -> pf_core::FitOptions {
    pf_core::FitOptions {
        tolerance,
        max_iterations,
        fit_prior,
        fit_transitions,
        fit_emissions,
    }
}

/// Fit a model to finished episodes by expected-count EM (the model's concentrations are the prior counts).
#[pyfunction]
#[pyo3(signature = (model, episodes, *, tolerance = 1e-6, max_iterations = 200, fit_prior = true, fit_transitions = true, fit_emissions = true, progress = true))]
fn fit(
    py: Python<'_>,
    model: &Bound<'_, PyModel>,
    episodes: &Bound<'_, PyAny>,
    tolerance: f64,
    max_iterations: u32,
    fit_prior: bool,
    fit_transitions: bool,
    fit_emissions: bool,
    progress: bool,
) -> PyResult<PyFitReport> {
    let eps = episodes_of(episodes)?;
    let m = model.get().inner.clone();
    let opts = fit_options(
        tolerance,
        max_iterations,
        fit_prior,
        fit_transitions,
        fit_emissions,
    );
    let r = run_long(py, progress, |p| pf_core::learn::fit(&m, &eps, &opts, p))?;
    let state = FitState {
        model_toml: Some(r.model.to_toml()),
        log_likelihood: r.log_likelihood,
        objective: r.objective,
        iterations: r.iterations,
        converged: r.converged,
    };
    Ok(PyFitReport {
        state,
        model: Some(Arc::new(r.model)),
    })
}

/// The engine's `BacktestReport::to_json()` form: scores flattened, calibration keyed by outcome.
#[derive(Deserialize)]
struct BacktestJson {
    model: String,
    outcomes: Vec<String>,
    episodes: usize,
    loo: bool,
    brier: f64,
    log_score: f64,
    ece: f64,
    baselines: pf_core::backtest::Baselines,
    per_episode: Vec<pf_core::backtest::EpisodeScore>,
    calibration: std::collections::HashMap<String, Vec<pf_core::backtest::Bin>>,
}

serde_result!(
    /// Scores of a model replayed day by day over finished episodes, beside the uniform, base-rate and
    /// prior-only baselines, with reliability bins per outcome.
    PyBacktestReport, pf_core::BacktestReport, "BacktestReport", {
        /// The model's name.
        #[getter]
        fn model(&self) -> &str { &self.inner.model }
        /// Outcome names.
        #[getter]
        fn outcomes(&self) -> Vec<String> { self.inner.outcomes.clone() }
        /// Number of episodes.
        #[getter]
        fn episodes(&self) -> usize { self.inner.episodes }
        /// Whether each episode was forecast by a model fitted on the others.
        #[getter]
        fn loo(&self) -> bool { self.inner.loo }
        /// `{brier, log_score, ece}` of the model.
        #[getter]
        fn scores<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
            json_to_py(py, &serde_json::to_value(self.inner.scores).unwrap_or_default())
        }
        /// `{uniform: {...}, base_rate: {...}, prior: {...}}`.
        #[getter]
        fn baselines<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
            json_to_py(py, &serde_json::to_value(self.inner.baselines).unwrap_or_default())
        }
        /// Per-episode scores (dicts).
        #[getter]
        fn per_episode<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
            json_to_py(py, &serde_json::to_value(&self.inner.per_episode).unwrap_or_default())
        }
        /// Reliability bins per outcome, `{outcome: [{lower, upper, mean_predicted, observed, weight}]}`.
        #[getter]
        fn calibration<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
            let d = PyDict::new(py);
            for (o, bins) in self.inner.outcomes.iter().zip(&self.inner.calibration) {
                d.set_item(o, json_to_py(py, &serde_json::to_value(bins).unwrap_or_default())?)?;
            }
            Ok(d)
        }
        /// The engine's JSON form (the CLI's `--json`): scores flattened, calibration keyed by outcome.
        fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
            json_to_py(py, &self.inner.to_json())
        }
        /// The reliability diagram: observed frequency against mean forecast per bin (needs matplotlib).
        #[pyo3(signature = (ax = None))]
        fn plot<'py>(slf: &Bound<'py, Self>, ax: Option<&Bound<'py, PyAny>>) -> PyResult<Bound<'py, PyAny>> {
            let kw = PyDict::new(slf.py());
            kw.set_item("ax", ax)?;
            helper(slf.py(), "plot", "plot_reliability", (slf,), Some(&kw))
        }
        /// Build from either JSON form (serde, or the flattened form of `to_dict`).
        #[staticmethod]
        fn from_dict(obj: &Bound<'_, PyAny>) -> PyResult<Self> {
            let v: serde_json::Value = from_py_json(obj, "a BacktestReport")?;
            let inner = if v.get("scores").is_some() {
                from_py_json::<pf_core::BacktestReport>(obj, "a BacktestReport")?
            } else {
                let j: BacktestJson = from_py_json(obj, "a BacktestReport")?;
                pf_core::BacktestReport {
                    calibration: j.outcomes.iter().map(|o| j.calibration.get(o).cloned().unwrap_or_default()).collect(),
                    model: j.model,
                    outcomes: j.outcomes,
                    episodes: j.episodes,
                    loo: j.loo,
                    scores: pf_core::backtest::Scores { brier: j.brier, log_score: j.log_score, ece: j.ece },
                    baselines: j.baselines,
                    // Merge of `core`: the JSON form of 0.1 had no excluded episodes.
                    excluded: Vec::new(),
                    per_episode: j.per_episode,
                }
            };
            Ok(Self { inner })
        }
    }
);

/// Replay a model over finished episodes and score it beside the baselines; with `loo=True` each episode is
/// forecast by a model fitted on the others.
#[pyfunction]
#[pyo3(signature = (model, episodes, *, loo = false, bins = 10, tolerance = 1e-6, max_iterations = 200, progress = true))]
fn backtest(
    py: Python<'_>,
    model: &Bound<'_, PyModel>,
    episodes: &Bound<'_, PyAny>,
    loo: bool,
    bins: usize,
    tolerance: f64,
    max_iterations: u32,
    progress: bool,
) -> PyResult<PyBacktestReport> {
    let eps = episodes_of(episodes)?;
    let m = model.get().inner.clone();
    let opts = pf_core::BacktestOptions {
        loo,
        bins,
        fit: fit_options(tolerance, max_iterations, true, true, true),
    };
    run_long(py, progress, |p| pf_core::backtest(&m, &eps, &opts, p)).map(|inner| PyBacktestReport { inner })
}

/// Forecast many cases at once, in parallel with the GIL released. `as_of` is one date for all, a list of
/// dates (one per case), or None (each case's default). `model` overrides each case's own model.
#[pyfunction]
#[pyo3(signature = (cases, as_of = None, model = None, *, draws = 0, seed = 0, levels = None, progress = None))]
fn forecast_many(
    py: Python<'_>,
    cases: &Bound<'_, PyAny>,
    as_of: Option<&Bound<'_, PyAny>>,
    model: Option<&Bound<'_, PyModel>>,
    draws: usize,
    seed: u64,
    levels: Option<&Bound<'_, PyAny>>,
    progress: Option<bool>,
) -> PyResult<Vec<PyForecast>> {
    let items: Vec<(Arc<pf_core::Case>, Arc<pf_core::Model>)> = cases
        .try_iter()?
        .enumerate()
        .map(|(i, c)| {
            let c = c?;
            let c = c.cast::<PyCase>().map_err(|_| {
                argument_error(
                    py,
                    &format!("cases[{i}]"),
                    "a Case",
                    c.repr().map(|r| r.to_string()).unwrap_or_default(),
                )
            })?;
            let c = c.borrow();
            let m = model.map_or_else(|| c.model.clone(), |m| m.get().inner.clone());
            Ok((c.inner.clone(), m))
        })
        .collect::<PyResult<_>>()?;
    let today = chrono::Local::now().date_naive();
    let dates: Vec<chrono::NaiveDate> = match as_of {
        Some(a)
            if !a.is_none()
                && !a.is_instance_of::<pyo3::types::PyString>()
                && a.hasattr("__len__")?
                && !a.hasattr("isoformat")? =>
        {
            let list: Vec<Bound<'_, PyAny>> = a.try_iter()?.collect::<PyResult<_>>()?;
            if list.len() != items.len() {
                return Err(argument_error(
                    py,
                    "as_of",
                    &format!("one date for all cases or a list of {} dates", items.len()),
                    format!("{} dates", list.len()),
                ));
            }
            list.iter()
                .enumerate()
                .map(|(i, d)| convert::arg_date(d, &format!("as_of[{i}]")))
                .collect::<PyResult<_>>()?
        }
        other => {
            let d = opt_arg_date(other, "as_of")?;
            items.iter().map(|_| d.unwrap_or(today)).collect()
        }
    };
    let levels = levels.map(levels_of).transpose()?.unwrap_or_else(|| vec![0.9]);
    if items.len() == 1 {
        let (c, m) = &items[0];
        return forecast_one(py, m, c, dates[0], draws, seed, levels, progress)
            .map(|inner| vec![PyForecast { inner }]);
    }
    let opts = pf_core::DrawOptions { draws, seed, levels };
    let show = want_bar(progress, items.len() * draws.max(1) >= 20_000);
    let out = run_long(py, show, |p| {
        p.start(items.len() as u64, "cases");
        let r = items
            .par_iter()
            .zip(dates.par_iter())
            .map(|((c, m), d)| {
                if p.cancelled() {
                    return Err(pf_core::Error::Interrupted);
                }
                let f = if draws == 0 {
                    m.forecast(c, *d)
                } else {
                    m.forecast_with_intervals(c, *d, &opts, &pf_core::Silent)
                };
                p.advance(1);
                f
            })
            .collect::<pf_core::Result<Vec<_>>>();
        p.finish();
        r
    })?;
    Ok(out.into_iter().map(|inner| PyForecast { inner }).collect())
}

/// What an event-data ingestion produced: the signals, row counts and the rows skipped as malformed.
#[pyclass(module = "pressure_forecast._native", name = "IngestReport", frozen)]
pub struct PyIngestReport {
    signals: Vec<pf_core::Signal>,
    rows_read: u64,
    rows_matched: u64,
    bad_rows: Vec<(u64, String)>,
}

#[pymethods]
impl PyIngestReport {
    /// One signal per (date, signal type).
    #[getter]
    fn signals(&self) -> Vec<PySignal> {
        self.signals
            .iter()
            .cloned()
            .map(|inner| PySignal { inner })
            .collect()
    }
    /// Data rows read.
    #[getter]
    fn rows_read(&self) -> u64 {
        self.rows_read
    }
    /// Rows mapped to a signal.
    #[getter]
    fn rows_matched(&self) -> u64 {
        self.rows_matched
    }
    /// Rows skipped as malformed: `(line, reason)`.
    #[getter]
    fn bad_rows(&self) -> Vec<(u64, String)> {
        self.bad_rows.clone()
    }
    /// The signals as a DataFrame.
    fn to_pandas<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        helper(
            py,
            "_frames",
            "signals_frame",
            (PyList::new(py, self.signals())?,),
            None,
        )
    }
    fn __len__(&self) -> usize {
        self.signals.len()
    }
    fn __repr__(&self) -> String {
        format!(
            "IngestReport(signals={}, rows_read={}, rows_matched={}, bad_rows={})",
            self.signals.len(),
            self.rows_read,
            self.rows_matched,
            self.bad_rows.len()
        )
    }
}

fn events_error(py: Python<'_>, e: pf_events::Error) -> PyErr {
    use pf_events::Error as E;
    let message = e.to_string();
    match e {
        E::Mapping {
            field,
            expected,
            found,
        } => make_error(
            py,
            Kind::Parse,
            message,
            Details {
                field: Some(field),
                expected: Some(expected),
                found: Some(found),
                ..Details::default()
            },
        ),
        E::BadRow { line, reason } => make_error(
            py,
            Kind::Parse,
            message,
            Details {
                found: Some(reason),
                line: usize::try_from(line).ok(),
                ..Details::default()
            },
        ),
        E::Io { path, source } => errors::to_py(py, pf_core::Error::Io { path, source }),
        E::Format {
            what,
            expected,
            found,
        } => make_error(
            py,
            Kind::Argument,
            message,
            Details {
                field: Some(what),
                expected: Some(expected),
                found: Some(found),
                ..Details::default()
            },
        ),
        // pf_events::Error is #[non_exhaustive]: a variant added later maps to the base class until it gets
        // its own arm here.
        other => errors::PressureForecastError::new_err(other.to_string()),
    }
}

/// Turn a file of CAMEO-coded events (`format`: `icews`, `gdelt1`, `gdelt2` or `csv`) into signals for a
/// sender and target, with the default mapping or a mapping file. Add them to a case with
/// `case.observe_many(report.signals)`.
#[pyfunction]
#[pyo3(signature = (path, format, sender, target, *, start = None, end = None, mapping = None, strict = false))]
fn ingest_events(
    py: Python<'_>,
    path: PathBuf,
    format: &str,
    sender: String,
    target: String,
    start: Option<&Bound<'_, PyAny>>,
    end: Option<&Bound<'_, PyAny>>,
    mapping: Option<PathBuf>,
    strict: bool,
) -> PyResult<PyIngestReport> {
    let fmt: pf_events::Format = format.parse().map_err(|e| events_error(py, e))?;
    let mut opts = pf_events::IngestOptions::new(fmt, sender, target);
    opts.start = opt_arg_date(start, "start")?;
    opts.end = opt_arg_date(end, "end")?;
    opts.strict = strict;
    let mapping = match mapping {
        None => pf_events::Mapping::default_mapping(),
        Some(p) => pf_events::Mapping::load(&p).map_err(|e| events_error(py, e))?,
    };
    let r = py
        .detach(|| pf_events::ingest_path(&path, &mapping, &opts))
        .map_err(|e| events_error(py, e))?;
    Ok(PyIngestReport {
        signals: r.signals,
        rows_read: r.rows_read,
        rows_matched: r.rows_matched,
        bad_rows: r.bad_rows.into_iter().map(|b| (b.line, b.reason)).collect(),
    })
}

/// The native module `pressure_forecast._native`.
#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyModel>()?;
    m.add_class::<PySignal>()?;
    m.add_class::<PyCase>()?;
    m.add_class::<PyAppendReport>()?;
    m.add_class::<PyForecast>()?;
    m.add_class::<PyTrajectory>()?;
    m.add_class::<PyExplanation>()?;
    m.add_class::<PyWhatIf>()?;
    m.add_class::<PyValueOfInformation>()?;
    m.add_class::<PyEpisode>()?;
    m.add_class::<PyFitReport>()?;
    m.add_class::<PyBacktestReport>()?;
    m.add_class::<PyIngestReport>()?;
    m.add_function(wrap_pyfunction!(load_episodes, m)?)?;
    m.add_function(wrap_pyfunction!(fit, m)?)?;
    m.add_function(wrap_pyfunction!(backtest, m)?)?;
    m.add_function(wrap_pyfunction!(forecast_many, m)?)?;
    m.add_function(wrap_pyfunction!(ingest_events, m)?)?;
    // The gRPC contract, shipped inside the extension so that the client can generate its stubs anywhere.
    m.add(
        "PROTO_FORECAST_SERVICE",
        include_str!("../../../proto/pressureforecast/v1/forecast_service.proto"),
    )?;
    m.add(
        "SIGNAL_TYPES_V1",
        pf_core::vocab::signal_types_v1().collect::<Vec<_>>(),
    )?;
    m.add("OUTCOMES_V1", pf_core::vocab::OUTCOMES_V1.to_vec())?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    errors::register(m)?;
    remote::register(m)?;
    Ok(())
}
