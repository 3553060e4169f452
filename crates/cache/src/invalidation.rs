//! Telling other processes that what their caches hold may be stale: the changing process
//! publishes on a Redis channel, every follower clears its cache. A follower also clears on
//! every (re)subscription, since it may have missed messages while disconnected; entries'
//! own time to live bounds staleness when Redis is down.

use futures_util::StreamExt;
use std::time::Duration;

/// Credentials changed (a token revoked or edited, a user changed, deactivated or
/// deleted, a password changed): caches of verified credentials must forget.
pub fn credentials_channel(prefix: &str) -> String {
    format!("{prefix}:credentials-changed")
}

/// Announces a change; a failure is logged and left to the followers' time to live.
pub async fn publish(redis: &mut redis::aio::ConnectionManager, channel: &str) {
    if let Err(err) = redis::cmd("PUBLISH").arg(channel).arg("").query_async::<()>(redis).await {
        tracing::warn!(error = %err, channel, "cache invalidation not published");
    }
}

/// Calls `clear` on every announcement on `channel`, and on every (re)connection, forever.
pub async fn follow(client: redis::Client, channel: String, clear: impl Fn()) {
    loop {
        match client.get_async_pubsub().await {
            Ok(mut pubsub) => match pubsub.subscribe(&channel).await {
                Ok(()) => {
                    clear();
                    let mut messages = pubsub.on_message();
                    while messages.next().await.is_some() {
                        clear();
                    }
                    tracing::warn!(channel, "cache invalidation channel lost; subscribing again");
                }
                Err(err) => tracing::warn!(error = %err, channel, "cannot subscribe to cache invalidations"),
            },
            Err(err) => tracing::warn!(error = %err, channel, "cannot subscribe to cache invalidations"),
        }
        clear();
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}
