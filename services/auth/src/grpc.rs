//! The `Auth` gRPC service: unpacks requests, calls [`Identity`], packs answers.

use cvat_error::{ApiError, ApiResult};
use cvat_identity::Identity;
use cvat_listing::ListParams;
use cvat_proto::auth::auth_server::{Auth, AuthServer};
use cvat_proto::auth::*;
use cvat_proto::common::{Empty, ListQuery, OrgContext};
use cvat_proto::queue::{job::Work, Job, OrganizationDeleted, UserChanged};
use cvat_queue::{Broker, TASK_QUEUE};
use cvat_runtime::credentials::RequireToken;
use cvat_runtime::grpc::{handle, Reply};
use cvat_runtime::Secret;
use prost::Message;
use std::sync::Arc;
use tonic::service::interceptor::InterceptedService;
use tonic::Request;

/// The auth service, answering only callers with the service credential.
pub fn server(
    identity: Arc<Identity>,
    broker: Arc<Broker>,
    service_token: &Secret,
) -> InterceptedService<AuthServer<AuthService>, RequireToken> {
    AuthServer::with_interceptor(AuthService { identity, broker }, RequireToken::new(service_token))
}

pub struct AuthService {
    identity: Arc<Identity>,
    /// Where user changes are reported to the task service.
    broker: Arc<Broker>,
}

fn principal(value: Option<Principal>) -> ApiResult<Principal> {
    value.ok_or_else(|| ApiError::unauthenticated("Authentication credentials were not provided."))
}

fn list_params(query: Option<ListQuery>) -> ListParams {
    query.unwrap_or_default().into()
}

impl AuthService {
    /// Tells the task service about a change of a user or an organization. A report that
    /// cannot be published is only logged: the change is committed, and the task
    /// service's periodic resync repairs what it missed.
    async fn report(&self, work: Work, subject: i64) {
        let job = Job { id: format!("{subject}-{}", uuid::Uuid::new_v4()), work: Some(work) };
        if let Err(err) = self.broker.publish(TASK_QUEUE, &job.id, &job.encode_to_vec()).await {
            tracing::warn!(error = %err, job = %job.id, "change not reported to the task service");
        }
    }

    /// The organization id of a request's context, if it names one.
    async fn org_scope(&self, org: Option<OrgContext>) -> ApiResult<Option<i64>> {
        let resolved = self.identity.resolve_org(&org.unwrap_or_default()).await?;
        Ok((resolved.id != 0).then_some(resolved.id))
    }
}

#[tonic::async_trait]
impl Auth for AuthService {
    async fn authenticate(&self, request: Request<Credentials>) -> Reply<Principal> {
        handle(request, "Authenticate", |c| async move { self.identity.authenticate(&c).await }).await
    }

    async fn sign_url(&self, request: Request<SignUrlRequest>) -> Reply<SignedUrl> {
        handle(request, "SignUrl", |r| async move {
            let principal = r
                .principal
                .ok_or_else(|| ApiError::unauthenticated("Authentication credentials were not provided."))?;
            self.identity.sign_url(&principal, &r.url).await
        })
        .await
    }

    async fn login(&self, request: Request<LoginRequest>) -> Reply<LoginResponse> {
        handle(request, "Login", |r| async move { self.identity.login(&r).await }).await
    }

    async fn logout(&self, request: Request<LogoutRequest>) -> Reply<Empty> {
        handle(
            request,
            "Logout",
            |r| async move { self.identity.logout(&principal(r.principal)?).await.map(|_| Empty {}) },
        )
        .await
    }

    async fn register(&self, request: Request<RegisterRequest>) -> Reply<User> {
        handle(request, "Register", |r| async move { self.identity.register(&r).await }).await
    }

    async fn change_password(&self, request: Request<ChangePasswordRequest>) -> Reply<Empty> {
        handle(request, "ChangePassword", |r| async move { self.identity.change_password(&r).await.map(|_| Empty {}) })
            .await
    }

    async fn request_password_reset(&self, request: Request<PasswordResetRequest>) -> Reply<Empty> {
        handle(request, "RequestPasswordReset", |r| async move {
            self.identity.request_password_reset(&r.email).await.map(|_| Empty {})
        })
        .await
    }

    async fn confirm_password_reset(&self, request: Request<PasswordResetConfirm>) -> Reply<Empty> {
        handle(request, "ConfirmPasswordReset", |r| async move {
            self.identity.confirm_password_reset(&r).await.map(|_| Empty {})
        })
        .await
    }

