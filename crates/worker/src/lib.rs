//! The loop every queue consumer runs: consume its queue, hand each job to a [`Handler`]
//! inside a span parented on the publisher's trace, ack only after the effect is
//! recorded; failures go to the retry queue and, in the end, the dead-letter queue. A
//! lost broker connection is re-established with backoff. The media and export workers
//! run it with [`PoolHandler`]; the task service with its own handler.

mod chunks;
mod export;
mod import;
mod media;
mod restore;
mod video;
mod webhook;

use cvat_proto::queue::{job::Work, Job};
use cvat_proto::task::task_internal_client::TaskInternalClient;
use cvat_proto::task::TraceProbeReport;
use cvat_queue::{Broker, Delivery, QueueError};
use cvat_runtime::credentials::{Authorized, Outgoing};
use cvat_runtime::telemetry::{self, current_trace_id};
use cvat_runtime::Secret;
use cvat_runtime::{health, Settings};
use prometheus::{register_histogram_vec, HistogramVec};
use prost::Message;
use std::sync::Arc;
use std::sync::LazyLock;
use std::time::{Duration, Instant};
use tonic::transport::Endpoint;
use tracing::Instrument;

static JOBS: LazyLock<HistogramVec> = LazyLock::new(|| {
    register_histogram_vec!(
        "cvat_job_duration_seconds",
        "Queue jobs handled, by pool, kind of job and outcome (ok, retried)",
        &["pool", "job", "outcome"],
        vec![0.001, 0.01, 0.1, 0.5, 1.0, 5.0, 30.0, 120.0, 600.0]
    )
    .expect("metric registers once")
});

pub type TaskApi = TaskInternalClient<Authorized>;

/// How long a worker told to stop waits for its jobs in hand (under the pods'
/// `terminationGracePeriodSeconds` of 60).
const DRAIN: Duration = Duration::from_secs(50);

/// A client of the task service's internal API with the worker credential.
pub fn task_client(url: &str, worker_token: &Secret) -> anyhow::Result<TaskApi> {
    let channel = Endpoint::from_shared(url.to_string())?.connect_timeout(Duration::from_secs(5)).connect_lazy();
    Ok(TaskInternalClient::with_interceptor(channel, Outgoing::new(worker_token)?))
}

/// What a consumer does with one job; an error sends the job to the retry queue.
pub trait Handler: Send + Sync {
    fn handle(&self, job: Job) -> impl std::future::Future<Output = anyhow::Result<()>> + Send;

    /// Called once when a job failed its last attempt and goes to the dead-letter queue,
    /// so whoever waits for it learns why.
    fn give_up(&self, _job: Job, _reason: &str) -> impl std::future::Future<Output = ()> + Send {
        async {}
    }
}

pub struct Worker<H> {
    /// The queue this worker consumes (`media`, `export`, `task`).
    pub pool: &'static str,
    pub broker: Arc<Broker>,
    pub prefetch: u16,
    pub handler: H,
}

impl<H: Handler> Worker<H> {
    /// Consumes until the process stops. A broker that is down is waited for; one that
    /// refuses the login before this worker ever consumed is a configuration error, and
    /// ends the run (the process exits, and Kubernetes shows the crash).
    pub async fn run(self) -> Result<(), QueueError> {
        self.run_until(std::future::pending()).await
    }

    /// [`Worker::run`] until `stop` completes: then the job in hand is finished (never
    /// cut off) and no other is taken.
    pub async fn run_until(self, stop: impl std::future::Future<Output = ()>) -> Result<(), QueueError> {
        let mut stop = std::pin::pin!(stop);
        let tag = format!("{}-{}", self.pool, std::process::id());
        let mut backoff = Duration::from_millis(200);
        let mut consumed = false;
        loop {
            let consumer = tokio::select! {
                biased;
                () = &mut stop => return Ok(()),
                consumer = self.broker.consume(self.pool, &tag, self.prefetch) => consumer,
            };
            match consumer {
                Ok(mut consumer) => {
                    (backoff, consumed) = (Duration::from_millis(200), true);
                    tracing::info!(pool = self.pool, "consuming");
                    loop {
                        let delivery = tokio::select! {
                            biased;
                            () = &mut stop => return Ok(()),
                            delivery = consumer.next() => delivery,
                        };
                        match delivery {
                            Some(Ok(delivery)) => self.process(delivery).await,
                            Some(Err(err)) => {
                                tracing::warn!(error = %err, "delivery failed");
                                break;
                            }
                            None => break,
                        }
                    }
                    tracing::warn!(pool = self.pool, "broker connection lost, reconnecting");
                }
                Err(err) if err.is_refused_login() && !consumed => return Err(err),
                Err(err) => tracing::warn!(error = %err, ?backoff, "cannot consume yet"),
            }
            tokio::select! {
                biased;
                () = &mut stop => return Ok(()),
                () = tokio::time::sleep(backoff) => {}
            }
            backoff = (backoff * 2).min(Duration::from_secs(10));
        }
    }

