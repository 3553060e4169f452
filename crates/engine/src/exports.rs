//! Dataset exports (`POST /api/{tasks,jobs}/{id}/dataset/export`): a background request
//! per (target, what, format, user), run by an export worker, whose archive is kept in
//! the object store and downloaded by the user who asked for it.
//!
//! A finished export is reused while it is fresh: for [`RESULT_TTL_HOURS`], and only as
//! long as neither the task nor its project changed after it was made (annotation saves
//! and label changes touch them). Asking again meanwhile answers the same request at
//! once; a stale or failed one is queued again under the same id.
//!
//! A project exports as one sequence of its tasks with data, ordered by subset and id:
//! frame numbers in files continue across the tasks of a subset, a name used twice in a
//! subset gets `_1`, `_2`, …, and each task's annotations are moved onto the sequence.
//!
//! Not yet: exports to cloud storages (refused with a 400).

use crate::access::Caller;
use crate::annotations::{annotation_jobs, read_object, stored, AnnotationTarget, DocumentStream, JobSpan, PART_BYTES};
use crate::labels::LabelOwner;
use crate::locations::{CloudFile, Direction, Location, Owner};
use crate::Engine;
use cvat_annotations::{Schema, Shape, Tag, Track, TrackedShape};
use cvat_db::{column, DbResultExt, GenericClient};
use cvat_error::{ApiError, ApiResult, ErrorKind};
use cvat_formats::{
    write_line, write_raw_line, AttributeInfo, ExportSource, Format, FrameInfo, ImageRef, JobInfo, LabelInfo, Meta,
    ObjectKind, Person, ProjectInfo, SegmentInfo, TaskInfo, VideoInfo,
};
use cvat_permissions::{JobScope, ProjectScope, TaskScope};
use serde_json::json;
use std::collections::HashMap;

/// How long a finished export can be downloaded and is reused.
pub const RESULT_TTL_HOURS: i64 = 24;

/// What an export covers.
#[derive(Debug, Clone, Copy)]
pub enum ExportTarget {
    Task(i64),
    Job(i64),
    Project(i64),
}

impl ExportTarget {
    /// The target a request names (`task`, `job` or `project`).
    pub fn from_name(name: &str, id: i64) -> ApiResult<Self> {
        match name {
            "project" => Ok(ExportTarget::Project(id)),
            other => Ok(match AnnotationTarget::from_name(other, id)? {
                AnnotationTarget::Task(id) => ExportTarget::Task(id),
                AnnotationTarget::Job(id) => ExportTarget::Job(id),
            }),
        }
    }

    fn name(self) -> &'static str {
        match self {
            ExportTarget::Task(_) => "task",
            ExportTarget::Job(_) => "job",
            ExportTarget::Project(_) => "project",
        }
    }

    fn id(self) -> i64 {
        match self {
            ExportTarget::Task(id) | ExportTarget::Job(id) | ExportTarget::Project(id) => id,
        }
    }
}

/// Whether a source leaves out the frames marked deleted (exports) or keeps them (backups).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Deleted {
    Skip,
    Keep,
}

/// A task's data settings an export needs besides `TaskInfo`.
struct TaskData {
    deleted: Vec<i32>,
    chunk_size: i64,
}

/// Where a task's frames go in an export: the position of its first frame in the
/// sequence, and how far its frame numbers move in files.
#[derive(Debug, Clone, Copy, Default)]
struct Placement {
    base: u32,
    id_offset: i64,
}

