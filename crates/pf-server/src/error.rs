//! Errors of the service and their gRPC statuses, mapped in one place: [`status`] builds every error status the
//! service sends, with the standard error details (`google.rpc.ErrorInfo`, and `google.rpc.BadRequest` field
//! violations naming the request field by its path, `signals[2].date`) in the `grpc-status-details-bin`
//! trailer. Later changes add a reason here and reuse [`status`].
//!
//! | error | code | ErrorInfo reason |
//! |---|---|---|
//! | malformed field, unknown signal type, bad date, out-of-range argument | INVALID_ARGUMENT | INVALID_FIELD |
//! | batch over the limit | INVALID_ARGUMENT | BATCH_TOO_LARGE |
//! | malformed protobuf | INVALID_ARGUMENT | MALFORMED_REQUEST |
//! | cost or reply size over a configured limit | RESOURCE_EXHAUSTED | LIMIT_EXCEEDED |
//! | no valid bearer token | UNAUTHENTICATED | UNAUTHENTICATED |
//! | token without the method's scope | PERMISSION_DENIED | PERMISSION_DENIED |
//! | unknown case | NOT_FOUND | CASE_NOT_FOUND |
//! | unknown signal id | NOT_FOUND | SIGNAL_NOT_FOUND |
//! | case id reused with different content | ALREADY_EXISTS | CASE_EXISTS |
//! | signal id reused with different content, or retracted | ALREADY_EXISTS | SIGNAL_CONFLICT |
//! | store cannot be reached (database down or unreachable), server shutting down | UNAVAILABLE | STORE_UNAVAILABLE |
//! | PostgreSQL refused a statement | INTERNAL | INTERNAL |
//! | store corrupt | DATA_LOSS | STORE_CORRUPT |
//! | the caller's deadline passed | DEADLINE_EXCEEDED | DEADLINE_EXCEEDED |
//! | computation cancelled (caller gone) | CANCELLED | CANCELLED |
//! | the server's own model is bad | FAILED_PRECONDITION | MODEL_INVALID |
//! | a bug | INTERNAL | INTERNAL |
//!
//! Messages are cut to [`crate::limits::MAX_ERROR_BYTES`] and echoed input to a few dozen characters, so an
//! error never grows with the request.

use std::collections::HashMap;

use pf_proto::ConvertError;
use tonic::{Code, Status};
use tonic_types::{ErrorDetails, StatusExt};

/// The `ErrorInfo.domain` of every error of the service.
pub const ERROR_DOMAIN: &str = "pressureforecast.v1";

/// Errors of the storage layer.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// SQLite failed (locked, disk full, I/O error).
    #[error("store error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// The database cannot be reached (PostgreSQL down, connection lost, pool exhausted).
    #[error("store unavailable: {0}")]
    Unavailable(String),
    /// PostgreSQL refused a statement (not a lost connection).
    #[error("store error: PostgreSQL: {0}")]
    Postgres(String),
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
pub enum ServerError {
    /// No case with this id.
    #[error("case `{0}` not found: expected the id of an existing case (see ListCases)")]
    CaseNotFound(String),
    /// The case has no signal with this id.
    #[error(
        "signal `{signal}` not found in case `{case}`: expected the id of one of its signals (see ListSignals)"
    )]
    SignalNotFound {
        /// The case.
        case: String,
        /// The signal id asked for.
        signal: String,
    },
    /// A case with this id exists with a different header or signals.
    #[error("case `{0}` already exists with different content: expected a new id or the identical case")]
    CaseExists(String),
    /// A signal id that was retracted, reused with different content.
    #[error(
        "invalid field `{field}`: signal `{id}` was retracted: expected a new id or the identical signal"
    )]
    SignalRetracted {
        /// Path of the signal's id in the request.
        field: String,
        /// The id.
        id: String,
    },
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
    /// The engine rejected one field of the request, named by its path (`signals[3].date`).
    #[error("invalid field `{field}`: {source}")]
    CoreField {
        /// Path of the field in the request.
        field: String,
        /// The engine's error (boxed: the variant would otherwise make every `Result` of the crate large).
        source: Box<pf_core::Error>,
    },
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Event rows or a mapping that cannot be turned into signals.
    #[error("invalid field `{field}`: {source}")]
    Import {
        /// The request field (`text` or `mapping`).
        field: &'static str,
        /// The ingestion error.
        source: pf_events::Error,
    },
    /// A request whose estimated cost or reply size is over a configured limit.
    #[error("request too large: {what} would cost {found}, over the server's {limit} of {max}")]
    OverLimit {
        /// The configuration key of the limit (`max_cost`, `max_message_bytes`).
        limit: &'static str,
        /// The limit.
        max: u64,
        /// The estimate.
        found: u64,
        /// What was asked.
        what: String,
    },
    /// No valid bearer token.
    #[error("unauthenticated: {0}")]
    Unauthenticated(String),
    /// A token without the scope the method needs.
    #[error("permission denied: {method} needs the `{scope}` scope, which token `{token}` does not have")]
    PermissionDenied {
        /// The method.
        method: String,
        /// The scope it needs.
        scope: &'static str,
        /// The token's configured name.
        token: String,
    },
    /// The caller's deadline passed before the call finished (answered by [`crate::layer`]).
    #[error("deadline exceeded: the call did not finish within the caller's {0:?}")]
    DeadlineExceeded(std::time::Duration),
    /// A bug: a task panicked or was aborted.
    #[error("internal error: {0}")]
    Internal(String),
}

