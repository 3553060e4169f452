//! `/api/invitations`: invite by e-mail or username, accept, decline, resend, withdraw.

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
    cfg.service(resource("/api/invitations", vec![on(Method::GET, list), on(Method::POST, create)]))
        .service(resource(
            "/api/invitations/{key}",
            vec![on(Method::GET, retrieve), on(Method::PATCH, partial_update), on(Method::DELETE, destroy)],
        ))
        .service(resource("/api/invitations/{key}/accept", vec![on(Method::POST, accept)]))
        .service(resource("/api/invitations/{key}/decline", vec![on(Method::POST, decline)]))
        .service(resource("/api/invitations/{key}/resend", vec![on(Method::POST, resend)]));
}

type Query = web::Query<HashMap<String, String>>;

/// CVAT's `InvitationRead`.
fn invitation_json(req: &HttpRequest, i: Invitation) -> Value {
    let owner = (i.owner_id != 0).then(|| basic_user(req, i.owner_id, &i.owner_username, "", ""));
    json!({
        "key": i.key,
        "created_date": i.created_date,
        "expired": i.expired,
        "accepted": i.accepted,
        "role": i.role,
        "owner": owner,
        "user": basic_user(req, i.user_id, &i.username, &i.first_name, &i.last_name),
        "organization": i.organization_id,
        "organization_info": {"id": i.organization_id, "slug": i.organization_slug},
    })
}

fn reference(auth: Auth, key: web::Path<String>) -> InvitationRef {
    InvitationRef { principal: Some(auth.0), key: key.into_inner() }
}

#[utoipa::path(get, path = "/api/invitations", operation_id = "invitations_list", tag = "invitations",
    responses((status = 200)))]
pub async fn list(req: HttpRequest, auth: Auth, state: web::Data<AppState>, params: Query) -> HttpResult<HttpResponse> {
    let query = listing::query(&params, &["owner", "accepted", "user_id"])?;
    let org = Some(crate::org::of_request(&req));
    let request = ListInvitationsRequest { principal: Some(auth.0), query: Some(query.clone()), org };
    let page = state.auth().list_invitations(request).await?.into_inner();
    let results = page.results.into_iter().map(|i| invitation_json(&req, i)).collect();
    Ok(HttpResponse::Ok().json(Page::new(&req, &query, page.count, results)))
}

#[utoipa::path(post, path = "/api/invitations", request_body = crate::requests::InvitationWriteRequest, operation_id = "invitations_create", tag = "invitations",
    responses((status = 201)))]
pub async fn create(
    req: HttpRequest,
    auth: Auth,
    state: web::Data<AppState>,
    body: JsonBody,
) -> HttpResult<HttpResponse> {
    let form: crate::requests::InvitationWriteRequest = cvat_models::parse(&body.0)?;
    let (email, role) = (form.email, cvat_models::wire_name(&form.role));
    let org = Some(crate::org::of_request(&req));
    let request = CreateInvitationRequest { principal: Some(auth.0.clone()), org, email, role };
    let invitation = state.auth().create_invitation(request).await?.into_inner();
    let change = Reported { action: "create", resource: "invitation", org: invitation.organization_id, id: 0 };
    let document = invitation_json(&req, invitation);
    if change.listened(&req, &auth, &state).await {
        change.report(&req, &auth, &state, Some(&document), None).await;
    }
    Ok(HttpResponse::Created().json(document))
}

#[utoipa::path(get, path = "/api/invitations/{key}", operation_id = "invitations_retrieve", tag = "invitations",
    responses((status = 200)))]
pub async fn retrieve(
    req: HttpRequest,
    auth: Auth,
    state: web::Data<AppState>,
    key: web::Path<String>,
) -> HttpResult<HttpResponse> {
    let invitation = state.auth().get_invitation(reference(auth, key)).await?.into_inner();
    Ok(HttpResponse::Ok().json(invitation_json(&req, invitation)))
}

/// CVAT's older way to accept: `PATCH {"accepted": true}`; answers the invitation.
/// Nothing else of an invitation changes (a decline is `POST …/decline`).
#[utoipa::path(patch, path = "/api/invitations/{key}", operation_id = "invitations_partial_update",
    tag = "invitations", responses((status = 200)))]
pub async fn partial_update(
    req: HttpRequest,
    auth: Auth,
    state: web::Data<AppState>,
    key: web::Path<String>,
    body: JsonBody,
) -> HttpResult<HttpResponse> {
    if body.0.len() != 1 || body.0.get("accepted") != Some(&Value::Bool(true)) {
        return Err(cvat_error::ApiError::field(
            "accepted",
            "Only {\"accepted\": true} is taken here: it accepts the invitation (decline with POST …/decline).",
        )
        .into());
    }
    let reference = reference(auth, key);
    state.auth().accept_invitation(reference.clone()).await?;
    let invitation = state.auth().get_invitation(reference).await?.into_inner();
    Ok(HttpResponse::Ok().json(invitation_json(&req, invitation)))
}

#[utoipa::path(post, path = "/api/invitations/{key}/accept", operation_id = "invitations_accept",
    tag = "invitations", responses((status = 200)))]
pub async fn accept(auth: Auth, state: web::Data<AppState>, key: web::Path<String>) -> HttpResult<HttpResponse> {
    let org = state.auth().accept_invitation(reference(auth, key)).await?.into_inner();
    Ok(HttpResponse::Ok().json(json!({"organization_slug": org.slug})))
}

#[utoipa::path(post, path = "/api/invitations/{key}/decline", operation_id = "invitations_decline",
    tag = "invitations", responses((status = 204)))]
pub async fn decline(auth: Auth, state: web::Data<AppState>, key: web::Path<String>) -> HttpResult<HttpResponse> {
    state.auth().decline_invitation(reference(auth, key)).await?;
    Ok(HttpResponse::NoContent().finish())
}

#[utoipa::path(post, path = "/api/invitations/{key}/resend", operation_id = "invitations_resend",
    tag = "invitations", responses((status = 204)))]
pub async fn resend(auth: Auth, state: web::Data<AppState>, key: web::Path<String>) -> HttpResult<HttpResponse> {
    state.auth().resend_invitation(reference(auth, key)).await?;
    Ok(HttpResponse::NoContent().finish())
}

#[utoipa::path(delete, path = "/api/invitations/{key}", operation_id = "invitations_destroy", tag = "invitations",
    responses((status = 204)))]
pub async fn destroy(
    req: HttpRequest,
    auth: Auth,
    state: web::Data<AppState>,
    key: web::Path<String>,
) -> HttpResult<HttpResponse> {
    let reference = reference(auth.clone(), key);
    let gone = state.auth().get_invitation(reference.clone()).await?.into_inner();
    let change = Reported { action: "delete", resource: "invitation", org: gone.organization_id, id: 0 };
    state.auth().delete_invitation(reference).await?;
    if change.listened(&req, &auth, &state).await {
        change.report(&req, &auth, &state, Some(&invitation_json(&req, gone)), None).await;
    }
    Ok(HttpResponse::NoContent().finish())
}
