//! Who is calling. Handlers take [`Auth`] (authentication required) or [`MaybeAuth`]
//! as an argument, so an endpoint cannot forget to authenticate; object-level decisions
//! are then made by the service that owns the object.

use crate::error::HttpError;
use crate::state::AppState;
use actix_web::dev::Payload;
use actix_web::http::Method;
use actix_web::{web, FromRequest, HttpRequest};
use base64::Engine;
use cvat_error::{ApiError, ErrorKind};
use cvat_proto::auth::{credentials::Kind, BasicCredentials, Credentials, Principal, SessionCredentials, SignedUrl};
use std::future::Future;
use std::pin::Pin;

pub const SESSION_COOKIE: &str = "sessionid";
pub const CSRF_COOKIE: &str = "csrftoken";

/// An authenticated caller.
#[derive(Clone)]
pub struct Auth(pub Principal);

/// A caller that may be anonymous.
pub struct MaybeAuth(pub Option<Principal>);

fn is_unsafe(method: &Method) -> bool {
    !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS | Method::TRACE)
}

fn forbidden(message: impl Into<String>) -> ApiError {
    ApiError::detail(ErrorKind::Forbidden, message)
}

/// The query parameter a signed URL carries its signature in.
pub const SIGN_PARAM: &str = "sign";

/// `url` as signatures are made and checked for: absolute, without its `sign`
/// parameter and without a trailing slash (which the gateway trims from paths).
pub fn unsigned(url: &str) -> Option<String> {
    let mut parsed = url::Url::parse(url).ok()?;
    let kept: Vec<(String, String)> = parsed
        .query_pairs()
        .filter(|(name, _)| name != SIGN_PARAM)
        .map(|(name, value)| (name.into_owned(), value.into_owned()))
        .collect();
    if kept.is_empty() {
        parsed.set_query(None);
    } else {
        parsed.query_pairs_mut().clear().extend_pairs(kept);
    }
    let path = parsed.path().to_string();
    if path.len() > 1 && path.ends_with('/') {
        parsed.set_path(path.trim_end_matches('/'));
    }
    Some(parsed.to_string())
}

/// The signature of a signed URL (`?sign=`), with the URL it must have been made for.
fn signature(req: &HttpRequest) -> Option<SignedUrl> {
    let query = url::form_urlencoded::parse(req.query_string().as_bytes());
    let sign = query.into_iter().find(|(name, _)| name == SIGN_PARAM)?.1.into_owned();
    let url = unsigned(&format!("{}{}", crate::listing::base_url(req), req.uri()))?;
    Some(SignedUrl { url, sign })
}

/// The credentials a request carries, by CVAT's precedence: the Authorization header
/// (Bearer, Token, Basic), then the session cookie, then a URL's signature.
pub fn credentials(req: &HttpRequest) -> Result<Option<Credentials>, ApiError> {
    let client_address = req.peer_addr().map(|a| a.ip().to_string()).unwrap_or_default();
    let header = req.headers().get("authorization").and_then(|v| v.to_str().ok()).map(str::trim);
    let kind = match header.and_then(|h| h.split_once(' ')) {
        Some((scheme, value)) if scheme.eq_ignore_ascii_case("bearer") => Kind::Bearer(value.trim().to_string()),
        Some((scheme, value)) if scheme.eq_ignore_ascii_case("token") => Kind::TokenKey(value.trim().to_string()),
        Some((scheme, value)) if scheme.eq_ignore_ascii_case("basic") => Kind::Basic(basic(value.trim())?),
        Some(_) | None if header.is_some() => {
            return Err(ApiError::unauthenticated("Invalid token header. No credentials provided."))
        }
        _ => match (req.cookie(SESSION_COOKIE), signature(req)) {
            (Some(cookie), _) => Kind::Session(session(req, cookie.value())?),
            (None, Some(signed)) => Kind::Signed(signed),
            (None, None) => return Ok(None),
        },
    };
    Ok(Some(Credentials { kind: Some(kind), client_address }))
}

fn basic(encoded: &str) -> Result<BasicCredentials, ApiError> {
    let invalid = || ApiError::unauthenticated("Invalid basic header. Credentials not correctly base64 encoded.");
    let decoded = base64::engine::general_purpose::STANDARD.decode(encoded).map_err(|_| invalid())?;
    let text = String::from_utf8(decoded).map_err(|_| invalid())?;
    let (username, password) = text.split_once(':').ok_or_else(invalid)?;
    Ok(BasicCredentials { username: username.to_string(), password: password.to_string() })
}

