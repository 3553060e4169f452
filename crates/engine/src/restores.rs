//! Restoring backups (`POST /api/tasks/backup/`, `POST /api/projects/backup/`): the
//! uploaded archive becomes a new task — or a new project with its tasks — of the user
//! who sent it, in their organization context, in steps a worker of the export pool
//! drives: for a project its labels first (`restore_project`), then per task (its
//! `slot` in the backup) the task (`restore_task`), its media (`restore_data`, processed
//! by that worker like any upload) and each job's annotations (`complete_restore`).
//! Every step runs as that user, so their rights are checked as for the same calls over
//! HTTP, and each makes its object once however often a worker retries it. A restore
//! that fails removes what it made: nothing half-restored stays.

use crate::access::allow;
use crate::annotations::{AnnotationSave, AnnotationTarget};
use crate::imports::{reason, requester, requester_params};
use crate::locations::{CloudFile, Direction, Location, Owner};
use crate::{Caller, Engine};
use cvat_db::GenericClient;
use cvat_db::{column, DbResultExt};
use cvat_error::{ApiError, ApiResult, ErrorKind};
use cvat_formats::ImportFormat;
use cvat_permissions::{CreateScope, ProjectScope};
use cvat_proto::queue::ProcessTaskData;
use cvat_proto::task::UploadedFile;
use serde_json::{json, Value};

impl Engine {
    /// import:backup: creating a task in the caller's context.
    pub(crate) async fn check_can_restore(&self, caller: &Caller) -> ApiResult<()> {
        let actor = self.context_actor(caller).await?;
        allow(cvat_permissions::create_or_list(&actor, CreateScope::Create, caller.context.org().is_some()))
    }

    /// Records a restore of the backup `file` (a finished TUS upload of that name, or an
    /// object of a cloud storage) or of the stored object `file_key`, into a new `target`
    /// (`task` or `project`); answers the request's id.
    #[tracing::instrument(skip_all)]
    pub async fn start_restore(
        &self,
        caller: &Caller,
        target: &str,
        file: Location<'_>,
        file_key: &str,
    ) -> ApiResult<String> {
        let target = match target {
            "" | "task" => "task",
            "project" => "project",
            other => return Err(ApiError::bad_request(format!("Backups of a {other} are not restored"))),
        };
        self.check_can_restore(caller).await?;
        let mut client = self.client().await?;
        let cloud = self.cloud_file(&client, caller, file, None, Direction::Import, "").await?;
        let tx = client.transaction().await.db()?;
        let parts = match cloud {
            Some(_) => Vec::new(),
            None => uploaded_parts(&tx, caller, "backup", file.filename, file_key).await?,
        };
        let id = format!(
            "action=import&target={target}&subresource=backup&user_id={}&key={}",
            caller.id(),
            uuid::Uuid::new_v4().simple()
        );
        let params = json!({"parts": parts, "file_name": file.filename, "base_url": caller.base_url,
                            "cloud": cloud.as_ref().map(CloudFile::to_json), "user": requester_params(caller)});
        // The request shows its owner by name, as every request does.
        crate::users::remember_all(&tx, &[Some(&caller.user)]).await?;
        tx.execute(
            "INSERT INTO requests (id, type, target, owner_id, organization_id, params) \
             VALUES ($1, 'import:backup', $2, $3, $4, $5)",
            &[&id, &target, &caller.id(), &caller.context.org(), &params],
        )
        .await
        .db()?;
        tx.commit().await.db()?;
        Ok(id)
    }

