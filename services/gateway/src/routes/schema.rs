//! `/api/schema/` (OpenAPI 3 as JSON or YAML), `/api/swagger/` and `/api/docs/` with
//! their assets served from this binary.

use crate::routes::on;
use actix_web::http::Method;
use actix_web::{web, HttpRequest, HttpResponse};
use std::collections::HashMap;
use std::sync::LazyLock;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(super::resource("/api/schema", vec![on(Method::GET, schema)]))
        .service(super::resource("/api/swagger", vec![on(Method::GET, swagger)]))
        .service(super::resource("/api/docs", vec![on(Method::GET, docs)]))
        .route("/static/docs/{file}", web::get().to(asset));
}

static JSON: LazyLock<String> = LazyLock::new(|| crate::openapi::document().to_json().unwrap_or_default());
static YAML: LazyLock<String> = LazyLock::new(|| crate::openapi::document().to_yaml().unwrap_or_default());

/// JSON when asked for (`scheme=json`, drf-spectacular's `format=json`, or an `Accept`
/// naming json), YAML otherwise, like CVAT.
#[utoipa::path(get, path = "/api/schema/", operation_id = "schema_retrieve", tag = "schema",
    responses((status = 200)))]
pub async fn schema(req: HttpRequest, params: web::Query<HashMap<String, String>>) -> HttpResponse {
    let accept = req.headers().get("accept").and_then(|v| v.to_str().ok()).unwrap_or("");
    let asked = params.get("scheme").or_else(|| params.get("format"));
    let json = match asked.map(String::as_str) {
        Some("json") => true,
        Some("yaml") => false,
        _ => accept.contains("json"),
    };
    if json {
        HttpResponse::Ok().content_type("application/vnd.oai.openapi+json").body(JSON.as_str())
    } else {
        HttpResponse::Ok().content_type("application/vnd.oai.openapi").body(YAML.as_str())
    }
}

const SWAGGER_PAGE: &str = r##"<!doctype html>
<html><head><meta charset="utf-8"><title>CVAT REST API</title>
<link rel="stylesheet" href="/static/docs/swagger-ui.css"></head>
<body><div id="swagger-ui"></div>
<script src="/static/docs/swagger-ui-bundle.js"></script>
<script>window.ui = SwaggerUIBundle({url: "/api/schema/?scheme=json", dom_id: "#swagger-ui"});</script>
</body></html>"##;

const DOCS_PAGE: &str = r##"<!doctype html>
<html><head><meta charset="utf-8"><title>CVAT REST API</title></head>
<body><redoc spec-url="/api/schema/?scheme=json"></redoc>
<script src="/static/docs/redoc.standalone.js"></script>
</body></html>"##;

async fn swagger() -> HttpResponse {
    HttpResponse::Ok().content_type("text/html; charset=utf-8").body(SWAGGER_PAGE)
}

async fn docs() -> HttpResponse {
    HttpResponse::Ok().content_type("text/html; charset=utf-8").body(DOCS_PAGE)
}

async fn asset(file: web::Path<String>) -> HttpResponse {
    let (body, content_type): (&'static [u8], &str) = match file.as_str() {
        "swagger-ui.css" => (include_bytes!("../../static/swagger-ui.css"), "text/css"),
        "swagger-ui-bundle.js" => (include_bytes!("../../static/swagger-ui-bundle.js"), "application/javascript"),
        "redoc.standalone.js" => (include_bytes!("../../static/redoc.standalone.js"), "application/javascript"),
        _ => return HttpResponse::NotFound().json(serde_json::json!({"detail": "Not found."})),
    };
    HttpResponse::Ok().content_type(content_type).insert_header(("Cache-Control", "public, max-age=86400")).body(body)
}