fn session(req: &HttpRequest, session_id: &str) -> Result<SessionCredentials, ApiError> {
    let unsafe_method = is_unsafe(req.method());
    if unsafe_method {
        check_origin(req)?;
    }
    Ok(SessionCredentials {
        session_id: session_id.to_string(),
        csrf_cookie: req.cookie(CSRF_COOKIE).map(|c| c.value().to_string()).unwrap_or_default(),
        csrf_header: req.headers().get("x-csrftoken").and_then(|v| v.to_str().ok()).unwrap_or("").to_string(),
        unsafe_method,
    })
}

/// A cookie-authenticated write must come from a page of this server.
fn check_origin(req: &HttpRequest) -> Result<(), ApiError> {
    let Some(origin) = req.headers().get("origin").and_then(|v| v.to_str().ok()) else {
        return Ok(());
    };
    // Scheme and host both count: `https://h` is not the origin of `http://h`.
    let own = crate::listing::base_url(req);
    let same = origin.eq_ignore_ascii_case(&own)
        || default_port(origin).is_some_and(|with_port| with_port.eq_ignore_ascii_case(&own));
    if same {
        Ok(())
    } else {
        Err(forbidden(format!("CSRF Failed: Origin checking failed - {origin} does not match any trusted origins.")))
    }
}

/// `http://host` also matches a request for `host:80` (and `https://host` one for `host:443`).
fn default_port(origin: &str) -> Option<String> {
    let (scheme, _) = origin.split_once("://")?;
    let port = if scheme == "https" { 443 } else { 80 };
    Some(format!("{origin}:{port}"))
}

async fn authenticate(req: HttpRequest) -> Result<Option<Principal>, HttpError> {
    let Some(credentials) = credentials(&req)? else {
        return Ok(None);
    };
    let state = req.app_data::<web::Data<AppState>>().expect("state is configured");
    let principal = state.verified.principal(state.auth(), credentials).await?;
    if principal.read_only && is_unsafe(req.method()) {
        return Err(forbidden("This access token is read-only.").into());
    }
    Ok(Some(principal))
}

impl FromRequest for MaybeAuth {
    type Error = HttpError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, HttpError>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        // Credentials that no longer work (an expired session, a revoked token) make the
        // caller anonymous here, as in Django; a CSRF failure still refuses the request.
        Box::pin(async move {
            match authenticate(req).await {
                Ok(principal) => Ok(MaybeAuth(principal)),
                Err(HttpError(err)) if err.kind == ErrorKind::Unauthenticated => Ok(MaybeAuth(None)),
                Err(err) => Err(err),
            }
        })
    }
}

impl FromRequest for Auth {
    type Error = HttpError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, HttpError>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            authenticate(req)
                .await?
                .map(Auth)
                .ok_or_else(|| ApiError::unauthenticated("Authentication credentials were not provided.").into())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;

    #[test]
    fn authorization_schemes() {
        let req = TestRequest::default().insert_header(("Authorization", "Bearer abc")).to_http_request();
        assert!(matches!(credentials(&req).unwrap().unwrap().kind, Some(Kind::Bearer(t)) if t == "abc"));
        let req = TestRequest::default().insert_header(("Authorization", "Token k")).to_http_request();
        assert!(matches!(credentials(&req).unwrap().unwrap().kind, Some(Kind::TokenKey(t)) if t == "k"));
        let req = TestRequest::default().insert_header(("Authorization", "Basic YWxpY2U6cHc6eA==")).to_http_request();
        match credentials(&req).unwrap().unwrap().kind {
            Some(Kind::Basic(b)) => assert_eq!((b.username.as_str(), b.password.as_str()), ("alice", "pw:x")),
            other => panic!("{other:?}"),
        }
        let req = TestRequest::default().insert_header(("Authorization", "Basic !!")).to_http_request();
        assert_eq!(credentials(&req).unwrap_err().status_code(), 401);
        let req = TestRequest::default().insert_header(("Authorization", "Weird")).to_http_request();
        assert_eq!(credentials(&req).unwrap_err().status_code(), 401);
        assert!(credentials(&TestRequest::default().to_http_request()).unwrap().is_none());
    }

    #[test]
    fn origin_is_checked_on_cookie_writes() {
        let cookie = actix_web::cookie::Cookie::new(SESSION_COOKIE, "s");
        let req = TestRequest::post()
            .insert_header(("Host", "localhost:8080"))
            .insert_header(("Origin", "http://evil.example"))
            .cookie(cookie.clone())
            .to_http_request();
        assert_eq!(credentials(&req).unwrap_err().status_code(), 403);
        let req = TestRequest::post()
            .insert_header(("Host", "localhost:8080"))
            .insert_header(("Origin", "http://localhost:8080"))
            .cookie(cookie)
            .to_http_request();
        assert!(matches!(credentials(&req).unwrap().unwrap().kind, Some(Kind::Session(s)) if s.unsafe_method));
    }
}
