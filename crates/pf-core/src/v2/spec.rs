//! The v2 model file (`format_version = 2`) and its validation into a [`ModelV2`].
//!
//! A v2 file states, in TOML:
//! - `regimes`: the hidden regimes, one of them optionally marked `deal = true` (the regime a deal enters);
//! - `deal_repudiated_to`: where a repudiation moves the deal regime's mass (required with a deal regime);
//! - `prior`: the distribution over regimes at the case's start (the deal regime's entry must be 0);
//! - `fate`: the incumbency rate `p_inc` (prior probability that an eligible leader stays after the term end);
//! - `buckets`: days left to the term end, tiling `[1, inf)`, each optionally with a daily `matrix` given directly;
//! - `hazards`: allowed transitions with a base rate per year per bucket and betas on the inputs;
//! - `inputs`: which signal types feed `pressure`, `circumvention`, `reciprocity`, `surrender_demanded`, with
//!   half-lives, `tau_days` (pressure's fading with the campaign's age) and `kappa` (circumvention dividing
//!   pressure); `leader_may_leave` takes no types;
//! - `signals`: every signal type the model knows with its role (`action`, `context`, `evidence`, `deal`,
//!   `fate`), and for evidence types `q`, one entry per regime, so that for each regime `j`
//!   `Σ_s q_s(j) = 1` over the evidence types (a categorical distribution).

use std::collections::BTreeMap;
use std::sync::Arc;

use rustc_hash::FxHashMap as HashMap;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::model::{PriorSpec, Provenance};

/// The format version of v2 model files.
pub const FORMAT_VERSION_V2: u32 = 2;

/// Tolerance on probability vectors that must sum to one in a model file.
pub const SUM_TOLERANCE: f64 = 1e-9;

/// Days in a year, for rates written per year.
pub const DAYS_PER_YEAR: f64 = 365.25;

/// Default number of days between the election and the term end when a case gives no election date
/// (a US presidential election falls 78 days before the inauguration).
pub const DEFAULT_ELECTION_DAYS_BEFORE_TERM_END: u32 = 78;

/// The role of a signal type (MODEL.md, "Signal roles").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// The sender's own policy: an input to the transition rates from its date on.
    Action,
    /// Conditions outside the two parties' talks: an input to the transition rates.
    Context,
    /// What the target does, and joint events: a likelihood over the hidden regimes.
    Evidence,
    /// The deal itself (enters the deal regime) or, with `repudiates = true`, a repudiation.
    Deal,
    /// Resolves whether the sender's leader stays after the term end.
    Fate,
}

/// What a fate signal reveals.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Fate {
    /// The leader stays in office after the term end.
    Stays,
    /// The leader leaves office at the term end.
    Leaves,
}

impl Fate {
    /// Index of the half of the joint state: 0 stays, 1 leaves.
    pub fn index(self) -> usize {
        match self {
            Fate::Stays => 0,
            Fate::Leaves => 1,
        }
    }
}

/// The inputs of the transition rates (MODEL.md, "Transitions are hazards with inputs").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Input {
    /// Sanctions, isolation, threats, the sender's withdrawals: decayed, fading with the campaign's age and
    /// divided by `1 + kappa · circumvention`.
    Pressure,
    /// Third-party circumvention and the sender's isolation abroad, decayed.
    Circumvention,
    /// The sender's concessions and relief, decayed.
    Reciprocity,
    /// Up-front surrender demands, decayed.
    SurrenderDemanded,
    /// The chance the leader leaves: `1 - P(stays)` before the election, then 1 or 0 by the fate half.
    LeaderMayLeave,
}

/// Number of inputs.
pub const N_INPUTS: usize = 5;

impl Input {
    /// All inputs, in index order.
    pub const ALL: [Input; N_INPUTS] = [
        Input::Pressure,
        Input::Circumvention,
        Input::Reciprocity,
        Input::SurrenderDemanded,
        Input::LeaderMayLeave,
    ];
    /// The input's index in `x`.
    pub fn index(self) -> usize {
        self as usize
    }
    /// The input's name in a model file.
    pub fn name(self) -> &'static str {
        match self {
            Input::Pressure => "pressure",
            Input::Circumvention => "circumvention",
            Input::Reciprocity => "reciprocity",
            Input::SurrenderDemanded => "surrender_demanded",
            Input::LeaderMayLeave => "leader_may_leave",
        }
    }
    fn parse(name: &str) -> Option<Input> {
        Input::ALL.into_iter().find(|i| i.name() == name)
    }
}

const INPUT_NAMES: &str = "pressure, circumvention, reciprocity, surrender_demanded, leader_may_leave";

/// One regime as written in a v2 model file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegimeSpecV2 {
    /// The regime's name.
    pub name: String,
    /// Whether this is the deal regime (entered only on a deal signal, left only on a repudiation).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub deal: bool,
    /// What the regime means.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
}

/// The leader's fate as written in a v2 model file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FateSpec {
    /// `p_inc`: the prior probability that an eligible leader stays in office after the term end.
    pub incumbency_rate: f64,
    /// Beta concentration for parameter draws: `Beta(p_inc c, (1 - p_inc) c)`.
    pub concentration: f64,
}

