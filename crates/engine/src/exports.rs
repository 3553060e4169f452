//! Dataset exports (`POST /api/{tasks,jobs}/{id}/dataset/export`): a background request
//! per (target, what, format, user), run by an export worker, whose archive is kept in
//! the object store and downloaded by the user who asked for it.
//!
//! A finished export is reused while it is fresh: for [`RESULT_TTL_HOURS`], and only as
//! long as neither the task nor its project changed after it was made (annotation saves
//! and label changes touch them). Asking again meanwhile answers the same request at
//! once; a stale or failed one is queued again under the same id.
//!
//! Not yet: projects, exports to cloud storages (refused with a 400), and the legacy
//! GET forms.

use crate::access::Caller;
use crate::annotations::{in_parts, AnnotationTarget, DocumentStream};
use crate::labels::LabelOwner;
use crate::Engine;
use cvat_db::{column, DbResultExt, GenericClient};
use cvat_error::{ApiError, ApiResult, ErrorKind};
use cvat_formats::{
    AttributeInfo, ExportSource, Format, FrameInfo, ImageRef, JobInfo, LabelInfo, Person, SegmentInfo, TaskInfo,
};
use cvat_permissions::{JobScope, TaskScope};
use serde_json::json;

/// How long a finished export can be downloaded and is reused.
pub const RESULT_TTL_HOURS: i64 = 24;

/// An export as asked for (the query of the export POST).
#[derive(Debug, Clone)]
pub struct ExportStart {
    pub target: AnnotationTarget,
    pub format: String,
    pub save_images: bool,
    /// `local`, `cloud_storage`, or empty (the target's default, local here).
    pub location: String,
}

/// Where a finished export is and the name its download gets.
pub struct ExportResult {
    pub key: String,
    pub file_name: String,
}

/// A moment as CVAT's formats write it (Python's `str(datetime)` in UTC).
fn python_time(moment: chrono::DateTime<chrono::Utc>) -> String {
    moment.format("%Y-%m-%d %H:%M:%S%.6f+00:00").to_string()
}

/// A download name the client accepts: `[A-Za-z0-9_. -]`, with an extension.
fn file_name(target: AnnotationTarget, subresource: &str, format: Format) -> String {
    let name = format!("{}_{}_{subresource}_{}.zip", target.name(), target.id(), format.name());
    name.chars().map(|c| if c.is_ascii_alphanumeric() || "_. -".contains(c) { c } else { '_' }).collect()
}

impl Engine {
    /// Checks the caller may export the target, records the request and answers its id
    /// and whether a worker must run it (false when a fresh result or a running export
    /// of the same request exists).
    pub async fn start_export(&self, caller: &Caller, start: &ExportStart) -> ApiResult<(String, bool)> {
        let format = Format::exporter(&start.format)
            .ok_or_else(|| ApiError::bad_request("Unknown format specified for the request"))?;
        match start.location.as_str() {
            "" | "local" => {}
            "cloud_storage" => return Err(ApiError::bad_request("Exports to a cloud storage are not supported yet")),
            other => return Err(ApiError::field("location", format!("\"{other}\" is not a valid choice."))),
        }
        let client = self.client().await?;
        let (task, job, org) = match start.target {
            AnnotationTarget::Task(id) => {
                let (access, _) = self.check_task(&client, caller, id, TaskScope::View).await?;
                (id, None, access.org)
            }
            AnnotationTarget::Job(id) => {
                let (_, task, org, _) = self.check_job(&client, caller, id, JobScope::View).await?;
                (task, Some(id), org)
            }
        };
        let has_data = client.query_opt("SELECT 1 FROM task_data WHERE task_id = $1", &[&task]).await.db()?.is_some();
        if !has_data {
            return Err(ApiError::bad_request("The task has no data to export"));
        }
        let subresource = if start.save_images { "dataset" } else { "annotations" };
        let id = format!(
            "action=export&target={}&target_id={}&subresource={subresource}&format={}&user_id={}",
            start.target.name(),
            start.target.id(),
            format.name().replace(' ', "_").replace('.', "@"),
            caller.id()
        );
        let reusable = client
            .query_opt(
                "SELECT r.status IN ('queued', 'started') OR (r.status = 'finished' \
                   AND r.finished_date > now() - make_interval(hours => $3) \
                   AND r.finished_date >= t.updated_date \
                   AND (p.id IS NULL OR r.finished_date >= p.updated_date)) \
                 FROM requests r JOIN tasks t ON t.id = $2 LEFT JOIN projects p ON p.id = t.project_id \
                 WHERE r.id = $1",
                &[&id, &task, &(RESULT_TTL_HOURS as i32)],
            )
            .await
            .db()?;
        if let Some(row) = reusable {
            if column::<_, bool>(&row, 0)? {
                return Ok((id, false));
            }
        }
        let params = json!({"save_images": start.save_images, "base_url": caller.base_url});
        let kind = format!("export:{subresource}");
        let queued = client
            .execute(
                "INSERT INTO requests (id, type, target, task_id, job_id, owner_id, organization_id, params, format) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
                 ON CONFLICT (id) DO UPDATE SET status = 'queued', message = '', progress = NULL, \
                 params = EXCLUDED.params, created_date = now(), started_date = NULL, finished_date = NULL, \
                 result_key = NULL, result_name = NULL WHERE requests.status IN ('failed', 'finished')",
                &[&id, &kind, &start.target.name(), &task, &job, &caller.id(), &org, &params, &format.name()],
            )
            .await
            .db()?;
        Ok((id, queued == 1))
    }

