//! Background requests (`/api/requests`): a row per long-running operation, queued →
//! started (progress 0..1) → finished | failed (message). Workers report through the task
//! service; only the user who started a request sees it.

use crate::{Caller, DocumentPage, Engine};
use cvat_db::column;
use cvat_db::DbResultExt;
use cvat_db::GenericClient;
use cvat_error::{ApiError, ApiResult, ErrorKind};
use cvat_listing::{Field, FieldType, ListParams, ListSpec, SqlParam, SqlWhere};
use cvat_models::{Request, RequestDataOperation, RequestOwner, Timestamp};
use serde_json::{json, Value};
use tokio_postgres::Row;

pub(crate) struct NewRequest<'a> {
    pub id: &'a str,
    /// `create:task`, `export:dataset`, …
    pub kind: &'a str,
    pub target: &'a str,
    pub project_id: Option<i64>,
    pub task_id: Option<i64>,
    pub owner_id: i64,
    pub organization_id: Option<i64>,
    pub params: &'a Value,
}

const COLUMNS: &str = "r.id, r.type, r.target, r.project_id, r.task_id, r.job_id, r.organization_id, r.status, \
     r.message, r.progress, r.created_date, r.started_date, r.finished_date, r.owner_id, u.username AS owner_username, \
     r.format, r.result_key, (r.params->>'lightweight')::boolean AS lightweight, r.result_id";
const FROM: &str = "requests r LEFT JOIN users u ON u.id = r.owner_id";

const FIELDS: &[Field] = &[
    Field { name: "status", sql: "r.status", ty: FieldType::Text },
    Field { name: "project_id", sql: "r.project_id", ty: FieldType::Int },
    Field { name: "task_id", sql: "r.task_id", ty: FieldType::Int },
    Field { name: "job_id", sql: "r.job_id", ty: FieldType::Int },
    Field { name: "action", sql: "split_part(r.type, ':', 1)", ty: FieldType::Text },
    Field { name: "target", sql: "r.target", ty: FieldType::Text },
    Field { name: "subresource", sql: "split_part(r.type, ':', 2)", ty: FieldType::Text },
    Field { name: "format", sql: "r.format", ty: FieldType::Text },
    Field { name: "created_date", sql: "r.created_date", ty: FieldType::Timestamp },
];

pub const REQUEST_LIST: ListSpec = ListSpec {
    fields: FIELDS,
    search: &[],
    filter: &["status", "project_id", "task_id", "job_id", "action", "target", "subresource", "format"],
    equals: &["status", "project_id", "task_id", "job_id", "action", "target", "subresource", "format"],
    sort: &["created_date", "status", "action"],
    default_sort: "-created_date",
    search_sql: None,
};

/// `base_url` makes the absolute `result_url` of a finished export.
fn render(row: &Row, base_url: &str) -> ApiResult<String> {
    let progress: Option<f32> = column(row, "progress")?;
    let username: Option<String> = column(row, "owner_username")?;
    let kind: String = column(row, "type")?;
    let target: String = column(row, "target")?;
    let id: String = column(row, "id")?;
    let finished_date = crate::render::maybe_moment(row, "finished_date")?;
    let exported = kind.starts_with("export:") && column::<_, Option<String>>(row, "result_key")?.is_some();
    let result_url = if exported && target == "events" {
        // The legacy download names the export by its query id.
        let query = id.split('&').find_map(|part| part.strip_prefix("id=")).unwrap_or_default();
        Some(format!("{base_url}/api/events?action=download&query_id={query}"))
    } else if exported {
        let object: Option<i64> = column(
            row,
            match target.as_str() {
                "job" => "job_id",
                "project" => "project_id",
                _ => "task_id",
            },
        )?;
        let encoded = percent_encoding::utf8_percent_encode(&id, percent_encoding::NON_ALPHANUMERIC);
        let collection = if kind == "export:backup" { "backup" } else { "dataset" };
        Some(format!("{base_url}/api/{target}s/{}/{collection}/download?rq_id={encoded}", object.unwrap_or_default()))
    } else {
        None
    };
    let expiry_date = match finished_date {
        Some(finished) if kind.starts_with("export:") => {
            Some(Timestamp(finished.0 + chrono::Duration::hours(crate::exports::RESULT_TTL_HOURS)))
        }
        _ => None,
    };
    Ok(cvat_models::render(&Request {
        id,
        status: column(row, "status")?,
        message: column(row, "message")?,
        progress: progress.map(|p| (p as f64).clamp(0.0, 1.0)),
        created_date: crate::render::moment(row, "created_date")?,
        started_date: crate::render::maybe_moment(row, "started_date")?,
        finished_date,
        expiry_date,
        owner: RequestOwner { id: column(row, "owner_id")?, username: username.unwrap_or_default() },
        operation: RequestDataOperation {
            kind,
            target,
            project_id: column(row, "project_id")?,
            task_id: column(row, "task_id")?,
            job_id: column(row, "job_id")?,
            org_id: column(row, "organization_id")?,
            format: column(row, "format")?,
            function_id: None,
            lightweight: column(row, "lightweight")?,
        },
        result_url,
        result_id: column(row, "result_id")?,
    }))
}