/// An export as asked for (the query of the export POST).
#[derive(Debug, Clone)]
pub struct ExportStart {
    pub target: ExportTarget,
    /// A dataset format; empty for a backup.
    pub format: String,
    /// A backup of a task (CVAT's backup layout) instead of a dataset.
    pub backup: bool,
    /// A backup without media (CVAT: for tasks whose data is in a cloud storage).
    pub lightweight: bool,
    pub save_images: bool,
    /// `local`, `cloud_storage`, or empty (the target's `target_storage`).
    pub location: String,
    pub cloud_storage_id: Option<i64>,
    /// The object written in a cloud storage (default: the download's name).
    pub filename: String,
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
fn file_name(target: ExportTarget, subresource: &str, format: Format) -> String {
    let name = format!("{}_{}_{subresource}_{}.zip", target.name(), target.id(), format.name());
    name.chars().map(|c| if c.is_ascii_alphanumeric() || "_. -".contains(c) { c } else { '_' }).collect()
}

impl Engine {
    /// Checks the caller may export the target, records the request and answers its id
    /// and whether a worker must run it (false when a fresh result or a running export
    /// of the same request exists).
    #[tracing::instrument(skip_all)]
    pub async fn start_export(&self, caller: &Caller, start: &ExportStart) -> ApiResult<(String, bool)> {
        let format = match start.backup {
            true if matches!(start.target, ExportTarget::Job(_)) => {
                return Err(ApiError::bad_request("Jobs are backed up with their task"));
            }
            true => None,
            false => Some(
                Format::exporter(&start.format)
                    .ok_or_else(|| ApiError::bad_request("Unknown format specified for the request"))?,
            ),
        };
        let client = self.client().await?;
        // The task (none for a project), job and project of the export, and its organization.
        let (task, job, project, org) = match start.target {
            ExportTarget::Task(id) => {
                let (access, _) = self.check_task(&client, caller, id, TaskScope::View).await?;
                (Some(id), None, access.project, access.org)
            }
            ExportTarget::Job(id) => {
                let (_, task, org, _) = self.check_job(&client, caller, id, JobScope::View).await?;
                (Some(task), Some(id), None, org)
            }
            ExportTarget::Project(id) => {
                let (_, org, _) = self.check_project(&client, caller, id, ProjectScope::View).await?;
                (None, None, Some(id), org)
            }
        };
        let has_data = client
            .query_opt(
                "SELECT 1 FROM task_data d JOIN tasks t ON t.id = d.task_id                  WHERE t.id = $1 OR ($1 IS NULL AND t.project_id = $2) LIMIT 1",
                &[&task, &project],
            )
            .await
            .db()?
            .is_some();
        // A project is backed up with or without tasks.
        let project_backup = start.backup && matches!(start.target, ExportTarget::Project(_));
        if !(has_data || project_backup) {
            let message = match task {
                Some(_) => "The task has no data to export",
                None => "The project has no task with data to export",
            };
            return Err(ApiError::bad_request(message));
        }
        let subresource = match (start.backup, start.save_images) {
            (true, _) => "backup",
            (false, true) => "dataset",
            (false, false) => "annotations",
        };
        let owner = match start.target {
            ExportTarget::Project(id) => Owner::Project(id),
            _ => Owner::Task(task.unwrap_or_default()),
        };
        let default_name = match format {
            Some(format) => file_name(start.target, subresource, format),
            None => format!("{}_{}_backup.zip", start.target.name(), start.target.id()),
        };
        let wanted =
            Location { location: &start.location, cloud_storage_id: start.cloud_storage_id, filename: &start.filename };
        let cloud = self.cloud_file(&client, caller, wanted, Some(owner), Direction::Export, &default_name).await?;
        let format_part =
            format.map_or(String::new(), |f| format!("&format={}", f.name().replace(' ', "_").replace('.', "@")));
        // An export to a cloud storage writes there every time: its own request.
        let cloud_part = match &cloud {
            Some(_) => format!("&location=cloud_storage&key={}", uuid::Uuid::new_v4().simple()),
            None => String::new(),
        };
        let id = format!(
            "action=export&target={}&target_id={}&subresource={subresource}{format_part}&user_id={}{cloud_part}",
            start.target.name(),
            start.target.id(),
            caller.id()
        );
        // Fresh while nothing it shows changed: the task (every save touches it), its
        // project, or for a project export any of its tasks.
        let reusable = client
            .query_opt(
                "SELECT r.status IN ('queued', 'started') OR (r.status = 'finished' \
                   AND r.finished_date > now() - make_interval(hours => $4) \
                   AND NOT EXISTS (SELECT 1 FROM tasks t WHERE (t.id = $2 OR ($2 IS NULL AND t.project_id = $3)) \
                       AND t.updated_date > r.finished_date) \
                   AND NOT EXISTS (SELECT 1 FROM projects p WHERE p.id = $3 AND p.updated_date > r.finished_date)) \
                 FROM requests r WHERE r.id = $1",
                &[&id, &task, &project, &(RESULT_TTL_HOURS as i32)],
            )
            .await
            .db()?;
        if let Some(row) = reusable {
            if column::<_, bool>(&row, 0)? {
                return Ok((id, false));
            }
        }
        let params = json!({
            "save_images": start.save_images || start.backup,
            "backup": start.backup,
            "lightweight": start.backup.then_some(start.lightweight),
            "base_url": caller.base_url,
            "cloud": cloud.as_ref().map(CloudFile::to_json),
        });
        let kind = format!("export:{subresource}");
        crate::users::remember_all(&client, &[Some(&caller.user)]).await?;
        let queued = client
            .execute(
                "INSERT INTO requests (id, type, target, task_id, job_id, owner_id, organization_id, params, format, \
                 project_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) \
                 ON CONFLICT (id) DO UPDATE SET status = 'queued', message = '', progress = NULL, \
                 params = EXCLUDED.params, created_date = now(), started_date = NULL, finished_date = NULL, \
                 result_key = NULL, result_name = NULL WHERE requests.status IN ('failed', 'finished')",
                &[
                    &id,
                    &kind,
                    &start.target.name(),
                    &task,
                    &job,
                    &caller.id(),
                    &org,
                    &params,
                    &format.map(Format::name),
                    &project,
                ],
            )
            .await
            .db()?;
        Ok((id, queued == 1))
    }

