//! Annotation guides (`/api/guides`) and their files (`/api/assets`).

use crate::{BasicUser, Timestamp};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Debug, Serialize, ToSchema)]
pub struct AnnotationGuideRead {
    pub id: i64,
    pub task_id: Option<i64>,
    pub project_id: Option<i64>,
    pub created_date: Timestamp,
    pub updated_date: Timestamp,
    pub markdown: String,
}

/// A guide for a project or a task (exactly one of the two).
#[derive(Debug, Deserialize, ToSchema)]
pub struct AnnotationGuideWriteRequest {
    #[schema(minimum = 1)]
    pub task_id: Option<i64>,
    #[schema(minimum = 1)]
    pub project_id: Option<i64>,
    #[schema(max_length = 1048576, nullable = false)]
    pub markdown: Option<String>,
}

/// PATCH: only the markdown changes (a guide stays with its project or task).
#[derive(Debug, Deserialize, ToSchema)]
pub struct PatchedAnnotationGuideWriteRequest {
    #[schema(minimum = 1)]
    pub task_id: Option<i64>,
    #[schema(minimum = 1)]
    pub project_id: Option<i64>,
    #[schema(max_length = 1048576, nullable = false)]
    pub markdown: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AssetRead {
    pub uuid: String,
    pub filename: String,
    pub created_date: Timestamp,
    /// Left out when the uploader's account is gone.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub owner: Option<BasicUser>,
    pub guide_id: i64,
}
