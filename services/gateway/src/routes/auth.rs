//! `/api/auth/*`: login and logout, registration, passwords, access tokens, rules.

use super::resource;
use crate::body::JsonBody;
use crate::error::HttpResult;
use crate::identity::{Auth, MaybeAuth, CSRF_COOKIE, SESSION_COOKIE};
use crate::listing::{self, Page};
use crate::requests::{
    AccessTokenWriteRequest, LoginSerializerExRequest, PasswordChangeRequest, PasswordResetConfirmRequest,
    PasswordResetSerializerExRequest, PatchedAccessTokenWriteRequest, RegisterSerializerExRequest,
};
use crate::routes::on;
use crate::state::AppState;
use actix_web::http::Method;
use actix_web::{web, HttpRequest, HttpResponse};
use cvat_error::ApiError;
use cvat_proto::auth::*;
use serde::Serialize;
use serde_json::json;
use std::collections::HashMap;
use utoipa::ToSchema;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/api/auth/login", vec![on(Method::POST, login)]))
        .service(resource("/api/auth/logout", vec![on(Method::POST, logout)]))
        .service(resource("/api/auth/register", vec![on(Method::POST, register)]))
        .service(resource("/api/auth/password/change", vec![on(Method::POST, change_password)]))
        .service(resource("/api/auth/password/reset", vec![on(Method::POST, reset_password)]))
        .service(resource("/api/auth/password/reset/confirm", vec![on(Method::POST, confirm_reset)]))
        .service(resource("/api/auth/rules", vec![on(Method::GET, rules)]))
        .service(resource("/api/auth/signing", vec![on(Method::POST, signing)]))
        .service(resource(
            "/api/auth/access_tokens",
            vec![on(Method::GET, list_tokens), on(Method::POST, create_token)],
        ))
        .service(resource("/api/auth/access_tokens/self", vec![on(Method::GET, token_self)]))
        .service(resource(
            "/api/auth/access_tokens/{id}",
            vec![on(Method::GET, get_token), on(Method::PATCH, update_token), on(Method::DELETE, delete_token)],
        ));
}

#[derive(Serialize, ToSchema)]
pub struct Token {
    key: String,
}

#[derive(Serialize, ToSchema)]
pub struct RestAuthDetail {
    detail: &'static str,
}

fn detail(message: &'static str) -> HttpResponse {
    HttpResponse::Ok().json(RestAuthDetail { detail: message })
}

fn client_address(req: &HttpRequest) -> String {
    req.peer_addr().map(|a| a.ip().to_string()).unwrap_or_default()
}

/// Cookies in the form the client's joined-header parse accepts: each ends with a
/// `name=value` attribute, never with a bare flag.
fn session_cookies(session_id: &str, csrf: &str, max_age: i64) -> [String; 2] {
    [
        format!("{CSRF_COOKIE}={csrf}; Max-Age={max_age}; Path=/; SameSite=Lax"),
        format!("{SESSION_COOKIE}={session_id}; HttpOnly; Max-Age={max_age}; Path=/; SameSite=Lax"),
    ]
}

#[utoipa::path(post, path = "/api/auth/login", request_body = crate::requests::LoginSerializerExRequest, operation_id = "auth_create_login", tag = "auth",
    responses((status = 200, body = Token)))]
pub async fn login(req: HttpRequest, state: web::Data<AppState>, body: JsonBody) -> HttpResult<HttpResponse> {
    let login: LoginSerializerExRequest = cvat_models::parse(&body.0)?;
    let request = LoginRequest {
        username: login.username.unwrap_or_default(),
        email: login.email.unwrap_or_default(),
        password: login.password,
        client_address: client_address(&req),
    };
    let session = state.auth().login(request).await?.into_inner();
    let mut response = HttpResponse::Ok();
    for cookie in session_cookies(&session.session_id, &session.csrf_token, session.session_max_age_seconds) {
        response.append_header(("Set-Cookie", cookie));
    }
    Ok(response.json(Token { key: session.key }))
}

