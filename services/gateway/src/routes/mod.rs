//! The REST surface, one module per API tag.

pub mod auth;
pub mod cloud_storages;
pub mod data;
mod documents;
pub mod health;
pub mod invitations;
pub mod jobs;
pub mod labels;
pub mod organizations;
pub mod projects;
pub mod requests;
pub mod schema;
pub mod server;
pub mod tasks;
pub mod users;

use crate::error::method_not_allowed;
use actix_web::{web, Route};

/// A resource answering the given routes and 405 for any other method.
pub fn resource(path: &str, routes: Vec<Route>) -> actix_web::Resource {
    routes.into_iter().fold(web::resource(path), |r, route| r.route(route)).default_service(web::to(method_not_allowed))
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    health::configure(cfg);
    server::configure(cfg);
    auth::configure(cfg);
    users::configure(cfg);
    organizations::configure(cfg);
    invitations::configure(cfg);
    projects::configure(cfg);
    tasks::configure(cfg);
    jobs::configure(cfg);
    labels::configure(cfg);
    data::configure(cfg);
    cloud_storages::configure_bucket(cfg);
    cloud_storages::configure(cfg);
    requests::configure(cfg);
    schema::configure(cfg);
}
