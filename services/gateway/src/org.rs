//! The organization context of a request, from the `X-Organization` header or the `org` /
//! `org_id` query parameters, with CVAT's rules for combining them. The backend resolves
//! it (404 for an organization that does not exist).

use actix_web::{HttpMessage, HttpRequest};
use cvat_error::{ApiError, ErrorKind};
use cvat_proto::common::{org_context::Selector, OrgContext};
use std::collections::HashMap;

/// CVAT's organization slugs: at most 16 of `[-a-zA-Z0-9_]` (empty: the personal
/// workspace). Anything else names no organization and is refused here, before any
/// backend sees it, without repeating the given text.
fn valid_slug(slug: &str) -> bool {
    slug.len() <= 16 && slug.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

pub fn context(header: Option<&str>, query: &HashMap<String, String>) -> Result<OrgContext, ApiError> {
    if header.into_iter().chain(query.get("org").map(String::as_str)).any(|slug| !valid_slug(slug)) {
        return Err(ApiError::detail(ErrorKind::NotFound, "The organization does not exist."));
    }
    let slug = query.get("org").map(String::as_str);
    let id = query.get("org_id").map(String::as_str);
    let selector = match (header, slug, id) {
        (Some(_), _, Some(_)) | (_, Some(_), Some(_)) => {
            return Err(ApiError::bad_request("You cannot specify both org and org_id (or X-Organization and org_id)."))
        }
        (_, _, Some(id)) => {
            Some(Selector::Id(id.parse().map_err(|_| ApiError::field("org_id", "A valid integer is required."))?))
        }
        (Some(header), Some(slug), None) if header != slug => {
            return Err(ApiError::bad_request(
                "Different organizations in the X-Organization header and the org parameter.",
            ))
        }
        (Some(value), _, None) | (None, Some(value), None) => Some(Selector::Slug(value.to_string())),
        (None, None, None) => None,
    };
    Ok(OrgContext { selector })
}

/// The context of a request as the organization middleware resolved it (an
/// organization by id, the personal workspace, or none).
pub fn of_request(req: &HttpRequest) -> OrgContext {
    req.extensions().get::<OrgContext>().cloned().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn combinations() {
        assert_eq!(context(None, &query(&[])).unwrap().selector, None);
        assert_eq!(context(Some("acme"), &query(&[])).unwrap().selector, Some(Selector::Slug("acme".into())));
        assert_eq!(context(Some(""), &query(&[])).unwrap().selector, Some(Selector::Slug(String::new())));
        assert_eq!(context(None, &query(&[("org_id", "4")])).unwrap().selector, Some(Selector::Id(4)));
        assert_eq!(context(Some("a"), &query(&[("org", "a")])).unwrap().selector, Some(Selector::Slug("a".into())));
        assert!(context(Some("a"), &query(&[("org", "b")])).is_err());
        assert!(context(Some("a"), &query(&[("org_id", "1")])).is_err());
        assert!(context(None, &query(&[("org", "a"), ("org_id", "1")])).is_err());
        assert_eq!(context(None, &query(&[("org_id", "x")])).unwrap_err().status_code(), 400);
        for bad in ["\\*%df", "a b", "seventeen-chars-x", "ünï"] {
            assert_eq!(context(Some(bad), &query(&[])).unwrap_err().status_code(), 404, "{bad}");
            assert_eq!(context(None, &query(&[("org", bad)])).unwrap_err().status_code(), 404, "{bad}");
        }
    }
}
