//! Hands due webhook deliveries to the webhook pool (RabbitMQ): woken by the notice a
//! queued delivery sends at its commit, and every second for retries that came due.
//! Any number of task-service replicas may run this; each delivery is handed out by one
//! (the rows are claimed with `SKIP LOCKED`). A delivery the broker refuses goes back to
//! the queue; one handed out but never reported is handed out again later.

use cvat_db::Notices;
use cvat_engine::webhooks::DELIVERY_CHANNEL;
use cvat_engine::Engine;
use cvat_proto::queue::{job::Work, DeliverWebhook, Job};
use cvat_queue::Broker;
use prost::Message;
use std::sync::Arc;
use std::time::Duration;
use tracing::Instrument;

/// Deliveries claimed at once.
const BATCH: i64 = 500;
/// How often due retries are looked for without a notice.
const TICK: Duration = Duration::from_secs(1);

pub async fn dispatch(engine: Arc<Engine>, broker: Arc<Broker>, notices: Notices) {
    let mut woken = notices.subscribe();
    loop {
        let claimed = match engine.due_webhook_deliveries(BATCH).await {
            Ok(ids) => ids,
            Err(err) => {
                tracing::warn!(error = %err, "webhook deliveries cannot be claimed now");
                Vec::new()
            }
        };
        let mut refused = Vec::new();
        for delivery in &claimed {
            let id = delivery.id;
            let job = Job {
                id: format!("webhook-{id}-{}", uuid::Uuid::new_v4()),
                work: Some(Work::DeliverWebhook(DeliverWebhook { delivery_id: id })),
            };
            // Published in the trace of the request that caused the delivery.
            let span = tracing::info_span!("dispatch_webhook", delivery = id);
            let traceparent = delivery.traceparent.as_deref();
            cvat_runtime::propagation::adopt_parent(&span, |key| traceparent.filter(|_| key == "traceparent"));
            let body = job.encode_to_vec();
            if let Err(err) = broker.publish(cvat_queue::WEBHOOK_QUEUE, &job.id, &body).instrument(span).await {
                tracing::warn!(error = %err, delivery = id, "the broker did not take a webhook delivery");
                refused.push(id);
            }
        }
        if !refused.is_empty() {
            if let Err(err) = engine.requeue_webhook_deliveries(&refused).await {
                tracing::warn!(error = %err, "refused deliveries stay handed out until they are retried");
            }
        }
        if claimed.len() as i64 == BATCH && refused.is_empty() {
            continue;
        }
        let _ = tokio::time::timeout(TICK, async {
            loop {
                match woken.recv().await {
                    Ok(notice) if notice.channel == DELIVERY_CHANNEL => return,
                    Ok(_) => {}
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => return,
                    Err(tokio::sync::broadcast::error::RecvError::Closed) => std::future::pending::<()>().await,
                }
            }
        })
        .await;
    }
}
