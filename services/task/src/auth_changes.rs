//! Follows what the auth service reports on the task queue: a changed user is re-read
//! (names in the engine's copy), a deleted organization takes its projects and tasks
//! with it. Everything is also checked at start and periodically, which repairs a report
//! that was never published.

use cvat_engine::Engine;
use cvat_proto::queue::{job::Work, Job};
use cvat_queue::Broker;
use cvat_worker::Handler;
use std::sync::Arc;
use std::time::Duration;

const RESYNC_EVERY: Duration = Duration::from_secs(600);

pub struct AuthChanges {
    pub engine: Arc<Engine>,
    pub broker: Arc<Broker>,
}

impl Handler for AuthChanges {
    async fn handle(&self, job: Job) -> anyhow::Result<()> {
        match job.work {
            Some(Work::UserChanged(change)) => Ok(self.engine.refresh_users(&[change.user_id]).await?),
            Some(Work::OrganizationDeleted(org)) => {
                let tasks = self.engine.purge_deleted_organizations(&[org.organization_id]).await?;
                crate::blobs::purge(&self.broker, tasks).await;
                Ok(())
            }
            Some(other) => anyhow::bail!("job {} is not work for the task service: {other:?}", job.id),
            None => anyhow::bail!("job {} carries no work", job.id),
        }
    }
}

/// Re-reads every known user and organization now and then, forever.
pub async fn resync_periodically(engine: Arc<Engine>, broker: Arc<Broker>) {
    loop {
        if let Err(err) = engine.refresh_all_users().await {
            tracing::warn!(error = %err, "user resync failed; next attempt later");
        }
        match engine.purge_all_deleted_organizations().await {
            Ok(tasks) => crate::blobs::purge(&broker, tasks).await,
            Err(err) => tracing::warn!(error = %err, "organization resync failed; next attempt later"),
        }
        tokio::time::sleep(RESYNC_EVERY).await;
    }
}
