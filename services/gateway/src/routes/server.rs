//! `/api/server/*`: what this server is and what it supports, plus the trace probe.

use super::resource;
use crate::error::HttpResult;
use crate::identity::Auth;
use crate::routes::on;
use crate::state::AppState;
use actix_web::http::Method;
use actix_web::{web, HttpResponse};
use cvat_error::ApiError;
use cvat_proto::task::{StartTraceProbeRequest, TraceProbe, TraceProbeRef};
use serde::Serialize;
use utoipa::ToSchema;

/// The CVAT release whose API this server implements; the 2.80 client accepts 2.80.x.
pub const CVAT_VERSION: &str = "2.80.0";

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/api/server/about", vec![on(Method::GET, about)]))
        .service(resource("/api/server/annotation/formats", vec![on(Method::GET, formats)]))
        .service(resource("/api/server/plugins", vec![on(Method::GET, plugins)]))
        .service(resource("/api/server/share", vec![on(Method::GET, share)]))
        .service(resource("/api/server/trace-probe", vec![on(Method::POST, start_probe)]))
        .service(resource("/api/server/trace-probe/{id}", vec![on(Method::GET, get_probe)]))
        .service(resource(LOGO_PATH, vec![on(Method::GET, logo)]));
}

/// The logo `about` points at (CVAT's UI shows it in its header).
const LOGO_PATH: &str = "/static/logo.svg";
const LOGO: &str = include_str!("../../static/logo.svg");

pub async fn logo() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("image/svg+xml")
        .insert_header(("Cache-Control", "public, max-age=86400"))
        .body(LOGO)
}

/// CVAT's `FileInfo`.
#[derive(Serialize, ToSchema)]
pub struct FileInfo {
    name: String,
    /// REG or DIR
    r#type: &'static str,
    mime_type: &'static str,
}

#[utoipa::path(get, path = "/api/server/share", operation_id = "server_list_share", tag = "server",
    params(("directory" = Option<String>, Query, description = "A directory of the share, `/` by default")),
    responses((status = 200, body = [FileInfo])))]
pub async fn share(
    _auth: Auth,
    state: web::Data<AppState>,
    query: web::Query<std::collections::HashMap<String, String>>,
) -> HttpResult<HttpResponse> {
    use cvat_blob::share::ShareError;
    let directory = query.get("directory").map_or("/", String::as_str).to_string();
    let share = state.share.clone();
    let listed =
        web::block(move || share.list(&directory)).await.map_err(|_| ApiError::internal())?.map_err(|e| match e {
            ShareError::Outside(_) => ApiError::bad_request(e.to_string()),
            ShareError::Missing(_) => ApiError::detail(cvat_error::ErrorKind::NotFound, e.to_string()),
            ShareError::Io(_) => ApiError::bad_request(e.to_string()),
        })?;
    let entries: Vec<FileInfo> = listed
        .into_iter()
        .map(|e| FileInfo {
            r#type: if e.is_dir { "DIR" } else { "REG" },
            mime_type: cvat_codecs::media_kind(&e.name, e.is_dir),
            name: e.name,
        })
        .collect();
    Ok(HttpResponse::Ok().json(entries))
}

#[derive(Serialize, ToSchema)]
pub struct About {
    name: &'static str,
    description: &'static str,
    version: &'static str,
    /// Absolute, as CVAT gives it.
    logo_url: String,
    subtitle: &'static str,
}

/// Public: the client asks before it has credentials.
#[utoipa::path(get, path = "/api/server/about", operation_id = "server_retrieve_about", tag = "server",
    responses((status = 200, body = About)))]
pub async fn about(req: actix_web::HttpRequest) -> HttpResponse {
    HttpResponse::Ok().json(About {
        name: "Computer Vision Annotation Tool",
        description: "CVAT-compatible annotation server written in Rust.",
        version: CVAT_VERSION,
        logo_url: format!("{}{LOGO_PATH}", crate::listing::base_url(&req)),
        subtitle: "Open, fast, CVAT-compatible annotation server",
    })
}

