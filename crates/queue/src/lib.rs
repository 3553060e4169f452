//! RabbitMQ access with the queue rules of the design:
//!
//! * topology: a direct work exchange `{prefix}.work` with one durable queue per worker
//!   pool (`{prefix}.media`, `{prefix}.export`) and one for the task service's own work
//!   (`{prefix}.task`); a retry exchange whose per-pool queues
//!   hold a message for [`RETRY_DELAY_MS`] and dead-letter it back to the work exchange;
//!   a dead-letter exchange with one `{prefix}.{pool}.dead` queue per pool;
//! * publishing waits for the broker's confirm, messages are persistent and carry the
//!   W3C trace context in their headers;
//! * consuming uses manual acks and a prefetch, so a worker that dies mid-job leaves
//!   its message unacked and the broker hands it to another worker;
//! * a failed delivery is re-published to the retry queue with its attempt count, and
//!   after [`MAX_ATTEMPTS`] to the dead-letter queue, before the original is acked.
//!
//! The broker connection is made lazily and remade after a failure, so a RabbitMQ
//! outage fails the calls made during it and nothing after it.
//!
//! [`Broker::in_memory`] keeps the same rules in memory for unit tests.

mod memory;

use futures_util::StreamExt;
use lapin::options::{
    BasicAckOptions, BasicConsumeOptions, BasicGetOptions, BasicNackOptions, BasicPublishOptions, BasicQosOptions,
    ConfirmSelectOptions, ExchangeDeclareOptions, QueueBindOptions, QueueDeclareOptions,
};
use lapin::types::{AMQPValue, FieldTable, LongString, ShortString};
use lapin::{BasicProperties, Channel, Connection, ConnectionProperties, ExchangeKind};
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use tokio::sync::Mutex;

/// The worker pools (each a separate service scaled on its own).
pub const POOLS: [&str; 2] = ["media", "export"];
/// The task service's queue: changes other services tell it about.
pub const TASK_QUEUE: &str = "task";
/// Webhook deliveries, consumed by the export service beside its pool.
pub const WEBHOOK_QUEUE: &str = "webhook";
/// Compressed chunks someone waits for, consumed by the media workers beside their pool.
pub const CHUNK_QUEUE: &str = "chunks";
/// Compressed chunks built ahead of any request, in frame order, when workers are idle.
pub const PREBUILD_QUEUE: &str = "prebuild";
const QUEUES: [&str; 6] = ["media", "export", TASK_QUEUE, WEBHOOK_QUEUE, CHUNK_QUEUE, PREBUILD_QUEUE];
pub const MAX_ATTEMPTS: u32 = 5;
pub const RETRY_DELAY_MS: u32 = 2000;
const ATTEMPT_HEADER: &str = "x-attempt";

#[derive(Debug, thiserror::Error)]
pub enum QueueError {
    #[error("message broker unavailable: {0}")]
    Broker(#[from] lapin::Error),
    #[error("the broker did not confirm the message")]
    NotConfirmed,
    #[error("unknown worker pool {0:?}")]
    UnknownPool(String),
    #[error("the broker's URL is not usable: {0}")]
    Url(String),
}

impl QueueError {
    /// The broker refused this login (`ACCESS_REFUSED`): wrong credentials or virtual host,
    /// which waiting does not mend.
    pub fn is_refused_login(&self) -> bool {
        use lapin::protocol::{AMQPErrorKind, AMQPSoftError};
        matches!(self, QueueError::Broker(lapin::Error::ProtocolError(e))
            if *e.kind() == AMQPErrorKind::Soft(AMQPSoftError::ACCESSREFUSED))
    }
}

/// Frames asked of the broker (see `Broker::uri`).
const FRAME_MAX: u32 = 16 * 1024;

/// Checks that `url` is an AMQP URL the client can use, before any connection is tried:
/// a malformed one is a configuration error (the process should stop), not an outage.
pub fn check_url(url: &str) -> Result<(), String> {
    url.parse::<lapin::uri::AMQPUri>().map(drop).map_err(|reason| format!("CVAT_AMQP_URL is not usable: {reason}"))
}

/// A connection to RabbitMQ for one name prefix (tests use a unique prefix each), or
/// the same rules in memory.
pub struct Broker {
    url: String,
    prefix: String,
    channel: Mutex<Option<Channel>>,
    memory: Option<Arc<memory::Memory>>,
}

/// A message that ended in a dead-letter queue (in-memory broker only).
#[derive(Debug, Clone)]
pub struct DeadLetter {
    pub message_id: String,
    pub body: Vec<u8>,
    pub attempt: u32,
}

impl Broker {
    pub fn new(url: &str, prefix: &str) -> Self {
        Self { url: url.to_string(), prefix: prefix.to_string(), channel: Mutex::new(None), memory: None }
    }

