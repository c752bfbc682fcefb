//! Errors of the service and their gRPC statuses, mapped in one place.
//!
//! | error | code |
//! |---|---|
//! | malformed field, unknown signal type, bad date, out-of-range argument, batch over the limit | INVALID_ARGUMENT (field named, also in the `pf-field` metadata) |
//! | unknown case | NOT_FOUND |
//! | signal id (or case id) reused with different content | ALREADY_EXISTS |
//! | store cannot be reached, server shutting down | UNAVAILABLE |
//! | caller's deadline passed | DEADLINE_EXCEEDED |
//! | computation cancelled | CANCELLED |
//! | the server's own model or files are bad, a bug | INTERNAL / FAILED_PRECONDITION |

use pf_proto::ConvertError;
use tonic::{Code, Status};

/// Errors of the storage layer.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// SQLite failed (locked, disk full, I/O error).
    #[error("store error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// The store was closed (the server is shutting down).
    #[error("store closed: the server is shutting down")]
    Closed,
    /// The store file holds a schema this build does not know, or fails its integrity check.
    #[error("store check failed: {0}")]
    Check(String),
    /// A stored record cannot be read back.
    #[error("corrupt record in the store: {0}")]
    Corrupt(String),
}

/// Errors of the service.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServerError {
    /// No case with this id.
    #[error("case `{0}` not found: expected the id of an existing case (see ListCases)")]
    CaseNotFound(String),
    /// A case with this id exists with a different header or signals.
    #[error("case `{0}` already exists with different content: expected a new id or the identical case")]
    CaseExists(String),
    /// A request field is malformed.
    #[error(transparent)]
    Invalid(#[from] ConvertError),
    /// A batch larger than the configured maximum.
    #[error("invalid field `{field}`: expected at most {max} signals in one batch, found {found}")]
    BatchTooLarge {
        /// The field holding the batch.
        field: &'static str,
        /// The configured maximum.
        max: usize,
        /// The batch's size.
        found: usize,
    },
    /// The engine rejected the input or failed.
    #[error(transparent)]
    Core(#[from] pf_core::Error),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The caller's deadline passed.
    #[error("deadline exceeded: the computation did not finish in time")]
    DeadlineExceeded,
    /// Event rows could not be turned into signals.
    #[error("cannot import events: {0}")]
    Import(String),
    /// A bug: a task panicked or was aborted.
    #[error("internal error: {0}")]
    Internal(String),
}

/// The crate's result type.
pub type Result<T, E = ServerError> = std::result::Result<T, E>;

fn with_field(code: Code, message: String, field: Option<&str>) -> Status {
    let mut s = Status::new(code, message);
    if let Some(f) = field
        && let Ok(v) = f.parse()
    {
        s.metadata_mut().insert("pf-field", v);
    }
    s
}

/// The status of an engine error. Exhaustive over the variants this build knows; `pf_core::Error` is
/// `#[non_exhaustive]`, so a variant added later lands in the last arm (INTERNAL) until it is mapped here.
pub fn core_status(e: &pf_core::Error) -> Status {
    use pf_core::Error as E;
    let code = match e {
        E::InvalidSignal { .. }
        | E::UnknownSignalType { .. }
        | E::InvalidCase { .. }
        | E::UnknownOutcome { .. }
        | E::InvalidArgument { .. }
        | E::Parse { .. } => Code::InvalidArgument,
        E::DuplicateSignal { .. } => Code::AlreadyExists,
        // The service's own model is bad: not the caller's fault, and retrying will not help.
        E::InvalidModel { .. } => Code::FailedPrecondition,
        // The service reads no caller-named files; a failure here is the server's.
        E::Io { .. } => Code::Internal,
        // Cancelled work: the caller went away or its deadline passed.
        E::Interrupted => Code::Cancelled,
        // Required outside pf-core (#[non_exhaustive]); a new variant is a server bug until it is mapped above.
        _ => Code::Internal,
    };
    with_field(code, e.to_string(), e.field())
}

impl From<ServerError> for Status {
    fn from(e: ServerError) -> Status {
        match &e {
            ServerError::CaseNotFound(_) => Status::not_found(e.to_string()),
            ServerError::CaseExists(_) => Status::already_exists(e.to_string()),
            ServerError::Invalid(c) => with_field(Code::InvalidArgument, e.to_string(), Some(c.field())),
            ServerError::BatchTooLarge { field, .. } => {
                with_field(Code::InvalidArgument, e.to_string(), Some(field))
            }
            ServerError::Core(c) => core_status(c),
            ServerError::Store(StoreError::Sqlite(_) | StoreError::Closed) => {
                Status::unavailable(e.to_string())
            }
            ServerError::Store(StoreError::Check(_) | StoreError::Corrupt(_)) => {
                Status::data_loss(e.to_string())
            }
            ServerError::DeadlineExceeded => Status::deadline_exceeded(e.to_string()),
            ServerError::Import(_) => Status::invalid_argument(e.to_string()),
            ServerError::Internal(_) => Status::internal(e.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes() {
        let s: Status = ServerError::CaseNotFound("x".into()).into();
        assert_eq!(s.code(), Code::NotFound);
        let s: Status =
            ServerError::Invalid(ConvertError::invalid("signals[0].date", "a date", "\"x\"")).into();
        assert_eq!(s.code(), Code::InvalidArgument);
        assert_eq!(s.metadata().get("pf-field").unwrap(), "signals[0].date");
        assert!(s.message().contains("signals[0].date"));
        let s: Status = ServerError::Store(StoreError::Closed).into();
        assert_eq!(s.code(), Code::Unavailable);
        let dup = pf_core::Error::DuplicateSignal {
            id: "a".into(),
            stored: "x".into(),
            found: "y".into(),
        };
        assert_eq!(Status::from(ServerError::Core(dup)).code(), Code::AlreadyExists);
    }
}
