//! Signals: dated observations, and the record formats they are read from (JSON Lines, CSV).

use std::borrow::Borrow;
use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::io::BufRead;
use std::ops::Deref;
use std::path::Path;
use std::sync::{Arc, Mutex, OnceLock};

use chrono::NaiveDate;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;

use crate::error::{Error, Result};

// --- compact signals (issue 14): shared strings and inline ids ---

/// An immutable string shared by reference count: a signal's type, source and note.
///
/// Why: a case holds up to millions of signals whose type (and often source) is one of a few dozen names; a
/// `String` each cost 24 bytes in the signal plus a heap block of its own (about 400 bytes a signal in all,
/// measured by `examples/memory.rs`). A `Text` is 16 bytes (a pointer and a length, `Option<Text>` too), a
/// clone copies no bytes, and the names made by [`Text::interned`] (types and sources) share one heap block
/// per distinct name, so a signal's type costs 16 bytes and comparing two interned names is a pointer check.
///
/// It reads as a `str` (it derefs to one, and compares with `str`, `&str` and `String`), and serialises as a
/// plain string: the serde form of a signal is unchanged.
#[derive(Clone)]
pub struct Text(Arc<str>);

/// Longest name kept by the interner of [`Text::interned`], in bytes (signal types and sources are short;
/// longer text gets a block of its own).
pub const INTERN_MAX_BYTES: usize = 64;

/// Most distinct names the interner of [`Text::interned`] keeps (about 0.5 MB at most). Past it, a new name
/// gets a block of its own, so a stream of made-up names cannot grow the process's memory without bound.
pub const INTERN_MAX_NAMES: usize = 4096;

/// The process-wide set of interned names, seeded with the signal types of vocabulary v2 (so those are shared
/// whatever else fills the set).
fn interner() -> &'static Mutex<rustc_hash::FxHashSet<Arc<str>>> {
    static NAMES: OnceLock<Mutex<rustc_hash::FxHashSet<Arc<str>>>> = OnceLock::new();
    NAMES.get_or_init(|| {
        Mutex::new(
            crate::vocab::signal_types_v2()
                .map(|(n, _, _)| Arc::from(n))
                .collect(),
        )
    })
}

impl Text {
    /// The shared copy of a short name (a signal type or a source): every `Text` made from the same name by this
    /// function points at one heap block, kept for the life of the process. Names longer than
    /// [`INTERN_MAX_BYTES`], and new names once [`INTERN_MAX_NAMES`] are kept, get a block of their own (same
    /// value, only not shared).
    pub fn interned(name: &str) -> Text {
        if name.len() > INTERN_MAX_BYTES {
            return Text(Arc::from(name));
        }
        let mut names = interner()
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(shared) = names.get(name) {
            return Text(shared.clone());
        }
        let text: Arc<str> = Arc::from(name);
        if names.len() < INTERN_MAX_NAMES {
            names.insert(text.clone());
        }
        Text(text)
    }

    /// The text as a `str`.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether two texts are the same heap block (always so for equal names made by [`Text::interned`] while
    /// the interner has room): a sufficient, not a necessary, condition for equality.
    pub fn ptr_eq(a: &Text, b: &Text) -> bool {
        Arc::ptr_eq(&a.0, &b.0)
    }
}

impl Deref for Text {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl AsRef<str> for Text {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl Borrow<str> for Text {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl Default for Text {
    fn default() -> Text {
        Text::interned("")
    }
}

impl PartialEq for Text {
    fn eq(&self, other: &Text) -> bool {
        Text::ptr_eq(self, other) || *self.0 == *other.0
    }
}

impl Eq for Text {}

impl PartialOrd for Text {
    fn partial_cmp(&self, other: &Text) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Text {
    fn cmp(&self, other: &Text) -> Ordering {
        if Text::ptr_eq(self, other) {
            Ordering::Equal
        } else {
            self.0.cmp(&other.0)
        }
    }
}

impl Hash for Text {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.as_str().hash(state);
    }
}

impl fmt::Display for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self.as_str(), f)
    }
}

impl fmt::Debug for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl From<&str> for Text {
    fn from(s: &str) -> Text {
        Text(Arc::from(s))
    }
}

impl From<String> for Text {
    fn from(s: String) -> Text {
        Text(Arc::from(s))
    }
}

impl From<&String> for Text {
    fn from(s: &String) -> Text {
        Text(Arc::from(s.as_str()))
    }
}

impl From<Box<str>> for Text {
    fn from(s: Box<str>) -> Text {
        Text(Arc::from(s))
    }
}

impl From<Text> for String {
    fn from(t: Text) -> String {
        t.as_str().to_owned()
    }
}

impl From<&Text> for String {
    fn from(t: &Text) -> String {
        t.as_str().to_owned()
    }
}

