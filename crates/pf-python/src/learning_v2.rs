//! Learning for v2 models from Python: `fit` on weighted episode sets with a guard (how the parameters and the
//! example cases' forecasts moved, the scores against the starting model, a `UserWarning` when the fitted model
//! scores worse), and `backtest` with leave-one-out or k-fold refits on any `concurrent.futures`-style executor.
//!
//! The executor's unit of work is [`_backtest_fold`], a module-level function (so it pickles by reference)
//! taking the model and the episode sets (both pickle) and returning the fold's per-episode scores as
//! MessagePack bytes (exact floats); the pooled report is built by the same [`pf_core::v2::baselines::report`]
//! as the single-process run, in the same fold order, so the two agree bit for bit.

use std::ffi::CString;

use pyo3::exceptions::PyUserWarning;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyList, PyTuple};
use pyo3_stub_gen::derive::*;
use serde::{Deserialize, Serialize};

use pf_core::v2::baselines::{BacktestOptionsV2, BacktestReportV2, EpisodeScoreV2, NamedScores};
use pf_core::v2::{EpisodeSet, FitOptionsV2, ModelV2};

use crate::convert::{from_py_json, helper, json_to_py};
use crate::episodes::PyEpisode;
use crate::errors::{IntoPyResult, argument_error};
use crate::model::PyModel;
use crate::progress::{interactive, run_long, want_bar};

// ---------------------------------------------------------------------------------------------------------
// Episode sets from Python
// ---------------------------------------------------------------------------------------------------------

fn episode_list(obj: &Bound<'_, PyAny>, what: &str) -> PyResult<Option<Vec<pf_core::Episode>>> {
    let mut out = Vec::new();
    for (i, e) in obj.try_iter()?.enumerate() {
        let e = e?;
        match e.cast::<PyEpisode>() {
            Ok(e) => out.push(e.get().inner.clone()),
            Err(_) if i == 0 => return Ok(None),
            Err(_) => {
                return Err(argument_error(
                    obj.py(),
                    &format!("{what}[{i}]"),
                    "an Episode (see load_episodes)",
                    e.repr().map(|r| r.to_string()).unwrap_or_default(),
                ));
            }
        }
    }
    Ok(Some(out))
}

/// Episode sets from `episodes` (an iterable of Episode: one set; an iterable of such iterables: one set each;
/// a dict `{name: episodes}`) and `weights` (None: 1 each; a number: every set; a sequence: one per set).
pub fn sets_of(episodes: &Bound<'_, PyAny>, weights: Option<&Bound<'_, PyAny>>) -> PyResult<Vec<EpisodeSet>> {
    let py = episodes.py();
    let mut named: Vec<(String, Vec<pf_core::Episode>)> = Vec::new();
    if let Ok(d) = episodes.cast::<PyDict>() {
        for (k, v) in d.iter() {
            let name: String = k.str()?.extract()?;
            let eps = episode_list(&v, &format!("episodes[{name:?}]"))?.ok_or_else(|| {
                argument_error(
                    py,
                    &format!("episodes[{name:?}]"),
                    "an iterable of Episode",
                    String::new(),
                )
            })?;
            named.push((name, eps));
        }
    } else {
        let items: Vec<Bound<'_, PyAny>> = episodes.try_iter()?.collect::<PyResult<_>>()?;
        let list = PyList::new(py, &items)?;
        match episode_list(list.as_any(), "episodes")? {
            Some(eps) => named.push(("episodes".to_owned(), eps)),
            None => {
                for (i, it) in items.iter().enumerate() {
                    let eps = episode_list(it, &format!("episodes[{i}]"))?.ok_or_else(|| {
                        argument_error(
                            py,
                            &format!("episodes[{i}]"),
                            "an Episode, or an iterable of Episode (one episode set)",
                            it.repr().map(|r| r.to_string()).unwrap_or_default(),
                        )
                    })?;
                    named.push((format!("set {i}"), eps));
                }
            }
        }
    }
    let ws: Vec<f64> = match weights {
        None => vec![1.0; named.len()],
        Some(w) if w.is_none() => vec![1.0; named.len()],
        Some(w) => match w.extract::<f64>() {
            Ok(x) => vec![x; named.len()],
            Err(_) => w.extract::<Vec<f64>>().map_err(|_| {
                argument_error(
                    py,
                    "weights",
                    "a number or one number per episode set",
                    w.repr().map(|r| r.to_string()).unwrap_or_default(),
                )
            })?,
        },
    };
    if ws.len() != named.len() {
        return Err(argument_error(
            py,
            "weights",
            &format!("one weight per episode set ({})", named.len()),
            format!("{} weights", ws.len()),
        ));
    }
    named
        .into_iter()
        .zip(ws)
        .map(|((name, eps), w)| {
            if !(w.is_finite() && w > 0.0) {
                return Err(argument_error(py, "weights", "finite weights > 0", w.to_string()));
            }
            Ok(EpisodeSet::new(name, w, eps))
        })
        .collect()
}

/// The sets as the executor's tasks receive them: `[(source, weight, [Episode, ...]), ...]`.
fn sets_to_py<'py>(py: Python<'py>, sets: &[EpisodeSet]) -> PyResult<Bound<'py, PyList>> {
    let items = sets
        .iter()
        .map(|s| {
            let eps: Vec<PyEpisode> = s
                .episodes
                .iter()
                .map(|e| PyEpisode { inner: e.clone() })
                .collect();
            (s.source.clone(), s.weight, eps).into_pyobject(py)
        })
        .collect::<PyResult<Vec<_>>>()?;
    PyList::new(py, items)
}

