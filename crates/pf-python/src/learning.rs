//! Learning from finished episodes: `fit` (EM) with its `FitReport`, and `backtest` with its `BacktestReport`.

use pyo3::prelude::*;
use pyo3::types::{PyDict, PyTuple, PyType};
use pyo3_stub_gen::derive::*;
use serde::{Deserialize, Serialize};

use crate::convert::{from_py_json, helper, json_to_py};
use crate::episodes::episodes_of;
use crate::errors::IntoPyResult;
use crate::model::PyModel;
use crate::progress::run_long;
use crate::results::serde_result;

/// Pickled state of a fit report: the engine's report with the fitted model as a model file.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
pub struct FitState {
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

/// The result of ``fit``: the fitted model and the EM history.
///
/// Examples
/// --------
/// >>> import pressure_forecast as pf
/// >>> case = pf.Case("demo", "USA", "PRK", "2017-01-20", "2021-01-20")
/// >>> case.observe("summit_held", "2018-06-12")
/// AppendReport(added=1, unchanged=0)
/// >>> report = pf.fit(pf.Model.v1(), [pf.Episode(case, "deal")], max_iterations=3, progress=False)
/// >>> isinstance(report.model, pf.Model), report.iterations <= 3
/// (True, True)
#[gen_stub_pyclass]
#[pyclass(module = "pressure_forecast._native", name = "FitReport", frozen, eq, get_all)]
#[derive(Clone, PartialEq)]
pub struct PyFitReport {
    /// The fitted model (None for a report rebuilt from JSON without the model text).
    ///
    /// Returns
    /// -------
    /// Model or None
    pub model: Option<PyModel>,
    /// Log-likelihood of the episodes after each iteration's E-step, starting with the starting model.
    ///
    /// Returns
    /// -------
    /// list[float]
    pub log_likelihood: Vec<f64>,
    /// Penalised log-likelihood at each iteration.
    ///
    /// Returns
    /// -------
    /// list[float]
    pub objective: Vec<f64>,
    /// Iterations run.
    ///
    /// Returns
    /// -------
    /// int
    pub iterations: u32,
    /// Whether EM reached its tolerance.
    ///
    /// Returns
    /// -------
    /// bool
    pub converged: bool,
}

impl PyFitReport {
    fn from_state_struct(py: Python<'_>, state: FitState) -> PyResult<PyFitReport> {
        let model = match &state.model_toml {
            Some(t) => Some(PyModel::new(pf_core::Model::from_toml_str(t).py_err(py)?)),
            None => None,
        };
        Ok(PyFitReport {
            model,
            log_likelihood: state.log_likelihood,
            objective: state.objective,
            iterations: state.iterations,
            converged: state.converged,
        })
    }