    /// A broker that keeps its queues in this process: for unit tests.
    pub fn in_memory() -> Self {
        Self {
            url: String::new(),
            prefix: "memory".into(),
            channel: Mutex::new(None),
            memory: Some(Arc::new(memory::Memory::default())),
        }
    }

    /// The dead letters of a pool (in-memory broker; RabbitMQ keeps them in its queues).
    pub fn dead_letters(&self, pool: &str) -> Vec<DeadLetter> {
        let Some(memory) = &self.memory else { return Vec::new() };
        memory
            .dead(pool)
            .into_iter()
            .map(|m| DeadLetter { message_id: m.id, body: m.body, attempt: m.attempt })
            .collect()
    }

    pub fn queue_name(&self, pool: &str) -> String {
        format!("{}.{pool}", self.prefix)
    }

    fn exchange(&self, kind: &str) -> String {
        format!("{}.{kind}", self.prefix)
    }

    /// How many messages wait in `pool`'s work queue (not counting those delivered and
    /// not yet acknowledged).
    pub async fn depth(&self, pool: &str) -> Result<u32, QueueError> {
        let channel = self.channel().await?;
        let passive = QueueDeclareOptions { passive: true, durable: true, ..Default::default() };
        let queue = channel.queue_declare(&self.queue_name(pool), passive, FieldTable::default()).await?;
        Ok(queue.message_count())
    }

    /// How long the oldest message waiting in `pool`'s work queue has waited since it was
    /// published (a retry is published again), to the second; `None` when none waits.
    /// RabbitMQ does not say this over AMQP, so the message at the head is fetched and
    /// handed straight back (a classic queue puts it back in its place; it is marked
    /// redelivered, which the workers ignore). Messages carry their publication time in
    /// the AMQP `timestamp` property.
    pub async fn oldest_age(&self, pool: &str) -> Result<Option<std::time::Duration>, QueueError> {
        let channel = self.channel().await?;
        let Some(head) = channel.basic_get(&self.queue_name(pool), BasicGetOptions { no_ack: false }).await? else {
            return Ok(None);
        };
        let published = *head.delivery.properties.timestamp();
        head.delivery.nack(BasicNackOptions { requeue: true, multiple: false }).await?;
        Ok(published.map(|seconds| unix_now().saturating_sub(std::time::Duration::from_secs(seconds))))
    }

    /// Reports every queue's [`Broker::depth`] as `cvat_queue_messages{queue}` and its
    /// [`Broker::oldest_age`] as `cvat_queue_oldest_message_age_seconds{queue}` every 15 s,
    /// for as long as the process runs (one process of a deployment is enough: the task
    /// service).
    pub fn export_queue_stats(self: Arc<Self>) {
        static DEPTH: std::sync::LazyLock<prometheus::IntGaugeVec> = std::sync::LazyLock::new(|| {
            prometheus::register_int_gauge_vec!(
                "cvat_queue_messages",
                "Messages waiting in each work queue (sampled every 15 s)",
                &["queue"]
            )
            .expect("metric registers once")
        });
        static OLDEST: std::sync::LazyLock<prometheus::IntGaugeVec> = std::sync::LazyLock::new(|| {
            prometheus::register_int_gauge_vec!(
                "cvat_queue_oldest_message_age_seconds",
                "How long the oldest message waiting in each work queue has waited; 0 when none waits \
                 (sampled every 15 s)",
                &["queue"]
            )
            .expect("metric registers once")
        });
        tokio::spawn(async move {
            loop {
                for pool in QUEUES {
                    match self.depth(pool).await {
                        Ok(depth) => DEPTH.with_label_values(&[pool]).set(i64::from(depth)),
                        Err(err) => tracing::debug!(error = %err, pool, "queue depth unknown"),
                    }
                    match self.oldest_age(pool).await {
                        Ok(age) => OLDEST.with_label_values(&[pool]).set(age.map_or(0, |a| a.as_secs() as i64)),
                        Err(err) => tracing::debug!(error = %err, pool, "age of the oldest message unknown"),
                    }
                }
                tokio::time::sleep(std::time::Duration::from_secs(15)).await;
            }
        });
    }

