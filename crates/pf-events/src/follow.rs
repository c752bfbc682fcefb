//! Following a feed: ingest each new event file of a directory exactly once into case files.
//!
//! GDELT 2.0 publishes an event export every 15 minutes. A [`Follower`] lists a directory, takes the files it
//! has not ingested yet (in name order, which for GDELT is time order), maps each with the crate's readers and
//! mapping for every case it follows, appends the new signals to the case files and records the file in a
//! checkpoint.
//!
//! ## Exactly once
//! - The **checkpoint** (JSON) records every file done with its size and SHA-256. It is written after the
//!   signals are appended, by writing a temporary file beside it and renaming it over the old one, so a crash
//!   leaves either the old or the new checkpoint, never a torn one. A file listed with the same size and hash is
//!   not read again, across restarts.
//! - **Case files** are written the same way (temporary file + rename), one file's signals all or none: every
//!   case is mapped and checked first, and nothing is written when one of them rejects the signals.
//! - A crash between the case write and the checkpoint write makes the next run read the file again, and
//!   that changes nothing: each **event counts once**. Before a file is mapped, the ids of the events already
//!   recorded in the case (the `event_ids` of its signals from the same format) are collected, and rows carrying
//!   one of them (or repeating an event id seen earlier in the same file) are left out and counted as
//!   `already counted`.
//!
//! ## Signal ids from events
//! A signal made here aggregates the new events of one (date, type) in one file; its id is derived from them:
//!
//! ```text
//! id = {format}-{date}-{type}-{first 24 hex digits of SHA-256(netstrings of
//!          "pf-events-signal/1", format, type, date, event ids sorted and deduplicated)}
//! ```
//!
//! (a netstring is `<length in bytes>:<bytes>,`), so a later file that reports more events of a day already
//! recorded adds a new signal with its own id, and one that only repeats counted events adds nothing; ids of
//! two files never collide. Rows without an event id get `{file name}:line:N`, distinct across files. Within a
//! file the rules of [`crate::ingest`] hold (one signal per date and type, reliability from independent stories,
//! follow-up days weighted within the file's clusters).
//!
//! Files whose name starts with `.` or ends with `.tmp` or `.part` are ignored (write a file under such a name and
//! rename it into place); when watching, a file is taken only once its size is the same at two successive polls.
//!
//! ## Where the cases live
//! The cases are read and written through a [`CaseStore`]: [`CaseFiles`] (case files on disk, the default of
//! [`Follower::new`]) or any other store given to [`Follower::with_store`]; the command-line program has one that
//! appends through a running `pressure-forecast serve` (gRPC `GetCase`/`ListSignals`, then `AppendSignals`), so
//! that this crate holds no transport code. A service appends each case's batch atomically and idempotently by
//! id, but not several cases at once: when one case's append fails after another's succeeded, the file is not
//! checkpointed, and the next pass adds only what is missing (the events already recorded are counted).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use pf_core::{Case, Signal};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::{Extra, Format, IngestOptions, Mapping, ingest_inner};

/// The tag that starts the hashed form of an event-derived signal id.
pub const EVENT_ID_FORM_TAG: &str = "pf-events-signal/1";

/// Errors of following a feed.
#[derive(Debug, thiserror::Error)]
pub enum FollowError {
    /// Reading or mapping an event file failed (a bad row in strict mode, an unreadable file).
    #[error("cannot ingest `{}`: {source}", .path.display())]
    Events {
        /// The event file.
        path: PathBuf,
        /// The ingestion error.
        #[source]
        source: crate::Error,
    },
    /// A case file could not be read, or it rejected the signals.
    #[error("case `{}`: {source}", .path.display())]
    Case {
        /// The case file.
        path: PathBuf,
        /// The core's error (boxed: it is large and this path is rare).
        #[source]
        source: Box<pf_core::Error>,
    },
    /// Ingesting one event file failed: the file's name and the reason.
    #[error("`{name}`: {source}")]
    File {
        /// The event file's name.
        name: String,
        /// What failed.
        #[source]
        source: Box<FollowError>,
    },
    /// The store of the cases (a service, see [`CaseStore`]) failed or refused the signals.
    #[error("case `{case}`: {message}")]
    Store {
        /// The case, as the store labels it.
        case: String,
        /// What went wrong.
        message: String,
    },
    /// The checkpoint file exists but is not a checkpoint.
    #[error("invalid checkpoint `{}`: expected {expected}, found {found}", .path.display())]
    Checkpoint {
        /// The checkpoint file.
        path: PathBuf,
        /// The form it must take.
        expected: String,
        /// What was found.
        found: String,
    },
    /// A file or directory could not be read or written.
    #[error("cannot access `{}`: {source}", .path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> FollowError + '_ {
    move |source| FollowError::Io {
        path: path.into(),
        source,
    }
}

