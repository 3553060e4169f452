//! Blobs of deleted tasks are removed by a media worker (the task service holds no blob
//! store): a `PurgeTaskBlobs` job per deletion. If it cannot be published the blobs stay
//! behind, which is logged; the deletion itself stands.

use cvat_proto::queue::{job::Work, Job, PurgeTaskBlobs};
use cvat_queue::Broker;
use prost::Message;

pub async fn purge(broker: &Broker, task_ids: Vec<i64>) {
    if task_ids.is_empty() {
        return;
    }
    let job = Job {
        id: format!("purge-{}", uuid::Uuid::new_v4()),
        work: Some(Work::PurgeTaskBlobs(PurgeTaskBlobs { task_ids: task_ids.clone() })),
    };
    if let Err(err) = broker.publish("media", &job.id, &job.encode_to_vec()).await {
        tracing::warn!(error = %err, tasks = ?task_ids, "blobs of deleted tasks left behind");
    }
}
