//! The task domain's request bodies, one Rust type each, named as the CVAT 2.80
//! client's models (`TaskWriteRequest`, `PatchedTaskWriteRequest`, …). Each declaration is
//! read three ways: utoipa describes it in `/api/schema/`, [`crate::parse`] checks a body
//! against that description (limits, choices, nullability) and serde builds the value.
//!
//! `Option<Option<T>>` fields tell an absent field (`None`: leave it) from `null`
//! (`Some(None)`: clear it).

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

/// The name a choice has on the wire (`"in progress"` for `JobState::InProgress`).
pub fn wire_name<T: Serialize>(choice: &T) -> String {
    match serde_json::to_value(choice) {
        Ok(Value::String(name)) => name,
        _ => String::new(),
    }
}

/// Present (`Some`), possibly `null` (`Some(None)`); absence is serde's default `None`.
pub fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum LocationEnum {
    Local,
    CloudStorage,
}

/// Where a task's or project's exports go and imports come from.
#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct StorageRequest {
    #[schema(inline, nullable = false)]
    pub location: Option<LocationEnum>,
    #[schema(minimum = 1)]
    pub cloud_storage_id: Option<i64>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct ProjectWriteRequest {
    #[schema(min_length = 1, max_length = 256)]
    pub name: String,
    #[schema(nullable = false)]
    pub labels: Option<Vec<PatchedLabelRequest>>,
    #[schema(minimum = 1)]
    pub owner_id: Option<i64>,
    #[schema(minimum = 1)]
    pub assignee_id: Option<i64>,
    #[schema(max_length = 2000, nullable = false)]
    pub bug_tracker: Option<String>,
    #[schema(nullable = false)]
    pub target_storage: Option<StorageRequest>,
    #[schema(nullable = false)]
    pub source_storage: Option<StorageRequest>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct PatchedProjectWriteRequest {
    #[schema(min_length = 1, max_length = 256, nullable = false)]
    pub name: Option<String>,
    #[schema(nullable = false)]
    pub labels: Option<Vec<PatchedLabelRequest>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<i64>, minimum = 1)]
    pub owner_id: Option<Option<i64>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<i64>, minimum = 1)]
    pub assignee_id: Option<Option<i64>>,
    #[schema(max_length = 2000, nullable = false)]
    pub bug_tracker: Option<String>,
    #[schema(nullable = false)]
    pub target_storage: Option<StorageRequest>,
    #[schema(nullable = false)]
    pub source_storage: Option<StorageRequest>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<i64>, minimum = 1)]
    pub organization_id: Option<Option<i64>>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct TaskWriteRequest {
    #[schema(min_length = 1, max_length = 256)]
    pub name: String,
    #[schema(minimum = 1)]
    pub project_id: Option<i64>,
    #[schema(minimum = 1)]
    pub owner_id: Option<i64>,
    #[schema(minimum = 1)]
    pub assignee_id: Option<i64>,
    #[schema(max_length = 2000, nullable = false)]
    pub bug_tracker: Option<String>,
    #[schema(minimum = 0, maximum = 2147483647)]
    pub overlap: Option<i32>,
    #[schema(minimum = 0, maximum = 2147483647, nullable = false)]
    pub segment_size: Option<i32>,
    #[schema(nullable = false)]
    pub labels: Option<Vec<PatchedLabelRequest>>,
    #[schema(max_length = 64, nullable = false)]
    pub subset: Option<String>,
    #[schema(nullable = false)]
    pub target_storage: Option<StorageRequest>,
    #[schema(nullable = false)]
    pub source_storage: Option<StorageRequest>,
    #[schema(minimum = 0, maximum = 2147483647, nullable = false)]
    pub consensus_replicas: Option<i32>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct PatchedTaskWriteRequest {
    #[schema(min_length = 1, max_length = 256, nullable = false)]
    pub name: Option<String>,
    #[schema(minimum = 1)]
    pub project_id: Option<i64>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<i64>, minimum = 1)]
    pub owner_id: Option<Option<i64>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<i64>, minimum = 1)]
    pub assignee_id: Option<Option<i64>>,
    #[schema(max_length = 2000, nullable = false)]
    pub bug_tracker: Option<String>,
    #[schema(nullable = false)]
    pub labels: Option<Vec<PatchedLabelRequest>>,
    #[schema(max_length = 64, nullable = false)]
    pub subset: Option<String>,
    #[schema(nullable = false)]
    pub target_storage: Option<StorageRequest>,
    #[schema(nullable = false)]
    pub source_storage: Option<StorageRequest>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<i64>, minimum = 1)]
    pub organization_id: Option<Option<i64>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum JobStage {
    Annotation,
    Validation,
    Acceptance,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub enum JobState {
    #[serde(rename = "new")]
    #[schema(rename = "new")]
    New,
    #[serde(rename = "in progress")]
    #[schema(rename = "in progress")]
    InProgress,
    #[serde(rename = "completed")]
    #[schema(rename = "completed")]
    Completed,
    #[serde(rename = "rejected")]
    #[schema(rename = "rejected")]
    Rejected,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct PatchedJobWriteRequest {
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<i64>, minimum = 1)]
    pub assignee: Option<Option<i64>>,
    #[schema(inline, nullable = false)]
    pub stage: Option<JobStage>,
    #[schema(inline, nullable = false)]
    pub state: Option<JobState>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct IssueWriteRequest {
    #[schema(minimum = 0, maximum = 2147483647)]
    pub frame: i32,
    /// x, y pairs: at least one point.
    pub position: Vec<f64>,
    #[schema(minimum = 1)]
    pub job: i64,
    /// The first comment.
    #[schema(min_length = 1)]
    pub message: String,
    #[schema(minimum = 1)]
    pub assignee: Option<i64>,
    #[schema(nullable = false)]
    pub resolved: Option<bool>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct PatchedIssueWriteRequest {
    #[schema(nullable = false)]
    pub position: Option<Vec<f64>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<i64>, minimum = 1)]
    pub assignee: Option<Option<i64>>,
    #[schema(nullable = false)]
    pub resolved: Option<bool>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct CommentWriteRequest {
    #[schema(minimum = 1)]
    pub issue: i64,
    #[schema(min_length = 1, nullable = false)]
    pub message: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct PatchedCommentWriteRequest {
    #[schema(min_length = 1, nullable = false)]
    pub message: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[allow(clippy::upper_case_acronyms)]
pub enum ProviderTypeEnum {
    #[serde(rename = "AWS_S3_BUCKET")]
    #[schema(rename = "AWS_S3_BUCKET")]
    AwsS3Bucket,
    #[serde(rename = "AZURE_CONTAINER")]
    #[schema(rename = "AZURE_CONTAINER")]
    AzureContainer,
    #[serde(rename = "GOOGLE_CLOUD_STORAGE")]
    #[schema(rename = "GOOGLE_CLOUD_STORAGE")]
    GoogleCloudStorage,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum CredentialsTypeEnum {
    #[schema(rename = "KEY_SECRET_KEY_PAIR")]
    KeySecretKeyPair,
    #[schema(rename = "ACCOUNT_NAME_TOKEN_PAIR")]
    AccountNameTokenPair,
    #[schema(rename = "KEY_FILE_PATH")]
    KeyFilePath,
    #[schema(rename = "ANONYMOUS_ACCESS")]
    AnonymousAccess,
    #[schema(rename = "CONNECTION_STRING")]
    ConnectionString,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct CloudStorageWriteRequest {
    #[schema(inline)]
    pub provider_type: ProviderTypeEnum,
    #[schema(min_length = 1, max_length = 222)]
    pub resource: String,
    #[schema(min_length = 1, max_length = 63)]
    pub display_name: String,
    #[schema(inline)]
    pub credentials_type: CredentialsTypeEnum,
    #[schema(max_length = 440, nullable = false)]
    pub session_token: Option<String>,
    #[schema(max_length = 40, nullable = false)]
    pub key: Option<String>,
    #[schema(max_length = 64, nullable = false)]
    pub secret_key: Option<String>,
    /// `region=...&endpoint_url=...&prefix=...`
    #[schema(max_length = 1024, nullable = false)]
    pub specific_attributes: Option<String>,
    #[schema(nullable = false)]
    pub description: Option<String>,
    #[schema(nullable = false)]
    pub manifests: Option<Vec<String>>,
}

/// A create is a PATCH of every field, applied to nothing.
impl From<CloudStorageWriteRequest> for PatchedCloudStorageWriteRequest {
    fn from(full: CloudStorageWriteRequest) -> Self {
        Self {
            provider_type: Some(full.provider_type),
            resource: Some(full.resource),
            display_name: Some(full.display_name),
            credentials_type: Some(full.credentials_type),
            session_token: full.session_token,
            key: full.key,
            secret_key: full.secret_key,
            specific_attributes: full.specific_attributes,
            description: full.description,
            manifests: full.manifests,
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct PatchedCloudStorageWriteRequest {
    #[schema(inline, nullable = false)]
    pub provider_type: Option<ProviderTypeEnum>,
    #[schema(min_length = 1, max_length = 222, nullable = false)]
    pub resource: Option<String>,
    #[schema(min_length = 1, max_length = 63, nullable = false)]
    pub display_name: Option<String>,
    #[schema(inline, nullable = false)]
    pub credentials_type: Option<CredentialsTypeEnum>,
    #[schema(max_length = 440, nullable = false)]
    pub session_token: Option<String>,
    #[schema(max_length = 40, nullable = false)]
    pub key: Option<String>,
    #[schema(max_length = 64, nullable = false)]
    pub secret_key: Option<String>,
    #[schema(max_length = 1024, nullable = false)]
    pub specific_attributes: Option<String>,
    #[schema(nullable = false)]
    pub description: Option<String>,
    #[schema(nullable = false)]
    pub manifests: Option<Vec<String>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum StorageMethod {
    Cache,
    FileSystem,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SortingMethod {
    Lexicographical,
    Natural,
    Predefined,
    Random,
}

/// What `POST /api/tasks/{id}/data/` reads: as JSON, or as the form fields of a
/// multipart upload (whose text values the gateway types first). Where the media is
/// kept (`storage`) follows from the files named, as in CVAT.
#[derive(Debug, Deserialize, ToSchema)]
pub struct DataRequest {
    #[schema(minimum = 1, maximum = 100)]
    pub image_quality: i32,
    #[schema(minimum = 1, maximum = 2147483647)]
    pub chunk_size: Option<i32>,
    #[schema(minimum = 0, maximum = 2147483647, nullable = false)]
    pub start_frame: Option<i32>,
    #[schema(minimum = 0, maximum = 2147483647, nullable = false)]
    pub stop_frame: Option<i32>,
    /// `step=N`
    #[schema(max_length = 256, nullable = false)]
    pub frame_filter: Option<String>,
    /// Paths inside the share, or keys of the cloud storage's bucket.
    #[schema(nullable = false)]
    pub server_files: Option<Vec<String>>,
    /// http(s) URLs the server downloads.
    #[schema(nullable = false)]
    pub remote_files: Option<Vec<String>>,
    #[schema(nullable = false)]
    pub server_files_exclude: Option<Vec<String>>,
    #[schema(nullable = false)]
    pub use_zip_chunks: Option<bool>,
    #[schema(minimum = 1)]
    pub cloud_storage_id: Option<i64>,
    #[schema(nullable = false)]
    pub use_cache: Option<bool>,
    #[schema(nullable = false)]
    pub copy_data: Option<bool>,
    #[schema(inline, nullable = false)]
    pub storage_method: Option<StorageMethod>,
    #[schema(inline, nullable = false)]
    pub sorting_method: Option<SortingMethod>,
    /// A glob the share's or bucket's files must match.
    #[schema(min_length = 1)]
    pub filename_pattern: Option<String>,
    /// Files per job, in order.
    #[schema(nullable = false)]
    pub job_file_mapping: Option<Vec<Vec<String>>>,
    /// The order of uploaded files when `sorting_method` is `predefined`.
    #[schema(nullable = false)]
    pub upload_file_order: Option<Vec<String>>,
    /// Validation frames: refused by this server for now.
    #[schema(value_type = Option<Object>)]
    pub validation_params: Option<Value>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct OrganizationWriteRequest {
    #[schema(pattern = "^[-a-zA-Z0-9_]+$", min_length = 1, max_length = 16)]
    pub slug: String,
    #[schema(max_length = 64, nullable = false)]
    pub name: Option<String>,
    #[schema(nullable = false)]
    pub description: Option<String>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<Object>)]
    pub contact: Option<Option<Value>>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct PatchedOrganizationWriteRequest {
    #[schema(pattern = "^[-a-zA-Z0-9_]+$", min_length = 1, max_length = 16, nullable = false)]
    pub slug: Option<String>,
    #[schema(max_length = 64, nullable = false)]
    pub name: Option<String>,
    #[schema(nullable = false)]
    pub description: Option<String>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<Object>)]
    pub contact: Option<Option<Value>>,
}

/// A create is a PATCH that names a slug.
impl From<OrganizationWriteRequest> for PatchedOrganizationWriteRequest {
    fn from(full: OrganizationWriteRequest) -> Self {
        Self { slug: Some(full.slug), name: full.name, description: full.description, contact: full.contact }
    }
}

/// The groups a user may be put in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum UserGroup {
    Admin,
    User,
    Worker,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct PatchedUserRequest {
    #[schema(pattern = r"^[\w.@+-]+$", min_length = 1, max_length = 150, nullable = false)]
    pub username: Option<String>,
    #[schema(max_length = 150, nullable = false)]
    pub first_name: Option<String>,
    #[schema(max_length = 150, nullable = false)]
    pub last_name: Option<String>,
    #[schema(max_length = 254, nullable = false)]
    pub email: Option<String>,
    #[schema(inline, nullable = false)]
    pub groups: Option<Vec<UserGroup>>,
    #[schema(nullable = false)]
    pub is_staff: Option<bool>,
    #[schema(nullable = false)]
    pub is_superuser: Option<bool>,
    #[schema(nullable = false)]
    pub is_active: Option<bool>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum LabelType {
    Any,
    Rectangle,
    Polygon,
    Polyline,
    Points,
    Ellipse,
    Cuboid,
    Mask,
    Skeleton,
    Tag,
    Interval,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum InputTypeEnum {
    Checkbox,
    Radio,
    Number,
    Text,
    Select,
}

// Labels: the shapes are checked here; `cvat_labels` applies the rules across fields
// (colours, defaults among the values, skeletons, unique names).

#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct AttributeRequest {
    #[schema(minimum = 1, nullable = false)]
    pub id: Option<i64>,
    #[schema(min_length = 1, max_length = 64)]
    pub name: String,
    pub mutable: bool,
    #[schema(inline)]
    pub input_type: InputTypeEnum,
    #[schema(max_length = 128, nullable = false)]
    pub default_value: Option<String>,
    pub values: Vec<String>,
    #[schema(nullable = false)]
    pub deleted: Option<bool>,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct SublabelRequest {
    #[schema(min_length = 1, max_length = 64)]
    pub name: String,
    #[schema(minimum = 1, nullable = false)]
    pub id: Option<i64>,
    /// `#RRGGBB`
    #[schema(nullable = false)]
    pub color: Option<String>,
    #[schema(nullable = false)]
    pub attributes: Option<Vec<AttributeRequest>>,
    #[schema(inline)]
    pub r#type: Option<LabelType>,
    #[schema(nullable = false)]
    pub has_parent: Option<bool>,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct PatchedLabelRequest {
    /// An existing label's id (to change or delete it); none for a new one.
    #[schema(minimum = 1, nullable = false)]
    pub id: Option<i64>,
    #[schema(min_length = 1, max_length = 64, nullable = false)]
    pub name: Option<String>,
    /// `#RRGGBB`
    #[schema(nullable = false)]
    pub color: Option<String>,
    #[schema(nullable = false)]
    pub attributes: Option<Vec<AttributeRequest>>,
    #[schema(nullable = false)]
    pub deleted: Option<bool>,
    #[schema(inline)]
    pub r#type: Option<LabelType>,
    #[schema(nullable = false)]
    pub svg: Option<String>,
    #[schema(nullable = false)]
    pub sublabels: Option<Vec<SublabelRequest>>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn body(value: Value) -> serde_json::Map<String, Value> {
        value.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn every_field_error_is_collected_in_drf_words() {
        let err = crate::parse::<TaskWriteRequest>(&body(json!({
            "name": " ", "project_id": 0, "overlap": "x", "subset": "s".repeat(65), "segment_size": null
        })))
        .unwrap_err();
        assert_eq!(
            err.body,
            json!({
                "name": ["This field may not be blank."],
                "project_id": ["Ensure this value is greater than or equal to 1."],
                "overlap": ["A valid integer is required."],
                "subset": ["Ensure this field has no more than 64 characters."],
                "segment_size": ["This field may not be null."],
            })
        );
        let err = crate::parse::<TaskWriteRequest>(&body(json!({"name": 42}))).unwrap_err();
        assert_eq!(err.body, json!({"name": ["Not a valid string."]}));
        let err = crate::parse::<IssueWriteRequest>(&body(json!({"position": [1, "a"]}))).unwrap_err();
        for field in ["frame", "job", "message"] {
            assert_eq!(err.body[field], json!(["This field is required."]), "{field}");
        }
        assert_eq!(err.body["position"], json!(["A valid number is required."]));
    }

    #[test]
    fn integral_floats_are_integers_and_null_differs_from_absent() {
        let task: PatchedTaskWriteRequest =
            crate::parse(&body(json!({"owner_id": 3.0, "assignee_id": null, "extra": true}))).unwrap();
        assert_eq!((task.owner_id, task.assignee_id, task.organization_id), (Some(Some(3)), Some(None), None));
        let err = crate::parse::<PatchedTaskWriteRequest>(&body(json!({"owner_id": 2.5}))).unwrap_err();
        assert_eq!(err.body, json!({"owner_id": ["A valid integer is required."]}));
    }

    #[test]
    fn nested_models_report_errors_in_place() {
        let err = crate::parse::<TaskWriteRequest>(&body(json!({
            "name": "t",
            "labels": [{"name": "ok"}, {"name": 1, "attributes": [{"name": "a", "input_type": "slider", "values": []}]}],
            "source_storage": {"location": "moon"},
            "target_storage": "local",
        })))
        .unwrap_err();
        assert_eq!(
            err.body,
            json!({
                "labels": [{}, {
                    "name": ["Not a valid string."],
                    "attributes": [{"mutable": ["This field is required."], "input_type": ["\"slider\" is not a valid choice."]}],
                }],
                "source_storage": {"location": ["\"moon\" is not a valid choice."]},
                "target_storage": {"non_field_errors": ["Invalid data. Expected a dictionary, but got str."]},
            })
        );
        let task: TaskWriteRequest = crate::parse(&body(json!({
            "name": "t", "labels": [{"name": "s", "type": "skeleton", "sublabels": [{"name": "x", "type": null}]}]
        })))
        .unwrap();
        let labels = task.labels.unwrap_or_default();
        assert_eq!(labels[0].r#type, Some(LabelType::Skeleton));
        assert_eq!(labels[0].sublabels.as_ref().map(Vec::len), Some(1));
    }

    #[test]
    fn choices_come_from_the_enums() {
        let job: PatchedJobWriteRequest = crate::parse(&body(json!({"state": "in progress"}))).unwrap();
        assert_eq!(job.state, Some(JobState::InProgress));
        let err = crate::parse::<PatchedJobWriteRequest>(&body(json!({"stage": "done", "state": 1}))).unwrap_err();
        assert_eq!(err.body, json!({"stage": ["\"done\" is not a valid choice."], "state": ["Not a valid string."]}));
        let storage: CloudStorageWriteRequest = crate::parse(&body(json!({
            "provider_type": "AWS_S3_BUCKET", "resource": "b", "display_name": "d",
            "credentials_type": "ANONYMOUS_ACCESS", "manifests": ["m.jsonl"]
        })))
        .unwrap();
        assert_eq!(storage.credentials_type, CredentialsTypeEnum::AnonymousAccess);
        let err = crate::parse::<PatchedCloudStorageWriteRequest>(&body(json!({"manifests": "m"}))).unwrap_err();
        assert_eq!(err.body, json!({"manifests": ["Expected a list of items but got type \"str\"."]}));
    }
}