    /// Records an import of the dataset `file` (a finished TUS upload of that name, or an
    /// object of a cloud storage) or of the stored object `file_key` into `project`: an
    /// export worker makes one new task per subset of the dataset in the project, with
    /// the dataset's images as its data and its annotations (the steps of a restore,
    /// without `project.json`). Answers the request's id.
    #[tracing::instrument(skip_all)]
    pub async fn start_dataset_import(
        &self,
        caller: &Caller,
        project: i64,
        format: &str,
        file: Location<'_>,
        file_key: &str,
    ) -> ApiResult<String> {
        let format = ImportFormat::importer(format)
            .ok_or_else(|| ApiError::bad_request("Unknown format specified for the request"))?;
        if !format.imports_datasets() {
            return Err(ApiError::bad_request(format!(
                "{} datasets are not imported into projects yet; use COCO 1.0, COCO Keypoints 1.0, CVAT 1.1 or \
                 Datumaro 1.0",
                format.name()
            )));
        }
        let mut client = self.client().await?;
        let (_, org, _) = self.check_project(&client, caller, project, ProjectScope::Update).await?;
        let owner = Some(Owner::Project(project));
        let cloud = self.cloud_file(&client, caller, file, owner, Direction::Import, "").await?;
        let tx = client.transaction().await.db()?;
        let parts = match cloud {
            Some(_) => Vec::new(),
            None => uploaded_parts(&tx, caller, "dataset", file.filename, file_key).await?,
        };
        let id = format!(
            "action=import&target=project&target_id={project}&subresource=dataset&key={}",
            uuid::Uuid::new_v4().simple()
        );
        let params = json!({"parts": parts, "format": format.name(), "file_name": file.filename,
                            "cloud": cloud.as_ref().map(CloudFile::to_json),
                            "base_url": caller.base_url, "user": requester_params(caller)});
        crate::users::remember_all(&tx, &[Some(&caller.user)]).await?;
        tx.execute(
            "INSERT INTO requests (id, type, target, project_id, owner_id, organization_id, params, format) \
             VALUES ($1, 'import:dataset', 'project', $2, $3, $4, $5, $6)",
            &[&id, &project, &caller.id(), &org, &params, &format.name()],
        )
        .await
        .db()?;
        tx.commit().await.db()?;
        Ok(id)
    }

    /// For a dataset import's worker, after a subset's task was processed: the task as
    /// an import reads it (frames and labels).
    #[tracing::instrument(skip_all)]
    pub async fn restored_source(&self, request_id: &str, slot: i32) -> ApiResult<String> {
        let restore = self.restore_request(request_id).await?;
        let task = self
            .restored_task(request_id, slot)
            .await?
            .ok_or_else(|| ApiError::bad_request("The import has no task for this subset yet"))?;
        let base_url = restore.params["base_url"].as_str().unwrap_or_default();
        let client = self.client().await?;
        let source = self.task_source(&client, task, None, base_url, false, crate::exports::Deleted::Skip).await?;
        Ok(cvat_models::render(&source))
    }

    /// The open restore `request_id`.
    async fn restore_request(&self, request_id: &str) -> ApiResult<Restore> {
        let client = self.client().await?;
        let row = client
            .query_opt(
                "SELECT params, target, project_id, type FROM requests WHERE id = $1 \
                 AND type IN ('import:backup', 'import:dataset') AND status IN ('queued', 'started')",
                &[&request_id],
            )
            .await
            .db()?
            .ok_or_else(|| ApiError::detail(ErrorKind::NotFound, "There is no open restore with this id"))?;
        Ok(Restore {
            params: column(&row, 0)?,
            project: column::<_, String>(&row, 1)? == "project",
            made_project: column(&row, 2)?,
            dataset: column::<_, String>(&row, 3)? == "import:dataset",
        })
    }

    /// The task a restore made for `slot`, if it made it yet.
    async fn restored_task(&self, request_id: &str, slot: i32) -> ApiResult<Option<i64>> {
        let client = self.client().await?;
        let row = client
            .query_opt("SELECT task_id FROM restored_tasks WHERE request_id = $1 AND slot = $2", &[&request_id, &slot])
            .await
            .db()?;
        row.map(|r| column(&r, 0)).transpose()
    }

    /// For a project backup, first: the project of `project.json` (name, bug tracker,
    /// labels), made once per request; answers `{"project_id"}`.
    #[tracing::instrument(skip_all)]
    pub async fn restore_project(&self, request_id: &str, project_json: &str) -> ApiResult<String> {
        let restore = self.restore_request(request_id).await?;
        if !restore.project || restore.dataset {
            return Err(ApiError::bad_request("This request makes no project"));
        }
        let project = match restore.made_project {
            Some(project) => project,
            None => {
                let spec = backup_spec(project_json, "project.json")?;
                let body = json!({
                    "name": spec["name"], "bug_tracker": spec["bug_tracker"].as_str().unwrap_or_default(),
                    "labels": spec["labels"],
                });
                let created: Value =
                    serde_json::from_str(&self.create_project(&requester(&restore.params), &body.to_string()).await?)
                        .map_err(|_| ApiError::internal())?;
                let project = created["id"].as_i64().ok_or_else(ApiError::internal)?;
                let client = self.client().await?;
                client
                    .execute("UPDATE requests SET project_id = $2 WHERE id = $1", &[&request_id, &project])
                    .await
                    .db()?;
                project
            }
        };
        Ok(json!({"project_id": project}).to_string())
    }

