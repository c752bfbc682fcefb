//! The service's limits: lengths of text fields, ranges of numbers, the date span, and the cost of a request,
//! each checked before any work starts.
//!
//! # Lengths and ranges
//!
//! | field | limit |
//! |---|---|
//! | case ids, signal ids, event ids | 1 to [`MAX_ID_BYTES`] bytes, no control characters, no leading or trailing space |
//! | sender, target, signal type, source | at most [`MAX_NAME_BYTES`] bytes, no control characters |
//! | description, note, retraction reason | at most [`MAX_TEXT_BYTES`] bytes |
//! | event ids of one signal | at most [`MAX_EVENT_IDS`] |
//! | a line of ImportEvents text | at most [`MAX_IMPORT_LINE_BYTES`] |
//! | weight | in (0, [`MAX_WEIGHT`]] |
//! | reliability | in [0, 1] |
//! | credible levels | at most [`MAX_LEVELS`], each in (0, 1) |
//! | dates | within the configured `min_date` to `max_date` (by default 1900-01-01 to 2100-12-31) |
//!
//! # Cost
//!
//! The unit is one filter step: one day stepped or one signal observed in one pass over a case. With `D` the
//! case's days from start to term end and `S` its signals, one pass costs `P = D + S + 1`, and
//!
//! | request | cost |
//! |---|---|
//! | plain forecast (GetForecast, and the forecast after every write) | `P` |
//! | GetForecast with `draws` | `P × (1 + draws)` |
//! | GetForecast with `draws` and `include_draws` | `+ draws × m`, `m` outcomes (the raw draws copied into the reply) |
//! | GetForecast with attribution | `+ P × (S + 2)` (attribution and one pass without each signal) |
//! | GetTrajectory | `P + D_to × (1 + k·m) + N × W`, `D_to` the days from the start to `end_date`, `k` regimes, `m` outcomes, `N` the points returned, and for a v2 model `W` the weeks from the start to the term end (each point's forecast steps week by week to the term end, its inputs decaying; 0 for a v1 model, whose forecast uses the buckets' matrix powers) |
//! | WhatIf | `2 × P'`, `P'` the pass over the scenario case (its signals added, its term end) |
//! | GetValueOfInformation | `P × (T + 2)`, `T` the model's signal types |
//! | ImportEvents | `P + bytes of text` |
//! | RunScenario | `2 × (P + P_s)`: the forecast and the filtered fate with and without the scenario |
//! | ComparePolicies | `P_a + P_b` |
//!
//! `P_s`, the pass of a case under a scenario, is `D_s + S + H + F + 1`: `D_s` the days from the start to the
//! scenario's term end, `H` its hypothetical signals (future actions among them), and `F` the future actions
//! it generates, counted before the work as an upper bound: for each `monthly` type one per 28 days from the
//! as-of date to the term end, and with `policy_continues` each action of the 90 days up to the as-of date
//! once per 90 days to the term end.
//!
//! A request over the configured `max_cost` is refused with RESOURCE_EXHAUSTED naming `max_cost`. A reply
//! whose estimated size is over `max_message_bytes` is refused the same way before the work; paged lists cut
//! their pages to fit. The estimate of a GetForecast reply with draws or attribution ([`forecast_bytes`]) is an
//! upper bound computed from the request, the case and the model: about `8 × draws × m` bytes for the raw draws
//! (`include_draws`), the names of the outcomes and regimes once per map, and each signal twice for the
//! attribution.

use chrono::NaiveDate;
use pf_core::Case;
use pf_proto::ConvertError;
use pf_proto::v1 as pb;

use crate::config::Config;
use crate::error::{Result, ServerError};

/// Longest id (case, signal, event), in bytes.
pub const MAX_ID_BYTES: usize = 128;
/// Longest name (sender, target, signal type, source), in bytes.
pub const MAX_NAME_BYTES: usize = 128;
/// Longest free text (description, note, reason), in bytes.
pub const MAX_TEXT_BYTES: usize = 4096;
/// Most event ids on one signal.
pub const MAX_EVENT_IDS: usize = 64;
/// Largest weight of a signal (its likelihood is raised to this power).
pub const MAX_WEIGHT: f64 = 100.0;
/// Most credible levels in one GetForecast.
pub const MAX_LEVELS: usize = 16;
/// Longest line of ImportEvents text, in bytes.
pub const MAX_IMPORT_LINE_BYTES: usize = 64 * 1024;
/// Characters of a caller's input echoed in an error message.
pub const ECHO_CHARS: usize = 64;
/// Longest error message sent, in bytes (longer ones are cut).
pub const MAX_ERROR_BYTES: usize = 1024;

/// `s` cut to at most `max` bytes at a character boundary, with `…` when cut.
pub fn truncate(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_owned();
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}… ({} bytes)", &s[..end], s.len())
}

