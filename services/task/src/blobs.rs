//! Blobs of deleted tasks and of abandoned uploads are removed by a media worker (the
//! task service holds no blob store): a `PurgeTaskBlobs` job per deletion or sweep. If it
//! cannot be published the blobs stay behind, which is logged; the deletion itself stands.

use cvat_engine::Engine;
use cvat_error::ApiResult;
use cvat_proto::queue::{job::Work, Job, PurgeTaskBlobs};
use cvat_queue::Broker;
use prost::Message;
use std::sync::Arc;
use std::time::Duration;

pub async fn purge(broker: &Broker, task_ids: Vec<i64>) {
    publish(broker, PurgeTaskBlobs { task_ids, keys: Vec::new() }).await;
}

async fn publish(broker: &Broker, purge: PurgeTaskBlobs) {
    if purge.task_ids.is_empty() && purge.keys.is_empty() {
        return;
    }
    let (tasks, blobs) = (purge.task_ids.clone(), purge.keys.len());
    let job = Job { id: format!("purge-{}", uuid::Uuid::new_v4()), work: Some(Work::PurgeTaskBlobs(purge)) };
    if let Err(err) = broker.publish("media", &job.id, &job.encode_to_vec()).await {
        tracing::warn!(error = %err, ?tasks, blobs, "blobs left behind");
    }
}

/// Forgets uploads idle for `idle` and has their blobs deleted; answers the keys.
pub async fn sweep_uploads(engine: &Engine, broker: &Broker, idle: Duration) -> ApiResult<Vec<String>> {
    let keys = engine.sweep_uploads(idle).await?;
    if !keys.is_empty() {
        tracing::info!(blobs = keys.len(), "abandoned uploads swept");
    }
    publish(broker, PurgeTaskBlobs { task_ids: Vec::new(), keys: keys.clone() }).await;
    Ok(keys)
}

/// Sweeps abandoned uploads every tenth of `idle` (at most every 10 minutes).
pub async fn sweep_periodically(engine: Arc<Engine>, broker: Arc<Broker>, idle: Duration) {
    let every = (idle / 10).clamp(Duration::from_secs(10), Duration::from_secs(600));
    loop {
        tokio::time::sleep(every).await;
        if let Err(err) = sweep_uploads(&engine, &broker, idle).await {
            tracing::warn!(error = %err, "upload sweep failed; next attempt later");
        }
    }
}
