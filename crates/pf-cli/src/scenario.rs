//! Scenarios from the command line (`scenario` and `compare`): flags, inline policy specs and scenario files
//! (JSON or TOML) into the engine's [`Scenario`], checked against the case and the model before the work.
//!
//! A scenario file is one object (JSON, or TOML where dates may be bare):
//!
//! ```toml
//! name = "relief, then pressure"
//! monthly = ["sanctions_tightened"]      # action or context types repeated monthly from the as-of date
//! policy_continues = false               # the last 90 days' actions repeated until the term end
//! fate = "leaves"                        # or "stays"
//! term_end = "2021-01-20"
//! reelection_eligible = true
//! [[signals]]                            # hypothetical signals; after the as-of date: future actions
//! type = "sanctions_relief"
//! date = "2019-03-01"
//! ```
//!
//! An inline policy spec (`compare --a/--b`) is `none` (the default future: no new actions), the path of such a
//! file, or comma-separated items: `action=TYPE@DATE[@RELIABILITY]`, `monthly=TYPE`, `policy-continues`,
//! `fate=stays|leaves`, `term-end=DATE`, `eligible=true|false`, `name=TEXT`.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use chrono::NaiveDate;
use clap::{Args, ValueEnum};
use pf_core::v2::{Fate, ModelV2, Role, Scenario};
use pf_core::{Case, Signal};

/// Largest scenario file read, in bytes.
const MAX_SCENARIO_FILE_BYTES: u64 = 16 * 1024 * 1024;

/// The leader's fate as a flag value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FateArg {
    /// The leader stays in office after the term end.
    Stays,
    /// The leader leaves office at the term end.
    Leaves,
}

impl From<FateArg> for Fate {
    fn from(f: FateArg) -> Fate {
        match f {
            FateArg::Stays => Fate::Stays,
            FateArg::Leaves => Fate::Leaves,
        }
    }
}

/// The flags of a scenario.
#[derive(Args, Debug, Default)]
pub struct ScenarioFlags {
    /// A scenario file (JSON or TOML; see `docs/service.md`, "Scenarios"); the flags below add to it.
    #[arg(long = "scenario")]
    pub file: Option<PathBuf>,
    /// A hypothetical signal TYPE@DATE or TYPE@DATE@RELIABILITY (repeatable). Dated after the as-of date it is
    /// a future sender action ("relief on 2019-03-01": `--action sanctions_relief@2019-03-01`), and its type
    /// must be an action or context type; on or before it, it joins the record.
    #[arg(long = "action")]
    pub actions: Vec<String>,
    /// An action or context type repeated monthly from one month after the as-of date to the term end
    /// (repeatable): `--monthly sanctions_tightened`.
    #[arg(long)]
    pub monthly: Vec<String>,
    /// "Policy continues": the actions of the 90 days up to the as-of date repeated every 90 days until the
    /// term end.
    #[arg(long)]
    pub policy_continues: bool,
    /// The leader's fate, as if revealed on the as-of date.
    #[arg(long, value_enum)]
    pub fate: Option<FateArg>,
    /// Another term end.
    #[arg(long, value_parser = crate::parse_date)]
    pub term_end: Option<NaiveDate>,
    /// Another eligibility of the leader for re-election (true or false).
    #[arg(long)]
    pub eligible: Option<bool>,
}

/// A hypothetical signal `TYPE@DATE` or `TYPE@DATE@RELIABILITY`.
///
/// # Errors
/// A malformed spec, named with `flag`.
pub fn parse_action(flag: &str, spec: &str) -> Result<Signal> {
    let parts: Vec<&str> = spec.split('@').collect();
    if parts.len() < 2 || parts.len() > 3 || parts[0].trim().is_empty() {
        bail!("{flag} {spec:?}: expected TYPE@YYYY-MM-DD or TYPE@YYYY-MM-DD@RELIABILITY");
    }
    let date = crate::parse_date(parts[1]).map_err(|e| anyhow::anyhow!("{flag} {spec:?}: {e}"))?;
    let mut s = Signal::new(parts[0], date).with_source("scenario");
    if let Some(r) = parts.get(2) {
        let r: f64 = r
            .parse()
            .with_context(|| format!("{flag} {spec:?}: reliability must be a number in [0, 1]"))?;
        s = s.with_reliability(r)?;
    }
    Ok(s)
}

