//! The one place where errors become HTTP responses.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse, ResponseError};
use cvat_error::{ApiError, ErrorKind};
use std::fmt;

/// What a 429 tells the client to wait, in seconds.
const RETRY_AFTER_SECONDS: u64 = 5;

/// An [`ApiError`] as an actix response.
#[derive(Debug)]
pub struct HttpError(pub ApiError);

impl fmt::Display for HttpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl ResponseError for HttpError {
    fn status_code(&self) -> StatusCode {
        StatusCode::from_u16(self.0.status_code()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    fn error_response(&self) -> HttpResponse {
        let mut response = HttpResponse::build(self.status_code());
        match self.0.kind {
            ErrorKind::Unauthenticated => {
                response.insert_header(("WWW-Authenticate", "Token"));
            }
            // Clients that back off (agents, the SDK's retries) read when to come back.
            ErrorKind::TooManyRequests => {
                response.insert_header(("Retry-After", RETRY_AFTER_SECONDS.to_string()));
            }
            _ => {}
        }
        response.json(&self.0.body)
    }
}

impl From<ApiError> for HttpError {
    fn from(err: ApiError) -> Self {
        Self(err)
    }
}

impl From<tonic::Status> for HttpError {
    fn from(status: tonic::Status) -> Self {
        if matches!(status.code(), tonic::Code::Internal | tonic::Code::Unknown) {
            tracing::error!(status = %status, "backend error");
        }
        Self(ApiError::from_status(&status))
    }
}

pub type HttpResult<T> = Result<T, HttpError>;

pub async fn not_found(req: HttpRequest) -> HttpResponse {
    tracing::debug!(path = %req.path(), "no route");
    HttpError(ApiError::detail(ErrorKind::NotFound, "Not found.")).error_response()
}

pub async fn method_not_allowed(req: HttpRequest) -> HttpResponse {
    let message = format!("Method \"{}\" not allowed.", req.method());
    HttpError(ApiError::detail(ErrorKind::MethodNotAllowed, message)).error_response()
}

pub fn query_config() -> web::QueryConfig {
    web::QueryConfig::default()
        .error_handler(|err, _| HttpError(ApiError::bad_request(format!("Invalid query string: {err}"))).into())
}

pub fn path_config() -> web::PathConfig {
    web::PathConfig::default().error_handler(|_, _| HttpError(ApiError::not_found()).into())
}