/// A caller's text as echoed in an error: quoted, escaped, and at most [`ECHO_CHARS`] characters of it.
pub fn echo(s: &str) -> String {
    if s.chars().count() <= ECHO_CHARS {
        return format!("{s:?}");
    }
    let head: String = s.chars().take(ECHO_CHARS).collect();
    format!("{head:?}… ({} bytes)", s.len())
}

fn invalid(field: &str, expected: impl Into<String>, found: String) -> ServerError {
    ServerError::Invalid(ConvertError::invalid(field, expected, found))
}

/// A required id: non-empty, at most [`MAX_ID_BYTES`], no control characters, no surrounding space.
///
/// # Errors
/// [`ServerError::Invalid`] naming `field`.
pub fn id(field: &str, s: &str) -> Result<()> {
    let expected =
        || format!("an id of 1 to {MAX_ID_BYTES} bytes without control characters or surrounding spaces");
    if s.is_empty() {
        return Err(invalid(field, expected(), "an empty string".into()));
    }
    if s.len() > MAX_ID_BYTES || s.chars().any(char::is_control) || s.trim() != s {
        return Err(invalid(field, expected(), echo(s)));
    }
    Ok(())
}

/// An optional id: empty, or as [`id`].
///
/// # Errors
/// As [`id`].
pub fn optional_id(field: &str, s: &str) -> Result<()> {
    if s.is_empty() { Ok(()) } else { id(field, s) }
}

/// A name: at most [`MAX_NAME_BYTES`], no control characters.
///
/// # Errors
/// [`ServerError::Invalid`] naming `field`.
pub fn name(field: &str, s: &str) -> Result<()> {
    if s.len() > MAX_NAME_BYTES || s.chars().any(char::is_control) {
        return Err(invalid(
            field,
            format!("at most {MAX_NAME_BYTES} bytes without control characters"),
            echo(s),
        ));
    }
    Ok(())
}

/// Free text: at most [`MAX_TEXT_BYTES`].
///
/// # Errors
/// [`ServerError::Invalid`] naming `field`.
pub fn text(field: &str, s: &str) -> Result<()> {
    if s.len() > MAX_TEXT_BYTES {
        return Err(invalid(
            field,
            format!("at most {MAX_TEXT_BYTES} bytes"),
            format!("{} bytes", s.len()),
        ));
    }
    Ok(())
}

/// A date within the configured span.
///
/// # Errors
/// [`ServerError::Invalid`] naming `field`.
pub fn date(config: &Config, field: &str, d: NaiveDate) -> Result<()> {
    if d < config.min_date || d > config.max_date {
        return Err(invalid(
            field,
            format!("a date from {} to {}", config.min_date, config.max_date),
            d.to_string(),
        ));
    }
    Ok(())
}

/// An optional date field of a request: within the configured span when set.
///
/// # Errors
/// [`ServerError::Invalid`] naming `field`.
pub fn proto_date(
    config: &Config,
    field: &str,
    d: Option<&pf_proto::google::r#type::Date>,
) -> Result<Option<NaiveDate>> {
    let d = pf_proto::convert::optional_date(field, d)?;
    if let Some(d) = d {
        date(config, field, d)?;
    }
    Ok(d)
}

/// The checks of one signal of a request that the conversion does not make: lengths, characters, the weight's
/// upper bound and the date span. `path` is the signal's path (`signals[3]`).
///
/// # Errors
/// [`ServerError::Invalid`] naming the field.
pub fn signal(config: &Config, path: &str, s: &pb::Signal) -> Result<()> {
    optional_id(&format!("{path}.id"), &s.id)?;
    name(&format!("{path}.signal_type"), &s.signal_type)?;
    name(&format!("{path}.source"), &s.source)?;
    text(&format!("{path}.note"), &s.note)?;
    if s.event_ids.len() > MAX_EVENT_IDS {
        return Err(invalid(
            &format!("{path}.event_ids"),
            format!("at most {MAX_EVENT_IDS} event ids"),
            format!("{}", s.event_ids.len()),
        ));
    }
    for (j, e) in s.event_ids.iter().enumerate() {
        id(&format!("{path}.event_ids[{j}]"), e)?;
    }
    if let Some(w) = s.weight
        && !(w.is_finite() && w > 0.0 && w <= MAX_WEIGHT)
    {
        return Err(invalid(
            &format!("{path}.weight"),
            format!("a number in (0, {MAX_WEIGHT}]"),
            w.to_string(),
        ));
    }
    if let Some(r) = s.reliability
        && !(r.is_finite() && (0.0..=1.0).contains(&r))
    {
        return Err(invalid(
            &format!("{path}.reliability"),
            "a number in [0, 1]",
            r.to_string(),
        ));
    }
    if let Some(d) = &s.date
        && let Ok(d) = pf_proto::convert::date_from_proto(&format!("{path}.date"), d)
    {
        date(config, &format!("{path}.date"), d)?;
    }
    Ok(())
}

