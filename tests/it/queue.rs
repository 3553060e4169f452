//! The queue rules against the real RabbitMQ: confirmed publishing, manual acks,
//! redelivery of unacked messages, retries with a growing attempt count, then the
//! dead-letter queue.

use cvat_queue::{Broker, MAX_ATTEMPTS};
use std::time::Duration;

fn amqp_url() -> String {
    std::env::var("CVAT_AMQP_URL").unwrap_or_else(|_| "amqp://guest:guest@127.0.0.1:5672/%2f".into())
}

/// A broker with a prefix of its own, so the test's queues are not the stack's.
fn broker() -> (Broker, String) {
    let prefix = format!("it-{}", uuid::Uuid::new_v4().simple());
    (Broker::new(&amqp_url(), &prefix), prefix)
}

async fn next(consumer: &mut cvat_queue::Consumer) -> cvat_queue::Delivery {
    tokio::time::timeout(Duration::from_secs(20), consumer.next())
        .await
        .expect("a delivery within 20 s")
        .expect("consumer open")
        .expect("delivery ok")
}

#[tokio::test]
async fn unacked_messages_are_redelivered() {
    let (broker, prefix) = broker();
    broker.publish("media", "m-1", b"work").await.unwrap();
    let mut first = broker.consume("media", "dies", 1).await.unwrap();
    let delivery = next(&mut first).await;
    assert_eq!(delivery.body, b"work");
    // The consumer's connection goes away without an ack, like a worker killed mid-job.
    drop(delivery);
    first.close().await.unwrap();
    let survivor = Broker::new(&amqp_url(), &prefix);
    let mut second = survivor.consume("media", "survivor", 1).await.unwrap();
    let again = next(&mut second).await;
    assert_eq!((again.body.as_slice(), again.message_id.as_str()), (&b"work"[..], "m-1"));
    again.ack().await.unwrap();
}

#[tokio::test]
async fn the_age_of_the_oldest_waiting_message_is_told_without_losing_it() {
    let (broker, _) = broker();
    assert_eq!(broker.oldest_age("media").await.unwrap(), None);
    broker.publish("media", "older", b"first").await.unwrap();
    tokio::time::sleep(Duration::from_millis(2100)).await;
    broker.publish("media", "newer", b"second").await.unwrap();
    // Publication times are whole seconds: two seconds later the head is at least one old.
    let age = broker.oldest_age("media").await.unwrap().expect("a message waits");
    assert!(age >= Duration::from_secs(1), "{age:?}");
    // Looking did not take it: both wait, the oldest still first in line.
    assert_eq!(broker.depth("media").await.unwrap(), 2);
    let mut consumer = broker.consume("media", "after-peek", 1).await.unwrap();
    let first = next(&mut consumer).await;
    assert_eq!((first.message_id.as_str(), first.attempt), ("older", 1));
    first.ack().await.unwrap();
    let second = next(&mut consumer).await;
    assert_eq!(second.message_id, "newer");
    second.ack().await.unwrap();
    assert_eq!(broker.oldest_age("media").await.unwrap(), None);
}

#[tokio::test]
async fn failures_are_retried_then_dead_lettered() {
    let (broker, _) = broker();
    broker.publish("export", "bad-1", b"poison").await.unwrap();
    let mut consumer = broker.consume("export", "flaky", 1).await.unwrap();
    for attempt in 1..=MAX_ATTEMPTS {
        let delivery = next(&mut consumer).await;
        assert_eq!(delivery.attempt, attempt);
        broker.retry_later(delivery, "always fails").await.unwrap();
    }
    // The dead-letter queue is `<prefix>.export.dead`; consume it directly.
    let mut dead = broker.consume("export.dead", "inspector", 1).await.unwrap();
    let delivery = next(&mut dead).await;
    assert_eq!((delivery.body.as_slice(), delivery.attempt), (&b"poison"[..], MAX_ATTEMPTS + 1));
    delivery.ack().await.unwrap();
}

/// A handler that always fails, recording when the worker gives up on a job.
struct AlwaysFails {
    given_up: std::sync::Arc<std::sync::Mutex<Vec<(String, String)>>>,
}

impl cvat_worker::Handler for AlwaysFails {
    async fn handle(&self, _job: cvat_proto::queue::Job) -> anyhow::Result<()> {
        anyhow::bail!("the disk is on fire")
    }

    async fn give_up(&self, job: cvat_proto::queue::Job, reason: &str) {
        self.given_up.lock().unwrap().push((job.id, reason.to_string()));
    }
}