/// A bucket of days left to the term end.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BucketSpecV2 {
    /// The bucket's name.
    pub name: String,
    /// Smallest number of days left (inclusive).
    pub min_days_left: u32,
    /// Largest number of days left (inclusive); absent for the open-ended last bucket.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_days_left: Option<u32>,
    /// A row-stochastic daily matrix given directly (as in v1); when present, the hazards and inputs do not
    /// apply in this bucket.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub matrix: Option<Vec<Vec<f64>>>,
}

/// A base rate: one number for every bucket, or one per bucket.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Rates {
    /// The same rate in every bucket.
    One(f64),
    /// One rate per bucket, in bucket order.
    Many(Vec<f64>),
}

/// A coefficient with its Normal prior.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BetaSpec {
    /// Prior mean.
    pub mean: f64,
    /// Prior standard deviation (> 0).
    pub sd: f64,
    /// The value used (a fitted model states it); the prior mean when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<f64>,
}

/// An allowed transition with its hazard.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HazardSpec {
    /// The regime left.
    pub from: String,
    /// The regime entered.
    pub to: String,
    /// Base rate per year (`lambda = rate / 365.25` per day), one for all buckets or one per bucket.
    pub rate_per_year: Rates,
    /// Standard deviation of `ln(rate)` for parameter draws (log-normal around the rate).
    pub rate_sd_log: f64,
    /// The prior's centre of the base rate when it differs from `rate_per_year` (a fitted model keeps its
    /// prior here, [`crate::v2::learn`]); `fit` penalises `ln(rate)` by a Normal around `ln(prior)` with sd
    /// `rate_sd_log`. Absent: `rate_per_year` is the prior's centre.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prior_rate_per_year: Option<Rates>,
    /// Coefficients on the inputs, by input name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub betas: BTreeMap<String, BetaSpec>,
}

/// One input's definition.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct InputSpec {
    /// The action or context types counted.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub types: Vec<String>,
    /// Half-life of a signal's count, in days.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub half_life_days: Option<f64>,
    /// Pressure only: its effect is multiplied by `exp(-age / tau)`, age in days since the case's start.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tau_days: Option<f64>,
    /// Pressure only: effective pressure = pressure / (1 + kappa · circumvention).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kappa: Option<f64>,
}

/// One signal type as written in a v2 model file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignalTypeSpec {
    /// The type's role.
    pub role: Role,
    /// Evidence only: `q_s(j)`, one probability per regime.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub q: Option<Vec<f64>>,
    /// Deal or action only: the signal repudiates a standing deal.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub repudiates: bool,
    /// Fate only: what the signal reveals.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reveals: Option<Fate>,
    /// Evidence only: the prior's centre of `q` when it differs from `q` (a fitted model keeps its prior here,
    /// [`crate::v2::learn`]); absent, `q` is the prior's centre.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prior_q: Option<Vec<f64>>,
    /// What the type records.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
}

/// A v2 model file, as read from and written to TOML. Validate it with [`ModelV2::from_spec`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelSpecV2 {
    /// Must be 2.
    pub format_version: u32,
    /// The model's name.
    pub name: String,
    /// The model's version (free text, e.g. `2.0.0`).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub version: String,
    /// What the model is.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
    /// Regimes, in order.
    pub regimes: Vec<RegimeSpecV2>,
    /// The regime a repudiation moves the deal regime's mass to (required when a regime has `deal = true`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deal_repudiated_to: Option<String>,
    /// Prior over regimes at a case's start.
    pub prior: PriorSpec,
    /// The leader's fate.
    pub fate: FateSpec,
    /// `[min, max]` of the hazards' exponent `Σ_k beta_k x_k`.
    pub exponent_range: [f64; 2],
    /// Buckets of days left, in increasing order of `min_days_left`.
    pub buckets: Vec<BucketSpecV2>,
    /// Allowed transitions.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub hazards: Vec<HazardSpec>,
    /// Inputs by name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub inputs: BTreeMap<String, InputSpec>,
    /// Dirichlet concentration of each regime's evidence row `q_.(j)` for parameter draws.
    pub evidence_concentration: f64,
    /// Signal types by name.
    pub signals: BTreeMap<String, SignalTypeSpec>,
    /// Provenance of a fitted model.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provenance: Option<Provenance>,
    /// How a fitted model was fitted (data files and their SHA-256, weights, objective): [`crate::v2::learn`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fit: Option<crate::v2::learn::FitRecord>,
}

/// A validated bucket.
#[derive(Debug, Clone)]
pub(crate) struct BucketV2 {
    pub min_left: i64,
    /// A daily matrix given directly (row-major `k x k`).
    pub matrix: Option<Vec<f64>>,
}

