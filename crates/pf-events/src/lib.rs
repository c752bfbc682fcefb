//! # pf-events: CAMEO-coded event data into pressure_forecast signals
//!
//! Coded event datasets record who did what to whom each day, with CAMEO event codes. This crate reads them,
//! streaming row by row with the `csv` crate, maps each relevant event to a signal type of the v1 vocabulary
//! with an editable mapping file, and merges the reports of one event into one signal.
//!
//! ## Formats ([`Format`])
//! | format | layout | date | countries | story (independence) | event id |
//! |---|---|---|---|---|---|
//! | `icews` | raw ICEWS, tab-separated, 20 columns, header line `Event ID ...` | `Event Date` `YYYY-MM-DD` | `Source Country` / `Target Country`, country *names* mapped to ISO3 with a built-in table | `Story ID` | `Event ID` |
//! | `gdelt1` | GDELT 1.0 export, tab-separated, 57 or 58 columns, no header | `SQLDATE` `YYYYMMDD` | `Actor1CountryCode` / `Actor2CountryCode` (CAMEO country codes, ISO3 for states) | `SOURCEURL` (58 columns), else the event | `GLOBALEVENTID` |
//! | `gdelt2` | GDELT 2.0 export, tab-separated, 61 columns, no header | `SQLDATE` `YYYYMMDD` | as GDELT 1.0 | `SOURCEURL` | `GLOBALEVENTID` |
//! | `csv` | comma-separated with a header naming the columns (any order, extra columns ignored) | `date` or `event_date`, `YYYY-MM-DD` or `YYYYMMDD` | `source_country` or `source_country_iso3`, `target_country` or `target_country_iso3` (ISO3, or a country name) | `story_id` (optional) | `event_id` (optional) |
//!
//! The CSV reader also requires `cameo_code` (or `event_code`, `code`) and reads an optional `goldstein` (or
//! `intensity`). The filtered ICEWS18 files of `data/events/` are read by it as they are. A GDELT file whose
//! first field is `GLOBALEVENTID` starts with a header row, which is skipped; the raw exports have none.
//! Rows without an event id get the id `line:N` (their line in the input).
//!
//! ## Roles and rules ([`Mapping`])
//! Each country of a row has a role: the case's `sender`, its `target`, or the name of a country set defined in
//! the mapping file (such as `third_parties`). A rule `(from role, to role, codes) -> signal type` matches a row
//! when the roles match and one of its codes is the row's CAMEO code or an ancestor of it (`"06"` matches `061`;
//! `"138"` matches `1384`); the longest matching code wins, then the first rule. The default mapping is
//! `models/cameo_mapping.toml`, with a comment on every rule saying why the code means that signal.
//!
//! ## De-duplication and reliability
//! All matched rows with the same (date, signal type) become one signal, with id `{format}-{date}-{type}`
//! (e.g. `icews-2018-06-12-summit_held`), source = the format name, `reports` = the number of rows,
//! `event_ids` = their ids and a note listing the CAMEO codes seen. Each *independent story* is taken to report
//! a true event with probability `r0` (a setting of the mapping file, default 0.5), independently of the
//! others, so with `n` distinct stories
//!
//! ```text
//! reliability = min(cap, 1 - (1 - r0)^n)          (default r0 = 0.5, cap = 0.99)
//! ```
//!
//! A story is the ICEWS `Story ID`, the GDELT `SOURCEURL`, or the CSV `story_id`; a row without one counts as a
//! story of its own (the ICEWS18 benchmark keeps one row per story).
//!
//! When following a feed of many files ([`follow`], `pressure-forecast follow`), ids are derived from the events a
//! signal aggregates instead, and an event already counted in the case is left out, so files never conflict.
//!
//! ## Bad rows
//! A row with the wrong number of columns, bytes that are not UTF-8, a bad date, a CAMEO code missing from the
//! codebook or a Goldstein score that is not a number is a *bad row*: by default it is reported in
//! [`IngestReport::bad_rows`] with its line number and skipped; with [`IngestOptions::strict`] the first one is
//! an [`Error::BadRow`]. Rows whose countries are unknown or have no role are read but not matched.
//!
//! ## Memory
//! Rows are read one at a time into one reused buffer: memory does not grow with the file's size, only with the
//! matched events, whose ids are kept on the signals for provenance.
//!
//! # Examples
//! ```
//! use pf_events::{Format, IngestOptions, Mapping, ingest};
//!
//! let data = "date,source_country,target_country,cameo_code,story_id\n\
//!             2018-06-12,USA,PRK,044,s1\n\
//!             2018-06-12,PRK,USA,044,s2\n\
//!             2018-06-12,USA,FRA,044,s3\n";
//! let opts = IngestOptions::new(Format::Csv, "USA", "PRK");
//! let report = ingest(data.as_bytes(), &Mapping::default_mapping(), &opts).unwrap();
//! assert_eq!((report.rows_read, report.rows_matched), (3, 2));
//! let s = &report.signals[0];
//! assert_eq!(s.id.as_deref(), Some("csv-2018-06-12-summit_held"));
//! assert_eq!(s.reliability, 0.75); // two independent stories: 1 - 0.5^2
//! assert_eq!(s.event_ids[..], ["line:2", "line:3"]);
//! ```