fn sets_from_py(sets: Vec<(String, f64, Bound<'_, PyAny>)>) -> PyResult<Vec<EpisodeSet>> {
    sets.into_iter()
        .map(|(source, weight, eps)| {
            Ok(EpisodeSet::new(
                source,
                weight,
                crate::episodes::episodes_of(&eps)?,
            ))
        })
        .collect()
}

fn v2_model<'a>(py: Python<'_>, m: &'a pf_core::Model) -> PyResult<&'a ModelV2> {
    crate::scenario::v2_of(py, m, "this")
}

// ---------------------------------------------------------------------------------------------------------
// BacktestReportV2
// ---------------------------------------------------------------------------------------------------------

/// Scores of a v2 model replayed day by day over finished episodes, beside the five baselines.
///
/// The forecasters are ``model`` and the baselines ``uniform``, ``base_rate``, ``prior_only``,
/// ``codebook_base_rate`` (eligibility known, deals and fates learnt only from the signals dated so far) and
/// ``constant_deal_hazard`` (docs/learning.md). ``refit`` says how the model was obtained for each episode:
/// ``given``, ``leave-one-out`` or ``k-fold``. Returned by ``backtest`` for a v2 model.
///
/// Examples
/// --------
/// >>> import pressure_forecast as pf
/// >>> episodes = pf.datasets.curated_episodes()[:3]
/// >>> r = pf.backtest(pf.Model.default(), episodes, progress=False)
/// >>> r.refit, r.episodes, list(r.to_pandas().index)[:2]
/// ('given', 3, ['model', 'uniform'])
#[gen_stub_pyclass]
#[pyclass(module = "pressure_forecast._native", name = "BacktestReportV2", frozen, eq)]
#[derive(Clone)]
pub struct PyBacktestReportV2 {
    /// The engine's report.
    pub inner: BacktestReportV2,
}

/// Equal when their JSON forms are (NaN in empty bins compares equal).
impl PartialEq for PyBacktestReportV2 {
    fn eq(&self, other: &Self) -> bool {
        serde_json::to_value(&self.inner).ok() == serde_json::to_value(&other.inner).ok()
    }
}

crate::pickle::pickle_inner!(PyBacktestReportV2, BacktestReportV2, "BacktestReportV2");

fn scores_dict<'py>(py: Python<'py>, scores: &[NamedScores]) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    for s in scores {
        let e = PyDict::new(py);
        e.set_item("brier", s.brier)?;
        e.set_item("log_score", s.log_score)?;
        e.set_item("ece", s.ece)?;
        d.set_item(&s.name, e)?;
    }
    Ok(d)
}

#[gen_stub_pymethods]
#[pymethods]
impl PyBacktestReportV2 {
    /// The model's name.
    ///
    /// Returns
    /// -------
    /// str
    #[getter]
    fn model(&self) -> &str {
        &self.inner.model
    }
    /// The episodes scored (the set's name).
    ///
    /// Returns
    /// -------
    /// str
    #[getter]
    fn set(&self) -> &str {
        &self.inner.set
    }
    /// ``given``, ``leave-one-out`` or ``K-fold``.
    ///
    /// Returns
    /// -------
    /// str
    #[getter]
    fn refit(&self) -> &str {
        &self.inner.refit
    }
    /// Number of episodes scored.
    ///
    /// Returns
    /// -------
    /// int
    #[getter]
    fn episodes(&self) -> usize {
        self.inner.episodes
    }
    /// Outcome names.
    ///
    /// Returns
    /// -------
    /// list[str]
    #[getter]
    fn outcomes(&self) -> Vec<String> {
        pf_core::v2::OUTCOMES.iter().map(|s| (*s).to_owned()).collect()
    }
    /// Whether each episode was forecast by a model fitted without it (leave-one-out).
    ///
    /// Returns
    /// -------
    /// bool
    #[getter]
    fn loo(&self) -> bool {
        self.inner.refit == "leave-one-out"
    }
    /// ``{brier, log_score, ece}`` of the model (as in ``BacktestReport``).
    ///
    /// Returns
    /// -------
    /// dict[str, float]
    #[getter]
    fn scores<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let d = scores_dict(py, &self.inner.scores[..1])?;
        Ok(d.get_item("model")?
            .map(|x| x.cast_into::<PyDict>())
            .transpose()?
            .unwrap_or_else(|| PyDict::new(py)))
    }
    /// ``{baseline: {brier, log_score, ece}}`` for the five baselines.
    ///
    /// Returns
    /// -------
    /// dict[str, dict[str, float]]
    #[getter]
    fn baselines<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        scores_dict(py, &self.inner.scores[1.min(self.inner.scores.len())..])
    }
    /// Per-episode scores: dicts with ``id``, ``outcome``, ``days``, ``final_probabilities``, the model's
    /// ``brier`` and ``log_score``, and ``baselines`` (``{name: {brier, log_score}}``).
    ///
    /// Returns
    /// -------
    /// list[dict[str, Any]]
    #[getter]
    #[gen_stub(override_return_type(type_repr = "list[dict[str, typing.Any]]", imports = ("typing")))]
    fn per_episode<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let v: Vec<serde_json::Value> = self
            .inner
            .per_episode
            .iter()
            .map(|e| {
                let own = e.scores.first().cloned().unwrap_or_default();
                let baselines: serde_json::Map<String, serde_json::Value> = e
                    .scores
                    .iter()
                    .skip(1)
                    .map(|s| {
                        (
                            s.name.clone(),
                            serde_json::json!({"brier": s.brier, "log_score": s.log_score}),
                        )
                    })
                    .collect();
                serde_json::json!({
                    "id": e.id,
                    "outcome": e.outcome,
                    "days": e.days,
                    "final_probabilities": e.final_probabilities,
                    "brier": own.brier,
                    "log_score": own.log_score,
                    "baselines": baselines,
                })
            })
            .collect();
        json_to_py(py, &serde_json::Value::Array(v))
    }
    /// Reliability bins of the model per outcome, ``{outcome: [{lower, upper, mean_predicted, observed, weight}]}``.
    ///
    /// Returns
    /// -------
    /// dict[str, list[dict[str, float]]]
    #[getter]
    #[gen_stub(override_return_type(type_repr = "dict[str, list[dict[str, typing.Any]]]", imports = ("typing")))]
    fn calibration<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let d = PyDict::new(py);
        for (o, bins) in pf_core::v2::OUTCOMES.iter().zip(&self.inner.calibration) {
            d.set_item(
                o,
                json_to_py(py, &serde_json::to_value(bins).map_err(crate::results::ser_err)?)?,
            )?;
        }
        Ok(d)
    }
    /// The reliability diagram of the model (needs matplotlib).
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
    #[pyo3(signature = (ax = None))]
    fn plot<'py>(slf: &Bound<'py, Self>, ax: Option<&Bound<'py, PyAny>>) -> PyResult<Bound<'py, PyAny>> {
        let kw = PyDict::new(slf.py());
        kw.set_item("ax", ax)?;
        crate::convert::helper(slf.py(), "plot", "plot_reliability", (slf,), Some(&kw))
    }
    /// The report as a dict, the same as ``to_json`` (the CLI's ``backtest --json``).
    ///
    /// Returns
    /// -------
    /// dict
    #[gen_stub(override_return_type(type_repr = "dict[str, typing.Any]", imports = ("typing")))]
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        self.to_json(py)
    }
    /// The report as a dict (the CLI's ``backtest --json``).
    ///
    /// Returns
    /// -------
    /// dict
    ///     ``BacktestReportV2.from_json`` reads it back.
    #[gen_stub(override_return_type(type_repr = "dict[str, typing.Any]", imports = ("typing")))]
    fn to_json<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        json_to_py(
            py,
            &serde_json::to_value(&self.inner).map_err(crate::results::ser_err)?,
        )
    }
    /// Build from the form of ``to_json`` (a dict or a JSON string).
    ///
    /// Parameters
    /// ----------
    /// obj : dict or str
    ///     The form ``to_json`` writes.
    ///
    /// Returns
    /// -------
    /// BacktestReportV2
    ///
    /// Examples
    /// --------
    /// >>> import pressure_forecast as pf
    /// >>> r = pf.backtest(pf.Model.default(), pf.datasets.curated_episodes()[:2], progress=False)
    /// >>> pf.BacktestReportV2.from_json(r.to_json()) == r
    /// True
    #[staticmethod]
    fn from_json(obj: &Bound<'_, PyAny>) -> PyResult<PyBacktestReportV2> {
        from_py_json(obj, "a BacktestReportV2").map(|inner| PyBacktestReportV2 { inner })
    }
    /// One row per forecaster (the model, then the baselines): ``brier``, ``log_score``, ``ece``.
    ///
    /// Returns
    /// -------
    /// pandas.DataFrame
    ///     Indexed by ``forecaster``.
    #[pyo3(signature = (long = false))]
    #[gen_stub(override_return_type(type_repr = "pandas.DataFrame", imports = ("pandas")))]
    fn to_pandas<'py>(&self, py: Python<'py>, long: bool) -> PyResult<Bound<'py, PyAny>> {
        let df = scores_frame(py, &self.inner.scores, "forecaster")?;
        if long {
            return helper(py, "_frames", "long_form", (df, "score"), None);
        }
        Ok(df)
    }
    /// The report as HTML, for notebooks: its repr and the table of ``to_pandas``.
    ///
    /// Returns
    /// -------
    /// str
    fn _repr_html_(&self, py: Python<'_>) -> PyResult<String> {
        html_with_table(py, &self.__repr__(), &self.to_pandas(py, false)?)
    }
    fn __repr__(&self) -> String {
        let model = self.inner.scores.first().map_or(f64::NAN, |s| s.brier);
        let best = self
            .inner
            .scores
            .iter()
            .skip(1)
            .min_by(|a, b| a.brier.total_cmp(&b.brier))
            .map(|s| format!("{}={:.4}", s.name, s.brier))
            .unwrap_or_default();
        format!(
            "BacktestReportV2(model={:?}, set={:?}, refit={:?}, episodes={}, brier={:.4}, best baseline {})",
            self.inner.model, self.inner.set, self.inner.refit, self.inner.episodes, model, best
        )
    }
    fn __reduce__<'py>(slf: &Bound<'py, Self>) -> PyResult<(Bound<'py, PyAny>, Bound<'py, PyTuple>)> {
        crate::pickle::reduce(slf)
    }
}