/// What to follow.
#[derive(Debug, Clone)]
pub struct FollowConfig {
    /// The directory watched for event files.
    pub dir: PathBuf,
    /// The event files' format.
    pub format: Format,
    /// The mapping from CAMEO codes to signal types.
    pub mapping: Mapping,
    /// Case files (JSON) the signals are appended to; each case's sender and target (ISO3 codes) select its
    /// events, and its span limits their dates. Unused (and best left empty) with another [`CaseStore`].
    pub cases: Vec<PathBuf>,
    /// The checkpoint file.
    pub checkpoint: PathBuf,
    /// Fail a file on its first bad row instead of skipping the row.
    pub strict: bool,
    /// Only files whose name ends with this (e.g. `.export.CSV`); all files when `None`.
    pub suffix: Option<String>,
}

/// One file recorded in the checkpoint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileDone {
    /// Size in bytes when ingested.
    pub size: u64,
    /// SHA-256 of the content, lowercase hex.
    pub sha256: String,
    /// Data rows read.
    pub rows_read: u64,
    /// Rows mapped to a new signal, summed over the cases.
    pub rows_matched: u64,
    /// Matched rows left out because their events were already counted, summed over the cases.
    pub already_counted: u64,
    /// Bad rows skipped.
    pub bad_rows: u64,
    /// Signals added, summed over the cases.
    pub signals_added: u64,
}

/// The checkpoint: the files done, by file name.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checkpoint {
    /// Format of this file (1).
    pub format_version: u32,
    /// Files done, by name (not path: the directory may move).
    pub files: BTreeMap<String, FileDone>,
}

impl Checkpoint {
    /// Read a checkpoint; an absent file is an empty checkpoint.
    ///
    /// # Errors
    /// [`FollowError::Io`] when it cannot be read, [`FollowError::Checkpoint`] when it is not a checkpoint.
    pub fn load(path: &Path) -> Result<Checkpoint, FollowError> {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Ok(Checkpoint {
                    format_version: 1,
                    files: BTreeMap::new(),
                });
            }
            Err(e) => return Err(io(path)(e)),
        };
        serde_json::from_str(&text).map_err(|e| FollowError::Checkpoint {
            path: path.into(),
            expected: "a JSON object {format_version: 1, files: {name: {size, sha256, ...}}}".into(),
            found: e.to_string(),
        })
    }

    /// Write the checkpoint atomically (temporary file + rename).
    ///
    /// # Errors
    /// [`FollowError::Io`].
    pub fn save(&self, path: &Path) -> Result<(), FollowError> {
        let text = serde_json::to_string_pretty(self).expect("a checkpoint always serialises");
        write_atomic(path, (text + "\n").as_bytes())
    }
}

/// Write `bytes` to `path` by writing a temporary file in the same directory, syncing it and renaming it over
/// `path`: readers and a crash see the old content or the new one, never a mix.
///
/// # Errors
/// [`FollowError::Io`].
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), FollowError> {
    use std::io::Write;
    let name = path
        .file_name()
        .map_or_else(|| "file".into(), |n| n.to_string_lossy().into_owned());
    let tmp = path.with_file_name(format!(".{name}.{}.tmp", std::process::id()));
    let mut f = std::fs::File::create(&tmp).map_err(io(&tmp))?;
    f.write_all(bytes).and_then(|()| f.sync_all()).map_err(io(&tmp))?;
    drop(f);
    std::fs::rename(&tmp, path).map_err(io(path))
}

/// The id of a signal made from events: see the module docs.
pub fn event_signal_id(
    format: Format,
    signal_type: &str,
    date: chrono::NaiveDate,
    event_ids: &[String],
) -> String {
    fn net(h: &mut Sha256, s: &str) {
        h.update(s.len().to_string().as_bytes());
        h.update(b":");
        h.update(s.as_bytes());
        h.update(b",");
    }
    let mut ids: Vec<&str> = event_ids.iter().map(String::as_str).collect();
    ids.sort_unstable();
    ids.dedup();
    let mut h = Sha256::new();
    net(&mut h, EVENT_ID_FORM_TAG);
    net(&mut h, format.name());
    net(&mut h, signal_type);
    net(&mut h, &date.format("%Y-%m-%d").to_string());
    for id in ids {
        net(&mut h, id);
    }
    let digest = h.finalize();
    let hex: String = digest[..12].iter().map(|b| format!("{b:02x}")).collect();
    format!("{}-{date}-{signal_type}-{hex}", format.name())
}

