//! The gateway: the only HTTP surface. It authenticates every request through the auth
//! service (keeping what it verified for a few seconds, `verified`), maps CVAT's REST
//! endpoints to gRPC, and serves the OpenAPI schema and docs.
//! It holds no business rules and no SQL.

mod body;
mod data_cache;
mod disconnect;
mod error;
mod host;
mod identity;
mod listing;
mod middleware;
mod negotiation;
mod openapi;
mod org;
mod requests;
mod routes;
mod state;
mod verified;

use actix_web::{web, App, HttpServer};
use cvat_runtime::{telemetry, Settings};

// A multi-threaded tokio runtime: the OTLP batch exporter runs beside the HTTP workers.
#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let settings = Settings::from_env(9100)?;
    let _telemetry = telemetry::init("gateway", settings.otlp_endpoint.as_deref())?;
    let state = web::Data::new(state::AppState::connect(&settings).await?);
    // Metrics go to the health port, as for the other services, not to API clients.
    tokio::spawn(cvat_runtime::health::serve(settings.health_listen, cvat_runtime::health::readiness(vec![])));
    let followed = state.clone();
    tokio::spawn(cvat_cache::invalidation::follow(
        redis::Client::open(settings.redis_url.expose())?,
        cvat_cache::invalidation::credentials_channel(&settings.queue_prefix),
        move || followed.verified.clear(),
    ));
    tracing::info!(addr = %settings.gateway_listen, "gateway listening");
    HttpServer::new(move || {
        App::new()
            .configure(|cfg| app(cfg, state.clone()))
            .wrap(actix_web::middleware::from_fn(middleware::forget_changed_credentials))
            .wrap(actix_web::middleware::from_fn(middleware::check_organization))
            .wrap(actix_web::middleware::from_fn(middleware::refuse_null_characters))
            .wrap(actix_web::middleware::from_fn(middleware::check_host))
            .wrap(actix_web::middleware::from_fn(middleware::negotiate))
            .wrap(actix_web::middleware::NormalizePath::trim())
            .wrap(actix_web::middleware::from_fn(disconnect::stop_abandoned_reads))
            .wrap(actix_web::middleware::from_fn(middleware::observe))
            .wrap(middleware::security_headers())
    })
    // A client on a busy network may take a while to send its request head: allow what
    // nginx allows (60 s) rather than actix's 5 s, after which it would be cut off.
    .client_request_timeout(std::time::Duration::from_secs(60))
    // SIGTERM: stop accepting, let requests in flight finish for up to 50 s (the pods'
    // grace period is 60 s), then close.
    .shutdown_timeout(50)
    .on_connect(disconnect::watch)
    .bind(settings.gateway_listen)?
    .run()
    .await?;
    Ok(())
}

/// The whole application, shared by `main` and the tests.
pub fn app(cfg: &mut web::ServiceConfig, state: web::Data<state::AppState>) {
    cfg.app_data(state)
        .app_data(error::query_config())
        .app_data(error::path_config())
        .configure(routes::configure)
        .default_service(web::to(error::not_found));
}
