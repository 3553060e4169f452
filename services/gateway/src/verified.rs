//! API keys and access tokens the auth service has verified, kept for a few seconds
//! (`CVAT_CREDENTIAL_CACHE_SECONDS`, never past an access token's expiry) so that most
//! requests need no call to the auth service. The auth service announces every change
//! that can make a credential mean something else (a token revoked or edited, a user
//! changed or deleted, a password changed, a logout); every gateway then forgets all it
//! kept, so a revocation takes effect at once, and within the time to live at worst (when
//! Redis is unreachable). Sessions, passwords and signed URLs are checked every time:
//! they carry CSRF and origin rules decided per request. Entries are keyed by a SHA-256
//! of the secret, never the secret.

use crate::state::Traced;
use cvat_cache::BoundedCache;
use cvat_proto::auth::{auth_client::AuthClient, credentials::Kind, Credentials, Principal};
use sha2::{Digest, Sha256};
use std::time::Duration;
use tonic::Status;

/// Enough for every active credential of a large deployment; each entry is a principal
/// of about a kilobyte.
const ENTRIES: usize = 50_000;

pub struct VerifiedCredentials {
    cache: BoundedCache<[u8; 32], Principal>,
    ttl: Duration,
}

impl VerifiedCredentials {
    pub fn new(ttl: Duration) -> Self {
        let entries = if ttl.is_zero() { 0 } else { ENTRIES };
        Self { cache: BoundedCache::new(entries, ttl).named("credentials"), ttl }
    }

    fn key(credentials: &Credentials) -> Option<[u8; 32]> {
        let (kind, secret) = match credentials.kind.as_ref()? {
            Kind::Bearer(token) => ("bearer", token),
            Kind::TokenKey(key) => ("token", key),
            _ => return None,
        };
        Some(Sha256::new().chain_update(kind).chain_update([0]).chain_update(secret).finalize().into())
    }

    /// The principal of `credentials`, from the cache or from the auth service.
    pub async fn principal(&self, mut auth: AuthClient<Traced>, credentials: Credentials) -> Result<Principal, Status> {
        let key = Self::key(&credentials);
        if let Some(found) = key.as_ref().and_then(|key| self.cache.get(key)) {
            return Ok(found);
        }
        let principal = auth.authenticate(credentials).await?.into_inner();
        if let Some(key) = key.filter(|_| self.keepable(&principal)) {
            self.cache.insert(key, principal.clone(), 1);
        }
        Ok(principal)
    }

    /// A principal whose credential expires within the time to live is not kept, so a
    /// kept one is never served past its expiry.
    fn keepable(&self, principal: &Principal) -> bool {
        principal.credential_expires_at.is_none_or(|at| at > now() + self.ttl.as_secs() as i64)
    }

    pub fn clear(&self) {
        self.cache.clear();
    }
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_keys_and_tokens_are_kept_by_a_digest_of_kind_and_secret() {
        let with = |kind| Credentials { kind: Some(kind), client_address: String::new() };
        let bearer = VerifiedCredentials::key(&with(Kind::Bearer("s".into()))).unwrap();
        let token = VerifiedCredentials::key(&with(Kind::TokenKey("s".into()))).unwrap();
        assert_ne!(bearer, token);
        assert!(VerifiedCredentials::key(&with(Kind::Basic(Default::default()))).is_none());
        assert!(VerifiedCredentials::key(&with(Kind::Session(Default::default()))).is_none());
    }

    #[test]
    fn a_credential_expiring_within_the_time_to_live_is_not_kept() {
        let verified = VerifiedCredentials::new(Duration::from_secs(5));
        let soon = Principal { credential_expires_at: Some(now() + 3), ..Default::default() };
        let later = Principal { credential_expires_at: Some(now() + 60), ..Default::default() };
        assert!(!verified.keepable(&soon));
        assert!(verified.keepable(&later) && verified.keepable(&Principal::default()));
    }
}
