//! The REST surface, one module per API tag.

pub mod annotations;
pub mod auth;
pub mod backups;
mod changes;
pub mod cloud_storages;
pub mod comments;
pub mod data;
mod documents;
pub mod events;
pub mod exports;
pub mod functions;
pub mod guides;
pub mod health;
pub mod imports;
pub mod invitations;
pub mod issues;
pub mod jobs;
pub mod labels;
pub mod organizations;
pub mod projects;
pub mod requests;
pub mod restrictions;
pub mod schema;
pub mod server;
pub mod tasks;
pub mod users;
pub mod webhooks;

use actix_web::http::{header, Method};
use actix_web::{web, HttpRequest, HttpResponse, Route};

/// A route of `method` to `handler`, remembering the method for `Allow`.
pub fn on<F, Args>(method: Method, handler: F) -> (Method, Route)
where
    F: actix_web::Handler<Args>,
    Args: actix_web::FromRequest + 'static,
    F::Output: actix_web::Responder + 'static,
{
    (method.clone(), web::method(method).to(handler))
}

/// A resource answering the given routes, OPTIONS as DRF does (the allowed methods and
/// what the endpoint renders and parses), and 405 with `Allow` for any other method.
pub fn resource(path: &str, routes: Vec<(Method, Route)>) -> actix_web::Resource {
    let mut methods: Vec<String> = routes.iter().map(|(m, _)| m.to_string()).collect();
    methods.push("OPTIONS".into());
    let allow = methods.join(", ");
    let name = path.to_string();
    let options_allow = allow.clone();
    let resource = routes.into_iter().fold(web::resource(path), |r, (_, route)| r.route(route));
    resource
        .route(web::method(Method::OPTIONS).to(move || {
            let body = serde_json::json!({
                "name": name.clone(),
                "description": "",
                "renders": ["application/vnd.cvat+json", "application/json"],
                "parses": ["application/json", "application/vnd.cvat+json", "multipart/form-data"],
            });
            let allow = options_allow.clone();
            async move { HttpResponse::Ok().insert_header((header::ALLOW, allow)).json(body) }
        }))
        .default_service(web::to(move |req: HttpRequest| {
            let allow = allow.clone();
            async move {
                let mut response = crate::error::method_not_allowed(req).await;
                if let Ok(value) = header::HeaderValue::from_str(&allow) {
                    response.headers_mut().insert(header::ALLOW, value);
                }
                response
            }
        }))
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    health::configure(cfg);
    server::configure(cfg);
    auth::configure(cfg);
    users::configure(cfg);
    organizations::configure(cfg);
    invitations::configure(cfg);
    backups::configure(cfg);
    projects::configure(cfg);
    tasks::configure(cfg);
    jobs::configure(cfg);
    jobs::configure_legacy(cfg);
    issues::configure(cfg);
    comments::configure(cfg);
    labels::configure(cfg);
    data::configure(cfg);
    annotations::configure(cfg);
    cloud_storages::configure_bucket(cfg);
    cloud_storages::configure(cfg);
    exports::configure(cfg);
    functions::configure(cfg);
    webhooks::configure_catalogue(cfg);
    webhooks::configure(cfg);
    webhooks::configure_deliveries(cfg);
    events::configure(cfg);
    guides::configure(cfg);
    requests::configure(cfg);
    restrictions::configure(cfg);
    schema::configure(cfg);
}