    /// Per task: the task of `task.json` (name, bug tracker, subset; segment size and
    /// overlap from its jobs; its labels, or in a project the project's), made once per
    /// request and slot; answers `{"task_id", "labels"}` (the labels as exports describe
    /// them, with their new ids).
    #[tracing::instrument(skip_all)]
    pub async fn restore_task(&self, request_id: &str, slot: i32, task_json: &str) -> ApiResult<String> {
        let restore = self.restore_request(request_id).await?;
        let task = match self.restored_task(request_id, slot).await? {
            Some(task) => task,
            None => {
                let spec = backup_spec(task_json, "task.json")?;
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
                let mut body = json!({
                    "name": spec["name"], "bug_tracker": text("bug_tracker"), "subset": text("subset"),
                    "segment_size": segment_size, "overlap": overlap,
                });
                match (restore.project, restore.made_project) {
                    (false, _) => body["labels"] = spec["labels"].clone(),
                    (true, Some(project)) => body["project_id"] = json!(project),
                    (true, None) => return Err(ApiError::bad_request("The restore has no project yet")),
                }
                let created: Value =
                    serde_json::from_str(&self.create_task(&requester(&restore.params), &body.to_string()).await?)
                        .map_err(|_| ApiError::internal())?;
                let task = created["id"].as_i64().ok_or_else(ApiError::internal)?;
                let client = self.client().await?;
                client
                    .execute(
                        "INSERT INTO restored_tasks (request_id, slot, task_id) VALUES ($1, $2, $3)",
                        &[&request_id, &slot, &task],
                    )
                    .await
                    .db()?;
                if !restore.project {
                    client
                        .execute("UPDATE requests SET task_id = $2 WHERE id = $1", &[&request_id, &task])
                        .await
                        .db()?;
                }
                task
            }
        };
        let client = self.client().await?;
        let owner = self.task_label_owner_unchecked(&client, task).await?;
        let labels = self.export_labels(&client, owner).await?;
        Ok(json!({"task_id": task, "labels": labels}).to_string())
    }

    /// Step 2: the backup's media, stored as the task's uploads, become its data (in the
    /// archive's order); answers the processing the worker runs itself.
    #[tracing::instrument(skip_all)]
    pub async fn restore_data(
        &self,
        request_id: &str,
        task: i64,
        files: &[UploadedFile],
        data_json: &str,
    ) -> ApiResult<ProcessTaskData> {
        let restore = self.restore_request(request_id).await?;
        let client = self.client().await?;
        let made = client
            .query_opt("SELECT 1 FROM restored_tasks WHERE request_id = $1 AND task_id = $2", &[&request_id, &task])
            .await
            .db()?;
        drop(client);
        if made.is_none() {
            return Err(ApiError::bad_request("The restore did not make this task"));
        }
        let caller = requester(&restore.params);
        let data: Value = serde_json::from_str(data_json).unwrap_or_default();
        // The archive's media in its order, with the backup's frame selection (CVAT keeps
        // every uploaded file and selects; ours keep the selected frames and select all).
        let mut body = json!({
            "image_quality": data["image_quality"].as_i64().unwrap_or(70),
            "sorting_method": "predefined",
            // As CVAT: a backup's `chunk_type` says whether a video had zip chunks.
            "use_zip_chunks": data["chunk_type"].as_str() == Some("imageset"),
            "upload_file_order": files.iter().map(|f| f.name.clone()).collect::<Vec<_>>(),
        });
        for key in ["chunk_size", "start_frame", "stop_frame"] {
            if let Some(value) = data[key].as_i64().filter(|v| *v >= 0 && (key != "chunk_size" || *v > 0)) {
                body[key] = json!(value);
            }
        }
        if let Some(filter) = data["frame_filter"].as_str().filter(|f| !f.is_empty()) {
            body["frame_filter"] = json!(filter);
        }
        let mut params = crate::data::data_params(body.as_object().ok_or_else(ApiError::internal)?)
            .map_err(|e| ApiError::bad_request(format!("task.json has unusable data settings: {}", e.body)))?;
        params.deleted_frames = data["deleted_frames"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|f| f.as_i64().and_then(|f| i32::try_from(f).ok()))
            .collect();
        self.record_uploads(&caller, task, files, "").await?;
        self.start_data_with(&caller, task, params, "").await
    }