fn scores_frame<'py>(py: Python<'py>, scores: &[NamedScores], index: &str) -> PyResult<Bound<'py, PyAny>> {
    let pd = py.import("pandas")?;
    let data = PyDict::new(py);
    data.set_item("brier", scores.iter().map(|s| s.brier).collect::<Vec<_>>())?;
    data.set_item(
        "log_score",
        scores.iter().map(|s| s.log_score).collect::<Vec<_>>(),
    )?;
    data.set_item("ece", scores.iter().map(|s| s.ece).collect::<Vec<_>>())?;
    let kw = PyDict::new(py);
    kw.set_item("name", index)?;
    let idx = pd.getattr("Index")?.call(
        (scores.iter().map(|s| s.name.clone()).collect::<Vec<_>>(),),
        Some(&kw),
    )?;
    let kw = PyDict::new(py);
    kw.set_item("index", idx)?;
    pd.getattr("DataFrame")?.call((data,), Some(&kw))
}

fn html_with_table(py: Python<'_>, title: &str, df: &Bound<'_, PyAny>) -> PyResult<String> {
    let title: String = py.import("html")?.getattr("escape")?.call1((title,))?.extract()?;
    let table: String = df.call_method0("to_html")?.extract()?;
    Ok(format!("<p><strong>{title}</strong></p>\n{table}"))
}

// ---------------------------------------------------------------------------------------------------------
// Backtest: serial or on an executor
// ---------------------------------------------------------------------------------------------------------

/// The folds of a backtest of set `s`: one per episode (leave-one-out), `k` of them, or none (`given`).
fn folds_of(
    py: Python<'_>,
    sets: &[EpisodeSet],
    s: usize,
    opts: &BacktestOptionsV2,
) -> PyResult<Vec<Vec<usize>>> {
    let idx: Vec<usize> = (0..sets[s].episodes.len())
        .filter(|&i| !sets[s].episodes[i].exclude_from_training)
        .collect();
    if opts.loo {
        Ok(idx.iter().map(|&i| vec![i]).collect())
    } else if let Some(k) = opts.folds {
        if k < 2 {
            return Err(argument_error(py, "folds", "at least 2 folds", k.to_string()));
        }
        Ok((0..k)
            .map(|f| {
                idx.iter()
                    .enumerate()
                    .filter(|(n, _)| n % k == f)
                    .map(|(_, &i)| i)
                    .collect::<Vec<usize>>()
            })
            .filter(|v| !v.is_empty())
            .collect())
    } else {
        Ok(Vec::new())
    }
}

fn refit_label(opts: &BacktestOptionsV2) -> String {
    if opts.loo {
        "leave-one-out".to_owned()
    } else if let Some(k) = opts.folds {
        format!("{k}-fold")
    } else {
        "given".to_owned()
    }
}