    /// For the export worker: what the request exports, in parts: a line
    /// `{"source": ExportSource, "cloud": …}`, then the annotations one object per line
    /// (`cvat_formats::write_line`) as they are read. The request is marked started; a
    /// request that is gone or no longer open is a 404 (nothing to do).
    #[tracing::instrument(skip_all)]
    pub async fn export_source(&self, request_id: &str) -> ApiResult<DocumentStream> {
        let client = self.client().await?;
        let row = client
            .query_opt(
                "UPDATE requests SET status = 'started', progress = 0, started_date = now() \
                 WHERE id = $1 AND status IN ('queued', 'started') AND type LIKE 'export:%' \
                 RETURNING target, coalesce(job_id, task_id, project_id), format, params",
                &[&request_id],
            )
            .await
            .db()?
            .ok_or_else(|| ApiError::detail(ErrorKind::NotFound, "There is no open export with this id"))?;
        let target = ExportTarget::from_name(&column::<_, String>(&row, 0)?, column(&row, 1)?)?;
        let format: Option<String> = column(&row, 2)?;
        let params: serde_json::Value = column(&row, 3)?;
        let base_url = params["base_url"].as_str().unwrap_or_default();
        let save_images = params["save_images"].as_bool().unwrap_or(false);
        let (mut source, payload) = match target {
            ExportTarget::Task(task) if params["backup"].as_bool() == Some(true) => {
                // A backup keeps deleted frames: `task.json` lists them, as CVAT's does.
                let mut source = self.task_source(&client, task, None, base_url, true, Deleted::Keep).await?;
                let (files, jobs) = self.backup_files(&client, task).await?;
                let documents = BackupDocuments {
                    file: file_number(&files, "annotations.json"),
                    jobs,
                    schema: self.label_schema(&client, task).await?,
                };
                source.backup = Some(serde_json::Value::Object(files));
                (source, Payload::Backup(vec![documents]))
            }
            ExportTarget::Task(task) => {
                let source = self.task_source(&client, task, None, base_url, save_images, Deleted::Skip).await?;
                let objects = self.exported_objects(&client, task, AnnotationTarget::Task(task), None).await?;
                (source, Payload::Objects(vec![objects]))
            }
            ExportTarget::Job(job) => {
                let task: i64 =
                    column(&client.query_one("SELECT task_id FROM jobs WHERE id = $1", &[&job]).await.db()?, 0)?;
                let source = self.task_source(&client, task, Some(job), base_url, save_images, Deleted::Skip).await?;
                let objects = self.exported_objects(&client, task, AnnotationTarget::Job(job), None).await?;
                (source, Payload::Objects(vec![objects]))
            }
            ExportTarget::Project(project) if params["backup"].as_bool() == Some(true) => {
                let (source, documents) = self.project_backup_source(&client, project, base_url).await?;
                (source, Payload::Backup(documents))
            }
            ExportTarget::Project(project) => {
                let (source, objects) = self.project_source(&client, project, base_url, save_images).await?;
                (source, Payload::Objects(objects))
            }
        };
        source.format = format.unwrap_or_default();
        source.result_key = match target {
            ExportTarget::Project(project) => cvat_blob::keys::project_export(project, request_id),
            _ => cvat_blob::keys::export(source.frames.first().map_or(0, |f| f.task_id), request_id),
        };
        let head = format!("{{\"source\":{},\"cloud\":{}}}\n", cvat_models::render(&source), params["cloud"]);
        let names = BackupNames::new(&source.labels);
        let (sender, receiver) = tokio::sync::mpsc::channel(2);
        tokio::spawn(async move {
            let mut lines = Lines { buffer: head.into_bytes(), sender };
            let sent = match payload {
                Payload::Objects(tasks) => send_objects(&client, tasks, &mut lines).await,
                Payload::Backup(documents) => send_backup_documents(&client, documents, &names, &mut lines).await,
            };
            match sent {
                Ok(true) => {
                    let _ = lines.sender.send(Ok(std::mem::take(&mut lines.buffer))).await;
                }
                Ok(false) => {}
                Err(err) => {
                    let _ = lines.sender.send(Err(err)).await;
                }
            }
        });
        Ok(Box::pin(futures_util::stream::unfold(
            receiver,
            |mut r| async move { r.recv().await.map(|part| (part, r)) },
        )))
    }

    /// What an export carries of a task's (or one job's) annotations.
    async fn exported_objects(
        &self,
        client: &impl GenericClient,
        task: i64,
        target: AnnotationTarget,
        moved: Option<Moved>,
    ) -> ApiResult<ExportedObjects> {
        Ok(ExportedObjects {
            jobs: annotation_jobs(client, task, target).await?,
            schema: self.label_schema(client, task).await?,
            moved,
        })
    }

    /// A task (or one of its jobs) as an export, an import or a backup sees it, with or
    /// without its deleted frames.
    pub(crate) async fn task_source(
        &self,
        client: &impl GenericClient,
        task: i64,
        job: Option<i64>,
        base_url: &str,
        save_images: bool,
        deleted: Deleted,
    ) -> ApiResult<ExportSource> {
        let (info, mut data) = self.task_info(client, task, base_url).await?;
        if deleted == Deleted::Keep {
            data.deleted.clear();
        }
        let job = match job {
            None => None,
            Some(id) => Some(self.job_info(client, id).await?),
        };
        let range = job.as_ref().map(|j| (j.start, j.stop));
        let frames = task_frames(client, &info, &data, range, save_images, Placement::default()).await?;
        let owner = self.task_label_owner_unchecked(client, task).await?;
        Ok(ExportSource {
            format: String::new(),
            save_images,
            result_key: String::new(),
            backup: None,
            meta: match job {
                Some(job) => Meta::Job(info, job),
                None => Meta::Task(info),
            },
            labels: self.export_labels(client, owner).await?,
            frames,
            dumped: python_time(chrono::Utc::now()),
        })
    }

