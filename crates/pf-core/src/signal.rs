//! Signals: dated observations, and the record formats they are read from (JSON Lines, CSV).

use std::io::BufRead;
use std::path::Path;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::{Error, Result};

/// A dated observation of one signal type.
///
/// Construct with [`Signal::new`] and the `with_*` builders, or parse a record with [`Signal::from_json`];
/// both validate reliability and weight.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Signal {
    /// Unique within a case; a second record with the same id is the same signal.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// The signal type (a name from the model's vocabulary).
    #[serde(rename = "type")]
    pub signal_type: String,
    /// The day it was observed.
    pub date: NaiveDate,
    /// Reliability of the report in [0, 1].
    pub reliability: f64,
    /// Weight > 0: the likelihood is raised to this power.
    pub weight: f64,
    /// Who reported it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// Free text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// Number of raw event reports merged into this signal (event data ingestion).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reports: Option<u32>,
    /// Ids of the raw events merged into this signal, for provenance.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub event_ids: Vec<String>,
}

/// Parse a signal's date with the one parser, [`crate::dates::parse_date`] (exactly `YYYY-MM-DD`, within
/// 1900-01-01 to 2100-12-31).
///
/// # Errors
/// [`Error::InvalidSignal`] for the given field when the text is not such a date.
pub fn parse_date(field: &str, text: &str) -> Result<NaiveDate> {
    crate::dates::parse_date(field, text).map_err(Error::into_signal)
}

impl Signal {
    /// A signal with reliability 1 and weight 1.
    pub fn new(signal_type: impl Into<String>, date: NaiveDate) -> Signal {
        Signal {
            id: None,
            signal_type: signal_type.into(),
            date,
            reliability: 1.0,
            weight: 1.0,
            source: None,
            note: None,
            reports: None,
            event_ids: Vec::new(),
        }
    }

    /// Set the id.
    #[must_use]
    pub fn with_id(mut self, id: impl Into<String>) -> Signal {
        self.id = Some(id.into());
        self
    }

    /// Set the reliability.
    ///
    /// # Errors
    /// [`Error::InvalidSignal`] unless `reliability` is in [0, 1].
    pub fn with_reliability(mut self, reliability: f64) -> Result<Signal> {
        self.reliability = reliability;
        self.validate()?;
        Ok(self)
    }

    /// Set the weight.
    ///
    /// # Errors
    /// [`Error::InvalidSignal`] unless `weight` is finite and > 0.
    pub fn with_weight(mut self, weight: f64) -> Result<Signal> {
        self.weight = weight;
        self.validate()?;
        Ok(self)
    }

    /// Set the source.
    #[must_use]
    pub fn with_source(mut self, source: impl Into<String>) -> Signal {
        self.source = Some(source.into());
        self
    }

    /// Set the note.
    #[must_use]
    pub fn with_note(mut self, note: impl Into<String>) -> Signal {
        self.note = Some(note.into());
        self
    }

    /// Check the field constraints that do not depend on a case or model.
    ///
    /// # Errors
    /// [`Error::InvalidSignal`] naming the field.
    pub fn validate(&self) -> Result<()> {
        let id = self.id.as_deref();
        if self.signal_type.trim().is_empty() {
            return Err(Error::signal("type", "a signal type name", "an empty string").with_id(id));
        }
        if let Some(i) = &self.id
            && i.trim().is_empty()
        {
            return Err(Error::signal(
                "id",
                "a non-empty string (or no id)",
                "an empty string",
            ));
        }
        if !(self.reliability.is_finite() && (0.0..=1.0).contains(&self.reliability)) {
            return Err(Error::signal("reliability", "a number in [0, 1]", self.reliability).with_id(id));
        }
        if !(self.weight.is_finite() && self.weight > 0.0) {
            return Err(Error::signal("weight", "a finite number > 0", self.weight).with_id(id));
        }
        Ok(())
    }