/// Run the backtest of set `s`: in this process (the GIL released) or with each fold a task on `executor`.
pub fn run_backtest(
    py: Python<'_>,
    model: &Bound<'_, PyModel>,
    sets: &[EpisodeSet],
    s: usize,
    opts: &BacktestOptionsV2,
    executor: Option<&Bound<'_, PyAny>>,
    show: bool,
) -> PyResult<BacktestReportV2> {
    let m = model.get().inner.clone();
    let v2 = v2_model(py, &m)?.clone();
    if s >= sets.len() {
        return Err(argument_error(
            py,
            "score",
            &format!("the index of an episode set (there are {})", sets.len()),
            s.to_string(),
        ));
    }
    let folds = folds_of(py, sets, s, opts)?;
    let executor = executor.filter(|e| !e.is_none());
    let Some(executor) = executor.filter(|_| !folds.is_empty()) else {
        return run_long(py, show, |p| {
            pf_core::v2::baselines::backtest(&v2, sets, s, opts, p)
        });
    };
    if opts.bins == 0 {
        return Err(argument_error(py, "bins", "an integer >= 1", "0".to_owned()));
    }
    let task = py
        .import("pressure_forecast._native")?
        .getattr("_backtest_fold")?;
    let sets_py = sets_to_py(py, sets)?;
    let opts_bytes = PyBytes::new(py, &rmp_serde::to_vec_named(opts).map_err(pickle_err)?);
    let args: Vec<Bound<'_, PyTuple>> = folds
        .iter()
        .map(|f| {
            PyTuple::new(
                py,
                [
                    model.as_any().clone(),
                    sets_py.as_any().clone(),
                    s.into_pyobject(py)?.into_any(),
                    f.clone().into_pyobject(py)?.into_any(),
                    opts_bytes.as_any().clone(),
                ],
            )
        })
        .collect::<PyResult<_>>()?;
    let bar = crate::progress::calling_thread_bar(py, show, folds.len() as u64, "refits");
    let results: Vec<Bound<'_, PyAny>> = if executor.hasattr("submit")? {
        // submit: concurrent.futures and Dask alike return futures with `result()`.
        let futures: Vec<Bound<'_, PyAny>> = args
            .iter()
            .map(|a| {
                let mut v = vec![task.clone()];
                v.extend(a.iter());
                executor.call_method1("submit", PyTuple::new(py, v)?)
            })
            .collect::<PyResult<_>>()?;
        let mut out = Vec::with_capacity(futures.len());
        for f in futures {
            out.push(f.call_method0("result")?);
            if let Some(b) = &bar {
                b.call_method1("update", (1,))?;
            }
        }
        out
    } else {
        // map(fn, *iterables): one iterable per argument.
        let columns: Vec<Bound<'_, PyList>> = (0..5)
            .map(|c| {
                PyList::new(
                    py,
                    args.iter().map(|a| a.get_item(c)).collect::<PyResult<Vec<_>>>()?,
                )
            })
            .collect::<PyResult<_>>()?;
        let mut call = vec![task.clone()];
        call.extend(columns.into_iter().map(Bound::into_any));
        let mut out = Vec::new();
        for r in executor
            .call_method1("map", PyTuple::new(py, call)?)?
            .try_iter()?
        {
            out.push(r?);
            if let Some(b) = &bar {
                b.call_method1("update", (1,))?;
            }
        }
        out
    };
    if let Some(b) = bar {
        b.call_method0("close")?;
    }
    let mut per: Vec<EpisodeScoreV2> = Vec::new();
    for r in results {
        let bytes: Vec<u8> = r.extract()?;
        let part: Vec<EpisodeScoreV2> = rmp_serde::from_slice(&bytes).map_err(pickle_err)?;
        per.extend(part);
    }
    Ok(pf_core::v2::baselines::report(
        v2.name(),
        &sets[s].source,
        &refit_label(opts),
        per,
        opts.bins,
    ))
}

fn pickle_err(e: impl std::fmt::Display) -> PyErr {
    crate::errors::PressureForecastError::new_err(format!("backtest task state: {e}"))
}

/// One fold of a v2 backtest, the unit of work an executor runs: fit ``model`` on ``sets`` without the
/// episodes ``held`` of set ``s``, score them, and return the per-episode scores (MessagePack bytes).
///
/// Module-level, so that it pickles by reference; the model and the episodes pickle too. Not for direct use:
/// ``backtest(..., executor=...)`` calls it.
///
/// Parameters
/// ----------
/// model : Model
///     The starting model (v2).
/// sets : list[tuple[str, float, list[Episode]]]
///     The episode sets: name, weight, episodes.
/// s : int
///     The set scored.
/// held : list[int]
///     The held-out episodes of set ``s``.
/// options : bytes
///     The backtest's options (MessagePack).
///
/// Returns
/// -------
/// bytes
///     The fold's per-episode scores (MessagePack).
#[gen_stub_pyfunction]
#[pyfunction]
pub fn _backtest_fold<'py>(
    py: Python<'py>,
    model: &Bound<'py, PyModel>,
    #[gen_stub(override_type(type_repr = "list[tuple[builtins.str, builtins.float, list[Episode]]]", imports = ("builtins")))]
    sets: Vec<(String, f64, Bound<'py, PyAny>)>,
    s: usize,
    held: Vec<usize>,
    #[gen_stub(override_type(type_repr = "builtins.bytes", imports = ("builtins")))] options: Vec<u8>,
) -> PyResult<Bound<'py, PyBytes>> {
    let m = model.get().inner.clone();
    let v2 = v2_model(py, &m)?;
    let opts: BacktestOptionsV2 = rmp_serde::from_slice(&options).map_err(pickle_err)?;
    let sets = sets_from_py(sets)?;
    if s >= sets.len() || held.iter().any(|&i| i >= sets[s].episodes.len()) {
        return Err(argument_error(
            py,
            "held",
            "episodes of the set",
            format!("{held:?}"),
        ));
    }
    let per = py
        .detach(|| pf_core::v2::baselines::fold_scores(v2, &sets, s, &held, &opts))
        .py_err(py)?;
    Ok(PyBytes::new(
        py,
        &rmp_serde::to_vec_named(&per).map_err(pickle_err)?,
    ))
}

