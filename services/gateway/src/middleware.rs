//! Per-request middleware: observability (a span parented on an incoming `traceparent`,
//! Prometheus latency histograms per route) and the organization-context check.

use crate::error::HttpError;
use crate::state::AppState;
use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::Method;
use actix_web::middleware::Next;
use actix_web::web;
use actix_web::HttpMessage;
use actix_web::ResponseError;
use cvat_error::{ApiError, ErrorKind};
use cvat_proto::common::org_context::Selector;
use cvat_proto::common::OrgContext;
use prometheus::{register_histogram_vec, HistogramVec};
use std::collections::HashMap;
use std::sync::LazyLock;
use std::time::Instant;
use tracing::Instrument;

static REQUESTS: LazyLock<HistogramVec> = LazyLock::new(|| {
    register_histogram_vec!(
        "cvat_http_request_duration_seconds",
        "HTTP requests by method, route and status",
        &["method", "route", "status"],
        vec![0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0]
    )
    .expect("metric registers once")
});

/// The headers Django's security and clickjacking middleware put on every CVAT answer:
/// no sniffing of content types, no framing (the docs pages included), no referrer to
/// other sites.
pub fn security_headers() -> actix_web::middleware::DefaultHeaders {
    actix_web::middleware::DefaultHeaders::new()
        .add(("X-Content-Type-Options", "nosniff"))
        .add(("X-Frame-Options", "DENY"))
        .add(("Content-Security-Policy", "frame-ancestors 'none'"))
        .add(("Referrer-Policy", "same-origin"))
        .add(("Cross-Origin-Opener-Policy", "same-origin"))
}

pub async fn observe(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let started = Instant::now();
    let method = req.method().to_string();
    let route = req.match_pattern().unwrap_or_else(|| "unmatched".into());
    let span = tracing::info_span!("http", %method, path = %req.path());
    let headers = req.headers();
    cvat_runtime::propagation::adopt_parent(&span, |key| headers.get(key).and_then(|v| v.to_str().ok()));
    let response = next.call(req).instrument(span).await?;
    let status = response.status().as_u16().to_string();
    REQUESTS.with_label_values(&[&method, &route, &status]).observe(started.elapsed().as_secs_f64());
    Ok(response)
}

/// Content negotiation ([`crate::negotiation`]): a refused `Accept` is answered 406
/// before the handler runs; JSON answers take the type that was asked for.
pub async fn negotiate(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    use actix_web::http::header::{HeaderValue, ACCEPT, CONTENT_TYPE};
    let accept = req.headers().get(ACCEPT).and_then(|v| v.to_str().ok()).unwrap_or("");
    let wanted = match crate::negotiation::Wanted::parse(accept) {
        Ok(wanted) => wanted,
        Err(err) => return Ok(req.error_response(HttpError(err)).map_into_right_body()),
    };
    let mut response = next.call(req).await?;
    let is_json = response.headers().get(CONTENT_TYPE).is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    if is_json {
        match wanted.json.as_deref().map(HeaderValue::from_str) {
            Some(Ok(content_type)) => {
                response.headers_mut().insert(CONTENT_TYPE, content_type);
            }
            // JSON was not asked for (e.g. `Accept: image/jpeg` on a JSON endpoint).
            _ => {
                let refused =
                    ApiError::detail(ErrorKind::NotAcceptable, "Could not satisfy the request Accept header.");
                let (request, _) = response.into_parts();
                let answer = HttpError(refused).error_response();
                return Ok(ServiceResponse::new(request, answer).map_into_right_body());
            }
        }
    }
    Ok(response.map_into_left_body())
}