    /// Parse one signal record from a JSON value (an object with the fields of `docs/signals.md`). Unknown fields are
    /// ignored.
    ///
    /// # Errors
    /// [`Error::InvalidSignal`] naming the missing or malformed field and the expected form.
    pub fn from_json(v: &Value) -> Result<Signal> {
        let obj = v
            .as_object()
            .ok_or_else(|| Error::signal("record", "a JSON object with fields type, date, ...", short(v)))?;
        let id = match obj.get("id") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(s.clone()),
            Some(Value::Number(n)) => Some(n.to_string()),
            Some(other) => return Err(Error::signal("id", "a string", short(other))),
        };
        let idr = id.as_deref();
        let text = |name: &str, required: bool| -> Result<Option<String>> {
            match obj.get(name) {
                None | Some(Value::Null) if required => {
                    Err(Error::signal(name, "a string", "nothing (the field is missing)").with_id(idr))
                }
                None | Some(Value::Null) => Ok(None),
                Some(Value::String(s)) => Ok(Some(s.clone())),
                Some(other) => Err(Error::signal(name, "a string", short(other)).with_id(idr)),
            }
        };
        let number = |name: &str, default: f64, expected: &str| -> Result<f64> {
            match obj.get(name) {
                None | Some(Value::Null) => Ok(default),
                Some(Value::Number(n)) => Ok(n.as_f64().unwrap_or(f64::NAN)),
                Some(Value::String(s)) => s
                    .trim()
                    .parse::<f64>()
                    .map_err(|_| Error::signal(name, expected, format!("{s:?}")).with_id(idr)),
                Some(other) => Err(Error::signal(name, expected, short(other)).with_id(idr)),
            }
        };
        let signal_type = text("type", true)?.unwrap_or_default();
        let date_text = text("date", true)?.unwrap_or_default();
        let date = parse_date("date", &date_text).map_err(|e| e.with_id(idr))?;
        let reliability = number("reliability", 1.0, "a number in [0, 1]")?;
        let weight = number("weight", 1.0, "a finite number > 0")?;
        let reports =
            match obj.get("reports") {
                None | Some(Value::Null) => None,
                Some(v) => Some(v.as_u64().and_then(|n| u32::try_from(n).ok()).ok_or_else(|| {
                    Error::signal("reports", "a non-negative integer", short(v)).with_id(idr)
                })?),
            };
        let event_ids = match obj.get("event_ids") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(a)) => a
                .iter()
                .map(|x| match x {
                    Value::String(s) => Ok(s.clone()),
                    Value::Number(n) => Ok(n.to_string()),
                    other => Err(Error::signal("event_ids", "a list of strings", short(other)).with_id(idr)),
                })
                .collect::<Result<_>>()?,
            Some(other) => {
                return Err(Error::signal("event_ids", "a list of strings", short(other)).with_id(idr));
            }
        };
        let source = text("source", false)?;
        let note = text("note", false)?;
        let s = Signal {
            id: id.clone(),
            signal_type,
            date,
            reliability,
            weight,
            source,
            note,
            reports,
            event_ids,
        };
        s.validate()?;
        Ok(s)
    }

    /// The record as a JSON value.
    pub fn to_json(&self) -> Value {
        serde_json::to_value(self).expect("a signal always serialises")
    }

    /// A short human description (`type on date (id)`), used in messages.
    pub fn describe(&self) -> String {
        let mut s = format!("{} on {}", self.signal_type, self.date);
        if (self.reliability - 1.0).abs() > 0.0 {
            s.push_str(&format!(", reliability {}", self.reliability));
        }
        if (self.weight - 1.0).abs() > 0.0 {
            s.push_str(&format!(", weight {}", self.weight));
        }
        if let Some(src) = &self.source {
            s.push_str(&format!(", source {src:?}"));
        }
        s
    }

    /// Whether two records carry the same content (used for idempotent appends).
    pub fn same_content(&self, other: &Signal) -> bool {
        self.signal_type == other.signal_type
            && self.date == other.date
            && self.reliability.to_bits() == other.reliability.to_bits()
            && self.weight.to_bits() == other.weight.to_bits()
            && self.source == other.source
            && self.note == other.note
    }

    // --- content-derived ids (issue 13, part 2) ---

    /// The id derived from this signal's content, `c-` followed by 24 lowercase hex digits: the first 96 bits of
    /// the SHA-256 of [`Signal::canonical_content`]. A signal that enters a case without an id gets this id
    /// ([`Case::append`](crate::Case::append)), so re-sending the same id-less record is an idempotent retry and
    /// two identical id-less reports are one signal. Its own `id`, `reports` and `event_ids` are not part of it.
    ///
    /// Why 24 hex digits (96 bits): the chance that two different records of one case share an id is about
    /// `n^2 / 2^97`, below 1e-17 for a million signals, while the id stays short enough to read in a table. It is
    /// a checksum against accidents, not a defence against someone forging collisions.
    ///
    /// # Examples
    /// ```
    /// use chrono::NaiveDate;
    /// use pf_core::Signal;
    ///
    /// let s = Signal::new("summit_held", NaiveDate::from_ymd_opt(2018, 6, 12).unwrap());
    /// assert_eq!(s.content_id(), Signal::new("summit_held", s.date).content_id());
    /// assert!(s.content_id().starts_with("c-") && s.content_id().len() == 26);
    /// ```
    pub fn content_id(&self) -> String {
        use sha2::{Digest, Sha256};
        let digest = Sha256::digest(self.canonical_content());
        let mut id = String::with_capacity(2 + 2 * CONTENT_ID_BYTES);
        id.push_str(CONTENT_ID_PREFIX);
        for b in &digest[..CONTENT_ID_BYTES] {
            id.push_str(&format!("{b:02x}"));
        }
        id
    }

    /// The canonical form hashed by [`Signal::content_id`], as bytes (UTF-8).
    ///
    /// # Formula
    /// The concatenation of seven netstrings (`<length in bytes, decimal>:<bytes>,`), in this order:
    ///
    /// 1. the tag `pf-signal-content/1` (the version of this form),
    /// 2. `type`, as given (no case folding, no trimming),
    /// 3. `date`, as `YYYY-MM-DD`,
    /// 4. `source`, the empty string when absent,
    /// 5. `note`, the empty string when absent,
    /// 6. `reliability`, 7. `weight`: the shortest decimal that reads back as the same `f64`, in positional
    ///    notation with no exponent, no `+`, no trailing zeros and no trailing point (`1`, `0.5`, `0.0000001`;
    ///    negative zero is written `0`); Rust's `f64` `Display`, Python's
    ///    `numpy.format_float_positional(x, unique=True, trim="-")`.
    ///
    /// For example `summit_held` on 2018-06-12 with no source or note, reliability 0.9 and weight 1 is
    /// `19:pf-signal-content/1,11:summit_held,10:2018-06-12,0:,0:,3:0.9,1:1,`.
    pub fn canonical_content(&self) -> Vec<u8> {
        fn net(out: &mut Vec<u8>, field: &str) {
            out.extend_from_slice(field.len().to_string().as_bytes());
            out.push(b':');
            out.extend_from_slice(field.as_bytes());
            out.push(b',');
        }
        // `+ 0.0` turns -0.0 into 0.0; every other value is unchanged.
        let number = |x: f64| format!("{}", x + 0.0);
        let mut out = Vec::with_capacity(96 + self.note.as_ref().map_or(0, String::len));
        net(&mut out, CONTENT_FORM_TAG);
        net(&mut out, &self.signal_type);
        net(&mut out, &self.date.format("%Y-%m-%d").to_string());
        net(&mut out, self.source.as_deref().unwrap_or(""));
        net(&mut out, self.note.as_deref().unwrap_or(""));
        net(&mut out, &number(self.reliability));
        net(&mut out, &number(self.weight));
        out
    }

    /// This signal with an empty `source` or `note` as absent. The two are the same content (the canonical form
    /// writes both as the empty string), and the gRPC contract cannot tell them apart (a proto3 string), so every
    /// face stores and compares them alike.
    #[must_use]
    pub fn normalised(mut self) -> Signal {
        if self.source.as_deref() == Some("") {
            self.source = None;
        }
        if self.note.as_deref() == Some("") {
            self.note = None;
        }
        self
    }

    /// This signal with its content id ([`Signal::content_id`]) when it has no id; unchanged otherwise.
    #[must_use]
    pub fn with_content_id(mut self) -> Signal {
        if self.id.is_none() {
            self.id = Some(self.content_id());
        }
        self
    }
    // --- end of content-derived ids ---
}

