//! The auth service: identity and tenancy over gRPC. Wiring only; the rules live in
//! `cvat-identity`.

mod grpc;

use cvat_identity::{CredentialCache, Identity, IdentityConfig, LoginThrottle, Outbox};
use cvat_runtime::{health, telemetry, Settings};
use std::sync::Arc;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let settings = Settings::from_env(9101)?;
    let _telemetry = telemetry::init("auth", settings.otlp_endpoint.as_deref())?;
    let pool = |size| {
        cvat_db::pool(settings.database_url.expose(), cvat_identity::SCHEMA, size, settings.db_statement_timeout_ms)
    };
    let db = pool(settings.db_pool_size)?;
    // Credential and role lookups get connections nothing else can hold.
    let credentials = pool(settings.db_pool_size.div_ceil(2).max(2))?;
    cvat_db::migrate(&db, cvat_identity::SCHEMA, cvat_identity::MIGRATIONS).await?;
    if cvat_runtime::migrate_only() {
        tracing::info!("migrations applied");
        return Ok(());
    }
    cvat_db::export_pool_usage(db.clone(), "auth");
    cvat_db::export_pool_usage(credentials.clone(), "auth-credentials");
    let redis = redis::Client::open(settings.redis_url.expose())?;
    let redis = redis::aio::ConnectionManager::new(redis).await?;
    let cache = CredentialCache::new(redis.clone(), &settings.queue_prefix);
    let throttle =
        LoginThrottle::new(redis, &settings.queue_prefix, settings.login_max_failures, settings.login_window_seconds);
    let outbox = Outbox::new(std::env::var("CVAT_MAIL_DIR").unwrap_or_else(|_| ".data/mail".into()));
    let config = IdentityConfig {
        session_ttl_seconds: settings.session_ttl_seconds,
        invitation_confirm: settings.org_invitation_confirm,
    };
    let identity = Arc::new(Identity::new(db.clone(), credentials, throttle, cache, outbox, config));
    if identity
        .ensure_admin(&settings.admin_user, &settings.admin_email, settings.admin_password.expose())
        .await
        .map_err(|e| anyhow::anyhow!("creating the admin user failed: {e}"))?
    {
        tracing::info!(username = %settings.admin_user, "admin user created");
    }
    let broker = Arc::new(cvat_queue::Broker::new(settings.amqp_url.expose(), &settings.queue_prefix));
    let throttle = identity.clone();
    let ready = health::readiness(vec![
        health::check("postgresql", move || {
            let db = db.clone();
            async move { cvat_db::ping(&db).await }
        }),
        health::check("redis", move || {
            let throttle = throttle.clone();
            async move { throttle.throttle_ready().await }
        }),
    ]);
    tokio::spawn(health::serve(settings.health_listen, ready));
    tracing::info!(addr = %settings.auth_listen, "auth service listening");
    tonic::transport::Server::builder()
        .add_service(grpc::server(identity, broker, settings.service_token()?))
        .serve_with_shutdown(settings.auth_listen, cvat_runtime::shutdown_signal())
        .await?;
    Ok(())
}