#[cfg(feature = "cli")]
pub mod cli;
mod codebook;
mod countries;
mod error;
pub mod follow;
mod mapping;

use std::collections::{BTreeMap, HashSet};
use std::io::Read;
use std::path::Path;
use std::str::FromStr;

use chrono::NaiveDate;
use pf_core::Signal;

pub use codebook::{code_count, describe_code, is_known_code};
pub use error::{Error, Result};
pub use mapping::{DEFAULT_MAPPING_TOML, Mapping};

use mapping::Role;

/// The event data formats that can be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    /// Raw ICEWS: tab-separated, 20 columns, with a header line.
    Icews,
    /// GDELT 1.0 event export: tab-separated, 57 or 58 columns, no header.
    Gdelt1,
    /// GDELT 2.0 event export: tab-separated, 61 columns, no header.
    Gdelt2,
    /// Comma-separated with named columns (see the crate docs).
    Csv,
}

impl Format {
    /// All formats, in documentation order.
    pub const ALL: [Format; 4] = [Format::Icews, Format::Gdelt1, Format::Gdelt2, Format::Csv];

    /// The format's name (`icews`, `gdelt1`, `gdelt2`, `csv`), also used as the signals' source and id prefix.
    pub fn name(self) -> &'static str {
        match self {
            Format::Icews => "icews",
            Format::Gdelt1 => "gdelt1",
            Format::Gdelt2 => "gdelt2",
            Format::Csv => "csv",
        }
    }
}

impl std::fmt::Display for Format {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Format {
    type Err = Error;

    fn from_str(s: &str) -> Result<Format> {
        Format::ALL
            .into_iter()
            .find(|f| f.name().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| Error::Format {
                what: "format name".into(),
                expected: "one of icews, gdelt1, gdelt2, csv".into(),
                found: format!("{s:?}"),
            })
    }
}

/// What to ingest and for which case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IngestOptions {
    /// The input's format.
    pub format: Format,
    /// The case's sender (ISO3, e.g. `USA`).
    pub sender: String,
    /// The case's target (ISO3, e.g. `PRK`).
    pub target: String,
    /// First day kept (inclusive); earlier rows are read but not matched.
    pub start: Option<NaiveDate>,
    /// Last day kept (inclusive); later rows are read but not matched.
    pub end: Option<NaiveDate>,
    /// Fail on the first bad row ([`Error::BadRow`]) instead of reporting and skipping it.
    pub strict: bool,
}

impl IngestOptions {
    /// Options for a sender and target with no date limits, not strict.
    pub fn new(format: Format, sender: impl Into<String>, target: impl Into<String>) -> IngestOptions {
        IngestOptions {
            format,
            sender: sender.into(),
            target: target.into(),
            start: None,
            end: None,
            strict: false,
        }
    }
}

/// A row that was skipped, with why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadRow {
    /// Line (1-based) where the row starts in the input.
    pub line: u64,
    /// What was wrong and what was expected.
    pub reason: String,
}