/// The parts of a v2 backtest with refits, for running its folds elsewhere (``pressure_forecast.dask``):
/// the episode sets as the tasks receive them, the index of the set scored, the folds (lists of held-out
/// episodes, in the order the report pools them) and the options (MessagePack).
///
/// Checks the arguments as ``backtest`` does. Not for direct use.
///
/// Parameters
/// ----------
/// model : Model
///     The starting model (v2).
/// episodes : iterable of Episode, iterable of iterables of Episode, or dict of str to iterable of Episode
///     As for ``backtest``.
/// loo, folds, bins, tolerance, max_iterations, weights, score
///     As for ``backtest``.
///
/// Returns
/// -------
/// tuple[list[tuple[str, float, list[Episode]]], int, list[list[int]], bytes]
///     ``(sets, score, folds, options)``; ``folds`` is empty when there are no refits.
#[gen_stub_pyfunction]
#[pyfunction]
#[pyo3(signature = (model, episodes, *, loo = false, folds = None, bins = 10, tolerance = None, max_iterations = None, weights = None, score = 0))]
#[gen_stub(override_return_type(type_repr = "tuple[list[tuple[builtins.str, builtins.float, list[Episode]]], builtins.int, list[list[builtins.int]], builtins.bytes]", imports = ("builtins")))]
#[allow(clippy::too_many_arguments, clippy::type_complexity)]
pub fn _backtest_plan<'py>(
    py: Python<'py>,
    model: &Bound<'py, PyModel>,
    #[gen_stub(override_type(type_repr = "typing.Iterable[Episode] | typing.Iterable[typing.Iterable[Episode]] | typing.Mapping[str, typing.Iterable[Episode]]", imports = ("typing")))]
    episodes: &Bound<'py, PyAny>,
    loo: bool,
    folds: Option<usize>,
    bins: usize,
    tolerance: Option<f64>,
    max_iterations: Option<u32>,
    #[gen_stub(override_type(type_repr = "float | typing.Sequence[float] | None", imports = ("typing")))]
    weights: Option<&Bound<'py, PyAny>>,
    score: usize,
) -> PyResult<(Bound<'py, PyList>, usize, Vec<Vec<usize>>, Bound<'py, PyBytes>)> {
    v2_model(py, &model.get().inner)?;
    let sets = sets_of(episodes, weights)?;
    let opts = backtest_options(loo, folds, bins, tolerance, max_iterations);
    if score >= sets.len() {
        return Err(argument_error(
            py,
            "score",
            &format!("the index of an episode set (there are {})", sets.len()),
            score.to_string(),
        ));
    }
    if opts.bins == 0 {
        return Err(argument_error(py, "bins", "an integer >= 1", "0".to_owned()));
    }
    let f = folds_of(py, &sets, score, &opts)?;
    let opts_bytes = PyBytes::new(py, &rmp_serde::to_vec_named(&opts).map_err(pickle_err)?);
    Ok((sets_to_py(py, &sets)?, score, f, opts_bytes))
}

/// Several folds of a v2 backtest in one task: ``_backtest_fold`` for each list of held-out episodes in
/// ``folds``, the episode sets converted once. Not for direct use.
///
/// Parameters
/// ----------
/// model : Model
///     The starting model (v2).
/// sets : list[tuple[str, float, list[Episode]]]
///     The episode sets: name, weight, episodes.
/// s : int
///     The set scored.
/// folds : list[list[int]]
///     The folds, each a list of held-out episodes of set ``s``.
/// options : bytes
///     The backtest's options (MessagePack).
///
/// Returns
/// -------
/// list[bytes]
///     Each fold's per-episode scores (MessagePack), in the order of ``folds``.
#[gen_stub_pyfunction]
#[pyfunction]
pub fn _backtest_folds<'py>(
    py: Python<'py>,
    model: &Bound<'py, PyModel>,
    #[gen_stub(override_type(type_repr = "list[tuple[builtins.str, builtins.float, list[Episode]]]", imports = ("builtins")))]
    sets: Vec<(String, f64, Bound<'py, PyAny>)>,
    s: usize,
    folds: Vec<Vec<usize>>,
    #[gen_stub(override_type(type_repr = "builtins.bytes", imports = ("builtins")))] options: Vec<u8>,
) -> PyResult<Vec<Bound<'py, PyBytes>>> {
    let m = model.get().inner.clone();
    let v2 = v2_model(py, &m)?;
    let opts: BacktestOptionsV2 = rmp_serde::from_slice(&options).map_err(pickle_err)?;
    let sets = sets_from_py(sets)?;
    for held in &folds {
        if s >= sets.len() || held.iter().any(|&i| i >= sets[s].episodes.len()) {
            return Err(argument_error(
                py,
                "folds",
                "episodes of the set",
                format!("{held:?}"),
            ));
        }
    }
    let per = py
        .detach(|| {
            folds
                .iter()
                .map(|held| pf_core::v2::baselines::fold_scores(v2, &sets, s, held, &opts))
                .collect::<pf_core::Result<Vec<_>>>()
        })
        .py_err(py)?;
    per.iter()
        .map(|p| Ok(PyBytes::new(py, &rmp_serde::to_vec_named(p).map_err(pickle_err)?)))
        .collect()
}

/// The report of a v2 backtest from its folds' results (``_backtest_folds``), pooled in order as the
/// single-process run pools them. Not for direct use.
///
/// Parameters
/// ----------
/// model : Model
///     The starting model (v2).
/// source : str
///     The name of the set scored.
/// options : bytes
///     The backtest's options (MessagePack).
/// parts : list[bytes]
///     The folds' per-episode scores, in fold order.
///
/// Returns
/// -------
/// BacktestReportV2
///     The report.
#[gen_stub_pyfunction]
#[pyfunction]
pub fn _backtest_report(
    py: Python<'_>,
    model: &Bound<'_, PyModel>,
    source: &str,
    #[gen_stub(override_type(type_repr = "builtins.bytes", imports = ("builtins")))] options: Vec<u8>,
    #[gen_stub(override_type(type_repr = "typing.Sequence[builtins.bytes]", imports = ("typing", "builtins")))]
    parts: Vec<Vec<u8>>,
) -> PyResult<PyBacktestReportV2> {
    let m = model.get().inner.clone();
    let v2 = v2_model(py, &m)?;
    let opts: BacktestOptionsV2 = rmp_serde::from_slice(&options).map_err(pickle_err)?;
    let mut per: Vec<EpisodeScoreV2> = Vec::new();
    for bytes in parts {
        let part: Vec<EpisodeScoreV2> = rmp_serde::from_slice(&bytes).map_err(pickle_err)?;
        per.extend(part);
    }
    Ok(PyBacktestReportV2 {
        inner: pf_core::v2::baselines::report(v2.name(), source, &refit_label(&opts), per, opts.bins),
    })
}

/// Backtest options from the Python arguments.
pub fn backtest_options(
    loo: bool,
    folds: Option<usize>,
    bins: usize,
    tolerance: Option<f64>,
    max_iterations: Option<u32>,
) -> BacktestOptionsV2 {
    let d = FitOptionsV2::default();
    BacktestOptionsV2 {
        loo,
        folds,
        bins,
        fit: FitOptionsV2 {
            tolerance: tolerance.unwrap_or(d.tolerance),
            max_iterations: max_iterations.unwrap_or(d.max_iterations),
            ..d
        },
    }
}

