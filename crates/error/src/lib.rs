//! The one table of error kinds every service maps its errors into.
//!
//! An [`ApiError`] is a kind plus a body in CVAT's shapes (`{"detail": ...}`, field errors
//! `{"field": ["message"]}`, or a bare list `["message"]`). It travels over gRPC as a
//! status code plus the JSON body, so the gateway rebuilds exactly the error the service
//! raised and renders it to HTTP in one place. Internal errors never carry their cause to
//! the client: log it where it happens, then return [`ApiError::internal`].

use serde_json::{json, Map, Value};
use std::fmt;
use tonic::{Code, Status};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    BadRequest,
    Unauthenticated,
    Forbidden,
    NotFound,
    MethodNotAllowed,
    /// The `Accept` header asks for what the server cannot produce (gateway only).
    NotAcceptable,
    Conflict,
    PayloadTooLarge,
    /// A body of a media type the endpoint does not read (gateway only).
    UnsupportedMediaType,
    TooManyRequests,
    Unavailable,
    Internal,
}

impl ErrorKind {
    pub fn http_status(self) -> u16 {
        match self {
            ErrorKind::BadRequest => 400,
            ErrorKind::Unauthenticated => 401,
            ErrorKind::Forbidden => 403,
            ErrorKind::NotFound => 404,
            ErrorKind::MethodNotAllowed => 405,
            ErrorKind::NotAcceptable => 406,
            ErrorKind::Conflict => 409,
            ErrorKind::PayloadTooLarge => 413,
            ErrorKind::UnsupportedMediaType => 415,
            ErrorKind::TooManyRequests => 429,
            ErrorKind::Unavailable => 503,
            ErrorKind::Internal => 500,
        }
    }

    fn grpc_code(self) -> Code {
        match self {
            ErrorKind::BadRequest => Code::InvalidArgument,
            ErrorKind::Unauthenticated => Code::Unauthenticated,
            ErrorKind::Forbidden => Code::PermissionDenied,
            ErrorKind::NotFound => Code::NotFound,
            ErrorKind::MethodNotAllowed => Code::Unimplemented,
            // Both are decided by the gateway and never cross gRPC.
            ErrorKind::NotAcceptable | ErrorKind::UnsupportedMediaType => Code::InvalidArgument,
            ErrorKind::Conflict => Code::AlreadyExists,
            ErrorKind::PayloadTooLarge => Code::OutOfRange,
            ErrorKind::TooManyRequests => Code::ResourceExhausted,
            ErrorKind::Unavailable => Code::Unavailable,
            ErrorKind::Internal => Code::Internal,
        }
    }

    fn from_grpc_code(code: Code) -> Self {
        match code {
            Code::InvalidArgument | Code::FailedPrecondition => ErrorKind::BadRequest,
            Code::Unauthenticated => ErrorKind::Unauthenticated,
            Code::PermissionDenied => ErrorKind::Forbidden,
            Code::NotFound => ErrorKind::NotFound,
            Code::Unimplemented => ErrorKind::MethodNotAllowed,
            Code::AlreadyExists | Code::Aborted => ErrorKind::Conflict,
            Code::OutOfRange => ErrorKind::PayloadTooLarge,
            Code::ResourceExhausted => ErrorKind::TooManyRequests,
            Code::Unavailable | Code::DeadlineExceeded | Code::Cancelled => ErrorKind::Unavailable,
            _ => ErrorKind::Internal,
        }
    }
}

/// An error as the client will see it.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiError {
    pub kind: ErrorKind,
    pub body: Value,
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}: {}", self.kind, self.body)
    }
}

impl std::error::Error for ApiError {}

pub type ApiResult<T> = Result<T, ApiError>;

/// The longest error body carried whole across gRPC.
const MAX_STATUS_BODY: usize = 8 << 10;

impl ApiError {
    pub fn new(kind: ErrorKind, body: Value) -> Self {
        Self { kind, body }
    }

    /// `{"detail": message}` with the given kind.
    pub fn detail(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self::new(kind, json!({ "detail": message.into() }))
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::detail(ErrorKind::BadRequest, message)
    }