/// The crate's result type.
pub type Result<T, E = ServerError> = std::result::Result<T, E>;

/// Every error status of the service: `code` and `message`, with a `google.rpc.ErrorInfo` (`reason`, the
/// [`ERROR_DOMAIN`], `metadata`) and, when a request field is at fault, a `google.rpc.BadRequest` violation
/// naming it by its path with `description`.
pub fn status(
    code: Code,
    message: impl Into<String>,
    reason: &str,
    metadata: HashMap<String, String>,
    violation: Option<(&str, String)>,
) -> Status {
    use crate::limits::{MAX_ERROR_BYTES, truncate};
    let mut details = ErrorDetails::new();
    let metadata: HashMap<String, String> = metadata
        .into_iter()
        .map(|(k, v)| (k, truncate(&v, 256)))
        .collect();
    details.set_error_info(reason, ERROR_DOMAIN, metadata);
    if let Some((field, description)) = violation {
        details.add_bad_request_violation(truncate(field, 256), truncate(&description, MAX_ERROR_BYTES / 2));
    }
    Status::with_error_details(code, truncate(&message.into(), MAX_ERROR_BYTES), details)
}

fn meta<const N: usize>(pairs: [(&str, &str); N]) -> HashMap<String, String> {
    pairs
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
}

/// The engine's name of a signal field, as the proto names it.
fn proto_field(core_field: &str) -> &str {
    match core_field {
        "type" => "signal_type",
        other => other,
    }
}

/// The status of an engine error; `field` is the path of the request field it concerns, when known (else the
/// engine's own field name is used). Exhaustive: a new engine error must be mapped here.
pub fn core_status(e: &pf_core::Error, field: Option<&str>) -> Status {
    use pf_core::Error as E;
    let (code, reason) = match e {
        E::InvalidSignal { .. }
        | E::UnknownSignalType { .. }
        | E::InvalidCase { .. }
        | E::UnknownOutcome { .. }
        | E::InvalidArgument { .. }
        | E::Parse { .. } => (Code::InvalidArgument, "INVALID_FIELD"),
        E::DuplicateSignal { .. } => (Code::AlreadyExists, "SIGNAL_CONFLICT"),
        // The service's own model is bad: not the caller's fault, and retrying will not help.
        E::InvalidModel { .. } => (Code::FailedPrecondition, "MODEL_INVALID"),
        // The service reads no caller-named files; a failure here is the server's.
        E::Io { .. } => (Code::Internal, "INTERNAL"),
        // Cancelled work: the caller went away or its deadline passed.
        E::Interrupted => (Code::Cancelled, "CANCELLED"),
    };
    let path = field.or(e.field().map(proto_field));
    let violation = match code {
        Code::InvalidArgument | Code::AlreadyExists => path.map(|p| (p, e.to_string())),
        _ => None,
    };
    let message = match field {
        Some(f) => format!("invalid field `{f}`: {e}"),
        None => e.to_string(),
    };
    status(code, message, reason, HashMap::new(), violation)
}