/// The prefix of content-derived ids ([`Signal::content_id`]).
pub const CONTENT_ID_PREFIX: &str = "c-";
/// Bytes of the SHA-256 digest kept in a content-derived id (24 hex digits).
pub const CONTENT_ID_BYTES: usize = 12;
/// The tag and version of the canonical form ([`Signal::canonical_content`]); a new form gets a new tag.
pub const CONTENT_FORM_TAG: &str = "pf-signal-content/1";

fn short(v: &Value) -> String {
    let s = v.to_string();
    if s.len() > 60 {
        format!("{}...", &s[..s.floor_char_boundary(57)])
    } else {
        s
    }
}

/// Read signal records from JSON Lines text (one object a line; blank lines and `#` comments skipped).
///
/// # Errors
/// The first bad record, with its line number.
pub fn read_jsonl(reader: impl BufRead) -> Result<Vec<Signal>> {
    let mut out = Vec::new();
    for (i, line) in reader.lines().enumerate() {
        let n = i + 1;
        let line = line.map_err(|e| Error::Parse {
            what: "signal records".into(),
            line: Some(n),
            message: e.to_string(),
        })?;
        let t = line.trim();
        if t.is_empty() || t.starts_with('#') {
            continue;
        }
        let v: Value = serde_json::from_str(t).map_err(|e| Error::Parse {
            what: "signal records (JSON Lines)".into(),
            line: Some(n),
            message: e.to_string(),
        })?;
        out.push(Signal::from_json(&v).map_err(|e| e.at_line(n))?);
    }
    Ok(out)
}

