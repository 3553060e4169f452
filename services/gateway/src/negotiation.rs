//! Content negotiation as CVAT's DRF does it: the API is versioned through the `Accept`
//! header's vendor type (`application/vnd.cvat+json; version=2.0`), JSON answers carry
//! the type that was asked for, a version other than 2.0 is refused (406), and so is an
//! `Accept` that admits nothing this server produces.
//!
//! Decision: `*/*` and a missing `Accept` are answered `application/json` (CVAT answers
//! its vendor type there; every client reads both).

use cvat_error::{ApiError, ErrorKind};

/// The only API version there is.
const VERSION: &str = "2.0";
const VENDOR: &str = "application/vnd.cvat+json";

/// What this server produces besides JSON, as media-range prefixes: frames and previews,
/// chunks (zip, MP4), the docs pages and their assets, the schema, metrics.
const PRODUCED: &[&str] = &[
    "image/",
    "application/zip",
    "video/mp4",
    "text/html",
    "text/css",
    "application/javascript",
    "application/vnd.oai.openapi",
    "application/octet-stream",
    "text/plain",
];

/// What a request's `Accept` admits.
#[derive(Debug, PartialEq, Eq)]
pub struct Wanted {
    /// The `Content-Type` of JSON answers; none when JSON is not acceptable.
    pub json: Option<String>,
}

struct Range {
    essence: String,
    version: Option<String>,
}

fn ranges(accept: &str) -> Vec<Range> {
    accept
        .split(',')
        .filter_map(|item| {
            let mut parts = item.split(';');
            let essence = parts.next()?.trim().to_ascii_lowercase();
            let version = parts
                .filter_map(|p| p.split_once('='))
                .find(|(k, _)| k.trim().eq_ignore_ascii_case("version"))
                .map(|(_, v)| v.trim().trim_matches('"').to_string());
            (!essence.is_empty()).then_some(Range { essence, version })
        })
        .collect()
}

fn admits(range: &str, produced: &str) -> bool {
    match range.strip_suffix("/*") {
        Some("*") => true,
        Some(kind) => produced.starts_with(&format!("{kind}/")),
        // `image/jpeg` is within `image/`; `…openapi+json` within `…openapi`.
        None => range.starts_with(produced),
    }
}

impl Wanted {
    pub fn parse(accept: &str) -> Result<Self, ApiError> {
        let ranges = ranges(accept);
        if ranges.is_empty() {
            return Ok(Self { json: Some("application/json".into()) });
        }
        if ranges.iter().any(|r| r.essence == VENDOR && r.version.as_deref().is_some_and(|v| v != VERSION)) {
            return Err(ApiError::detail(ErrorKind::NotAcceptable, "Invalid version in \"Accept\" header."));
        }
        let json = ranges.iter().find_map(|r| match r.essence.as_str() {
            VENDOR => Some(match &r.version {
                Some(version) => format!("{VENDOR}; version={version}"),
                None => VENDOR.to_string(),
            }),
            "application/json" | "*/*" | "application/*" => Some("application/json".to_string()),
            _ => None,
        });
        if json.is_none() && !ranges.iter().any(|r| PRODUCED.iter().any(|p| admits(&r.essence, p))) {
            return Err(ApiError::detail(ErrorKind::NotAcceptable, "Could not satisfy the request Accept header."));
        }
        Ok(Self { json })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn json(accept: &str) -> Option<String> {
        Wanted::parse(accept).unwrap().json
    }

    fn refused(accept: &str) -> bool {
        Wanted::parse(accept).is_err_and(|e| e.status_code() == 406)
    }

    #[test]
    fn vendor_type_and_versions() {
        assert_eq!(json("").as_deref(), Some("application/json"));
        assert_eq!(json("*/*").as_deref(), Some("application/json"));
        assert_eq!(json("application/json").as_deref(), Some("application/json"));
        assert_eq!(json("application/vnd.cvat+json").as_deref(), Some(VENDOR));
        assert_eq!(
            json("application/vnd.cvat+json; version=2.0").as_deref(),
            Some("application/vnd.cvat+json; version=2.0")
        );
        assert_eq!(json("application/vnd.cvat+json, application/json").as_deref(), Some(VENDOR));
        assert!(refused("application/vnd.cvat+json; version=9.9"));
        assert!(refused("application/xml"));
        // Frames and chunks may be asked for as what they are.
        assert_eq!(json("image/jpeg"), None);
        assert_eq!(json("image/*"), None);
        assert_eq!(json("application/zip"), None);
    }
}
