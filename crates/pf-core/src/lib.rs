//! # pf-core: the pressure_forecast engine
//!
//! Turns a stream of dated political signals into Bayesian probabilities of how a coercive-diplomacy
//! campaign ends by the sender leader's term end: a deal, a stalemate, or the target waiting out the term.
//!
//! The target's posture is a hidden Markov chain over regimes whose one-day transition matrix depends on the
//! days left to the term end; signals are noisy, weighted observations of the regime. The engine filters,
//! forecasts, draws parameter uncertainty, explains forecasts, learns from finished episodes and scores itself
//! on history. It knows nothing of Python or gRPC: the adapters convert at the edge.
//!
//! # The serde form of results
//! Every result type derives `Serialize` and `Deserialize`, and that derived form is the only one: `to_json`
//! methods are thin wrappers over it, and adapters (Python pickles in MessagePack, JSON on the command line)
//! use it as is. Fields travel by name; per-outcome and per-regime values are lists in the order of the
//! `outcomes` / `regimes` name lists of the same result (or of the result that contains it: the intervals of
//! a forecast, the contributions of an attribution, the episodes of a backtest). Numbers that can be undefined
//! go through [`serde_floats`] (`null`, read back as NaN); an empty reliability bin's values are `null`.
//!
//! # Examples
//! ```
//! use chrono::NaiveDate;
//! use pf_core::{Case, Model, Signal};
//!
//! let model = Model::default_model();
//! let d = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
//! let mut case = Case::new("usa-prk", "USA", "PRK", d("2017-01-20"), d("2021-01-20")).unwrap();
//! case.append([Signal::new("summit_held", d("2018-06-12")).with_id("singapore")], &model).unwrap();
//! let f = model.forecast(&case, d("2018-10-31")).unwrap();
//! assert!((f.probabilities.iter().sum::<f64>() - 1.0).abs() < 1e-12);
//! ```

pub mod backtest;
pub mod case;
pub mod dates;
pub mod error;
pub mod explain;
pub mod incremental;
pub mod inference;
pub mod intervals;
pub mod learn;
mod linalg;
pub mod model;
pub mod progress;
pub mod serde_floats;
pub mod signal;
pub mod uncertainty;
pub mod v2;
pub mod vocab;

pub use backtest::{BacktestOptions, BacktestReport, backtest};
pub use case::{AppendReport, Case, Episode, V1, V2, Vocabulary};
pub use error::{Error, Result};
pub use explain::{Attribution, DropOne, SignalValue, ValueOfInformation, WhatIf, WhatIfResult};
pub use incremental::Checkpoints;
pub use inference::{Filter, Forecast, Observations, Resolution, Trajectory, TrajectoryPoint};
pub use intervals::{Interval, Intervals};
pub use learn::{FitOptions, FitReport, fit};
pub use model::{Model, ModelSpec, Provenance};
pub use progress::{CancelFlag, Progress, Silent};
pub use signal::{Signal, SignalId, Text};
pub use uncertainty::DrawOptions;
pub use v2::{ModelId, ModelV2};