/// [`signal`] for each signal of a batch under `prefix`.
///
/// # Errors
/// The first bad signal, named by its index.
pub fn signals(config: &Config, prefix: &str, batch: &[pb::Signal]) -> Result<()> {
    for (i, s) in batch.iter().enumerate() {
        signal(config, &format!("{prefix}[{i}]"), s)?;
    }
    Ok(())
}

/// ImportEvents text: every line at most [`MAX_IMPORT_LINE_BYTES`] (a line of millions of fields would cost
/// far more memory than its bytes).
///
/// # Errors
/// [`ServerError::Invalid`] naming `text` and the line.
pub fn import_text(s: &str) -> Result<()> {
    if let Some((i, l)) = s
        .split('\n')
        .enumerate()
        .find(|(_, l)| l.len() > MAX_IMPORT_LINE_BYTES)
    {
        return Err(invalid(
            "text",
            format!("lines of at most {MAX_IMPORT_LINE_BYTES} bytes"),
            format!("line {} of {} bytes", i + 1, l.len()),
        ));
    }
    Ok(())
}

/// Days from `a` to `b` (0 when `b` is before `a`).
pub fn days(a: NaiveDate, b: NaiveDate) -> u64 {
    u64::try_from((b - a).num_days()).unwrap_or(0)
}

/// The cost of one pass over a case: `D + S + 1`.
pub fn pass(case: &Case) -> u64 {
    days(case.start, case.term_end) + case.signal_count() as u64 + 1
}

/// The cost of a trajectory (module docs): `P + D_to × (1 + k·m) + N × W`, with `km` = `k·m`, `span` = `D_to` and
/// `points` = `N`.
pub fn trajectory_cost(case: &Case, model: &pf_core::Model, span: u64, points: u64, km: u64) -> u64 {
    let weeks = if model.format_version() >= 2 {
        days(case.start, case.term_end.max(case.start)) / 7 + 1
    } else {
        0
    };
    pass(case)
        .saturating_add(span.saturating_mul(1 + km))
        .saturating_add(points.saturating_mul(weeks))
}

/// The future actions a scenario generates (its `monthly` types and `policy_continues`), counted as an upper
/// bound before the work (module docs); `is_action` tells the action types.
pub fn scenario_future(
    case: &Case,
    as_of: NaiveDate,
    sc: &pf_core::v2::Scenario,
    is_action: impl Fn(&str) -> bool,
) -> u64 {
    let term_end = sc.term_end.unwrap_or(case.term_end);
    let ahead = days(as_of, term_end);
    let monthly = (sc.monthly.len() as u64).saturating_mul(ahead / 28 + 1);
    let policy = if sc.policy_continues {
        let from = as_of
            .checked_sub_days(chrono::Days::new(pf_core::v2::analysis::POLICY_WINDOW_DAYS))
            .unwrap_or(as_of);
        let recent = case
            .signals()
            .iter()
            .chain(&sc.signals)
            .filter(|s| s.date > from && s.date <= as_of && is_action(&s.signal_type))
            .count() as u64;
        recent.saturating_mul(ahead / pf_core::v2::analysis::POLICY_WINDOW_DAYS + 1)
    } else {
        0
    };
    monthly.saturating_add(policy)
}

/// The cost of one pass over a case under a scenario: `D_s + S + H + F + 1` (module docs), with `future` the
/// count of [`scenario_future`].
pub fn scenario_pass(case: &Case, sc: &pf_core::v2::Scenario, future: u64) -> u64 {
    days(case.start, sc.term_end.unwrap_or(case.term_end))
        .saturating_add(case.signal_count() as u64)
        .saturating_add(sc.signals.len() as u64)
        .saturating_add(future)
        .saturating_add(1)
}

/// Bytes of `n` as a protobuf varint.
fn varint_len(n: u64) -> u64 {
    u64::from((64 - (n | 1).leading_zeros()).div_ceil(7))
}

/// An upper bound of one length-delimited field holding `len` bytes: its tag (2 bytes at most for the field
/// numbers of the contract), its length and its content.
fn delimited(len: u64) -> u64 {
    2 + varint_len(len) + len
}

/// An upper bound of a `map<string, double>` keyed by `names`: one entry (a key and a double) per name.
fn map_bytes(names: &[String]) -> u64 {
    names
        .iter()
        .map(|n| delimited(delimited(n.len() as u64) + 9))
        .sum()
}

/// What a GetForecast reply holds besides the point forecast, for [`forecast_bytes`].
#[derive(Debug, Clone, Copy, Default)]
pub struct ForecastExtras {
    /// Credible levels of the intervals (0: no intervals).
    pub levels: usize,
    /// Raw parameter draws sent (`include_draws`; 0: none).
    pub draws: u64,
    /// The attribution is sent.
    pub attribution: bool,
}

