//! Restoring task backups (`POST /api/tasks/backup/`): the uploaded archive becomes a new
//! task of the user who sent it, in their organization context, in steps a worker of
//! the export pool drives — the task with its labels (`restore_task`), its media
//! (`restore_data`, processed by that worker like any upload), then each job's
//! annotations (`complete_restore`); every step runs as that user, so their rights are
//! checked as for the same calls over HTTP. A restore that fails after the task was
//! made removes the task: nothing half-restored stays.

use crate::access::allow;
use crate::annotations::{AnnotationSave, AnnotationTarget};
use crate::imports::{reason, requester, requester_params};
use crate::labels::LabelOwner;
use crate::{Caller, Engine};
use cvat_db::{column, DbResultExt};
use cvat_error::{ApiError, ApiResult, ErrorKind};
use cvat_permissions::CreateScope;
use cvat_proto::queue::ProcessTaskData;
use cvat_proto::task::UploadedFile;
use serde_json::{json, Value};

impl Engine {
    /// import:backup: creating a task in the caller's context.
    pub(crate) async fn check_can_restore(&self, caller: &Caller) -> ApiResult<()> {
        let actor = self.context_actor(caller).await?;
        allow(cvat_permissions::create_or_list(&actor, CreateScope::Create, caller.context.org().is_some()))
    }

    /// Records a restore of the uploaded backup named `filename` (or the stored object
    /// `file_key`); answers the request's id.
    pub async fn start_restore(&self, caller: &Caller, filename: &str, file_key: &str) -> ApiResult<String> {
        self.check_can_restore(caller).await?;
        let mut client = self.client().await?;
        let tx = client.transaction().await.db()?;
        let parts: Vec<String> = if !file_key.is_empty() {
            if !file_key.starts_with("imports/") {
                return Err(ApiError::bad_request("The file must be uploaded to this server first"));
            }
            vec![file_key.to_string()]
        } else {
            let row = tx
                .query_opt(
                    "DELETE FROM tus_uploads WHERE id = (SELECT id FROM tus_uploads WHERE task_id IS NULL \
                     AND purpose = 'backup' AND owner_id = $1 AND name = $2 AND received = length \
                     ORDER BY created_date DESC LIMIT 1) RETURNING parts",
                    &[&caller.id(), &filename],
                )
                .await
                .db()?
                .ok_or_else(|| {
                    ApiError::bad_request(format!("No uploaded file named {filename:?}: upload it first"))
                })?;
            column(&row, 0)?
        };
        let id = format!(
            "action=import&target=task&subresource=backup&user_id={}&key={}",
            caller.id(),
            uuid::Uuid::new_v4().simple()
        );
        let params = json!({"parts": parts, "file_name": filename, "base_url": caller.base_url,
                            "user": requester_params(caller)});
        // The request shows its owner by name, as every request does.
        crate::users::remember_all(&tx, &[Some(&caller.user)]).await?;
        tx.execute(
            "INSERT INTO requests (id, type, target, owner_id, organization_id, params) \
             VALUES ($1, 'import:backup', 'task', $2, $3, $4)",
            &[&id, &caller.id(), &caller.context.org(), &params],
        )
        .await
        .db()?;
        tx.commit().await.db()?;
        Ok(id)
    }

    /// The open restore `request_id`: its params and the task made so far.
    async fn restore_request(&self, request_id: &str) -> ApiResult<(Value, Option<i64>)> {
        let client = self.client().await?;
        let row = client
            .query_opt(
                "SELECT params, task_id FROM requests WHERE id = $1 AND type = 'import:backup' \
                 AND status IN ('queued', 'started')",
                &[&request_id],
            )
            .await
            .db()?
            .ok_or_else(|| ApiError::detail(ErrorKind::NotFound, "There is no open restore with this id"))?;
        Ok((column(&row, 0)?, column(&row, 1)?))
    }