/// Where the followed cases live: read each one (header and signals), store the new signals of a file.
///
/// The follower maps a file for every case, checks the signals against the case in memory
/// ([`Case::append`]), and only when every case took them calls [`CaseStore::store`] for each case, in order.
pub trait CaseStore: std::fmt::Debug + Send {
    /// How many cases are followed.
    fn len(&self) -> usize;
    /// Whether no case is followed.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// The label of case `i` in logs and outcomes (its path, or the service's address and the case's id).
    fn label(&self, i: usize) -> String;
    /// Case `i` as it stands, with all its signals (their `event_ids` say which events are already counted).
    ///
    /// # Errors
    /// [`FollowError::Case`] or [`FollowError::Store`] when it cannot be read.
    fn load(&mut self, i: usize) -> Result<Case, FollowError>;
    /// Store the signals a file brought to case `i`: `batch` is what was mapped (event-derived ids, all of them
    /// checked by `Case::append`), `case` the case with the batch appended, `report` what that append counted.
    /// Returns the counts as the store saw them (a service may have received some already).
    ///
    /// # Errors
    /// [`FollowError::Io`] or [`FollowError::Store`].
    fn store(
        &mut self,
        i: usize,
        case: &Case,
        batch: &[Signal],
        report: pf_core::AppendReport,
    ) -> Result<pf_core::AppendReport, FollowError>;
    /// Files that must never be taken as event files (the case files themselves).
    fn excluded(&self) -> Vec<PathBuf> {
        Vec::new()
    }
}

/// Case files on disk, read and written whole (temporary file + rename).
#[derive(Debug, Clone)]
pub struct CaseFiles {
    /// The case files, in order.
    pub paths: Vec<PathBuf>,
}

impl CaseStore for CaseFiles {
    fn len(&self) -> usize {
        self.paths.len()
    }
    fn label(&self, i: usize) -> String {
        self.paths[i].display().to_string()
    }
    fn load(&mut self, i: usize) -> Result<Case, FollowError> {
        let path = &self.paths[i];
        Case::load(path, &pf_core::V2).map_err(|source| FollowError::Case {
            path: path.clone(),
            source: Box::new(source),
        })
    }
    fn store(
        &mut self,
        i: usize,
        case: &Case,
        _batch: &[Signal],
        report: pf_core::AppendReport,
    ) -> Result<pf_core::AppendReport, FollowError> {
        if report.added > 0 {
            let text = serde_json::to_string_pretty(case).expect("a case always serialises");
            write_atomic(&self.paths[i], (text + "\n").as_bytes())?;
        }
        Ok(report)
    }
    fn excluded(&self) -> Vec<PathBuf> {
        self.paths.clone()
    }
}

/// What one case got from one file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseOutcome {
    /// The case, as its store labels it (the case file's path, or the service's address and the case's id).
    pub case: String,
    /// Rows mapped to a new signal.
    pub rows_matched: u64,
    /// Matched rows whose events were already counted.
    pub already_counted: u64,
    /// Signals added.
    pub added: usize,
    /// Signals already present (same id and content).
    pub unchanged: usize,
}

/// What ingesting one file did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileOutcome {
    /// The file's name.
    pub name: String,
    /// Data rows read.
    pub rows_read: u64,
    /// Bad rows skipped (line numbers and reasons are in the log line of [`FileOutcome::log_line`]).
    pub bad_rows: Vec<crate::BadRow>,
    /// One entry per case, in the order of [`FollowConfig::cases`].
    pub cases: Vec<CaseOutcome>,
}

impl FileOutcome {
    /// The one-line log of a file: its counts, then each case's.
    pub fn log_line(&self) -> String {
        let mut s = format!(
            "{}: {} rows read, {} bad",
            self.name,
            self.rows_read,
            self.bad_rows.len()
        );
        for c in &self.cases {
            s.push_str(&format!(
                "; case {}: {} matched, {} already counted, {} signals added, {} already present",
                c.case, c.rows_matched, c.already_counted, c.added, c.unchanged
            ));
        }
        if !self.bad_rows.is_empty() {
            let lines: Vec<String> = self
                .bad_rows
                .iter()
                .take(20)
                .map(|b| b.line.to_string())
                .collect();
            s.push_str(&format!("; bad rows at lines {}", lines.join(", ")));
        }
        s
    }
}

