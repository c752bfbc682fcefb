//! `Model`: model files, the embedded default and static models, and their parameters as numpy arrays.

use std::path::PathBuf;
use std::sync::Arc;

use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyTuple};
use pyo3_stub_gen::derive::*;

use crate::convert::{arg_date, helper, json_to_py, np_array1, np_array2};
use crate::errors::IntoPyResult;

/// A validated forecasting model: regimes, outcomes, transitions, emissions, prior and concentrations.
///
/// Built from a model file (TOML) or the embedded default; frozen, hashable and picklable.
///
/// Examples
/// --------
/// >>> import pressure_forecast as pf
/// >>> m = pf.Model.default()
/// >>> sorted(m.outcomes)
/// ['deal', 'stalemate', 'wait_out']
/// >>> pf.Model.from_toml(m.to_toml()) == m
/// True
#[gen_stub_pyclass]
#[pyclass(module = "pressure_forecast._native", name = "Model", frozen, eq)]
#[derive(Clone)]
pub struct PyModel {
    /// The engine's model.
    pub inner: Arc<pf_core::Model>,
}

impl PyModel {
    /// Wrap an engine model.
    pub fn new(m: pf_core::Model) -> PyModel {
        PyModel { inner: Arc::new(m) }
    }
}

/// The model given, or the default model.
pub fn model_or_default(
    m: Option<&Bound<'_, PyModel>>,
    fallback: &Arc<pf_core::Model>,
) -> Arc<pf_core::Model> {
    m.map_or_else(|| fallback.clone(), |m| m.get().inner.clone())
}

#[gen_stub_pymethods]
#[pymethods]
impl PyModel {
    /// The embedded default model (`models/maximum_pressure.toml`): the v2 model fitted by `make model`.
    ///
    /// Returns
    /// -------
    /// Model
    ///     Signal roles, hazards with inputs, public deals and the leader's fate (docs/model.md).
    ///
    /// Examples
    /// --------
    /// >>> import pressure_forecast as pf
    /// >>> pf.Model.default().outcomes
    /// ['deal', 'stalemate', 'wait_out']
    #[staticmethod]
    fn default() -> PyModel {
        PyModel {
            inner: crate::default_model(),
        }
    }

    /// The embedded first-version model (`models/maximum_pressure_v1.toml`): every signal is evidence and
    /// transitions have no inputs. Kept to reproduce v1 forecasts, and for `fit`, which learns v1 models from
    /// Python (a v2 model is fitted by `pressure-forecast fit`).
    ///
    /// Returns
    /// -------
    /// Model
    ///     The v1 model.
    ///
    /// Examples
    /// --------
    /// >>> import pressure_forecast as pf
    /// >>> pf.Model.v1().regimes
    /// ['engaged', 'resisting', 'waiting', 'settled']
    #[staticmethod]
    fn v1() -> PyModel {
        PyModel::new(pf_core::Model::v1_model())
    }

    /// The embedded static model: regimes are the outcomes, identity transitions (plain Bayes' rule).
    ///
    /// Returns
    /// -------
    /// Model
    ///     The static model.
    ///
    /// Examples
    /// --------
    /// >>> import pressure_forecast as pf
    /// >>> m = pf.Model.static()
    /// >>> m.regimes == m.outcomes
    /// True
    #[staticmethod]
    #[pyo3(name = "static")]
    fn static_model() -> PyModel {
        PyModel::new(pf_core::Model::static_model())
    }