    /// A confirmed channel on a live connection, declaring the topology on first use.
    async fn channel(&self) -> Result<Channel, QueueError> {
        let mut slot = self.channel.lock().await;
        if let Some(channel) = slot.as_ref().filter(|c| c.status().connected()) {
            return Ok(channel.clone());
        }
        let channel = self.open_channel().await?;
        *slot = Some(channel.clone());
        Ok(channel)
    }

    async fn open_channel(&self) -> Result<Channel, QueueError> {
        Ok(self.open().await?.1)
    }

    async fn open(&self) -> Result<(Connection, Channel), QueueError> {
        let properties = ConnectionProperties::default()
            .with_executor(tokio_executor_trait::Tokio::current())
            .with_reactor(tokio_reactor_trait::Tokio);
        let connection = Connection::connect_uri(self.uri()?, properties).await?;
        let channel = connection.create_channel().await?;
        channel.confirm_select(ConfirmSelectOptions::default()).await?;
        self.declare(&channel).await?;
        Ok((connection, channel))
    }

    /// The broker's address, asking for frames of [`FRAME_MAX`] unless it names its own:
    /// lapin holds 64 frames of buffers per connection (8 MiB at RabbitMQ's 128 KiB, per
    /// consumer), and our messages are small protobufs.
    fn uri(&self) -> Result<lapin::uri::AMQPUri, QueueError> {
        let mut uri: lapin::uri::AMQPUri = self.url.parse().map_err(QueueError::Url)?;
        uri.query.frame_max.get_or_insert(FRAME_MAX);
        Ok(uri)
    }

    async fn declare(&self, channel: &Channel) -> Result<(), QueueError> {
        let durable = ExchangeDeclareOptions { durable: true, ..Default::default() };
        for kind in ["work", "retry", "dead"] {
            channel
                .exchange_declare(&self.exchange(kind), ExchangeKind::Direct, durable, FieldTable::default())
                .await?;
        }
        let durable_queue = QueueDeclareOptions { durable: true, ..Default::default() };
        for pool in QUEUES {
            let work = self.queue_name(pool);
            let retry = format!("{work}.retry");
            let dead = format!("{work}.dead");
            let mut retry_args = BTreeMap::new();
            retry_args.insert(ShortString::from("x-message-ttl"), AMQPValue::LongUInt(RETRY_DELAY_MS));
            retry_args.insert(ShortString::from("x-dead-letter-exchange"), long(&self.exchange("work")));
            retry_args.insert(ShortString::from("x-dead-letter-routing-key"), long(pool));
            let queues = [
                (&work, "work", FieldTable::default()),
                (&retry, "retry", FieldTable::from(retry_args)),
                (&dead, "dead", FieldTable::default()),
            ];
            for (queue, exchange, args) in queues {
                channel.queue_declare(queue, durable_queue, args).await?;
                channel
                    .queue_bind(
                        queue,
                        &self.exchange(exchange),
                        pool,
                        QueueBindOptions::default(),
                        FieldTable::default(),
                    )
                    .await?;
            }
        }
        Ok(())
    }

    /// Publishes `body` to a queue and waits for the broker to confirm it.
    pub async fn publish(&self, pool: &str, message_id: &str, body: &[u8]) -> Result<(), QueueError> {
        if !QUEUES.contains(&pool) {
            return Err(QueueError::UnknownPool(pool.to_string()));
        }
        let headers = cvat_runtime::propagation::current_headers();
        if let Some(memory) = &self.memory {
            let message =
                memory::Message { id: message_id.to_string(), body: body.to_vec(), attempt: 1, trace: headers };
            memory.push(pool, message);
            return Ok(());
        }
        self.send("work", pool, message_id, body, headers, 1).await
    }

