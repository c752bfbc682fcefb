//! The one error type of the engine.
//!
//! Every variant names what was wrong and what was expected, so that adapters (Python, gRPC) can pass the
//! message on unchanged. Messages are lowercase with no trailing period.

use std::path::PathBuf;

/// Errors raised by the engine.
///
/// Not `#[non_exhaustive]`: it is matched only inside this workspace (the Python and gRPC boundaries), and a new
/// variant must break each boundary's exhaustive match at compile time rather than fall into a catch-all arm.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A model file or model parameter is malformed or violates a constraint.
    #[error("invalid model: field `{field}`: expected {expected}, found {found}")]
    InvalidModel {
        /// Dotted path of the offending field, e.g. `transitions[0].matrix[2]`.
        field: String,
        /// The form the field must take.
        expected: String,
        /// What was found instead.
        found: String,
    },
    /// A signal record is malformed or out of range.
    #[error("invalid signal{}: field `{field}`: expected {expected}, found {found}", at(.line, .id))]
    InvalidSignal {
        /// The offending field of the record.
        field: String,
        /// The form the field must take.
        expected: String,
        /// What was found instead.
        found: String,
        /// Line (1-based) of the record in its file, when read from a file.
        line: Option<usize>,
        /// The signal's id, when it has one.
        id: Option<String>,
    },
    /// A signal type that the model does not know.
    #[error("unknown signal type `{name}`{}: expected one of {}", at(.line, &None), .valid.join(", "))]
    UnknownSignalType {
        /// The type that was given.
        name: String,
        /// The types the model knows.
        valid: Vec<String>,
        /// Line (1-based) of the record in its file, when read from a file.
        line: Option<usize>,
    },
    /// A second signal with an id already in the case but different content.
    #[error(
        "duplicate signal id `{id}` with different content: expected the same record as the stored one ({stored}), found {found}"
    )]
    DuplicateSignal {
        /// The repeated id.
        id: String,
        /// A short description of the stored record.
        stored: String,
        /// A short description of the new record.
        found: String,
    },
    /// A case (or episode) header is malformed.
    #[error("invalid case: field `{field}`: expected {expected}, found {found}")]
    InvalidCase {
        /// The offending field.
        field: String,
        /// The form the field must take.
        expected: String,
        /// What was found instead.
        found: String,
    },
    /// An outcome name that the model does not know.
    #[error("unknown outcome `{name}`: expected one of {}", .valid.join(", "))]
    UnknownOutcome {
        /// The outcome that was given.
        name: String,
        /// The outcomes the model knows.
        valid: Vec<String>,
    },
    /// An argument of a computation is out of range (draws, interval level, dates).
    #[error("invalid argument `{field}`: expected {expected}, found {found}")]
    InvalidArgument {
        /// The argument's name.
        field: String,
        /// The form it must take.
        expected: String,
        /// What was found instead.
        found: String,
    },
    /// A file could not be parsed at all (bad TOML, JSON or CSV syntax).
    #[error("cannot parse {what}{}: {message}", at(.line, &None))]
    Parse {
        /// What was being parsed, e.g. `model file models/x.toml`.
        what: String,
        /// Line (1-based), when known.
        line: Option<usize>,
        /// The parser's message.
        message: String,
    },
    /// A file could not be read or written.
    #[error("cannot access `{}`: {source}", .path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// Long work was stopped by the caller (for instance Ctrl-C).
    #[error("interrupted: the computation was cancelled before it finished")]
    Interrupted,
}

fn at(line: &Option<usize>, id: &Option<String>) -> String {
    match (line, id) {
        (Some(l), Some(i)) => format!(" at line {l} (id `{i}`)"),
        (Some(l), None) => format!(" at line {l}"),
        (None, Some(i)) => format!(" `{i}`"),
        (None, None) => String::new(),
    }
}

impl Error {
    pub(crate) fn model(field: impl Into<String>, expected: impl Into<String>, found: impl ToString) -> Self {
        Error::InvalidModel {
            field: field.into(),
            expected: expected.into(),
            found: found.to_string(),
        }
    }
    pub(crate) fn signal(
        field: impl Into<String>,
        expected: impl Into<String>,
        found: impl ToString,
    ) -> Self {
        Error::InvalidSignal {
            field: field.into(),
            expected: expected.into(),
            found: found.to_string(),
            line: None,
            id: None,
        }
    }
    pub(crate) fn case(field: impl Into<String>, expected: impl Into<String>, found: impl ToString) -> Self {
        Error::InvalidCase {
            field: field.into(),
            expected: expected.into(),
            found: found.to_string(),
        }
    }
    pub(crate) fn argument(
        field: impl Into<String>,
        expected: impl Into<String>,
        found: impl ToString,
    ) -> Self {
        Error::InvalidArgument {
            field: field.into(),
            expected: expected.into(),
            found: found.to_string(),
        }
    }

    /// The same complaint about a signal's field: an [`Error::InvalidArgument`] becomes an
    /// [`Error::InvalidSignal`] (other variants are unchanged).
    pub(crate) fn into_signal(self) -> Self {
        match self {
            Error::InvalidArgument {
                field,
                expected,
                found,
            } => Error::InvalidSignal {
                field,
                expected,
                found,
                line: None,
                id: None,
            },
            other => other,
        }
    }

    /// The same complaint about a case's field: an [`Error::InvalidArgument`] becomes an
    /// [`Error::InvalidCase`] (other variants are unchanged).
    pub(crate) fn into_case(self) -> Self {
        match self {
            Error::InvalidArgument {
                field,
                expected,
                found,
            } => Error::InvalidCase {
                field,
                expected,
                found,
            },
            other => other,
        }
    }

    /// Attach a file line number to a signal error (no effect on other variants).
    #[must_use]
    pub fn at_line(mut self, n: usize) -> Self {
        match &mut self {
            Error::InvalidSignal { line, .. }
            | Error::UnknownSignalType { line, .. }
            | Error::Parse { line, .. } => *line = Some(n),
            _ => {}
        }
        self
    }

    /// Attach a signal id to a signal error (no effect on other variants).
    #[must_use]
    pub fn with_id(mut self, signal_id: Option<&str>) -> Self {
        if let Error::InvalidSignal { id, .. } = &mut self {
            *id = signal_id.map(str::to_owned);
        }
        self
    }

    /// The name of the offending field, when the error has one.
    pub fn field(&self) -> Option<&str> {
        match self {
            Error::InvalidModel { field, .. }
            | Error::InvalidSignal { field, .. }
            | Error::InvalidCase { field, .. }
            | Error::InvalidArgument { field, .. } => Some(field),
            Error::UnknownSignalType { .. } => Some("type"),
            Error::DuplicateSignal { .. } => Some("id"),
            Error::UnknownOutcome { .. } => Some("outcome"),
            Error::Parse { .. } | Error::Io { .. } | Error::Interrupted => None,
        }
    }
}

/// The crate's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