    /// The text of the embedded default model file, comments included.
    ///
    /// Returns
    /// -------
    /// str
    ///     TOML; ``Model.from_toml`` reads it back.
    ///
    /// Examples
    /// --------
    /// >>> import pressure_forecast as pf
    /// >>> pf.Model.from_toml(pf.Model.default_toml()) == pf.Model.default()
    /// True
    #[staticmethod]
    fn default_toml() -> &'static str {
        pf_core::Model::default_toml()
    }

    /// Read and validate a TOML model file.
    ///
    /// Parameters
    /// ----------
    /// path : str or os.PathLike
    ///     The model file.
    ///
    /// Returns
    /// -------
    /// Model
    ///     The validated model.
    ///
    /// Examples
    /// --------
    /// >>> import pathlib, tempfile
    /// >>> import pressure_forecast as pf
    /// >>> path = pathlib.Path(tempfile.mkdtemp()) / "model.toml"
    /// >>> pf.Model.default().save(path)
    /// >>> pf.Model.load(path) == pf.Model.default()
    /// True
    #[staticmethod]
    fn load(py: Python<'_>, path: PathBuf) -> PyResult<PyModel> {
        pf_core::Model::load(&path).py_err(py).map(PyModel::new)
    }

    /// Parse and validate a model from TOML text.
    ///
    /// Parameters
    /// ----------
    /// text : str
    ///     A model file's content.
    ///
    /// Returns
    /// -------
    /// Model
    ///     The validated model.
    ///
    /// Examples
    /// --------
    /// >>> import pressure_forecast as pf
    /// >>> pf.Model.from_toml(pf.Model.default_toml()).name == pf.Model.default().name
    /// True
    #[staticmethod]
    fn from_toml(py: Python<'_>, text: &str) -> PyResult<PyModel> {
        pf_core::Model::from_toml_str(text).py_err(py).map(PyModel::new)
    }

    /// Write the model as a TOML model file.
    ///
    /// Parameters
    /// ----------
    /// path : str or os.PathLike
    ///     Where to write it (replaced if it exists).
    ///
    /// Returns
    /// -------
    /// None
    ///
    /// Examples
    /// --------
    /// >>> import pathlib, tempfile
    /// >>> import pressure_forecast as pf
    /// >>> path = pathlib.Path(tempfile.mkdtemp()) / "model.toml"
    /// >>> pf.Model.static().save(path)
    /// >>> path.read_text() == pf.Model.static().to_toml()
    /// True
    fn save(&self, py: Python<'_>, path: PathBuf) -> PyResult<()> {
        self.inner.save(&path).py_err(py)
    }

    /// The model as TOML text (a valid model file).
    ///
    /// Returns
    /// -------
    /// str
    ///     TOML, without the default file's comments.
    ///
    /// Examples
    /// --------
    /// >>> import pressure_forecast as pf
    /// >>> m = pf.Model.default()
    /// >>> pf.Model.from_toml(m.to_toml()) == m
    /// True
    fn to_toml(&self) -> String {
        self.inner.to_toml()
    }

    /// The model file's content as a dict.
    ///
    /// Returns
    /// -------
    /// dict
    ///     The TOML file's tables and keys.
    ///
    /// Examples
    /// --------
    /// >>> import pressure_forecast as pf
    /// >>> d = pf.Model.default().to_dict()
    /// >>> isinstance(d, dict), d["name"] == pf.Model.default().name
    /// (True, True)
    #[gen_stub(override_return_type(type_repr = "dict[str, typing.Any]", imports = ("typing")))]
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let v = serde_json::to_value(self.inner.to_spec())
            .map_err(|e| crate::errors::PressureForecastError::new_err(e.to_string()))?;
        json_to_py(py, &v)
    }

    /// The model's name.
    ///
    /// Returns
    /// -------
    /// str
    #[getter]
    fn name(&self) -> &str {
        self.inner.name()
    }

    /// What the model is.
    ///
    /// Returns
    /// -------
    /// str
    #[getter]
    fn description(&self) -> &str {
        self.inner.description()
    }

    /// Regime names, in order.
    ///
    /// Returns
    /// -------
    /// list[str]
    #[getter]
    fn regimes(&self) -> Vec<String> {
        self.inner.regimes().to_vec()
    }

    /// Outcome names, in order.
    ///
    /// Returns
    /// -------
    /// list[str]
    #[getter]
    fn outcomes(&self) -> Vec<String> {
        self.inner.outcomes().to_vec()
    }

    /// The outcome of each regime, `{regime: outcome}`.
    ///
    /// Returns
    /// -------
    /// dict[str, str]
    #[getter]
    fn outcome_of<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let d = PyDict::new(py);
        for (r, &o) in self.inner.regimes().iter().zip(self.inner.outcome_of()) {
            d.set_item(r, &self.inner.outcomes()[o])?;
        }
        Ok(d)
    }

    /// Signal type names the model knows, vocabulary v1 first.
    ///
    /// Returns
    /// -------
    /// list[str]
    #[getter]
    fn signal_types(&self) -> Vec<String> {
        self.inner.signal_types()
    }

    /// Prior over regimes at a case's start (numpy array).
    ///
    /// Returns
    /// -------
    /// numpy.ndarray
    #[getter]
    fn prior<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        np_array1(py, self.inner.prior())
    }

    /// Transition buckets: a list of dicts `{name, min_days_left, max_days_left, matrix}`.
    ///
    /// Returns
    /// -------
    /// list[dict[str, Any]]
    #[getter]
    fn buckets<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let k = self.inner.n_regimes();
        let items = self
            .inner
            .buckets()
            .into_iter()
            .map(|(name, min, max, m)| {
                let d = PyDict::new(py);
                d.set_item("name", name)?;
                d.set_item("min_days_left", min)?;
                d.set_item("max_days_left", max)?;
                d.set_item("matrix", np_array2(py, &m, k)?)?;
                Ok(d)
            })
            .collect::<PyResult<Vec<_>>>()?;
        PyList::new(py, items)
    }

    /// Provenance of a fitted model, as a dict (None for a hand-written model).
    ///
    /// Returns
    /// -------
    /// dict[str, Any] or None
    #[getter]
    fn provenance<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        match self.inner.provenance() {
            None => Ok(py.None().into_bound(py)),
            Some(p) => json_to_py(py, &serde_json::to_value(p).unwrap_or_default()),
        }
    }

    /// What a signal type records.
    ///
    /// Parameters
    /// ----------
    /// signal_type : str
    ///     A signal type the model knows.
    ///
    /// Returns
    /// -------
    /// str
    ///     Its description.
    ///
    /// Examples
    /// --------
    /// >>> import pressure_forecast as pf
    /// >>> isinstance(pf.Model.default().describe_signal_type("summit_held"), str)
    /// True
    fn describe_signal_type(&self, py: Python<'_>, signal_type: &str) -> PyResult<String> {
        self.inner.type_index(signal_type).py_err(py)?;
        Ok(self
            .inner
            .describe_signal_type(signal_type)
            .unwrap_or_default()
            .to_owned())
    }

    /// ``q_s(j)``, the probability that the signal type is observed on a day in regime ``j``.
    ///
    /// Parameters
    /// ----------
    /// signal_type : str
    ///     A signal type the model knows.
    ///
    /// Returns
    /// -------
    /// numpy.ndarray
    ///     One probability per regime, in the order of ``regimes``.
    ///
    /// Examples
    /// --------
    /// >>> import pressure_forecast as pf
    /// >>> m = pf.Model.default()
    /// >>> m.emission("summit_held").shape == (len(m.regimes),)
    /// True
    fn emission<'py>(&self, py: Python<'py>, signal_type: &str) -> PyResult<Bound<'py, PyAny>> {
        self.inner.type_index(signal_type).py_err(py)?;
        np_array1(py, self.inner.emission(signal_type).unwrap_or_default())
    }

    /// The ``k x k`` transition matrix from ``start`` to ``end`` for a case ending at ``term_end``.
    ///
    /// The ordered product of the daily matrices.
    ///
    /// Parameters
    /// ----------
    /// start, end : datetime.date or str
    ///     The span, ``start <= end``.
    /// term_end : datetime.date or str
    ///     The case's term end (the matrices depend on the days left).
    ///
    /// Returns
    /// -------
    /// numpy.ndarray
    ///     A row-stochastic ``k x k`` matrix over the regimes.
    ///
    /// Examples
    /// --------
    /// >>> import pressure_forecast as pf
    /// >>> p = pf.Model.v1().transition("2018-01-01", "2018-02-01", "2021-01-20")
    /// >>> bool(abs(p.sum(axis=1) - 1).max() < 1e-12)
    /// True
    #[pyo3(signature = (start, end, term_end))]
    fn transition<'py>(
        &self,
        py: Python<'py>,
        start: &Bound<'py, PyAny>,
        end: &Bound<'py, PyAny>,
        term_end: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let (a, b, t) = (
            arg_date(start, "start")?,
            arg_date(end, "end")?,
            arg_date(term_end, "term_end")?,
        );
        let m = self.inner.transition(a, b, t).py_err(py)?;
        np_array2(py, &m, self.inner.n_regimes())
    }

    /// A copy with every concentration multiplied by ``factor`` (larger is more certain).
    ///
    /// Parameters
    /// ----------
    /// factor : float
    ///     A finite number > 0.
    ///
    /// Returns
    /// -------
    /// Model
    ///     The scaled copy.
    ///
    /// Examples
    /// --------
    /// >>> import pressure_forecast as pf
    /// >>> m = pf.Model.default()
    /// >>> m.scale_concentrations(1.0) == m
    /// True
    fn scale_concentrations(&self, py: Python<'_>, factor: f64) -> PyResult<PyModel> {
        self.inner
            .scale_concentrations(factor)
            .py_err(py)
            .map(PyModel::new)
    }

    fn __hash__(&self) -> u64 {
        use std::hash::{Hash, Hasher};
        let mut h = std::collections::hash_map::DefaultHasher::new();
        match self.inner.as_v2() {
            Some(m) => m.hash().hash(&mut h),
            None => self.inner.to_toml().hash(&mut h),
        }
        h.finish()
    }

    /// The model file's format: 1, or 2 for a v2 model (signal roles, hazards with inputs, the leader's fate).
    ///
    /// Returns
    /// -------
    /// int
    ///
    /// Examples
    /// --------
    /// >>> import pressure_forecast as pf
    /// >>> pf.Model.default().format_version, pf.Model.v1().format_version
    /// (2, 1)
    #[getter]
    fn format_version(&self) -> u32 {
        self.inner.format_version()
    }

    /// Name, version and SHA-256 of the model's canonical TOML, as every forecast names its model.
    ///
    /// Returns
    /// -------
    /// dict[str, str]
    ///     ``{name, version, hash}``.
    ///
    /// Examples
    /// --------
    /// >>> import pressure_forecast as pf
    /// >>> m = pf.Model.default()
    /// >>> m.model_id["hash"] == pf.Model.from_toml(m.to_toml()).model_id["hash"]
    /// True
    #[getter]
    #[gen_stub(override_return_type(type_repr = "dict[str, str]", imports = ()))]
    fn model_id<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        json_to_py(
            py,
            &serde_json::to_value(self.inner.model_id()).unwrap_or_default(),
        )
    }

    /// The role of each signal type, ``{type: role}``: ``action`` (the sender's policy, an input to the
    /// transition rates), ``context`` (an input too), ``evidence`` (a likelihood over the regimes), ``deal``
    /// (a deal or its repudiation) or ``fate`` (whether the leader stays). Every type of a v1 model is evidence.
    ///
    /// Returns
    /// -------
    /// dict[str, str]
    ///
    /// Examples
    /// --------
    /// >>> import pressure_forecast as pf
    /// >>> roles = pf.Model.default().signal_roles
    /// >>> roles["sanctions_tightened"], roles["summit_held"], roles["sender_leader_reelected"]
    /// ('action', 'evidence', 'fate')
    /// >>> set(pf.Model.v1().signal_roles.values())
    /// {'evidence'}
    #[getter]
    fn signal_roles<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let d = PyDict::new(py);
        match self.inner.as_v2() {
            Some(m) => {
                for t in m.signal_types() {
                    d.set_item(t, m.role(t).map(role_name))?;
                }
            }
            None => {
                for t in self.inner.signal_types() {
                    d.set_item(t, "evidence")?;
                }
            }
        }
        Ok(d)
    }

    /// The signal types with their roles and likelihoods, one row per type.
    ///
    /// Returns
    /// -------
    /// pandas.DataFrame
    ///     Indexed by ``type``; columns ``role``, ``description`` and, for evidence types, ``q[REGIME]``
    ///     (the probability of the type among evidence reports in each regime; NaN for other roles).
    ///
    /// Examples
    /// --------
    /// >>> import pressure_forecast as pf
    /// >>> df = pf.Model.default().signal_table()
    /// >>> df.loc["sanctions_tightened", "role"]
    /// 'action'
    #[gen_stub(override_return_type(type_repr = "pandas.DataFrame", imports = ("pandas")))]
    fn signal_table<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let pd = py.import("pandas")?;
        let roles = self.signal_roles(py)?;
        let types: Vec<String> = roles.keys().extract()?;
        let data = PyDict::new(py);
        data.set_item("role", roles.values())?;
        let desc: Vec<String> = types
            .iter()
            .map(|t| {
                self.inner
                    .as_v2()
                    .and_then(|m| m.spec().signals.get(t).map(|s| s.description.clone()))
                    .or_else(|| self.inner.describe_signal_type(t).map(str::to_owned))
                    .unwrap_or_default()
            })
            .collect();
        data.set_item("description", desc)?;
        for (j, r) in self.inner.regimes().iter().enumerate() {
            let col: Vec<f64> = types
                .iter()
                .map(|t| match self.inner.as_v2() {
                    Some(m) => m.evidence_likelihood(t).map_or(f64::NAN, |q| q[j]),
                    None => self.inner.emission(t).map_or(f64::NAN, |q| q[j]),
                })
                .collect();
            data.set_item(format!("q[{r}]"), col)?;
        }
        let kw = PyDict::new(py);
        kw.set_item("name", "type")?;
        let index = pd.getattr("Index")?.call((types,), Some(&kw))?;
        let kw = PyDict::new(py);
        kw.set_item("index", index)?;
        pd.getattr("DataFrame")?.call((data,), Some(&kw))
    }

    fn __reduce__<'py>(slf: &Bound<'py, Self>) -> PyResult<(Bound<'py, PyAny>, Bound<'py, PyTuple>)> {
        crate::pickle::reduce(slf)
    }

    fn __repr__(&self) -> String {
        format!(
            "Model(name={:?}, regimes={:?}, outcomes={:?}, signal_types={})",
            self.inner.name(),
            self.inner.regimes(),
            self.inner.outcomes(),
            self.inner.signal_types().len()
        )
    }

    /// The model as HTML, for notebooks: its regimes with their outcome and prior, and its time buckets.
    ///
    /// Returns
    /// -------
    /// str
    ///     HTML.
    ///
    /// Examples
    /// --------
    /// >>> import pressure_forecast as pf
    /// >>> pf.Model.default()._repr_html_().startswith("<p><strong>Model maximum_pressure")
    /// True
    #[gen_stub(override_return_type(type_repr = "builtins.str", imports = ("builtins")))]
    fn _repr_html_<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, PyAny>> {
        helper(slf.py(), "_frames", "model_html", (slf,), None)
    }
}