// ---------------------------------------------------------------------------------------------------------
// FitReportV2
// ---------------------------------------------------------------------------------------------------------

/// One example case's forecast under the starting and the fitted model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExampleMove {
    /// The case's id.
    pub case: String,
    /// The as-of date (the case's last signal).
    pub as_of: chrono::NaiveDate,
    /// Outcome names.
    pub outcomes: Vec<String>,
    /// Under the starting model.
    pub start: Vec<f64>,
    /// Under the fitted model.
    pub fitted: Vec<f64>,
}

/// The scores of the starting and the fitted model on the same episodes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScoreCheck {
    /// Which episodes and how: `in-sample (SET)`, `validation` or `leave-one-out (SET)`.
    pub on: String,
    /// Episodes scored.
    pub episodes: usize,
    /// The starting model's scores (as given: it saw none of these episodes' outcomes).
    pub start: NamedScores,
    /// The fitted model's scores (refitted without each episode under leave-one-out).
    pub fitted: NamedScores,
}

/// Pickled state of a v2 fit report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FitV2State {
    model_toml: String,
    start_toml: String,
    record: pf_core::v2::FitRecord,
    #[serde(default)]
    skipped: Vec<String>,
    #[serde(default)]
    parameters: Vec<(String, f64, f64)>,
    #[serde(default)]
    examples: Vec<ExampleMove>,
    #[serde(default)]
    checks: Vec<ScoreCheck>,
    #[serde(default)]
    warnings: Vec<String>,
}

/// The result of ``fit`` for a v2 model: the fitted model, the objective trace, and the guard: how the
/// parameters and the example cases' forecasts moved against the starting model, and the scores of both.
///
/// ``objective`` is the penalised objective (the filter's log-likelihood of each episode's signals plus the
/// log probability of its outcome, weighted by set, plus the model file's log priors) after each iteration,
/// the starting model first; it never decreases. ``checks`` holds the scores of the starting and the fitted
/// model on the same episodes (in-sample, on ``validation`` episodes, and under leave-one-out when asked);
/// ``warnings`` the warnings ``fit`` emitted when the fitted model scored worse.
///
/// Examples
/// --------
/// >>> import pressure_forecast as pf
/// >>> episodes = pf.datasets.curated_episodes()[:4]
/// >>> r = pf.fit(pf.Model.default(), episodes, max_iterations=2, progress=False, score=False)
/// >>> all(b >= a for a, b in zip(r.objective, r.objective[1:]))
/// True
/// >>> list(r.parameters().columns)
/// ['start', 'fitted', 'change']
#[gen_stub_pyclass]
#[pyclass(module = "pressure_forecast._native", name = "FitReportV2", frozen, eq)]
#[derive(Clone, PartialEq)]
pub struct PyFitReportV2 {
    state: FitV2State,
    model: PyModel,
    start: PyModel,
}

impl PyFitReportV2 {
    fn of_state(py: Python<'_>, state: FitV2State) -> PyResult<PyFitReportV2> {
        let model = PyModel::new(pf_core::Model::from_toml_str(&state.model_toml).py_err(py)?);
        let start = PyModel::new(pf_core::Model::from_toml_str(&state.start_toml).py_err(py)?);
        Ok(PyFitReportV2 { state, model, start })
    }
}

impl crate::pickle::Pickle for PyFitReportV2 {
    const KIND: &'static str = "FitReportV2";
    type State = FitV2State;
    fn state(&self) -> FitV2State {
        self.state.clone()
    }
    fn from_state(py: Python<'_>, state: FitV2State) -> PyResult<Self> {
        PyFitReportV2::of_state(py, state)
    }
}

