//! `/api/users`: list, self, retrieve, partial update, destroy.

use super::resource;
use crate::body::JsonBody;
use crate::error::HttpResult;
use crate::identity::Auth;
use crate::listing::{self, Page};
use crate::org;
use crate::routes::on;
use crate::state::AppState;
use actix_web::http::Method;
use actix_web::{web, HttpRequest, HttpResponse};
use cvat_proto::auth::{ListUsersRequest, UpdateUserRequest, User, UserRef};
use serde_json::{json, Value};
use std::collections::HashMap;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/api/users", vec![on(Method::GET, list)]))
        .service(resource("/api/users/self", vec![on(Method::GET, retrieve_self)]))
        .service(resource(
            "/api/users/{id}",
            vec![on(Method::GET, retrieve), on(Method::PATCH, partial_update), on(Method::DELETE, destroy)],
        ));
}

type Query = web::Query<HashMap<String, String>>;

/// CVAT's `BasicUser`.
pub fn basic_user(req: &HttpRequest, id: i64, username: &str, first_name: &str, last_name: &str) -> Value {
    json!({
        "url": format!("{}/api/users/{id}", listing::base_url(req)),
        "id": id,
        "username": username,
        "first_name": first_name,
        "last_name": last_name,
    })
}

/// CVAT's `User` (all fields) or `BasicUser` (what any permitted reader may see).
fn user_json(req: &HttpRequest, user: User, full: bool) -> Value {
    let mut value = basic_user(req, user.id, &user.username, &user.first_name, &user.last_name);
    if full {
        let extra = json!({
            "email": user.email,
            "groups": user.groups,
            "is_staff": user.is_staff,
            "is_superuser": user.is_superuser,
            "is_active": user.is_active,
            "last_login": (!user.last_login.is_empty()).then_some(user.last_login),
            "date_joined": user.date_joined,
            "has_analytics_access": false,
        });
        if let (Value::Object(base), Value::Object(extra)) = (&mut value, extra) {
            base.extend(extra);
        }
    }
    value
}

#[utoipa::path(get, path = "/api/users", operation_id = "users_list", tag = "users", responses((status = 200)))]
pub async fn list(req: HttpRequest, auth: Auth, state: web::Data<AppState>, params: Query) -> HttpResult<HttpResponse> {
    let query = listing::query(&params, &["username", "first_name", "last_name", "is_active"])?;
    let request =
        ListUsersRequest { principal: Some(auth.0), query: Some(query.clone()), org: Some(org::of_request(&req)) };
    let page = state.auth().list_users(request).await?.into_inner();
    let results = page.results.into_iter().map(|u| user_json(&req, u, page.full)).collect();
    Ok(HttpResponse::Ok().json(Page::new(&req, &query, page.count, results)))
}

async fn fetch(req: &HttpRequest, state: &AppState, reference: UserRef) -> HttpResult<HttpResponse> {
    let user = state.auth().get_user(reference).await?.into_inner();
    // GetUser leaves date_joined empty when only the basic fields may be shown.
    let full = !user.date_joined.is_empty();
    Ok(HttpResponse::Ok().json(user_json(req, user, full)))
}

#[utoipa::path(get, path = "/api/users/self", operation_id = "users_retrieve_self", tag = "users",
    responses((status = 200)))]
pub async fn retrieve_self(req: HttpRequest, auth: Auth) -> HttpResult<HttpResponse> {
    let user = auth.0.user.ok_or_else(cvat_error::ApiError::internal)?;
    Ok(HttpResponse::Ok().json(user_json(&req, user, true)))
}

#[utoipa::path(get, path = "/api/users/{id}", operation_id = "users_retrieve", tag = "users",
    responses((status = 200)))]
pub async fn retrieve(
    req: HttpRequest,
    auth: Auth,
    state: web::Data<AppState>,
    id: web::Path<i64>,
) -> HttpResult<HttpResponse> {
    let org = Some(org::of_request(&req));
    fetch(&req, &state, UserRef { principal: Some(auth.0), id: *id, org }).await
}

#[utoipa::path(patch, path = "/api/users/{id}", request_body = cvat_models::PatchedUserRequest, operation_id = "users_partial_update", tag = "users",
    responses((status = 200)))]
pub async fn partial_update(
    req: HttpRequest,
    auth: Auth,
    state: web::Data<AppState>,
    id: web::Path<i64>,
    body: JsonBody,
) -> HttpResult<HttpResponse> {
    let patch_json = Value::Object(body.0).to_string();
    let request = UpdateUserRequest { principal: Some(auth.0), id: *id, patch_json };
    let user = state.auth().update_user(request).await?.into_inner();
    Ok(HttpResponse::Ok().json(user_json(&req, user, true)))
}

#[utoipa::path(delete, path = "/api/users/{id}", operation_id = "users_destroy", tag = "users",
    responses((status = 204)))]
pub async fn destroy(auth: Auth, state: web::Data<AppState>, id: web::Path<i64>) -> HttpResult<HttpResponse> {
    state.auth().delete_user(UserRef { principal: Some(auth.0), id: *id, org: None }).await?;
    Ok(HttpResponse::NoContent().finish())
}
