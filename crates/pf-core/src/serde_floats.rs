//! The one serde helper for numbers that may be undefined.
//!
//! JSON has no NaN or infinity: serde_json writes them as `null` and then refuses to read `null` back into an
//! `f64`. Results whose numbers can be undefined (a log-odds change of a probability that is exactly 0 or 1, a
//! log-likelihood of evidence the model rules out) use these helpers, so that every result type round-trips
//! through JSON and MessagePack alike: a finite number is written as a number, a non-finite one as `null`
//! (none), and `null` reads back as NaN ("undefined"). Infinities therefore come back as NaN: the helpers are
//! used only where an infinite value carries no more meaning than an undefined one.

use serde::{Deserialize, Deserializer, Serialize, Serializer};

fn out(x: f64) -> Option<f64> {
    x.is_finite().then_some(x)
}

/// One `f64`: finite as a number, non-finite as `null`; `null` reads back as NaN.
pub mod one {
    use super::*;

    /// Serialise (see the module docs).
    ///
    /// # Errors
    /// The serialiser's.
    pub fn serialize<S: Serializer>(x: &f64, s: S) -> Result<S::Ok, S::Error> {
        out(*x).serialize(s)
    }

    /// Deserialise (see the module docs).
    ///
    /// # Errors
    /// The deserialiser's, for anything but a number or `null`.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
        Ok(Option::<f64>::deserialize(d)?.unwrap_or(f64::NAN))
    }
}

/// A list of `f64`, each as [`one`].
pub mod list {
    use super::*;

    /// Serialise (see the module docs).
    ///
    /// # Errors
    /// The serialiser's.
    pub fn serialize<S: Serializer>(v: &[f64], s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(v.iter().map(|x| out(*x)))
    }

    /// Deserialise (see the module docs).
    ///
    /// # Errors
    /// The deserialiser's, for anything but a list of numbers or `null`s.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<f64>, D::Error> {
        Ok(Vec::<Option<f64>>::deserialize(d)?
            .into_iter()
            .map(|x| x.unwrap_or(f64::NAN))
            .collect())
    }
}
