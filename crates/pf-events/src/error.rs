//! The error type of event ingestion.

use std::path::PathBuf;

/// Errors raised while reading a mapping file or ingesting event data.
///
/// Messages are lowercase with no trailing period and say what was wrong and what was expected.
///
/// Not `#[non_exhaustive]`: only this workspace matches it, and a new variant must break every boundary's
/// exhaustive match at compile time.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The mapping file is malformed: bad TOML, an unknown CAMEO code, role or signal type in a rule.
    #[error("invalid mapping: `{field}`: expected {expected}, found {found}")]
    Mapping {
        /// Where in the mapping file, e.g. `rule[3] (sender_imposes_sanctions).codes`.
        field: String,
        /// The form the field must take.
        expected: String,
        /// What was found instead.
        found: String,
    },
    /// An event row is malformed (only returned in strict mode; otherwise the row is reported in
    /// [`IngestReport::bad_rows`](crate::IngestReport::bad_rows) and skipped).
    #[error("bad event row at line {line}: {reason}")]
    BadRow {
        /// Line (1-based) where the row starts in the input.
        line: u64,
        /// What was wrong with it and what was expected.
        reason: String,
    },
    /// A file could not be read or written.
    #[error("cannot access `{}`: {source}", .path.display())]
    Io {
        /// The file (`<input>` for a reader that is not a file).
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The input as a whole does not have the expected shape (an unknown format name, a CSV header without
    /// the required columns).
    #[error("invalid {what}: expected {expected}, found {found}")]
    Format {
        /// What was being read, e.g. `csv header` or `format name`.
        what: String,
        /// The form it must take.
        expected: String,
        /// What was found instead.
        found: String,
    },
}

impl Error {
    pub(crate) fn mapping(
        field: impl Into<String>,
        expected: impl Into<String>,
        found: impl ToString,
    ) -> Self {
        Error::Mapping {
            field: field.into(),
            expected: expected.into(),
            found: found.to_string(),
        }
    }
}

/// The crate's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