/// Follows a directory: see the module docs.
#[derive(Debug)]
pub struct Follower {
    config: FollowConfig,
    store: Box<dyn CaseStore>,
    checkpoint: Checkpoint,
    /// Files whose size and modification time were last seen to match the checkpoint (no need to hash again).
    verified: HashMap<String, (u64, Option<SystemTime>)>,
    /// Sizes seen at the previous poll, for the stable-size rule.
    last_sizes: HashMap<String, u64>,
    /// Files that failed, with the size and hash they had: not tried again until they change.
    failed: HashMap<String, (u64, String)>,
    /// The checkpoint and case files, as absolute paths: never taken as event files.
    excluded: Vec<PathBuf>,
}

/// A path with its directory made absolute and canonical (the file itself need not exist).
fn absolute(p: &Path) -> PathBuf {
    let parent = match p.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let parent = std::fs::canonicalize(&parent).unwrap_or(parent);
    match p.file_name() {
        Some(n) => parent.join(n),
        None => parent,
    }
}

fn hex_sha256(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

impl Follower {
    /// A follower of the case files [`FollowConfig::cases`], with the checkpoint read from
    /// [`FollowConfig::checkpoint`] (empty when absent).
    ///
    /// # Errors
    /// As [`Checkpoint::load`].
    pub fn new(config: FollowConfig) -> Result<Follower, FollowError> {
        let files = CaseFiles {
            paths: config.cases.clone(),
        };
        Follower::with_store(config, Box::new(files))
    }

    /// A follower appending to the cases of `store` ([`FollowConfig::cases`] is not used), with the checkpoint
    /// read from [`FollowConfig::checkpoint`] (empty when absent).
    ///
    /// # Errors
    /// As [`Checkpoint::load`].
    pub fn with_store(config: FollowConfig, store: Box<dyn CaseStore>) -> Result<Follower, FollowError> {
        let checkpoint = Checkpoint::load(&config.checkpoint)?;
        let excluded = std::iter::once(config.checkpoint.clone())
            .chain(store.excluded())
            .map(|p| absolute(&p))
            .collect();
        Ok(Follower {
            excluded,
            config,
            store,
            checkpoint,
            verified: HashMap::new(),
            last_sizes: HashMap::new(),
            failed: HashMap::new(),
        })
    }

    /// The checkpoint as it stands.
    pub fn checkpoint(&self) -> &Checkpoint {
        &self.checkpoint
    }

    fn candidate(&self, name: &str, path: &Path) -> bool {
        if name.starts_with('.') || name.ends_with(".tmp") || name.ends_with(".part") {
            return false;
        }
        if self.config.suffix.as_deref().is_some_and(|s| !name.ends_with(s)) {
            return false;
        }
        !self.excluded.contains(&absolute(path))
    }

    /// One pass: ingest every file of the directory not done yet, in name order. With `require_stable`, a file is
    /// taken only when its size is the one seen at the previous pass (it is not being written any more).
    /// Returns each file's outcome or error ([`FollowError::File`], naming it); a file that failed is not tried
    /// again until it changes.
    ///
    /// # Errors
    /// [`FollowError::Io`] when the directory cannot be listed.
    pub fn poll(
        &mut self,
        require_stable: bool,
    ) -> Result<Vec<Result<FileOutcome, FollowError>>, FollowError> {
        let dir = self.config.dir.clone();
        let mut entries: Vec<(String, PathBuf, u64, Option<SystemTime>)> = Vec::new();
        for e in std::fs::read_dir(&dir).map_err(io(&dir))? {
            let e = e.map_err(io(&dir))?;
            let Ok(meta) = e.metadata() else { continue };
            if !meta.is_file() {
                continue;
            }
            let name = e.file_name().to_string_lossy().into_owned();
            let path = e.path();
            if self.candidate(&name, &path) {
                entries.push((name, path, meta.len(), meta.modified().ok()));
            }
        }
        entries.sort_by(|a, b| a.0.cmp(&b.0));
        let mut sizes = HashMap::new();
        let mut out = Vec::new();
        for (name, path, size, mtime) in entries {
            sizes.insert(name.clone(), size);
            if require_stable && self.last_sizes.get(&name) != Some(&size) {
                continue;
            }
            if let Some(done) = self.checkpoint.files.get(&name)
                && done.size == size
                && self.verified.get(&name) == Some(&(size, mtime))
            {
                continue;
            }
            if let Some(r) = self.take(&name, &path, size, mtime) {
                out.push(r);
            }
        }
        self.last_sizes = sizes;
        Ok(out)
    }

    /// Ingest one file unless the checkpoint (or an earlier failure) already covers its content.
    fn take(
        &mut self,
        name: &str,
        path: &Path,
        size: u64,
        mtime: Option<SystemTime>,
    ) -> Option<Result<FileOutcome, FollowError>> {
        self.take_inner(name, path, size, mtime).map(|r| {
            r.map_err(|e| FollowError::File {
                name: name.to_owned(),
                source: Box::new(e),
            })
        })
    }

    fn take_inner(
        &mut self,
        name: &str,
        path: &Path,
        size: u64,
        mtime: Option<SystemTime>,
    ) -> Option<Result<FileOutcome, FollowError>> {
        let bytes = match std::fs::read(path) {
            Ok(b) => b,
            Err(e) => return Some(Err(io(path)(e))),
        };
        let sha = hex_sha256(&bytes);
        let size_read = bytes.len() as u64;
        if let Some(done) = self.checkpoint.files.get(name)
            && done.size == size_read
            && done.sha256 == sha
        {
            self.verified.insert(name.to_owned(), (size, mtime));
            return None;
        }
        if self.failed.get(name) == Some(&(size_read, sha.clone())) {
            return None;
        }
        match self.ingest_bytes(name, path, &bytes) {
            Ok((outcome, done)) => {
                let mut next = self.checkpoint.clone();
                next.files.insert(
                    name.to_owned(),
                    FileDone {
                        size: size_read,
                        sha256: sha,
                        ..done
                    },
                );
                if let Err(e) = next.save(&self.config.checkpoint) {
                    return Some(Err(e));
                }
                self.checkpoint = next;
                self.failed.remove(name);
                if size_read == size {
                    self.verified.insert(name.to_owned(), (size, mtime));
                }
                Some(Ok(outcome))
            }
            Err(e) => {
                self.failed.insert(name.to_owned(), (size_read, sha));
                Some(Err(e))
            }
        }
    }

    /// Map a file's bytes for every case, check the signals against each case, then store them (every case
    /// checked before any is written).
    fn ingest_bytes(
        &mut self,
        name: &str,
        path: &Path,
        bytes: &[u8],
    ) -> Result<(FileOutcome, FileDone), FollowError> {
        let format = self.config.format;
        let prefix = format!("{name}:");
        let mut updated: Vec<(Case, Vec<Signal>, pf_core::AppendReport)> = Vec::new();
        let mut outcome = FileOutcome {
            name: name.to_owned(),
            rows_read: 0,
            bad_rows: Vec::new(),
            cases: Vec::new(),
        };
        for i in 0..self.store.len() {
            let mut case = self.store.load(i)?;
            let counted: HashSet<String> = case
                .signals()
                .iter()
                .filter(|s| s.source.as_deref() == Some(format.name()))
                .flat_map(|s| s.event_ids.iter().cloned())
                .collect();
            let mut opts = IngestOptions::new(format, case.sender.clone(), case.target.clone());
            opts.start = Some(case.start);
            opts.end = Some(case.term_end);
            opts.strict = self.config.strict;
            let extra = Extra {
                counted: Some(&counted),
                line_prefix: &prefix,
            };
            let (report, already) =
                ingest_inner(bytes, &self.config.mapping, &opts, path, &extra).map_err(|source| {
                    FollowError::Events {
                        path: path.into(),
                        source,
                    }
                })?;
            let signals: Vec<Signal> = report
                .signals
                .into_iter()
                .map(|mut s| {
                    s.id = Some(event_signal_id(format, &s.signal_type, s.date, &s.event_ids).into());
                    s
                })
                .collect();
            let appended = case
                .append(signals.iter().cloned(), &pf_core::V2)
                .map_err(|source| FollowError::Case {
                    path: PathBuf::from(self.store.label(i)),
                    source: Box::new(source),
                })?;
            outcome.rows_read = report.rows_read;
            outcome.bad_rows = report.bad_rows;
            outcome.cases.push(CaseOutcome {
                case: self.store.label(i),
                rows_matched: report.rows_matched,
                already_counted: already,
                added: appended.added,
                unchanged: appended.unchanged,
            });
            updated.push((case, signals, appended));
        }
        for (i, (case, batch, report)) in updated.iter().enumerate() {
            let stored = self.store.store(i, case, batch, *report)?;
            outcome.cases[i].added = stored.added;
            outcome.cases[i].unchanged = stored.unchanged;
        }
        let done = FileDone {
            size: 0,
            sha256: String::new(),
            rows_read: outcome.rows_read,
            rows_matched: outcome.cases.iter().map(|c| c.rows_matched).sum(),
            already_counted: outcome.cases.iter().map(|c| c.already_counted).sum(),
            bad_rows: outcome.bad_rows.len() as u64,
            signals_added: outcome.cases.iter().map(|c| c.added as u64).sum(),
        };
        Ok((outcome, done))
    }
}