/// An upper bound of the encoded size of the GetForecast reply for `case` with `model`, computed before the work
/// from the request's `extras` (module docs): the raw draws are `draws` entries of `m` doubles each.
pub fn forecast_bytes(case: &Case, model: &pf_core::Model, extras: ForecastExtras) -> u64 {
    let (outcomes, regimes) = (model.outcomes(), model.regimes());
    let names = |v: &[String]| v.iter().map(|n| delimited(n.len() as u64)).sum::<u64>();
    let date = delimited(12);
    let id = model.model_id();
    let model_bytes = delimited(
        delimited(id.name.len() as u64)
            + delimited(id.version.len() as u64)
            + delimited(id.hash.len() as u64),
    );
    // Case id, dates, the two maps, the log-likelihood (9 bytes) and the signal count (6), the orders, the model.
    let mut forecast = delimited(case.id.len() as u64)
        + 2 * date
        + map_bytes(outcomes)
        + map_bytes(regimes)
        + 9
        + 6
        + names(outcomes)
        + names(regimes)
        + model_bytes;
    if extras.levels > 0 {
        // The count (6 bytes), the seed (11), the mean and sd, and per level its value (9) and two maps.
        let interval = delimited(9 + 2 * map_bytes(outcomes));
        forecast += delimited(6 + 11 + 2 * map_bytes(outcomes) + interval * extras.levels as u64);
    }
    let row = delimited(delimited(8 * outcomes.len() as u64));
    forecast = forecast.saturating_add(extras.draws.saturating_mul(row));
    if extras.attribution {
        use prost::Message;
        let signals: u64 = case
            .signals()
            .iter()
            .map(|s| delimited(pb::Signal::from(s).encoded_len() as u64))
            .sum();
        let n = case.signal_count() as u64;
        // Per signal, a contribution (the signal and four maps) and a drop-one (the signal and two maps), each
        // with its own tag and length (at most 12 bytes).
        let per = 2 * 12 + 6 * map_bytes(outcomes);
        forecast = forecast.saturating_add(delimited(
            2 * map_bytes(outcomes) + 2 * signals + n.saturating_mul(per),
        ));
    }
    // The response message's own field around the forecast.
    delimited(forecast)
}

/// Refuse `cost` over the configured `max_cost`; `what` says what was asked.
///
/// # Errors
/// [`ServerError::OverLimit`] naming `max_cost`.
pub fn budget(config: &Config, what: impl Into<String>, cost: u64) -> Result<()> {
    if cost > config.max_cost {
        return Err(ServerError::OverLimit {
            limit: "max_cost",
            max: config.max_cost,
            found: cost,
            what: what.into(),
        });
    }
    Ok(())
}

/// Refuse a reply estimated at `bytes` over the configured `max_message_bytes`.
///
/// # Errors
/// [`ServerError::OverLimit`] naming `max_message_bytes`.
pub fn reply(config: &Config, what: impl Into<String>, bytes: u64) -> Result<()> {
    if bytes > config.max_message_bytes as u64 {
        return Err(ServerError::OverLimit {
            limit: "max_message_bytes",
            max: config.max_message_bytes as u64,
            found: bytes,
            what: what.into(),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncation_and_echo() {
        let long = "x".repeat(10_000);
        assert!(truncate(&long, 100).len() < 130);
        assert!(echo(&long).len() < 100);
        assert_eq!(echo("a\nb"), "\"a\\nb\"");
        assert_eq!(truncate("é", 1), "… (2 bytes)");
    }

    #[test]
    fn ids() {
        assert!(id("f", "ok-1").is_ok());
        for bad in ["", " a", "a\0b", "a\nb", &"x".repeat(MAX_ID_BYTES + 1)] {
            assert!(id("f", bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn trajectory_cost_counts_each_points_forecast_to_the_term_end_for_v2() {
        let d = |y, m, dd| NaiveDate::from_ymd_opt(y, m, dd).unwrap();
        // 700 days from start to term end: 101 weeks (700 / 7 + 1), P = 701 with no signals.
        let case = Case::new("c", "USA", "PRK", d(2018, 1, 1), d(2019, 12, 2)).unwrap();
        let p = pass(&case);
        assert_eq!(p, 701);
        let v1 = pf_core::Model::v1_model();
        let v2 = pf_core::Model::default_model();
        assert_eq!(v2.format_version(), 2);
        assert_eq!(trajectory_cost(&case, &v1, 700, 700, 9), p + 700 * 10);
        assert_eq!(trajectory_cost(&case, &v2, 700, 700, 9), p + 700 * 10 + 700 * 101);
        assert_eq!(trajectory_cost(&case, &v2, u64::MAX, 2, 9), u64::MAX);
    }
}
