//! `/api/organizations` and `/api/memberships`.

use super::changes::Reported;
use super::resource;
use super::users::basic_user;
use crate::body::JsonBody;
use crate::error::HttpResult;
use crate::identity::Auth;
use crate::listing::{self, Page};
use crate::routes::on;
use crate::state::AppState;
use actix_web::http::Method;
use actix_web::{web, HttpRequest, HttpResponse};
use cvat_proto::auth::*;
use serde_json::{json, Value};
use std::collections::HashMap;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/api/organizations", vec![on(Method::GET, list), on(Method::POST, create)]))
        .service(resource(
            "/api/organizations/{id}",
            vec![on(Method::GET, retrieve), on(Method::PATCH, partial_update), on(Method::DELETE, destroy)],
        ))
        .service(resource("/api/memberships", vec![on(Method::GET, list_memberships)]))
        .service(resource(
            "/api/memberships/{id}",
            vec![
                on(Method::GET, retrieve_membership),
                on(Method::PATCH, update_membership),
                on(Method::DELETE, destroy_membership),
            ],
        ));
}

type Query = web::Query<HashMap<String, String>>;

/// CVAT's `OrganizationRead`.
fn organization_json(req: &HttpRequest, org: Organization) -> Value {
    let owner = (org.owner_id != 0)
        .then(|| basic_user(req, org.owner_id, &org.owner_username, &org.owner_first_name, &org.owner_last_name));
    // CVAT's UI reads `contact` as an object on every page of organizations: `{}` when
    // none was given, never null.
    let contact = match serde_json::from_str(&org.contact_json) {
        Ok(Value::Object(contact)) => Value::Object(contact),
        _ => Value::Object(Default::default()),
    };
    json!({
        "id": org.id,
        "slug": org.slug,
        "name": org.name,
        "description": org.description,
        "created_date": org.created_date,
        "updated_date": org.updated_date,
        "contact": contact,
        "owner": owner,
    })
}

/// CVAT's `MembershipRead`.
fn membership_json(req: &HttpRequest, m: Membership) -> Value {
    json!({
        "id": m.id,
        "user": basic_user(req, m.user_id, &m.username, &m.first_name, &m.last_name),
        "organization": m.organization_id,
        "is_active": m.is_active,
        "joined_date": (!m.joined_date.is_empty()).then_some(m.joined_date),
        "role": m.role,
        "invitation": (!m.invitation.is_empty()).then_some(m.invitation),
    })
}

#[utoipa::path(get, path = "/api/organizations", operation_id = "organizations_list", tag = "organizations",
    responses((status = 200)))]
pub async fn list(req: HttpRequest, auth: Auth, state: web::Data<AppState>, params: Query) -> HttpResult<HttpResponse> {
    let query = listing::query(&params, &["name", "owner", "slug"])?;
    let request = ListOrganizationsRequest { principal: Some(auth.0), query: Some(query.clone()) };
    let page = state.auth().list_organizations(request).await?.into_inner();
    let results = page.results.into_iter().map(|o| organization_json(&req, o)).collect();
    Ok(HttpResponse::Ok().json(Page::new(&req, &query, page.count, results)))
}

#[utoipa::path(post, path = "/api/organizations", request_body = cvat_models::OrganizationWriteRequest, operation_id = "organizations_create", tag = "organizations",
    responses((status = 201)))]
pub async fn create(
    req: HttpRequest,
    auth: Auth,
    state: web::Data<AppState>,
    body: JsonBody,
) -> HttpResult<HttpResponse> {
    let request = CreateOrganizationRequest { principal: Some(auth.0), body_json: Value::Object(body.0).to_string() };
    let org = state.auth().create_organization(request).await?.into_inner();
    Ok(HttpResponse::Created().json(organization_json(&req, org)))
}

#[utoipa::path(get, path = "/api/organizations/{id}", operation_id = "organizations_retrieve", tag = "organizations",
    responses((status = 200)))]
pub async fn retrieve(
    req: HttpRequest,
    auth: Auth,
    state: web::Data<AppState>,
    id: web::Path<i64>,
) -> HttpResult<HttpResponse> {
    let org = state.auth().get_organization(OrganizationRef { principal: Some(auth.0), id: *id }).await?.into_inner();
    Ok(HttpResponse::Ok().json(organization_json(&req, org)))
}

#[utoipa::path(patch, path = "/api/organizations/{id}", request_body = cvat_models::PatchedOrganizationWriteRequest, operation_id = "organizations_partial_update",
    tag = "organizations", responses((status = 200)))]
pub async fn partial_update(
    req: HttpRequest,
    auth: Auth,
    state: web::Data<AppState>,
    id: web::Path<i64>,
    body: JsonBody,
) -> HttpResult<HttpResponse> {
    let change = Reported { action: "update", resource: "organization", org: *id, id: *id };
    let before = listened_snapshot(&change, &req, &auth, &state).await?;
    let request = UpdateOrganizationRequest {
        principal: Some(auth.0.clone()),
        id: *id,
        body_json: Value::Object(body.0).to_string(),
    };
    let org = organization_json(&req, state.auth().update_organization(request).await?.into_inner());
    change.report(&req, &auth, &state, Some(&org), before.as_ref()).await;
    Ok(HttpResponse::Ok().json(org))
}