    /// A project's tasks with data as one sequence of frames, and their annotations
    /// moved onto it.
    async fn project_source(
        &self,
        client: &impl GenericClient,
        project: i64,
        base_url: &str,
        save_images: bool,
    ) -> ApiResult<(ExportSource, Vec<ExportedObjects>)> {
        let info = self.project_info(client, project).await?;
        let tasks: Vec<i64> = client
            .query(
                "SELECT t.id FROM tasks t JOIN task_data d ON d.task_id = t.id WHERE t.project_id = $1 \
                 ORDER BY coalesce(nullif(t.subset, ''), 'default'), t.id",
                &[&project],
            )
            .await
            .db()?
            .iter()
            .map(|r| column(r, 0))
            .collect::<ApiResult<_>>()?;
        let mut infos = Vec::with_capacity(tasks.len());
        let mut frames = Vec::new();
        let mut objects = Vec::with_capacity(tasks.len());
        let mut subset_ends: HashMap<String, i64> = HashMap::new();
        for task in tasks {
            let (task_info, task_data) = self.task_info(client, task, base_url).await?;
            let subset = task_info.subset_name().to_string();
            let id_offset = subset_ends.get(&subset).copied().unwrap_or(0);
            subset_ends.insert(subset, id_offset + task_info.start_frame + task_info.frame_step * task_info.size);
            let base = frames.len() as u32;
            let placement = Placement { base, id_offset };
            frames.extend(task_frames(client, &task_info, &task_data, None, save_images, placement).await?);
            let moved = Moved { base, end: frames.len() as u32 };
            objects.push(self.exported_objects(client, task, AnnotationTarget::Task(task), Some(moved)).await?);
            infos.push(task_info);
        }
        rename_repeated(&mut frames);
        let source = ExportSource {
            format: String::new(),
            save_images,
            result_key: String::new(),
            backup: None,
            meta: Meta::Project(info, infos),
            labels: self.export_labels(client, LabelOwner::Project(project)).await?,
            frames,
            dumped: python_time(chrono::Utc::now()),
        };
        Ok((source, objects))
    }

    async fn project_info(&self, client: &impl GenericClient, project: i64) -> ApiResult<ProjectInfo> {
        let row = client
            .query_one(
                "SELECT p.name, p.bug_tracker, p.created_date, p.updated_date, o.username, a.username FROM projects p \
                 LEFT JOIN users o ON o.id = p.owner_id LEFT JOIN users a ON a.id = p.assignee_id WHERE p.id = $1",
                &[&project],
            )
            .await
            .db()?;
        Ok(ProjectInfo {
            id: project,
            name: column(&row, 0)?,
            bug_tracker: column(&row, 1)?,
            created: python_time(column(&row, 2)?),
            updated: python_time(column(&row, 3)?),
            owner: person(column(&row, 4)?),
            assignee: person(column(&row, 5)?),
        })
    }

    /// A project's backup (cvat-semantics §9): `project.json`, and for each task with data
    /// (in id order) its backup files under `task_<n>/`; the frames of all those tasks,
    /// each going to its task's `data/`.
    async fn project_backup_source(
        &self,
        client: &impl GenericClient,
        project: i64,
        base_url: &str,
    ) -> ApiResult<(ExportSource, Vec<BackupDocuments>)> {
        let info = self.project_info(client, project).await?;
        let labels = self.export_labels(client, LabelOwner::Project(project)).await?;
        let status: String =
            client.query_one("SELECT status FROM projects WHERE id = $1", &[&project]).await.db()?.get(0);
        let mut files = serde_json::Map::new();
        files.insert(
            "project.json".into(),
            json!({"name": info.name, "bug_tracker": info.bug_tracker, "status": status,
                   "labels": backup_labels(&labels), "version": "1.0"}),
        );
        let tasks = client
            .query(
                "SELECT t.id FROM tasks t JOIN task_data d ON d.task_id = t.id WHERE t.project_id = $1 ORDER BY t.id",
                &[&project],
            )
            .await
            .db()?;
        let mut infos = Vec::with_capacity(tasks.len());
        let mut frames = Vec::new();
        let mut streamed = Vec::with_capacity(tasks.len());
        for (n, row) in tasks.iter().enumerate() {
            let task: i64 = column(row, 0)?;
            let (task_info, mut task_data) = self.task_info(client, task, base_url).await?;
            // Deleted frames stay in a backup, as in a task's.
            task_data.deleted.clear();
            frames.extend(task_frames(client, &task_info, &task_data, None, true, Placement::default()).await?);
            let (task_files, jobs) = self.backup_files(client, task).await?;
            files.extend(task_files.into_iter().map(|(name, content)| (format!("task_{n}/{name}"), content)));
            streamed.push((format!("task_{n}/annotations.json"), jobs, self.label_schema(client, task).await?));
            infos.push(task_info);
        }
        let documents = streamed
            .into_iter()
            .map(|(name, jobs, schema)| BackupDocuments { file: file_number(&files, &name), jobs, schema })
            .collect();
        let source = ExportSource {
            format: String::new(),
            save_images: true,
            result_key: String::new(),
            backup: Some(serde_json::Value::Object(files)),
            meta: Meta::Project(info, infos),
            labels,
            frames,
            dumped: python_time(chrono::Utc::now()),
        };
        Ok((source, documents))
    }

    async fn task_info(
        &self,
        client: &impl GenericClient,
        task: i64,
        base_url: &str,
    ) -> ApiResult<(TaskInfo, TaskData)> {
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
            frame_step: i64::from(step.max(1)),
            frame_filter: if step > 1 { format!("step={step}") } else { String::new() },
            segments,
            owner: person(column(&row, 11)?),
            assignee: person(column(&row, 12)?),
            video: None,
        };
        let info = TaskInfo { video: self.video_info(client, &info).await?, ..info };
        let data = TaskData { deleted: column(&row, 13)?, chunk_size: i64::from(column::<_, i32>(&row, 14)?.max(1)) };
        Ok((info, data))
    }

