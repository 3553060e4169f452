//! `/api/restrictions/*`: what a user must accept to register (CVAT's default: nothing)
//! and the terms of use, both public as in CVAT.

use super::{on, resource};
use actix_web::http::Method;
use actix_web::{web, HttpResponse};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/api/restrictions/user-agreements", vec![on(Method::GET, user_agreements)]))
        .service(resource("/api/restrictions/terms-of-use", vec![on(Method::GET, terms_of_use)]));
}

/// CVAT's `UserAgreement` list; none is configured, so registration asks for nothing.
#[utoipa::path(get, path = "/api/restrictions/user-agreements", operation_id = "restrictions_retrieve_user_agreements",
    tag = "restrictions", responses((status = 200, description = "The agreements to accept (none)")))]
pub async fn user_agreements() -> HttpResponse {
    HttpResponse::Ok().json(Vec::<serde_json::Value>::new())
}

const TERMS: &str =
    "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Terms of use</title></head>\
<body><h1>Terms of use</h1><p>This annotation server is open-source software provided under the MIT license, \
without warranty of any kind. Its operators decide who may use it and how its data is kept.</p></body></html>\n";

/// An HTML page, as CVAT renders its template.
#[utoipa::path(get, path = "/api/restrictions/terms-of-use", operation_id = "restrictions_retrieve_terms_of_use",
    tag = "restrictions", responses((status = 200, description = "The terms of use (HTML)", content_type = "text/html")))]
pub async fn terms_of_use() -> HttpResponse {
    HttpResponse::Ok().content_type("text/html; charset=utf-8").body(TERMS)
}