#[utoipa::path(post, path = "/api/auth/logout", operation_id = "auth_create_logout", tag = "auth",
    responses((status = 200, body = RestAuthDetail)))]
pub async fn logout(auth: MaybeAuth, state: web::Data<AppState>) -> HttpResult<HttpResponse> {
    if let Some(principal) = auth.0 {
        state.auth().logout(LogoutRequest { principal: Some(principal) }).await?;
    }
    let mut response = HttpResponse::Ok();
    for cookie in session_cookies("", "", 0) {
        response.append_header(("Set-Cookie", cookie));
    }
    Ok(response.json(RestAuthDetail { detail: "Successfully logged out." }))
}

#[derive(Serialize, ToSchema)]
pub struct RegisterSerializerEx {
    username: String,
    email: String,
    first_name: String,
    last_name: String,
    email_verification_required: bool,
    key: Option<String>,
}

#[utoipa::path(post, path = "/api/auth/register", request_body = crate::requests::RegisterSerializerExRequest, operation_id = "auth_create_register", tag = "auth",
    responses((status = 201, body = RegisterSerializerEx)))]
pub async fn register(state: web::Data<AppState>, body: JsonBody) -> HttpResult<HttpResponse> {
    let form: RegisterSerializerExRequest = cvat_models::parse(&body.0)?;
    let request = RegisterRequest {
        username: form.username,
        password1: form.password1,
        password2: form.password2,
        email: form.email.unwrap_or_default(),
        first_name: form.first_name.unwrap_or_default(),
        last_name: form.last_name.unwrap_or_default(),
    };
    let user = state.auth().register(request).await?.into_inner();
    Ok(HttpResponse::Created().json(RegisterSerializerEx {
        username: user.username,
        email: user.email,
        first_name: user.first_name,
        last_name: user.last_name,
        email_verification_required: false,
        key: None,
    }))
}

#[utoipa::path(post, path = "/api/auth/password/change", request_body = crate::requests::PasswordChangeRequest, operation_id = "auth_create_password_change", tag = "auth",
    responses((status = 200, body = RestAuthDetail)))]
pub async fn change_password(auth: Auth, state: web::Data<AppState>, body: JsonBody) -> HttpResult<HttpResponse> {
    let form: PasswordChangeRequest = cvat_models::parse(&body.0)?;
    let request = ChangePasswordRequest {
        principal: Some(auth.0),
        old_password: form.old_password,
        new_password1: form.new_password1,
        new_password2: form.new_password2,
    };
    state.auth().change_password(request).await?;
    Ok(detail("New password has been saved."))
}

#[utoipa::path(post, path = "/api/auth/password/reset", request_body = crate::requests::PasswordResetSerializerExRequest, operation_id = "auth_create_password_reset", tag = "auth",
    responses((status = 200, body = RestAuthDetail)))]
pub async fn reset_password(state: web::Data<AppState>, body: JsonBody) -> HttpResult<HttpResponse> {
    let PasswordResetSerializerExRequest { email } = cvat_models::parse(&body.0)?;
    state.auth().request_password_reset(PasswordResetRequest { email }).await?;
    Ok(detail("Password reset e-mail has been sent."))
}

#[utoipa::path(post, path = "/api/auth/password/reset/confirm", request_body = crate::requests::PasswordResetConfirmRequest, operation_id = "auth_create_password_reset_confirm",
    tag = "auth", responses((status = 200, body = RestAuthDetail)))]
pub async fn confirm_reset(state: web::Data<AppState>, body: JsonBody) -> HttpResult<HttpResponse> {
    let form: PasswordResetConfirmRequest = cvat_models::parse(&body.0)?;
    let request = PasswordResetConfirm {
        uid: form.uid,
        token: form.token,
        new_password1: form.new_password1,
        new_password2: form.new_password2,
    };
    state.auth().confirm_password_reset(request).await?;
    Ok(detail("Password has been reset with the new password."))
}

