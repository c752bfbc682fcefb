//! Models: regimes, outcome mapping, time-bucketed transitions, emissions, prior and their concentrations.
//!
//! A [`Model`] is built only through validating constructors ([`Model::from_toml_str`], [`Model::from_spec`]);
//! its fields are private, so every model in memory satisfies the invariants [`Model::from_spec`] checks.

use std::collections::BTreeMap;

use rustc_hash::FxHashMap as HashMap;
use std::path::Path;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::linalg;
use crate::vocab;

/// The model file format version this build reads and writes.
pub const FORMAT_VERSION: u32 = 1;

/// Tolerance on probability vectors that must sum to one.
pub const SUM_TOLERANCE: f64 = 1e-9;

/// Number of cached binary powers `P^(2^i)` per bucket (2^16 days is about 179 years; longer spans loop).
pub(crate) const POWER_LEVELS: usize = 16;

/// The shipped default: the v2 model fitted by `make model` (docs/learning.md) from the repository's episodes.
const DEFAULT_TOML: &str = include_str!("../../../models/maximum_pressure.toml");
/// The first version's model (v1 semantics: every signal is evidence, transitions without inputs).
const V1_TOML: &str = include_str!("../../../models/maximum_pressure_v1.toml");
const STATIC_TOML: &str = include_str!("../../../models/static.toml");

/// A value given once for all entries, or once per entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum OneOrMany {
    /// The same value for every entry.
    One(f64),
    /// One value per entry.
    Many(Vec<f64>),
}

impl OneOrMany {
    fn expand(&self, n: usize, field: &str) -> Result<Vec<f64>> {
        let v = match self {
            OneOrMany::One(x) => vec![*x; n],
            OneOrMany::Many(v) => {
                if v.len() != n {
                    return Err(Error::model(
                        field,
                        format!("{n} values (or one number)"),
                        format!("{} values", v.len()),
                    ));
                }
                v.clone()
            }
        };
        for (i, x) in v.iter().enumerate() {
            if !(x.is_finite() && *x > 0.0) {
                return Err(Error::model(
                    format!("{field}[{i}]"),
                    "a finite concentration > 0",
                    x,
                ));
            }
        }
        Ok(v)
    }
}

/// One regime as written in a model file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegimeSpec {
    /// The regime's name.
    pub name: String,
    /// The outcome if the target is still in this regime at the term end.
    pub outcome: String,
    /// What the regime means.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
}

/// The prior over regimes at a case's start, as written in a model file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PriorSpec {
    /// Prior probability of each regime, in regime order; sums to 1.
    pub probabilities: Vec<f64>,
    /// Dirichlet concentration (total pseudo-count): `alpha = probabilities * concentration`.
    pub concentration: f64,
}

/// One bucket of time left to the term end, with its one-day transition matrix.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BucketSpec {
    /// The bucket's name.
    pub name: String,
    /// Smallest number of days left (inclusive) this bucket applies to.
    pub min_days_left: u32,
    /// Largest number of days left (inclusive); absent for the open-ended last bucket.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_days_left: Option<u32>,
    /// Row-stochastic one-day transition matrix `P[i][j] = P(regime j tomorrow | regime i today)`.
    pub matrix: Vec<Vec<f64>>,
    /// Dirichlet concentration of each row (one number for all rows, or one per row).
    pub concentration: OneOrMany,
}

/// The emission of one signal type: `q(j) = P(observed on a day | regime j)`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmissionSpec {
    /// One probability per regime, each in (0, 1].
    pub q: Vec<f64>,
    /// Beta concentration of each `q(j)`: `Beta(q c, (1 - q) c)`.
    pub concentration: OneOrMany,
    /// What the signal type records (for types the model adds to the vocabulary).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
}

/// Where a fitted model came from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Provenance {
    /// The model the fit started from.
    #[serde(default)]
    pub base_model: String,
    /// Ids of the episodes used.
    #[serde(default)]
    pub episodes: Vec<String>,
    /// EM iterations run.
    #[serde(default)]
    pub iterations: u32,
    /// Log-likelihood of the episodes under the fitted model.
    #[serde(default)]
    pub log_likelihood: f64,
    /// Whether EM reached its tolerance.
    #[serde(default)]
    pub converged: bool,
    /// Free-text note.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub note: String,
}