    async fn send(
        &self,
        exchange: &str,
        pool: &str,
        message_id: &str,
        body: &[u8],
        trace: HashMap<String, String>,
        attempt: u32,
    ) -> Result<(), QueueError> {
        let mut headers: BTreeMap<ShortString, AMQPValue> =
            trace.into_iter().map(|(k, v)| (ShortString::from(k), long(&v))).collect();
        headers.insert(ShortString::from(ATTEMPT_HEADER), AMQPValue::LongUInt(attempt));
        let properties = BasicProperties::default()
            .with_delivery_mode(2)
            .with_message_id(ShortString::from(message_id.to_string()))
            .with_timestamp(unix_now().as_secs())
            .with_headers(FieldTable::from(headers));
        let result = self.publish_confirmed(exchange, pool, body, properties).await;
        if result.is_err() {
            // Forget the channel so the next call reconnects.
            self.channel.lock().await.take();
        }
        result
    }

    async fn publish_confirmed(
        &self,
        exchange: &str,
        pool: &str,
        body: &[u8],
        properties: BasicProperties,
    ) -> Result<(), QueueError> {
        let channel = self.channel().await?;
        let confirm = channel
            .basic_publish(&self.exchange(exchange), pool, BasicPublishOptions::default(), body, properties)
            .await?
            .await?;
        if confirm.is_ack() {
            Ok(())
        } else {
            Err(QueueError::NotConfirmed)
        }
    }

    /// Starts consuming a pool's queue with manual acks and the given prefetch.
    pub async fn consume(&self, pool: &str, consumer_tag: &str, prefetch: u16) -> Result<Consumer, QueueError> {
        if let Some(memory) = &self.memory {
            return Ok(Consumer { source: Source::Memory(memory.clone()), pool: pool.to_string() });
        }
        let (connection, channel) = self.open().await?;
        channel.basic_qos(prefetch, BasicQosOptions::default()).await?;
        let inner = channel
            .basic_consume(&self.queue_name(pool), consumer_tag, BasicConsumeOptions::default(), FieldTable::default())
            .await?;
        Ok(Consumer { source: Source::Amqp(Box::new((inner, connection))), pool: pool.to_string() })
    }

    /// Checks that the broker answers (readiness).
    pub async fn ping(&self) -> bool {
        self.memory.is_some() || self.channel().await.is_ok()
    }

    /// Settles a delivery that failed: re-queued for a later attempt, or dead-lettered
    /// after the last one. The original is acked only once the copy is confirmed.
    pub async fn retry_later(&self, delivery: Delivery, reason: &str) -> Result<(), QueueError> {
        let next = delivery.attempt + 1;
        let exchange = if next > MAX_ATTEMPTS { "dead" } else { "retry" };
        tracing::warn!(message_id = %delivery.message_id, attempt = delivery.attempt, exchange, reason, "job failed");
        if let Some(memory) = &self.memory {
            let mut copy = memory::Message {
                id: delivery.message_id.clone(),
                body: delivery.body.clone(),
                attempt: delivery.attempt,
                trace: delivery.trace.clone(),
            };
            if next > MAX_ATTEMPTS {
                memory.bury(&delivery.pool, copy);
            } else {
                copy.attempt = next;
                memory.push(&delivery.pool, copy);
            }
            return delivery.ack().await;
        }
        self.send(exchange, &delivery.pool, &delivery.message_id, &delivery.body, delivery.trace.clone(), next).await?;
        delivery.ack().await
    }
}

/// The time since the Unix epoch (zero on a clock set before it).
fn unix_now() -> std::time::Duration {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default()
}

fn long(value: &str) -> AMQPValue {
    AMQPValue::LongString(LongString::from(value.to_string()))
}

/// Consumes one queue over its own connection.
pub struct Consumer {
    source: Source,
    pool: String,
}

enum Source {
    Amqp(Box<(lapin::Consumer, Connection)>),
    Memory(Arc<memory::Memory>),
}

impl Consumer {
    /// Closes the connection; deliveries not acked yet go back to the queue for another
    /// consumer (what also happens when a worker process dies).
    pub async fn close(self) -> Result<(), QueueError> {
        if let Source::Amqp(amqp) = self.source {
            amqp.1.close(200, "consumer closed").await?;
        }
        Ok(())
    }

