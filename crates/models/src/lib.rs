//! The documents the task service answers and the bodies it reads, one Rust type each,
//! named and shaped as the CVAT 2.80 client's models (`TaskRead`, `TaskWriteRequest`, …
//! in the reference's `api-models.json`). The same declaration renders or parses the JSON
//! (serde) and describes it in `/api/schema/` (utoipa); request bodies are checked
//! against that description ([`parse`]), so the schema cannot drift from what is sent
//! or accepted. No I/O.
//!
//! Timestamps render as RFC 3339 with microseconds and `Z`, as CVAT's do.

mod functions;
mod guides;
mod requests;
mod validate;
mod webhooks;

pub use functions::*;
pub use guides::*;
pub use requests::*;
pub use validate::parse;
pub use webhooks::*;

use chrono::{DateTime, Utc};
use serde::{Serialize, Serializer};
use serde_json::Value;
use utoipa::ToSchema;

/// A moment as CVAT writes it: RFC 3339, microseconds, `Z`; a string with the
/// `date-time` format in the schema.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timestamp(pub DateTime<Utc>);

impl From<DateTime<Utc>> for Timestamp {
    fn from(value: DateTime<Utc>) -> Self {
        Self(value)
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0.to_rfc3339_opts(chrono::SecondsFormat::Micros, true))
    }
}

impl utoipa::PartialSchema for Timestamp {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{KnownFormat, ObjectBuilder, SchemaFormat, Type};
        ObjectBuilder::new()
            .schema_type(Type::String)
            .format(Some(SchemaFormat::KnownFormat(KnownFormat::DateTime)))
            .into()
    }
}

impl ToSchema for Timestamp {}

/// A JSON document of the wire: what the gateway passes through unchanged.
pub fn render<T: Serialize>(document: &T) -> String {
    // Serializing these types cannot fail: their maps have string keys only.
    serde_json::to_string(document).unwrap_or_default()
}

/// [`render`] appended to `buffer` (documents written in parts).
pub fn render_into<T: Serialize>(buffer: &mut Vec<u8>, document: &T) {
    // As in `render`: nothing here can fail, and writing to a Vec is no I/O.
    let _ = serde_json::to_writer(buffer, document);
}

/// A user as other documents name them (owner, assignee).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct BasicUser {
    pub url: String,
    pub id: i64,
    pub username: String,
    pub first_name: String,
    pub last_name: String,
}

