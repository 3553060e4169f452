//! The auth domain's request bodies as the OpenAPI document describes them, named like
//! CVAT's models. (The task domain's are in `cvat_models`, which parses bodies against
//! them.) Handlers read these bodies field by field (`cvat_error::Fields`) so that every
//! bad field is reported in CVAT's `{"field": ["message"]}` shape.

#![allow(dead_code)] // Read by the schema generator, never constructed.

use serde_json::Value;
use utoipa::ToSchema;

#[derive(ToSchema)]
pub struct LoginSerializerExRequest {
    #[schema(nullable = false)]
    username: Option<String>,
    #[schema(nullable = false)]
    email: Option<String>,
    #[schema(min_length = 1)]
    password: String,
}

#[derive(ToSchema)]
pub struct RegisterSerializerExRequest {
    #[schema(min_length = 5, max_length = 150)]
    username: String,
    #[schema(min_length = 8, max_length = 256)]
    password1: String,
    #[schema(min_length = 8, max_length = 256)]
    password2: String,
    #[schema(nullable = false)]
    email: Option<String>,
    #[schema(nullable = false)]
    first_name: Option<String>,
    #[schema(nullable = false)]
    last_name: Option<String>,
}

#[derive(ToSchema)]
pub struct PasswordChangeRequest {
    old_password: String,
    #[schema(min_length = 8, max_length = 256)]
    new_password1: String,
    #[schema(min_length = 8, max_length = 256)]
    new_password2: String,
}

#[derive(ToSchema)]
pub struct PasswordResetSerializerExRequest {
    email: String,
}

#[derive(ToSchema)]
pub struct PasswordResetConfirmRequest {
    uid: String,
    token: String,
    #[schema(min_length = 8, max_length = 256)]
    new_password1: String,
    #[schema(min_length = 8, max_length = 256)]
    new_password2: String,
}

#[derive(ToSchema)]
pub struct AccessTokenWriteRequest {
    #[schema(min_length = 1, max_length = 50)]
    name: String,
    expiry_date: Option<chrono::DateTime<chrono::Utc>>,
    #[schema(nullable = false)]
    read_only: Option<bool>,
}

#[derive(ToSchema)]
pub struct PatchedAccessTokenWriteRequest {
    #[schema(min_length = 1, max_length = 50, nullable = false)]
    name: Option<String>,
    expiry_date: Option<chrono::DateTime<chrono::Utc>>,
    #[schema(nullable = false)]
    read_only: Option<bool>,
}

#[derive(ToSchema)]
pub struct PatchedUserRequest {
    #[schema(pattern = r"^[\w.@+-]+$", max_length = 150, nullable = false)]
    username: Option<String>,
    #[schema(nullable = false)]
    first_name: Option<String>,
    #[schema(nullable = false)]
    last_name: Option<String>,
    #[schema(nullable = false)]
    email: Option<String>,
    #[schema(nullable = false)]
    groups: Option<Vec<String>>,
    #[schema(nullable = false)]
    is_staff: Option<bool>,
    #[schema(nullable = false)]
    is_superuser: Option<bool>,
    #[schema(nullable = false)]
    is_active: Option<bool>,
}

#[derive(ToSchema)]
pub struct OrganizationWriteRequest {
    #[schema(pattern = "^[-a-zA-Z0-9_]+$", min_length = 1, max_length = 16)]
    slug: String,
    #[schema(max_length = 64, nullable = false)]
    name: Option<String>,
    #[schema(nullable = false)]
    description: Option<String>,
    #[schema(value_type = Option<Object>)]
    contact: Option<Value>,
}

#[derive(ToSchema)]
pub struct PatchedOrganizationWriteRequest {
    #[schema(pattern = "^[-a-zA-Z0-9_]+$", min_length = 1, max_length = 16, nullable = false)]
    slug: Option<String>,
    #[schema(max_length = 64, nullable = false)]
    name: Option<String>,
    #[schema(nullable = false)]
    description: Option<String>,
    #[schema(value_type = Option<Object>)]
    contact: Option<Value>,
}

#[derive(ToSchema)]
pub enum RoleEnum {
    #[schema(rename = "worker")]
    Worker,
    #[schema(rename = "supervisor")]
    Supervisor,
    #[schema(rename = "maintainer")]
    Maintainer,
    #[schema(rename = "owner")]
    Owner,
}

#[derive(ToSchema)]
pub struct PatchedMembershipWriteRequest {
    #[schema(nullable = false)]
    role: Option<RoleEnum>,
}

#[derive(ToSchema)]
pub struct InvitationWriteRequest {
    role: RoleEnum,
    /// An e-mail address or a username.
    email: String,
}