    fn to_state(&self) -> FitState {
        FitState {
            model_toml: self.model.as_ref().map(|m| m.inner.to_toml()),
            log_likelihood: self.log_likelihood.clone(),
            objective: self.objective.clone(),
            iterations: self.iterations,
            converged: self.converged,
        }
    }
}

#[gen_stub_pymethods]
#[pymethods]
impl PyFitReport {
    /// The engine's JSON summary (`{iterations, converged, log_likelihood, objective, final_log_likelihood, provenance}`) plus `model_toml`, the fitted model file.
    ///
    /// Returns
    /// -------
    /// dict
    ///     The summary; ``FitReport.from_json`` reads it back.
    ///
    /// Examples
    /// --------
    /// >>> import pressure_forecast as pf
    /// >>> case = pf.Case("demo", "USA", "PRK", "2017-01-20", "2021-01-20")
    /// >>> case.observe("summit_held", "2018-06-12")
    /// AppendReport(added=1, unchanged=0)
    /// >>> report = pf.fit(pf.Model.v1(), [pf.Episode(case, "deal")], max_iterations=2, progress=False)
    /// >>> d = report.to_json()
    /// >>> d["iterations"] == report.iterations, "model_toml" in d
    /// (True, True)
    #[gen_stub(override_return_type(type_repr = "dict[str, typing.Any]", imports = ("typing")))]
    fn to_json<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let mut v = serde_json::json!({
            "iterations": self.iterations,
            "converged": self.converged,
            "log_likelihood": self.log_likelihood,
            "objective": self.objective,
            "final_log_likelihood": self.log_likelihood.last(),
            "provenance": self.model.as_ref().and_then(|m| m.inner.provenance().cloned()),
        });
        v["model_toml"] = self.to_state().model_toml.into();
        json_to_py(py, &v)
    }
    /// Build from the JSON form (the model is rebuilt when `model_toml` is present).
    ///
    /// Parameters
    /// ----------
    /// obj : dict or str
    ///     The form ``to_json`` writes.
    ///
    /// Returns
    /// -------
    /// FitReport
    ///     The report.
    ///
    /// Examples
    /// --------
    /// >>> import pressure_forecast as pf
    /// >>> case = pf.Case("demo", "USA", "PRK", "2017-01-20", "2021-01-20")
    /// >>> case.observe("summit_held", "2018-06-12")
    /// AppendReport(added=1, unchanged=0)
    /// >>> report = pf.fit(pf.Model.v1(), [pf.Episode(case, "deal")], max_iterations=2, progress=False)
    /// >>> pf.FitReport.from_json(report.to_json()) == report
    /// True
    #[classmethod]
    fn from_json(_cls: &Bound<'_, PyType>, obj: &Bound<'_, PyAny>) -> PyResult<PyFitReport> {
        let state: FitState = from_py_json(obj, "a FitReport")?;
        PyFitReport::from_state_struct(obj.py(), state)
    }
    /// One row per iteration: log-likelihood and objective.
    ///
    /// Returns
    /// -------
    /// pandas.DataFrame
    ///     Indexed by ``iteration``; columns ``log_likelihood`` and ``objective``.
    ///
    /// Examples
    /// --------
    /// >>> import pressure_forecast as pf
    /// >>> case = pf.Case("demo", "USA", "PRK", "2017-01-20", "2021-01-20")
    /// >>> case.observe("summit_held", "2018-06-12")
    /// AppendReport(added=1, unchanged=0)
    /// >>> report = pf.fit(pf.Model.v1(), [pf.Episode(case, "deal")], max_iterations=2, progress=False)
    /// >>> df = report.to_pandas()
    /// >>> list(df.columns), len(df) == len(report.log_likelihood)
    /// (['log_likelihood', 'objective'], True)
    #[pyo3(signature = (long = false))]
    #[gen_stub(override_return_type(type_repr = "pandas.DataFrame", imports = ("pandas")))]
    fn to_pandas<'py>(slf: &Bound<'py, Self>, long: bool) -> PyResult<Bound<'py, PyAny>> {
        helper(slf.py(), "_frames", "to_pandas", (slf, long), None)
    }
    /// The report as HTML, for notebooks: its repr and the table of ``to_pandas``.
    ///
    /// Returns
    /// -------
    /// str
    ///     HTML.
    ///
    /// Examples
    /// --------
    /// >>> import pressure_forecast as pf
    /// >>> case = pf.Case("demo", "USA", "PRK", "2017-01-20", "2021-01-20")
    /// >>> case.observe("summit_held", "2018-06-12")
    /// AppendReport(added=1, unchanged=0)
    /// >>> report = pf.fit(pf.Model.v1(), [pf.Episode(case, "deal")], max_iterations=2, progress=False)
    /// >>> report._repr_html_().startswith("<p><strong>FitReport(")
    /// True
    #[gen_stub(override_return_type(type_repr = "builtins.str", imports = ("builtins")))]
    fn _repr_html_<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, PyAny>> {
        helper(slf.py(), "_frames", "result_html", (slf,), None)
    }
    fn __repr__(&self) -> String {
        format!(
            "FitReport(iterations={}, converged={}, log_likelihood={:.4})",
            self.iterations,
            self.converged,
            self.log_likelihood.last().copied().unwrap_or(f64::NAN)
        )
    }
    fn __reduce__<'py>(slf: &Bound<'py, Self>) -> PyResult<(Bound<'py, PyAny>, Bound<'py, PyTuple>)> {
        crate::pickle::reduce(slf)
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

/// Fit a model to finished episodes.
///
/// A v2 model (the default) is fitted by maximising the posterior of the filter's own episode objective over
/// weighted episode sets (docs/learning.md), and the result is guarded: the report sets the fitted parameters
/// and the example cases' forecasts beside the starting model's, scores both on the same episodes, and a
/// ``UserWarning`` is emitted when the fitted model scores worse. A v1 model is fitted by expected-count EM.
///
/// Parameters
/// ----------
/// model : Model
///     The starting model; its priors (v2) or concentrations (v1) are the prior.
/// episodes : iterable of Episode, iterable of iterables of Episode, or dict of str to iterable of Episode
///     The finished episodes: one set, several sets, or named sets (v2; a v1 model takes one set). Episodes
///     marked ``exclude_from_training`` are left out.
/// weights : float or sequence of float, optional
///     Each set's weight (v2): curated episodes usually 1, TIES-derived ones less (``make model`` uses 0.2).
/// tolerance : float, optional
///     Stop when an iteration raises the objective by less (v2: relative, default 1e-7; v1: 1e-6).
/// max_iterations : int, optional
///     Stop after this many iterations (v2 default 40; v1 200).
/// fit_prior, fit_transitions, fit_emissions : bool, default True
///     Which parts of a v1 model to learn (for a v2 model, ``fit_emissions=False`` keeps the evidence rows and
///     ``fit_transitions=False`` the hazards).
/// fit_evidence, fit_hazards : bool, default True
///     Which parts of a v2 model to learn: the evidence rows ``q``; the hazards' base rates and betas.
/// progress : bool, optional
///     Show progress bars (``tqdm.auto``: a widget in Jupyter). Default: only in an interactive session.
/// examples : iterable of Case, optional
///     Cases whose forecasts (at their last signal) are set beside the starting model's (v2; default: the
///     example cases of ``pf.datasets``).
/// score : bool, default True
///     Score the starting and the fitted model on the first set's episodes (in-sample; v2).
/// validation : iterable of Episode, optional
///     Held-out episodes to score both models on (v2).
/// loo : bool, default False
///     Also score the fitting procedure by leave-one-out on the first set (each episode forecast by a model
///     fitted from ``model`` without it) beside the starting model (v2).
/// executor : concurrent.futures.Executor, optional
///     Runs the leave-one-out refits (anything with ``submit`` or ``map``: a thread or process pool, Dask).
///
/// Returns
/// -------
/// FitReportV2 or FitReport
///     The fitted model, the objective after each iteration, and (v2) the guard's tables.
///
/// Warns
/// -----
/// UserWarning
///     When the fitted model scores worse (Brier) than the starting model in any check (v2).
///
/// Examples
/// --------
/// >>> import pressure_forecast as pf
/// >>> episodes = pf.datasets.curated_episodes()[:4]
/// >>> r = pf.fit(pf.Model.default(), episodes, max_iterations=2, score=False, progress=False)
/// >>> r.iterations <= 2, r.objective[-1] >= r.objective[0]
/// (True, True)
/// >>> case = pf.Case("demo", "USA", "PRK", "2017-01-20", "2021-01-20", model=pf.Model.v1())
/// >>> case.observe("summit_held", "2018-06-12")
/// AppendReport(added=1, unchanged=0)
/// >>> report = pf.fit(pf.Model.v1(), [pf.Episode(case, "deal")], max_iterations=3, progress=False)
/// >>> len(report.log_likelihood) >= 1
/// True
#[gen_stub_pyfunction]
#[pyfunction]
#[pyo3(signature = (model, episodes, *, weights = None, tolerance = None, max_iterations = None, fit_prior = true, fit_transitions = true, fit_emissions = true, fit_evidence = true, fit_hazards = true, progress = None, examples = None, score = true, validation = None, loo = false, executor = None))]
#[gen_stub(override_return_type(type_repr = "FitReportV2 | FitReport", imports = ()))]
#[allow(clippy::too_many_arguments)]
pub fn fit<'py>(
    py: Python<'py>,
    model: &Bound<'py, PyModel>,
    #[gen_stub(override_type(type_repr = "typing.Iterable[Episode] | typing.Iterable[typing.Iterable[Episode]] | typing.Mapping[str, typing.Iterable[Episode]]", imports = ("typing")))]
    episodes: &Bound<'py, PyAny>,
    #[gen_stub(override_type(type_repr = "float | typing.Sequence[float] | None", imports = ("typing")))]
    weights: Option<&Bound<'py, PyAny>>,
    tolerance: Option<f64>,
    max_iterations: Option<u32>,
    fit_prior: bool,
    fit_transitions: bool,
    fit_emissions: bool,
    fit_evidence: bool,
    fit_hazards: bool,
    progress: Option<bool>,
    #[gen_stub(override_type(type_repr = "typing.Iterable[Case] | None", imports = ("typing")))]
    examples: Option<&Bound<'py, PyAny>>,
    score: bool,
    #[gen_stub(override_type(type_repr = "typing.Iterable[Episode] | None", imports = ("typing")))]
    validation: Option<&Bound<'py, PyAny>>,
    loo: bool,
    #[gen_stub(override_type(type_repr = "typing.Any | None", imports = ("typing")))] executor: Option<
        &Bound<'py, PyAny>,
    >,
) -> PyResult<Bound<'py, PyAny>> {
    if model.get().inner.as_v2().is_some() {
        let r = crate::learning_v2::fit_v2(
            py,
            model,
            episodes,
            weights,
            tolerance,
            max_iterations,
            fit_evidence && fit_emissions,
            fit_hazards && fit_transitions,
            progress,
            examples,
            score,
            validation,
            loo,
            executor,
        )?;
        return Ok(Bound::new(py, r)?.into_any());
    }
    v2_only(py, "weights", weights.is_some_and(|w| !w.is_none()))?;
    v2_only(py, "validation", validation.is_some_and(|w| !w.is_none()))?;
    v2_only(py, "loo", loo)?;
    v2_only(py, "executor", executor.is_some_and(|w| !w.is_none()))?;
    let eps = episodes_of(episodes)?;
    let m = model.get().inner.clone();
    let opts = fit_options(
        tolerance.unwrap_or(1e-6),
        max_iterations.unwrap_or(200),
        fit_prior,
        fit_transitions,
        fit_emissions,
    );
    let show = crate::progress::want_bar(progress, crate::progress::interactive(py));
    let r = run_long(py, show, |p| pf_core::learn::fit(&m, &eps, &opts, p))?;
    Ok(Bound::new(
        py,
        PyFitReport {
            model: Some(PyModel::new(r.model)),
            log_likelihood: r.log_likelihood,
            objective: r.objective,
            iterations: r.iterations,
            converged: r.converged,
        },
    )?
    .into_any())
}

