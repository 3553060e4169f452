//! JSON request bodies: read with a size limit, parsed into an object, and validated field
//! by field so that every problem is reported in CVAT's `{"field": ["message"]}` shape.

use crate::error::HttpError;
use crate::state::AppState;
use actix_web::web::BytesMut;
use actix_web::{dev::Payload, web, FromRequest, HttpRequest};
use cvat_error::{ApiError, ErrorKind};
use futures_util::StreamExt;
use serde_json::{Map, Value};
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

/// A JSON object body. An empty body counts as `{}`: the client sends
/// `Content-Type: application/json` with no body on several calls.
pub struct JsonBody(pub Map<String, Value>);

fn too_large(limit: usize) -> ApiError {
    ApiError::detail(ErrorKind::PayloadTooLarge, format!("Request body is larger than {limit} bytes."))
}

/// The next piece of a body; refused when none arrives for `idle` (a client that stops
/// sending mid-body would otherwise hold its connection and buffers for good).
pub async fn next_piece<S, E>(pieces: &mut S, idle: Duration) -> Result<Option<bytes::Bytes>, ApiError>
where
    S: futures_util::Stream<Item = Result<bytes::Bytes, E>> + Unpin,
    E: std::fmt::Display,
{
    match tokio::time::timeout(idle, pieces.next()).await {
        Err(_) => Err(ApiError::bad_request(format!(
            "The request body stopped arriving: nothing for {} seconds.",
            idle.as_secs()
        ))),
        Ok(None) => Ok(None),
        Ok(Some(piece)) => piece.map(Some).map_err(|e| ApiError::bad_request(format!("Could not read the body: {e}"))),
    }
}

/// How long bodies of this server's requests may pause.
pub fn idle_of(req: &HttpRequest) -> Duration {
    req.app_data::<web::Data<AppState>>().map_or(Duration::from_secs(30), |s| s.body_idle)
}

/// Reads a body (or a part of one) into memory, refusing with `refused` (a 413) as soon
/// as it would pass `limit` bytes: the one bounded read every handler uses.
pub async fn read_capped<S, E>(
    mut pieces: S,
    limit: usize,
    idle: Duration,
    refused: impl Fn() -> ApiError,
) -> Result<BytesMut, ApiError>
where
    S: futures_util::Stream<Item = Result<bytes::Bytes, E>> + Unpin,
    E: std::fmt::Display,
{
    let mut bytes = BytesMut::new();
    while let Some(piece) = next_piece(&mut pieces, idle).await? {
        if bytes.len() + piece.len() > limit {
            return Err(refused());
        }
        bytes.extend_from_slice(&piece);
    }
    Ok(bytes)
}

/// Bytes per part of a body passed on to a backend while it arrives.
const PART_BYTES: usize = 256 << 10;

/// Passes a large body (an annotation save, an agent's result) on to a backend call in
/// parts while it arrives, so the gateway never holds all of it: `part` wraps each
/// piece of about 256 KiB (it is called first for the first part, which names the
/// call), and `call` sends the parts. Refused with 413 past `limit` bytes; a body cut
/// short drops the call, so the backend saves nothing of it.
pub async fn forward_parts<P, T, Fut>(
    req: &HttpRequest,
    payload: web::Payload,
    limit: usize,
    mut part: impl FnMut(Vec<u8>) -> P,
    call: impl FnOnce(futures_util::stream::BoxStream<'static, P>) -> Fut,
) -> Result<T, HttpError>
where
    P: Send + 'static,
    Fut: Future<Output = Result<T, tonic::Status>>,
{
    use futures_util::future::{select, Either};
    let declared =
        req.headers().get("content-length").and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > limit) {
        return Err(HttpError(too_large(limit)));
    }
    let (sender, receiver) = tokio::sync::mpsc::channel::<P>(4);
    let parts = futures_util::stream::unfold(receiver, |mut r| async move { r.recv().await.map(|p| (p, r)) }).boxed();
    let idle = idle_of(req);
    let pump = async move {
        let mut pending = Vec::new();
        let mut total = 0usize;
        let mut payload = payload;
        while let Some(piece) = next_piece(&mut payload, idle).await? {
            total += piece.len();
            if total > limit {
                return Err(too_large(limit));
            }
            pending.extend_from_slice(&piece);
            if pending.len() >= PART_BYTES {
                // A closed channel: the backend already answered (an error).
                if sender.send(part(std::mem::take(&mut pending))).await.is_err() {
                    return Ok(());
                }
            }
        }
        let _ = sender.send(part(pending)).await;
        Ok(())
    };
    let call = call(parts);
    futures_util::pin_mut!(pump, call);
    match select(pump, call).await {
        Either::Left((Ok(()), call)) => Ok(call.await?),
        // Dropping the call cancels it.
        Either::Left((Err(err), _)) => Err(HttpError(err)),
        Either::Right((answer, _)) => Ok(answer?),
    }
}