    async fn process(&self, delivery: Delivery) {
        let span = delivery.span();
        let started = Instant::now();
        let (kind, outcome) = match Job::decode(delivery.body.as_slice()) {
            Ok(job) => (job_kind(&job), self.handler.handle(job).instrument(span.clone()).await),
            Err(err) => ("undecodable", Err(err.into())),
        };
        let label = if outcome.is_ok() { "ok" } else { "retried" };
        JOBS.with_label_values(&[self.pool, kind, label]).observe(started.elapsed().as_secs_f64());
        let settled = match outcome {
            Ok(()) => delivery.ack().await,
            Err(err) => {
                let reason = format!("{err:#}");
                if delivery.attempt >= cvat_queue::MAX_ATTEMPTS {
                    if let Ok(job) = Job::decode(delivery.body.as_slice()) {
                        self.handler.give_up(job, &reason).instrument(span.clone()).await;
                    }
                }
                self.broker.retry_later(delivery, &reason).instrument(span).await
            }
        };
        if let Err(err) = settled {
            // The message stays unacked and the broker will deliver it again.
            tracing::warn!(error = %err, "could not settle delivery");
        }
    }
}

/// A job's kind as the metrics name it: the field name of its work in `queue.proto`.
fn job_kind(job: &Job) -> &'static str {
    match &job.work {
        Some(Work::TraceProbe(_)) => "trace_probe",
        Some(Work::UserChanged(_)) => "user_changed",
        Some(Work::OrganizationDeleted(_)) => "organization_deleted",
        Some(Work::ProcessTaskData(_)) => "process_task_data",
        Some(Work::PurgeTaskBlobs(_)) => "purge_task_blobs",
        Some(Work::ExportDataset(_)) => "export_dataset",
        Some(Work::ImportAnnotations(_)) => "import_annotations",
        Some(Work::RestoreBackup(_)) => "restore_backup",
        Some(Work::DeliverWebhook(_)) => "deliver_webhook",
        Some(Work::ExportEvents(_)) => "export_events",
        Some(Work::BuildChunk(_)) => "build_chunk",
        None => "empty",
    }
}

/// The work of a worker pool, reported to the task service under the pool's name.
pub struct PoolHandler {
    pub pool: &'static str,
    pub task: TaskApi,
    pub blobs: Arc<dyn cvat_blob::BlobStore>,
    pub share: cvat_blob::share::Share,
    /// Downloads of `remote_files`.
    pub fetcher: cvat_fetch::Fetcher,
    /// Chunks this process builds for waiting readers (shared by its consumers).
    pub reader_builds: Arc<chunks::ReaderBuilds>,
}