#[tokio::test]
async fn a_worker_gives_up_once_after_the_last_attempt() {
    use prost::Message;
    let (broker, _) = broker();
    let broker = std::sync::Arc::new(broker);
    let given_up = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let worker = cvat_worker::Worker {
        pool: "media",
        broker: broker.clone(),
        prefetch: 1,
        handler: AlwaysFails { given_up: given_up.clone() },
    };
    let running = tokio::spawn(worker.run());
    let job = cvat_proto::queue::Job { id: "doomed-1".into(), work: None };
    broker.publish("media", &job.id, &job.encode_to_vec()).await.unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while given_up.lock().unwrap().is_empty() {
        assert!(std::time::Instant::now() < deadline, "the worker never gave up");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    tokio::time::sleep(Duration::from_secs(3)).await;
    running.abort();
    let calls = given_up.lock().unwrap().clone();
    assert_eq!(calls.len(), 1, "once: {calls:?}");
    assert_eq!(calls[0].0, "doomed-1");
    assert!(calls[0].1.contains("the disk is on fire"), "{calls:?}");
    let mut dead = broker.consume("media.dead", "inspector", 1).await.unwrap();
    assert_eq!(next(&mut dead).await.message_id, "doomed-1");
}

/// A media worker whose broker settings can never work stops at once with a message that
/// says why and a non-zero code (so Kubernetes shows a crash, not a worker that idles):
/// an AMQP URL that does not parse, and a login the broker refuses. (A broker that is
/// merely down is waited for: see the outage tests.)
#[tokio::test]
async fn a_worker_with_unusable_broker_settings_exits_saying_why() {
    let bin = std::env::var("CVAT_TEST_BIN_DIR").expect("set by tests/run.sh");
    let url = amqp_url();
    let address = url.rsplit_once('@').map_or("127.0.0.1:5672/%2f", |(_, rest)| rest);
    let cases = [
        ("nonsense://broker".to_string(), "CVAT_AMQP_URL is not usable"),
        (format!("amqp://no-such-user:wrong-password@{address}"), "the message broker refuses this worker"),
    ];
    for (offset, (url, reason)) in (28..).zip(cases) {
        let mut command = std::process::Command::new(format!("{bin}/cvat-media"));
        command
            .env("CVAT_DEV_MODE", "1")
            .env("CVAT_AMQP_URL", &url)
            .env("CVAT_HEALTH_LISTEN", format!("127.0.0.1:{}", crate::common::stack_port(offset)))
            .env("RUST_BACKTRACE", "0");
        let ran = crate::common::ran_to_exit(&mut command, Duration::from_secs(120)).await;
        let (succeeded, printed) = ran.unwrap_or_else(|| panic!("{url}: the worker kept running"));
        assert!(!succeeded, "{url}: {printed}");
        assert!(printed.contains(reason), "{url}: {printed}");
        assert!(!printed.contains("wrong-password"), "the password is not printed: {printed}");
    }
}

/// A handler whose every job takes a while, recording jobs started and finished.
struct Slow {
    started: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
    finished: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
}

impl cvat_worker::Handler for Slow {
    async fn handle(&self, job: cvat_proto::queue::Job) -> anyhow::Result<()> {
        self.started.lock().unwrap().push(job.id.clone());
        tokio::time::sleep(Duration::from_millis(1500)).await;
        self.finished.lock().unwrap().push(job.id);
        Ok(())
    }
}

/// A worker told to stop (SIGTERM) finishes the job in hand and takes no other; what it
/// did not take waits in the queue for the next worker: nothing lost, nothing done twice.
#[tokio::test]
async fn a_stopping_worker_finishes_its_job_and_leaves_the_rest_queued() {
    use prost::Message;
    let (broker, _) = broker();
    let broker = std::sync::Arc::new(broker);
    let ids: Vec<String> = (0..3).map(|i| format!("slow-{i}")).collect();
    for id in &ids {
        let job = cvat_proto::queue::Job { id: id.clone(), work: None };
        broker.publish("media", id, &job.encode_to_vec()).await.unwrap();
    }
    type Record = std::sync::Arc<std::sync::Mutex<Vec<String>>>;
    let (started, finished): (Record, Record) = Default::default();
    let slow = || Slow { started: started.clone(), finished: finished.clone() };
    let (stop, stopping) = tokio::sync::oneshot::channel::<()>();
    let first = cvat_worker::Worker { pool: "media", broker: broker.clone(), prefetch: 1, handler: slow() };
    let running = tokio::spawn(first.run_until(async move {
        let _ = stopping.await;
    }));
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while started.lock().unwrap().is_empty() {
        assert!(std::time::Instant::now() < deadline, "no job started");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    stop.send(()).unwrap();
    tokio::time::timeout(Duration::from_secs(30), running).await.expect("the worker stops").unwrap().unwrap();
    assert_eq!(*started.lock().unwrap(), *finished.lock().unwrap(), "the job in hand was finished");
    assert_eq!(finished.lock().unwrap().len(), 1, "no other job was taken");

    let next_worker = cvat_worker::Worker { pool: "media", broker: broker.clone(), prefetch: 1, handler: slow() };
    let running = tokio::spawn(next_worker.run());
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while finished.lock().unwrap().len() < ids.len() {
        assert!(std::time::Instant::now() < deadline, "the rest was not done: {:?}", finished.lock().unwrap());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    running.abort();
    let mut done = finished.lock().unwrap().clone();
    done.sort();
    assert_eq!(done, ids, "each job done once");
}
