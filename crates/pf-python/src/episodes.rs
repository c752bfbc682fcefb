//! `Episode` (a finished case with its outcome) and reading episodes files.

use std::path::PathBuf;
use std::sync::Arc;

use chrono::NaiveDate;
use pyo3::prelude::*;
use pyo3::types::PyTuple;
use pyo3_stub_gen::derive::*;

use crate::case::PyCase;
use crate::convert::{helper, json_to_py, py_to_json};
use crate::default_model;
use crate::errors::{IntoPyResult, argument_error};
use crate::model::{self, PyModel};
use crate::signal::PySignal;

/// A finished case with the outcome that happened.
///
/// Parameters
/// ----------
/// case : Case
///     The case, with its signals.
/// outcome : str
///     The outcome at the term end (one of the case's model's outcomes).
/// outcome_justification : str, default ""
///     Why the outcome is what it is, citing the record.
/// exclude_from_training : bool, default False
///     Leave it out of `fit` and of `backtest`'s scores.
///
/// Examples
/// --------
/// >>> import pressure_forecast as pf
/// >>> case = pf.Case("demo", "USA", "PRK", "2017-01-20", "2021-01-20")
/// >>> case.observe("summit_held", "2018-06-12")
/// AppendReport(added=1, unchanged=0)
/// >>> e = pf.Episode(case, "deal")
/// >>> e.outcome, len(e)
/// ('deal', 1)
#[gen_stub_pyclass]
#[pyclass(module = "pressure_forecast._native", name = "Episode", frozen, eq)]
#[derive(Clone, PartialEq)]
pub struct PyEpisode {
    /// The engine's episode.
    pub inner: pf_core::Episode,
}

