//! Annotation imports (`POST /api/{tasks,jobs}/{id}/annotations/?format=`): a background
//! request per target, run by a worker of the export pool that reads the uploaded file
//! (`cvat-formats`) and hands back a document, which is saved exactly as a PUT of the
//! user who asked would be: checked against the labels and frames, replacing every
//! object of the target in one transaction, or not at all (the request then fails with
//! the reason).

use crate::access::Caller;
use crate::annotations::{AnnotationSave, AnnotationTarget};
use crate::locations::{CloudFile, Direction, Location, Owner};
use crate::Engine;
use cvat_db::{column, DbResultExt, GenericClient};
use cvat_error::{ApiError, ApiResult, ErrorKind};
use cvat_formats::ImportFormat;
use cvat_permissions::{JobScope, Privilege, TaskScope};
use serde_json::{json, Value};

/// An import as asked for: the target, the format, and the file — a finished resumable
/// upload by name, or an object the gateway stored (`imports/…`).
#[derive(Debug, Clone)]
pub struct ImportStart {
    pub target: AnnotationTarget,
    pub format: String,
    pub filename: String,
    pub file_key: String,
    /// The file's objects join the target's instead of replacing them.
    pub append: bool,
    /// `local`, `cloud_storage`, or empty (the task's `source_storage`); in a cloud
    /// storage the file is the object `filename`.
    pub location: String,
    pub cloud_storage_id: Option<i64>,
    /// CVAT's `conv_mask_to_poly`: masks of mask-based formats become polygons.
    pub conv_mask_to_poly: bool,
}

/// What an import without a file says.
pub(crate) const SEND_THE_FILE: &str =
    "Send the file: as a multipart upload, with Upload-Start, a resumable upload and Upload-Finish, or from a cloud \
     storage (location=cloud_storage&cloud_storage_id=…&filename=…)";

/// What a background request records of the user who made it, so that its work is
/// done as that user (their rights checked again then).
pub(crate) fn requester_params(caller: &Caller) -> Value {
    json!({"id": caller.id(), "username": caller.user.username, "group": caller.privilege.group(),
           "org": caller.context.org()})
}

/// The user a request was made by, from [`requester_params`] under `user`.
pub(crate) fn requester(params: &Value) -> Caller {
    let user = &params["user"];
    Caller {
        user: cvat_proto::auth::User {
            id: user["id"].as_i64().unwrap_or_default(),
            username: user["username"].as_str().unwrap_or_default().to_string(),
            ..Default::default()
        },
        privilege: Privilege::from_groups([user["group"].as_str().unwrap_or_default()]),
        context: user["org"].as_i64().map_or(crate::Context::Unset, crate::Context::Org),
        base_url: params["base_url"].as_str().unwrap_or_default().to_string(),
    }
}

/// A refusal's text for the request's message.
pub(crate) fn reason(err: &ApiError) -> String {
    match &err.body {
        Value::String(text) => text.clone(),
        Value::Object(map) if map.get("detail").is_some_and(Value::is_string) => {
            map["detail"].as_str().unwrap_or_default().to_string()
        }
        other => other.to_string(),
    }
}

impl Engine {
    /// Checks import:annotations on the target (the task's update right) and that the
    /// task has frames; answers the task.
    pub(crate) async fn check_can_import(
        &self,
        client: &impl GenericClient,
        caller: &Caller,
        target: AnnotationTarget,
    ) -> ApiResult<i64> {
        let task = match target {
            AnnotationTarget::Task(id) => {
                self.check_task(client, caller, id, TaskScope::Update).await?;
                id
            }
            AnnotationTarget::Job(id) => self.check_job(client, caller, id, JobScope::Update).await?.1,
        };
        let has_data = client.query_opt("SELECT 1 FROM task_data WHERE task_id = $1", &[&task]).await.db()?.is_some();
        if !has_data {
            return Err(ApiError::bad_request("The task has no data: annotations need its frames."));
        }
        Ok(task)
    }