#[gen_stub_pymethods]
#[pymethods]
impl PyFitReportV2 {
    /// The fitted model.
    ///
    /// Returns
    /// -------
    /// Model
    #[getter]
    fn model(&self) -> PyModel {
        self.model.clone()
    }
    /// The starting model.
    ///
    /// Returns
    /// -------
    /// Model
    #[getter]
    fn start(&self) -> PyModel {
        self.start.clone()
    }
    /// The penalised objective after each iteration, the starting model first (never decreasing).
    ///
    /// Returns
    /// -------
    /// list[float]
    #[getter]
    fn objective(&self) -> Vec<f64> {
        self.state.record.trace.clone()
    }
    /// The fitted model's weighted objective without the priors' penalty.
    ///
    /// Returns
    /// -------
    /// float
    #[getter]
    fn final_objective(&self) -> f64 {
        self.state.record.objective
    }
    /// Iterations run.
    ///
    /// Returns
    /// -------
    /// int
    #[getter]
    fn iterations(&self) -> u32 {
        self.state.record.iterations
    }
    /// Whether the tolerance was reached.
    ///
    /// Returns
    /// -------
    /// bool
    #[getter]
    fn converged(&self) -> bool {
        self.state.record.converged
    }
    /// Episodes left out because the starting model gives them probability 0 (ids and why).
    ///
    /// Returns
    /// -------
    /// list[str]
    #[getter]
    fn skipped(&self) -> Vec<String> {
        self.state.skipped.clone()
    }
    /// The episode sets: ``[{source, sha256, weight, episodes, excluded}]``.
    ///
    /// Returns
    /// -------
    /// list[dict[str, Any]]
    #[getter]
    #[gen_stub(override_return_type(type_repr = "list[dict[str, typing.Any]]", imports = ("typing")))]
    fn data<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        json_to_py(
            py,
            &serde_json::to_value(&self.state.record.data).map_err(crate::results::ser_err)?,
        )
    }
    /// The warnings ``fit`` emitted (the fitted model scored worse than the starting model).
    ///
    /// Returns
    /// -------
    /// list[str]
    #[getter]
    fn warnings(&self) -> Vec<String> {
        self.state.warnings.clone()
    }
    /// One row per iteration: the penalised objective.
    ///
    /// Returns
    /// -------
    /// pandas.DataFrame
    ///     Indexed by ``iteration`` (0: the starting model); column ``objective``.
    #[pyo3(signature = (long = false))]
    #[gen_stub(override_return_type(type_repr = "pandas.DataFrame", imports = ("pandas")))]
    fn to_pandas<'py>(&self, py: Python<'py>, long: bool) -> PyResult<Bound<'py, PyAny>> {
        let pd = py.import("pandas")?;
        let data = PyDict::new(py);
        data.set_item("objective", self.state.record.trace.clone())?;
        let kw = PyDict::new(py);
        kw.set_item("name", "iteration")?;
        let idx = pd.getattr("Index")?.call(
            ((0..self.state.record.trace.len()).collect::<Vec<_>>(),),
            Some(&kw),
        )?;
        let kw = PyDict::new(py);
        kw.set_item("index", idx)?;
        let df = pd.getattr("DataFrame")?.call((data,), Some(&kw))?;
        if long {
            return helper(py, "_frames", "long_form", (df, "quantity"), None);
        }
        Ok(df)
    }
    /// How every learnt parameter moved: base rates per bucket (per year), betas and evidence rows ``q``.
    ///
    /// Returns
    /// -------
    /// pandas.DataFrame
    ///     Indexed by ``parameter``; columns ``start``, ``fitted``, ``change``.
    #[gen_stub(override_return_type(type_repr = "pandas.DataFrame", imports = ("pandas")))]
    fn parameters<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let pd = py.import("pandas")?;
        let p = &self.state.parameters;
        let data = PyDict::new(py);
        data.set_item("start", p.iter().map(|x| x.1).collect::<Vec<_>>())?;
        data.set_item("fitted", p.iter().map(|x| x.2).collect::<Vec<_>>())?;
        data.set_item("change", p.iter().map(|x| x.2 - x.1).collect::<Vec<_>>())?;
        let kw = PyDict::new(py);
        kw.set_item("name", "parameter")?;
        let idx = pd
            .getattr("Index")?
            .call((p.iter().map(|x| x.0.clone()).collect::<Vec<_>>(),), Some(&kw))?;
        let kw = PyDict::new(py);
        kw.set_item("index", idx)?;
        pd.getattr("DataFrame")?.call((data,), Some(&kw))
    }
    /// How the example cases' forecasts moved (each at its last signal's date).
    ///
    /// Returns
    /// -------
    /// pandas.DataFrame
    ///     One row per case and outcome: ``case``, ``as_of``, ``outcome``, ``start``, ``fitted``, ``change``.
    #[gen_stub(override_return_type(type_repr = "pandas.DataFrame", imports = ("pandas")))]
    fn examples<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let rows = PyList::empty(py);
        for e in &self.state.examples {
            for (o, name) in e.outcomes.iter().enumerate() {
                let r = PyDict::new(py);
                r.set_item("case", &e.case)?;
                r.set_item("as_of", e.as_of)?;
                r.set_item("outcome", name)?;
                r.set_item("start", e.start[o])?;
                r.set_item("fitted", e.fitted[o])?;
                r.set_item("change", e.fitted[o] - e.start[o])?;
                rows.append(r)?;
            }
        }
        let kw = PyDict::new(py);
        kw.set_item(
            "columns",
            vec!["case", "as_of", "outcome", "start", "fitted", "change"],
        )?;
        py.import("pandas")?
            .getattr("DataFrame")?
            .call((rows,), Some(&kw))
    }
    /// The scores of the starting and the fitted model on the same episodes.
    ///
    /// Returns
    /// -------
    /// pandas.DataFrame
    ///     One row per check (``on``: in-sample, validation, leave-one-out) and model (``start``, ``fitted``):
    ///     ``episodes``, ``brier``, ``log_score``, ``ece``.
    #[gen_stub(override_return_type(type_repr = "pandas.DataFrame", imports = ("pandas")))]
    fn scores<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let rows = PyList::empty(py);
        for c in &self.state.checks {
            for (who, s) in [("start", &c.start), ("fitted", &c.fitted)] {
                let r = PyDict::new(py);
                r.set_item("on", &c.on)?;
                r.set_item("model", who)?;
                r.set_item("episodes", c.episodes)?;
                r.set_item("brier", s.brier)?;
                r.set_item("log_score", s.log_score)?;
                r.set_item("ece", s.ece)?;
                rows.append(r)?;
            }
        }
        let kw = PyDict::new(py);
        kw.set_item(
            "columns",
            vec!["on", "model", "episodes", "brier", "log_score", "ece"],
        )?;
        py.import("pandas")?
            .getattr("DataFrame")?
            .call((rows,), Some(&kw))
    }
    /// The report as a dict: the fit record (as in the fitted model file's ``[fit]``), the skipped episodes,
    /// parameters, examples, checks and warnings, and both models' TOML.
    ///
    /// Returns
    /// -------
    /// dict
    ///     ``FitReportV2.from_json`` reads it back.
    #[gen_stub(override_return_type(type_repr = "dict[str, typing.Any]", imports = ("typing")))]
    fn to_json<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        json_to_py(
            py,
            &serde_json::to_value(&self.state).map_err(crate::results::ser_err)?,
        )
    }
    /// Build from the form of ``to_json``.
    ///
    /// Parameters
    /// ----------
    /// obj : dict or str
    ///     The form ``to_json`` writes.
    ///
    /// Returns
    /// -------
    /// FitReportV2
    #[staticmethod]
    fn from_json(obj: &Bound<'_, PyAny>) -> PyResult<PyFitReportV2> {
        let state: FitV2State = from_py_json(obj, "a FitReportV2")?;
        PyFitReportV2::of_state(obj.py(), state)
    }
    /// The report as HTML, for notebooks: its repr, the scores and the example cases' moves.
    ///
    /// Returns
    /// -------
    /// str
    fn _repr_html_(&self, py: Python<'_>) -> PyResult<String> {
        let mut out = html_with_table(py, &self.__repr__(), &self.scores(py)?)?;
        let t: String = self.examples(py)?.call_method0("to_html")?.extract()?;
        out.push_str(&t);
        for w in &self.state.warnings {
            let w: String = py.import("html")?.getattr("escape")?.call1((w,))?.extract()?;
            out.push_str(&format!("\n<p><strong>Warning:</strong> {w}</p>"));
        }
        Ok(out)
    }
    fn __repr__(&self) -> String {
        let r = &self.state.record;
        format!(
            "FitReportV2(model={:?}, iterations={}, converged={}, objective {:.4} -> {:.4}, warnings={})",
            self.model.inner.name(),
            r.iterations,
            if r.converged { "True" } else { "False" },
            r.trace.first().copied().unwrap_or(f64::NAN),
            r.trace.last().copied().unwrap_or(f64::NAN),
            self.state.warnings.len()
        )
    }
    fn __reduce__<'py>(slf: &Bound<'py, Self>) -> PyResult<(Bound<'py, PyAny>, Bound<'py, PyTuple>)> {
        crate::pickle::reduce(slf)
    }
}