impl Engine {
    /// Records a queued request; one that failed before with the same id is replaced.
    pub(crate) async fn create_request(&self, client: &impl GenericClient, r: &NewRequest<'_>) -> ApiResult<()> {
        let inserted = client
            .execute(
                "INSERT INTO requests (id, type, target, project_id, task_id, owner_id, organization_id, params) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
                 ON CONFLICT (id) DO UPDATE SET status = 'queued', message = '', progress = NULL, \
                 owner_id = EXCLUDED.owner_id, params = EXCLUDED.params, created_date = now(), started_date = NULL, \
                 finished_date = NULL WHERE requests.status = 'failed'",
                &[&r.id, &r.kind, &r.target, &r.project_id, &r.task_id, &r.owner_id, &r.organization_id, r.params],
            )
            .await
            .db()?;
        if inserted == 0 {
            return Err(ApiError::new(ErrorKind::Conflict, json!(["The same request is already in progress or done"])));
        }
        Ok(())
    }

    pub(crate) async fn finish_request(&self, client: &impl GenericClient, id: &str) -> ApiResult<()> {
        client
            .execute(
                "UPDATE requests SET status = 'finished', progress = 1, message = '', \
                 started_date = coalesce(started_date, now()), finished_date = now() WHERE id = $1",
                &[&id],
            )
            .await
            .db()?;
        Ok(())
    }

    /// A worker's progress; a request that already ended stays as it is.
    #[tracing::instrument(skip_all)]
    pub async fn report_progress(&self, id: &str, progress: f64) -> ApiResult<()> {
        let client = self.client().await?;
        client
            .execute(
                "UPDATE requests SET status = 'started', progress = $2, started_date = coalesce(started_date, now()) \
                 WHERE id = $1 AND status IN ('queued', 'started')",
                &[&id, &(progress.clamp(0.0, 1.0) as f32)],
            )
            .await
            .db()?;
        Ok(())
    }

    /// Marks a request failed with a message for the user. A finished one stays finished.
    /// A failed restore takes the tasks and the project it made with it (nothing
    /// half-restored stays): answers those tasks, whose blobs the caller has purged.
    #[tracing::instrument(skip_all)]
    pub async fn fail_request(&self, id: &str, message: &str) -> ApiResult<Vec<i64>> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.db()?;
        // What a failed restore or dataset import made goes: its tasks (answered, for their
        // blobs) and a restored project.
        let removed = tx
            .query(
                "DELETE FROM tasks WHERE id IN (SELECT t.task_id FROM restored_tasks t JOIN requests r \
                 ON r.id = t.request_id WHERE r.id = $1 AND r.type IN ('import:backup', 'import:dataset') \
                 AND r.status <> 'finished') RETURNING id",
                &[&id],
            )
            .await
            .db()?
            .iter()
            .map(|row| column::<_, i64>(row, 0))
            .collect::<ApiResult<Vec<_>>>()?;
        tx.execute(
            "DELETE FROM projects WHERE id = (SELECT project_id FROM requests WHERE id = $1 \
             AND type = 'import:backup' AND target = 'project' AND status <> 'finished')",
            &[&id],
        )
        .await
        .db()?;
        tx.execute(
            "UPDATE requests SET status = 'failed', message = $2, finished_date = now() \
             WHERE id = $1 AND status <> 'finished'",
            &[&id, &message],
        )
        .await
        .db()?;
        tx.commit().await.db()?;
        Ok(removed)
    }

    /// Only the user who started a request may read it (admins included, as in CVAT).
    #[tracing::instrument(skip_all)]
    pub async fn get_request(&self, caller: &Caller, id: &str) -> ApiResult<String> {
        let client = self.client().await?;
        let row = client
            .query_opt(&format!("SELECT {COLUMNS} FROM {FROM} WHERE r.id = $1"), &[&id])
            .await
            .db()?
            .ok_or_else(|| ApiError::detail(ErrorKind::NotFound, "There is no request with specified id"))?;
        if column::<_, i64>(&row, "owner_id")? != caller.id() {
            return Err(ApiError::detail(ErrorKind::Forbidden, "You don't have permission to perform this action"));
        }
        render(&row, &caller.base_url)
    }

    /// Cancels a request that no worker has started yet; it then disappears, as in CVAT.
    #[tracing::instrument(skip_all)]
    pub async fn cancel_request(&self, caller: &Caller, id: &str) -> ApiResult<()> {
        self.get_request(caller, id).await?;
        let client = self.client().await?;
        let deleted = client.execute("DELETE FROM requests WHERE id = $1 AND status = 'queued'", &[&id]).await.db()?;
        if deleted == 0 {
            return Err(ApiError::new(
                ErrorKind::BadRequest,
                json!("Only requests that have not yet been started can be cancelled"),
            ));
        }
        Ok(())
    }

    #[tracing::instrument(skip_all)]
    pub async fn list_requests(&self, caller: &Caller, params: &ListParams) -> ApiResult<DocumentPage> {
        let mut scope = SqlWhere::default();
        scope.push("r.owner_id = {}", SqlParam::Int(caller.id()));
        let client = self.client().await?;
        let cvat_listing::Page { count, rows, .. } =
            cvat_listing::fetch_page(client, &REQUEST_LIST, params, scope, COLUMNS, FROM, None).await?;
        Ok(DocumentPage { count, results: rows.iter().map(|r| render(r, &caller.base_url)).collect::<ApiResult<_>>()? })
    }
}
