//! Keeps the engine's copy of users' names current: consumes `UserChanged` reports from
//! the task queue, and re-reads every known user at start and periodically (which also
//! repairs a report that was never published).

use cvat_engine::Engine;
use cvat_proto::queue::{job::Work, Job};
use cvat_worker::Handler;
use std::sync::Arc;
use std::time::Duration;

const RESYNC_EVERY: Duration = Duration::from_secs(600);

pub struct UserSync {
    pub engine: Arc<Engine>,
}

impl Handler for UserSync {
    async fn handle(&self, job: Job) -> anyhow::Result<()> {
        match job.work {
            Some(Work::UserChanged(change)) => Ok(self.engine.refresh_users(&[change.user_id]).await?),
            Some(other) => anyhow::bail!("job {} is not work for the task service: {other:?}", job.id),
            None => anyhow::bail!("job {} carries no work", job.id),
        }
    }
}

/// Re-reads every known user now and then, forever.
pub async fn resync_periodically(engine: Arc<Engine>) {
    loop {
        if let Err(err) = engine.refresh_all_users().await {
            tracing::warn!(error = %err, "user resync failed; next attempt later");
        }
        tokio::time::sleep(RESYNC_EVERY).await;
    }
}