/// A model file, as read from and written to TOML. Validate it with [`Model::from_spec`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelSpec {
    /// Format version; must equal [`FORMAT_VERSION`].
    pub format_version: u32,
    /// The model's name.
    pub name: String,
    /// What the model is.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
    /// Outcome names, in order (at least two).
    pub outcomes: Vec<String>,
    /// Regimes, in order, with the outcome each maps to.
    pub regimes: Vec<RegimeSpec>,
    /// Prior over regimes at a case's start.
    pub prior: PriorSpec,
    /// Transition buckets by days left to the term end; together they cover every day from 1 upwards.
    pub transitions: Vec<BucketSpec>,
    /// Emission probabilities by signal type; every v1 type must be present. The types vocabulary v2 adds
    /// (`target_withdraws_from_agreement`, `sender_leader_reelected`, `sender_leader_departing`) may be absent:
    /// the v1 engine then gives them likelihood 1 (they change nothing in a forecast) until model v2 reads them.
    pub emissions: BTreeMap<String, EmissionSpec>,
    /// Provenance of a fitted model.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provenance: Option<Provenance>,
}

/// A validated transition bucket.
#[derive(Debug, Clone)]
pub(crate) struct Bucket {
    pub min_left: i64,
    pub max_left: Option<i64>,
    /// Row-major k x k one-day matrix.
    pub matrix: Vec<f64>,
    /// Per-row Dirichlet concentration.
    pub concentration: Vec<f64>,
    /// `matrix^(2^i)` for each level `i`, row-major, concatenated.
    pub powers: Vec<f64>,
}

/// A validated emission.
#[derive(Debug, Clone)]
pub(crate) struct Emission {
    pub q: Vec<f64>,
    pub concentration: Vec<f64>,
    /// `mean_k q(k)`, the likelihood of a report from a worthless source.
    pub mean: f64,
    /// A type of vocabulary v2 the model file gives no likelihood for: likelihood 1 in every regime, so its
    /// signals change nothing (`q` is all ones; the filter, learning, sampling and value of information skip
    /// it).
    pub neutral: bool,
}

/// Names and descriptions: shared between a model and its parameter draws.
#[derive(Debug, Clone)]
pub(crate) struct Meta {
    pub name: String,
    pub description: String,
    pub outcomes: Vec<String>,
    pub regimes: Vec<String>,
    pub regime_descriptions: Vec<String>,
    pub bucket_names: Vec<String>,
    pub type_names: Vec<String>,
    pub type_descriptions: Vec<String>,
    pub type_index: HashMap<String, usize>,
    pub provenance: Option<Provenance>,
}

/// A validated model. Cheap to clone; immutable once built.
#[derive(Debug, Clone)]
pub struct Model {
    pub(crate) meta: Arc<Meta>,
    pub(crate) outcome_of: Vec<usize>,
    pub(crate) prior: Vec<f64>,
    pub(crate) prior_concentration: f64,
    pub(crate) buckets: Vec<Bucket>,
    pub(crate) emissions: Vec<Emission>,
    /// A v2 model (`format_version = 2`), when this is one: the v1 fields above are then a view of its regimes
    /// and signal types, and the engine's entry points dispatch to [`crate::v2`].
    pub(crate) v2: Option<Arc<crate::v2::ModelV2>>,
    /// SHA-256 of the canonical TOML, computed on first use (reset whenever parameters change).
    pub(crate) hash: std::sync::OnceLock<String>,
}