impl From<ServerError> for Status {
    fn from(e: ServerError) -> Status {
        let message = e.to_string();
        match &e {
            ServerError::CaseNotFound(id) => status(
                Code::NotFound,
                message,
                "CASE_NOT_FOUND",
                meta([("case_id", id)]),
                None,
            ),
            ServerError::SignalNotFound { case, signal } => status(
                Code::NotFound,
                message,
                "SIGNAL_NOT_FOUND",
                meta([("case_id", case), ("signal_id", signal)]),
                None,
            ),
            ServerError::CaseExists(id) => status(
                Code::AlreadyExists,
                message,
                "CASE_EXISTS",
                meta([("case_id", id)]),
                Some((
                    "coercion_case.id",
                    "expected a new id or the identical case".into(),
                )),
            ),
            ServerError::SignalRetracted { field, .. } => status(
                Code::AlreadyExists,
                message,
                "SIGNAL_CONFLICT",
                HashMap::new(),
                Some((
                    field,
                    "expected a new id or the identical signal (this one was retracted)".into(),
                )),
            ),
            ServerError::Invalid(c) => status(
                Code::InvalidArgument,
                message,
                "INVALID_FIELD",
                HashMap::new(),
                Some((c.field(), c.description())),
            ),
            ServerError::BatchTooLarge { field, max, found } => status(
                Code::InvalidArgument,
                message,
                "BATCH_TOO_LARGE",
                meta([("max_batch", &max.to_string())]),
                Some((field, format!("expected at most {max} signals, found {found}"))),
            ),
            ServerError::Core(c) => core_status(c, None),
            ServerError::CoreField { field, source } => core_status(source, Some(field)),
            ServerError::Store(StoreError::Sqlite(_) | StoreError::Closed | StoreError::Unavailable(_)) => {
                status(
                    Code::Unavailable,
                    message,
                    "STORE_UNAVAILABLE",
                    HashMap::new(),
                    None,
                )
            }
            ServerError::Store(StoreError::Postgres(_)) => {
                status(Code::Internal, message, "INTERNAL", HashMap::new(), None)
            }
            ServerError::Store(StoreError::Check(_) | StoreError::Corrupt(_)) => {
                status(Code::DataLoss, message, "STORE_CORRUPT", HashMap::new(), None)
            }
            ServerError::Import { field, source } => status(
                Code::InvalidArgument,
                message.clone(),
                "INVALID_FIELD",
                HashMap::new(),
                Some((field, source.to_string())),
            ),
            ServerError::OverLimit { limit, max, .. } => status(
                Code::ResourceExhausted,
                message,
                "LIMIT_EXCEEDED",
                meta([("limit", limit), ("max", &max.to_string())]),
                None,
            ),
            ServerError::Unauthenticated(_) => status(
                Code::Unauthenticated,
                message,
                "UNAUTHENTICATED",
                HashMap::new(),
                None,
            ),
            ServerError::PermissionDenied { scope, .. } => status(
                Code::PermissionDenied,
                message,
                "PERMISSION_DENIED",
                meta([("scope", scope)]),
                None,
            ),
            ServerError::DeadlineExceeded(_) => status(
                Code::DeadlineExceeded,
                message,
                "DEADLINE_EXCEEDED",
                HashMap::new(),
                None,
            ),
            ServerError::Internal(_) => status(Code::Internal, message, "INTERNAL", HashMap::new(), None),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_and_details() {
        let s: Status = ServerError::CaseNotFound("x".into()).into();
        assert_eq!(s.code(), Code::NotFound);
        assert_eq!(
            s.get_error_details().error_info().unwrap().reason,
            "CASE_NOT_FOUND"
        );
        let s: Status =
            ServerError::Invalid(ConvertError::invalid("signals[0].date", "a date", "\"x\"")).into();
        assert_eq!(s.code(), Code::InvalidArgument);
        let d = s.get_error_details();
        let v = &d.bad_request().unwrap().field_violations;
        assert_eq!(v[0].field, "signals[0].date");
        assert_eq!(d.error_info().unwrap().domain, ERROR_DOMAIN);
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
