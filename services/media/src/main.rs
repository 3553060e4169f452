//! The media worker: a RabbitMQ consumer of the `media` pool with health and metrics over
//! HTTP. Run as many replicas as the load needs; each message is handled once in effect.

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    cvat_worker::serve("media", 9103).await
}