    /// A 400 with a bare list body, as CVAT's view-level validation errors look.
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::BadRequest, json!([message.into()]))
    }

    /// A 400 naming one field: `{"field": ["message"]}`.
    pub fn field(field: &str, message: impl Into<String>) -> Self {
        FieldErrors::default().with(field, message).into_error()
    }

    pub fn unauthenticated(message: impl Into<String>) -> Self {
        Self::detail(ErrorKind::Unauthenticated, message)
    }

    pub fn forbidden() -> Self {
        Self::detail(ErrorKind::Forbidden, "You do not have permission to perform this action.")
    }

    pub fn not_found() -> Self {
        Self::detail(ErrorKind::NotFound, "Not found.")
    }

    pub fn too_many_requests(message: impl Into<String>) -> Self {
        Self::detail(ErrorKind::TooManyRequests, message)
    }

    pub fn unavailable(what: &str) -> Self {
        Self::detail(ErrorKind::Unavailable, format!("{what} is temporarily unavailable, try again later."))
    }

    /// The body never says more than this; the cause belongs in the log.
    pub fn internal() -> Self {
        Self::detail(ErrorKind::Internal, "A server error occurred.")
    }

    pub fn status_code(&self) -> u16 {
        self.kind.http_status()
    }

    /// The error as a gRPC status. Its message travels in an HTTP/2 header, which has a
    /// size limit: a longer body is cut to its start (and said to be cut).
    pub fn to_status(&self) -> Status {
        let body = self.body.to_string();
        if body.len() <= MAX_STATUS_BODY {
            return Status::new(self.kind.grpc_code(), body);
        }
        let cut = (0..=1000).rev().find(|i| body.is_char_boundary(*i)).unwrap_or(0);
        let shortened = json!({ "detail": format!("{}… (the rest of this error is left out)", &body[..cut]) });
        Status::new(self.kind.grpc_code(), shortened.to_string())
    }

    /// Rebuilds the error a service raised. A status that did not come from an
    /// `ApiError` (transport failure, a panic in a handler) becomes unavailable/internal.
    pub fn from_status(status: &Status) -> Self {
        let kind = ErrorKind::from_grpc_code(status.code());
        match serde_json::from_str::<Value>(status.message()) {
            Ok(body @ (Value::Object(_) | Value::Array(_) | Value::String(_))) if kind != ErrorKind::Internal => {
                Self::new(kind, body)
            }
            _ if kind == ErrorKind::Unavailable => Self::unavailable("A backend service"),
            _ if kind == ErrorKind::Internal => Self::internal(),
            _ => Self::detail(kind, status.message()),
        }
    }
}

impl From<ApiError> for Status {
    fn from(err: ApiError) -> Self {
        err.to_status()
    }
}

/// Collects field errors so a request can report every bad field at once.
#[derive(Debug, Default)]
pub struct FieldErrors(Map<String, Value>);

impl FieldErrors {
    pub fn add(&mut self, field: &str, message: impl Into<String>) {
        let entry = self.0.entry(field.to_string()).or_insert_with(|| Value::Array(vec![]));
        if let Value::Array(list) = entry {
            list.push(Value::String(message.into()));
        }
    }

    pub fn with(mut self, field: &str, message: impl Into<String>) -> Self {
        self.add(field, message);
        self
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn into_error(self) -> ApiError {
        ApiError::new(ErrorKind::BadRequest, Value::Object(self.0))
    }

    /// `Ok(())` when nothing was added, else the 400 naming every field.
    pub fn finish(self) -> ApiResult<()> {
        if self.is_empty() {
            Ok(())
        } else {
            Err(self.into_error())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_errors_collect_per_field() {
        let mut errors = FieldErrors::default();
        errors.add("username", "This field is required.");
        errors.add("password", "too short");
        errors.add("password", "too common");
        let err = errors.into_error();
        assert_eq!(err.status_code(), 400);
        assert_eq!(err.body, json!({"username": ["This field is required."], "password": ["too short", "too common"]}));
    }

    #[test]
    fn every_kind_survives_grpc() {
        let kinds = [
            ErrorKind::BadRequest,
            ErrorKind::Unauthenticated,
            ErrorKind::Forbidden,
            ErrorKind::NotFound,
            ErrorKind::MethodNotAllowed,
            ErrorKind::Conflict,
            ErrorKind::PayloadTooLarge,
            ErrorKind::TooManyRequests,
        ];
        for kind in kinds {
            let err = ApiError::detail(kind, "why");
            assert_eq!(ApiError::from_status(&err.to_status()), err, "{kind:?}");
        }
    }

    #[test]
    fn internal_and_foreign_statuses_do_not_leak() {
        let leaked = Status::internal("connection refused at 10.0.0.3:5432");
        assert_eq!(ApiError::from_status(&leaked), ApiError::internal());
        let down = Status::unavailable("tcp connect error");
        assert_eq!(ApiError::from_status(&down).status_code(), 503);
        assert!(!ApiError::from_status(&down).body.to_string().contains("tcp"));
    }

    #[test]
    fn long_bodies_are_cut_to_fit_a_header() {
        let err = ApiError::invalid("x".repeat(100_000));
        let back = ApiError::from_status(&err.to_status());
        assert_eq!(back.status_code(), 400);
        assert!(back.body["detail"].as_str().unwrap().len() < 2000);
    }

    #[test]
    fn string_bodies_are_kept() {
        let err = ApiError::new(ErrorKind::BadRequest, json!("Adding more data is not supported"));
        assert_eq!(ApiError::from_status(&err.to_status()), err);
    }

    #[test]
    fn list_bodies_are_kept() {
        let err = ApiError::invalid("filter: term 'x' is not supported");
        assert_eq!(ApiError::from_status(&err.to_status()).body, json!(["filter: term 'x' is not supported"]));
    }
}