fn check_prob_vector(field: &str, v: &[f64], k: usize, open_zero: bool) -> Result<()> {
    if v.len() != k {
        return Err(Error::model(
            field,
            format!("{k} probabilities (one per regime)"),
            format!("{} values", v.len()),
        ));
    }
    for (i, x) in v.iter().enumerate() {
        let ok = x.is_finite() && *x <= 1.0 && if open_zero { *x > 0.0 } else { *x >= 0.0 };
        if !ok {
            let range = if open_zero {
                "a probability in (0, 1]"
            } else {
                "a probability in [0, 1]"
            };
            return Err(Error::model(format!("{field}[{i}]"), range, x));
        }
    }
    Ok(())
}

fn check_sums_to_one(field: &str, v: &[f64]) -> Result<()> {
    let s: f64 = v.iter().sum();
    if (s - 1.0).abs() > SUM_TOLERANCE {
        return Err(Error::model(
            field,
            "probabilities summing to 1 within 1e-9",
            format!("sum {s}"),
        ));
    }
    Ok(())
}

impl Model {
    /// The embedded default model (`models/maximum_pressure.toml`): the v2 model (signal roles, hazards with
    /// inputs, public deals, the leader's fate) fitted by `make model` from the repository's episodes, with the
    /// priors of `models/maximum_pressure_v2.toml` (docs/model.md, docs/learning.md).
    pub fn default_model() -> Model {
        Model::from_toml_str(DEFAULT_TOML).expect("the embedded default model is valid")
    }

    /// The embedded first-version model (`models/maximum_pressure_v1.toml`): v1 semantics, kept so that v1
    /// forecasts can be reproduced and compared.
    pub fn v1_model() -> Model {
        Model::from_toml_str(V1_TOML).expect("the embedded v1 model is valid")
    }

    /// The embedded static model (`models/static.toml`): regimes are the outcomes, identity transitions, so the
    /// forecast is plain Bayes' rule over the outcomes.
    pub fn static_model() -> Model {
        Model::from_toml_str(STATIC_TOML).expect("the embedded static model is valid")
    }