impl Handler for PoolHandler {
    async fn handle(&self, job: Job) -> anyhow::Result<()> {
        match job.work {
            Some(Work::TraceProbe(probe)) => {
                let report = TraceProbeReport {
                    id: probe.probe_id,
                    service: self.pool.to_string(),
                    trace_id: current_trace_id(),
                };
                self.task.clone().report_trace_probe(report).await?;
                Ok(())
            }
            Some(Work::ProcessTaskData(data)) if self.pool == "media" => {
                let sources =
                    media::Sources { blobs: self.blobs.clone(), share: self.share.clone(), fetcher: &self.fetcher };
                media::process_task_data(data, sources, self.task.clone()).await
            }
            Some(Work::BuildChunk(work)) if self.pool == cvat_queue::CHUNK_QUEUE => {
                let urgency = chunks::Urgency::Reader(&self.reader_builds);
                chunks::build_chunk(work, job.id, self.blobs.clone(), self.task.clone(), urgency).await
            }
            Some(Work::BuildChunk(work)) if self.pool == cvat_queue::PREBUILD_QUEUE => {
                let urgency = chunks::Urgency::Background(&self.reader_builds);
                chunks::build_chunk(work, job.id, self.blobs.clone(), self.task.clone(), urgency).await
            }
            Some(Work::PurgeTaskBlobs(purge)) if self.pool == "media" => {
                for task in purge.task_ids {
                    self.blobs.delete_dir(&cvat_blob::keys::task_dir(task)).await?;
                }
                for key in purge.keys {
                    self.blobs.delete(&key).await?;
                }
                Ok(())
            }
            Some(Work::ExportDataset(work)) if self.pool == "export" => {
                export::export_dataset(work, self.blobs.clone(), &self.fetcher, self.task.clone()).await
            }
            Some(Work::ImportAnnotations(work)) if self.pool == "export" => {
                import::import_annotations(work, self.blobs.clone(), &self.fetcher, self.task.clone()).await
            }
            Some(Work::ExportEvents(work)) if self.pool == "export" => {
                export::export_events(work, self.blobs.clone(), self.task.clone()).await
            }
            Some(Work::DeliverWebhook(work)) if self.pool == cvat_queue::WEBHOOK_QUEUE => {
                webhook::deliver(work, &self.fetcher, self.task.clone()).await
            }
            Some(Work::RestoreBackup(work)) if self.pool == "export" => {
                let sources =
                    media::Sources { blobs: self.blobs.clone(), share: self.share.clone(), fetcher: &self.fetcher };
                restore::restore_backup(work, sources, self.task.clone()).await
            }
            Some(other) => anyhow::bail!("job {} is not work for the {} pool: {other:?}", job.id, self.pool),
            None => anyhow::bail!("job {} carries no work", job.id),
        }
    }

    /// Data processing or an export that kept failing ends its request (so the task
    /// takes data again, or the export can be asked for again).
    async fn give_up(&self, job: Job, reason: &str) {
        let request_id = match job.work {
            Some(Work::ProcessTaskData(data)) => data.request_id,
            Some(Work::ExportDataset(export)) => export.request_id,
            Some(Work::ImportAnnotations(import)) => import.request_id,
            Some(Work::RestoreBackup(restore)) => restore.request_id,
            Some(Work::ExportEvents(export)) => export.request_id,
            _ => return,
        };
        let failure = cvat_proto::task::DataFailure {
            request_id,
            message: format!("Processing failed after {} attempts: {reason}", cvat_queue::MAX_ATTEMPTS),
        };
        if let Err(err) = self.task.clone().fail_data(failure).await {
            tracing::warn!(error = %err, "could not fail the request of a dead job");
        }
    }
}

