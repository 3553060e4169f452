//! Facts the auth service owns: a user's role in an organization, users' basic records,
//! which organizations exist. The engine asks them through the [`Directory`] trait; the
//! task service answers it over gRPC ([`AuthDirectory`]), the engine's own tests with a
//! table in memory.

use cvat_error::{ApiError, ApiResult};
use cvat_permissions::Role;
use cvat_proto::auth::auth_client::AuthClient;
use cvat_proto::auth::{MemberRoleQuery, OrganizationIds, User, UserIds};
use cvat_runtime::credentials::{Authorized, Outgoing};
use tonic::transport::Channel;

#[async_trait::async_trait]
pub trait Directory: Send + Sync {
    /// The user's active role in the organization, `None` when not an active member.
    async fn role(&self, user_id: i64, organization_id: i64) -> ApiResult<Option<Role>>;
    /// The existing users among `ids`.
    async fn users(&self, ids: Vec<i64>) -> ApiResult<Vec<User>>;
    /// The organizations among `ids` that exist.
    async fn existing_organizations(&self, ids: Vec<i64>) -> ApiResult<Vec<i64>>;
}

/// The auth service over gRPC, with the service credential.
#[derive(Clone)]
pub struct AuthDirectory {
    auth: AuthClient<Authorized>,
}

impl AuthDirectory {
    pub fn new(channel: Channel, credential: Outgoing) -> Self {
        Self { auth: AuthClient::with_interceptor(channel, credential) }
    }
}

#[async_trait::async_trait]
impl Directory for AuthDirectory {
    async fn role(&self, user_id: i64, organization_id: i64) -> ApiResult<Option<Role>> {
        let reply = self
            .auth
            .clone()
            .get_member_role(MemberRoleQuery { user_id, organization_id })
            .await
            .map_err(|s| ApiError::from_status(&s))?;
        Ok(Role::parse(&reply.into_inner().role))
    }

    async fn users(&self, ids: Vec<i64>) -> ApiResult<Vec<User>> {
        let reply = self.auth.clone().lookup_users(UserIds { ids }).await.map_err(|s| ApiError::from_status(&s))?;
        Ok(reply.into_inner().users)
    }

    async fn existing_organizations(&self, ids: Vec<i64>) -> ApiResult<Vec<i64>> {
        let reply = self
            .auth
            .clone()
            .existing_organizations(OrganizationIds { ids })
            .await
            .map_err(|s| ApiError::from_status(&s))?;
        Ok(reply.into_inner().ids)
    }
}