/// The result of an ingestion.
#[derive(Debug, Clone, PartialEq)]
pub struct IngestReport {
    /// One signal per (date, signal type), in date then type order.
    pub signals: Vec<Signal>,
    /// Data rows read (header lines not counted; bad rows counted).
    pub rows_read: u64,
    /// Rows mapped to a signal.
    pub rows_matched: u64,
    /// Rows skipped as malformed, in input order.
    pub bad_rows: Vec<BadRow>,
}

/// Column positions of one layout.
struct Layout {
    /// Accepted column counts.
    columns: &'static [usize],
    date: usize,
    source: usize,
    target: usize,
    code: usize,
    goldstein: Option<usize>,
    event_id: Option<usize>,
    story: Option<usize>,
    date_format: DateFormat,
    country: CountryKind,
}

#[derive(Clone, Copy)]
enum DateFormat {
    Iso,
    Compact,
    Either,
}

#[derive(Clone, Copy)]
enum CountryKind {
    /// Country names (ICEWS).
    Name,
    /// CAMEO/ISO3 codes (GDELT).
    Code,
    /// ISO3 codes or names (CSV).
    Either,
}

const ICEWS: Layout = Layout {
    columns: &[20],
    date: 1,
    source: 4,
    target: 10,
    code: 6,
    goldstein: Some(7),
    event_id: Some(0),
    story: Some(11),
    date_format: DateFormat::Iso,
    country: CountryKind::Name,
};

const GDELT1: Layout = Layout {
    columns: &[57, 58],
    date: 1,
    source: 7,
    target: 17,
    code: 26,
    goldstein: Some(30),
    event_id: Some(0),
    story: Some(57),
    date_format: DateFormat::Compact,
    country: CountryKind::Code,
};

const GDELT2: Layout = Layout {
    columns: &[61],
    story: Some(60),
    ..GDELT1
};

const CSV_COLUMNS: [(&str, &[&str], bool); 7] = [
    ("date", &["date", "event_date"], true),
    ("source country", &["source_country", "source_country_iso3"], true),
    ("target country", &["target_country", "target_country_iso3"], true),
    ("CAMEO code", &["cameo_code", "event_code", "code"], true),
    ("Goldstein score", &["goldstein", "intensity"], false),
    ("event id", &["event_id"], false),
    ("story id", &["story_id"], false),
];

fn csv_layout(header: &csv::ByteRecord) -> Result<Layout> {
    let names: Vec<String> = header
        .iter()
        .enumerate()
        .map(|(i, h)| {
            let h = if i == 0 {
                h.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(h)
            } else {
                h
            };
            String::from_utf8_lossy(h).trim().to_ascii_lowercase()
        })
        .collect();
    let mut pos = [None; 7];
    for (k, (_, aliases, _)) in CSV_COLUMNS.iter().enumerate() {
        pos[k] = names.iter().position(|n| aliases.contains(&n.as_str()));
    }
    if let Some(k) = (0..4).find(|&k| pos[k].is_none()) {
        let (what, aliases, _) = CSV_COLUMNS[k];
        return Err(Error::Format {
            what: "csv header".into(),
            expected: format!(
                "a {what} column named {} (required: date, source_country, target_country, cameo_code; \
                 optional: goldstein, event_id, story_id)",
                aliases.join(" or ")
            ),
            found: format!("columns {names:?}"),
        });
    }
    Ok(Layout {
        columns: &[],
        date: pos[0].unwrap_or(0),
        source: pos[1].unwrap_or(0),
        target: pos[2].unwrap_or(0),
        code: pos[3].unwrap_or(0),
        goldstein: pos[4],
        event_id: pos[5],
        story: pos[6],
        date_format: DateFormat::Either,
        country: CountryKind::Either,
    })
}

/// One parsed event row.
struct Event<'a> {
    date: NaiveDate,
    source: Option<&'a str>,
    target: Option<&'a str>,
    code: &'a str,
    goldstein: Option<f64>,
    event_id: &'a str,
    story: &'a str,
}

fn field(rec: &csv::ByteRecord, i: usize) -> &str {
    // The whole record was checked to be UTF-8 and fields split at ASCII delimiters, so this cannot fail.
    rec.get(i)
        .and_then(|b| std::str::from_utf8(b).ok())
        .unwrap_or("")
        .trim()
}

