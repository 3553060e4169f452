//! Annotation guides (`/api/guides`): markdown attached to one project or one task
//! (`guide_id` on projects, tasks and jobs), and the files uploaded for them
//! (`/api/assets`, their bytes in the object store, written and read by the gateway).
//! As in CVAT, whoever may see the project or task sees its guide and files; whoever
//! may change it writes them.

use crate::render::{self, user_columns};
use crate::{parse_body, Caller, Engine};
use cvat_db::{column, column_values, DbResultExt, GenericClient};
use cvat_error::{ApiError, ApiResult};
use cvat_models::{AnnotationGuideRead, AnnotationGuideWriteRequest, AssetRead, PatchedAnnotationGuideWriteRequest};
use cvat_permissions::{ProjectScope, TaskScope};
use serde::Deserialize;
use tokio_postgres::Row;

/// The most files one guide may have (CVAT's `ASSET_MAX_COUNT_PER_GUIDE`).
pub const MAX_ASSETS_PER_GUIDE: i64 = 30;

const GUIDE_COLUMNS: &str = "id, project_id, task_id, markdown, created_date, updated_date";

fn render_guide(row: &Row) -> ApiResult<String> {
    Ok(cvat_models::render(&AnnotationGuideRead {
        id: column(row, "id")?,
        task_id: column(row, "task_id")?,
        project_id: column(row, "project_id")?,
        created_date: render::moment(row, "created_date")?,
        updated_date: render::moment(row, "updated_date")?,
        markdown: column(row, "markdown")?,
    }))
}

/// A stored file as the gateway serves it.
pub struct AssetFile {
    pub key: String,
    pub filename: String,
    pub content_type: String,
}

/// What the gateway tells of a file it stored for a guide.
#[derive(Debug, Deserialize)]
pub struct NewAsset {
    pub guide_id: i64,
    pub uuid: String,
    pub filename: String,
    pub content_type: String,
    pub size: i64,
    pub key: String,
}

impl Engine {
    /// The caller may see (or, with `update`, change) what the guide belongs to.
    async fn check_guide_owner(
        &self,
        client: &impl GenericClient,
        caller: &Caller,
        project: Option<i64>,
        task: Option<i64>,
        update: bool,
    ) -> ApiResult<()> {
        let missing =
            |field: &str, id: i64| ApiError::field(field, format!("Invalid pk \"{id}\" - object does not exist."));
        match (project, task) {
            (Some(project), None) => {
                let scope = if update { ProjectScope::Update } else { ProjectScope::View };
                match self.check_project(client, caller, project, scope).await {
                    Err(err) if err.status_code() == 404 => Err(missing("project_id", project)),
                    other => other.map(|_| ()),
                }
            }
            (None, Some(task)) => {
                let scope = if update { TaskScope::Update } else { TaskScope::View };
                match self.check_task(client, caller, task, scope).await {
                    Err(err) if err.status_code() == 404 => Err(missing("task_id", task)),
                    other => other.map(|_| ()),
                }
            }
            _ => Err(ApiError::invalid("A guide belongs to a project or to a task: give one of project_id, task_id.")),
        }
    }

    /// 404 when there is no such guide; checks the caller's right on its owner.
    async fn check_guide(&self, client: &impl GenericClient, caller: &Caller, id: i64, update: bool) -> ApiResult<Row> {
        let row = client
            .query_opt(&format!("SELECT {GUIDE_COLUMNS} FROM guides WHERE id = $1"), &[&id])
            .await
            .db()?
            .ok_or_else(ApiError::not_found)?;
        self.check_guide_owner(client, caller, column(&row, "project_id")?, column(&row, "task_id")?, update).await?;
        Ok(row)
    }

    #[tracing::instrument(skip_all)]
    pub async fn create_guide(&self, caller: &Caller, body: &str) -> ApiResult<String> {
        let request: AnnotationGuideWriteRequest = cvat_models::parse(&parse_body(body)?)?;
        let client = self.client().await?;
        self.check_guide_owner(&client, caller, request.project_id, request.task_id, true).await?;
        let row = client
            .query_one(
                &format!(
                    "INSERT INTO guides (project_id, task_id, markdown) VALUES ($1, $2, $3) RETURNING {GUIDE_COLUMNS}"
                ),
                &[&request.project_id, &request.task_id, &request.markdown.unwrap_or_default()],
            )
            .await
            .db()?;
        render_guide(&row)
    }

    #[tracing::instrument(skip_all)]
    pub async fn get_guide(&self, caller: &Caller, id: i64) -> ApiResult<String> {
        let client = self.client().await?;
        render_guide(&self.check_guide(&client, caller, id, false).await?)
    }