#[derive(Serialize, ToSchema)]
pub struct DatasetFormat {
    name: &'static str,
    ext: &'static str,
    version: &'static str,
    enabled: bool,
    dimension: &'static str,
}

#[derive(Serialize, ToSchema)]
pub struct DatasetFormats {
    importers: Vec<DatasetFormat>,
    exporters: Vec<DatasetFormat>,
}

#[utoipa::path(get, path = "/api/server/annotation/formats", operation_id = "server_retrieve_annotation_formats",
    tag = "server", responses((status = 200, body = DatasetFormats)))]
/// Exactly the formats that work here: those `cvat-formats` writes and reads.
pub async fn formats(_: Auth) -> HttpResponse {
    let exporters = cvat_formats::Format::EXPORTERS
        .iter()
        .map(|format| DatasetFormat {
            name: format.name(),
            ext: "ZIP",
            version: format.version(),
            enabled: true,
            dimension: "2d",
        })
        .collect();
    let importers = cvat_formats::ImportFormat::IMPORTERS
        .iter()
        .map(|format| DatasetFormat {
            name: format.name(),
            ext: format.extensions(),
            version: format.version(),
            enabled: true,
            dimension: "2d",
        })
        .collect();
    HttpResponse::Ok().json(DatasetFormats { importers, exporters })
}

#[derive(Serialize, ToSchema)]
#[allow(non_snake_case)]
pub struct Plugins {
    ANALYTICS: bool,
    MODELS: bool,
}

#[utoipa::path(get, path = "/api/server/plugins", operation_id = "server_retrieve_plugins", tag = "server",
    responses((status = 200, body = Plugins)))]
pub async fn plugins(_: Auth) -> HttpResponse {
    HttpResponse::Ok().json(Plugins { ANALYTICS: false, MODELS: false })
}

#[derive(Serialize, ToSchema)]
pub struct TraceHop {
    service: String,
    trace_id: String,
}

#[derive(Serialize, ToSchema)]
pub struct TraceProbeRead {
    id: String,
    hops: Vec<TraceHop>,
}

impl From<TraceProbe> for TraceProbeRead {
    fn from(probe: TraceProbe) -> Self {
        let hops = probe.hops.into_iter().map(|h| TraceHop { service: h.service, trace_id: h.trace_id }).collect();
        Self { id: probe.id, hops }
    }
}

fn admin_only(auth: &Auth) -> Result<(), ApiError> {
    if auth.0.is_superuser || auth.0.groups.iter().any(|g| g == "admin") {
        Ok(())
    } else {
        Err(ApiError::forbidden())
    }
}

/// Starts a trace probe (admins only): the task service and every worker pool record the
/// trace id they handle it under, which shows one trace crossing gRPC and the queue.
#[utoipa::path(post, path = "/api/server/trace-probe", operation_id = "server_create_trace_probe", tag = "server",
    responses((status = 201, body = TraceProbeRead)))]
pub async fn start_probe(auth: Auth, state: web::Data<AppState>) -> HttpResult<HttpResponse> {
    admin_only(&auth)?;
    let request = StartTraceProbeRequest { gateway_trace_id: cvat_runtime::telemetry::current_trace_id() };
    let probe = state.task().start_trace_probe(request).await?.into_inner();
    Ok(HttpResponse::Created().json(TraceProbeRead::from(probe)))
}

#[utoipa::path(get, path = "/api/server/trace-probe/{id}", operation_id = "server_retrieve_trace_probe",
    tag = "server", responses((status = 200, body = TraceProbeRead)))]
pub async fn get_probe(auth: Auth, state: web::Data<AppState>, id: web::Path<String>) -> HttpResult<HttpResponse> {
    admin_only(&auth)?;
    let probe = state.task().get_trace_probe(TraceProbeRef { id: id.into_inner() }).await?.into_inner();
    Ok(HttpResponse::Ok().json(TraceProbeRead::from(probe)))
}