/// Read signal records from CSV text with a header naming the fields of `docs/signals.md` (`type` and `date`
/// required; `id`, `reliability`, `weight`, `source`, `note` optional; empty cells mean absent).
///
/// # Errors
/// The first bad record, with its line number.
pub fn read_csv(reader: impl std::io::Read) -> Result<Vec<Signal>> {
    let mut rdr = csv::ReaderBuilder::new()
        .flexible(false)
        .trim(csv::Trim::All)
        .from_reader(reader);
    let headers = rdr
        .headers()
        .map_err(|e| Error::Parse {
            what: "signal records (CSV)".into(),
            line: Some(1),
            message: e.to_string(),
        })?
        .clone();
    for required in ["type", "date"] {
        if !headers.iter().any(|h| h == required) {
            return Err(Error::signal(
                required,
                "a CSV header with columns type and date (and optionally id, reliability, weight, source, note)",
                format!("columns {:?}", headers.iter().collect::<Vec<_>>()),
            )
            .at_line(1));
        }
    }
    let mut out = Vec::new();
    for rec in rdr.records() {
        let rec = rec.map_err(|e| Error::Parse {
            what: "signal records (CSV)".into(),
            line: e.position().map(|p| p.line() as usize),
            message: e.to_string(),
        })?;
        let line = rec.position().map_or(0, |p| p.line() as usize);
        let mut obj = serde_json::Map::new();
        for (h, v) in headers.iter().zip(rec.iter()) {
            if !v.is_empty() {
                obj.insert(h.to_owned(), Value::String(v.to_owned()));
            }
        }
        out.push(Signal::from_json(&Value::Object(obj)).map_err(|e| e.at_line(line))?);
    }
    Ok(out)
}

/// Read a signals file, JSON Lines or CSV by extension (`.csv` is CSV, anything else JSON Lines).
///
/// # Errors
/// [`Error::Io`] or the first bad record.
pub fn read_signals_file(path: impl AsRef<Path>) -> Result<Vec<Signal>> {
    let path = path.as_ref();
    let f = std::fs::File::open(path).map_err(|source| Error::Io {
        path: path.into(),
        source,
    })?;
    let r = std::io::BufReader::new(f);
    if path.extension().is_some_and(|e| e.eq_ignore_ascii_case("csv")) {
        read_csv(r)
    } else {
        read_jsonl(r)
    }
}

/// Write signals as JSON Lines.
///
/// # Errors
/// [`Error::Io`]-like failures of the writer are reported as [`Error::Parse`] of the output.
pub fn write_jsonl(signals: &[Signal], mut w: impl std::io::Write) -> std::io::Result<()> {
    for s in signals {
        serde_json::to_writer(&mut w, s)?;
        w.write_all(b"\n")?;
    }
    Ok(())
}