fn parse_fate(what: &str, s: &str) -> Result<Fate> {
    match s {
        "stays" => Ok(Fate::Stays),
        "leaves" => Ok(Fate::Leaves),
        other => bail!("{what}: expected \"stays\" or \"leaves\", found {other:?}"),
    }
}

fn parse_bool(what: &str, s: &str) -> Result<bool> {
    match s {
        "true" => Ok(true),
        "false" => Ok(false),
        other => bail!("{what}: expected true or false, found {other:?}"),
    }
}

impl ScenarioFlags {
    /// The scenario of the flags: the file's, with the flags added.
    ///
    /// # Errors
    /// An unreadable or malformed file, a malformed flag.
    pub fn scenario(&self) -> Result<Scenario> {
        let mut sc = match &self.file {
            Some(p) => load_file(p)?,
            None => Scenario::default(),
        };
        for a in &self.actions {
            sc.signals.push(parse_action("--action", a)?);
        }
        sc.monthly.extend(self.monthly.iter().cloned());
        sc.policy_continues |= self.policy_continues;
        if let Some(f) = self.fate {
            sc.fate = Some(f.into());
        }
        if self.term_end.is_some() {
            sc.term_end = self.term_end;
        }
        if self.eligible.is_some() {
            sc.reelection_eligible = self.eligible;
        }
        Ok(sc)
    }
}

/// A policy of `compare`: `none`, a scenario file, or inline items (module docs).
///
/// # Errors
/// A malformed item or file, named with `flag`.
pub fn parse_policy(flag: &str, spec: &str) -> Result<Scenario> {
    let spec = spec.trim();
    if spec.is_empty() || spec == "none" {
        return Ok(Scenario {
            name: "no new actions".into(),
            ..Scenario::default()
        });
    }
    let path = Path::new(spec);
    if path.is_file() || spec.ends_with(".json") || spec.ends_with(".toml") {
        return load_file(path).with_context(|| format!("{flag} {spec:?}"));
    }
    let mut sc = Scenario::default();
    for item in spec.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let (key, value) = item.split_once('=').unwrap_or((item, ""));
        let what = format!("{flag} item {item:?}");
        match key.trim() {
            "action" => sc.signals.push(parse_action(&what, value)?),
            "monthly" if !value.is_empty() => sc.monthly.push(value.to_owned()),
            "policy-continues" | "policy_continues" => {
                sc.policy_continues = value.is_empty() || parse_bool(&what, value)?;
            }
            "fate" => sc.fate = Some(parse_fate(&what, value)?),
            "term-end" | "term_end" => {
                sc.term_end = Some(crate::parse_date(value).map_err(|e| anyhow::anyhow!("{what}: {e}"))?);
            }
            "eligible" | "reelection_eligible" => sc.reelection_eligible = Some(parse_bool(&what, value)?),
            "name" => value.clone_into(&mut sc.name),
            _ => bail!(
                "{what}: expected none, a scenario file, or comma-separated items action=TYPE@DATE, \
                 monthly=TYPE, policy-continues, fate=stays|leaves, term-end=DATE, eligible=true|false, name=TEXT"
            ),
        }
    }
    Ok(sc)
}

