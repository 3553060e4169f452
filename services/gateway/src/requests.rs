//! Request bodies as the OpenAPI document describes them, named like CVAT's models.
//! Handlers read bodies field by field (`cvat_error::Fields`) so that every bad field is
//! reported in CVAT's `{"field": ["message"]}` shape; these types only describe them.

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

#[derive(ToSchema)]
pub struct AttributeRequest {
    #[schema(nullable = false)]
    id: Option<i64>,
    #[schema(max_length = 64)]
    name: String,
    mutable: bool,
    /// checkbox, radio, number, text or select
    input_type: String,
    #[schema(max_length = 128, nullable = false)]
    default_value: Option<String>,
    values: Vec<String>,
}

#[derive(ToSchema)]
pub struct SublabelRequest {
    #[schema(nullable = false)]
    id: Option<i64>,
    #[schema(max_length = 64)]
    name: String,
    #[schema(nullable = false)]
    color: Option<String>,
    #[schema(nullable = false)]
    attributes: Option<Vec<AttributeRequest>>,
    r#type: Option<String>,
    #[schema(nullable = false)]
    has_parent: Option<bool>,
}

#[derive(ToSchema)]
pub struct PatchedLabelRequest {
    #[schema(nullable = false)]
    id: Option<i64>,
    #[schema(min_length = 1, max_length = 64, nullable = false)]
    name: Option<String>,
    #[schema(nullable = false)]
    color: Option<String>,
    #[schema(nullable = false)]
    attributes: Option<Vec<AttributeRequest>>,
    #[schema(nullable = false)]
    deleted: Option<bool>,
    /// any, rectangle, polygon, polyline, points, ellipse, cuboid, mask, skeleton, tag
    r#type: Option<String>,
    #[schema(nullable = false)]
    svg: Option<String>,
    #[schema(nullable = false)]
    sublabels: Option<Vec<SublabelRequest>>,
}

#[derive(ToSchema)]
pub struct StorageRequest {
    /// local or cloud_storage
    #[schema(nullable = false)]
    location: Option<String>,
    cloud_storage_id: Option<i64>,
}

#[derive(ToSchema)]
pub struct ProjectWriteRequest {
    #[schema(min_length = 1, max_length = 256)]
    name: String,
    #[schema(nullable = false)]
    labels: Option<Vec<PatchedLabelRequest>>,
    owner_id: Option<i64>,
    assignee_id: Option<i64>,
    #[schema(max_length = 2000, nullable = false)]
    bug_tracker: Option<String>,
    #[schema(nullable = false)]
    target_storage: Option<StorageRequest>,
    #[schema(nullable = false)]
    source_storage: Option<StorageRequest>,
}

#[derive(ToSchema)]
pub struct PatchedProjectWriteRequest {
    #[schema(min_length = 1, max_length = 256, nullable = false)]
    name: Option<String>,
    #[schema(nullable = false)]
    labels: Option<Vec<PatchedLabelRequest>>,
    owner_id: Option<i64>,
    assignee_id: Option<i64>,
    #[schema(max_length = 2000, nullable = false)]
    bug_tracker: Option<String>,
    #[schema(nullable = false)]
    target_storage: Option<StorageRequest>,
    #[schema(nullable = false)]
    source_storage: Option<StorageRequest>,
    organization_id: Option<i64>,
}

#[derive(ToSchema)]
pub struct TaskWriteRequest {
    #[schema(min_length = 1, max_length = 256)]
    name: String,
    project_id: Option<i64>,
    owner_id: Option<i64>,
    assignee_id: Option<i64>,
    #[schema(max_length = 2000, nullable = false)]
    bug_tracker: Option<String>,
    overlap: Option<i32>,
    #[schema(nullable = false)]
    segment_size: Option<i32>,
    #[schema(nullable = false)]
    labels: Option<Vec<PatchedLabelRequest>>,
    #[schema(max_length = 64, nullable = false)]
    subset: Option<String>,
    #[schema(nullable = false)]
    target_storage: Option<StorageRequest>,
    #[schema(nullable = false)]
    source_storage: Option<StorageRequest>,
    #[schema(nullable = false)]
    consensus_replicas: Option<i32>,
}