    /// A video task's video: every frame is named after it and has its size.
    async fn video_info(&self, client: &impl GenericClient, task: &TaskInfo) -> ApiResult<Option<VideoInfo>> {
        if task.mode != "interpolation" {
            return Ok(None);
        }
        let row = client
            .query_opt("SELECT name, width, height FROM frames WHERE task_id = $1 AND number = 0", &[&task.id])
            .await
            .db()?;
        let Some(row) = row else { return Ok(None) };
        let name: String = column(&row, 0)?;
        Ok(Some(VideoInfo {
            source: name.rsplit(['/', '\\']).next().unwrap_or_default().to_string(),
            width: column::<_, i32>(&row, 1)?.max(0) as u32,
            height: column::<_, i32>(&row, 2)?.max(0) as u32,
        }))
    }

    async fn job_info(&self, client: &impl GenericClient, id: i64) -> ApiResult<JobInfo> {
        let r = client
            .query_one(
                "SELECT j.updated_date, s.start_frame, s.stop_frame, a.username FROM jobs j \
                 JOIN segments s ON s.id = j.segment_id LEFT JOIN users a ON a.id = j.assignee_id WHERE j.id = $1",
                &[&id],
            )
            .await
            .db()?;
        Ok(JobInfo {
            id,
            updated: python_time(column(&r, 0)?),
            start: column::<_, i32>(&r, 1)?.max(0) as u32,
            stop: column::<_, i32>(&r, 2)?.max(0) as u32,
            assignee: person(column(&r, 3)?),
        })
    }

