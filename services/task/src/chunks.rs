//! Compressed chunks of lazy tasks, from the task service's side: a reader's request
//! waits while a media worker builds the chunk (asked over the `chunks` queue whenever
//! no worker holds a live claim), and a task that became ready has its chunks queued for
//! building ahead (`prebuild`). The claims themselves are `cvat_engine::chunk_builds`.

use cvat_db::Notices;
use cvat_engine::chunk_builds::{undecodable, ChunkState, CHUNK_CHANNEL};
use cvat_engine::Engine;
use cvat_error::{ApiError, ApiResult};
use cvat_proto::queue::{job::Work, BuildChunk, Job};
use cvat_proto::task::UnbuiltChunk;
use cvat_queue::Broker;
use prost::Message;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long a reader waits for a chunk before a 503 (the client asks again): within the
/// gateway's 30 s for a call.
const WAIT: Duration = Duration::from_secs(25);
/// A chunk nobody claimed is asked for again after this (its message may be queued behind
/// others, or lost with a broker that went away).
const ASK_AGAIN: Duration = Duration::from_secs(10);

/// Readers of one chunk in this process wait one behind the other: the first asks and
/// waits, the rest find it built. The first goes on when the chunk's settlement is
/// announced ([`CHUNK_CHANNEL`]), and looks at the table now and then besides, since a
/// notice can be missed.
pub struct ChunkWaits {
    waits: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
    notices: Notices,
}

impl ChunkWaits {
    pub fn new(notices: Notices) -> Self {
        Self { waits: Default::default(), notices }
    }

    /// Returns once `chunk` is built; its originals failing to decode is a 400, no worker
    /// building it within [`WAIT`] a 503.
    pub async fn wait_built(&self, engine: &Engine, broker: &Broker, chunk: &UnbuiltChunk) -> ApiResult<()> {
        let turn = self.waits.lock().expect("chunk waits").entry(chunk.key.clone()).or_default().clone();
        let outcome = {
            let _turn = turn.lock().await;
            self.until_built(engine, broker, chunk).await
        };
        let mut waits = self.waits.lock().expect("chunk waits");
        // The map's copy and ours: nobody else waits on this chunk.
        if Arc::strong_count(&turn) == 2 {
            waits.remove(&chunk.key);
        }
        outcome
    }

    async fn until_built(&self, engine: &Engine, broker: &Broker, chunk: &UnbuiltChunk) -> ApiResult<()> {
        // Subscribed before the first look, so a settlement between the two is not missed.
        let mut notices = self.notices.subscribe();
        let deadline = Instant::now() + WAIT;
        let mut asked: Option<Instant> = None;
        loop {
            match engine.chunk_state(chunk).await? {
                ChunkState::Built => return Ok(()),
                ChunkState::Failed(reason) => return Err(undecodable(&reason)),
                ChunkState::Building => {}
                ChunkState::Waiting if asked.is_some_and(|at| at.elapsed() < ASK_AGAIN) => {}
                ChunkState::Waiting => {
                    publish(broker, cvat_queue::CHUNK_QUEUE, chunk.task_id, &chunk.key).await?;
                    asked = Some(Instant::now());
                }
            }
            if Instant::now() + LOOK_AGAIN > deadline {
                tracing::warn!(key = %chunk.key, "no media worker built the chunk in time");
                return Err(ApiError::unavailable("The media workers"));
            }
            let announced = cvat_db::announced(&mut notices, CHUNK_CHANNEL, &chunk.key);
            let _ = tokio::time::timeout(LOOK_AGAIN, announced).await;
        }
    }
}

/// How long a waiting reader goes without looking at the table: every settlement is
/// announced, so a look finds news only when a notice was missed or a claim lapsed.
const LOOK_AGAIN: Duration = Duration::from_millis(250);

/// Asks the media workers (on `queue`) for one chunk. Every message has its own id, the
/// claim a worker takes with it.
async fn publish(broker: &Broker, queue: &str, task_id: i64, key: &str) -> ApiResult<()> {
    let work = BuildChunk { task_id, key: key.to_string() };
    let job = Job { id: format!("chunk-{}", uuid::Uuid::new_v4()), work: Some(Work::BuildChunk(work)) };
    broker.publish(queue, &job.id, &job.encode_to_vec()).await.map_err(|err| {
        tracing::warn!(error = %err, %key, "asking for a chunk failed");
        ApiError::unavailable("The message broker")
    })
}

/// Queues a ready task's compressed chunks for building ahead, in frame order, without
/// holding up the caller; a chunk not queued is built on its first request.
pub fn prebuild(broker: Arc<Broker>, task_id: i64, keys: Vec<String>) {
    if keys.is_empty() {
        return;
    }
    tokio::spawn(async move {
        for key in keys {
            if publish(&broker, cvat_queue::PREBUILD_QUEUE, task_id, &key).await.is_err() {
                return;
            }
        }
    });
}
