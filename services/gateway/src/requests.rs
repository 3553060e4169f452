//! The bodies the gateway reads itself (logins, registration, passwords, tokens,
//! memberships, invitations), named like CVAT's models. As for the task domain's (in
//! `cvat_models`), one declaration serves the schema, the checks ([`cvat_models::parse`]
//! against it) and the parsed value. Rules only the auth service can judge (password
//! strength, expiry dates in the future, who may be invited) stay there.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Debug, Deserialize, ToSchema)]
pub struct LoginSerializerExRequest {
    #[schema(nullable = false)]
    pub username: Option<String>,
    #[schema(nullable = false)]
    pub email: Option<String>,
    #[schema(min_length = 1)]
    pub password: String,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct RegisterSerializerExRequest {
    #[schema(min_length = 5, max_length = 150)]
    pub username: String,
    #[schema(min_length = 8, max_length = 256)]
    pub password1: String,
    #[schema(min_length = 8, max_length = 256)]
    pub password2: String,
    #[schema(nullable = false)]
    pub email: Option<String>,
    #[schema(nullable = false)]
    pub first_name: Option<String>,
    #[schema(nullable = false)]
    pub last_name: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct PasswordChangeRequest {
    #[schema(min_length = 1)]
    pub old_password: String,
    #[schema(min_length = 8, max_length = 256)]
    pub new_password1: String,
    #[schema(min_length = 8, max_length = 256)]
    pub new_password2: String,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct PasswordResetSerializerExRequest {
    #[schema(min_length = 1)]
    pub email: String,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct PasswordResetConfirmRequest {
    #[schema(min_length = 1)]
    pub uid: String,
    #[schema(min_length = 1)]
    pub token: String,
    #[schema(min_length = 8, max_length = 256)]
    pub new_password1: String,
    #[schema(min_length = 8, max_length = 256)]
    pub new_password2: String,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct AccessTokenWriteRequest {
    #[schema(min_length = 1, max_length = 50)]
    pub name: String,
    /// Absent or null: no expiry. The auth service reads the date.
    #[schema(value_type = Option<chrono::DateTime<chrono::Utc>>)]
    pub expiry_date: Option<String>,
    #[schema(nullable = false)]
    pub read_only: Option<bool>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct PatchedAccessTokenWriteRequest {
    #[schema(min_length = 1, max_length = 50, nullable = false)]
    pub name: Option<String>,
    /// Absent: unchanged; null: no expiry. The auth service reads the date.
    #[serde(default, deserialize_with = "cvat_models::present")]
    #[schema(value_type = Option<chrono::DateTime<chrono::Utc>>)]
    pub expiry_date: Option<Option<String>>,
    #[schema(nullable = false)]
    pub read_only: Option<bool>,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RoleEnum {
    Worker,
    Supervisor,
    Maintainer,
    Owner,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct PatchedMembershipWriteRequest {
    #[schema(inline, nullable = false)]
    pub role: Option<RoleEnum>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct InvitationWriteRequest {
    #[schema(inline)]
    pub role: RoleEnum,
    /// An e-mail address or a username.
    #[schema(min_length = 1)]
    pub email: String,
}

/// `POST /api/auth/signing`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct SigningRequest {
    #[schema(min_length = 1, max_length = 8192)]
    pub url: String,
}