macro_rules! eq_with_str {
    ($t:ty) => {
        impl PartialEq<str> for $t {
            fn eq(&self, other: &str) -> bool {
                self.as_str() == other
            }
        }
        impl PartialEq<&str> for $t {
            fn eq(&self, other: &&str) -> bool {
                self.as_str() == *other
            }
        }
        impl PartialEq<String> for $t {
            fn eq(&self, other: &String) -> bool {
                self.as_str() == other.as_str()
            }
        }
        impl PartialEq<$t> for str {
            fn eq(&self, other: &$t) -> bool {
                self == other.as_str()
            }
        }
        impl PartialEq<$t> for &str {
            fn eq(&self, other: &$t) -> bool {
                *self == other.as_str()
            }
        }
        impl PartialEq<$t> for String {
            fn eq(&self, other: &$t) -> bool {
                self.as_str() == other.as_str()
            }
        }
    };
}

eq_with_str!(Text);
eq_with_str!(SignalId);

impl Serialize for Text {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        serializer.serialize_str(self)
    }
}

/// Reads a string into a [`Text`] with `make` (own block or interned), without an intermediate `String` when
/// the deserialiser lends the text.
struct TextVisitor(fn(&str) -> Text);

impl serde::de::Visitor<'_> for TextVisitor {
    type Value = Text;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string")
    }
    fn visit_str<E: serde::de::Error>(self, v: &str) -> std::result::Result<Text, E> {
        Ok((self.0)(v))
    }
}

impl<'de> Deserialize<'de> for Text {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> std::result::Result<Text, D::Error> {
        deserializer.deserialize_str(TextVisitor(|s| Text::from(s)))
    }
}

/// Serde helpers for fields whose text is a name shared by many signals (type, source): read through
/// [`Text::interned`].
mod interned {
    use serde::{Deserialize, Deserializer};

    use super::{Text, TextVisitor};

    /// A name, interned.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Text, D::Error> {
        d.deserialize_str(TextVisitor(Text::interned))
    }

    /// An optional name, interned.
    pub fn option<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Text>, D::Error> {
        #[derive(Deserialize)]
        struct Name(#[serde(deserialize_with = "deserialize")] Text);
        Ok(Option::<Name>::deserialize(d)?.map(|n| n.0))
    }
}

/// A signal's id: up to [`SignalId::INLINE`] bytes held in the signal itself (a content-derived id, `c-` and 24
/// hex digits, fits), longer ones in a heap block of their own. 32 bytes, `Option<SignalId>` too.
///
/// Why: a `String` id cost 24 bytes plus a heap block (48 bytes with the allocator's header and rounding for a
/// content-derived id) for every signal of a case. Compared, ordered and hashed as the `str` it holds; reads
/// as a `str` (it derefs to one) and serialises as a plain string.
#[derive(Clone)]
pub struct SignalId(IdRepr);

#[derive(Clone)]
enum IdRepr {
    Inline { len: u8, bytes: [u8; SignalId::INLINE] },
    Heap(Box<str>),
}

impl SignalId {
    /// Longest id held inline, in bytes.
    pub const INLINE: usize = 30;

    /// The id `s`.
    pub fn new(s: &str) -> SignalId {
        if s.len() <= SignalId::INLINE {
            let mut bytes = [0u8; SignalId::INLINE];
            bytes[..s.len()].copy_from_slice(s.as_bytes());
            SignalId(IdRepr::Inline {
                len: s.len() as u8,
                bytes,
            })
        } else {
            SignalId(IdRepr::Heap(s.into()))
        }
    }

    /// The id's UTF-8 bytes.
    pub fn as_bytes(&self) -> &[u8] {
        match &self.0 {
            IdRepr::Inline { len, bytes } => &bytes[..usize::from(*len)],
            IdRepr::Heap(s) => s.as_bytes(),
        }
    }

    /// The id as a `str`.
    pub fn as_str(&self) -> &str {
        match &self.0 {
            // Made from a `str` in `new`: the bytes are UTF-8 (checked again here, as this crate has no unsafe).
            IdRepr::Inline { len, bytes } => std::str::from_utf8(&bytes[..usize::from(*len)])
                .expect("an inline id holds the bytes of a str"),
            IdRepr::Heap(s) => s,
        }
    }
}

impl Deref for SignalId {
    type Target = str;
    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl AsRef<str> for SignalId {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl Borrow<str> for SignalId {
    fn borrow(&self) -> &str {
        self.as_str()
    }
}

impl PartialEq for SignalId {
    fn eq(&self, other: &SignalId) -> bool {
        self.as_bytes() == other.as_bytes()
    }
}

impl Eq for SignalId {}

impl PartialOrd for SignalId {
    fn partial_cmp(&self, other: &SignalId) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for SignalId {
    /// The order of the `str`s (UTF-8 byte order is code point order).
    fn cmp(&self, other: &SignalId) -> Ordering {
        self.as_bytes().cmp(other.as_bytes())
    }
}

impl Hash for SignalId {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.as_str().hash(state);
    }
}

impl fmt::Display for SignalId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self.as_str(), f)
    }
}