/// A worker process: configuration, telemetry, health endpoints, then the consume loop
/// until Ctrl-C. The media and export binaries are this with their pool name.
pub async fn serve(pool: &'static str, default_health_port: u16) -> anyhow::Result<()> {
    let settings = Settings::from_env(default_health_port)?;
    let _telemetry = telemetry::init(pool, settings.otlp_endpoint.as_deref())?;
    cvat_codecs::limit_pixels(settings.max_image_pixels);
    cvat_queue::check_url(settings.amqp_url.expose()).map_err(anyhow::Error::msg)?;
    let broker = Arc::new(Broker::new(settings.amqp_url.expose(), &settings.queue_prefix));
    let blobs = cvat_blob::from_settings(&settings).await?;
    let probe_broker = broker.clone();
    let probe_blobs = blobs.clone();
    let ready = health::readiness(vec![
        health::check("rabbitmq", move || {
            let broker = probe_broker.clone();
            async move { broker.ping().await }
        }),
        health::check("object storage", move || {
            let blobs = probe_blobs.clone();
            async move { blobs.ping().await.is_ok() }
        }),
    ]);
    tokio::spawn(health::serve(settings.health_listen, ready));
    let share = cvat_blob::share::Share::new(&settings.share_dir);
    let fetcher =
        cvat_fetch::Fetcher::new(cvat_fetch::FetchPolicy::from_settings(&settings).map_err(anyhow::Error::msg)?)?;
    let task = task_client(&settings.task_url, settings.worker_token()?)?;
    let reader_builds = Arc::new(chunks::ReaderBuilds::default());
    let handler_of = |pool: &'static str| PoolHandler {
        pool,
        task: task.clone(),
        blobs: blobs.clone(),
        share: share.clone(),
        fetcher: fetcher.clone(),
        reader_builds: reader_builds.clone(),
    };
    // SIGTERM stops every consumer taking jobs; each finishes the one in hand.
    let (stop, stopping) = tokio::sync::watch::channel(false);
    let until_stopped = move || {
        let mut stopping = stopping.clone();
        async move {
            let _ = stopping.wait_for(|stopped| *stopped).await;
        }
    };
    // One job at a time: a long job must not hold back messages another replica could take.
    let mut consumers = tokio::task::JoinSet::new();
    let worker = Worker { pool, broker: broker.clone(), prefetch: 1, handler: handler_of(pool) };
    consumers.spawn(worker.run_until(until_stopped()));
    // Beside its pool, the export service posts webhook deliveries (many at once, each its
    // own consumer, so one slow target does not hold back the others); a media worker
    // builds chunks readers wait for (two at a time, so one reader does not hold back
    // another) and, one at a time, those built ahead (which give way to the former).
    let side_queues: Vec<(&'static str, usize)> = match pool {
        "export" => vec![(cvat_queue::WEBHOOK_QUEUE, settings.webhook_consumers.max(1))],
        "media" => vec![(cvat_queue::CHUNK_QUEUE, 2), (cvat_queue::PREBUILD_QUEUE, 1)],
        _ => Vec::new(),
    };
    for (queue, count) in side_queues {
        for _ in 0..count {
            let worker = Worker { pool: queue, broker: broker.clone(), prefetch: 1, handler: handler_of(queue) };
            consumers.spawn(worker.run_until(until_stopped()));
        }
    }
    tokio::select! {
        Some(ended) = consumers.join_next() => {
            ended?.map_err(|err| anyhow::anyhow!("the message broker refuses this worker: {err}"))?
        }
        _ = cvat_runtime::shutdown_signal() => {
            let _ = stop.send(true);
            // Within Kubernetes' grace period (60 s): what is not finished by then stays
            // unacknowledged, and the broker gives it to another worker.
            let drained = tokio::time::timeout(DRAIN, async { while consumers.join_next().await.is_some() {} }).await;
            match drained {
                Ok(()) => tracing::info!("every job in hand finished"),
                Err(_) => tracing::warn!("jobs still running at shutdown go back to the queue"),
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};

    /// Fails the first `failures` attempts of every job; counts attempts and give-ups.
    struct Flaky {
        failures: u32,
        attempts: Arc<AtomicU32>,
        given_up: Arc<AtomicU32>,
    }

    impl Handler for Flaky {
        async fn handle(&self, _job: Job) -> anyhow::Result<()> {
            let attempt = self.attempts.fetch_add(1, Ordering::SeqCst) + 1;
            if attempt <= self.failures {
                anyhow::bail!("attempt {attempt} fails");
            }
            Ok(())
        }

        async fn give_up(&self, _job: Job, reason: &str) {
            assert!(reason.contains("fails"), "{reason}");
            self.given_up.fetch_add(1, Ordering::SeqCst);
        }
    }

    /// Runs a worker over an in-memory broker until `done` holds (bounded in time).
    async fn run_until(failures: u32, done: impl Fn(&Broker, u32) -> bool) -> (u32, u32, Arc<Broker>) {
        let broker = Arc::new(Broker::in_memory());
        let (attempts, given_up) = (Arc::new(AtomicU32::new(0)), Arc::new(AtomicU32::new(0)));
        let handler = Flaky { failures, attempts: attempts.clone(), given_up: given_up.clone() };
        let worker = Worker { pool: "media", broker: broker.clone(), prefetch: 1, handler };
        let running = tokio::spawn(worker.run());
        let job = Job { id: "job-1".into(), work: None };
        broker.publish("media", &job.id, &job.encode_to_vec()).await.unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        while !done(&broker, attempts.load(Ordering::SeqCst)) {
            assert!(Instant::now() < deadline, "the worker did not get there");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        // Give a delivery made in excess (a redelivery after the ack, a second give-up)
        // the time to show in the counts.
        tokio::time::sleep(Duration::from_millis(50)).await;
        running.abort();
        (attempts.load(Ordering::SeqCst), given_up.load(Ordering::SeqCst), broker)
    }

    #[tokio::test]
    async fn a_job_that_keeps_failing_is_given_up_once_and_dead_lettered() {
        let (attempts, given_up, broker) =
            run_until(u32::MAX, |broker, _| !broker.dead_letters("media").is_empty()).await;
        assert_eq!((attempts, given_up), (cvat_queue::MAX_ATTEMPTS, 1));
        assert_eq!(broker.dead_letters("media")[0].message_id, "job-1");
    }

    #[tokio::test]
    async fn a_job_that_succeeds_on_a_retry_is_done_once() {
        let (attempts, given_up, broker) = run_until(2, |_, attempts| attempts >= 3).await;
        assert_eq!((attempts, given_up), (3, 0));
        assert!(broker.dead_letters("media").is_empty());
    }
}