fn v2_only(py: Python<'_>, field: &str, given: bool) -> PyResult<()> {
    if given {
        return Err(crate::errors::argument_error(
            py,
            field,
            "no such argument for a v1 model (it is for v2 models)",
            "a value".to_owned(),
        ));
    }
    Ok(())
}

serde_result!(
    /// Scores of a model replayed day by day over finished episodes, beside the baselines.
    ///
    /// The baselines are uniform, base-rate and prior-only; ``calibration`` holds reliability bins per outcome.
    /// Returned by ``backtest``.
    ///
    /// Examples
    /// --------
    /// >>> import pressure_forecast as pf
    /// >>> case = pf.Case("demo", "USA", "PRK", "2017-01-20", "2021-01-20")
    /// >>> case.observe("summit_held", "2018-06-12")
    /// AppendReport(added=1, unchanged=0)
    /// >>> episodes = [pf.Episode(case, "deal"), pf.Episode(case, "stalemate")]
    /// >>> report = pf.backtest(pf.Model.v1(), episodes, progress=False)
    /// >>> report.episodes, sorted(report.scores)
    /// (2, ['brier', 'ece', 'log_score'])
    PyBacktestReport, pf_core::BacktestReport, "BacktestReport", {
        /// The model's name.
        ///
        /// Returns
        /// -------
        /// str
        #[getter]
        fn model(&self) -> &str { &self.inner.model }
        /// Outcome names.
        ///
        /// Returns
        /// -------
        /// list[str]
        #[getter]
        fn outcomes(&self) -> Vec<String> { self.inner.outcomes.clone() }
        /// Number of episodes.
        ///
        /// Returns
        /// -------
        /// int
        #[getter]
        fn episodes(&self) -> usize { self.inner.episodes }
        /// Whether each episode was forecast by a model fitted on the others.
        ///
        /// Returns
        /// -------
        /// bool
        #[getter]
        fn loo(&self) -> bool { self.inner.loo }
        /// `{brier, log_score, ece}` of the model.
        ///
        /// Returns
        /// -------
        /// dict[str, float]
        #[getter]
        fn scores<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
            json_to_py(py, &serde_json::to_value(self.inner.scores).unwrap_or_default())
        }
        /// `{uniform: {...}, base_rate: {...}, prior: {...}}`.
        ///
        /// Returns
        /// -------
        /// dict[str, dict[str, float]]
        #[getter]
        fn baselines<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
            json_to_py(py, &serde_json::to_value(self.inner.baselines).unwrap_or_default())
        }
        /// Per-episode scores (dicts).
        ///
        /// Returns
        /// -------
        /// list[dict[str, Any]]
        #[getter]
        fn per_episode<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
            json_to_py(py, &serde_json::to_value(&self.inner.per_episode).unwrap_or_default())
        }
        /// Reliability bins per outcome, `{outcome: [{lower, upper, mean_predicted, observed, weight}]}`.
        ///
        /// Returns
        /// -------
        /// dict[str, list[dict[str, float]]]
        #[getter]
        fn calibration<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
            let d = PyDict::new(py);
            for (o, bins) in self.inner.outcomes.iter().zip(&self.inner.calibration) {
                d.set_item(o, json_to_py(py, &serde_json::to_value(bins).unwrap_or_default())?)?;
            }
            Ok(d)
        }
        /// The engine's JSON form (the CLI's `--json`), the same as `to_json`.
        ///
        /// Returns
        /// -------
        /// dict
        ///     The report; ``from_dict`` reads it back.
        ///
        /// Examples
        /// --------
        /// >>> import pressure_forecast as pf
        /// >>> case = pf.Case("demo", "USA", "PRK", "2017-01-20", "2021-01-20")
        /// >>> case.observe("summit_held", "2018-06-12")
        /// AppendReport(added=1, unchanged=0)
        /// >>> report = pf.backtest(pf.Model.v1(), [pf.Episode(case, "deal")], progress=False)
        /// >>> report.to_dict()["episodes"]
        /// 1
        #[gen_stub(override_return_type(type_repr = "dict[str, typing.Any]", imports = ("typing")))]
        fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
            json_to_py(py, &self.inner.to_json())
        }
        /// The reliability diagram: observed frequency against mean forecast per bin (needs matplotlib).
        ///
        /// Parameters
        /// ----------
        /// ax : matplotlib.axes.Axes, optional
        ///     Where to draw; a new figure when None.
        ///
        /// Returns
        /// -------
        /// matplotlib.axes.Axes
        ///     The axes drawn on.
        ///
        /// Examples
        /// --------
        /// >>> import pressure_forecast as pf
        /// >>> case = pf.Case("demo", "USA", "PRK", "2017-01-20", "2021-01-20")
        /// >>> case.observe("summit_held", "2018-06-12")
        /// AppendReport(added=1, unchanged=0)
        /// >>> report = pf.backtest(pf.Model.v1(), [pf.Episode(case, "deal")], progress=False)
        /// >>> ax = report.plot()
        /// >>> type(ax).__name__
        /// 'Axes'
        #[pyo3(signature = (ax = None))]
        fn plot<'py>(slf: &Bound<'py, Self>, ax: Option<&Bound<'py, PyAny>>) -> PyResult<Bound<'py, PyAny>> {
            let kw = PyDict::new(slf.py());
            kw.set_item("ax", ax)?;
            helper(slf.py(), "plot", "plot_reliability", (slf,), Some(&kw))
        }
        /// Build from the form of `to_dict` (a dict or a JSON string).
        ///
        /// Parameters
        /// ----------
        /// obj : dict or str
        ///     The form ``to_dict`` writes.
        ///
        /// Returns
        /// -------
        /// BacktestReport
        ///     The report.
        ///
        /// Examples
        /// --------
        /// >>> import pressure_forecast as pf
        /// >>> case = pf.Case("demo", "USA", "PRK", "2017-01-20", "2021-01-20")
        /// >>> case.observe("summit_held", "2018-06-12")
        /// AppendReport(added=1, unchanged=0)
        /// >>> report = pf.backtest(pf.Model.v1(), [pf.Episode(case, "deal")], progress=False)
        /// >>> pf.BacktestReport.from_dict(report.to_dict()) == report
        /// True
        #[staticmethod]
        fn from_dict(obj: &Bound<'_, PyAny>) -> PyResult<Self> {
            from_py_json(obj, "a BacktestReport").map(|inner| Self { inner })
        }
    }
);