    /// The text of the embedded default model file, comments included.
    pub fn default_toml() -> &'static str {
        DEFAULT_TOML
    }

    /// The text of the embedded first-version model file, comments included.
    pub fn v1_toml() -> &'static str {
        V1_TOML
    }

    /// Parse and validate a model from TOML text.
    ///
    /// # Errors
    /// [`Error::Parse`] on TOML syntax or a missing/mistyped field, [`Error::InvalidModel`] on a constraint.
    pub fn from_toml_str(text: &str) -> Result<Model> {
        // v2 files (format_version = 2) go to the v2 loader.
        if let Ok(table) = toml::from_str::<toml::Table>(text)
            && table.get("format_version").and_then(toml::Value::as_integer)
                == Some(i64::from(crate::v2::FORMAT_VERSION_V2))
        {
            return crate::v2::ModelV2::from_toml_str(text).map(Model::from_v2);
        }
        let spec: ModelSpec = toml::from_str(text).map_err(|e| {
            let line = e
                .span()
                .map(|s| text[..s.start.min(text.len())].lines().count().max(1));
            Error::Parse {
                what: "model file".into(),
                line,
                message: e.message().to_string(),
            }
        })?;
        Model::from_spec(spec)
    }

    /// Read and validate a model file.
    ///
    /// # Errors
    /// As [`Model::from_toml_str`], plus [`Error::Io`].
    pub fn load(path: impl AsRef<Path>) -> Result<Model> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|source| Error::Io {
            path: path.into(),
            source,
        })?;
        Model::from_toml_str(&text).map_err(|e| match e {
            Error::Parse { line, message, .. } => Error::Parse {
                what: format!("model file {}", path.display()),
                line,
                message,
            },
            other => other,
        })
    }

    /// Write the model as a TOML model file.
    ///
    /// # Errors
    /// [`Error::Io`] when the file cannot be written.
    pub fn save(&self, path: impl AsRef<Path>) -> Result<()> {
        let path = path.as_ref();
        std::fs::write(path, self.to_toml()).map_err(|source| Error::Io {
            path: path.into(),
            source,
        })
    }

    /// The model as TOML text (a valid model file).
    pub fn to_toml(&self) -> String {
        if let Some(m) = &self.v2 {
            return m.to_toml_string();
        }
        toml::to_string_pretty(&self.to_spec()).expect("a model spec always serialises")
    }

    /// Validate a model spec.
    ///
    /// # Errors
    /// [`Error::InvalidModel`] naming the first offending field and the expected form.
    pub fn from_spec(spec: ModelSpec) -> Result<Model> {
        if spec.format_version != FORMAT_VERSION {
            return Err(Error::model(
                "format_version",
                format!("{FORMAT_VERSION}"),
                spec.format_version,
            ));
        }
        if spec.name.trim().is_empty() {
            return Err(Error::model("name", "a non-empty name", "\"\""));
        }
        if spec.outcomes.len() < 2 {
            return Err(Error::model(
                "outcomes",
                "at least two outcomes",
                format!("{:?}", spec.outcomes),
            ));
        }
        let mut seen = HashMap::default();
        for (i, o) in spec.outcomes.iter().enumerate() {
            if o.trim().is_empty() || seen.insert(o.clone(), i).is_some() {
                return Err(Error::model(
                    format!("outcomes[{i}]"),
                    "a unique non-empty name",
                    format!("{o:?}"),
                ));
            }
        }
        let k = spec.regimes.len();
        if k == 0 {
            return Err(Error::model("regimes", "at least one regime", "none"));
        }
        let mut regime_names: HashMap<&str, usize> = HashMap::default();
        let mut outcome_of = Vec::with_capacity(k);
        for (i, r) in spec.regimes.iter().enumerate() {
            if r.name.trim().is_empty() || regime_names.insert(&r.name, i).is_some() {
                return Err(Error::model(
                    format!("regimes[{i}].name"),
                    "a unique non-empty name",
                    format!("{:?}", r.name),
                ));
            }
            match seen.get(&r.outcome) {
                Some(&o) => outcome_of.push(o),
                None => {
                    return Err(Error::model(
                        format!("regimes[{i}].outcome"),
                        format!("one of {}", spec.outcomes.join(", ")),
                        format!("{:?}", r.outcome),
                    ));
                }
            }
        }
        // Prior.
        check_prob_vector("prior.probabilities", &spec.prior.probabilities, k, false)?;
        check_sums_to_one("prior.probabilities", &spec.prior.probabilities)?;
        let pc = spec.prior.concentration;
        if !(pc.is_finite() && pc > 0.0) {
            return Err(Error::model(
                "prior.concentration",
                "a finite concentration > 0",
                pc,
            ));
        }
        // Buckets: sort by min_days_left, then check they tile [1, inf).
        if spec.transitions.is_empty() {
            return Err(Error::model("transitions", "at least one bucket", "none"));
        }
        let mut order: Vec<usize> = (0..spec.transitions.len()).collect();
        order.sort_by_key(|&i| spec.transitions[i].min_days_left);
        let mut buckets = Vec::with_capacity(order.len());
        let mut bucket_names = Vec::with_capacity(order.len());
        let mut expect_min: Option<i64> = None;
        for (pos, &bi) in order.iter().enumerate() {
            let b = &spec.transitions[bi];
            let f = format!("transitions[{bi}]");
            let min = i64::from(b.min_days_left);
            match expect_min {
                None if min > 1 => {
                    return Err(Error::model(
                        format!("{f}.min_days_left"),
                        "buckets covering every day left from 1 upwards (lowest min_days_left 0 or 1)",
                        min,
                    ));
                }
                Some(e) if e != min => {
                    return Err(Error::model(
                        format!("{f}.min_days_left"),
                        format!("{e} (buckets must be contiguous, without gaps or overlaps)"),
                        min,
                    ));
                }
                _ => {}
            }
            let last = pos + 1 == order.len();
            match (b.max_days_left, last) {
                (Some(m), false) => {
                    if i64::from(m) < min {
                        return Err(Error::model(
                            format!("{f}.max_days_left"),
                            format!("a number >= min_days_left ({min})"),
                            m,
                        ));
                    }
                    expect_min = Some(i64::from(m) + 1);
                }
                (None, false) => {
                    return Err(Error::model(
                        format!("{f}.max_days_left"),
                        "a bound (only the last bucket is open-ended)",
                        "none",
                    ));
                }
                (Some(m), true) => {
                    return Err(Error::model(
                        format!("{f}.max_days_left"),
                        "no bound on the last bucket (it must cover every day beyond)",
                        m,
                    ));
                }
                (None, true) => {}
            }
            if b.matrix.len() != k {
                return Err(Error::model(
                    format!("{f}.matrix"),
                    format!("{k} rows (one per regime)"),
                    format!("{} rows", b.matrix.len()),
                ));
            }
            let mut flat = Vec::with_capacity(k * k);
            for (r, row) in b.matrix.iter().enumerate() {
                check_prob_vector(&format!("{f}.matrix[{r}]"), row, k, false)?;
                check_sums_to_one(&format!("{f}.matrix[{r}]"), row)?;
                flat.extend_from_slice(row);
            }
            let concentration = b.concentration.expand(k, &format!("{f}.concentration"))?;
            bucket_names.push(b.name.clone());
            buckets.push(Bucket {
                min_left: min,
                max_left: b.max_days_left.map(i64::from),
                powers: linalg::binary_powers(&flat, k, POWER_LEVELS),
                matrix: flat,
                concentration,
            });
        }
        // Emissions: every v1 type present.
        for t in vocab::signal_types_v1() {
            if !spec.emissions.contains_key(t) {
                return Err(Error::model(
                    format!("emissions.{t}"),
                    "an emission for every signal type of vocabulary v1",
                    "missing",
                ));
            }
        }
        let mut emissions = Vec::with_capacity(spec.emissions.len() + vocab::SIGNAL_TYPES_ADDED_V2.len());
        let mut type_index = HashMap::default();
        let mut type_names = Vec::new();
        let mut type_descriptions = Vec::new();
        // Vocabulary order first (v1, then the types v2 adds), then the model's own types in name order.
        let mut names: Vec<&str> = Vec::new();
        for t in vocab::signal_types_v1() {
            names.push(spec.emissions.get_key_value(t).expect("checked above").0);
        }
        for (t, _, _) in vocab::SIGNAL_TYPES_ADDED_V2 {
            names.push(t);
        }
        for n in spec.emissions.keys() {
            if vocab::describe_v2(n).is_none() {
                if n.trim().is_empty() || n.chars().any(char::is_whitespace) {
                    return Err(Error::model(
                        format!("emissions.{n:?}"),
                        "a signal type name without spaces",
                        format!("{n:?}"),
                    ));
                }
                names.push(n);
            }
        }
        for name in names {
            type_index.insert(name.to_owned(), emissions.len());
            type_names.push(name.to_owned());
            let Some(e) = spec.emissions.get(name) else {
                // A type added in vocabulary v2 without a row: likelihood 1 (see `EmissionSpec`).
                type_descriptions.push(vocab::describe_v2(name).unwrap_or_default().to_owned());
                emissions.push(Emission {
                    q: vec![1.0; k],
                    concentration: vec![1.0; k],
                    mean: 1.0,
                    neutral: true,
                });
                continue;
            };
            let f = format!("emissions.{name}");
            check_prob_vector(&format!("{f}.q"), &e.q, k, true)?;
            let concentration = e.concentration.expand(k, &format!("{f}.concentration"))?;
            let description = if e.description.is_empty() {
                vocab::describe_v2(name).unwrap_or_default().to_owned()
            } else {
                e.description.clone()
            };
            type_descriptions.push(description);
            emissions.push(Emission {
                mean: e.q.iter().sum::<f64>() / k as f64,
                q: e.q.clone(),
                concentration,
                neutral: false,
            });
        }
        Ok(Model {
            meta: Arc::new(Meta {
                name: spec.name,
                description: spec.description,
                outcomes: spec.outcomes,
                regimes: spec.regimes.iter().map(|r| r.name.clone()).collect(),
                regime_descriptions: spec.regimes.iter().map(|r| r.description.clone()).collect(),
                bucket_names,
                type_names,
                type_descriptions,
                type_index,
                provenance: spec.provenance,
            }),
            outcome_of,
            prior: spec.prior.probabilities,
            prior_concentration: pc,
            buckets,
            emissions,
            v2: None,
            hash: std::sync::OnceLock::new(),
        })
    }

    /// The model as a spec (the content of a model file).
    pub fn to_spec(&self) -> ModelSpec {
        let meta = &self.meta;
        let k = meta.regimes.len();
        let many_or_one = |v: &[f64]| {
            if v.iter().all(|x| *x == v[0]) {
                OneOrMany::One(v[0])
            } else {
                OneOrMany::Many(v.to_vec())
            }
        };
        ModelSpec {
            format_version: FORMAT_VERSION,
            name: meta.name.clone(),
            description: meta.description.clone(),
            outcomes: meta.outcomes.clone(),
            regimes: (0..k)
                .map(|i| RegimeSpec {
                    name: meta.regimes[i].clone(),
                    outcome: meta.outcomes[self.outcome_of[i]].clone(),
                    description: meta.regime_descriptions[i].clone(),
                })
                .collect(),
            prior: PriorSpec {
                probabilities: self.prior.clone(),
                concentration: self.prior_concentration,
            },
            transitions: self
                .buckets
                .iter()
                .zip(&meta.bucket_names)
                .map(|(b, name)| BucketSpec {
                    name: name.clone(),
                    min_days_left: b.min_left as u32,
                    max_days_left: b.max_left.map(|m| m as u32),
                    matrix: b.matrix.chunks(k).map(<[f64]>::to_vec).collect(),
                    concentration: many_or_one(&b.concentration),
                })
                .collect(),
            emissions: self
                .emissions
                .iter()
                .enumerate()
                .filter(|(_, e)| !e.neutral)
                .map(|(i, e)| {
                    let name = &meta.type_names[i];
                    let description = if vocab::describe_v2(name).is_some() {
                        String::new()
                    } else {
                        meta.type_descriptions[i].clone()
                    };
                    (
                        name.clone(),
                        EmissionSpec {
                            q: e.q.clone(),
                            concentration: many_or_one(&e.concentration),
                            description,
                        },
                    )
                })
                .collect(),
            provenance: meta.provenance.clone(),
        }
    }

    /// The model's name.
    pub fn name(&self) -> &str {
        &self.meta.name
    }
    /// What the model is.
    pub fn description(&self) -> &str {
        &self.meta.description
    }
    /// Outcome names, in order.
    pub fn outcomes(&self) -> &[String] {
        &self.meta.outcomes
    }
    /// Regime names, in order.
    pub fn regimes(&self) -> &[String] {
        &self.meta.regimes
    }
    /// The outcome index of each regime.
    pub fn outcome_of(&self) -> &[usize] {
        &self.outcome_of
    }
    /// Prior over regimes at a case's start.
    pub fn prior(&self) -> &[f64] {
        &self.prior
    }
    /// Whether the model gives a signal type likelihood 1 (a type of vocabulary v2 its file has no row for):
    /// such signals are accepted and change nothing. `None` for a type the model does not know.
    pub fn is_neutral(&self, signal_type: &str) -> Option<bool> {
        self.meta
            .type_index
            .get(signal_type)
            .map(|&i| self.emissions[i].neutral)
    }
    /// Signal types the model knows: vocabulary v1, then the types v2 adds, then the model's own.
    pub fn signal_types(&self) -> Vec<String> {
        self.meta.type_names.clone()
    }
    /// Description of a signal type.
    pub fn describe_signal_type(&self, name: &str) -> Option<&str> {
        self.meta
            .type_index
            .get(name)
            .map(|&i| self.meta.type_descriptions[i].as_str())
    }
    /// `q_s(j)` for a signal type.
    pub fn emission(&self, signal_type: &str) -> Option<&[f64]> {
        self.meta
            .type_index
            .get(signal_type)
            .map(|&i| self.emissions[i].q.as_slice())
    }
    /// A copy with another name and provenance (used by `fit`).
    pub(crate) fn renamed(mut self, name: String, provenance: Option<Provenance>) -> Model {
        let meta = Arc::make_mut(&mut self.meta);
        meta.name = name;
        meta.provenance = provenance;
        self.hash = std::sync::OnceLock::new();
        self
    }
    /// Provenance of a fitted model.
    pub fn provenance(&self) -> Option<&Provenance> {
        self.meta.provenance.as_ref()
    }
    /// Number of regimes.
    pub fn n_regimes(&self) -> usize {
        self.outcome_of.len()
    }
    /// Number of outcomes.
    pub fn n_outcomes(&self) -> usize {
        self.meta.outcomes.len()
    }
    /// Transition buckets as (name, min days left, max days left, row-major one-day matrix).
    pub fn buckets(&self) -> Vec<(String, u32, Option<u32>, Vec<f64>)> {
        self.buckets
            .iter()
            .zip(&self.meta.bucket_names)
            .map(|(b, name)| {
                (
                    name.clone(),
                    b.min_left as u32,
                    b.max_left.map(|m| m as u32),
                    b.matrix.clone(),
                )
            })
            .collect()
    }

    /// Index of an outcome by name.
    ///
    /// # Errors
    /// [`Error::UnknownOutcome`] naming the valid outcomes.
    pub fn outcome_index(&self, name: &str) -> Result<usize> {
        self.meta
            .outcomes
            .iter()
            .position(|o| o == name)
            .ok_or_else(|| Error::UnknownOutcome {
                name: name.to_owned(),
                valid: self.meta.outcomes.clone(),
            })
    }

    /// Index of a signal type by name.
    ///
    /// # Errors
    /// [`Error::UnknownSignalType`] naming the valid types.
    pub fn type_index(&self, name: &str) -> Result<usize> {
        self.meta
            .type_index
            .get(name)
            .copied()
            .ok_or_else(|| Error::UnknownSignalType {
                name: name.to_owned(),
                valid: self.signal_types(),
                line: None,
            })
    }

    /// Index of the bucket that holds `days_left` (>= 0).
    #[inline]
    pub(crate) fn bucket_for(&self, days_left: i64) -> usize {
        let mut i = self.buckets.len() - 1;
        while i > 0 && days_left < self.buckets[i].min_left {
            i -= 1;
        }
        i
    }

    /// A copy without cached powers (to be rebuilt by [`Model::refresh_with`]); cheaper than a clone.
    pub(crate) fn without_powers(&self) -> Model {
        Model {
            meta: self.meta.clone(),
            outcome_of: self.outcome_of.clone(),
            prior: self.prior.clone(),
            prior_concentration: self.prior_concentration,
            buckets: self
                .buckets
                .iter()
                .map(|b| Bucket {
                    min_left: b.min_left,
                    max_left: b.max_left,
                    matrix: b.matrix.clone(),
                    concentration: b.concentration.clone(),
                    powers: Vec::new(),
                })
                .collect(),
            emissions: self.emissions.clone(),
            v2: self.v2.clone(),
            hash: std::sync::OnceLock::new(),
        }
    }

    /// Rebuild the cached powers after parameters were replaced (sampling, fitting).
    pub(crate) fn refresh(&mut self) {
        self.refresh_with(POWER_LEVELS);
    }

    /// As [`Model::refresh`], caching only `levels` binary powers.
    pub(crate) fn refresh_with(&mut self, levels: usize) {
        let k = self.n_regimes();
        self.hash = std::sync::OnceLock::new();
        for b in &mut self.buckets {
            b.powers = linalg::binary_powers(&b.matrix, k, levels);
        }
        for e in &mut self.emissions {
            e.mean = e.q.iter().sum::<f64>() / k as f64;
        }
    }
}