    /// Records the import request, taking the uploaded file with it; answers its id.
    #[tracing::instrument(skip_all)]
    pub async fn start_import(&self, caller: &Caller, start: &ImportStart) -> ApiResult<String> {
        let format = ImportFormat::importer(&start.format)
            .ok_or_else(|| ApiError::bad_request("Unknown format specified for the request"))?;
        let mut client = self.client().await?;
        let task = self.check_can_import(&client, caller, start.target).await?;
        let wanted =
            Location { location: &start.location, cloud_storage_id: start.cloud_storage_id, filename: &start.filename };
        let cloud = self.cloud_file(&client, caller, wanted, Some(Owner::Task(task)), Direction::Import, "").await?;
        let tx = client.transaction().await.db()?;
        let parts: Vec<String> = match &cloud {
            Some(_) => Vec::new(),
            None if !start.file_key.is_empty() => {
                if !start.file_key.starts_with("imports/") {
                    return Err(ApiError::bad_request("The file must be uploaded to this server first"));
                }
                vec![start.file_key.clone()]
            }
            None if start.filename.is_empty() => return Err(ApiError::bad_request(SEND_THE_FILE)),
            None => {
                let row = tx
                    .query_opt(
                        "DELETE FROM tus_uploads WHERE id = (SELECT id FROM tus_uploads WHERE task_id = $1 \
                         AND purpose = 'annotations' AND name = $2 AND received = length \
                         ORDER BY created_date DESC LIMIT 1) RETURNING parts",
                        &[&task, &start.filename],
                    )
                    .await
                    .db()?
                    .ok_or_else(|| {
                        ApiError::bad_request(format!("No uploaded file named {:?}: upload it first", start.filename))
                    })?;
                column(&row, 0)?
            }
        };
        let id = format!(
            "action=import&target={}&target_id={}&subresource=annotations",
            start.target.name(),
            start.target.id()
        );
        let params = json!({
            "format": format.name(),
            "parts": parts,
            "file_name": start.filename,
            "append": start.append,
            "conv_mask_to_poly": start.conv_mask_to_poly,
            "cloud": cloud.as_ref().map(CloudFile::to_json),
            "base_url": caller.base_url,
            "user": requester_params(caller),
        });
        let job = match start.target {
            AnnotationTarget::Job(job) => Some(job),
            AnnotationTarget::Task(_) => None,
        };
        crate::users::remember_all(&tx, &[Some(&caller.user)]).await?;
        let queued = tx
            .execute(
                "INSERT INTO requests (id, type, target, task_id, job_id, owner_id, organization_id, params, format) \
                 SELECT $1, 'import:annotations', $2, $3, $4, $5, t.organization_id, $6, $7 FROM tasks t WHERE t.id = $3 \
                 ON CONFLICT (id) DO UPDATE SET status = 'queued', message = '', progress = NULL, \
                 owner_id = EXCLUDED.owner_id, params = EXCLUDED.params, format = EXCLUDED.format, \
                 created_date = now(), started_date = NULL, finished_date = NULL \
                 WHERE requests.status IN ('failed', 'finished')",
                &[&id, &start.target.name(), &task, &job, &caller.id(), &params, &format.name()],
            )
            .await
            .db()?;
        if queued == 0 {
            return Err(ApiError::detail(ErrorKind::Conflict, "An import into this target is already running"));
        }
        tx.commit().await.db()?;
        Ok(id)
    }

    /// For the worker: the task (or job) the file goes into, the format and the file's
    /// pieces, as `{"source", "format", "parts"}` (a backup restore: only `parts`); the
    /// request is marked started.
    #[tracing::instrument(skip_all)]
    pub async fn import_source(&self, request_id: &str) -> ApiResult<String> {
        let client = self.client().await?;
        let row = client
            .query_opt(
                "UPDATE requests SET status = 'started', progress = 0, started_date = now() \
                 WHERE id = $1 AND status IN ('queued', 'started') \
                 AND type IN ('import:annotations', 'import:backup', 'import:dataset') \
                 RETURNING task_id, job_id, params, type",
                &[&request_id],
            )
            .await
            .db()?
            .ok_or_else(|| ApiError::detail(ErrorKind::NotFound, "There is no open import with this id"))?;
        let params: Value = column(&row, 2)?;
        match column::<_, String>(&row, 3)?.as_str() {
            "import:backup" => return Ok(json!({"parts": params["parts"], "cloud": params["cloud"]}).to_string()),
            "import:dataset" => {
                let source = json!({"parts": params["parts"], "format": params["format"], "cloud": params["cloud"]});
                return Ok(source.to_string());
            }
            _ => {}
        }
        let base_url = params["base_url"].as_str().unwrap_or_default();
        let source = self
            .task_source(&client, column(&row, 0)?, column(&row, 1)?, base_url, false, crate::exports::Deleted::Skip)
            .await?;
        Ok(json!({"source": source, "format": params["format"], "parts": params["parts"], "cloud": params["cloud"],
            "conv_mask_to_poly": params["conv_mask_to_poly"]})
        .to_string())
    }

    /// The worker reads the file: its objects (lines, streamed in `parts`) replace the
    /// target's annotations as the user who asked. A document the task refuses (or a
    /// user who lost the right) fails the request with the reason; only an outage is an
    /// error here (the worker retries).
    #[tracing::instrument(skip_all)]
    pub async fn complete_import(
        &self,
        request_id: &str,
        parts: impl futures_util::Stream<Item = ApiResult<Vec<u8>>> + Unpin,
    ) -> ApiResult<()> {
        let row = {
            let client = self.client().await?;
            client
                .query_opt(
                    "SELECT target, coalesce(job_id, task_id), params, status FROM requests \
                     WHERE id = $1 AND type = 'import:annotations'",
                    &[&request_id],
                )
                .await
                .db()?
                .ok_or_else(|| ApiError::detail(ErrorKind::NotFound, "There is no import with this id"))?
        };
        let status: String = column(&row, 3)?;
        if !matches!(status.as_str(), "queued" | "started") {
            return Ok(());
        }
        let target = AnnotationTarget::from_name(&column::<_, String>(&row, 0)?, column(&row, 1)?)?;
        let params: Value = column(&row, 2)?;
        let caller = requester(&params);
        let save = match params["append"].as_bool() {
            Some(true) => AnnotationSave::Patch(crate::AnnotationAction::Create),
            _ => AnnotationSave::Replace,
        };
        match self.save_lines(&caller, target, save, parts).await {
            Ok(_) => {
                let client = self.client().await?;
                self.finish_request(&client, request_id).await
            }
            Err(err) if err.status_code() < 500 => self.fail_request(request_id, &reason(&err)).await.map(|_| ()),
            Err(err) => Err(err),
        }
    }
}