    /// The next delivery; `None` when the connection closed (reconnect and consume again).
    pub async fn next(&mut self) -> Option<Result<Delivery, QueueError>> {
        let inner = match &mut self.source {
            Source::Amqp(amqp) => &mut amqp.0,
            Source::Memory(memory) => {
                let receipt = memory.next(&self.pool).await;
                let message = receipt.message.clone()?;
                return Some(Ok(Delivery {
                    body: message.body,
                    message_id: message.id,
                    attempt: message.attempt,
                    trace: message.trace,
                    pool: self.pool.clone(),
                    settle: Settle::Memory(receipt),
                }));
            }
        };
        let delivery = match inner.next().await? {
            Ok(delivery) => delivery,
            Err(err) => return Some(Err(err.into())),
        };
        let mut trace = HashMap::new();
        let mut attempt = 1;
        if let Some(headers) = delivery.properties.headers() {
            for (key, value) in headers.inner() {
                match value {
                    AMQPValue::LongString(s) => {
                        trace.insert(key.to_string(), String::from_utf8_lossy(s.as_bytes()).into_owned());
                    }
                    AMQPValue::LongUInt(n) if key.as_str() == ATTEMPT_HEADER => attempt = *n,
                    _ => {}
                }
            }
        }
        let message_id = delivery.properties.message_id().as_ref().map(|s| s.to_string()).unwrap_or_default();
        Some(Ok(Delivery {
            body: delivery.data.clone(),
            message_id,
            attempt,
            trace,
            pool: self.pool.clone(),
            settle: Settle::Amqp(Box::new(delivery)),
        }))
    }
}

/// One message handed to a worker; ack it only once its effect is durable.
pub struct Delivery {
    pub body: Vec<u8>,
    pub message_id: String,
    pub attempt: u32,
    /// `traceparent` / `tracestate` of the publisher.
    pub trace: HashMap<String, String>,
    pool: String,
    settle: Settle,
}

enum Settle {
    Amqp(Box<lapin::message::Delivery>),
    Memory(memory::Receipt),
}

impl Delivery {
    pub async fn ack(self) -> Result<(), QueueError> {
        match self.settle {
            Settle::Amqp(delivery) => delivery.ack(BasicAckOptions::default()).await?,
            Settle::Memory(receipt) => receipt.settle(),
        }
        Ok(())
    }

    /// A span for handling this delivery, parented on the publisher's trace.
    pub fn span(&self) -> tracing::Span {
        let span = tracing::info_span!("job", pool = %self.pool, message_id = %self.message_id, attempt = self.attempt);
        cvat_runtime::propagation::adopt_parent(&span, |key| self.trace.get(key).map(String::as_str));
        span
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn in_memory_the_queue_rules_hold() {
        let broker = Broker::in_memory();
        assert!(matches!(broker.publish("nowhere", "x", b"").await, Err(QueueError::UnknownPool(_))));
        broker.publish("media", "a", b"first").await.unwrap();
        broker.publish("media", "b", b"second").await.unwrap();
        let mut consumer = broker.consume("media", "test", 1).await.unwrap();
        // Dropped unacked (a worker that died): handed out again, first in line.
        let lost = consumer.next().await.unwrap().unwrap();
        assert_eq!(lost.message_id, "a");
        drop(lost);
        let mut delivery = consumer.next().await.unwrap().unwrap();
        assert_eq!((delivery.message_id.as_str(), delivery.attempt, delivery.body.as_slice()), ("a", 1, &b"first"[..]));
        // Failing: queued again with its attempt count (behind what waits), then dead.
        for attempt in 1..=MAX_ATTEMPTS {
            assert_eq!(delivery.attempt, attempt);
            broker.retry_later(delivery, "failed").await.unwrap();
            if attempt < MAX_ATTEMPTS {
                let other = consumer.next().await.unwrap().unwrap();
                if other.message_id == "b" {
                    other.ack().await.unwrap();
                    delivery = consumer.next().await.unwrap().unwrap();
                } else {
                    delivery = other;
                }
            } else {
                break;
            }
        }
        let dead = broker.dead_letters("media");
        assert_eq!((dead.len(), dead[0].message_id.as_str(), dead[0].attempt), (1, "a", MAX_ATTEMPTS));
        // Nothing is left: the next call waits.
        let waiting = tokio::time::timeout(std::time::Duration::from_millis(50), consumer.next()).await;
        assert!(waiting.is_err());
    }
}
