//! List endpoints: reading CVAT's list parameters from the query string and writing the
//! `{count, next, previous, results}` page with absolute links.

use actix_web::HttpRequest;
use cvat_error::ApiError;
use cvat_proto::common::ListQuery;
use serde::Serialize;
use std::collections::HashMap;

/// `page`, `page_size`, `filter`, `sort`, `search` and the named equality filters.
pub fn query(params: &HashMap<String, String>, equality: &[&str]) -> Result<ListQuery, ApiError> {
    let (page, page_size) = cvat_list_params::parse_paging(
        params.get("page").map(String::as_str),
        params.get("page_size").map(String::as_str),
    )?;
    let text = |name: &str| params.get(name).cloned().unwrap_or_default();
    Ok(ListQuery {
        page,
        page_size,
        filter: text("filter"),
        sort: text("sort"),
        search: text("search"),
        equals: equality.iter().filter_map(|n| params.get(*n).map(|v| (n.to_string(), v.clone()))).collect(),
    })
}

/// Paging, `filter`, `sort`, `search`, and every other parameter as an equality
/// filter: the backend knows which names its resource accepts and ignores the rest,
/// as CVAT ignores unknown query parameters.
pub fn query_all(params: &HashMap<String, String>) -> Result<ListQuery, ApiError> {
    const NOT_FILTERS: &[&str] = &["page", "page_size", "filter", "sort", "search", "org", "org_id"];
    let names: Vec<&str> = params.keys().map(String::as_str).filter(|n| !NOT_FILTERS.contains(n)).collect();
    query(params, &names)
}

#[derive(Serialize)]
pub struct Page<T> {
    pub count: i64,
    pub next: Option<String>,
    pub previous: Option<String>,
    pub results: Vec<T>,
}

impl<T> Page<T> {
    pub fn new(req: &HttpRequest, query: &ListQuery, count: i64, results: Vec<T>) -> Self {
        let last_page = (count + query.page_size - 1) / query.page_size;
        let next = (query.page < last_page).then(|| page_url(req, query.page + 1));
        let previous = (query.page > 1).then(|| page_url(req, query.page - 1));
        Self { count, next, previous, results }
    }
}

/// The request's own absolute URL with `page` replaced.
fn page_url(req: &HttpRequest, page: i64) -> String {
    let mut pairs: Vec<(String, String)> =
        serde_urlencoded::from_str::<Vec<(String, String)>>(req.query_string()).unwrap_or_default();
    pairs.retain(|(k, _)| k != "page");
    pairs.push(("page".into(), page.to_string()));
    let query = serde_urlencoded::to_string(&pairs).unwrap_or_default();
    format!("{}{}?{query}", base_url(req), req.path())
}

/// The request's base URL (`http://host:port`), for links in bodies.
/// Built from the origin the host check approved ([`crate::host`]); a request that did
/// not pass it (the gateway's own tests) falls back to its `Host`.
pub fn base_url(req: &HttpRequest) -> String {
    use actix_web::HttpMessage;
    let approved = req.extensions().get::<crate::host::Origin>().map(crate::host::Origin::url);
    approved.unwrap_or_else(|| format!("http://{}", req.connection_info().host()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;

    #[test]
    fn links() {
        let req =
            TestRequest::get().uri("/api/users?page=2&search=a+b").insert_header(("Host", "h:1")).to_http_request();
        let query = ListQuery { page: 2, page_size: 10, ..Default::default() };
        let page = Page::new(&req, &query, 25, vec![1]);
        assert_eq!(page.next.as_deref(), Some("http://h:1/api/users?search=a+b&page=3"));
        assert_eq!(page.previous.as_deref(), Some("http://h:1/api/users?search=a+b&page=1"));
        let last = ListQuery { page: 3, page_size: 10, ..Default::default() };
        assert!(Page::new(&req, &last, 25, vec![1]).next.is_none());
    }

    #[test]
    fn parameters() {
        let params: HashMap<String, String> = [("page_size", "5"), ("username", "bob"), ("other", "x")]
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let q = query(&params, &["username"]).unwrap();
        assert_eq!((q.page, q.page_size, q.equals.len()), (1, 5, 1));
        let bad: HashMap<String, String> = [("page_size".to_string(), "0".to_string())].into();
        assert_eq!(query(&bad, &[]).unwrap_err().status_code(), 400);
    }
}
