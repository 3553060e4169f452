//! Login throttling: failed attempts are counted per account and per client address in
//! Redis over a sliding window; past the limit, logins answer 429 without checking the
//! password. A client address may fail [`ADDRESS_FACTOR`] times as often as one account
//! (several people can share an address). When Redis is down logins answer 503 rather than run unthrottled.

use cvat_error::{ApiError, ApiResult};
use redis::aio::ConnectionManager;

pub const ADDRESS_FACTOR: u32 = 5;

pub struct LoginThrottle {
    redis: ConnectionManager,
    prefix: String,
    max_failures: u32,
    window_seconds: u64,
}

impl LoginThrottle {
    pub fn new(redis: ConnectionManager, prefix: &str, max_failures: u32, window_seconds: u64) -> Self {
        Self { redis, prefix: prefix.to_string(), max_failures, window_seconds }
    }

    fn keys(&self, account: &str, address: &str) -> [String; 2] {
        [
            format!("{}:login-failures:account:{}", self.prefix, account.to_lowercase()),
            format!("{}:login-failures:address:{address}", self.prefix),
        ]
    }

    /// Refuses when either counter has reached the limit.
    pub async fn check(&self, account: &str, address: &str) -> ApiResult<()> {
        let counts: (Option<u32>, Option<u32>) = redis::cmd("MGET")
            .arg(&self.keys(account, address))
            .query_async(&mut self.redis.clone())
            .await
            .map_err(unavailable)?;
        let (by_account, by_address) = (counts.0.unwrap_or(0), counts.1.unwrap_or(0));
        if by_account >= self.max_failures || by_address >= self.max_failures * ADDRESS_FACTOR {
            return Err(ApiError::too_many_requests(format!(
                "Too many failed login attempts. Try again in {} seconds.",
                self.window_seconds
            )));
        }
        Ok(())
    }

    pub async fn record_failure(&self, account: &str, address: &str) -> ApiResult<()> {
        let mut pipe = redis::pipe();
        for key in self.keys(account, address) {
            pipe.incr(&key, 1).ignore().expire(&key, self.window_seconds as i64).ignore();
        }
        pipe.query_async::<()>(&mut self.redis.clone()).await.map_err(unavailable)
    }

    /// A successful login clears the account's counter (not the address's).
    pub async fn record_success(&self, account: &str, address: &str) -> ApiResult<()> {
        let [account_key, _] = self.keys(account, address);
        redis::cmd("DEL").arg(account_key).query_async::<()>(&mut self.redis.clone()).await.map_err(unavailable)
    }

    pub async fn ping(&self) -> bool {
        redis::cmd("PING").query_async::<String>(&mut self.redis.clone()).await.is_ok()
    }
}

fn unavailable(err: redis::RedisError) -> ApiError {
    tracing::warn!(error = %err, "redis unavailable");
    ApiError::unavailable("The session store")
}