/// An event's date: ISO dates by the core's one parser ([`pf_core::dates::parse_date`]); GDELT's compact
/// `YYYYMMDD` (eight digits) held to the same span of sane dates.
fn parse_date(s: &str, f: DateFormat) -> Option<NaiveDate> {
    let iso = || pf_core::dates::parse_date("date", s).ok();
    let compact = || {
        if s.len() == 8 && s.bytes().all(|b| b.is_ascii_digit()) {
            NaiveDate::parse_from_str(s, "%Y%m%d")
                .ok()
                .filter(|d| pf_core::dates::DateSpan::DEFAULT.contains(*d))
        } else {
            None
        }
    };
    match f {
        DateFormat::Iso => iso(),
        DateFormat::Compact => compact(),
        DateFormat::Either => iso().or_else(compact),
    }
}

fn country(s: &str, kind: CountryKind) -> Option<&str> {
    if s.is_empty() || s == "NA" {
        return None;
    }
    let by_name = |s: &str| -> Option<&'static str> {
        countries::COUNTRIES
            .binary_search_by(|(n, _)| (*n).cmp(s))
            .ok()
            .map(|i| countries::COUNTRIES[i].1)
    };
    match kind {
        CountryKind::Code => Some(s),
        CountryKind::Name => by_name(s),
        CountryKind::Either if mapping::is_iso3(s) => Some(s),
        CountryKind::Either => by_name(s),
    }
}

fn parse_row<'a>(rec: &'a csv::ByteRecord, layout: &Layout) -> std::result::Result<Event<'a>, String> {
    let n = rec.len();
    if !layout.columns.is_empty() && !layout.columns.contains(&n) {
        let want: Vec<String> = layout.columns.iter().map(ToString::to_string).collect();
        return Err(format!("expected {} columns, found {n}", want.join(" or ")));
    }
    if let Err(e) = std::str::from_utf8(rec.as_slice()) {
        return Err(format!(
            "expected UTF-8 text, found an invalid byte sequence at byte {} of the row",
            e.valid_up_to()
        ));
    }
    let needed = [layout.date, layout.source, layout.target, layout.code]
        .into_iter()
        .max()
        .unwrap_or(0);
    if needed >= n {
        return Err(format!(
            "expected at least {} columns as in the header, found {n}",
            needed + 1
        ));
    }
    let date_text = field(rec, layout.date);
    let date = parse_date(date_text, layout.date_format).ok_or_else(|| {
        let want = match layout.date_format {
            DateFormat::Iso => "a date YYYY-MM-DD",
            DateFormat::Compact => "a date YYYYMMDD",
            DateFormat::Either => "a date YYYY-MM-DD or YYYYMMDD",
        };
        format!("expected {want}, found {date_text:?}")
    })?;
    let code = field(rec, layout.code);
    if !codebook::is_known_code(code) {
        return Err(format!(
            "expected a CAMEO event code of the codebook, found {code:?}"
        ));
    }
    let goldstein = match layout.goldstein.map(|i| field(rec, i)) {
        None | Some("") | Some("NA") => None,
        Some(g) => Some(
            g.parse::<f64>()
                .ok()
                .filter(|x| x.is_finite())
                .ok_or_else(|| format!("expected a Goldstein score (a number), found {g:?}"))?,
        ),
    };
    Ok(Event {
        date,
        source: country(field(rec, layout.source), layout.country),
        target: country(field(rec, layout.target), layout.country),
        code,
        goldstein,
        event_id: layout.event_id.map_or("", |i| field(rec, i)),
        story: layout.story.map_or("", |i| field(rec, i)),
    })
}

/// Everything merged into one signal.
#[derive(Default)]
struct Group {
    reports: u64,
    stories: HashSet<String>,
    storyless: usize,
    event_ids: Vec<String>,
    codes: BTreeMap<String, u32>,
    goldstein_sum: f64,
    goldstein_n: u32,
}

fn is_header(rec: &csv::ByteRecord, first: &[u8]) -> bool {
    rec.get(0).is_some_and(|f| {
        let f = f.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(f);
        f.trim_ascii() == first
    })
}