impl fmt::Debug for SignalId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl From<&str> for SignalId {
    fn from(s: &str) -> SignalId {
        SignalId::new(s)
    }
}

impl From<String> for SignalId {
    fn from(s: String) -> SignalId {
        if s.len() <= SignalId::INLINE {
            SignalId::new(&s)
        } else {
            SignalId(IdRepr::Heap(s.into_boxed_str()))
        }
    }
}

impl From<&String> for SignalId {
    fn from(s: &String) -> SignalId {
        SignalId::new(s)
    }
}

impl From<SignalId> for String {
    fn from(id: SignalId) -> String {
        id.as_str().to_owned()
    }
}

impl From<&SignalId> for String {
    fn from(id: &SignalId) -> String {
        id.as_str().to_owned()
    }
}

impl Serialize for SignalId {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        serializer.serialize_str(self)
    }
}

impl<'de> Deserialize<'de> for SignalId {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> std::result::Result<SignalId, D::Error> {
        struct IdVisitor;
        impl serde::de::Visitor<'_> for IdVisitor {
            type Value = SignalId;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> std::result::Result<SignalId, E> {
                Ok(SignalId::new(v))
            }
        }
        deserializer.deserialize_str(IdVisitor)
    }
}

// --- end of compact signals ---

/// A dated observation of one signal type.
///
/// Construct with [`Signal::new`] and the `with_*` builders, or parse a record with [`Signal::from_json`];
/// both validate reliability and weight.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Signal {
    /// Unique within a case; a second record with the same id is the same signal.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<SignalId>,
    /// The signal type (a name from the model's vocabulary), interned ([`Text::interned`]).
    #[serde(rename = "type", deserialize_with = "interned::deserialize")]
    pub signal_type: Text,
    /// The day it was observed.
    pub date: NaiveDate,
    /// Reliability of the report in [0, 1].
    pub reliability: f64,
    /// Weight > 0: the likelihood is raised to this power.
    pub weight: f64,
    /// Who reported it, interned ([`Text::interned`]).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "interned::option"
    )]
    pub source: Option<Text>,
    /// Free text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<Text>,
    /// Number of raw event reports merged into this signal (event data ingestion).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reports: Option<u32>,
    /// Ids of the raw events merged into this signal, for provenance.
    #[serde(default, skip_serializing_if = "<[String]>::is_empty")]
    pub event_ids: Box<[String]>,
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
    /// A signal with reliability 1 and weight 1; its type is interned ([`Text::interned`]).
    pub fn new(signal_type: impl AsRef<str>, date: NaiveDate) -> Signal {
        Signal {
            id: None,
            signal_type: Text::interned(signal_type.as_ref()),
            date,
            reliability: 1.0,
            weight: 1.0,
            source: None,
            note: None,
            reports: None,
            event_ids: Box::default(),
        }
    }

    /// Set the id.
    #[must_use]
    pub fn with_id(mut self, id: impl AsRef<str>) -> Signal {
        self.id = Some(SignalId::new(id.as_ref()));
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

    /// Set the source (interned, [`Text::interned`]).
    #[must_use]
    pub fn with_source(mut self, source: impl AsRef<str>) -> Signal {
        self.source = Some(Text::interned(source.as_ref()));
        self
    }

    /// Set the note.
    #[must_use]
    pub fn with_note(mut self, note: impl Into<String>) -> Signal {
        self.note = Some(Text::from(note.into()));
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
            Some(Value::String(s)) => Some(SignalId::new(s)),
            Some(Value::Number(n)) => Some(SignalId::from(n.to_string())),
            Some(other) => return Err(Error::signal("id", "a string", short(other))),
        };
        let idr = id.as_deref();
        let text = |name: &str, required: bool| -> Result<Option<&str>> {
            match obj.get(name) {
                None | Some(Value::Null) if required => {
                    Err(Error::signal(name, "a string", "nothing (the field is missing)").with_id(idr))
                }
                None | Some(Value::Null) => Ok(None),
                Some(Value::String(s)) => Ok(Some(s.as_str())),
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
        let signal_type = Text::interned(text("type", true)?.unwrap_or_default());
        let date_text = text("date", true)?.unwrap_or_default();
        let date = parse_date("date", date_text).map_err(|e| e.with_id(idr))?;
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
            None | Some(Value::Null) => Box::default(),
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
        let source = text("source", false)?.map(Text::interned);
        let note = text("note", false)?.map(Text::from);
        let s = Signal {
            id,
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
        let mut out = Vec::with_capacity(96 + self.note.as_ref().map_or(0, |n| n.len()));
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
        self.normalise();
        self
    }

    /// [`Signal::normalised`] in place.
    pub(crate) fn normalise(&mut self) {
        if self.source.as_deref() == Some("") {
            self.source = None;
        }
        if self.note.as_deref() == Some("") {
            self.note = None;
        }
    }

    /// This signal with its content id ([`Signal::content_id`]) when it has no id; unchanged otherwise.
    #[must_use]
    pub fn with_content_id(mut self) -> Signal {
        self.give_content_id();
        self
    }

    /// [`Signal::with_content_id`] in place.
    pub(crate) fn give_content_id(&mut self) {
        if self.id.is_none() {
            self.id = Some(SignalId::from(self.content_id()));
        }
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

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn interned_names_share_one_block_and_long_text_does_not_enter_the_interner() {
        let a = Text::interned("summit_held");
        let b = Signal::new(
            "summit_held",
            NaiveDate::from_ymd_opt(2018, 6, 12).expect("a date"),
        )
        .signal_type;
        assert!(Text::ptr_eq(&a, &b));
        let made = Text::interned(&format!("{}x", "summit_held"));
        assert!(Text::ptr_eq(&made, &Text::interned("summit_heldx")));
        let long = "n".repeat(INTERN_MAX_BYTES + 1);
        assert!(!Text::ptr_eq(&Text::interned(&long), &Text::interned(&long)));
        assert_eq!(Text::interned(&long), Text::interned(&long));
        // A text not made by the interner equals the interned one.
        assert_eq!(Text::from("summit_held"), a);
        assert!(!Text::ptr_eq(&Text::from("summit_held"), &a));
    }

    #[test]
    fn a_signal_is_at_most_128_bytes_and_a_content_id_is_held_inline() {
        assert!(
            std::mem::size_of::<Signal>() <= 128,
            "{}",
            std::mem::size_of::<Signal>()
        );
        assert_eq!(std::mem::size_of::<Option<SignalId>>(), 32);
        assert_eq!(std::mem::size_of::<Option<Text>>(), 16);
        let s = Signal::new(
            "summit_held",
            NaiveDate::from_ymd_opt(2018, 6, 12).expect("a date"),
        );
        let id = SignalId::from(s.content_id());
        assert!(matches!(id.0, IdRepr::Inline { .. }));
        assert_eq!(id, s.content_id());
    }

    #[test]
    fn the_serde_form_of_texts_and_ids_is_the_plain_string() {
        let s = Signal::new(
            "summit_held",
            NaiveDate::from_ymd_opt(2018, 6, 12).expect("a date"),
        )
        .with_id("x".repeat(40))
        .with_source("kcna")
        .with_note("a \"quoted\" note");
        let json = serde_json::to_string(&s).expect("serialises");
        assert_eq!(
            json,
            format!(
                r#"{{"id":"{}","type":"summit_held","date":"2018-06-12","reliability":1.0,"weight":1.0,"source":"kcna","note":"a \"quoted\" note"}}"#,
                "x".repeat(40)
            )
        );
        let back: Signal = serde_json::from_str(&json).expect("reads back");
        assert_eq!(back, s);
        assert!(Text::ptr_eq(&back.signal_type, &s.signal_type));
        assert!(Text::ptr_eq(
            back.source.as_ref().expect("a source"),
            s.source.as_ref().expect("a source")
        ));
        assert_eq!(
            format!("{:?}", s.note.as_ref().expect("a note")),
            format!("{:?}", "a \"quoted\" note")
        );
    }

    proptest! {
        /// Ids and texts compare, order and hash as the strings they hold, inline or not.
        #[test]
        fn ids_and_texts_behave_as_their_strings(a in "\\PC{0,40}", b in "\\PC{0,40}") {
            use std::hash::BuildHasher;
            let (ia, ib) = (SignalId::new(&a), SignalId::new(&b));
            prop_assert_eq!(ia.as_str(), a.as_str());
            prop_assert_eq!(ia.cmp(&ib), a.cmp(&b));
            prop_assert_eq!(ia == ib, a == b);
            let (ta, tb) = (Text::interned(&a), Text::from(b.as_str()));
            prop_assert_eq!(ta.cmp(&tb), a.cmp(&b));
            prop_assert_eq!(ta == tb, a == b);
            let h = std::hash::RandomState::new();
            prop_assert_eq!(h.hash_one(&ia), h.hash_one(a.as_str()));
            prop_assert_eq!(h.hash_one(&ta), h.hash_one(a.as_str()));
        }
    }
}