/// A validated hazard.
#[derive(Debug, Clone)]
#[allow(dead_code)] // rate_sd_log and beta_prior serve parameter draws and fit
pub(crate) struct Hazard {
    pub from: usize,
    pub to: usize,
    /// Base rate per day, per bucket.
    pub base: Vec<f64>,
    pub rate_sd_log: f64,
    /// Coefficient per input (0 where the file gives none).
    pub beta: [f64; N_INPUTS],
    /// Normal prior (mean, sd) per input, where the file gives one.
    pub beta_prior: [Option<(f64, f64)>; N_INPUTS],
    /// The prior's centre of the base rate per day, per bucket (`prior_rate_per_year`, or the rate).
    pub prior_base: Vec<f64>,
}

/// A validated input definition.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct InputDef {
    pub present: bool,
    /// `ln 2 / half-life` (per day); 0 for `leader_may_leave`.
    pub decay: f64,
    /// `1 / tau` (per day); 0 when pressure does not fade.
    pub inv_tau: f64,
    pub kappa: f64,
}

/// A validated signal type.
#[derive(Debug, Clone)]
pub(crate) struct TypeV2 {
    pub role: Role,
    /// Evidence: `q_s(j)`.
    pub q: Vec<f64>,
    /// Evidence: `mean_k q_s(k)`.
    pub mean: f64,
    pub repudiates: bool,
    pub reveals: Option<Fate>,
    /// Action or context: the input it feeds.
    pub feeds: Option<Input>,
    /// The filter's order within a day: 0 evidence, 1 deal (entered), 2 repudiation, 3 fate, 4 inputs only
    /// (see [`TypeV2::rank_of`]).
    pub rank: u8,
}

impl TypeV2 {
    /// The rank of a role within a day (evidence, deal, repudiation, fate; inputs do not act on the state).
    pub(crate) fn rank_of(role: Role, repudiates: bool) -> u8 {
        match role {
            Role::Evidence => 0,
            Role::Deal if !repudiates => 1,
            Role::Deal | Role::Action if repudiates => 2,
            Role::Fate => 3,
            _ => 4,
        }
    }
}

/// Binary powers kept per input-independent matrix (`2^15` days per product; longer runs repeat the top level).
pub(crate) const STATIC_LEVELS: usize = 16;

/// A validated v2 model. Cheap to clone (shared); immutable once built.
#[derive(Debug, Clone)]
pub struct ModelV2 {
    pub(crate) spec: Arc<ModelSpecV2>,
    pub(crate) hash: Arc<String>,
    /// Shared: parameter draws clone the model, and names never change.
    pub(crate) regimes: Arc<Vec<String>>,
    pub(crate) k: usize,
    pub(crate) deal: Option<usize>,
    pub(crate) repudiate_to: usize,
    pub(crate) prior: Vec<f64>,
    pub(crate) p_inc: f64,
    pub(crate) clip: (f64, f64),
    pub(crate) buckets: Vec<BucketV2>,
    pub(crate) hazards: Vec<Hazard>,
    pub(crate) inputs: [InputDef; N_INPUTS],
    pub(crate) types: Vec<TypeV2>,
    pub(crate) type_names: Arc<Vec<String>>,
    pub(crate) type_index: Arc<HashMap<String, usize>>,
    /// Whether any hazard has a non-zero beta on a present input (otherwise the matrices depend only on the
    /// bucket).
    pub(crate) has_inputs: bool,
    /// For each bucket whose matrices do not depend on the inputs (a matrix given directly, or no inputs at
    /// all): the binary powers of `Q` (no deal entered) and `P`, [`STATIC_LEVELS`] levels each (fewer in a
    /// parameter draw, which needs only its case's span).
    pub(crate) static_powers: Arc<Vec<Option<[Vec<f64>; 2]>>>,
}

fn prob(field: &str, x: f64, open_zero: bool) -> Result<()> {
    let ok = x.is_finite() && x <= 1.0 && if open_zero { x > 0.0 } else { x >= 0.0 };
    if ok {
        Ok(())
    } else {
        Err(Error::model(
            field,
            if open_zero {
                "a probability in (0, 1]"
            } else {
                "a probability in [0, 1]"
            },
            x,
        ))
    }
}

fn positive(field: &str, x: f64) -> Result<()> {
    if x.is_finite() && x > 0.0 {
        Ok(())
    } else {
        Err(Error::model(field, "a finite number > 0", x))
    }
}

