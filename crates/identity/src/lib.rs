//! Identity: users, their credentials and the rules on who may read or change them.
//!
//! Passwords are argon2 hashes; every other secret (session keys, API keys, access
//! tokens, reset tokens) is random, shown once, and stored as a SHA-256 hash. Login
//! attempts are throttled per account and per client address in Redis.
//!
//! The crate speaks the wire types of `cvat-proto` directly: the auth service is a thin
//! gRPC wrapper over [`Identity`].

mod access_tokens;
mod cache;
mod credentials;
mod invitations;
mod mail;
mod memberships;
mod orgs;
mod password;
mod secrets;
mod signing;
mod throttle;
mod users;

pub use cache::CredentialCache;
pub use mail::Outbox;
pub use throttle::LoginThrottle;

use cvat_db::DbResultExt;
use cvat_db::{DbError, Migration, PgPool};
use cvat_error::ApiError;

pub const SCHEMA: &str = "auth";

pub const MIGRATIONS: &[Migration] = &[
    Migration { version: 1, name: "identity", sql: include_str!("../migrations/0001_identity.sql") },
    Migration {
        version: 2,
        name: "organization_details",
        sql: include_str!("../migrations/0002_organization_details.sql"),
    },
    Migration { version: 3, name: "invitations", sql: include_str!("../migrations/0003_invitations.sql") },
    Migration { version: 4, name: "url_signatures", sql: include_str!("../migrations/0004_url_signatures.sql") },
];

/// Settings the identity rules need.
#[derive(Debug, Clone)]
pub struct IdentityConfig {
    pub session_ttl_seconds: i64,
    /// Invitees accept invitations themselves (CVAT's `ORG_INVITATION_CONFIRM`); off,
    /// an invited user is a member at once, as in CVAT by default.
    pub invitation_confirm: bool,
}

/// Everything the auth service does, over PostgreSQL and Redis.
pub struct Identity {
    db: PgPool,
    credentials: PgPool,
    throttle: LoginThrottle,
    cache: CredentialCache,
    outbox: Outbox,
    config: IdentityConfig,
}

impl Identity {
    /// `credentials` is a pool of its own for the lookups every request makes
    /// (credentials, roles): lists and writes, however slow, cannot take its connections,
    /// so authentication keeps working while they run.
    pub fn new(
        db: PgPool,
        credentials: PgPool,
        throttle: LoginThrottle,
        cache: CredentialCache,
        outbox: Outbox,
        config: IdentityConfig,
    ) -> Self {
        Self { db, credentials, throttle, cache, outbox, config }
    }

    async fn client(&self) -> Result<cvat_db::Client, ApiError> {
        self.db.get().await.map_err(|e| db_error(DbError::Pool(e)))
    }

    /// One page of a list with the total count (see [`cvat_listing::fetch_page`]).
    async fn page(
        &self,
        spec: &cvat_listing::ListSpec,
        params: &cvat_listing::ListParams,
        scope: cvat_listing::SqlWhere,
        columns: &str,
        from: &str,
    ) -> Result<(i64, Vec<tokio_postgres::Row>), ApiError> {
        let client = self.client().await?;
        let page = cvat_listing::fetch_page(client, spec, params, scope, columns, from, None).await?;
        Ok((page.count, page.rows))
    }

    /// One optional row through the connection's statement cache: the credential lookups
    /// run on every request, so they are parsed and planned once per connection.
    async fn cached_row(
        &self,
        sql: &str,
        params: &[&(dyn tokio_postgres::types::ToSql + Sync)],
    ) -> Result<Option<tokio_postgres::Row>, ApiError> {
        let client = self.credentials.get().await.map_err(|e| db_error(DbError::Pool(e)))?;
        let statement = client.prepare_cached(sql).await.db()?;
        client.query_opt(&statement, params).await.db()
    }
}

pub(crate) use cvat_db::api_error as db_error;

impl Identity {
    /// True when the login throttle's Redis answers (readiness).
    pub async fn throttle_ready(&self) -> bool {
        self.throttle.ping().await
    }
}