    /// The labels of a project or task in primary-key order, sublabels included, with
    /// skeleton SVGs naming their sublabels.
    pub(crate) async fn export_labels(
        &self,
        client: &impl GenericClient,
        owner: LabelOwner,
    ) -> ApiResult<Vec<LabelInfo>> {
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
    #[tracing::instrument(skip_all)]
    pub async fn complete_export(&self, request_id: &str, key: &str) -> ApiResult<()> {
        let client = self.client().await?;
        let row = client
            .query_opt(
                "SELECT type, target, coalesce(job_id, task_id, project_id), format FROM requests WHERE id = $1",
                &[&request_id],
            )
            .await
            .db()?
            .ok_or_else(ApiError::not_found)?;
        let kind: String = column(&row, 0)?;
        let name = if kind == "export:events" {
            self.events_file_name(&client, request_id).await?
        } else {
            let target = ExportTarget::from_name(&column::<_, String>(&row, 1)?, column(&row, 2)?)?;
            match column::<_, Option<String>>(&row, 3)?.and_then(|f| Format::exporter(&f)) {
                Some(format) => file_name(target, kind.trim_start_matches("export:"), format),
                None => format!("{}_{}_backup.zip", target.name(), target.id()),
            }
        };
        client
            .execute(
                "UPDATE requests SET status = 'finished', progress = 1, message = '', finished_date = now(), \
                 started_date = coalesce(started_date, now()), result_key = $2, result_name = $3 \
                 WHERE id = $1 AND status IN ('queued', 'started')",
                &[&request_id, &Some(key).filter(|k| !k.is_empty()), &name],
            )
            .await
            .db()?;
        Ok(())
    }

    /// The archive of a finished export of `target`, for the user who asked for it.
    #[tracing::instrument(skip_all)]
    pub async fn export_result(
        &self,
        caller: &Caller,
        target: ExportTarget,
        request_id: &str,
    ) -> ApiResult<ExportResult> {
        self.exported(caller, target.name(), Some(target.id()), request_id).await
    }

    /// The CSV of a finished events export, for the user who asked for it.
    #[tracing::instrument(skip_all)]
    pub async fn events_export_result(&self, caller: &Caller, query_id: &str) -> ApiResult<ExportResult> {
        let id = crate::events::export_request_id(query_id, caller.id());
        self.exported(caller, "events", None, &id).await
    }

    /// A finished export of `target` (and its object, when it has one).
    async fn exported(
        &self,
        caller: &Caller,
        target: &str,
        object: Option<i64>,
        request_id: &str,
    ) -> ApiResult<ExportResult> {
        let client = self.client().await?;
        let row = client
            .query_opt(
                "SELECT owner_id, target, coalesce(job_id, task_id, project_id), status, result_key, result_name, \
                 finished_date > now() - make_interval(hours => $2) FROM requests \
                 WHERE id = $1 AND type LIKE 'export:%'",
                &[&request_id, &(RESULT_TTL_HOURS as i32)],
            )
            .await
            .db()?
            .ok_or_else(|| ApiError::detail(ErrorKind::NotFound, "There is no export with this id"))?;
        let target_name: String = column(&row, 1)?;
        if target_name != target || column::<_, Option<i64>>(&row, 2)? != object {
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

impl Engine {
    /// `task.json` of a task's backup (cvat-semantics §9): the task's settings, labels
    /// (by name, without ids), data settings and jobs; and `annotations.json` as null, as
    /// its documents are streamed (`send_backup_documents`) from the jobs answered, in
    /// job order.
    async fn backup_files(
        &self,
        client: &impl GenericClient,
        task: i64,
    ) -> ApiResult<(serde_json::Map<String, serde_json::Value>, Vec<i64>)> {
        let labels = &self.export_labels(client, self.task_label_owner_unchecked(client, task).await?).await?;
        let row = client
            .query_one(
                "SELECT t.name, t.bug_tracker, t.status, t.subset, d.chunk_size, d.image_quality, d.start_frame, \
                 d.stop_frame, d.frame_step, d.compressed_chunk_type, d.storage_method, d.storage, d.sorting_method, \
                 d.deleted_frames FROM tasks t JOIN task_data d ON d.task_id = t.id WHERE t.id = $1",
                &[&task],
            )
            .await
            .db()?;
        // `data/` holds the task's frames only (not every file uploaded, as CVAT's), so the
        // selection written is all of them: restoring here or in CVAT selects them again.
        let (start, stop, step): (i32, i32, i32) = (column(&row, 6)?, column(&row, 7)?, column(&row, 8)?);
        let data = json!({
            "chunk_size": column::<_, i32>(&row, 4)?,
            "image_quality": column::<_, i32>(&row, 5)?,
            "start_frame": 0,
            "stop_frame": (stop - start) / step.max(1),
            "chunk_type": column::<_, String>(&row, 9)?,
            "storage_method": column::<_, String>(&row, 10)?,
            "storage": column::<_, String>(&row, 11)?,
            "sorting_method": column::<_, String>(&row, 12)?,
            "deleted_frames": column::<_, Vec<i32>>(&row, 13)?,
        });
        let jobs = client
            .query(
                "SELECT j.id, j.status, j.type, s.start_frame, s.stop_frame FROM jobs j \
                 JOIN segments s ON s.id = j.segment_id WHERE j.task_id = $1 ORDER BY j.id",
                &[&task],
            )
            .await
            .db()?;
        let mut job_list = Vec::with_capacity(jobs.len());
        let mut job_ids = Vec::with_capacity(jobs.len());
        for job in &jobs {
            job_ids.push(column(job, 0)?);
            job_list.push(json!({
                "status": column::<_, String>(job, 1)?,
                "type": column::<_, String>(job, 2)?,
                "start_frame": column::<_, i32>(job, 3)?,
                "stop_frame": column::<_, i32>(job, 4)?,
            }));
        }
        let task_json = json!({
            "name": column::<_, String>(&row, 0)?,
            "bug_tracker": column::<_, String>(&row, 1)?,
            "status": column::<_, String>(&row, 2)?,
            "subset": column::<_, String>(&row, 3)?,
            "labels": backup_labels(labels),
            "version": "1.0",
            "data": data,
            "jobs": job_list,
        });
        let mut files = serde_json::Map::new();
        files.insert("task.json".into(), task_json);
        files.insert("annotations.json".into(), serde_json::Value::Null);
        Ok((files, job_ids))
    }
}

/// Labels as a backup writes them: top-level labels with their sublabels inside, no ids.
fn backup_labels(labels: &[LabelInfo]) -> serde_json::Value {
    let label = |l: &LabelInfo| {
        json!({
            "name": l.name,
            "color": l.color,
            "attributes": l.attributes.iter().map(|a| json!({
                "name": a.name, "mutable": a.mutable, "input_type": a.input_type,
                "default_value": a.default_value, "values": a.values,
            })).collect::<Vec<_>>(),
            "type": l.kind,
            "svg": l.svg,
        })
    };
    labels
        .iter()
        .filter(|l| l.parent.is_none())
        .map(|top| {
            let mut value = label(top);
            let sublabels: Vec<_> =
                labels.iter().filter(|l| l.parent.as_deref() == Some(&top.name)).map(label).collect();
            value["sublabels"] = json!(sublabels);
            value
        })
        .collect()
}

/// Label and attribute names by id, to write documents as backups carry them.
struct BackupNames {
    labels: HashMap<i64, String>,
    attributes: HashMap<i64, String>,
}

impl BackupNames {
    fn new(labels: &[LabelInfo]) -> Self {
        Self {
            labels: labels.iter().map(|l| (l.id, l.name.clone())).collect(),
            attributes: labels.iter().flat_map(|l| &l.attributes).map(|a| (a.id, a.name.clone())).collect(),
        }
    }

    /// Replaces `label_id` with `label` and `spec_id` with `name` throughout. Object ids
    /// stay: a restore joins the jobs' documents by them as a task-level read does.
    fn rename(&self, value: &mut serde_json::Value) {
        match value {
            serde_json::Value::Object(map) => {
                if let Some(id) = map.remove("label_id").and_then(|v| v.as_i64()) {
                    map.insert("label".into(), json!(self.labels.get(&id).cloned().unwrap_or_default()));
                }
                if let Some(id) = map.remove("spec_id").and_then(|v| v.as_i64()) {
                    map.insert("name".into(), json!(self.attributes.get(&id).cloned().unwrap_or_default()));
                }
                map.values_mut().for_each(|v| self.rename(v));
            }
            serde_json::Value::Array(items) => items.iter_mut().for_each(|v| self.rename(v)),
            _ => {}
        }
    }
}

fn person(username: Option<String>) -> Option<Person> {
    username.map(|username| Person { username, email: String::new() })
}

/// The frames of a task (or of `range`, a job's), without deleted ones, placed where
/// the export puts them; with the place of each original image when images are saved.
async fn task_frames(
    client: &impl GenericClient,
    task: &TaskInfo,
    data: &TaskData,
    range: Option<(u32, u32)>,
    save_images: bool,
    placement: Placement,
) -> ApiResult<Vec<FrameInfo>> {
    let (first, last) = range.map_or((0, i32::MAX), |(a, b)| (a as i32, b as i32));
    let rows = client
        .query(
            "SELECT number, name, width, height, original_offset, original_length, original_extension \
             FROM frames WHERE task_id = $1 AND number BETWEEN $2 AND $3 AND NOT number = ANY($4) ORDER BY number",
            &[&task.id, &first, &last, &data.deleted],
        )
        .await
        .db()?;
    rows.iter()
        .map(|r| {
            let frame = column::<_, i32>(r, 0)?.max(0) as u32;
            let image = match save_images {
                false => None,
                true => Some(ImageRef {
                    key: cvat_blob::keys::chunk(task.id, "original", i64::from(frame) / data.chunk_size),
                    offset: column::<_, i64>(r, 4)?.max(0) as u64,
                    length: column::<_, i64>(r, 5)?.max(0) as u64,
                    extension: column(r, 6)?,
                }),
            };
            Ok(FrameInfo {
                frame: placement.base + frame,
                id: placement.id_offset + task.absolute(frame),
                subset: task.subset_name().to_string(),
                task_id: task.id,
                name: column(r, 1)?,
                width: column::<_, i32>(r, 2)?.max(0) as u32,
                height: column::<_, i32>(r, 3)?.max(0) as u32,
                image,
            })
        })
        .collect()
}

/// A task's objects as an export carries them: from its annotation jobs (or one job),
/// attribute defaults filled, and for a project moved onto the export's frames.
struct ExportedObjects {
    jobs: Vec<JobSpan>,
    schema: Schema,
    moved: Option<Moved>,
}

/// Where a project's task lands in its export: its frames move by `base`; a track still
/// visible at the task's end (`end`, the first frame after it) stops there.
#[derive(Debug, Clone, Copy)]
struct Moved {
    base: u32,
    end: u32,
}

impl Moved {
    fn track(self, track: &mut Track) {
        track.frame += self.base;
        track.shapes.iter_mut().for_each(|s| s.frame += self.base);
        if let Some(last) = track.shapes.last().filter(|s| !s.outside && s.frame + 1 < self.end).cloned() {
            track.shapes.push(TrackedShape { frame: self.end, outside: true, id: None, ..last });
        }
    }
}

/// What an export sends after its source line.
enum Payload {
    /// Annotations, task by task.
    Objects(Vec<ExportedObjects>),
    /// The `annotations.json` files of a backup.
    Backup(Vec<BackupDocuments>),
}

/// One `annotations.json` of a backup: backup file number `file`, the documents of a
/// task's jobs.
struct BackupDocuments {
    file: u32,
    jobs: Vec<i64>,
    schema: Schema,
}

/// A file's position among a backup's files, as the worker numbers them.
fn file_number(files: &serde_json::Map<String, serde_json::Value>, name: &str) -> u32 {
    files.keys().position(|key| key == name).unwrap_or_default() as u32
}

/// One object on its way to the export worker.
enum Exported {
    Tag(Tag),
    Shape(Shape),
    Track(Track),
}

impl Exported {
    fn read(kind: i16, document: &str, schema: &Schema) -> ApiResult<Self> {
        Ok(match kind {
            0 => Exported::Tag(read_object(document, Some(schema))?),
            1 => Exported::Shape(read_object(document, Some(schema))?),
            _ => Exported::Track(read_object(document, Some(schema))?),
        })
    }

    fn move_by(&mut self, moved: Moved) {
        match self {
            Exported::Tag(tag) => tag.frame += moved.base,
            Exported::Shape(shape) => {
                shape.frame += moved.base;
                shape.elements.iter_mut().for_each(|e| e.frame += moved.base);
            }
            Exported::Track(track) => {
                moved.track(track);
                track.elements.iter_mut().for_each(|e| moved.track(e));
            }
        }
    }

    fn to_value(&self) -> ApiResult<serde_json::Value> {
        let value = match self {
            Exported::Tag(tag) => serde_json::to_value(tag),
            Exported::Shape(shape) => serde_json::to_value(shape),
            Exported::Track(track) => serde_json::to_value(track),
        };
        value.map_err(|_| ApiError::internal())
    }

    fn write(&self, out: &mut Vec<u8>) {
        match self {
            Exported::Tag(tag) => write_line(out, ObjectKind::Tag, tag.frame, tag),
            Exported::Shape(shape) => write_line(out, ObjectKind::Shape, shape.frame, shape),
            Exported::Track(track) => write_line(out, ObjectKind::Track, track.frame, track),
        }
    }
}

/// Lines sent in parts of about [`PART_BYTES`].
struct Lines {
    buffer: Vec<u8>,
    sender: tokio::sync::mpsc::Sender<ApiResult<Vec<u8>>>,
}

impl Lines {
    /// Adds an object; false once the reader has gone away.
    async fn push(&mut self, mut object: Exported, moved: Option<Moved>) -> bool {
        if let Some(moved) = moved {
            object.move_by(moved);
        }
        object.write(&mut self.buffer);
        self.sent_when_full().await
    }

    /// Adds a piece of backup file `file`; false once the reader has gone away.
    async fn push_raw(&mut self, file: u32, piece: &str) -> bool {
        write_raw_line(&mut self.buffer, file, piece);
        self.sent_when_full().await
    }

    async fn sent_when_full(&mut self) -> bool {
        self.buffer.len() < PART_BYTES || self.sender.send(Ok(std::mem::take(&mut self.buffer))).await.is_ok()
    }
}

/// Sends the objects (tags, shapes and tracks: the formats have no intervals) task by
/// task. The jobs of a task that share no frames stream from PostgreSQL row by row, so
/// neither side holds more than a part; jobs that share frames are joined whole first,
/// as a task's read joins them (the join compares their objects).
/// A job's tags, shapes and tracks (the formats have no intervals), in document order,
/// as PostgreSQL sends them.
async fn exported_rows(client: &impl GenericClient, job: i64) -> ApiResult<tokio_postgres::RowStream> {
    client
        .query_raw("SELECT kind, document FROM annotations WHERE job_id = $1 AND kind < 3 ORDER BY kind, id", [job])
        .await
        .db()
}

/// Answers whether the reader is still there.
async fn send_objects(client: &impl GenericClient, tasks: Vec<ExportedObjects>, lines: &mut Lines) -> ApiResult<bool> {
    use futures_util::StreamExt;
    for task in tasks {
        let overlapping = task.jobs.windows(2).any(|pair| pair[1].range.start <= pair[0].range.stop);
        if overlapping {
            let mut documents = Vec::with_capacity(task.jobs.len());
            for job in &task.jobs {
                documents.push((job.range, stored(client, job.id).await?));
            }
            let mut data = cvat_annotations::merge(documents);
            cvat_annotations::fill_defaults(&mut data, &task.schema);
            let objects = (data.tags.into_iter().map(Exported::Tag))
                .chain(data.shapes.into_iter().map(Exported::Shape))
                .chain(data.tracks.into_iter().map(Exported::Track));
            for object in objects {
                if !lines.push(object, task.moved).await {
                    return Ok(false);
                }
            }
            continue;
        }
        for job in &task.jobs {
            let rows = exported_rows(client, job.id).await?;
            futures_util::pin_mut!(rows);
            while let Some(row) = rows.next().await {
                let row = row.db()?;
                let object = Exported::read(column(&row, 0)?, column(&row, 1)?, &task.schema)?;
                if !lines.push(object, task.moved).await {
                    return Ok(false);
                }
            }
        }
    }
    Ok(true)
}

/// Sends each backup `annotations.json` as pieces: a list of the jobs' documents
/// (`{"version":0,"tags":[…],"shapes":[…],"tracks":[…]}`), objects streamed row by row
/// with their attribute defaults filled and label and attribute names in place of ids.
/// Answers whether the reader is still there.
async fn send_backup_documents(
    client: &impl GenericClient,
    files: Vec<BackupDocuments>,
    names: &BackupNames,
    lines: &mut Lines,
) -> ApiResult<bool> {
    use futures_util::StreamExt;
    const LISTS: [&str; 3] = ["tags", "shapes", "tracks"];
    for documents in files {
        let file = documents.file;
        let mut piece = String::from("[");
        for (n, job) in documents.jobs.iter().enumerate() {
            if n > 0 {
                piece.push(',');
            }
            piece.push_str(r#"{"version":0"#);
            let (mut opened, mut empty) = (0usize, true);
            let rows = exported_rows(client, *job).await?;
            futures_util::pin_mut!(rows);
            loop {
                let row = rows.next().await.transpose().db()?;
                // The lists up to this object's (all three at the end), each opened once.
                let reach = row.as_ref().map_or(Ok(LISTS.len() - 1), |r| column::<_, i16>(r, 0).map(|k| k as usize))?;
                while opened <= reach {
                    if opened > 0 {
                        piece.push(']');
                    }
                    piece.push_str(&format!(r#","{}":["#, LISTS[opened]));
                    (opened, empty) = (opened + 1, true);
                }
                let Some(row) = row else { break };
                let mut value = Exported::read(column(&row, 0)?, column(&row, 1)?, &documents.schema)?.to_value()?;
                names.rename(&mut value);
                if !empty {
                    piece.push(',');
                }
                empty = false;
                piece.push_str(&value.to_string());
                if !lines.push_raw(file, &std::mem::take(&mut piece)).await {
                    return Ok(false);
                }
            }
            piece.push_str("]}");
        }
        piece.push(']');
        if !lines.push_raw(file, &piece).await {
            return Ok(false);
        }
    }
    Ok(true)
}

/// A name used again within a subset becomes `name_1.ext`, `name_2.ext`, … as in CVAT.
fn rename_repeated(frames: &mut [FrameInfo]) {
    let mut seen: HashMap<(String, String), usize> = HashMap::new();
    for frame in frames {
        let count = seen.entry((frame.subset.clone(), frame.name.clone())).or_insert(0);
        if *count > 0 {
            frame.name = match frame.name.rsplit_once('.') {
                Some((stem, extension)) if !extension.contains('/') => format!("{stem}_{count}.{extension}"),
                _ => format!("{}_{count}", frame.name),
            };
        }
        *count += 1;
    }
}