    /// PATCH `markdown` (a guide does not move to another project or task).
    #[tracing::instrument(skip_all)]
    pub async fn update_guide(&self, caller: &Caller, id: i64, body: &str) -> ApiResult<String> {
        let request: PatchedAnnotationGuideWriteRequest = cvat_models::parse(&parse_body(body)?)?;
        let client = self.client().await?;
        let row = self.check_guide(&client, caller, id, true).await?;
        let (project, task): (Option<i64>, Option<i64>) = (column(&row, "project_id")?, column(&row, "task_id")?);
        if request.project_id.is_some_and(|p| Some(p) != project) || request.task_id.is_some_and(|t| Some(t) != task) {
            return Err(ApiError::invalid("A guide stays with its project or task."));
        }
        let row = client
            .query_one(
                &format!(
                    "UPDATE guides SET markdown = coalesce($2, markdown), updated_date = now() WHERE id = $1 \
                     RETURNING {GUIDE_COLUMNS}"
                ),
                &[&id, &request.markdown],
            )
            .await
            .db()?;
        render_guide(&row)
    }

    /// Deletes a guide and its files; answers the files' keys (the gateway removes them).
    #[tracing::instrument(skip_all)]
    pub async fn delete_guide(&self, caller: &Caller, id: i64) -> ApiResult<Vec<String>> {
        let client = self.client().await?;
        self.check_guide(&client, caller, id, true).await?;
        let keys = client.query("SELECT key FROM guide_assets WHERE guide_id = $1", &[&id]).await.db()?;
        client.execute("DELETE FROM guides WHERE id = $1", &[&id]).await.db()?;
        column_values(&keys, 0)
    }

    /// Records a file the gateway stored for a guide the caller may change; at most
    /// [`MAX_ASSETS_PER_GUIDE`] per guide.
    #[tracing::instrument(skip_all)]
    pub async fn create_asset(&self, caller: &Caller, body: &str) -> ApiResult<String> {
        let asset: NewAsset = serde_json::from_str(body).map_err(|e| ApiError::bad_request(e.to_string()))?;
        let mut client = self.client().await?;
        match self.check_guide(&client, caller, asset.guide_id, true).await {
            Err(err) if err.status_code() == 404 => {
                return Err(ApiError::field(
                    "guide_id",
                    format!("Invalid pk \"{}\" - object does not exist.", asset.guide_id),
                ))
            }
            other => other?,
        };
        let tx = client.transaction().await.db()?;
        tx.query("SELECT 1 FROM guides WHERE id = $1 FOR UPDATE", &[&asset.guide_id]).await.db()?;
        let count =
            tx.query_one("SELECT count(*) FROM guide_assets WHERE guide_id = $1", &[&asset.guide_id]).await.db()?;
        if column::<_, i64>(&count, 0)? >= MAX_ASSETS_PER_GUIDE {
            return Err(ApiError::invalid("Maximum number of assets per guide reached"));
        }
        crate::users::remember_all(&tx, &[Some(&caller.user)]).await?;
        tx.execute(
            "INSERT INTO guide_assets (uuid, guide_id, filename, content_type, size, key, owner_id) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
            &[
                &asset.uuid,
                &asset.guide_id,
                &asset.filename,
                &asset.content_type,
                &asset.size,
                &asset.key,
                &caller.id(),
            ],
        )
        .await
        .db()?;
        let row = tx
            .query_one(
                &format!(
                    "SELECT a.uuid, a.filename, a.created_date, a.guide_id, {} FROM guide_assets a \
                     LEFT JOIN users o ON o.id = a.owner_id WHERE a.uuid = $1",
                    user_columns("o", "owner")
                ),
                &[&asset.uuid],
            )
            .await
            .db()?;
        let read = AssetRead {
            uuid: column(&row, "uuid")?,
            filename: column(&row, "filename")?,
            created_date: render::moment(&row, "created_date")?,
            owner: render::user(&caller.base_url, &row, "owner")?,
            guide_id: column(&row, "guide_id")?,
        };
        tx.commit().await.db()?;
        Ok(cvat_models::render(&read))
    }

    /// A file of a guide, for those who may see the guide (`update`: change it).
    async fn check_asset(
        &self,
        client: &impl GenericClient,
        caller: &Caller,
        uuid: &str,
        update: bool,
    ) -> ApiResult<Row> {
        let row = client
            .query_opt("SELECT key, filename, content_type, guide_id FROM guide_assets WHERE uuid = $1", &[&uuid])
            .await
            .db()?
            .ok_or_else(ApiError::not_found)?;
        self.check_guide(client, caller, column(&row, "guide_id")?, update).await?;
        Ok(row)
    }

    #[tracing::instrument(skip_all)]
    pub async fn get_asset(&self, caller: &Caller, uuid: &str) -> ApiResult<AssetFile> {
        let client = self.client().await?;
        let row = self.check_asset(&client, caller, uuid, false).await?;
        Ok(AssetFile {
            key: column(&row, "key")?,
            filename: column(&row, "filename")?,
            content_type: column(&row, "content_type")?,
        })
    }

    /// Forgets a file; answers its key (the gateway removes the bytes).
    #[tracing::instrument(skip_all)]
    pub async fn delete_asset(&self, caller: &Caller, uuid: &str) -> ApiResult<String> {
        let client = self.client().await?;
        let row = self.check_asset(&client, caller, uuid, true).await?;
        client.execute("DELETE FROM guide_assets WHERE uuid = $1", &[&uuid]).await.db()?;
        column(&row, "key")
    }
}