/// Read event rows from `reader`, map them with `mapping` for the case in `opts`, and merge them into signals.
///
/// # Errors
/// [`Error::Io`] when reading fails, [`Error::Format`] for a CSV header without the required columns,
/// [`Error::BadRow`] for the first bad row in strict mode.
pub fn ingest<R: Read>(reader: R, mapping: &Mapping, opts: &IngestOptions) -> Result<IngestReport> {
    ingest_inner(reader, mapping, opts, Path::new("<input>"), &Extra::default()).map(|(r, _)| r)
}

/// [`ingest`] on a file.
///
/// # Errors
/// As [`ingest`]; [`Error::Io`] names the file.
pub fn ingest_path(path: &Path, mapping: &Mapping, opts: &IngestOptions) -> Result<IngestReport> {
    let f = std::fs::File::open(path).map_err(|source| Error::Io {
        path: path.into(),
        source,
    })?;
    ingest_inner(f, mapping, opts, path, &Extra::default()).map(|(r, _)| r)
}

/// Settings of [`follow`] mode that plain [`ingest`] does not use.
#[derive(Default)]
pub(crate) struct Extra<'a> {
    /// Event ids already counted in the case: rows carrying one (or repeating one seen earlier in the same input)
    /// are left out, so an event counts once across files. `None`: every row counts (plain ingest).
    pub counted: Option<&'a HashSet<String>>,
    /// Prefix of the ids given to rows without an event id (`{prefix}line:N`), so that they differ across files.
    pub line_prefix: &'a str,
}