// ---- v2 models held in a `Model` (MODEL.md v2) ----
impl Model {
    /// Wrap a v2 model so that every entry point (forecast, trajectory, what-if, draws, attribution...) works
    /// with it. The v1 view keeps its regimes, the outcomes deal, stalemate and wait_out, and its signal types
    /// (evidence types with their `q`, the others with a flat likelihood of 1).
    pub fn from_v2(m: crate::v2::ModelV2) -> Model {
        let k = m.n_regimes();
        let names = m.signal_types().to_vec();
        let mut type_index = HashMap::default();
        let mut emissions = Vec::with_capacity(names.len());
        let mut descriptions = Vec::with_capacity(names.len());
        for (i, n) in names.iter().enumerate() {
            type_index.insert(n.clone(), i);
            let q = m
                .evidence_likelihood(n)
                .map_or_else(|| vec![1.0; k], <[f64]>::to_vec);
            emissions.push(Emission {
                mean: q.iter().sum::<f64>() / k as f64,
                q,
                concentration: vec![1.0; k],
                neutral: m.evidence_likelihood(n).is_none(),
            });
            let d = &m.spec().signals[n].description;
            descriptions.push(if d.is_empty() {
                vocab::describe_v1(n).unwrap_or_default().to_owned()
            } else {
                d.clone()
            });
        }
        let identity = linalg::identity(k);
        Model {
            meta: Arc::new(Meta {
                name: m.name().to_owned(),
                description: m.spec().description.clone(),
                outcomes: crate::v2::OUTCOMES.iter().map(|s| (*s).to_owned()).collect(),
                regimes: m.regimes().to_vec(),
                regime_descriptions: m.spec().regimes.iter().map(|r| r.description.clone()).collect(),
                bucket_names: m.spec().buckets.iter().map(|b| b.name.clone()).collect(),
                type_names: names,
                type_descriptions: descriptions,
                type_index,
                provenance: m.spec().provenance.clone(),
            }),
            outcome_of: (0..k).map(|j| usize::from(Some(j) != m.deal_regime())).collect(),
            prior: m.prior().to_vec(),
            prior_concentration: m.spec().prior.concentration,
            buckets: vec![Bucket {
                min_left: 0,
                max_left: None,
                powers: linalg::binary_powers(&identity, k, 1),
                matrix: identity,
                concentration: vec![1.0; k],
            }],
            emissions,
            v2: Some(Arc::new(m)),
            hash: std::sync::OnceLock::new(),
        }
    }