/// The default example cases: those of `pf.datasets` (North Korea and Iran).
fn default_examples(py: Python<'_>) -> PyResult<Vec<pf_core::Case>> {
    let ds = py.import("pressure_forecast.datasets")?;
    ["north_korea", "iran"]
        .iter()
        .map(|n| {
            let c = ds.getattr(*n)?.call0()?;
            Ok((*c.cast::<crate::case::PyCase>()?.borrow().inner).clone())
        })
        .collect()
}

fn example_moves(
    start: &ModelV2,
    fitted: &ModelV2,
    cases: &[pf_core::Case],
) -> pf_core::Result<Vec<ExampleMove>> {
    cases
        .iter()
        .map(|c| {
            let as_of = c
                .signals()
                .iter()
                .map(|s| s.date)
                .max()
                .unwrap_or(c.start)
                .min(c.term_end.pred_opt().unwrap_or(c.term_end));
            let a = pf_core::v2::forecast(start, c, as_of)?;
            let b = pf_core::v2::forecast(fitted, c, as_of)?;
            Ok(ExampleMove {
                case: c.id.clone(),
                as_of,
                outcomes: a.outcomes.clone(),
                start: a.probabilities,
                fitted: b.probabilities,
            })
        })
        .collect()
}

fn model_scores(r: &BacktestReportV2) -> NamedScores {
    r.scores.first().cloned().unwrap_or_default()
}

/// Fit a v2 model (the `fit` entry point dispatches here for a v2 model).
#[allow(clippy::too_many_arguments)]
pub fn fit_v2(
    py: Python<'_>,
    model: &Bound<'_, PyModel>,
    episodes: &Bound<'_, PyAny>,
    weights: Option<&Bound<'_, PyAny>>,
    tolerance: Option<f64>,
    max_iterations: Option<u32>,
    fit_evidence: bool,
    fit_hazards: bool,
    progress: Option<bool>,
    examples: Option<&Bound<'_, PyAny>>,
    score: bool,
    validation: Option<&Bound<'_, PyAny>>,
    loo: bool,
    executor: Option<&Bound<'_, PyAny>>,
) -> PyResult<PyFitReportV2> {
    let m = model.get().inner.clone();
    let base = v2_model(py, &m)?.clone();
    let sets = sets_of(episodes, weights)?;
    let d = FitOptionsV2::default();
    let opts = FitOptionsV2 {
        tolerance: tolerance.unwrap_or(d.tolerance),
        max_iterations: max_iterations.unwrap_or(d.max_iterations),
        fit_evidence,
        fit_hazards,
        ..d
    };
    let show = want_bar(progress, interactive(py));
    let rep = run_long(py, show, |p| pf_core::v2::fit(&base, &sets, &opts, p))?;
    let fitted = rep.model.clone();
    let start_params = pf_core::v2::learn::parameters(&base);
    let fitted_params = pf_core::v2::learn::parameters(&fitted);
    let parameters = start_params
        .into_iter()
        .zip(fitted_params)
        .filter(|(a, b)| a.0 == b.0)
        .map(|(a, b)| (a.0, a.1, b.1))
        .collect();
    let examples = match examples.filter(|e| !e.is_none()) {
        // The shipped example cases; a model whose vocabulary cannot read them has no examples.
        None => {
            let cases = default_examples(py)?;
            py.detach(|| example_moves(&base, &fitted, &cases))
                .unwrap_or_default()
        }
        Some(e) => {
            let cases: Vec<pf_core::Case> = e
                .try_iter()?
                .map(|c| Ok((*c?.cast::<crate::case::PyCase>()?.borrow().inner).clone()))
                .collect::<PyResult<_>>()?;
            py.detach(|| example_moves(&base, &fitted, &cases)).py_err(py)?
        }
    };
    let fitted_py = Bound::new(py, PyModel::new(pf_core::Model::from_v2(fitted.clone())))?;
    let given = backtest_options(false, None, 10, tolerance, max_iterations);
    let mut checks = Vec::new();
    let mut scored: Vec<(String, Vec<EpisodeSet>)> = Vec::new();
    if score {
        let first = sets
            .iter()
            .position(|s| s.episodes.iter().any(|e| !e.exclude_from_training));
        if let Some(s) = first {
            scored.push((format!("in-sample ({})", sets[s].source), vec![sets[s].clone()]));
        }
    }
    if let Some(v) = validation.filter(|v| !v.is_none()) {
        let eps = crate::episodes::episodes_of(v)?;
        scored.push((
            "validation".to_owned(),
            vec![EpisodeSet::new("validation", 1.0, eps)],
        ));
    }
    for (on, vs) in &scored {
        let a = run_backtest(py, model, vs, 0, &given, None, show)?;
        let b = run_backtest(py, &fitted_py, vs, 0, &given, None, show)?;
        checks.push(ScoreCheck {
            on: on.clone(),
            episodes: a.episodes,
            start: model_scores(&a),
            fitted: model_scores(&b),
        });
    }
    if loo {
        let s = sets
            .iter()
            .position(|s| s.episodes.iter().any(|e| !e.exclude_from_training))
            .unwrap_or(0);
        let a = run_backtest(py, model, &sets, s, &given, None, show)?;
        let lo = backtest_options(true, None, 10, tolerance, max_iterations);
        let b = run_backtest(py, model, &sets, s, &lo, executor, show)?;
        checks.push(ScoreCheck {
            on: format!("leave-one-out ({})", sets[s].source),
            episodes: a.episodes,
            start: model_scores(&a),
            fitted: model_scores(&b),
        });
    }
    let mut warnings = Vec::new();
    for c in &checks {
        if c.fitted.brier > c.start.brier {
            let w = format!(
                "the fitted model scores worse than the starting model {} on {} ({} episodes): Brier {:.4} -> {:.4}, \
                 log score {:.4} -> {:.4}; check the episodes and their weights before using it (docs/learning.md)",
                base.name(),
                c.on,
                c.episodes,
                c.start.brier,
                c.fitted.brier,
                c.start.log_score,
                c.fitted.log_score
            );
            let msg = CString::new(w.clone()).unwrap_or_default();
            PyErr::warn(py, &py.get_type::<PyUserWarning>(), &msg, 1)?;
            warnings.push(w);
        }
    }
    let state = FitV2State {
        model_toml: fitted.to_toml_string(),
        start_toml: base.to_toml_string(),
        record: rep.record,
        skipped: rep.skipped,
        parameters,
        examples,
        checks,
        warnings,
    };
    Ok(PyFitReportV2 {
        state,
        model: fitted_py.get().clone(),
        start: model.get().clone(),
    })
}
