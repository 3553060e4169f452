//! JSON request bodies: read with a size limit, parsed into an object, and validated field
//! by field so that every problem is reported in CVAT's `{"field": ["message"]}` shape.

use crate::error::HttpError;
use crate::state::AppState;
use actix_web::{dev::Payload, web, FromRequest, HttpRequest};
use cvat_error::{ApiError, ErrorKind, FieldErrors};
use futures_util::StreamExt;
use serde_json::{Map, Value};
use std::future::Future;
use std::pin::Pin;

/// A JSON object body. An empty body counts as `{}`: the client sends
/// `Content-Type: application/json` with no body on several calls.
pub struct JsonBody(pub Map<String, Value>);

fn too_large(limit: usize) -> HttpError {
    HttpError(ApiError::detail(ErrorKind::PayloadTooLarge, format!("Request body is larger than {limit} bytes.")))
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
        Box::pin(async move {
            if declared.is_some_and(|n| n > limit) {
                return Err(too_large(limit));
            }
            let mut bytes = web::BytesMut::new();
            while let Some(chunk) = payload.next().await {
                let chunk =
                    chunk.map_err(|e| HttpError(ApiError::bad_request(format!("Could not read the body: {e}"))))?;
                if bytes.len() + chunk.len() > limit {
                    return Err(too_large(limit));
                }
                bytes.extend_from_slice(&chunk);
            }
            parse(&bytes, &content_type).map(JsonBody).map_err(HttpError)
        })
    }
}

fn parse(bytes: &[u8], content_type: &str) -> Result<Map<String, Value>, ApiError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(Map::new());
    }
    if !content_type.is_empty() && !content_type.contains("json") {
        return Err(ApiError::detail(
            ErrorKind::BadRequest,
            format!("Unsupported media type \"{content_type}\" in request."),
        ));
    }
    match serde_json::from_slice::<Value>(bytes) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(other) => Err(ApiError::field(
            "non_field_errors",
            format!("Invalid data. Expected a dictionary, but got {}.", json_type(&other)),
        )),
        Err(err) => Err(ApiError::bad_request(format!("JSON parse error - {err}"))),
    }
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

/// Reads typed fields out of a body, collecting every error before failing.
pub struct Fields<'a> {
    body: &'a Map<String, Value>,
    pub errors: FieldErrors,
}

impl<'a> Fields<'a> {
    pub fn new(body: &'a JsonBody) -> Self {
        Self { body: &body.0, errors: FieldErrors::default() }
    }

    /// A string that must be present and non-empty.
    pub fn required_str(&mut self, name: &str) -> String {
        match self.body.get(name) {
            None | Some(Value::Null) => {
                self.errors.add(name, "This field is required.");
                String::new()
            }
            Some(Value::String(s)) if s.is_empty() => {
                self.errors.add(name, "This field may not be blank.");
                String::new()
            }
            Some(_) => self.optional_str(name).unwrap_or_default(),
        }
    }

    pub fn optional_str(&mut self, name: &str) -> Option<String> {
        match self.body.get(name)? {
            Value::String(s) => Some(s.clone()),
            _ => {
                self.errors.add(name, "Not a valid string.");
                None
            }
        }
    }

    /// A string or null: `Some(None)` for null.
    pub fn nullable_str(&mut self, name: &str) -> Option<Option<String>> {
        match self.body.get(name)? {
            Value::Null => Some(None),
            _ => self.optional_str(name).map(Some),
        }
    }

    pub fn optional_bool(&mut self, name: &str) -> Option<bool> {
        match self.body.get(name)? {
            Value::Bool(b) => Some(*b),
            _ => {
                self.errors.add(name, "Must be a valid boolean.");
                None
            }
        }
    }

    /// Fails with every collected field error.
    pub fn finish(self) -> Result<(), HttpError> {
        self.errors.finish().map_err(HttpError)
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
        assert_eq!(parse(b"a=b", "application/x-www-form-urlencoded").unwrap_err().status_code(), 400);
    }

    #[test]
    fn fields_collect_errors() {
        let body = JsonBody(serde_json::json!({"name": 3, "flag": "yes", "blank": ""}).as_object().unwrap().clone());
        let mut fields = Fields::new(&body);
        fields.optional_str("name");
        fields.optional_bool("flag");
        fields.required_str("missing");
        fields.required_str("blank");
        let err = fields.finish().unwrap_err().0;
        for key in ["name", "flag", "missing", "blank"] {
            assert!(err.body.get(key).is_some(), "{key}");
        }
    }
}
