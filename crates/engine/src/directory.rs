//! Facts the auth service owns, asked over gRPC: a user's role in an organization,
//! users' basic records, which organizations exist.

use cvat_error::{ApiError, ApiResult};
use cvat_permissions::Role;
use cvat_proto::auth::auth_client::AuthClient;
use cvat_proto::auth::{MemberRoleQuery, OrganizationIds, User, UserIds};
use cvat_runtime::credentials::{Authorized, Outgoing};
use tonic::transport::Channel;

#[derive(Clone)]
pub struct Directory {
    auth: AuthClient<Authorized>,
}

impl Directory {
    /// Calls auth over `channel` with the service credential.
    pub fn new(channel: Channel, credential: Outgoing) -> Self {
        Self { auth: AuthClient::with_interceptor(channel, credential) }
    }

    /// The user's active role in the organization, `None` when not an active member.
    pub async fn role(&self, user_id: i64, organization_id: i64) -> ApiResult<Option<Role>> {
        let reply = self
            .auth
            .clone()
            .get_member_role(MemberRoleQuery { user_id, organization_id })
            .await
            .map_err(|s| ApiError::from_status(&s))?;
        Ok(Role::parse(&reply.into_inner().role))
    }

    /// The existing users among `ids`.
    pub async fn users(&self, ids: Vec<i64>) -> ApiResult<Vec<User>> {
        let reply = self.auth.clone().lookup_users(UserIds { ids }).await.map_err(|s| ApiError::from_status(&s))?;
        Ok(reply.into_inner().users)
    }

    /// The organizations among `ids` that exist.
    pub async fn existing_organizations(&self, ids: Vec<i64>) -> ApiResult<Vec<i64>> {
        let reply = self
            .auth
            .clone()
            .existing_organizations(OrganizationIds { ids })
            .await
            .map_err(|s| ApiError::from_status(&s))?;
        Ok(reply.into_inner().ids)
    }
}