fn organization_ref(auth: &Auth, id: i64) -> OrganizationRef {
    OrganizationRef { principal: Some(auth.0.clone()), id }
}

/// The organization `change` is about as it is now, read only when a webhook listens.
async fn listened_snapshot(
    change: &Reported,
    req: &HttpRequest,
    auth: &Auth,
    state: &AppState,
) -> HttpResult<Option<Value>> {
    if !change.listened(req, auth, state).await {
        return Ok(None);
    }
    let org = state.auth().get_organization(organization_ref(auth, change.id)).await?.into_inner();
    Ok(Some(organization_json(req, org)))
}

#[utoipa::path(delete, path = "/api/organizations/{id}", operation_id = "organizations_destroy",
    tag = "organizations", responses((status = 204)))]
pub async fn destroy(
    req: HttpRequest,
    auth: Auth,
    state: web::Data<AppState>,
    id: web::Path<i64>,
) -> HttpResult<HttpResponse> {
    let change = Reported { action: "delete", resource: "organization", org: *id, id: *id };
    let gone = listened_snapshot(&change, &req, &auth, &state).await?;
    state.auth().delete_organization(organization_ref(&auth, *id)).await?;
    if gone.is_some() {
        change.report(&req, &auth, &state, gone.as_ref(), None).await;
    }
    Ok(HttpResponse::NoContent().finish())
}

#[utoipa::path(get, path = "/api/memberships", operation_id = "memberships_list", tag = "memberships",
    responses((status = 200)))]
pub async fn list_memberships(
    req: HttpRequest,
    auth: Auth,
    state: web::Data<AppState>,
    params: Query,
) -> HttpResult<HttpResponse> {
    let query = listing::query(&params, &["user", "role"])?;
    let org = Some(crate::org::of_request(&req));
    let request = ListMembershipsRequest { principal: Some(auth.0), query: Some(query.clone()), org };
    let page = state.auth().list_memberships(request).await?.into_inner();
    let results = page.results.into_iter().map(|m| membership_json(&req, m)).collect();
    Ok(HttpResponse::Ok().json(Page::new(&req, &query, page.count, results)))
}

#[utoipa::path(get, path = "/api/memberships/{id}", operation_id = "memberships_retrieve", tag = "memberships",
    responses((status = 200)))]
pub async fn retrieve_membership(
    req: HttpRequest,
    auth: Auth,
    state: web::Data<AppState>,
    id: web::Path<i64>,
) -> HttpResult<HttpResponse> {
    let membership =
        state.auth().get_membership(MembershipRef { principal: Some(auth.0), id: *id }).await?.into_inner();
    Ok(HttpResponse::Ok().json(membership_json(&req, membership)))
}

#[utoipa::path(patch, path = "/api/memberships/{id}", request_body = crate::requests::PatchedMembershipWriteRequest, operation_id = "memberships_partial_update",
    tag = "memberships", responses((status = 200)))]
pub async fn update_membership(
    req: HttpRequest,
    auth: Auth,
    state: web::Data<AppState>,
    id: web::Path<i64>,
    body: JsonBody,
) -> HttpResult<HttpResponse> {
    let form: crate::requests::PatchedMembershipWriteRequest = cvat_models::parse(&body.0)?;
    let current = state.auth().get_membership(membership_ref(&auth, *id)).await?.into_inner();
    let Some(role) = form.role else {
        // A PATCH that changes nothing answers the membership as it is.
        return Ok(HttpResponse::Ok().json(membership_json(&req, current)));
    };
    let change = Reported { action: "update", resource: "membership", org: current.organization_id, id: *id };
    let before = membership_json(&req, current);
    let request =
        UpdateMembershipRequest { principal: Some(auth.0.clone()), id: *id, role: cvat_models::wire_name(&role) };
    let membership = membership_json(&req, state.auth().update_membership(request).await?.into_inner());
    if change.listened(&req, &auth, &state).await {
        change.report(&req, &auth, &state, Some(&membership), Some(&before)).await;
    }
    Ok(HttpResponse::Ok().json(membership))
}

fn membership_ref(auth: &Auth, id: i64) -> MembershipRef {
    MembershipRef { principal: Some(auth.0.clone()), id }
}

#[utoipa::path(delete, path = "/api/memberships/{id}", operation_id = "memberships_destroy", tag = "memberships",
    responses((status = 204)))]
pub async fn destroy_membership(
    req: HttpRequest,
    auth: Auth,
    state: web::Data<AppState>,
    id: web::Path<i64>,
) -> HttpResult<HttpResponse> {
    let gone = state.auth().get_membership(membership_ref(&auth, *id)).await?.into_inner();
    let change = Reported { action: "delete", resource: "membership", org: gone.organization_id, id: *id };
    state.auth().delete_membership(membership_ref(&auth, *id)).await?;
    if change.listened(&req, &auth, &state).await {
        change.report(&req, &auth, &state, Some(&membership_json(&req, gone)), None).await;
    }
    Ok(HttpResponse::NoContent().finish())
}
