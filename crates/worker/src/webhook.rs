//! The webhook pool's work: one delivery posted as CVAT posts it. The body is the
//! payload as Python's `json.dumps` writes it (`", "` and `": "` between items, non-ASCII
//! escaped), and with a secret `X-Signature-256: sha256=<HMAC-SHA256 of the body>`, so a
//! receiver written for CVAT checks it unchanged. The target passes the outgoing-address
//! policy (`cvat-fetch`); what it answers is reported to the task service, which retries.

use crate::TaskApi;
use cvat_fetch::{FetchError, Fetcher};
use cvat_proto::queue::DeliverWebhook;
use cvat_proto::task::{DeliveryId, WebhookDeliveryReport};
use hmac::{Hmac, Mac};
use serde::Serialize;
use serde_json::Value;
use std::io::Write;
use std::time::Instant;

/// The most of a target's answer kept (CVAT keeps up to 1 MB).
const MAX_ANSWER: usize = 1 << 20;

pub async fn deliver(work: DeliverWebhook, fetcher: &Fetcher, task: TaskApi) -> anyhow::Result<()> {
    let id = work.delivery_id;
    let taken = match task.clone().take_webhook_delivery(DeliveryId { id }).await {
        Ok(taken) => taken.into_inner(),
        // Reported already, or its webhook is gone or inactive: nothing to send.
        Err(status) if status.code() == tonic::Code::NotFound => return Ok(()),
        Err(status) => return Err(status.into()),
    };
    let payload: Value = serde_json::from_str(&taken.payload_json)?;
    let body = python_json(&payload);
    let mut headers = vec![("Content-Type", "application/json".to_string())];
    if !taken.secret.is_empty() {
        headers.push(("X-Signature-256", format!("sha256={}", signature(&taken.secret, &body))));
    }
    let started = Instant::now();
    let (status_code, response) =
        match fetcher.post(&taken.target_url, body, &headers, taken.enable_ssl, MAX_ANSWER).await {
            Ok(answer) => (i32::from(answer.status), answer.body),
            // As CVAT records them: 504 when the target took too long, 502 when it could
            // not be reached (a refused address included).
            Err(FetchError::Failed { reason, .. }) if reason.starts_with("timed out") => (504, reason),
            Err(err) => (502, err.to_string()),
        };
    let duration_ms = started.elapsed().as_millis().min(i32::MAX as u128) as i32;
    let report = WebhookDeliveryReport { id, status_code, response, duration_ms };
    task.clone().report_webhook_delivery(report).await?;
    Ok(())
}

/// HMAC-SHA256 of `body` with `secret`, in hex.
pub fn signature(secret: &str, body: &[u8]) -> String {
    // HMAC takes a key of any length: this cannot fail.
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC accepts any key length");
    mac.update(body);
    hex::encode(mac.finalize().into_bytes())
}

/// `value` as Python's `json.dumps(value)` writes it.
pub fn python_json(value: &Value) -> Vec<u8> {
    let mut out = Vec::new();
    let mut serializer = serde_json::Serializer::with_formatter(&mut out, PythonFormatter);
    // Writing a `Value` to a Vec cannot fail.
    let _ = value.serialize(&mut serializer);
    out
}

/// `json.dumps`'s default separators and `ensure_ascii`.
struct PythonFormatter;

impl serde_json::ser::Formatter for PythonFormatter {
    fn begin_array_value<W: ?Sized + Write>(&mut self, writer: &mut W, first: bool) -> std::io::Result<()> {
        if first {
            Ok(())
        } else {
            writer.write_all(b", ")
        }
    }

    fn begin_object_key<W: ?Sized + Write>(&mut self, writer: &mut W, first: bool) -> std::io::Result<()> {
        if first {
            Ok(())
        } else {
            writer.write_all(b", ")
        }
    }

    fn begin_object_value<W: ?Sized + Write>(&mut self, writer: &mut W) -> std::io::Result<()> {
        writer.write_all(b": ")
    }

    fn write_string_fragment<W: ?Sized + Write>(&mut self, writer: &mut W, fragment: &str) -> std::io::Result<()> {
        for c in fragment.chars() {
            if c.is_ascii() {
                writer.write_all(&[c as u8])?;
            } else {
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    write!(writer, "\\u{unit:04x}")?;
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_are_written_as_python_writes_them() {
        // json.dumps({"event": "ping", "n": [1, 2.5, None, True], "name": "Zoë 🚗", "o": {}})
        let value = serde_json::json!({"event": "ping", "n": [1, 2.5, null, true], "name": "Zoë 🚗", "o": {}});
        assert_eq!(
            String::from_utf8(python_json(&value)).unwrap(),
            r#"{"event": "ping", "n": [1, 2.5, null, true], "name": "Zo\u00eb \ud83d\ude97", "o": {}}"#
        );
    }

    #[test]
    fn signatures_are_hmac_sha256() {
        // hmac.new(b"key", b"The quick brown fox jumps over the lazy dog", hashlib.sha256).hexdigest()
        assert_eq!(
            signature("key", b"The quick brown fox jumps over the lazy dog"),
            "f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8"
        );
    }
}
