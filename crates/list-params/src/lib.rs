//! The list parameters of a request as CVAT reads them: `page` and `page_size` (with
//! CVAT's answers to bad values), `filter`, `sort`, `search` and equality filters. What
//! they mean for a resource, and the SQL, is `cvat-listing`'s business; this crate has
//! no database in it, so the gateway can parse lists without linking one.

use cvat_error::{ApiError, ApiResult, ErrorKind};
use std::collections::HashMap;

pub const DEFAULT_PAGE_SIZE: i64 = 10;
pub const MAX_PAGE_SIZE: i64 = 1000;

/// The raw list parameters of a request.
#[derive(Debug, Clone, Default)]
pub struct ListParams {
    pub page: i64,
    pub page_size: i64,
    pub filter: String,
    pub sort: String,
    pub search: String,
    pub equals: HashMap<String, String>,
}

impl From<cvat_proto::common::ListQuery> for ListParams {
    fn from(query: cvat_proto::common::ListQuery) -> Self {
        ListParams {
            page: query.page,
            page_size: query.page_size,
            filter: query.filter,
            sort: query.sort,
            search: query.search,
            equals: query.equals.into_iter().collect(),
        }
    }
}

/// Parses `page` and `page_size` query values (absent = defaults).
pub fn parse_paging(page: Option<&str>, page_size: Option<&str>) -> ApiResult<(i64, i64)> {
    let page = match page {
        None | Some("") => 1,
        Some(raw) => match raw.parse::<i64>() {
            // A page past what any offset can reach does not exist (and must not overflow).
            Ok(n) if (1..=i64::MAX / MAX_PAGE_SIZE).contains(&n) => n,
            _ => return Err(ApiError::detail(ErrorKind::NotFound, "Invalid page.")),
        },
    };
    let page_size = match page_size {
        None | Some("") => DEFAULT_PAGE_SIZE,
        Some(raw) => match raw.parse::<i64>() {
            Ok(n) if (1..=MAX_PAGE_SIZE).contains(&n) => n,
            _ => {
                return Err(ApiError::field(
                    "page_size",
                    format!("A whole number between 1 and {MAX_PAGE_SIZE} is required."),
                ))
            }
        },
    };
    Ok((page, page_size))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_past_any_offset_do_not_exist() {
        assert_eq!(parse_paging(Some("3"), Some("20")).unwrap(), (3, 20));
        for page in ["0", "-1", "x", "9223372036854775807", "9223372036854776"] {
            let err = parse_paging(Some(page), None).unwrap_err();
            assert_eq!(err.status_code(), 404, "{page}");
        }
    }
}