    async fn create_access_token(&self, request: Request<CreateAccessTokenRequest>) -> Reply<AccessToken> {
        handle(request, "CreateAccessToken", |r| async move {
            self.identity.create_access_token(&principal(r.principal)?, &r.name, &r.expiry_date, r.read_only).await
        })
        .await
    }

    async fn list_access_tokens(&self, request: Request<ListAccessTokensRequest>) -> Reply<AccessTokenPage> {
        handle(request, "ListAccessTokens", |r| async move {
            self.identity.list_access_tokens(&principal(r.principal)?, &list_params(r.query)).await
        })
        .await
    }

    async fn get_access_token(&self, request: Request<AccessTokenRef>) -> Reply<AccessToken> {
        handle(request, "GetAccessToken", |r| async move {
            let id = (!r.self_).then_some(r.id);
            self.identity.get_access_token(&principal(r.principal)?, id).await
        })
        .await
    }

    async fn update_access_token(&self, request: Request<UpdateAccessTokenRequest>) -> Reply<AccessToken> {
        handle(request, "UpdateAccessToken", |r| async move { self.identity.update_access_token(&r).await }).await
    }

    async fn delete_access_token(&self, request: Request<AccessTokenRef>) -> Reply<Empty> {
        handle(request, "DeleteAccessToken", |r| async move {
            self.identity.delete_access_token(&principal(r.principal)?, r.id).await.map(|_| Empty {})
        })
        .await
    }

    async fn get_member_role(&self, request: Request<MemberRoleQuery>) -> Reply<MemberRole> {
        handle(request, "GetMemberRole", |q| async move {
            let role = self.identity.member_role(q.user_id, q.organization_id).await?;
            Ok(MemberRole { role: role.unwrap_or_default() })
        })
        .await
    }

    async fn lookup_users(&self, request: Request<UserIds>) -> Reply<BasicUsers> {
        handle(request, "LookupUsers", |q| async move {
            Ok(BasicUsers { users: self.identity.users_by_ids(&q.ids).await? })
        })
        .await
    }

    async fn existing_organizations(&self, request: Request<OrganizationIds>) -> Reply<OrganizationIds> {
        handle(request, "ExistingOrganizations", |q| async move {
            Ok(OrganizationIds { ids: self.identity.existing_organizations(&q.ids).await? })
        })
        .await
    }

    async fn list_users(&self, request: Request<ListUsersRequest>) -> Reply<UserPage> {
        handle(request, "ListUsers", |r| async move {
            let org = self.org_scope(r.org).await?;
            self.identity.list_users(&principal(r.principal)?, org, &list_params(r.query)).await
        })
        .await
    }

    async fn get_user(&self, request: Request<UserRef>) -> Reply<User> {
        handle(request, "GetUser", |r| async move {
            let org = self.org_scope(r.org).await?;
            let (user, full) = self.identity.get_user(&principal(r.principal)?, r.id, org).await?;
            Ok(if full { user } else { basic(user) })
        })
        .await
    }

    async fn update_user(&self, request: Request<UpdateUserRequest>) -> Reply<User> {
        handle(request, "UpdateUser", |r| async move {
            let patch: serde_json::Value = serde_json::from_str(&r.patch_json)
                .map_err(|e| ApiError::bad_request(format!("JSON parse error - {e}")))?;
            let patch = patch
                .as_object()
                .ok_or_else(|| ApiError::field("non_field_errors", "Invalid data. Expected a dictionary."))?;
            let user = self.identity.update_user(&principal(r.principal)?, r.id, patch).await?;
            self.report(Work::UserChanged(UserChanged { user_id: user.id }), user.id).await;
            Ok(user)
        })
        .await
    }

    async fn delete_user(&self, request: Request<UserRef>) -> Reply<Empty> {
        handle(request, "DeleteUser", |r| async move {
            self.identity.delete_user(&principal(r.principal)?, r.id).await?;
            self.report(Work::UserChanged(UserChanged { user_id: r.id }), r.id).await;
            Ok(Empty {})
        })
        .await
    }

    async fn create_organization(&self, request: Request<CreateOrganizationRequest>) -> Reply<Organization> {
        handle(request, "CreateOrganization", |r| async move {
            self.identity.create_organization(&principal(r.principal)?, &r.body_json).await
        })
        .await
    }

    async fn list_organizations(&self, request: Request<ListOrganizationsRequest>) -> Reply<OrganizationPage> {
        handle(request, "ListOrganizations", |r| async move {
            self.identity.list_organizations(&principal(r.principal)?, &list_params(r.query)).await
        })
        .await
    }