/// Pickled state of a model: its model file (TOML), which every release reads.
#[derive(serde::Serialize, serde::Deserialize)]
pub struct ModelState {
    toml: String,
}

impl crate::pickle::Pickle for PyModel {
    const KIND: &'static str = "Model";
    type State = ModelState;
    fn state(&self) -> ModelState {
        ModelState {
            toml: self.inner.to_toml(),
        }
    }
    fn from_state(py: Python<'_>, s: ModelState) -> PyResult<Self> {
        pf_core::Model::from_toml_str(&s.toml)
            .py_err(py)
            .map(PyModel::new)
    }
}

/// Equal when the specifications are (the name and provenance included): for v2 models the v2 model itself
/// (the SHA-256 of its canonical TOML), not the v1 view of its regimes and signal types.
impl PartialEq for PyModel {
    fn eq(&self, other: &Self) -> bool {
        match (self.inner.as_v2(), other.inner.as_v2()) {
            (Some(a), Some(b)) => a.hash() == b.hash(),
            (None, None) => self.inner.to_spec() == other.inner.to_spec(),
            _ => false,
        }
    }
}

/// A role's name in the model file.
pub fn role_name(r: pf_core::v2::Role) -> &'static str {
    use pf_core::v2::Role;
    match r {
        Role::Action => "action",
        Role::Context => "context",
        Role::Evidence => "evidence",
        Role::Deal => "deal",
        Role::Fate => "fate",
    }
}
