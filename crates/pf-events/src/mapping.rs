//! The mapping file: rules from (source role, target role, CAMEO code or ancestor) to a v1 signal type.

use std::collections::{BTreeMap, HashSet};
use std::path::Path;

use serde::Deserialize;

use crate::codebook;
use crate::error::{Error, Result};

/// The default mapping shipped in `models/cameo_mapping.toml`.
pub const DEFAULT_MAPPING_TOML: &str = include_str!("../../../models/cameo_mapping.toml");

/// A country's role relative to a case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Role {
    Sender,
    Target,
    /// Index into [`Mapping::sets`].
    Set(usize),
}

/// One validated rule.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Rule {
    pub(crate) name: String,
    pub(crate) from: Role,
    pub(crate) to: Role,
    pub(crate) codes: Vec<String>,
    /// A name of [`pf_core::vocab::SIGNAL_TYPES_V1`] (static, so that it can key the aggregation).
    pub(crate) signal: &'static str,
}

/// A validated mapping from CAMEO events to signal types, with the reliability settings.
///
/// Build it with [`Mapping::default_mapping`], [`Mapping::load`] or [`Mapping::from_toml_str`]; every
/// constructor checks each rule's codes against the CAMEO codebook, its roles against `sender`, `target` and
/// the named sets of `[roles]`, and its signal type against the v1 vocabulary.
///
/// # Formula
/// A signal backed by `n` independent stories has reliability `min(cap, 1 - (1 - r0)^n)`.
#[derive(Debug, Clone, PartialEq)]
pub struct Mapping {
    pub(crate) r0: f64,
    pub(crate) cap: f64,
    /// Rows of one signal type within this many days of a signal's first day join that signal.
    pub(crate) window_days: u32,
    /// Weight given to every event-derived signal.
    pub(crate) weight: f64,
    /// Named country sets: (name, ISO3 codes).
    pub(crate) sets: Vec<(String, HashSet<String>)>,
    pub(crate) rules: Vec<Rule>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileToml {
    #[serde(default)]
    reliability: Option<ReliabilityToml>,
    #[serde(default)]
    roles: BTreeMap<String, Vec<String>>,
    #[serde(default, rename = "rule")]
    rules: Vec<RuleToml>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ReliabilityToml {
    r0: Option<f64>,
    cap: Option<f64>,
    window_days: Option<u32>,
    weight: Option<f64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleToml {
    name: String,
    from: String,
    to: String,
    codes: Vec<String>,
    signal: String,
}

impl Mapping {
    /// The default mapping (`models/cameo_mapping.toml`, embedded at build time).
    pub fn default_mapping() -> Mapping {
        Mapping::from_toml_str(DEFAULT_MAPPING_TOML).expect("the embedded default mapping is valid")
    }

    /// Read and validate a mapping file.
    ///
    /// # Errors
    /// [`Error::Io`] when the file cannot be read, otherwise as [`Mapping::from_toml_str`].
    pub fn load(path: impl AsRef<Path>) -> Result<Mapping> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|source| Error::Io {
            path: path.into(),
            source,
        })?;
        Mapping::from_toml_str(&text)
    }

    /// Parse and validate a mapping from TOML text.
    ///
    /// # Errors
    /// [`Error::Mapping`] naming the rule (by index and name) and the field: bad TOML, an unknown CAMEO code,
    /// an unknown role, a signal type outside the v1 vocabulary, a duplicate rule name, or `r0`/`cap` out of
    /// range.
    pub fn from_toml_str(text: &str) -> Result<Mapping> {
        let file: FileToml = toml::from_str(text).map_err(|e| {
            Error::mapping(
                "file",
                "a TOML mapping file with [reliability], [roles] and [[rule]] tables",
                e.message(),
            )
        })?;
        let (window_days, weight) = match &file.reliability {
            Some(r) => (r.window_days.unwrap_or(1), r.weight.unwrap_or(1.0)),
            None => (1, 1.0),
        };
        if window_days == 0 {
            return Err(Error::mapping(
                "reliability.window_days",
                "a whole number of days >= 1",
                window_days,
            ));
        }
        if !(weight.is_finite() && weight > 0.0) {
            return Err(Error::mapping(
                "reliability.weight",
                "a finite number > 0",
                weight,
            ));
        }
        let (r0, cap) = match &file.reliability {
            Some(r) => (r.r0.unwrap_or(0.5), r.cap.unwrap_or(0.99)),
            None => (0.5, 0.99),
        };
        if !(r0.is_finite() && r0 > 0.0 && r0 < 1.0) {
            return Err(Error::mapping(
                "reliability.r0",
                "a probability strictly between 0 and 1",
                r0,
            ));
        }
        if !(cap.is_finite() && cap > 0.0 && cap <= 1.0) {
            return Err(Error::mapping("reliability.cap", "a number in (0, 1]", cap));
        }
        let mut sets = Vec::new();
        for (name, members) in &file.roles {
            if name == "sender" || name == "target" || name.trim().is_empty() {
                return Err(Error::mapping(
                    format!("roles.{name}"),
                    "a set name other than `sender` and `target`",
                    format!("{name:?}"),
                ));
            }
            let mut set = HashSet::new();
            for m in members {
                if !is_iso3(m) {
                    return Err(Error::mapping(
                        format!("roles.{name}"),
                        "ISO 3166-1 alpha-3 country codes in upper case, such as \"CHN\"",
                        format!("{m:?}"),
                    ));
                }
                set.insert(m.clone());
            }
            sets.push((name.clone(), set));
        }
        let role_of = |field: String, name: &str| -> Result<Role> {
            match name {
                "sender" => Ok(Role::Sender),
                "target" => Ok(Role::Target),
                other => sets
                    .iter()
                    .position(|(n, _)| n == other)
                    .map(Role::Set)
                    .ok_or_else(|| {
                        let mut valid = vec!["sender".to_owned(), "target".to_owned()];
                        valid.extend(sets.iter().map(|(n, _)| n.clone()));
                        Error::mapping(
                            field,
                            format!("a role: one of {}", valid.join(", ")),
                            format!("{other:?}"),
                        )
                    }),
            }
        };
        let mut rules = Vec::with_capacity(file.rules.len());
        let mut names = HashSet::new();
        for (i, r) in file.rules.iter().enumerate() {
            let at = |f: &str| format!("rule[{i}] ({}).{f}", r.name);
            if r.name.trim().is_empty() {
                return Err(Error::mapping(
                    format!("rule[{i}].name"),
                    "a non-empty rule name",
                    "an empty string",
                ));
            }
            if !names.insert(r.name.clone()) {
                return Err(Error::mapping(
                    at("name"),
                    "a rule name used once",
                    "a name used by an earlier rule",
                ));
            }
            let from = role_of(at("from"), &r.from)?;
            let to = role_of(at("to"), &r.to)?;
            if r.codes.is_empty() {
                return Err(Error::mapping(
                    at("codes"),
                    "at least one CAMEO event code",
                    "an empty list",
                ));
            }
            for c in &r.codes {
                if !codebook::is_known_code(c) {
                    return Err(Error::mapping(
                        at("codes"),
                        "CAMEO event codes of the codebook (data/cameo/CAMEO.eventcodes.txt), written as strings \
                         with their leading zeros, such as \"163\", \"06\" or \"0254\"",
                        format!("{c:?}"),
                    ));
                }
            }
            let signal = pf_core::vocab::signal_types_v1()
                .find(|t| *t == r.signal)
                .ok_or_else(|| {
                    Error::mapping(
                        at("signal"),
                        format!(
                            "a signal type of vocabulary v1: one of {}",
                            pf_core::vocab::signal_types_v1().collect::<Vec<_>>().join(", ")
                        ),
                        format!("{:?}", r.signal),
                    )
                })?;
            rules.push(Rule {
                name: r.name.clone(),
                from,
                to,
                codes: r.codes.clone(),
                signal,
            });
        }
        Ok(Mapping {
            r0,
            cap,
            window_days,
            weight,
            sets,
            rules,
        })
    }

    /// Coverage window in days (`[reliability] window_days`): reports of one signal type within this many days
    /// of a signal's first day are follow-up coverage of the same event and join that signal.
    pub fn window_days(&self) -> u32 {
        self.window_days
    }

    /// Weight of every event-derived signal (`[reliability] weight`).
    pub fn weight(&self) -> f64 {
        self.weight
    }

    /// Probability that one story reports a true event (`[reliability] r0`).
    pub fn r0(&self) -> f64 {
        self.r0
    }

    /// Upper bound on a signal's reliability (`[reliability] cap`).
    pub fn cap(&self) -> f64 {
        self.cap
    }

    /// Reliability of a signal backed by `n` independent stories.
    ///
    /// # Formula
    /// `min(cap, 1 - (1 - r0)^n)`; 0 when `n` is 0.
    ///
    /// # Examples
    /// ```
    /// let m = pf_events::Mapping::default_mapping();
    /// assert_eq!(m.reliability(1), 0.5);
    /// assert_eq!(m.reliability(2), 0.75);
    /// assert_eq!(m.reliability(50), 0.99);
    /// ```
    pub fn reliability(&self, n: usize) -> f64 {
        let n = i32::try_from(n).unwrap_or(i32::MAX);
        (1.0 - (1.0 - self.r0).powi(n)).min(self.cap)
    }

    /// Names of the rules, in file order.
    pub fn rule_names(&self) -> impl Iterator<Item = &str> {
        self.rules.iter().map(|r| r.name.as_str())
    }

    /// The named country sets of `[roles]` (name and sorted ISO3 codes).
    pub fn role_sets(&self) -> Vec<(String, Vec<String>)> {
        self.sets
            .iter()
            .map(|(n, s)| {
                let mut v: Vec<String> = s.iter().cloned().collect();
                v.sort();
                (n.clone(), v)
            })
            .collect()
    }

    /// The signal type for an event from a country with roles `src` to one with roles `dst` and CAMEO code
    /// `code`: among the rules whose roles match, the one with the longest code that is `code` or a CAMEO
    /// ancestor of it (a prefix); ties go to the first rule in the file. Returns the rule index too.
    pub(crate) fn classify(&self, src: &[Role], dst: &[Role], code: &str) -> Option<(usize, &'static str)> {
        let mut best: Option<(usize, usize)> = None;
        for (i, r) in self.rules.iter().enumerate() {
            if !src.contains(&r.from) || !dst.contains(&r.to) {
                continue;
            }
            for c in &r.codes {
                if code.starts_with(c.as_str()) && best.is_none_or(|(len, _)| c.len() > len) {
                    best = Some((c.len(), i));
                }
            }
        }
        best.map(|(_, i)| (i, self.rules[i].signal))
    }

    /// Roles of an ISO3 country in a case with this sender and target (`sender`/`target` win over the sets).
    pub(crate) fn roles_of(&self, country: &str, sender: &str, target: &str, out: &mut Vec<Role>) {
        out.clear();
        if country.is_empty() {
            return;
        }
        if country == sender {
            out.push(Role::Sender);
        } else if country == target {
            out.push(Role::Target);
        } else {
            for (i, (_, s)) in self.sets.iter().enumerate() {
                if s.contains(country) {
                    out.push(Role::Set(i));
                }
            }
        }
    }
}

pub(crate) fn is_iso3(s: &str) -> bool {
    s.len() == 3 && s.bytes().all(|b| b.is_ascii_uppercase())
}
