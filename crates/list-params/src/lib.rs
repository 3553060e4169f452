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
            Ok(n) if n >= 1 => n,
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