    async fn get_organization(&self, request: Request<OrganizationRef>) -> Reply<Organization> {
        handle(request, "GetOrganization", |r| async move {
            self.identity.get_organization(&principal(r.principal)?, r.id).await
        })
        .await
    }

    async fn update_organization(&self, request: Request<UpdateOrganizationRequest>) -> Reply<Organization> {
        handle(request, "UpdateOrganization", |r| async move {
            self.identity.update_organization(&principal(r.principal)?, r.id, &r.body_json).await
        })
        .await
    }

    async fn delete_organization(&self, request: Request<OrganizationRef>) -> Reply<Empty> {
        handle(request, "DeleteOrganization", |r| async move {
            self.identity.delete_organization(&principal(r.principal)?, r.id).await?;
            self.report(Work::OrganizationDeleted(OrganizationDeleted { organization_id: r.id }), r.id).await;
            Ok(Empty {})
        })
        .await
    }

    async fn list_memberships(&self, request: Request<ListMembershipsRequest>) -> Reply<MembershipPage> {
        handle(request, "ListMemberships", |r| async move {
            let org = self.org_scope(r.org).await?;
            self.identity.list_memberships(&principal(r.principal)?, org, &list_params(r.query)).await
        })
        .await
    }

    async fn get_membership(&self, request: Request<MembershipRef>) -> Reply<Membership> {
        handle(request, "GetMembership", |r| async move {
            self.identity.get_membership(&principal(r.principal)?, r.id).await
        })
        .await
    }

    async fn update_membership(&self, request: Request<UpdateMembershipRequest>) -> Reply<Membership> {
        handle(request, "UpdateMembership", |r| async move {
            self.identity.update_membership(&principal(r.principal)?, r.id, &r.role).await
        })
        .await
    }

    async fn delete_membership(&self, request: Request<MembershipRef>) -> Reply<Empty> {
        handle(request, "DeleteMembership", |r| async move {
            self.identity.delete_membership(&principal(r.principal)?, r.id).await.map(|_| Empty {})
        })
        .await
    }

    async fn create_invitation(&self, request: Request<CreateInvitationRequest>) -> Reply<Invitation> {
        handle(request, "CreateInvitation", |r| async move {
            let org = self.org_scope(r.org).await?;
            self.identity.create_invitation(&principal(r.principal)?, org, &r.email, &r.role).await
        })
        .await
    }

    async fn list_invitations(&self, request: Request<ListInvitationsRequest>) -> Reply<InvitationPage> {
        handle(request, "ListInvitations", |r| async move {
            let org = self.org_scope(r.org).await?;
            self.identity.list_invitations(&principal(r.principal)?, org, &list_params(r.query)).await
        })
        .await
    }

    async fn get_invitation(&self, request: Request<InvitationRef>) -> Reply<Invitation> {
        handle(request, "GetInvitation", |r| async move {
            self.identity.get_invitation(&principal(r.principal)?, &r.key).await
        })
        .await
    }

    async fn accept_invitation(&self, request: Request<InvitationRef>) -> Reply<ResolvedOrganization> {
        handle(request, "AcceptInvitation", |r| async move {
            let slug = self.identity.accept_invitation(&principal(r.principal)?, &r.key).await?;
            Ok(ResolvedOrganization { slug, ..Default::default() })
        })
        .await
    }

    async fn decline_invitation(&self, request: Request<InvitationRef>) -> Reply<Empty> {
        handle(request, "DeclineInvitation", |r| async move {
            self.identity.decline_invitation(&principal(r.principal)?, &r.key).await.map(|_| Empty {})
        })
        .await
    }

    async fn resend_invitation(&self, request: Request<InvitationRef>) -> Reply<Empty> {
        handle(request, "ResendInvitation", |r| async move {
            self.identity.resend_invitation(&principal(r.principal)?, &r.key).await.map(|_| Empty {})
        })
        .await
    }

    async fn delete_invitation(&self, request: Request<InvitationRef>) -> Reply<Empty> {
        handle(request, "DeleteInvitation", |r| async move {
            self.identity.delete_invitation(&principal(r.principal)?, &r.key).await.map(|_| Empty {})
        })
        .await
    }

    async fn resolve_organization(&self, request: Request<OrgContext>) -> Reply<ResolvedOrganization> {
        handle(request, "ResolveOrganization", |r| async move { self.identity.resolve_org(&r).await }).await
    }
}

/// The fields anyone allowed to see a user may see (CVAT's BasicUser).
fn basic(user: User) -> User {
    User {
        id: user.id,
        username: user.username,
        first_name: user.first_name,
        last_name: user.last_name,
        ..Default::default()
    }
}
