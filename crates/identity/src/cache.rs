//! A short-lived cache of authenticated principals in Redis, so that the credential of
//! every request (API key or access token) is not looked up in PostgreSQL each time.
//!
//! Entries live at most [`TTL_SECONDS`] (and never past a token's expiry). Whatever
//! changes what a credential means removes the entries: revoking or editing a token
//! removes its own; changing, deactivating or deleting a user, or their password,
//! removes all of that user's (tracked in a per-user set). A lookup racing with such a
//! change can re-add a stale entry for at most the TTL. Redis failures only bypass the
//! cache: authentication then reads PostgreSQL as without it. Every removal is also
//! announced to the gateways' in-process caches (`cvat_cache::invalidation`).

use cvat_proto::auth::Principal;
use prost::Message;
use redis::aio::ConnectionManager;

pub const TTL_SECONDS: u64 = 10;

pub struct CredentialCache {
    redis: ConnectionManager,
    prefix: String,
}

impl CredentialCache {
    pub fn new(redis: ConnectionManager, prefix: &str) -> Self {
        Self { redis, prefix: prefix.to_string() }
    }

    /// `kind` is `token` or `bearer`; `digest` the stored hash of the secret.
    fn key(&self, kind: &str, digest: &[u8]) -> String {
        format!("{}:cred:{kind}:{}", self.prefix, hex::encode(digest))
    }

    fn user_set(&self, user_id: i64) -> String {
        format!("{}:cred-user:{user_id}", self.prefix)
    }

    pub(crate) async fn get(&self, kind: &str, digest: &[u8]) -> Option<Principal> {
        let cached: Option<Vec<u8>> =
            redis::cmd("GET").arg(self.key(kind, digest)).query_async(&mut self.redis.clone()).await.ok()?;
        Principal::decode(cached?.as_slice()).ok()
    }

    /// Caches for `ttl` seconds (capped at [`TTL_SECONDS`]; 0 = do not cache).
    pub(crate) async fn put(&self, kind: &str, digest: &[u8], principal: &Principal, ttl: u64) {
        let ttl = ttl.min(TTL_SECONDS);
        if ttl == 0 {
            return;
        }
        let key = self.key(kind, digest);
        let set = self.user_set(principal.user_id);
        let mut pipe = redis::pipe();
        pipe.set_ex(&key, principal.encode_to_vec(), ttl).ignore();
        pipe.sadd(&set, &key).ignore().expire(&set, TTL_SECONDS as i64 * 2).ignore();
        if let Err(err) = pipe.query_async::<()>(&mut self.redis.clone()).await {
            tracing::debug!(error = %err, "credential cache unavailable");
        }
    }

    pub(crate) async fn forget(&self, kind: &str, digest: &[u8]) {
        self.delete(vec![self.key(kind, digest)]).await;
    }

    /// Removes every cached credential of a user.
    pub(crate) async fn forget_user(&self, user_id: i64) {
        let set = self.user_set(user_id);
        let keys: Vec<String> =
            redis::cmd("SMEMBERS").arg(&set).query_async(&mut self.redis.clone()).await.unwrap_or_default();
        self.delete(keys.into_iter().chain([set]).collect()).await;
    }

    /// Removes entries here and tells the gateways to forget what they verified.
    async fn delete(&self, keys: Vec<String>) {
        let mut redis = self.redis.clone();
        if let Err(err) = redis::cmd("DEL").arg(keys).query_async::<()>(&mut redis).await {
            // The entries expire on their own within the TTL.
            tracing::warn!(error = %err, "credential cache invalidation failed");
        }
        cvat_cache::invalidation::publish(&mut redis, &cvat_cache::invalidation::credentials_channel(&self.prefix))
            .await;
    }
}