/// A JSON object body from a payload a handler reads itself (one that also takes
/// multipart forms): the same limit and parsing as [`JsonBody`].
pub async fn read_json(req: &HttpRequest, payload: web::Payload) -> Result<Map<String, Value>, ApiError> {
    let limit = req.app_data::<web::Data<AppState>>().map_or(1 << 20, |s| s.max_json_bytes);
    let content_type = req.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("");
    let bytes = read_capped(payload, limit, idle_of(req), || too_large(limit)).await?;
    parse(&bytes, content_type)
}

impl FromRequest for JsonBody {
    type Error = HttpError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, HttpError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let limit = req.app_data::<web::Data<AppState>>().map_or(1 << 20, |s| s.max_json_bytes);
        let declared =
            req.headers().get("content-length").and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<usize>().ok());
        let content_type = req.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
        let mut payload = payload.take();
        let idle = idle_of(req);
        Box::pin(async move {
            if declared.is_some_and(|n| n > limit) {
                return Err(HttpError(too_large(limit)));
            }
            let bytes = read_capped(&mut payload, limit, idle, || too_large(limit)).await.map_err(HttpError)?;
            parse(&bytes, &content_type).map(JsonBody).map_err(HttpError)
        })
    }
}

fn parse(bytes: &[u8], content_type: &str) -> Result<Map<String, Value>, ApiError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(Map::new());
    }
    if !content_type.is_empty() && !is_json(content_type) {
        let shown: String = content_type.chars().take(100).collect();
        return Err(ApiError::detail(
            ErrorKind::UnsupportedMediaType,
            format!("Unsupported media type \"{shown}\" in request."),
        ));
    }
    match serde_json::from_slice::<Value>(bytes) {
        Ok(Value::Object(map)) => refuse_null_characters(map),
        Ok(other) => Err(ApiError::field(
            "non_field_errors",
            format!("Invalid data. Expected a dictionary, but got {}.", json_type(&other)),
        )),
        Err(err) => Err(ApiError::bad_request(format!("JSON parse error - {err}"))),
    }
}

/// DRF's message for a string holding `\u0000`.
pub const NULL_CHARACTERS: &str = "Null characters are not allowed.";

/// A client's name for a field, as an error may repeat it: short, printable.
pub fn shown_name(name: &str) -> String {
    name.chars().filter(|c| !c.is_control()).take(64).collect()
}

/// Refuses a body with a null character in any string, naming the top-level field.
fn refuse_null_characters(map: Map<String, Value>) -> Result<Map<String, Value>, ApiError> {
    fn holds_null(value: &Value) -> bool {
        match value {
            Value::String(s) => s.contains('\0'),
            Value::Array(items) => items.iter().any(holds_null),
            Value::Object(fields) => fields.iter().any(|(k, v)| k.contains('\0') || holds_null(v)),
            _ => false,
        }
    }
    match map.iter().find(|(k, v)| k.contains('\0') || holds_null(v)) {
        Some((name, _)) => Err(ApiError::field(&shown_name(name), NULL_CHARACTERS)),
        None => Ok(map),
    }
}

/// `application/json` or a `+json` type such as `application/vnd.cvat+json`.
fn is_json(content_type: &str) -> bool {
    let essence = content_type.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    essence == "application/json" || (essence.starts_with("application/") && essence.ends_with("+json"))
}

fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "str",
        Value::Array(_) => "list",
        Value::Object(_) => "dict",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies() {
        assert!(parse(b"", "application/json").unwrap().is_empty());
        assert_eq!(parse(b"{\"a\":1}", "application/json").unwrap()["a"], 1);
        assert_eq!(parse(b"{bad", "application/json").unwrap_err().status_code(), 400);
        assert!(parse(b"[1]", "application/json").unwrap_err().body["non_field_errors"][0]
            .as_str()
            .unwrap()
            .contains("got list"));
        assert_eq!(parse(b"a=b", "application/x-www-form-urlencoded").unwrap_err().status_code(), 415);
        assert_eq!(parse(b"{}", "text/plain").unwrap_err().status_code(), 415);
        assert_eq!(parse(b"{\"a\":1}", "application/vnd.cvat+json; version=2.0").unwrap()["a"], 1);
        let null = parse(br#"{"ok": "x", "name": ["a\u0000b"]}"#, "application/json").unwrap_err();
        assert_eq!(null.body, serde_json::json!({"name": ["Null characters are not allowed."]}));
    }
}