/// Replay a model over finished episodes and score it beside the baselines.
///
/// For a v2 model the baselines are the five of docs/learning.md (uniform, base rate, prior only, the
/// codebook-aware base rate, a constant daily deal hazard), trained on the training episodes; with ``loo`` or
/// ``folds`` each episode is forecast by a model fitted from ``model`` without it (or without its fold). The
/// refits can run on any ``concurrent.futures``-style ``executor`` (one task per fold; each task pickles the
/// model and the episodes), with results identical to the single-process run.
///
/// Parameters
/// ----------
/// model : Model
///     The model to score (the starting model of the refits).
/// episodes : iterable of Episode, iterable of iterables of Episode, or dict of str to iterable of Episode
///     The finished episodes: one set, or several (v2: all train the refits and baselines; ``score`` picks
///     the one scored).
/// loo : bool, default False
///     Leave-one-out refits.
/// folds : int, optional
///     k-fold refits instead (episode ``i`` in fold ``i mod k``; v2).
/// bins : int, default 10
///     Reliability bins per outcome.
/// tolerance, max_iterations
///     The refits' settings (see ``fit``).
/// progress : bool, optional
///     Show a progress bar (default: only in an interactive session).
/// weights : float or sequence of float, optional
///     Each set's weight (v2).
/// score : int, default 0
///     The index of the set scored (v2).
/// executor : concurrent.futures.Executor, optional
///     Runs the refits: anything with ``submit`` (preferred) or ``map`` (v2).
///
/// Returns
/// -------
/// BacktestReportV2 or BacktestReport
///     The scores, the baselines and the reliability bins.
///
/// Examples
/// --------
/// >>> import pressure_forecast as pf
/// >>> from concurrent.futures import ThreadPoolExecutor
/// >>> episodes = pf.datasets.curated_episodes()[:3]
/// >>> with ThreadPoolExecutor(2) as pool:
/// ...     r = pf.backtest(pf.Model.default(), episodes, loo=True, max_iterations=1, executor=pool,
/// ...                     progress=False)
/// >>> r.refit, r.episodes
/// ('leave-one-out', 3)
#[gen_stub_pyfunction]
#[pyfunction]
#[pyo3(signature = (model, episodes, *, loo = false, folds = None, bins = 10, tolerance = None, max_iterations = None, progress = None, weights = None, score = 0, executor = None))]
#[gen_stub(override_return_type(type_repr = "BacktestReportV2 | BacktestReport", imports = ()))]
#[allow(clippy::too_many_arguments)]
pub fn backtest<'py>(
    py: Python<'py>,
    model: &Bound<'py, PyModel>,
    #[gen_stub(override_type(type_repr = "typing.Iterable[Episode] | typing.Iterable[typing.Iterable[Episode]] | typing.Mapping[str, typing.Iterable[Episode]]", imports = ("typing")))]
    episodes: &Bound<'py, PyAny>,
    loo: bool,
    folds: Option<usize>,
    bins: usize,
    tolerance: Option<f64>,
    max_iterations: Option<u32>,
    progress: Option<bool>,
    #[gen_stub(override_type(type_repr = "float | typing.Sequence[float] | None", imports = ("typing")))]
    weights: Option<&Bound<'py, PyAny>>,
    score: usize,
    #[gen_stub(override_type(type_repr = "typing.Any | None", imports = ("typing")))] executor: Option<
        &Bound<'py, PyAny>,
    >,
) -> PyResult<Bound<'py, PyAny>> {
    let show = crate::progress::want_bar(progress, crate::progress::interactive(py));
    if model.get().inner.as_v2().is_some() {
        let sets = crate::learning_v2::sets_of(episodes, weights)?;
        let opts = crate::learning_v2::backtest_options(loo, folds, bins, tolerance, max_iterations);
        let r = crate::learning_v2::run_backtest(py, model, &sets, score, &opts, executor, show)?;
        return Ok(Bound::new(py, crate::learning_v2::PyBacktestReportV2 { inner: r })?.into_any());
    }
    v2_only(py, "folds", folds.is_some())?;
    v2_only(py, "weights", weights.is_some_and(|w| !w.is_none()))?;
    v2_only(py, "executor", executor.is_some_and(|w| !w.is_none()))?;
    let eps = episodes_of(episodes)?;
    let m = model.get().inner.clone();
    let opts = pf_core::BacktestOptions {
        loo,
        bins,
        fit: fit_options(
            tolerance.unwrap_or(1e-6),
            max_iterations.unwrap_or(200),
            true,
            true,
            true,
        ),
    };
    let r = run_long(py, show, |p| pf_core::backtest(&m, &eps, &opts, p))?;
    Ok(Bound::new(py, PyBacktestReport { inner: r })?.into_any())
}

impl crate::pickle::Pickle for PyFitReport {
    const KIND: &'static str = "FitReport";
    type State = FitState;
    fn state(&self) -> FitState {
        self.to_state()
    }
    fn from_state(py: Python<'_>, state: FitState) -> PyResult<Self> {
        PyFitReport::from_state_struct(py, state)
    }
}