    /// For the export worker: what the request exports, as `{"source": ExportSource,
    /// "annotations": LabeledData}` in parts. The request is marked started; a request
    /// that is gone or no longer open is a 404 (nothing to do).
    pub async fn export_source(&self, request_id: &str) -> ApiResult<DocumentStream> {
        let client = self.client().await?;
        let row = client
            .query_opt(
                "UPDATE requests SET status = 'started', progress = 0, started_date = now() \
                 WHERE id = $1 AND status IN ('queued', 'started') AND type LIKE 'export:%' \
                 RETURNING task_id, job_id, format, params",
                &[&request_id],
            )
            .await
            .db()?
            .ok_or_else(|| ApiError::detail(ErrorKind::NotFound, "There is no open export with this id"))?;
        let task: i64 = column(&row, 0)?;
        let job: Option<i64> = column(&row, 1)?;
        let format: Option<String> = column(&row, 2)?;
        let params: serde_json::Value = column(&row, 3)?;
        let base_url = params["base_url"].as_str().unwrap_or_default();
        let save_images = params["save_images"].as_bool().unwrap_or(false);
        let mut source = self.export_meta(&client, task, job, base_url, save_images).await?;
        source.format = format.unwrap_or_default();
        let target = match job {
            Some(job) => AnnotationTarget::Job(job),
            None => AnnotationTarget::Task(task),
        };
        let data = self.document_of(&client, task, target).await?;
        drop(client);
        let head = format!("{{\"source\":{},\"annotations\":", cvat_models::render(&source)).into_bytes();
        use futures_util::StreamExt;
        let parts = futures_util::stream::once(async { Ok(head) })
            .chain(in_parts(data))
            .chain(futures_util::stream::once(async { Ok(b"}".to_vec()) }));
        Ok(Box::pin(parts))
    }