    /// The v2 model, when this is one.
    pub fn as_v2(&self) -> Option<&crate::v2::ModelV2> {
        self.v2.as_deref()
    }

    /// The model's format version: 1, or 2 for a v2 model.
    pub fn format_version(&self) -> u32 {
        if self.v2.is_some() { 2 } else { FORMAT_VERSION }
    }

    /// Name, version and SHA-256 of the canonical TOML ([`Model::to_toml`]) of this model.
    pub fn model_id(&self) -> crate::v2::ModelId {
        match &self.v2 {
            Some(m) => m.model_id(),
            None => crate::v2::ModelId {
                name: self.meta.name.clone(),
                version: String::new(),
                hash: self
                    .hash
                    .get_or_init(|| crate::v2::spec::sha256_hex(self.to_toml().as_bytes()))
                    .clone(),
            },
        }
    }
}

/// Serde through the model file content: `#[serde(with = "crate::model::as_spec")]` on a [`Model`] field
/// writes its [`ModelSpec`] and validates it again with [`Model::from_spec`] when reading.
pub mod as_spec {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    use super::{Model, ModelSpec};

    /// Serialise the model's spec.
    ///
    /// # Errors
    /// The serialiser's.
    pub fn serialize<S: Serializer>(m: &Model, s: S) -> Result<S::Ok, S::Error> {
        m.to_spec().serialize(s)
    }

    /// Deserialise a spec and validate it.
    ///
    /// # Errors
    /// The deserialiser's, or the validation error of [`Model::from_spec`] as a custom error.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Model, D::Error> {
        Model::from_spec(ModelSpec::deserialize(d)?).map_err(serde::de::Error::custom)
    }
}

impl Default for Model {
    fn default() -> Self {
        Model::default_model()
    }
}