/// TOML dates (bare `2019-03-01`) as the strings the JSON form has.
fn toml_to_json(v: toml::Value) -> serde_json::Value {
    match v {
        toml::Value::String(s) => serde_json::Value::String(s),
        toml::Value::Integer(i) => serde_json::Value::from(i),
        toml::Value::Float(f) => serde_json::Value::from(f),
        toml::Value::Boolean(b) => serde_json::Value::Bool(b),
        toml::Value::Datetime(d) => serde_json::Value::String(d.to_string()),
        toml::Value::Array(a) => serde_json::Value::Array(a.into_iter().map(toml_to_json).collect()),
        toml::Value::Table(t) => {
            serde_json::Value::Object(t.into_iter().map(|(k, v)| (k, toml_to_json(v))).collect())
        }
    }
}

/// A scenario file, JSON or TOML (by its extension; other names are tried as JSON, then TOML).
///
/// # Errors
/// An unreadable file, malformed JSON or TOML, an unknown key or a malformed value.
pub fn load_file(path: &Path) -> Result<Scenario> {
    use std::io::Read;
    let file = std::fs::File::open(path)
        .with_context(|| format!("cannot open the scenario file {}", path.display()))?;
    let mut text = String::new();
    file.take(MAX_SCENARIO_FILE_BYTES + 1)
        .read_to_string(&mut text)
        .with_context(|| format!("cannot read the scenario file {} as UTF-8 text", path.display()))?;
    if text.len() as u64 > MAX_SCENARIO_FILE_BYTES {
        bail!(
            "scenario file {} is larger than {} MiB",
            path.display(),
            MAX_SCENARIO_FILE_BYTES / (1024 * 1024)
        );
    }
    let is_toml = path.extension().is_some_and(|e| e == "toml");
    let v = if is_toml {
        toml_to_json(toml::Value::Table(text.parse::<toml::Table>().with_context(
            || format!("scenario file {}: expected TOML", path.display()),
        )?))
    } else {
        match serde_json::from_str(&text) {
            Ok(v) => v,
            Err(json) => match text.parse::<toml::Table>() {
                Ok(t) => toml_to_json(toml::Value::Table(t)),
                Err(_) => {
                    return Err(anyhow::Error::from(json)
                        .context(format!("scenario file {}: expected JSON or TOML", path.display())));
                }
            },
        }
    };
    from_value(&v).with_context(|| format!("scenario file {}", path.display()))
}

/// A scenario from its JSON form (module docs).
///
/// # Errors
/// An unknown key or a malformed value, named.
pub fn from_value(v: &serde_json::Value) -> Result<Scenario> {
    let obj = v
        .as_object()
        .context("expected one object with the keys name, signals, monthly, policy_continues, fate, term_end, reelection_eligible")?;
    let mut sc = Scenario::default();
    for (k, x) in obj {
        match k.as_str() {
            "name" => x
                .as_str()
                .context("`name`: expected a string")?
                .clone_into(&mut sc.name),
            "signals" | "actions" => {
                for (i, s) in x
                    .as_array()
                    .with_context(|| format!("`{k}`: expected an array of signals"))?
                    .iter()
                    .enumerate()
                {
                    sc.signals
                        .push(Signal::from_json(s).with_context(|| format!("`{k}[{i}]`"))?);
                }
            }
            "monthly" => {
                for (i, t) in x
                    .as_array()
                    .context("`monthly`: expected an array of signal types")?
                    .iter()
                    .enumerate()
                {
                    sc.monthly.push(
                        t.as_str()
                            .with_context(|| format!("`monthly[{i}]`: expected a signal type"))?
                            .to_owned(),
                    );
                }
            }
            "policy_continues" => {
                sc.policy_continues = x
                    .as_bool()
                    .context("`policy_continues`: expected true or false")?;
            }
            "fate" => {
                if !x.is_null() {
                    sc.fate = Some(parse_fate(
                        "`fate`",
                        x.as_str().context("`fate`: expected \"stays\" or \"leaves\"")?,
                    )?);
                }
            }
            "term_end" => {
                if !x.is_null() {
                    let s = x.as_str().context("`term_end`: expected a date YYYY-MM-DD")?;
                    sc.term_end = Some(crate::parse_date(s).map_err(|e| anyhow::anyhow!("`term_end`: {e}"))?);
                }
            }
            "reelection_eligible" => {
                if !x.is_null() {
                    sc.reelection_eligible = Some(
                        x.as_bool()
                            .context("`reelection_eligible`: expected true or false")?,
                    );
                }
            }
            other => bail!(
                "unknown key `{other}`: expected name, signals, monthly, policy_continues, fate, term_end or reelection_eligible"
            ),
        }
    }
    Ok(sc)
}

