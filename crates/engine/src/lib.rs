//! The annotation domain behind the task service: projects, tasks, segments, jobs and
//! labels in the `engine` schema, CVAT's permission rules applied to every access, and
//! the read models (`ProjectRead`, `TaskRead`, `JobRead`, `Label`) rendered as JSON with
//! every attribute the client expects.
//!
//! Facts owned by the auth service (a user's role in an organization, users' names) come
//! through [`Directory`]; owners and assignees are copied into this schema's `users`
//! table when they are set, so lists can filter, search and sort by username locally.

mod access;
mod annotations;
pub mod chunk_builds;
mod cloud_storages;
pub mod data;
mod directory;
pub mod events;
mod exports;
pub mod functions;
mod guides;
mod imports;
mod issues;
mod jobs;
mod labels;
mod locations;
mod organizations;
mod projects;
mod render;
mod requests;
mod restores;
mod tasks;
mod users;
pub mod webhooks;

pub use access::{Caller, Context};
pub use annotations::{AnnotationSave, AnnotationTarget, DocumentStream};
pub use cloud_storages::Bucket;
pub use cvat_annotations::Action as AnnotationAction;
pub use data::UploadFor;
pub use directory::{AuthDirectory, Directory};
pub use exports::{ExportStart, ExportTarget};
pub use imports::ImportStart;
pub use locations::Location;

use cvat_db::DbResultExt;
use cvat_db::{Migration, PgPool};
use cvat_error::{ApiError, ApiResult};

pub const SCHEMA: &str = "engine";

pub const MIGRATIONS: &[Migration] = &[
    Migration { version: 1, name: "trace_probes", sql: include_str!("../migrations/0001_trace_probes.sql") },
    Migration { version: 2, name: "core_resources", sql: include_str!("../migrations/0002_core_resources.sql") },
    Migration { version: 3, name: "task_data", sql: include_str!("../migrations/0003_task_data.sql") },
    Migration { version: 4, name: "frame_ranges", sql: include_str!("../migrations/0004_frame_ranges.sql") },
    Migration { version: 5, name: "tus_uploads", sql: include_str!("../migrations/0005_tus_uploads.sql") },
    Migration { version: 6, name: "cloud_storages", sql: include_str!("../migrations/0006_cloud_storages.sql") },
    Migration { version: 7, name: "context_images", sql: include_str!("../migrations/0007_context_images.sql") },
    Migration { version: 8, name: "upload_activity", sql: include_str!("../migrations/0008_upload_activity.sql") },
    Migration {
        version: 9,
        name: "data_cloud_storage",
        sql: include_str!("../migrations/0009_data_cloud_storage.sql"),
    },
    Migration { version: 10, name: "annotations", sql: include_str!("../migrations/0010_annotations.sql") },
    Migration { version: 11, name: "issues", sql: include_str!("../migrations/0011_issues.sql") },
    Migration { version: 12, name: "upload_batches", sql: include_str!("../migrations/0012_upload_batches.sql") },
    Migration { version: 13, name: "exports", sql: include_str!("../migrations/0013_exports.sql") },
    Migration { version: 14, name: "import_uploads", sql: include_str!("../migrations/0014_import_uploads.sql") },
    Migration { version: 15, name: "restores", sql: include_str!("../migrations/0015_restores.sql") },
    Migration { version: 16, name: "restored_tasks", sql: include_str!("../migrations/0016_restored_tasks.sql") },
    Migration { version: 17, name: "functions", sql: include_str!("../migrations/0017_functions.sql") },
    Migration {
        version: 18,
        name: "webhooks_and_events",
        sql: include_str!("../migrations/0018_webhooks_and_events.sql"),
    },
    Migration { version: 19, name: "guides", sql: include_str!("../migrations/0019_guides.sql") },
    Migration { version: 20, name: "list_generations", sql: include_str!("../migrations/0020_list_generations.sql") },
    Migration { version: 21, name: "lazy_chunks", sql: include_str!("../migrations/0021_lazy_chunks.sql") },
    Migration { version: 22, name: "video_chunks", sql: include_str!("../migrations/0022_video_chunks.sql") },
    Migration { version: 23, name: "task_search_text", sql: include_str!("../migrations/0023_task_search_text.sql") },
    Migration { version: 24, name: "webhook_trace", sql: include_str!("../migrations/0024_webhook_trace.sql") },
];

impl Engine {
    /// Folds the generation rows of database connections that are gone into row 0: the
    /// sum, and so every kept count, stays as it is, and the table stays small.
    #[tracing::instrument(skip_all)]
    pub async fn fold_list_generations(&self) -> ApiResult<()> {
        self.client()
            .await?
            .execute(
                "WITH gone AS (DELETE FROM list_generations WHERE backend <> 0 \
                 AND backend NOT IN (SELECT pid FROM pg_stat_activity WHERE pid IS NOT NULL) RETURNING n) \
                 UPDATE list_generations SET n = n + (SELECT coalesce(sum(n), 0) FROM gone) WHERE backend = 0",
                &[],
            )
            .await
            .db()?;
        Ok(())
    }
}

/// A page of rendered documents and the total count.
pub struct DocumentPage {
    pub count: i64,
    pub results: Vec<String>,
}

pub struct Engine {
    db: PgPool,
    directory: std::sync::Arc<dyn Directory>,
    /// What user-chosen endpoints (cloud storages) may be reached.
    network: cvat_fetch::FetchPolicy,
    agents: functions::Agents,
    /// Counts of the project, task and job lists between writes (migration 0020).
    list_counts: cvat_listing::CountCache,
    /// Which form of the job visibility rule suits a user (see `jobs::job_visibility`).
    job_visibility: jobs::VisibilityChoices,
}

/// The generation of the tables the project, task and job lists read.
const LIST_GENERATION: &str = "(SELECT sum(n)::int8 FROM list_generations)";

impl Engine {
    pub fn new(
        db: PgPool,
        directory: std::sync::Arc<dyn Directory>,
        network: cvat_fetch::FetchPolicy,
        agents: functions::Agents,
        list_count_entries: usize,
    ) -> Self {
        let list_counts = cvat_listing::CountCache::new(LIST_GENERATION, list_count_entries);
        Self { db, directory, network, agents, list_counts, job_visibility: Default::default() }
    }

    async fn client(&self) -> ApiResult<cvat_db::Client> {
        self.db.get().await.map_err(|e| cvat_db::api_error(cvat_db::DbError::Pool(e)))
    }
}

pub(crate) use cvat_db::api_error as db_error;

/// A query through the connection's statement cache: for the fixed statements every
/// page of a list runs.
pub(crate) async fn query_cached(
    client: &impl cvat_db::GenericClient,
    sql: &str,
    params: &[&(dyn tokio_postgres::types::ToSql + Sync)],
) -> ApiResult<Vec<tokio_postgres::Row>> {
    let statement = client.prepare_cached(sql).await.db()?;
    client.query(&statement, params).await.db()
}

/// Parses a write request's JSON body into an object.
pub(crate) fn parse_body(body: &str) -> ApiResult<serde_json::Map<String, serde_json::Value>> {
    match serde_json::from_str::<serde_json::Value>(body) {
        Ok(serde_json::Value::Object(map)) => Ok(map),
        Ok(_) => Err(ApiError::field("non_field_errors", "Invalid data. Expected a dictionary.")),
        Err(e) => Err(ApiError::bad_request(format!("JSON parse error - {e}"))),
    }
}