/// The request's host must be allowed ([`crate::host`]); its origin is kept for the
/// links and checks that need it. Health probes (which name a pod's address) pass.
pub async fn check_host(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    if !matches!(req.path(), "/healthz" | "/readyz") {
        let state = req.app_data::<web::Data<AppState>>().expect("state is configured").clone();
        let headers = req.headers();
        let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_string);
        match state.hosts.origin(req.peer_addr().map(|a| a.ip()), header) {
            Ok(origin) => {
                req.extensions_mut().insert(origin);
            }
            Err(err) => return Ok(req.error_response(HttpError(err)).map_into_right_body()),
        }
    }
    Ok(next.call(req).await?.map_into_left_body())
}

/// Null characters cannot be stored or compared: a path or query parameter holding one
/// is refused at the edge in DRF's words, before anything reaches a service.
pub async fn refuse_null_characters(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(req.query_string()).unwrap_or_default();
    let bad_parameter: Option<String> =
        pairs.into_iter().find(|(k, v)| k.contains('\0') || v.contains('\0')).map(|(k, _)| k);
    let bad_path = percent_encoding::percent_decode_str(req.path()).any(|b| b == 0);
    let refused = match (bad_parameter, bad_path) {
        (Some(name), _) => Some(ApiError::field(&crate::body::shown_name(&name), crate::body::NULL_CHARACTERS)),
        (None, true) => Some(ApiError::bad_request(crate::body::NULL_CHARACTERS)),
        (None, false) => None,
    };
    if let Some(err) = refused {
        return Ok(req.error_response(HttpError(err)).map_into_right_body());
    }
    Ok(next.call(req).await?.map_into_left_body())
}

/// CVAT resolves the organization context on every request: an unknown organization is
/// a 404 and contradictory selectors a 400 whatever the endpoint (the client sends
/// `X-Organization` everywhere once `organization_slug` is set). Requests without a
/// context, or with the empty (personal) one, pass without a lookup.
pub async fn check_organization(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    // A header of other than visible ASCII is no slug: it stands for one that is refused.
    let header = req.headers().get("x-organization").map(|v| v.to_str().unwrap_or("\u{0}"));
    let query: HashMap<String, String> = serde_urlencoded::from_str(req.query_string()).unwrap_or_default();
    let context = match crate::org::context(header, &query) {
        Ok(context) => context,
        Err(err) => return Ok(req.error_response(HttpError(err)).map_into_right_body()),
    };
    // Nobody is asking without credentials: the handler refuses or ignores the context,
    // so an anonymous client never makes the auth service look an organization up.
    let has_credentials =
        req.headers().contains_key("authorization") || req.cookie(crate::identity::SESSION_COOKIE).is_some();
    let needs_lookup = has_credentials
        && (matches!(&context.selector, Some(Selector::Slug(slug)) if !slug.is_empty())
            || matches!(context.selector, Some(Selector::Id(_))));
    let resolved = if needs_lookup {
        let state = req.app_data::<web::Data<AppState>>().expect("state is configured").clone();
        match state.auth().resolve_organization(context).await {
            // Handlers pass the organization on by id (org::of_request).
            Ok(org) => OrgContext { selector: Some(Selector::Id(org.into_inner().id)) },
            Err(status) => return Ok(req.error_response(HttpError::from(status)).map_into_right_body()),
        }
    } else {
        context
    };
    req.extensions_mut().insert(resolved);
    Ok(next.call(req).await?.map_into_left_body())
}

/// A credential-changing request answered by this gateway (a token revoked or edited, a
/// logout, a password or user changed) empties its cache of verified credentials before
/// the answer leaves, so the caller's next request here sees the change; other gateways
/// hear of it from the auth service (`crate::verified`).
pub async fn forget_changed_credentials(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let path = req.path();
    let changes = !matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS)
        && (path.starts_with("/api/auth/") || path.starts_with("/api/users/"));
    let state = changes.then(|| req.app_data::<web::Data<AppState>>().expect("state is configured").clone());
    let response = next.call(req).await?;
    if let Some(state) = state.filter(|_| response.status().is_success()) {
        state.verified.clear();
    }
    Ok(response)
}