    /// Step 1: the task of `task.json` (name, bug tracker, subset, labels; segment size
    /// and overlap from its jobs), made once per request; answers `{"task_id", "labels"}`
    /// (the labels as exports describe them, with their new ids).
    pub async fn restore_task(&self, request_id: &str, task_json: &str) -> ApiResult<String> {
        let (params, made) = self.restore_request(request_id).await?;
        let task = match made {
            Some(task) => task,
            None => {
                let spec: Value = serde_json::from_str(task_json)
                    .map_err(|e| ApiError::bad_request(format!("task.json is not JSON: {e}")))?;
                match spec["version"].as_str() {
                    Some("1.0") => {}
                    other => {
                        let version = other.unwrap_or("No");
                        return Err(ApiError::bad_request(format!("{version} version is not supported")));
                    }
                }
                let jobs = spec["jobs"].as_array().cloned().unwrap_or_default();
                let frames = |job: Option<&Value>, key: &str| job.and_then(|j| j[key].as_i64());
                let segment_size = match (frames(jobs.first(), "start_frame"), frames(jobs.first(), "stop_frame")) {
                    (Some(start), Some(stop)) if jobs.len() > 1 => stop - start + 1,
                    _ => 0,
                };
                let overlap = match (frames(jobs.first(), "stop_frame"), frames(jobs.get(1), "start_frame")) {
                    (Some(stop), Some(next)) if stop >= next => stop - next + 1,
                    _ => 0,
                };
                let text = |key: &str| spec[key].as_str().unwrap_or_default().to_string();
                let body = json!({
                    "name": spec["name"], "bug_tracker": text("bug_tracker"), "subset": text("subset"),
                    "labels": spec["labels"], "segment_size": segment_size, "overlap": overlap,
                });
                let created: Value =
                    serde_json::from_str(&self.create_task(&requester(&params), &body.to_string()).await?)
                        .map_err(|_| ApiError::internal())?;
                let task = created["id"].as_i64().ok_or_else(ApiError::internal)?;
                let client = self.client().await?;
                client.execute("UPDATE requests SET task_id = $2 WHERE id = $1", &[&request_id, &task]).await.db()?;
                task
            }
        };
        let client = self.client().await?;
        let labels = self.export_labels(&client, LabelOwner::Task(task)).await?;
        Ok(json!({"task_id": task, "labels": labels}).to_string())
    }

    /// Step 2: the backup's media, stored as the task's uploads, become its data (in the
    /// archive's order); answers the processing the worker runs itself.
    pub async fn restore_data(
        &self,
        request_id: &str,
        task: i64,
        files: &[UploadedFile],
        data_json: &str,
    ) -> ApiResult<ProcessTaskData> {
        let (params, made) = self.restore_request(request_id).await?;
        if made != Some(task) {
            return Err(ApiError::bad_request("The restore made another task"));
        }
        let caller = requester(&params);
        let data: Value = serde_json::from_str(data_json).unwrap_or_default();
        let mut body = json!({
            "image_quality": data["image_quality"].as_i64().unwrap_or(70),
            "sorting_method": "predefined",
            "upload_file_order": files.iter().map(|f| f.name.clone()).collect::<Vec<_>>(),
        });
        if let Some(chunk_size) = data["chunk_size"].as_i64().filter(|size| *size > 0) {
            body["chunk_size"] = json!(chunk_size);
        }
        self.record_uploads(&caller, task, files, "").await?;
        self.start_data(&caller, task, &body.to_string(), "").await
    }

    /// Step 3: each annotation job's document (a JSON array in job order, ids in place
    /// of names) saved as the user; the request then names the task as its result. A
    /// document the task refuses fails the restore and removes the task (answered, for
    /// its blobs to be purged).
    pub async fn complete_restore(&self, request_id: &str, body: Vec<u8>) -> ApiResult<Option<i64>> {
        let (params, made) = self.restore_request(request_id).await?;
        let task = made.ok_or_else(|| ApiError::bad_request("The restore has no task yet"))?;
        let caller = requester(&params);
        let saved = async {
            let client = self.client().await?;
            let processing = client
                .query_opt(
                    "SELECT message FROM requests WHERE id = $1 AND status = 'failed'",
                    &[&crate::data::data_request_id(task)],
                )
                .await
                .db()?;
            if let Some(row) = processing {
                let message: String = column(&row, 0)?;
                return Err(ApiError::bad_request(format!("The backup's media could not be used: {message}")));
            }
            drop(client);
            let documents: Vec<Value> = serde_json::from_slice(&body)
                .map_err(|e| ApiError::bad_request(format!("annotations.json is not a list of documents: {e}")))?;
            let client = self.client().await?;
            let jobs = client
                .query("SELECT id FROM jobs WHERE task_id = $1 AND type = 'annotation' ORDER BY id", &[&task])
                .await
                .db()?;
            drop(client);
            if documents.len() > jobs.len() {
                return Err(ApiError::bad_request(format!(
                    "annotations.json has {} jobs, the restored task {}",
                    documents.len(),
                    jobs.len()
                )));
            }
            // Each job gets its own document back, as it was backed up.
            for (job, document) in jobs.iter().zip(documents) {
                let document = serde_json::to_vec(&document).map_err(|_| ApiError::internal())?;
                let job = AnnotationTarget::Job(column(job, 0)?);
                drop(self.save_annotations(&caller, job, AnnotationSave::Replace, document).await?);
            }
            Ok(())
        };
        match saved.await {
            Ok(()) => {
                let client = self.client().await?;
                client.execute("UPDATE requests SET result_id = task_id WHERE id = $1", &[&request_id]).await.db()?;
                self.finish_request(&client, request_id).await.map(|_| None)
            }
            Err(err) if err.status_code() < 500 => self.fail_request(request_id, &reason(&err)).await,
            Err(err) => Err(err),
        }
    }
}
