//! The task service: the annotation domain ([`cvat_engine`]) over gRPC, owning the
//! `engine` schema, and the trace probes that prove one trace id runs from the gateway
//! through gRPC and RabbitMQ to every worker pool.

mod auth_changes;
mod blobs;
mod chunks;
mod deliveries;
mod grpc;
mod housekeeping;
mod probes;

use cvat_engine::{AuthDirectory, Engine, MIGRATIONS, SCHEMA};
use cvat_proto::task::task_internal_server::TaskInternalServer;
use cvat_proto::task::task_server::TaskServer;
use cvat_queue::Broker;
use cvat_runtime::credentials::{Outgoing, RequireToken};
use cvat_runtime::{health, telemetry, Settings};
use std::sync::Arc;

/// The notices this service reacts to: function requests, webhook deliveries and chunks
/// built for waiting readers.
const NOTICES: &[&str] = &[
    cvat_engine::functions::QUEUE_CHANNEL,
    cvat_engine::functions::RESULT_CHANNEL,
    cvat_engine::webhooks::DELIVERY_CHANNEL,
    cvat_engine::chunk_builds::CHUNK_CHANNEL,
];

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let settings = Settings::from_env(9102)?;
    let _telemetry = telemetry::init("task", settings.otlp_endpoint.as_deref())?;
    let db =
        cvat_db::pool(settings.database_url.expose(), SCHEMA, settings.db_pool_size, settings.db_statement_timeout_ms)?;
    cvat_db::migrate(&db, SCHEMA, MIGRATIONS).await?;
    if cvat_runtime::migrate_only() {
        tracing::info!("migrations applied");
        return Ok(());
    }
    cvat_db::export_pool_usage(db.clone(), "task");
    let broker = Arc::new(Broker::new(settings.amqp_url.expose(), &settings.queue_prefix));
    let (probe_db, probe_broker) = (db.clone(), broker.clone());
    let ready = health::readiness(vec![
        health::check("postgresql", move || {
            let db = probe_db.clone();
            async move { cvat_db::ping(&db).await }
        }),
        health::check("rabbitmq", move || {
            let broker = probe_broker.clone();
            async move { broker.ping().await }
        }),
    ]);
    tokio::spawn(health::serve(settings.health_listen, ready));
    // Lazy: the auth service may start after us; calls fail with 503 until it answers.
    let auth = tonic::transport::Endpoint::from_shared(settings.auth_url.clone())?
        .connect_timeout(std::time::Duration::from_secs(3))
        .timeout(std::time::Duration::from_secs(30))
        .connect_lazy();
    let directory = Arc::new(AuthDirectory::new(auth, Outgoing::new(settings.service_token()?)?));
    let network = cvat_fetch::FetchPolicy::from_settings(&settings).map_err(anyhow::Error::msg)?;
    let notices = cvat_db::Notices::listen(settings.database_url.expose(), NOTICES)?;
    let agents = cvat_engine::functions::Agents {
        notices: notices.clone(),
        lease: std::time::Duration::from_secs(settings.function_lease_seconds.max(1)),
        answer_wait: std::time::Duration::from_secs(settings.function_answer_seconds.clamp(1, 25)),
    };
    let engine = Arc::new(Engine::new(db.clone(), directory, network, agents, settings.list_count_cache_entries));
    let users = cvat_worker::Worker {
        pool: cvat_queue::TASK_QUEUE,
        broker: broker.clone(),
        prefetch: 16,
        handler: auth_changes::AuthChanges { engine: engine.clone(), broker: broker.clone() },
    };
    tokio::spawn(users.run());
    tokio::spawn(auth_changes::resync_periodically(engine.clone(), broker.clone()));
    let upload_ttl = std::time::Duration::from_secs(settings.upload_ttl_seconds.max(1));
    tokio::spawn(blobs::sweep_periodically(engine.clone(), broker.clone(), upload_ttl));
    let chunk_waits = chunks::ChunkWaits::new(notices.clone());
    tokio::spawn(deliveries::dispatch(engine.clone(), broker.clone(), notices));
    tokio::spawn(housekeeping::keep_tables(engine.clone()));
    broker.clone().export_queue_stats();
    let probes = probes::Probes::new(db.clone(), broker.clone());
    let public =
        grpc::TaskService { engine: engine.clone(), probes: probes.clone(), broker: broker.clone(), chunk_waits };
    let internal = grpc::InternalService { engine, probes, broker };
    tracing::info!(addr = %settings.task_listen, "task service listening");
    // One port, two services, two credentials: the gateway's token opens only `Task`,
    // the workers' only `TaskInternal`.
    tonic::transport::Server::builder()
        .add_service(TaskServer::with_interceptor(public, RequireToken::new(settings.service_token()?)))
        .add_service(TaskInternalServer::with_interceptor(internal, RequireToken::new(settings.worker_token()?)))
        .serve_with_shutdown(settings.task_listen, cvat_runtime::shutdown_signal())
        .await?;
    Ok(())
}