/// The permission rules in force, as data (CVAT serves its OPA bundle here; ours are
/// compiled into the services, so this describes them).
#[utoipa::path(get, path = "/api/auth/rules", operation_id = "auth_retrieve_rules", tag = "auth",
    responses((status = 200)))]
pub async fn rules() -> HttpResponse {
    HttpResponse::Ok().json(json!({
        "users": {
            "list": "admins: all users; inside an organization: its members; otherwise: yourself",
            "view": "yourself; admins; members of the organization in context",
            "update": "yourself (username, first_name, last_name); admins (every field)",
            "delete": "yourself; admins",
        },
        "access_tokens": {"all": "the owner only; read-only tokens may not manage tokens or write anything"},
        "trace_probe": {"all": "admins"},
    }))
}

#[derive(Serialize, ToSchema)]
pub struct AccessTokenRead {
    id: i64,
    name: String,
    created_date: String,
    updated_date: String,
    expiry_date: Option<String>,
    last_used_date: Option<String>,
    read_only: bool,
    owner: cvat_models::BasicUser,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    value: Option<String>,
}

fn non_empty(value: String) -> Option<String> {
    (!value.is_empty()).then_some(value)
}

fn token_read(req: &HttpRequest, token: AccessToken) -> AccessTokenRead {
    AccessTokenRead {
        id: token.id,
        name: token.name,
        created_date: token.created_date,
        updated_date: token.updated_date,
        expiry_date: non_empty(token.expiry_date),
        last_used_date: non_empty(token.last_used_date),
        read_only: token.read_only,
        owner: cvat_models::BasicUser {
            url: format!("{}/api/users/{}", listing::base_url(req), token.owner_id),
            id: token.owner_id,
            username: token.owner_username,
            first_name: String::new(),
            last_name: String::new(),
        },
        value: non_empty(token.value),
    }
}

#[utoipa::path(post, path = "/api/auth/access_tokens", request_body = crate::requests::AccessTokenWriteRequest, operation_id = "auth_create_access_tokens", tag = "auth",
    responses((status = 201, body = AccessTokenRead)))]
pub async fn create_token(
    req: HttpRequest,
    auth: Auth,
    state: web::Data<AppState>,
    body: JsonBody,
) -> HttpResult<HttpResponse> {
    let form: AccessTokenWriteRequest = cvat_models::parse(&body.0)?;
    let request = CreateAccessTokenRequest {
        principal: Some(auth.0),
        name: form.name,
        // No date (absent or null) is no expiry, which the auth service reads as "".
        expiry_date: form.expiry_date.unwrap_or_default(),
        // CVAT makes tokens read-only unless asked otherwise.
        read_only: form.read_only.unwrap_or(true),
    };
    let token = state.auth().create_access_token(request).await?.into_inner();
    Ok(HttpResponse::Created().json(token_read(&req, token)))
}

#[utoipa::path(get, path = "/api/auth/access_tokens", operation_id = "auth_list_access_tokens", tag = "auth",
    responses((status = 200)))]
pub async fn list_tokens(
    req: HttpRequest,
    auth: Auth,
    state: web::Data<AppState>,
    params: web::Query<HashMap<String, String>>,
) -> HttpResult<HttpResponse> {
    let query = listing::query(&params, &["name", "read_only"])?;
    let request = ListAccessTokensRequest { principal: Some(auth.0), query: Some(query.clone()) };
    let page = state.auth().list_access_tokens(request).await?.into_inner();
    let results = page.results.into_iter().map(|t| token_read(&req, t)).collect();
    Ok(HttpResponse::Ok().json(Page::new(&req, &query, page.count, results)))
}

async fn fetch_token(req: &HttpRequest, state: &AppState, reference: AccessTokenRef) -> HttpResult<HttpResponse> {
    let token = state.auth().get_access_token(reference).await?.into_inner();
    Ok(HttpResponse::Ok().json(token_read(req, token)))
}