    /// Per task, last: each annotation job's document (a JSON array in job order, ids in
    /// place of names) saved as the user; after the `last` task the request names the
    /// task or project as its result. A document the task refuses fails the restore and
    /// removes what it made (answered, for their blobs to be purged). A project backup
    /// without tasks sends an empty array for slot 0.
    #[tracing::instrument(skip_all)]
    pub async fn complete_restore(
        &self,
        request_id: &str,
        slot: i32,
        last: bool,
        body: Vec<u8>,
    ) -> ApiResult<Vec<i64>> {
        let restore = self.restore_request(request_id).await?;
        let task = self.restored_task(request_id, slot).await?;
        let caller = requester(&restore.params);
        let saved = async {
            if restore.dataset {
                let task = task.ok_or_else(|| ApiError::bad_request("The import has no task for this subset yet"))?;
                let target = AnnotationTarget::Task(task);
                drop(self.save_annotations(&caller, target, AnnotationSave::Replace, body).await?);
                return Ok(());
            }
            let documents: Vec<Value> = serde_json::from_slice(&body)
                .map_err(|e| ApiError::bad_request(format!("annotations.json is not a list of documents: {e}")))?;
            let task = match task {
                Some(task) => task,
                None if restore.project && documents.is_empty() => return Ok(()),
                None => return Err(ApiError::bad_request("The restore has no task for these annotations yet")),
            };
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
            Ok(()) if last => {
                let client = self.client().await?;
                client
                    .execute(
                        "UPDATE requests SET result_id = coalesce(project_id, task_id) WHERE id = $1",
                        &[&request_id],
                    )
                    .await
                    .db()?;
                self.finish_request(&client, request_id).await.map(|_| Vec::new())
            }
            Ok(()) => Ok(Vec::new()),
            Err(err) if err.status_code() < 500 => self.fail_request(request_id, &reason(&err)).await,
            Err(err) => Err(err),
        }
    }
}

/// A restore's state: what it makes and what it made so far.
struct Restore {
    params: Value,
    /// A project backup or a project's dataset (else a task backup).
    project: bool,
    made_project: Option<i64>,
    /// A dataset import: each task's annotations come as one task-level document.
    dataset: bool,
}

/// The pieces of the upload a request consumes: the finished TUS upload `filename` of
/// the caller for `purpose`, or the object `file_key` the gateway stored.
async fn uploaded_parts(
    tx: &impl GenericClient,
    caller: &Caller,
    purpose: &str,
    filename: &str,
    file_key: &str,
) -> ApiResult<Vec<String>> {
    if !file_key.is_empty() {
        if !file_key.starts_with("imports/") {
            return Err(ApiError::bad_request("The file must be uploaded to this server first"));
        }
        return Ok(vec![file_key.to_string()]);
    }
    if filename.is_empty() {
        return Err(ApiError::bad_request(crate::imports::SEND_THE_FILE));
    }
    let row = tx
        .query_opt(
            "DELETE FROM tus_uploads WHERE id = (SELECT id FROM tus_uploads WHERE task_id IS NULL \
             AND purpose = $3 AND owner_id = $1 AND name = $2 AND received = length \
             ORDER BY created_date DESC LIMIT 1) RETURNING parts",
            &[&caller.id(), &filename, &purpose],
        )
        .await
        .db()?
        .ok_or_else(|| ApiError::bad_request(format!("No uploaded file named {filename:?}: upload it first")))?;
    column(&row, 0)
}

/// `task.json` or `project.json`, of a version this server reads.
fn backup_spec(text: &str, name: &str) -> ApiResult<Value> {
    let spec: Value =
        serde_json::from_str(text).map_err(|e| ApiError::bad_request(format!("{name} is not JSON: {e}")))?;
    match spec["version"].as_str() {
        Some("1.0") => Ok(spec),
        other => Err(ApiError::bad_request(format!("{} version is not supported", other.unwrap_or("No")))),
    }
}