    /// The task (or job), labels and frames an export describes.
    pub(crate) async fn export_meta(
        &self,
        client: &impl GenericClient,
        task: i64,
        job: Option<i64>,
        base_url: &str,
        save_images: bool,
    ) -> ApiResult<ExportSource> {
        let row = client
            .query_one(
                "SELECT t.name, t.size, t.mode, coalesce(t.overlap, 0), t.bug_tracker, t.created_date, t.updated_date, \
                 t.subset, d.start_frame, d.stop_frame, d.frame_step, o.username, a.username, d.deleted_frames, \
                 d.chunk_size \
                 FROM tasks t JOIN task_data d ON d.task_id = t.id \
                 LEFT JOIN users o ON o.id = t.owner_id LEFT JOIN users a ON a.id = t.assignee_id WHERE t.id = $1",
                &[&task],
            )
            .await
            .db()?;
        let person = |name: Option<String>| name.map(|username| Person { username, email: String::new() });
        let step: i32 = column(&row, 10)?;
        let segments = client
            .query(
                "SELECT j.id, s.id, s.start_frame, s.stop_frame FROM jobs j JOIN segments s ON s.id = j.segment_id \
                 WHERE j.task_id = $1 AND j.type = 'annotation' ORDER BY s.start_frame, j.id",
                &[&task],
            )
            .await
            .db()?
            .iter()
            .map(|r| {
                Ok(SegmentInfo {
                    id: column(r, 1)?,
                    start: column::<_, i32>(r, 2)?.max(0) as u32,
                    stop: column::<_, i32>(r, 3)?.max(0) as u32,
                    url: format!("{base_url}/api/jobs/{}", column::<_, i64>(r, 0)?),
                })
            })
            .collect::<ApiResult<Vec<_>>>()?;
        let info = TaskInfo {
            id: task,
            name: column(&row, 0)?,
            size: i64::from(column::<_, i32>(&row, 1)?),
            mode: column(&row, 2)?,
            overlap: i64::from(column::<_, i32>(&row, 3)?),
            bug_tracker: column(&row, 4)?,
            created: python_time(column(&row, 5)?),
            updated: python_time(column(&row, 6)?),
            subset: column(&row, 7)?,
            start_frame: i64::from(column::<_, i32>(&row, 8)?),
            stop_frame: i64::from(column::<_, i32>(&row, 9)?),
            frame_step: i64::from(step),
            frame_filter: if step > 1 { format!("step={step}") } else { String::new() },
            segments,
            owner: person(column(&row, 11)?),
            assignee: person(column(&row, 12)?),
        };
        let deleted: Vec<i32> = column(&row, 13)?;
        let chunk_size = i64::from(column::<_, i32>(&row, 14)?.max(1));
        let job = match job {
            None => None,
            Some(id) => {
                let r = client
                    .query_one(
                        "SELECT j.updated_date, s.start_frame, s.stop_frame, a.username FROM jobs j \
                         JOIN segments s ON s.id = j.segment_id LEFT JOIN users a ON a.id = j.assignee_id \
                         WHERE j.id = $1",
                        &[&id],
                    )
                    .await
                    .db()?;
                Some(JobInfo {
                    id,
                    updated: python_time(column(&r, 0)?),
                    start: column::<_, i32>(&r, 1)?.max(0) as u32,
                    stop: column::<_, i32>(&r, 2)?.max(0) as u32,
                    assignee: person(column(&r, 3)?),
                })
            }
        };
        let (first, last) = match &job {
            Some(job) => (job.start as i32, job.stop as i32),
            None => (0, i32::MAX),
        };
        let frames = client
            .query(
                "SELECT number, name, width, height, original_offset, original_length, original_extension \
                 FROM frames WHERE task_id = $1 AND number BETWEEN $2 AND $3 \
                 AND NOT number = ANY($4) ORDER BY number",
                &[&task, &first, &last, &deleted],
            )
            .await
            .db()?
            .iter()
            .map(|r| {
                let frame = column::<_, i32>(r, 0)?.max(0);
                let image = match save_images {
                    false => None,
                    true => Some(ImageRef {
                        key: cvat_blob::keys::chunk(task, "original", i64::from(frame) / chunk_size),
                        offset: column::<_, i64>(r, 4)?.max(0) as u64,
                        length: column::<_, i64>(r, 5)?.max(0) as u64,
                        extension: column(r, 6)?,
                    }),
                };
                Ok(FrameInfo {
                    frame: frame as u32,
                    name: column(r, 1)?,
                    width: column::<_, i32>(r, 2)?.max(0) as u32,
                    height: column::<_, i32>(r, 3)?.max(0) as u32,
                    image,
                })
            })
            .collect::<ApiResult<Vec<_>>>()?;
        let labels = self.export_labels(client, task).await?;
        Ok(ExportSource {
            format: String::new(),
            save_images: false,
            task: info,
            job,
            labels,
            frames,
            dumped: python_time(chrono::Utc::now()),
        })
    }