#[utoipa::path(get, path = "/api/auth/access_tokens/self", operation_id = "auth_retrieve_access_tokens_self",
    tag = "auth", responses((status = 200, body = AccessTokenRead)))]
pub async fn token_self(req: HttpRequest, auth: Auth, state: web::Data<AppState>) -> HttpResult<HttpResponse> {
    fetch_token(&req, &state, AccessTokenRef { principal: Some(auth.0), id: 0, self_: true }).await
}

#[utoipa::path(get, path = "/api/auth/access_tokens/{id}", operation_id = "auth_retrieve_access_tokens",
    tag = "auth", responses((status = 200, body = AccessTokenRead)))]
pub async fn get_token(
    req: HttpRequest,
    auth: Auth,
    state: web::Data<AppState>,
    id: web::Path<i64>,
) -> HttpResult<HttpResponse> {
    fetch_token(&req, &state, AccessTokenRef { principal: Some(auth.0), id: *id, self_: false }).await
}

#[utoipa::path(patch, path = "/api/auth/access_tokens/{id}", request_body = crate::requests::PatchedAccessTokenWriteRequest, operation_id = "auth_partial_update_access_tokens",
    tag = "auth", responses((status = 200, body = AccessTokenRead)))]
pub async fn update_token(
    req: HttpRequest,
    auth: Auth,
    state: web::Data<AppState>,
    id: web::Path<i64>,
    body: JsonBody,
) -> HttpResult<HttpResponse> {
    let form: PatchedAccessTokenWriteRequest = cvat_models::parse(&body.0)?;
    let request = UpdateAccessTokenRequest {
        principal: Some(auth.0),
        id: *id,
        name: form.name,
        // Absent: unchanged (`None`); null: no expiry (`Some("")`).
        expiry_date: form.expiry_date.map(Option::unwrap_or_default),
        read_only: form.read_only,
    };
    let token = state.auth().update_access_token(request).await?.into_inner();
    Ok(HttpResponse::Ok().json(token_read(&req, token)))
}

#[utoipa::path(delete, path = "/api/auth/access_tokens/{id}", operation_id = "auth_destroy_access_tokens",
    tag = "auth", responses((status = 204)))]
pub async fn delete_token(auth: Auth, state: web::Data<AppState>, id: web::Path<i64>) -> HttpResult<HttpResponse> {
    let reference = AccessTokenRef { principal: Some(auth.0), id: *id, self_: false };
    state.auth().delete_access_token(reference).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// `{"url": …}`: the URL (absolute, or a path of this server) with a signature that
/// lets it be read without other credentials for a short while (`sign=`).
#[utoipa::path(post, path = "/api/auth/signing", operation_id = "auth_create_signing", tag = "auth",
    request_body = crate::requests::SigningRequest,
    responses((status = 200, description = "The signed URL", body = String, content_type = "application/json")))]
pub async fn signing(
    req: HttpRequest,
    auth: Auth,
    state: web::Data<AppState>,
    body: JsonBody,
) -> HttpResult<HttpResponse> {
    let form: crate::requests::SigningRequest = cvat_models::parse(&body.0)?;
    let base = crate::listing::base_url(&req);
    let absolute = if form.url.starts_with('/') { format!("{base}{}", form.url) } else { form.url };
    let url = crate::identity::unsigned(&absolute)
        .filter(|u| u.starts_with(&format!("{base}/")))
        .ok_or_else(|| ApiError::field("url", "A URL of this server is expected."))?;
    let signed = state.auth().sign_url(SignUrlRequest { principal: Some(auth.0), url }).await?.into_inner();
    let separator = if signed.url.contains('?') { '&' } else { '?' };
    Ok(HttpResponse::Ok().json(format!("{}{separator}{}={}", signed.url, crate::identity::SIGN_PARAM, signed.sign)))
}