#[derive(ToSchema)]
pub struct PatchedTaskWriteRequest {
    #[schema(min_length = 1, max_length = 256, nullable = false)]
    name: Option<String>,
    project_id: Option<i64>,
    owner_id: Option<i64>,
    assignee_id: Option<i64>,
    #[schema(max_length = 2000, nullable = false)]
    bug_tracker: Option<String>,
    #[schema(nullable = false)]
    labels: Option<Vec<PatchedLabelRequest>>,
    #[schema(max_length = 64, nullable = false)]
    subset: Option<String>,
    #[schema(nullable = false)]
    target_storage: Option<StorageRequest>,
    #[schema(nullable = false)]
    source_storage: Option<StorageRequest>,
    organization_id: Option<i64>,
}

#[derive(ToSchema)]
pub struct PatchedJobWriteRequest {
    assignee: Option<i64>,
    /// annotation, validation or acceptance
    #[schema(nullable = false)]
    stage: Option<String>,
    /// new, in progress, completed or rejected
    #[schema(nullable = false)]
    state: Option<String>,
}

#[derive(ToSchema)]
pub struct CloudStorageWriteRequest {
    #[schema(example = "AWS_S3_BUCKET")]
    provider_type: String,
    #[schema(min_length = 1, max_length = 222)]
    resource: String,
    #[schema(min_length = 1, max_length = 63)]
    display_name: String,
    #[schema(example = "KEY_SECRET_KEY_PAIR")]
    credentials_type: String,
    #[schema(max_length = 440, nullable = false)]
    session_token: Option<String>,
    #[schema(max_length = 40, nullable = false)]
    key: Option<String>,
    #[schema(max_length = 64, nullable = false)]
    secret_key: Option<String>,
    /// `region=...&endpoint_url=...&prefix=...`
    #[schema(max_length = 1024, nullable = false)]
    specific_attributes: Option<String>,
    #[schema(nullable = false)]
    description: Option<String>,
    #[schema(nullable = false)]
    manifests: Option<Vec<String>>,
}

#[derive(ToSchema)]
pub struct PatchedCloudStorageWriteRequest {
    #[schema(nullable = false)]
    provider_type: Option<String>,
    #[schema(min_length = 1, max_length = 222, nullable = false)]
    resource: Option<String>,
    #[schema(min_length = 1, max_length = 63, nullable = false)]
    display_name: Option<String>,
    #[schema(nullable = false)]
    credentials_type: Option<String>,
    #[schema(max_length = 440, nullable = false)]
    session_token: Option<String>,
    #[schema(max_length = 40, nullable = false)]
    key: Option<String>,
    #[schema(max_length = 64, nullable = false)]
    secret_key: Option<String>,
    #[schema(max_length = 1024, nullable = false)]
    specific_attributes: Option<String>,
    #[schema(nullable = false)]
    description: Option<String>,
    #[schema(nullable = false)]
    manifests: Option<Vec<String>>,
}

#[derive(ToSchema)]
pub struct IssueWriteRequest {
    #[schema(minimum = 0, maximum = 2147483647)]
    frame: i32,
    /// x, y pairs: at least one point.
    position: Vec<f64>,
    job: i64,
    /// The first comment.
    #[schema(min_length = 1)]
    message: String,
    assignee: Option<i64>,
    #[schema(nullable = false)]
    resolved: Option<bool>,
}

#[derive(ToSchema)]
pub struct PatchedIssueWriteRequest {
    #[schema(nullable = false)]
    position: Option<Vec<f64>>,
    assignee: Option<i64>,
    #[schema(nullable = false)]
    resolved: Option<bool>,
}

#[derive(ToSchema)]
pub struct CommentWriteRequest {
    issue: i64,
    #[schema(min_length = 1, nullable = false)]
    message: Option<String>,
}

#[derive(ToSchema)]
pub struct PatchedCommentWriteRequest {
    #[schema(min_length = 1, nullable = false)]
    message: Option<String>,
}