    /// The task's labels (its project's, in a project) in primary-key order, sublabels
    /// included, with skeleton SVGs naming their sublabels.
    async fn export_labels(&self, client: &impl GenericClient, task: i64) -> ApiResult<Vec<LabelInfo>> {
        let owner: LabelOwner = self.task_label_owner_unchecked(client, task).await?;
        let owner_column = owner.column();
        let rows = client
            .query(
                &format!(
                    "SELECT l.id, l.name, l.color, l.type, p.name, l.svg FROM labels l \
                     LEFT JOIN labels p ON p.id = l.parent_id WHERE l.{owner_column} = $1 ORDER BY l.id"
                ),
                &[&owner.id()],
            )
            .await
            .db()?;
        let mut labels = Vec::with_capacity(rows.len());
        for r in &rows {
            labels.push(LabelInfo {
                id: column(r, 0)?,
                name: column(r, 1)?,
                color: column(r, 2)?,
                kind: column(r, 3)?,
                parent: column(r, 4)?,
                svg: column(r, 5)?,
                attributes: Vec::new(),
            });
        }
        let names: Vec<(i64, String)> = labels.iter().map(|l| (l.id, l.name.clone())).collect();
        for label in labels.iter_mut().filter(|l| !l.svg.is_empty()) {
            for (id, name) in &names {
                label.svg =
                    label.svg.replace(&format!("data-label-id=\"{id}\""), &format!("data-label-name=\"{name}\""));
            }
        }
        let attributes = client
            .query(
                &format!(
                    "SELECT a.id, a.label_id, a.name, a.mutable, a.input_type, a.default_value, a.values \
                     FROM attributes a JOIN labels l ON l.id = a.label_id WHERE l.{owner_column} = $1 ORDER BY a.id"
                ),
                &[&owner.id()],
            )
            .await
            .db()?;
        for r in &attributes {
            let label: i64 = column(r, 1)?;
            if let Some(label) = labels.iter_mut().find(|l| l.id == label) {
                label.attributes.push(AttributeInfo {
                    id: column(r, 0)?,
                    name: column(r, 2)?,
                    mutable: column(r, 3)?,
                    input_type: column(r, 4)?,
                    default_value: column(r, 5)?,
                    values: column(r, 6)?,
                });
            }
        }
        Ok(labels)
    }

    /// A worker stored an export's archive under `key`: the request is finished.
    pub async fn complete_export(&self, request_id: &str, key: &str) -> ApiResult<()> {
        let client = self.client().await?;
        let row = client
            .query_opt("SELECT type, target, task_id, job_id, format FROM requests WHERE id = $1", &[&request_id])
            .await
            .db()?
            .ok_or_else(ApiError::not_found)?;
        let kind: String = column(&row, 0)?;
        let target = match (column::<_, String>(&row, 1)?.as_str(), column::<_, Option<i64>>(&row, 3)?) {
            ("job", Some(job)) => AnnotationTarget::Job(job),
            _ => AnnotationTarget::Task(column(&row, 2)?),
        };
        let format =
            column::<_, Option<String>>(&row, 4)?.and_then(|f| Format::exporter(&f)).ok_or_else(ApiError::internal)?;
        let name = file_name(target, kind.trim_start_matches("export:"), format);
        client
            .execute(
                "UPDATE requests SET status = 'finished', progress = 1, message = '', finished_date = now(), \
                 started_date = coalesce(started_date, now()), result_key = $2, result_name = $3 \
                 WHERE id = $1 AND status IN ('queued', 'started')",
                &[&request_id, &key, &name],
            )
            .await
            .db()?;
        Ok(())
    }

    /// The archive of a finished export of `target`, for the user who asked for it.
    pub async fn export_result(
        &self,
        caller: &Caller,
        target: AnnotationTarget,
        request_id: &str,
    ) -> ApiResult<ExportResult> {
        let client = self.client().await?;
        let row = client
            .query_opt(
                "SELECT owner_id, target, coalesce(job_id, task_id), status, result_key, result_name, \
                 finished_date > now() - make_interval(hours => $2) FROM requests \
                 WHERE id = $1 AND type LIKE 'export:%'",
                &[&request_id, &(RESULT_TTL_HOURS as i32)],
            )
            .await
            .db()?
            .ok_or_else(|| ApiError::detail(ErrorKind::NotFound, "There is no export with this id"))?;
        let target_name: String = column(&row, 1)?;
        if target_name != target.name() || column::<_, i64>(&row, 2)? != target.id() {
            return Err(ApiError::detail(ErrorKind::NotFound, "There is no export with this id"));
        }
        if column::<_, i64>(&row, 0)? != caller.id() {
            return Err(ApiError::detail(ErrorKind::Forbidden, "Only the user who made an export can download it"));
        }
        let status: String = column(&row, 3)?;
        let (key, file_name): (Option<String>, Option<String>) = (column(&row, 4)?, column(&row, 5)?);
        match (status.as_str(), key, file_name, column::<_, Option<bool>>(&row, 6)?) {
            ("finished", Some(key), Some(file_name), Some(true)) => Ok(ExportResult { key, file_name }),
            ("finished", ..) => Err(ApiError::detail(ErrorKind::NotFound, "The export has expired; export again")),
            _ => Err(ApiError::bad_request("The export is not finished")),
        }
    }
}
