//! Login throttling: failed attempts are counted in Redis over a window, per account
//! from one client address, per address, and per account from everywhere. An account is
//! the user a login names (by username or e-mail alike), so switching between the two
//! gains no guesses.
//!
//! A login is refused (429, the password not even checked) when its address has failed
//! `max` times for that account, or `ADDRESS_FACTOR × max` times in all (several people
//! share an address), or when the account has failed `ACCOUNT_FACTOR × max` times from
//! everywhere and this address failed for it too. A stranger therefore cannot lock the
//! owner out: an address that never failed for the account still gets in. When Redis
//! is down logins answer 503 rather than run unthrottled.

use cvat_error::{ApiError, ApiResult};
use redis::aio::ConnectionManager;

pub const ADDRESS_FACTOR: u32 = 5;
pub const ACCOUNT_FACTOR: u32 = 10;

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

    /// The counters of the account from this address, of the address, of the account.
    fn keys(&self, account: &str, address: &str) -> [String; 3] {
        let base = format!("{}:login-failures", self.prefix);
        [
            format!("{base}:pair:{account}:{address}"),
            format!("{base}:address:{address}"),
            format!("{base}:account:{account}"),
        ]
    }

    /// Refuses when a limit has been reached (see the module's description).
    pub async fn check(&self, account: &str, address: &str) -> ApiResult<()> {
        let counts: (Option<u32>, Option<u32>, Option<u32>) = redis::cmd("MGET")
            .arg(&self.keys(account, address))
            .query_async(&mut self.redis.clone())
            .await
            .map_err(unavailable)?;
        let (pair, by_address, by_account) = (counts.0.unwrap_or(0), counts.1.unwrap_or(0), counts.2.unwrap_or(0));
        let max = self.max_failures;
        if pair >= max || by_address >= max * ADDRESS_FACTOR || (pair > 0 && by_account >= max * ACCOUNT_FACTOR) {
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

    /// A successful login clears the counter of the account from this address.
    pub async fn record_success(&self, account: &str, address: &str) -> ApiResult<()> {
        let [pair, _, _] = self.keys(account, address);
        redis::cmd("DEL").arg(pair).query_async::<()>(&mut self.redis.clone()).await.map_err(unavailable)
    }

    pub async fn ping(&self) -> bool {
        redis::cmd("PING").query_async::<String>(&mut self.redis.clone()).await.is_ok()
    }
}

fn unavailable(err: redis::RedisError) -> ApiError {
    tracing::warn!(error = %err, "redis unavailable");
    ApiError::unavailable("The session store")
}