#[gen_stub_pymethods]
#[pymethods]
impl PyEpisode {
    #[new]
    #[pyo3(signature = (case, outcome, *, outcome_justification = String::new(), exclude_from_training = false))]
    fn new(
        py: Python<'_>,
        case: &Bound<'_, PyCase>,
        outcome: String,
        outcome_justification: String,
        exclude_from_training: bool,
    ) -> PyResult<PyEpisode> {
        let c = case.borrow();
        c.model.outcome_index(&outcome).py_err(py)?;
        let mut inner = pf_core::Episode::new((*c.inner).clone(), outcome);
        inner.outcome_justification = outcome_justification;
        inner.exclude_from_training = exclude_from_training;
        Ok(PyEpisode { inner })
    }
    /// The episode's id.
    ///
    /// Returns
    /// -------
    /// str
    #[getter]
    fn id(&self) -> &str {
        &self.inner.case.id
    }
    /// The outcome at the term end.
    ///
    /// Returns
    /// -------
    /// str
    #[getter]
    fn outcome(&self) -> &str {
        &self.inner.outcome
    }
    /// Why the outcome is what it is, citing the record (empty in files older than format version 2).
    ///
    /// Returns
    /// -------
    /// str
    #[getter]
    fn outcome_justification(&self) -> &str {
        &self.inner.outcome_justification
    }
    /// Whether `fit` leaves it out and `backtest` does not score it.
    ///
    /// Returns
    /// -------
    /// bool
    #[getter]
    fn exclude_from_training(&self) -> bool {
        self.inner.exclude_from_training
    }
    /// The state applying pressure.
    ///
    /// Returns
    /// -------
    /// str
    #[getter]
    fn sender(&self) -> &str {
        &self.inner.case.sender
    }
    /// The state pressed.
    ///
    /// Returns
    /// -------
    /// str
    #[getter]
    fn target(&self) -> &str {
        &self.inner.case.target
    }
    /// The campaign's start.
    ///
    /// Returns
    /// -------
    /// datetime.date
    #[getter]
    fn start(&self) -> NaiveDate {
        self.inner.case.start
    }
    /// The term end.
    ///
    /// Returns
    /// -------
    /// datetime.date
    #[getter]
    fn term_end(&self) -> NaiveDate {
        self.inner.case.term_end
    }
    /// The signals in date order.
    ///
    /// Returns
    /// -------
    /// list[Signal]
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
    ///
    /// Parameters
    /// ----------
    /// model : Model, optional
    ///     The model the case is read with (default: the default model).
    ///
    /// Returns
    /// -------
    /// Case
    ///     A case with the episode's countries, dates and signals.
    ///
    /// Examples
    /// --------
    /// >>> import pressure_forecast as pf
    /// >>> case = pf.Case("demo", "USA", "PRK", "2017-01-20", "2021-01-20")
    /// >>> case.observe("summit_held", "2018-06-12")
    /// AppendReport(added=1, unchanged=0)
    /// >>> ep = pf.Episode(case, "deal")
    /// >>> ep.case() == case
    /// True
    #[pyo3(signature = (model = None))]
    fn case(&self, model: Option<&Bound<'_, PyModel>>) -> PyCase {
        PyCase {
            inner: Arc::new(self.inner.case.clone()),
            model: model::model_or_default(model, &default_model()),
            obs: Default::default(),
        }
    }
    /// The episode as a dict (the episodes file format).
    ///
    /// Returns
    /// -------
    /// dict
    ///     The case's fields and signals, with ``outcome`` (and the justification and exclusion flag).
    ///
    /// Examples
    /// --------
    /// >>> import pressure_forecast as pf
    /// >>> case = pf.Case("demo", "USA", "PRK", "2017-01-20", "2021-01-20")
    /// >>> case.observe("summit_held", "2018-06-12")
    /// AppendReport(added=1, unchanged=0)
    /// >>> ep = pf.Episode(case, "deal")
    /// >>> d = ep.to_json()
    /// >>> d["outcome"], d["id"]
    /// ('deal', 'demo')
    #[gen_stub(override_return_type(type_repr = "dict[str, typing.Any]", imports = ("typing")))]
    fn to_json<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        json_to_py(py, &serde_json::to_value(&self.inner).unwrap_or_default())
    }
    /// Parse an episode from its JSON form (checked against the default model, or `model`).
    ///
    /// Parameters
    /// ----------
    /// obj : dict or str
    ///     One record of an episodes file, as ``to_json`` writes it.
    /// model : Model, optional
    ///     The model for vocabulary checks (default: the default model).
    ///
    /// Returns
    /// -------
    /// Episode
    ///     The episode.
    ///
    /// Examples
    /// --------
    /// >>> import pressure_forecast as pf
    /// >>> case = pf.Case("demo", "USA", "PRK", "2017-01-20", "2021-01-20")
    /// >>> case.observe("summit_held", "2018-06-12")
    /// AppendReport(added=1, unchanged=0)
    /// >>> ep = pf.Episode(case, "deal")
    /// >>> pf.Episode.from_json(ep.to_json()) == ep
    /// True
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
    /// The episode as an HTML table row, for notebooks.
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
    /// >>> ep = pf.Episode(case, "deal")
    /// >>> "deal" in ep._repr_html_()
    /// True
    #[gen_stub(override_return_type(type_repr = "builtins.str", imports = ("builtins")))]
    fn _repr_html_<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, PyAny>> {
        helper(slf.py(), "_frames", "episodes_html", ([slf],), None)
    }
    fn __reduce__<'py>(slf: &Bound<'py, Self>) -> PyResult<(Bound<'py, PyAny>, Bound<'py, PyTuple>)> {
        crate::pickle::reduce(slf)
    }
}

/// Read an episodes file (a JSON array, one object, or JSON Lines).
///
/// Parameters
/// ----------
/// path : str or os.PathLike
///     The file.
/// model : Model, optional
///     The model the episodes are checked against (default: the default model).
/// lenient : bool, default False
///     Leave out a signal dated outside its episode with a ``UserWarning`` instead of raising (as the command
///     line's ``fit`` and ``backtest`` do).
///
/// Returns
/// -------
/// list of Episode
///     The episodes in file order.
///
/// Examples
/// --------
/// >>> import pressure_forecast as pf
/// >>> case = pf.Case("demo", "USA", "PRK", "2017-01-20", "2021-01-20")
/// >>> case.observe("summit_held", "2018-06-12")
/// AppendReport(added=1, unchanged=0)
/// >>> import json, pathlib, tempfile
/// >>> path = pathlib.Path(tempfile.mkdtemp()) / "episodes.json"
/// >>> _ = path.write_text(json.dumps([pf.Episode(case, "deal").to_json()]))
/// >>> [e.outcome for e in pf.load_episodes(path)]
/// ['deal']
#[gen_stub_pyfunction]
#[pyfunction]
#[pyo3(signature = (path, model = None, lenient = false))]
pub fn load_episodes(
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

/// The engine episodes of a Python iterable of `Episode`s (errors name `episodes[i]`).
pub fn episodes_of(episodes: &Bound<'_, PyAny>) -> PyResult<Vec<pf_core::Episode>> {
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

crate::pickle::pickle_inner!(PyEpisode, pf_core::Episode, "Episode");