fn sums_to_one(field: &str, v: &[f64]) -> Result<()> {
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

/// SHA-256 of a byte string, as lowercase hex (FIPS 180-4; small and dependency-free).
pub(crate) fn sha256_hex(data: &[u8]) -> String {
    const K: [u32; 64] = [
        0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
        0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
        0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
        0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
        0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
        0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
        0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
        0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
    ];
    let mut h: [u32; 8] = [
        0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
    ];
    let mut msg = data.to_vec();
    let bits = (data.len() as u64).wrapping_mul(8);
    msg.push(0x80);
    while msg.len() % 64 != 56 {
        msg.push(0);
    }
    msg.extend_from_slice(&bits.to_be_bytes());
    for chunk in msg.chunks(64) {
        let mut w = [0u32; 64];
        for i in 0..16 {
            w[i] = u32::from_be_bytes([chunk[4 * i], chunk[4 * i + 1], chunk[4 * i + 2], chunk[4 * i + 3]]);
        }
        for i in 16..64 {
            let s0 = w[i - 15].rotate_right(7) ^ w[i - 15].rotate_right(18) ^ (w[i - 15] >> 3);
            let s1 = w[i - 2].rotate_right(17) ^ w[i - 2].rotate_right(19) ^ (w[i - 2] >> 10);
            w[i] = w[i - 16].wrapping_add(s0).wrapping_add(w[i - 7]).wrapping_add(s1);
        }
        let [mut a, mut b, mut c, mut d, mut e, mut f, mut g, mut hh] = h;
        for i in 0..64 {
            let s1 = e.rotate_right(6) ^ e.rotate_right(11) ^ e.rotate_right(25);
            let ch = (e & f) ^ (!e & g);
            let t1 = hh
                .wrapping_add(s1)
                .wrapping_add(ch)
                .wrapping_add(K[i])
                .wrapping_add(w[i]);
            let s0 = a.rotate_right(2) ^ a.rotate_right(13) ^ a.rotate_right(22);
            let maj = (a & b) ^ (a & c) ^ (b & c);
            let t2 = s0.wrapping_add(maj);
            hh = g;
            g = f;
            f = e;
            e = d.wrapping_add(t1);
            d = c;
            c = b;
            b = a;
            a = t1.wrapping_add(t2);
        }
        for (x, y) in h.iter_mut().zip([a, b, c, d, e, f, g, hh]) {
            *x = x.wrapping_add(y);
        }
    }
    h.iter().map(|x| format!("{x:08x}")).collect()
}

impl ModelV2 {
    /// Parse and validate a v2 model from TOML text.
    ///
    /// # Errors
    /// [`Error::Parse`] on TOML syntax or a missing/mistyped field, [`Error::InvalidModel`] on a constraint,
    /// naming the field and the expected form.
    pub fn from_toml_str(text: &str) -> Result<ModelV2> {
        let spec: ModelSpecV2 = toml::from_str(text).map_err(|e| {
            let line = e
                .span()
                .map(|s| text[..s.start.min(text.len())].lines().count().max(1));
            Error::Parse {
                what: "model file (format_version 2)".into(),
                line,
                message: e.message().to_string(),
            }
        })?;
        ModelV2::from_spec(spec)
    }

    /// Read and validate a v2 model file.
    ///
    /// # Errors
    /// As [`ModelV2::from_toml_str`], plus [`Error::Io`].
    pub fn load(path: impl AsRef<std::path::Path>) -> Result<ModelV2> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|source| Error::Io {
            path: path.into(),
            source,
        })?;
        ModelV2::from_toml_str(&text)
    }

    /// The model as TOML (the canonical text its hash is computed from; comments are not kept).
    pub fn to_toml_string(&self) -> String {
        toml::to_string(&*self.spec).expect("a v2 model spec always serialises")
    }

    /// Write the model file.
    ///
    /// # Errors
    /// [`Error::Io`].
    pub fn save(&self, path: impl AsRef<std::path::Path>) -> Result<()> {
        let path = path.as_ref();
        std::fs::write(path, self.to_toml_string()).map_err(|source| Error::Io {
            path: path.into(),
            source,
        })
    }

    /// The model's spec (the content of its file).
    pub fn spec(&self) -> &ModelSpecV2 {
        &self.spec
    }

    /// Validate a spec.
    ///
    /// # Errors
    /// [`Error::InvalidModel`] naming the field and the expected form.
    pub fn from_spec(spec: ModelSpecV2) -> Result<ModelV2> {
        if spec.format_version != FORMAT_VERSION_V2 {
            return Err(Error::model("format_version", "2", spec.format_version));
        }
        if spec.name.trim().is_empty() {
            return Err(Error::model("name", "a non-empty name", "an empty string"));
        }
        // Regimes.
        let k = spec.regimes.len();
        if k < 1 {
            return Err(Error::model("regimes", "at least one regime", "none"));
        }
        let mut regime_index: HashMap<&str, usize> = HashMap::default();
        let mut deal = None;
        for (i, r) in spec.regimes.iter().enumerate() {
            if r.name.trim().is_empty() || regime_index.insert(&r.name, i).is_some() {
                return Err(Error::model(
                    format!("regimes[{i}].name"),
                    "a unique non-empty name",
                    format!("{:?}", r.name),
                ));
            }
            if r.deal {
                if deal.is_some() {
                    return Err(Error::model(
                        format!("regimes[{i}].deal"),
                        "at most one regime with deal = true",
                        "a second one",
                    ));
                }
                deal = Some(i);
            }
        }
        let names = spec
            .regimes
            .iter()
            .map(|r| r.name.as_str())
            .collect::<Vec<_>>()
            .join(", ");
        let regime = |field: &str, name: &str| -> Result<usize> {
            regime_index.get(name).copied().ok_or_else(|| {
                Error::model(field, format!("one of the regimes {names}"), format!("{name:?}"))
            })
        };
        let repudiate_to = match (deal, &spec.deal_repudiated_to) {
            (Some(s), Some(n)) => {
                let r = regime("deal_repudiated_to", n)?;
                if r == s {
                    return Err(Error::model(
                        "deal_repudiated_to",
                        "a regime other than the deal regime",
                        format!("{n:?}"),
                    ));
                }
                r
            }
            (Some(_), None) => {
                return Err(Error::model(
                    "deal_repudiated_to",
                    "the regime a repudiated deal falls back to (required with a deal regime)",
                    "nothing",
                ));
            }
            (None, Some(n)) => {
                return Err(Error::model(
                    "deal_repudiated_to",
                    "no value (no regime has deal = true)",
                    format!("{n:?}"),
                ));
            }
            (None, None) => 0,
        };
        // Prior.
        let p = &spec.prior.probabilities;
        if p.len() != k {
            return Err(Error::model(
                "prior.probabilities",
                format!("{k} probabilities (one per regime)"),
                format!("{} values", p.len()),
            ));
        }
        for (i, x) in p.iter().enumerate() {
            prob(&format!("prior.probabilities[{i}]"), *x, false)?;
        }
        sums_to_one("prior.probabilities", p)?;
        if let Some(s) = deal
            && p[s] != 0.0
        {
            return Err(Error::model(
                format!("prior.probabilities[{s}]"),
                "0 for the deal regime (deals are public: a case starts without one)",
                p[s],
            ));
        }
        positive("prior.concentration", spec.prior.concentration)?;
        // Fate.
        prob("fate.incumbency_rate", spec.fate.incumbency_rate, false)?;
        positive("fate.concentration", spec.fate.concentration)?;
        // Exponent range.
        let [lo, hi] = spec.exponent_range;
        if !((-700.0..=0.0).contains(&lo) && (0.0..=700.0).contains(&hi)) {
            return Err(Error::model(
                "exponent_range",
                "[min, max] with -700 <= min <= 0 <= max <= 700",
                format!("[{lo}, {hi}]"),
            ));
        }
        // Buckets: increasing, contiguous, covering [1, inf).
        if spec.buckets.is_empty() {
            return Err(Error::model("buckets", "at least one bucket", "none"));
        }
        let nb = spec.buckets.len();
        let mut buckets = Vec::with_capacity(nb);
        let mut expect_min: Option<i64> = None;
        for (bi, b) in spec.buckets.iter().enumerate() {
            let f = format!("buckets[{bi}]");
            let min = i64::from(b.min_days_left);
            match expect_min {
                None if min > 1 => {
                    return Err(Error::model(
                        format!("{f}.min_days_left"),
                        "0 or 1 for the first bucket (buckets cover every day left from 1 upwards, in increasing order)",
                        min,
                    ));
                }
                Some(e) if e != min => {
                    return Err(Error::model(
                        format!("{f}.min_days_left"),
                        format!("{e} (buckets in increasing order, without gaps or overlaps)"),
                        min,
                    ));
                }
                _ => {}
            }
            let last = bi + 1 == nb;
            match (b.max_days_left, last) {
                (Some(m), false) if i64::from(m) >= min => expect_min = Some(i64::from(m) + 1),
                (Some(m), false) => {
                    return Err(Error::model(
                        format!("{f}.max_days_left"),
                        format!("a number >= min_days_left ({min})"),
                        m,
                    ));
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
                        "no bound on the last bucket (it covers every day beyond)",
                        m,
                    ));
                }
                (None, true) => {}
            }
            let matrix = match &b.matrix {
                None => None,
                Some(rows) => {
                    if rows.len() != k {
                        return Err(Error::model(
                            format!("{f}.matrix"),
                            format!("{k} rows (one per regime)"),
                            format!("{} rows", rows.len()),
                        ));
                    }
                    let mut flat = Vec::with_capacity(k * k);
                    for (r, row) in rows.iter().enumerate() {
                        let rf = format!("{f}.matrix[{r}]");
                        if row.len() != k {
                            return Err(Error::model(
                                &rf,
                                format!("{k} probabilities (one per regime)"),
                                format!("{} values", row.len()),
                            ));
                        }
                        for (c, x) in row.iter().enumerate() {
                            prob(&format!("{rf}[{c}]"), *x, false)?;
                        }
                        sums_to_one(&rf, row)?;
                        if Some(r) == deal && row[r] != 1.0 {
                            return Err(Error::model(
                                &rf,
                                "the identity row for the deal regime (left only on a repudiation)",
                                format!("{row:?}"),
                            ));
                        }
                        flat.extend_from_slice(row);
                    }
                    Some(flat)
                }
            };
            buckets.push(BucketV2 {
                min_left: min,
                matrix,
            });
        }
        // Signal types.
        let mut types = Vec::with_capacity(spec.signals.len());
        let mut type_names = Vec::with_capacity(spec.signals.len());
        let mut type_index = HashMap::default();
        let mut q_sums = vec![0.0; k];
        let mut n_evidence = 0;
        for (name, t) in &spec.signals {
            let f = format!("signals.{name}");
            if name.trim().is_empty() || name.chars().any(char::is_whitespace) {
                return Err(Error::model(
                    &f,
                    "a signal type name without spaces",
                    format!("{name:?}"),
                ));
            }
            let (q, mean) = match (t.role, &t.q) {
                (Role::Evidence, Some(q)) => {
                    if q.len() != k {
                        return Err(Error::model(
                            format!("{f}.q"),
                            format!("{k} probabilities (one per regime)"),
                            format!("{} values", q.len()),
                        ));
                    }
                    for (j, x) in q.iter().enumerate() {
                        prob(&format!("{f}.q[{j}]"), *x, true)?;
                        q_sums[j] += x;
                    }
                    n_evidence += 1;
                    (q.clone(), q.iter().sum::<f64>() / k as f64)
                }
                (Role::Evidence, None) => {
                    return Err(Error::model(
                        format!("{f}.q"),
                        "one probability per regime for an evidence type",
                        "nothing",
                    ));
                }
                (_, Some(_)) => {
                    return Err(Error::model(
                        format!("{f}.q"),
                        "no q (only evidence types have likelihoods)",
                        "a list",
                    ));
                }
                (_, None) => (Vec::new(), 0.0),
            };
            if t.repudiates && !matches!(t.role, Role::Deal | Role::Action) {
                return Err(Error::model(
                    format!("{f}.repudiates"),
                    "false (only deal and action types repudiate)",
                    true,
                ));
            }
            match (t.role, t.reveals) {
                (Role::Fate, None) => {
                    return Err(Error::model(
                        format!("{f}.reveals"),
                        "\"stays\" or \"leaves\" for a fate type",
                        "nothing",
                    ));
                }
                (Role::Fate, Some(_)) | (_, None) => {}
                (_, Some(_)) => {
                    return Err(Error::model(
                        format!("{f}.reveals"),
                        "nothing (only fate types reveal the leader's fate)",
                        "a value",
                    ));
                }
            }
            type_index.insert(name.clone(), types.len());
            type_names.push(name.clone());
            types.push(TypeV2 {
                role: t.role,
                q,
                mean,
                repudiates: t.repudiates,
                reveals: t.reveals,
                feeds: None,
                rank: TypeV2::rank_of(t.role, t.repudiates),
            });
        }
        if n_evidence > 0 {
            for (j, s) in q_sums.iter().enumerate() {
                if (s - 1.0).abs() > SUM_TOLERANCE {
                    return Err(Error::model(
                        format!("signals.*.q[{j}]"),
                        format!(
                            "evidence likelihoods of regime {} summing to 1 over the evidence types within 1e-9",
                            spec.regimes[j].name
                        ),
                        format!("sum {s}"),
                    ));
                }
            }
        }
        positive("evidence_concentration", spec.evidence_concentration)?;
        // Inputs.
        let mut inputs = [InputDef::default(); N_INPUTS];
        for (name, def) in &spec.inputs {
            let f = format!("inputs.{name}");
            let input = Input::parse(name).ok_or_else(|| {
                Error::model(
                    &f,
                    format!("one of the inputs {INPUT_NAMES}"),
                    format!("{name:?}"),
                )
            })?;
            let d = &mut inputs[input.index()];
            d.present = true;
            if input == Input::LeaderMayLeave {
                if !def.types.is_empty() || def.half_life_days.is_some() {
                    return Err(Error::model(
                        &f,
                        "no types and no half-life (the leader's chance of leaving comes from the fate)",
                        "types or a half-life",
                    ));
                }
            } else {
                let h = def.half_life_days.ok_or_else(|| {
                    Error::model(
                        format!("{f}.half_life_days"),
                        "a half-life in days > 0",
                        "nothing",
                    )
                })?;
                positive(&format!("{f}.half_life_days"), h)?;
                d.decay = std::f64::consts::LN_2 / h;
                for (i, t) in def.types.iter().enumerate() {
                    let tf = format!("{f}.types[{i}]");
                    let ti = *type_index.get(t).ok_or_else(|| {
                        Error::model(&tf, "a signal type declared under [signals]", format!("{t:?}"))
                    })?;
                    let ty = &mut types[ti];
                    if !matches!(ty.role, Role::Action | Role::Context) {
                        return Err(Error::model(
                            &tf,
                            "an action or context type",
                            format!("{t:?} (role {:?})", ty.role),
                        ));
                    }
                    if let Some(other) = ty.feeds {
                        return Err(Error::model(
                            &tf,
                            "a type feeding one input only",
                            format!("{t:?}, which already feeds {}", other.name()),
                        ));
                    }
                    ty.feeds = Some(input);
                }
            }
            if input == Input::Pressure {
                if let Some(tau) = def.tau_days {
                    positive(&format!("{f}.tau_days"), tau)?;
                    d.inv_tau = 1.0 / tau;
                }
                if let Some(kappa) = def.kappa {
                    if !(kappa.is_finite() && kappa >= 0.0) {
                        return Err(Error::model(format!("{f}.kappa"), "a finite number >= 0", kappa));
                    }
                    d.kappa = kappa;
                }
            } else if def.tau_days.is_some() || def.kappa.is_some() {
                return Err(Error::model(
                    &f,
                    "tau_days and kappa on the pressure input only",
                    "tau_days or kappa",
                ));
            }
        }
        if inputs[Input::Pressure.index()].kappa > 0.0 && !inputs[Input::Circumvention.index()].present {
            return Err(Error::model(
                "inputs.pressure.kappa",
                "0 or no kappa when no circumvention input is defined",
                inputs[Input::Pressure.index()].kappa,
            ));
        }
        // Hazards.
        let mut hazards: Vec<Hazard> = Vec::with_capacity(spec.hazards.len());
        let mut has_inputs = false;
        for (hi_, h) in spec.hazards.iter().enumerate() {
            let f = format!("hazards[{hi_}]");
            let from = regime(&format!("{f}.from"), &h.from)?;
            let to = regime(&format!("{f}.to"), &h.to)?;
            if from == to {
                return Err(Error::model(
                    &f,
                    "a transition between two different regimes",
                    format!("{} -> {}", h.from, h.to),
                ));
            }
            if Some(from) == deal {
                return Err(Error::model(
                    format!("{f}.from"),
                    "a regime other than the deal regime (it is left only on a repudiation)",
                    format!("{:?}", h.from),
                ));
            }
            if hazards.iter().any(|o| o.from == from && o.to == to) {
                return Err(Error::model(
                    &f,
                    "one hazard per transition",
                    format!("a second {} -> {}", h.from, h.to),
                ));
            }
            let per_year = match &h.rate_per_year {
                Rates::One(x) => vec![*x; nb],
                Rates::Many(v) if v.len() == nb => v.clone(),
                Rates::Many(v) => {
                    return Err(Error::model(
                        format!("{f}.rate_per_year"),
                        format!("{nb} rates (one per bucket) or one number"),
                        format!("{} values", v.len()),
                    ));
                }
            };
            for (b, r) in per_year.iter().enumerate() {
                if !(r.is_finite() && *r >= 0.0) {
                    return Err(Error::model(
                        format!("{f}.rate_per_year[{b}]"),
                        "a finite rate >= 0 per year",
                        r,
                    ));
                }
            }
            if !(h.rate_sd_log.is_finite() && h.rate_sd_log >= 0.0) {
                return Err(Error::model(
                    format!("{f}.rate_sd_log"),
                    "a finite number >= 0",
                    h.rate_sd_log,
                ));
            }
            let mut beta = [0.0; N_INPUTS];
            let mut beta_prior = [None; N_INPUTS];
            for (iname, b) in &h.betas {
                let bf = format!("{f}.betas.{iname}");
                let input = Input::parse(iname).ok_or_else(|| {
                    Error::model(
                        &bf,
                        format!("one of the inputs {INPUT_NAMES}"),
                        format!("{iname:?}"),
                    )
                })?;
                if !inputs[input.index()].present {
                    return Err(Error::model(
                        &bf,
                        format!("an input defined under [inputs.{iname}]"),
                        "an undefined input",
                    ));
                }
                if !b.mean.is_finite() {
                    return Err(Error::model(format!("{bf}.mean"), "a finite number", b.mean));
                }
                positive(&format!("{bf}.sd"), b.sd)?;
                let v = b.value.unwrap_or(b.mean);
                if !v.is_finite() {
                    return Err(Error::model(format!("{bf}.value"), "a finite number", v));
                }
                beta[input.index()] = v;
                beta_prior[input.index()] = Some((b.mean, b.sd));
                has_inputs |= v != 0.0;
            }
            let prior_per_year = match &h.prior_rate_per_year {
                None => per_year.clone(),
                Some(Rates::One(x)) => vec![*x; nb],
                Some(Rates::Many(v)) if v.len() == nb => v.clone(),
                Some(Rates::Many(v)) => {
                    return Err(Error::model(
                        format!("{f}.prior_rate_per_year"),
                        format!("{nb} rates (one per bucket) or one number"),
                        format!("{} values", v.len()),
                    ));
                }
            };
            for (b, r) in prior_per_year.iter().enumerate() {
                if !(r.is_finite() && *r >= 0.0) {
                    return Err(Error::model(
                        format!("{f}.prior_rate_per_year[{b}]"),
                        "a finite rate >= 0 per year",
                        r,
                    ));
                }
            }
            hazards.push(Hazard {
                prior_base: prior_per_year.iter().map(|r| r / DAYS_PER_YEAR).collect(),
                from,
                to,
                base: per_year.iter().map(|r| r / DAYS_PER_YEAR).collect(),
                rate_sd_log: h.rate_sd_log,
                beta,
                beta_prior,
            });
        }
        let canonical = toml::to_string(&spec).expect("a v2 model spec always serialises");
        Ok(ModelV2 {
            hash: Arc::new(sha256_hex(canonical.as_bytes())),
            regimes: Arc::new(spec.regimes.iter().map(|r| r.name.clone()).collect()),
            k,
            deal,
            repudiate_to,
            prior: spec.prior.probabilities.clone(),
            p_inc: spec.fate.incumbency_rate,
            clip: (lo, hi),
            buckets,
            hazards,
            inputs,
            types,
            type_names: Arc::new(type_names),
            type_index: Arc::new(type_index),
            has_inputs,
            static_powers: Arc::new(Vec::new()),
            spec: Arc::new(spec),
        }
        .with_static_powers())
    }

    /// Recompute the cached powers of the input-independent buckets (after parameters changed).
    pub(crate) fn with_static_powers(self) -> ModelV2 {
        self.with_static_powers_levels(STATIC_LEVELS)
    }

    /// [`ModelV2::with_static_powers`] with `levels` binary powers per matrix (1 to 16). A run of `n` days
    /// takes the same products, in the same order, with any number of levels above `log2(n)`: parameter
    /// draws, which filter one case, compute only the levels its span needs.
    pub(crate) fn with_static_powers_levels(mut self, levels: usize) -> ModelV2 {
        let levels = levels.clamp(1, STATIC_LEVELS);
        let k = self.k;
        let powers = (0..self.buckets.len())
            .map(|b| {
                if self.buckets[b].matrix.is_none() && self.has_inputs {
                    return None;
                }
                let p = match &self.buckets[b].matrix {
                    Some(p) => p.clone(),
                    None => {
                        let mut lam = vec![0.0; k * k];
                        let f = 0f64.clamp(self.clip.0, self.clip.1).exp();
                        for h in &self.hazards {
                            lam[h.from * k + h.to] = h.base[b] * f;
                        }
                        crate::v2::filter::competing_risks(&lam, k)
                    }
                };
                let mut q = p.clone();
                if let Some(s) = self.deal {
                    for i in 0..k {
                        if i != s {
                            q[i * k + s] = 0.0;
                        }
                    }
                }
                Some([
                    crate::linalg::binary_powers(&q, k, levels),
                    crate::linalg::binary_powers(&p, k, levels),
                ])
            })
            .collect();
        self.static_powers = Arc::new(powers);
        self
    }

    /// The model's name.
    pub fn name(&self) -> &str {
        &self.spec.name
    }
    /// The model's version (free text; empty when the file gives none).
    pub fn version(&self) -> &str {
        &self.spec.version
    }
    /// SHA-256 (lowercase hex) of the model's canonical TOML ([`ModelV2::to_toml_string`]).
    pub fn hash(&self) -> &str {
        &self.hash
    }
    /// Regime names, in order.
    pub fn regimes(&self) -> &[String] {
        &self.regimes
    }
    /// Number of regimes.
    pub fn n_regimes(&self) -> usize {
        self.k
    }
    /// The deal regime's index, if the model has one.
    pub fn deal_regime(&self) -> Option<usize> {
        self.deal
    }
    /// Prior over regimes at a case's start.
    pub fn prior(&self) -> &[f64] {
        &self.prior
    }
    /// `p_inc`: prior probability that an eligible leader stays after the term end.
    pub fn incumbency_rate(&self) -> f64 {
        self.p_inc
    }
    /// Signal type names, in name order.
    pub fn signal_types(&self) -> &[String] {
        &self.type_names
    }
    /// The role of a signal type.
    pub fn role(&self, signal_type: &str) -> Option<Role> {
        self.type_index.get(signal_type).map(|&i| self.types[i].role)
    }
    /// `q_s(j)` of an evidence type.
    pub fn evidence_likelihood(&self, signal_type: &str) -> Option<&[f64]> {
        self.type_index
            .get(signal_type)
            .map(|&i| self.types[i].q.as_slice())
            .filter(|q| !q.is_empty())
    }
    /// Index of a signal type by name.
    ///
    /// # Errors
    /// [`Error::UnknownSignalType`] naming the valid types.
    pub fn type_index(&self, name: &str) -> Result<usize> {
        self.type_index
            .get(name)
            .copied()
            .ok_or_else(|| Error::UnknownSignalType {
                name: name.to_owned(),
                valid: self.type_names.to_vec(),
                line: None,
            })
    }
    /// Index of the bucket that holds `days_left`.
    #[inline]
    pub(crate) fn bucket_for(&self, days_left: i64) -> usize {
        let mut i = self.buckets.len() - 1;
        while i > 0 && days_left < self.buckets[i].min_left {
            i -= 1;
        }
        i
    }
}

impl crate::case::Vocabulary for ModelV2 {
    fn check_type(&self, name: &str) -> Result<()> {
        self.type_index(name).map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use super::sha256_hex;

    #[test]
    fn sha256_matches_published_vectors() {
        // FIPS 180-4 examples (also Python's hashlib.sha256), and a message longer than one block.
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(
            sha256_hex(b""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert_eq!(
            sha256_hex(b"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"
        );
        assert_eq!(
            sha256_hex(&[b'a'; 1000]),
            "41edece42d63e8d9bf515a9ba6932e1c20cbc9f5a5d134645adb5db1b9737ea3"
        );
    }
}