/// Where a project's or task's data is imported from or exported to.
#[derive(Debug, Clone, Serialize, serde::Deserialize, ToSchema)]
pub struct Storage {
    pub id: i64,
    /// `local` or `cloud_storage`.
    pub location: String,
    pub cloud_storage_id: Option<i64>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct JobsSummary {
    pub count: i64,
    pub completed: Option<i64>,
    pub validation: Option<i64>,
    pub url: String,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct LabelsSummary {
    pub url: String,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TasksSummary {
    pub count: i64,
    pub url: String,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct IssuesSummary {
    pub url: String,
    pub count: i64,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ProjectRead {
    pub url: String,
    pub id: i64,
    pub name: String,
    pub labels: LabelsSummary,
    pub tasks: TasksSummary,
    pub owner: Option<BasicUser>,
    pub assignee: Option<BasicUser>,
    pub guide_id: Option<i64>,
    pub bug_tracker: String,
    pub task_subsets: Vec<String>,
    pub created_date: Timestamp,
    pub updated_date: Timestamp,
    pub status: Option<String>,
    pub dimension: Option<String>,
    pub organization: Option<i64>,
    pub organization_id: Option<i64>,
    pub target_storage: Option<Storage>,
    pub source_storage: Option<Storage>,
    pub assignee_updated_date: Option<Timestamp>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TaskRead {
    pub url: String,
    pub id: i64,
    pub name: String,
    pub project_id: Option<i64>,
    pub project_name: Option<String>,
    pub owner: Option<BasicUser>,
    pub assignee: Option<BasicUser>,
    pub bug_tracker: String,
    pub created_date: Timestamp,
    pub updated_date: Timestamp,
    pub overlap: Option<i32>,
    pub segment_size: i32,
    pub initial_replicas: i32,
    pub status: Option<String>,
    pub data_chunk_size: Option<i32>,
    pub data_original_chunk_type: Option<String>,
    pub data_compressed_chunk_type: Option<String>,
    pub data_cloud_storage_id: Option<i64>,
    pub guide_id: Option<i64>,
    pub size: i32,
    pub image_quality: i32,
    pub data: Option<i64>,
    pub dimension: String,
    pub mode: String,
    pub media_type: String,
    pub subset: String,
    pub organization: Option<i64>,
    pub organization_id: Option<i64>,
    pub target_storage: Option<Storage>,
    pub source_storage: Option<Storage>,
    pub assignee_updated_date: Option<Timestamp>,
    pub validation_mode: Option<String>,
    pub labels: LabelsSummary,
    pub jobs: JobsSummary,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct JobRead {
    pub url: String,
    pub id: i64,
    pub task_id: i64,
    pub task_name: Option<String>,
    pub project_id: Option<i64>,
    pub project_name: Option<String>,
    pub assignee: Option<BasicUser>,
    pub guide_id: Option<i64>,
    pub dimension: String,
    pub mode: String,
    pub media_type: String,
    pub bug_tracker: Option<String>,
    pub status: Option<String>,
    pub stage: Option<String>,
    pub state: Option<String>,
    pub frame_count: i32,
    pub start_frame: i32,
    pub stop_frame: i32,
    pub data_chunk_size: Option<i32>,
    pub data_compressed_chunk_type: Option<String>,
    pub data_original_chunk_type: Option<String>,
    pub created_date: Timestamp,
    pub updated_date: Timestamp,
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub organization: Option<i64>,
    pub target_storage: Option<Storage>,
    pub source_storage: Option<Storage>,
    pub assignee_updated_date: Option<Timestamp>,
    pub parent_job_id: Option<i64>,
    pub replicas_count: i32,
    pub issues: IssuesSummary,
    pub labels: LabelsSummary,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Attribute {
    pub id: i64,
    pub name: String,
    pub mutable: bool,
    /// checkbox, radio, number, text or select.
    pub input_type: String,
    pub default_value: String,
    pub values: Vec<String>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Sublabel {
    pub id: i64,
    pub name: String,
    pub color: String,
    pub attributes: Vec<Attribute>,
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub has_parent: bool,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Label {
    pub id: i64,
    pub name: String,
    pub color: String,
    pub attributes: Vec<Attribute>,
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub svg: String,
    pub sublabels: Vec<Sublabel>,
    pub project_id: Option<i64>,
    pub task_id: Option<i64>,
    pub parent_id: Option<i64>,
    pub has_parent: bool,
}

/// Who started a background request.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RequestOwner {
    pub id: i64,
    pub username: String,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RequestDataOperation {
    #[serde(rename = "type")]
    pub kind: String,
    pub target: String,
    pub project_id: Option<i64>,
    pub task_id: Option<i64>,
    pub job_id: Option<i64>,
    pub org_id: Option<i64>,
    pub format: Option<String>,
    pub function_id: Option<String>,
    pub lightweight: Option<bool>,
}

/// A background request (`/api/requests`).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Request {
    pub id: String,
    /// queued, started, finished or failed.
    pub status: String,
    pub message: String,
    pub progress: Option<f64>,
    pub created_date: Timestamp,
    pub started_date: Option<Timestamp>,
    pub finished_date: Option<Timestamp>,
    pub expiry_date: Option<Timestamp>,
    pub owner: RequestOwner,
    pub operation: RequestDataOperation,
    pub result_url: Option<String>,
    pub result_id: Option<i64>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct FrameMeta {
    pub name: String,
    pub width: i32,
    pub height: i32,
    pub related_files: i32,
    pub has_related_context: bool,
}

/// `GET .../data/meta` of a task or a job.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DataMetaRead {
    pub chunks_updated_date: Timestamp,
    pub chunk_size: Option<i64>,
    pub size: i64,
    pub image_quality: i32,
    pub start_frame: i64,
    pub stop_frame: i64,
    pub frame_filter: String,
    pub frames: Option<Vec<FrameMeta>>,
    pub deleted_frames: Vec<i32>,
    pub included_frames: Option<Vec<i32>>,
    /// Video chapters; none for image sets.
    #[schema(value_type = Option<Vec<Object>>)]
    pub chapters: Option<Vec<Value>>,
    pub storage: Option<String>,
    pub cloud_storage_id: Option<i64>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CloudStorageRead {
    pub id: i64,
    pub provider_type: String,
    pub resource: String,
    pub display_name: String,
    pub credentials_type: String,
    pub owner: Option<BasicUser>,
    pub manifests: Vec<String>,
    pub created_date: Timestamp,
    pub updated_date: Timestamp,
    pub specific_attributes: String,
    pub description: String,
    pub organization: Option<i64>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CommentsSummary {
    pub count: i64,
    pub url: String,
}

/// A problem raised on a frame of a job.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct IssueRead {
    pub id: i64,
    pub frame: i32,
    pub position: Vec<f64>,
    pub job: i64,
    pub owner: Option<BasicUser>,
    pub assignee: Option<BasicUser>,
    pub created_date: Option<Timestamp>,
    pub updated_date: Option<Timestamp>,
    pub resolved: bool,
    pub comments: CommentsSummary,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CommentRead {
    pub id: i64,
    pub issue: i64,
    pub owner: Option<BasicUser>,
    pub message: String,
    pub created_date: Timestamp,
    pub updated_date: Timestamp,
}

/// An entry of a job's change log (`GET /api/jobs/{id}/commits`): who changed its
/// annotations, when, how (`create`, `update`, `delete`), and how many objects of each
/// kind the change carried.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct JobCommit {
    pub id: i64,
    pub owner: Option<i64>,
    #[schema(value_type = Object)]
    pub data: Value,
    pub timestamp: Timestamp,
    pub scope: String,
}

/// The pages of lists (`{count, next, previous, results}`), named as CVAT's schema
/// names them. The gateway writes pages around documents it passes through; these
/// types describe them.
macro_rules! paginated {
    ($($page:ident of $item:ty),* $(,)?) => {$(
        #[derive(Debug, Clone, Serialize, ToSchema)]
        pub struct $page {
            pub count: i64,
            pub next: Option<String>,
            pub previous: Option<String>,
            pub results: Vec<$item>,
        }
    )*};
}

paginated! {
    PaginatedProjectReadList of ProjectRead,
    PaginatedTaskReadList of TaskRead,
    PaginatedJobReadList of JobRead,
    PaginatedLabelList of Label,
    PaginatedRequestList of Request,
    PaginatedCloudStorageReadList of CloudStorageRead,
    PaginatedIssueReadList of IssueRead,
    PaginatedCommentReadList of CommentRead,
    PaginatedJobCommitList of JobCommit,
    PaginatedWebhookReadList of WebhookRead,
    PaginatedWebhookDeliveryReadList of WebhookDeliveryRead,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_render_with_microseconds() {
        let at = Timestamp(DateTime::parse_from_rfc3339("2026-12-05T10:00:00.5Z").unwrap().with_timezone(&Utc));
        let user = RequestOwner { id: 1, username: String::new() };
        let operation = RequestDataOperation {
            kind: "create:task".into(),
            target: "task".into(),
            project_id: None,
            task_id: Some(3),
            job_id: None,
            org_id: None,
            format: None,
            function_id: None,
            lightweight: None,
        };
        let request = Request {
            id: "r".into(),
            status: "queued".into(),
            message: String::new(),
            progress: None,
            created_date: at,
            started_date: Some(at),
            finished_date: None,
            expiry_date: None,
            owner: user,
            operation,
            result_url: None,
            result_id: None,
        };
        let json: Value = serde_json::from_str(&render(&request)).unwrap();
        assert_eq!(json["created_date"], "2026-12-05T10:00:00.500000Z");
        assert_eq!(json["started_date"], "2026-12-05T10:00:00.500000Z");
        assert_eq!(json["finished_date"], Value::Null);
        assert_eq!(json["operation"]["type"], "create:task");
    }
}
