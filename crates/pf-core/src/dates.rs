//! Dates: the one parser, the one "today" and the one as-of clamp rule of every face (library, command line,
//! Python, gRPC).
//!
//! * [`parse_date`] accepts exactly `YYYY-MM-DD` (four-digit year, two-digit month and day, no spaces) within a
//!   sane span, by default [`DateSpan::DEFAULT`] (1900-01-01 to 2100-12-31): a date outside it is nearly always
//!   a typo (`0218-06-12`, `2918-06-12`).
//! * [`today`] is the current date in UTC, whatever the machine's time zone, so that a forecast "as of today"
//!   is the same on a laptop, a server and a notebook.
//! * [`clamp_as_of`] is the rule for computations that look at the day after the as-of date (value of
//!   information): an as-of date on or after the term end is moved to the day before the term end.
//!   Forecasts, trajectories and explanations need no clamp: after the term end they report the distribution
//!   resolved at the term end.

use chrono::{Days, NaiveDate};

use crate::error::{Error, Result};

/// The form every date field takes, as said in error messages.
pub const DATE_FORM: &str = "an ISO 8601 date YYYY-MM-DD";

/// An inclusive span of accepted dates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DateSpan {
    /// First accepted date.
    pub first: NaiveDate,
    /// Last accepted date.
    pub last: NaiveDate,
}

impl DateSpan {
    /// 1900-01-01 to 2100-12-31: every campaign the project forecasts, with room on both sides.
    pub const DEFAULT: DateSpan = DateSpan {
        first: NaiveDate::from_ymd_opt(1900, 1, 1).expect("a valid date"),
        last: NaiveDate::from_ymd_opt(2100, 12, 31).expect("a valid date"),
    };

    /// Whether a date lies in the span.
    pub fn contains(&self, d: NaiveDate) -> bool {
        self.first <= d && d <= self.last
    }
}

impl Default for DateSpan {
    fn default() -> Self {
        DateSpan::DEFAULT
    }
}

/// Parse a date field strictly: exactly `YYYY-MM-DD`, within [`DateSpan::DEFAULT`].
///
/// # Errors
/// [`Error::InvalidArgument`] naming `field`, the expected form and what was found.
///
/// # Examples
/// ```
/// use pf_core::dates::parse_date;
///
/// assert_eq!(parse_date("start", "2018-05-08").unwrap().to_string(), "2018-05-08");
/// assert!(parse_date("start", "2018-5-8").is_err());
/// assert!(parse_date("start", " 2018-05-08").is_err());
/// assert!(parse_date("start", "2918-05-08").is_err());
/// ```
pub fn parse_date(field: &str, text: &str) -> Result<NaiveDate> {
    parse_date_within(field, text, DateSpan::DEFAULT)
}

/// [`parse_date`] with another span of accepted dates.
///
/// # Errors
/// [`Error::InvalidArgument`] naming `field`, the expected form and what was found.
pub fn parse_date_within(field: &str, text: &str, span: DateSpan) -> Result<NaiveDate> {
    let b = text.as_bytes();
    let shape_ok = b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && b.iter()
            .enumerate()
            .all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit());
    let date = shape_ok
        .then(|| NaiveDate::parse_from_str(text, "%Y-%m-%d").ok())
        .flatten()
        .ok_or_else(|| Error::argument(field, DATE_FORM, format!("{text:?}")))?;
    if !span.contains(date) {
        return Err(Error::argument(
            field,
            format!("{DATE_FORM} from {} to {}", span.first, span.last),
            date,
        ));
    }
    Ok(date)
}

/// Today's date in UTC (not the machine's local date): the default as-of date of every face.
pub fn today() -> NaiveDate {
    chrono::Utc::now().date_naive()
}

/// The as-of date for computations about the day after it (value of information): `as_of`, or the day before
/// `term_end` when `as_of` is on or after it.
///
/// # Examples
/// ```
/// use chrono::NaiveDate;
/// use pf_core::dates::clamp_as_of;
///
/// let d = |s| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
/// assert_eq!(clamp_as_of(d("2030-01-01"), d("2021-01-20")), d("2021-01-19"));
/// assert_eq!(clamp_as_of(d("2019-01-01"), d("2021-01-20")), d("2019-01-01"));
/// ```
pub fn clamp_as_of(as_of: NaiveDate, term_end: NaiveDate) -> NaiveDate {
    let last = term_end.checked_sub_days(Days::new(1)).unwrap_or(term_end);
    as_of.min(last)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn rejects_every_other_form_naming_the_field() {
        for bad in [
            "2018-1-1",
            " 2018-01-01 ",
            "2018-01-01 ",
            "18-01-01",
            "2018/01/01",
            "20180101",
            "2018-02-30",
            "+2018-01-01",
            "2018-01-1x",
            "",
            "1899-12-31",
            "2101-01-01",
            "０２０18-01-01",
        ] {
            let e = parse_date("signals[2].date", bad).unwrap_err();
            let msg = e.to_string();
            assert_eq!(e.field(), Some("signals[2].date"), "{bad:?}");
            assert!(msg.contains("YYYY-MM-DD"), "{msg}");
            assert!(!msg.ends_with('.'), "{msg}");
        }
    }

    #[test]
    fn the_span_is_configurable() {
        let span = DateSpan {
            first: parse_date("x", "2000-01-01").unwrap(),
            last: parse_date("x", "2000-12-31").unwrap(),
        };
        assert!(parse_date_within("x", "2000-06-01", span).is_ok());
        let e = parse_date_within("x", "2001-01-01", span).unwrap_err();
        assert!(e.to_string().contains("from 2000-01-01 to 2000-12-31"), "{e}");
        assert!(parse_date("x", "1900-01-01").is_ok() && parse_date("x", "2100-12-31").is_ok());
    }

    proptest! {
        #[test]
        fn every_date_in_the_span_round_trips(n in 0i64..73_413) {
            let d = DateSpan::DEFAULT.first + chrono::Duration::days(n);
            prop_assert_eq!(parse_date("d", &d.to_string()).unwrap(), d);
        }

        #[test]
        fn agrees_with_chrono_on_strict_text(s in "[0-9]{4}-[0-9]{2}-[0-9]{2}") {
            let chrono = NaiveDate::parse_from_str(&s, "%Y-%m-%d").ok().filter(|d| DateSpan::DEFAULT.contains(*d));
            prop_assert_eq!(parse_date("d", &s).ok(), chrono);
        }

        #[test]
        fn clamp_never_reaches_the_term_end(a in 0i64..2000, t in 1i64..2000) {
            let base = DateSpan::DEFAULT.first + chrono::Duration::days(40_000);
            let (as_of, te) = (base + chrono::Duration::days(a), base + chrono::Duration::days(t));
            let c = clamp_as_of(as_of, te);
            prop_assert!(c < te && c <= as_of);
            prop_assert!(as_of >= te || c == as_of);
        }
    }
}