/// Returns the report and the number of matched rows left out as already counted ([`Extra::counted`]).
pub(crate) fn ingest_inner<R: Read>(
    reader: R,
    mapping: &Mapping,
    opts: &IngestOptions,
    path: &Path,
    extra: &Extra<'_>,
) -> Result<(IngestReport, u64)> {
    let format = opts.format;
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(if format == Format::Csv { b',' } else { b'\t' })
        // Raw ICEWS and GDELT exports are not quoted: a `"` inside a field is text.
        .quoting(format == Format::Csv)
        .buffer_capacity(1 << 16)
        .from_reader(reader);
    let sender = opts.sender.trim().to_ascii_uppercase();
    let target = opts.target.trim().to_ascii_uppercase();
    let io_err = |e: csv::Error| match e.into_kind() {
        csv::ErrorKind::Io(source) => Error::Io {
            path: path.into(),
            source,
        },
        other => Error::Io {
            path: path.into(),
            source: std::io::Error::other(format!("{other:?}")),
        },
    };

    let mut report = IngestReport {
        signals: Vec::new(),
        rows_read: 0,
        rows_matched: 0,
        bad_rows: Vec::new(),
    };
    let mut rec = csv::ByteRecord::new();
    let mut layout = match format {
        Format::Icews => Some(ICEWS),
        Format::Gdelt1 => Some(GDELT1),
        Format::Gdelt2 => Some(GDELT2),
        Format::Csv => None,
    };
    let header_first: &[u8] = match format {
        Format::Icews => b"Event ID",
        Format::Gdelt1 | Format::Gdelt2 => b"GLOBALEVENTID",
        Format::Csv => b"",
    };
    let mut first = true;
    let mut already_counted = 0u64;
    let mut seen_here: HashSet<String> = HashSet::new();
    let mut groups: BTreeMap<(NaiveDate, &'static str), Group> = BTreeMap::new();
    let (mut src_roles, mut dst_roles) = (Vec::<Role>::with_capacity(4), Vec::<Role>::with_capacity(4));
    while rdr.read_byte_record(&mut rec).map_err(io_err)? {
        let line = rec.position().map_or(0, csv::Position::line);
        if first {
            first = false;
            if format == Format::Csv {
                layout = Some(csv_layout(&rec)?);
                continue;
            }
            if is_header(&rec, header_first) {
                continue;
            }
        }
        let Some(lay) = layout.as_ref() else { continue };
        report.rows_read += 1;
        let ev = match parse_row(&rec, lay) {
            Ok(ev) => ev,
            Err(reason) => {
                if opts.strict {
                    return Err(Error::BadRow { line, reason });
                }
                report.bad_rows.push(BadRow { line, reason });
                continue;
            }
        };
        if opts.start.is_some_and(|s| ev.date < s) || opts.end.is_some_and(|e| ev.date > e) {
            continue;
        }
        let (Some(src), Some(dst)) = (ev.source, ev.target) else {
            continue;
        };
        mapping.roles_of(src, &sender, &target, &mut src_roles);
        if src_roles.is_empty() {
            continue;
        }
        mapping.roles_of(dst, &sender, &target, &mut dst_roles);
        if dst_roles.is_empty() {
            continue;
        }
        let Some((_, signal)) = mapping.classify(&src_roles, &dst_roles, ev.code) else {
            continue;
        };
        let event_id = if ev.event_id.is_empty() {
            format!("{}line:{line}", extra.line_prefix)
        } else {
            ev.event_id.to_owned()
        };
        if let Some(counted) = extra.counted
            && (counted.contains(&event_id) || !seen_here.insert(event_id.clone()))
        {
            already_counted += 1;
            continue;
        }
        report.rows_matched += 1;
        let g = groups.entry((ev.date, signal)).or_default();
        g.reports += 1;
        if ev.story.is_empty() || ev.story == "NA" {
            g.storyless += 1;
        } else if !g.stories.contains(ev.story) {
            g.stories.insert(ev.story.to_owned());
        }
        g.event_ids.push(event_id);
        *g.codes.entry(ev.code.to_owned()).or_default() += 1;
        if let Some(x) = ev.goldstein {
            g.goldstein_sum += x;
            g.goldstein_n += 1;
        }
    }

    // Follow-up coverage: days of one signal type within the window of a cluster's first day belong to that
    // cluster, and the cluster counts as one report in all: each of its days keeps its own signal (so events
    // stay on their dates and traceable) with weight `weight * reports that day / reports in the cluster`, so
    // the day of peak coverage, the event's own day, carries most of it.
    let window = i64::from(mapping.window_days);
    let mut cluster_of: Vec<usize> = Vec::with_capacity(groups.len());
    let mut cluster_reports: Vec<u64> = Vec::new();
    let mut open: std::collections::HashMap<&'static str, (NaiveDate, usize)> =
        std::collections::HashMap::new();
    for ((date, signal), g) in &groups {
        match open.get(signal) {
            Some(&(first, c)) if (*date - first).num_days() < window => {
                cluster_reports[c] += g.reports;
                cluster_of.push(c);
            }
            _ => {
                open.insert(signal, (*date, cluster_reports.len()));
                cluster_of.push(cluster_reports.len());
                cluster_reports.push(g.reports);
            }
        }
    }
    let weights: Vec<f64> = groups
        .values()
        .zip(&cluster_of)
        .map(|(g, &c)| mapping.weight * g.reports as f64 / cluster_reports[c] as f64)
        .collect();
    let source = format.name();
    report.signals = groups
        .into_iter()
        .zip(weights)
        .map(|(((date, signal), g), weight)| {
            let n = g.stories.len() + g.storyless;
            let codes: Vec<String> = g.codes.iter().map(|(c, k)| format!("{c} ({k})")).collect();
            let mut note = format!(
                "CAMEO codes {}; {} report{} from {n} independent stor{}",
                codes.join(", "),
                g.reports,
                if g.reports == 1 { "" } else { "s" },
                if n == 1 { "y" } else { "ies" }
            );
            if g.goldstein_n > 0 {
                note.push_str(&format!(
                    "; mean Goldstein {:.2}",
                    g.goldstein_sum / f64::from(g.goldstein_n)
                ));
            }
            let mut s = Signal::new(signal, date)
                .with_id(format!("{source}-{date}-{signal}"))
                .with_source(source)
                .with_note(note);
            s.reliability = mapping.reliability(n);
            s.weight = weight;
            s.reports = Some(u32::try_from(g.reports).unwrap_or(u32::MAX));
            s.event_ids = g.event_ids.into();
            s
        })
        .collect();
    Ok((report, already_counted))
}