/// The checks the engine leaves to its callers: a hypothetical signal is a type of the model, dated within the
/// case's span (with the scenario's term end), and a future action comes before the term end (nothing after
/// `T - 1` counts). The engine checks the roles, the monthly types and the fate.
///
/// # Errors
/// The first bad signal, named `signals[i]`.
pub fn check(model: &ModelV2, case: &Case, as_of: NaiveDate, sc: &Scenario) -> Result<()> {
    let term_end = sc.term_end.unwrap_or(case.term_end);
    for (i, s) in sc.signals.iter().enumerate() {
        let Some(role) = model.role(&s.signal_type) else {
            bail!(
                "scenario signals[{i}]: unknown signal type {:?} (see `pressure-forecast model --types`)",
                s.signal_type
            );
        };
        if s.date < case.start {
            bail!(
                "scenario signals[{i}]: {} on {} is before the case's start {}",
                s.signal_type,
                s.date,
                case.start
            );
        }
        if s.date > as_of {
            if !matches!(role, Role::Action | Role::Context) {
                bail!(
                    "scenario signals[{i}]: {} has the {} role, so it cannot be a future action (dated after the as-of date {as_of}); expected an action or context type, or a date on or before {as_of}",
                    s.signal_type,
                    role_name(role)
                );
            }
            if s.date >= term_end {
                bail!(
                    "scenario signals[{i}]: the future action {} on {} is not before the term end {term_end}",
                    s.signal_type,
                    s.date
                );
            }
        }
    }
    Ok(())
}

/// The name of a role in tables and messages.
pub fn role_name(r: Role) -> &'static str {
    match r {
        Role::Action => "action",
        Role::Context => "context",
        Role::Evidence => "evidence",
        Role::Deal => "deal",
        Role::Fate => "fate",
    }
}

/// One line saying what a scenario assumes, relative to `as_of`.
pub fn describe(sc: &Scenario, as_of: NaiveDate) -> String {
    let mut parts = Vec::new();
    let (future, past): (Vec<&Signal>, Vec<&Signal>) = sc.signals.iter().partition(|s| s.date > as_of);
    if !past.is_empty() {
        parts.push(format!(
            "hypothetical {}",
            past.iter()
                .map(|s| format!("{} on {}", s.signal_type, s.date))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    if !future.is_empty() {
        parts.push(format!(
            "future {}",
            future
                .iter()
                .map(|s| format!("{} on {}", s.signal_type, s.date))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    if !sc.monthly.is_empty() {
        parts.push(format!("monthly {}", sc.monthly.join(", ")));
    }
    if sc.policy_continues {
        parts.push("policy continues".into());
    }
    if let Some(f) = sc.fate {
        parts.push(format!(
            "leader {}",
            match f {
                Fate::Stays => "stays",
                Fate::Leaves => "leaves",
            }
        ));
    }
    if let Some(t) = sc.term_end {
        parts.push(format!("term end {t}"));
    }
    if let Some(e) = sc.reelection_eligible {
        parts.push(if e { "eligible" } else { "not eligible" }.into());
    }
    let what = if parts.is_empty() {
        "no new actions".to_owned()
    } else {
        parts.join("; ")
    };
    if sc.name.is_empty() || sc.name == what {
        what
    } else {
        format!("{} ({what})", sc.name)
    }
}
