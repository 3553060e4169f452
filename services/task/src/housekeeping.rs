//! Upkeep of the engine's tables, now and every six hours: the coming months' event
//! partitions, and the list generation rows of database connections that are gone.

use cvat_engine::Engine;
use std::sync::Arc;
use std::time::Duration;

pub async fn keep_tables(engine: Arc<Engine>) {
    loop {
        if let Err(err) = engine.ensure_event_partitions().await {
            tracing::warn!(error = %err, "event partitions not made; next attempt later");
        }
        if let Err(err) = engine.fold_list_generations().await {
            tracing::warn!(error = %err, "list generations not folded; next attempt later");
        }
        tokio::time::sleep(Duration::from_secs(6 * 3600)).await;
    }
}
