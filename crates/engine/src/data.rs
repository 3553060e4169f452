//! Task data: the files uploaded for a task, the parameters of `POST .../data`, the
//! frames the media workers report, and where each piece of data (chunk, frame, preview)
//! is kept (keys from `cvat_blob::keys`).

use crate::requests::NewRequest;
use crate::{parse_body, Caller, Engine};
use cvat_blob::keys;
use cvat_db::DbResultExt;
use cvat_db::{column, column_values};
use cvat_error::{ApiError, ApiResult, ErrorKind};
use cvat_models::{DataMetaRead, FrameMeta as FrameMetaRead};
use cvat_models::{DataRequest, SortingMethod};
use cvat_permissions::{JobScope, TaskScope};
use cvat_proto::queue::{FileParts, ProcessTaskData};
use cvat_proto::task::{
    ChunkEncoding, DataLocation, DataQuery, DataResult, FrameMeta, TusUpload, UnbuiltChunk, UploadedFile,
};
use serde_json::{json, Value};
use std::collections::HashMap;

/// Extensions of media kinds this server cannot take yet (other archives).
const NOT_YET: &[&str] = &["gz", "bz2", "tbz2", "xz", "7z", "rar"];

/// The accepted parameters of a data request.
pub(crate) struct DataParams {
    image_quality: i32,
    chunk_size: Option<i32>,
    start_frame: i64,
    stop_frame: Option<i64>,
    step: u32,
    sorting_method: String,
    upload_order: Vec<String>,
    use_zip_chunks: bool,
    use_cache: bool,
    server_files: Vec<String>,
    server_files_exclude: Vec<String>,
    /// Files per job, in order (`job_file_mapping`).
    job_file_mapping: Vec<Vec<String>>,
    /// `remote_files`: the name each URL's file gets, and the URL.
    remote_files: Vec<(String, String)>,
    /// Set with `server_files` naming keys of this cloud storage's bucket.
    cloud_storage_id: Option<i64>,
    /// A glob the files of the share or a cloud storage must match.
    filename_pattern: Option<String>,
    /// Frames marked deleted from the start (a restored backup's; clients cannot send it).
    pub deleted_frames: Vec<i32>,
}

/// `remote_files`: http(s) URLs, each naming a file (the last path segment, decoded),
/// no name twice. Whether the address may be reached is the media worker's check.
fn remote_files(urls: &[String]) -> ApiResult<Vec<(String, String)>> {
    const KEY: &str = "remote_files";
    let mut files = Vec::with_capacity(urls.len());
    let mut names = std::collections::HashSet::new();
    for text in urls {
        let parsed = url::Url::parse(text.trim())
            .ok()
            .filter(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some())
            .ok_or_else(|| ApiError::field(KEY, format!("{text:?} is not an http(s) URL.")))?;
        let segment = parsed.path_segments().and_then(|mut s| s.next_back()).unwrap_or("");
        let name = percent_decode(segment);
        if !keys::valid_file_name(&name) {
            return Err(ApiError::field(KEY, format!("{text:?} does not name a file.")));
        }
        if !names.insert(name.clone()) {
            return Err(ApiError::field(KEY, format!("More than one URL names the file {name:?}.")));
        }
        files.push((name, parsed.to_string()));
    }
    Ok(files)
}

fn percent_decode(segment: &str) -> String {
    percent_encoding::percent_decode_str(segment).decode_utf8_lossy().into_owned()
}

fn job_file_mapping(mapping: Vec<Vec<String>>) -> ApiResult<Vec<Vec<String>>> {
    if mapping.iter().any(Vec::is_empty) {
        return Err(ApiError::field("job_file_mapping", "A job needs at least one file."));
    }
    let mut seen = std::collections::HashSet::new();
    if let Some(repeated) = mapping.iter().flatten().find(|n| !seen.insert(n.as_str())) {
        return Err(ApiError::field("job_file_mapping", format!("{repeated} is mapped more than once.")));
    }
    Ok(mapping)
}
/// A list of share paths: strings without `..` components.
fn share_paths(paths: Option<Vec<String>>, key: &str) -> ApiResult<Vec<String>> {
    let paths = paths.unwrap_or_default();
    if let Some(bad) =
        paths.iter().find(|p| p.split('/').any(|part| part == "..") || p.contains('\\') || p.contains('\0'))
    {
        return Err(ApiError::field(key, format!("{bad:?} is not a path inside the share.")));
    }
    Ok(paths)
}

pub(crate) fn data_params(body: &serde_json::Map<String, Value>) -> ApiResult<DataParams> {
    let request: DataRequest = cvat_models::parse(body)?;
    if request.validation_params.as_ref().is_some_and(|v| !v.is_null()) {
        return Err(ApiError::field("validation_params", "Validation frames are not supported by this server yet."));
    }
    let start_frame = i64::from(request.start_frame.unwrap_or(0));
    let stop_frame = request.stop_frame.map(i64::from);
    let frame_filter = request.frame_filter.unwrap_or_default();
    let step = cvat_segments::parse_frame_filter(&frame_filter).map_err(|_| {
        ApiError::field("frame_filter", "Invalid frame filter: only \"step=N\" with N ≥ 1 is supported.")
    })?;
    let sorting_method = cvat_models::wire_name(&request.sorting_method.unwrap_or(SortingMethod::Lexicographical));
    let upload_order = request.upload_file_order.unwrap_or_default();
    let server_files = share_paths(request.server_files, "server_files")?;
    let server_files_exclude = share_paths(request.server_files_exclude, "server_files_exclude")?;
    let job_file_mapping = job_file_mapping(request.job_file_mapping.unwrap_or_default())?;
    let remote_files = remote_files(&request.remote_files.unwrap_or_default())?;
    if !job_file_mapping.is_empty() {
        let conflicting = [
            ("start_frame", start_frame != 0),
            ("stop_frame", stop_frame.is_some()),
            ("frame_filter", step != 1),
            ("sorting_method", sorting_method != "lexicographical"),
            ("server_files_exclude", !server_files_exclude.is_empty()),
        ];
        if let Some((name, _)) = conflicting.iter().find(|(_, given)| *given) {
            return Err(ApiError::invalid(format!("job_file_mapping cannot be used with {name}")));
        }
    }
    if let Some(stop) = stop_frame.filter(|stop| *stop < start_frame) {
        return Err(ApiError::invalid(format!("Stop frame must be more or equal start frame (got {stop})")));
    }
    Ok(DataParams {
        image_quality: request.image_quality,
        chunk_size: request.chunk_size,
        start_frame,
        stop_frame,
        step,
        sorting_method,
        upload_order,
        use_zip_chunks: request.use_zip_chunks.unwrap_or(false),
        use_cache: request.use_cache.unwrap_or(true),
        server_files,
        server_files_exclude,
        job_file_mapping,
        remote_files,
        cloud_storage_id: request.cloud_storage_id,
        filename_pattern: request.filename_pattern,
        deleted_frames: Vec::new(),
    })
}

/// What a resumable upload is for: a task's data, an annotation file to import, a
/// backup to restore, or a dataset to import into a project (the last two have no task
/// yet: they are the uploader's).
#[derive(Debug, Clone, Copy)]
pub enum UploadFor {
    Data(i64),
    Annotations(crate::AnnotationTarget),
    Backup,
    Dataset(i64),
}

/// Whose a resumable upload is: a task's (data, annotation files) or, for a backup, the
/// user's; and what it is for.
#[derive(Debug, Clone, Copy)]
pub(crate) struct UploadScope {
    pub task: Option<i64>,
    pub owner: Option<i64>,
    pub purpose: &'static str,
}

async fn tus_upload(client: &impl cvat_db::GenericClient, scope: UploadScope, id: &str) -> ApiResult<TusUpload> {
    let row = client
        .query_opt(
            "SELECT name, length, received FROM tus_uploads WHERE id = $1 AND task_id IS NOT DISTINCT FROM $2 \
             AND purpose = $3 AND owner_id IS NOT DISTINCT FROM $4",
            &[&id, &scope.task, &scope.purpose, &scope.owner],
        )
        .await
        .db()?
        .ok_or_else(ApiError::not_found)?;
    Ok(TusUpload { id: id.to_string(), name: column(&row, 0)?, length: column(&row, 1)?, offset: column(&row, 2)? })
}

/// The request id of a task's data processing.
pub fn data_request_id(task: i64) -> String {
    format!("action=create&target=task&target_id={task}")
}

impl Engine {
    /// Checks the caller may upload for `upload` (upload:data on a task without data,
    /// import:annotations, or import:backup: creating a task); answers whose the upload is.
    async fn upload_scope(
        &self,
        client: &impl cvat_db::GenericClient,
        caller: &Caller,
        upload: UploadFor,
    ) -> ApiResult<UploadScope> {
        let (task, purpose) = match upload {
            UploadFor::Data(task) => {
                self.check_can_upload(client, caller, task).await?;
                (task, "data")
            }
            UploadFor::Annotations(target) => (self.check_can_import(client, caller, target).await?, "annotations"),
            UploadFor::Backup => {
                self.check_can_restore(caller).await?;
                return Ok(UploadScope { task: None, owner: Some(caller.id()), purpose: "backup" });
            }
            UploadFor::Dataset(project) => {
                self.check_project(client, caller, project, cvat_permissions::ProjectScope::Update).await?;
                return Ok(UploadScope { task: None, owner: Some(caller.id()), purpose: "dataset" });
            }
        };
        Ok(UploadScope { task: Some(task), owner: None, purpose })
    }

    /// Checks upload:data on a task without data yet.
    async fn check_can_upload(
        &self,
        client: &impl cvat_db::GenericClient,
        caller: &Caller,
        task: i64,
    ) -> ApiResult<()> {
        self.check_task(client, caller, task, TaskScope::Update).await?;
        let attached = client.query_opt("SELECT 1 FROM task_data WHERE task_id = $1", &[&task]).await.db()?.is_some();
        let processing = client
            .query_opt(
                "SELECT 1 FROM requests WHERE id = $1 AND status IN ('queued', 'started')",
                &[&data_request_id(task)],
            )
            .await
            .db()?
            .is_some();
        if attached || processing {
            return Err(ApiError::new(ErrorKind::BadRequest, json!("Adding more data is not supported")));
        }
        Ok(())
    }

    #[tracing::instrument(skip_all)]
    pub async fn check_upload(&self, caller: &Caller, task: i64) -> ApiResult<()> {
        let client = self.client().await?;
        self.check_can_upload(&client, caller, task).await
    }

    /// Upload-Start: forgets what was uploaded before and answers the blob keys of those
    /// files, for the caller to delete.
    #[tracing::instrument(skip_all)]
    pub async fn begin_upload(&self, caller: &Caller, task: i64) -> ApiResult<Vec<String>> {
        let client = self.client().await?;
        self.check_can_upload(&client, caller, task).await?;
        let rows = client.query("DELETE FROM uploads WHERE task_id = $1 RETURNING name, parts", &[&task]).await.db()?;
        let mut blobs = Vec::with_capacity(rows.len());
        for row in &rows {
            let parts: Vec<String> = column(row, 1)?;
            if parts.is_empty() {
                blobs.push(keys::upload(task, &column::<_, String>(row, 0)?));
            } else {
                blobs.extend(parts);
            }
        }
        Ok(blobs)
    }

    /// Records received files; a one-request upload names its `batch` and where each of
    /// its files is.
    #[tracing::instrument(skip_all)]
    pub async fn record_uploads(
        &self,
        caller: &Caller,
        task: i64,
        files: &[UploadedFile],
        batch: &str,
    ) -> ApiResult<()> {
        if let Some(bad) = files.iter().find(|f| !keys::valid_file_name(&f.name)) {
            return Err(ApiError::field("client_files", format!("Invalid file name: {:?}", bad.name)));
        }
        let client = self.client().await?;
        self.check_can_upload(&client, caller, task).await?;
        let names: Vec<&str> = files.iter().map(|f| f.name.as_str()).collect();
        let sizes: Vec<i64> = files.iter().map(|f| f.size).collect();
        let locations: Vec<&str> = files.iter().map(|f| f.key.as_str()).collect();
        client
            .execute(
                "INSERT INTO uploads (task_id, batch, name, size, parts) \
                 SELECT $1, $4, n, s, CASE WHEN k = '' THEN '{}'::text[] ELSE ARRAY[k] END \
                 FROM unnest($2::text[], $3::int8[], $5::text[]) AS x(n, s, k) \
                 ON CONFLICT (task_id, batch, name) DO UPDATE SET size = EXCLUDED.size, parts = EXCLUDED.parts, \
                 received_date = now()",
                &[&task, &names, &sizes, &batch, &locations],
            )
            .await
            .db()?;
        Ok(())
    }

    /// Starts a resumable upload of one file.
    #[tracing::instrument(skip_all)]
    pub async fn create_tus_upload(
        &self,
        caller: &Caller,
        upload: UploadFor,
        name: &str,
        length: i64,
    ) -> ApiResult<TusUpload> {
        if !keys::valid_file_name(name) {
            return Err(ApiError::field("filename", format!("Invalid file name: {name:?}")));
        }
        if length < 0 {
            return Err(ApiError::bad_request("Upload-Length must not be negative."));
        }
        let client = self.client().await?;
        let scope = self.upload_scope(&client, caller, upload).await?;
        let id = uuid::Uuid::new_v4().simple().to_string();
        client
            .execute(
                "INSERT INTO tus_uploads (id, task_id, name, length, purpose, owner_id) VALUES ($1, $2, $3, $4, $5, $6)",
                &[&id, &scope.task, &name, &length, &scope.purpose, &scope.owner],
            )
            .await
            .db()?;
        if let (0, Some(task), "data") = (length, scope.task, scope.purpose) {
            self.finish_tus(&client, task, &id).await?;
        }
        Ok(TusUpload { id, name: name.to_string(), length, offset: 0 })
    }

    #[tracing::instrument(skip_all)]
    pub async fn get_tus_upload(&self, caller: &Caller, upload: UploadFor, id: &str) -> ApiResult<TusUpload> {
        let client = self.client().await?;
        let scope = self.upload_scope(&client, caller, upload).await?;
        tus_upload(&client, scope, id).await
    }

    /// Records a stored piece at `offset`. A piece at any other offset than the one
    /// received so far is a conflict (409), as TUS says; the last piece completes the file.
    #[tracing::instrument(skip_all)]
    pub async fn append_tus_upload(
        &self,
        caller: &Caller,
        upload: UploadFor,
        id: &str,
        offset: i64,
        part_key: &str,
        size: i64,
    ) -> ApiResult<TusUpload> {
        let client = self.client().await?;
        let scope = self.upload_scope(&client, caller, upload).await?;
        let upload = tus_upload(&client, scope, id).await?;
        if offset + size > upload.length {
            return Err(ApiError::detail(ErrorKind::PayloadTooLarge, "The piece goes past Upload-Length."));
        }
        let updated = client
            .execute(
                "UPDATE tus_uploads SET received = received + $4, parts = parts || $5::text, updated_date = now() \
                 WHERE id = $1 AND task_id IS NOT DISTINCT FROM $2 AND received = $3",
                &[&id, &scope.task, &offset, &size, &part_key],
            )
            .await
            .db()?;
        if updated == 0 {
            return Err(ApiError::detail(ErrorKind::Conflict, "Upload-Offset does not match the upload's offset."));
        }
        if let (true, Some(task), "data") = (offset + size == upload.length, scope.task, scope.purpose) {
            self.finish_tus(&client, task, id).await?;
        }
        Ok(TusUpload { offset: offset + size, ..upload })
    }

    /// A completed resumable upload becomes one of the task's uploaded files.
    async fn finish_tus(&self, client: &impl cvat_db::GenericClient, task: i64, id: &str) -> ApiResult<()> {
        client
            .execute(
                "INSERT INTO uploads (task_id, name, size, parts) SELECT task_id, name, length, parts FROM tus_uploads \
                 WHERE id = $1 AND task_id = $2 \
                 ON CONFLICT (task_id, batch, name) DO UPDATE SET size = EXCLUDED.size, parts = EXCLUDED.parts, \
                 received_date = now()",
                &[&id, &task],
            )
            .await
            .db()?;
        Ok(())
    }

    /// Forgets the uploads of tasks that have no data, are not being processed and
    /// received nothing (no file, no TUS piece) for `idle`; answers the blob keys to
    /// delete. Tasks with data keep their uploaded files (they are the task's source data);
    /// only their stale TUS records go.
    #[tracing::instrument(skip_all)]
    pub async fn sweep_uploads(&self, idle: std::time::Duration) -> ApiResult<Vec<String>> {
        let seconds = idle.as_secs_f64();
        let mut client = self.client().await?;
        let tx = client.transaction().await.db()?;
        let idle_tasks =
            "SELECT t.id FROM tasks t WHERE NOT EXISTS (SELECT 1 FROM task_data d WHERE d.task_id = t.id) \
             AND NOT EXISTS (SELECT 1 FROM requests r WHERE r.task_id = t.id AND r.status IN ('queued', 'started')) \
             AND NOT EXISTS (SELECT 1 FROM uploads u WHERE u.task_id = t.id \
                 AND u.received_date >= now() - make_interval(secs => $1)) \
             AND NOT EXISTS (SELECT 1 FROM tus_uploads x WHERE x.task_id = t.id \
                 AND x.updated_date >= now() - make_interval(secs => $1))";
        let uploads = tx
            .query(
                &format!("DELETE FROM uploads WHERE task_id IN ({idle_tasks}) RETURNING task_id, name, parts"),
                &[&seconds],
            )
            .await
            .db()?;
        let pieces = tx
            .query(
                &format!(
                    "DELETE FROM tus_uploads WHERE updated_date < now() - make_interval(secs => $1) \
                     RETURNING task_id IN ({idle_tasks}), parts"
                ),
                &[&seconds],
            )
            .await
            .db()?;
        tx.commit().await.db()?;
        let mut keys = Vec::new();
        for r in &uploads {
            match column::<_, Vec<String>>(r, 2)? {
                parts if parts.is_empty() => keys.push(keys::upload(column(r, 0)?, column::<_, &str>(r, 1)?)),
                parts => keys.extend(parts),
            }
        }
        for r in &pieces {
            if column::<_, bool>(r, 0)? {
                keys.extend(column::<_, Vec<String>>(r, 1)?);
            }
        }
        keys.sort();
        keys.dedup();
        Ok(keys)
    }

    /// Upload-Finish: validates the parameters, orders the uploaded files, selects the
    /// task's frames and records a queued request. Answers the work for a media worker
    /// (the caller publishes it).
    /// `batch`: a one-request upload starts from its own files alone (empty: the files of
    /// the Upload-Multiple protocol).
    #[tracing::instrument(skip_all)]
    pub async fn start_data(&self, caller: &Caller, task: i64, body: &str, batch: &str) -> ApiResult<ProcessTaskData> {
        self.start_data_with(caller, task, data_params(&parse_body(body)?)?, batch).await
    }

    /// [`Self::start_data`] with its parameters read.
    pub(crate) async fn start_data_with(
        &self,
        caller: &Caller,
        task: i64,
        params: DataParams,
        batch: &str,
    ) -> ApiResult<ProcessTaskData> {
        let mut client = self.client().await?;
        self.check_can_upload(&client, caller, task).await?;
        let rows = client
            .query(
                "SELECT name, parts FROM uploads WHERE task_id = $1 AND batch = $2 ORDER BY received_date, name",
                &[&task, &batch],
            )
            .await
            .db()?;
        let mut uploaded: Vec<String> = column_values(&rows, 0)?;
        let mut parts: HashMap<String, FileParts> = HashMap::new();
        for r in &rows {
            let keys: Vec<String> = column(r, 1)?;
            if !keys.is_empty() {
                parts.insert(column(r, 0)?, FileParts { keys });
            }
        }
        let request_id = data_request_id(task);
        let from_cloud = params.cloud_storage_id.is_some();
        if let Some(id) = params.cloud_storage_id {
            self.check_cloud_storage_readable(&client, caller, id).await?;
        }
        if params.filename_pattern.is_some() && params.server_files.is_empty() && !from_cloud {
            return Err(ApiError::field(
                "filename_pattern",
                "filename_pattern filters server_files or a cloud storage.",
            ));
        }
        if from_cloud && params.server_files.is_empty() && params.filename_pattern.is_none() {
            return Err(ApiError::invalid(
                "No media data found: name server_files (or a filename_pattern) of the cloud storage",
            ));
        }
        // The share or a cloud storage: the worker lists what the paths name.
        let from_share = !params.server_files.is_empty() || from_cloud;
        let from_remote = !params.remote_files.is_empty();
        if [from_share, from_remote, !uploaded.is_empty()].iter().filter(|given| **given).count() > 1 {
            return Err(ApiError::invalid("Send only one of client_files, server_files and remote_files"));
        }
        if from_remote {
            // Remote files are downloaded as uploads of these names, then treated as such.
            uploaded = params.remote_files.iter().map(|(name, _)| name.clone()).collect();
        }
        let is_archive = |n: &str| cvat_codecs::archive::is_archive_name(n);
        if let Some(name) =
            uploaded.iter().find(|n| !is_archive(n) && NOT_YET.contains(&cvat_codecs::extension(n).as_str()))
        {
            return Err(ApiError::invalid(format!(
                "{name}: this kind of archive is not supported by this server yet; \
                 upload images, a zip, tar or tar.gz archive, a video or a PDF"
            )));
        }
        // One video or one archive alone, or any number of images.
        let singles: Vec<&String> = uploaded
            .iter()
            .filter(|n| is_archive(n) || cvat_codecs::is_video_name(n) || cvat_codecs::is_pdf_name(n))
            .collect();
        let images: Vec<String> = uploaded.iter().filter(|n| cvat_codecs::is_image_name(n)).cloned().collect();
        if singles.len() > 1 || (!singles.is_empty() && !images.is_empty()) {
            return Err(ApiError::invalid(
                "Only one video, archive, pdf, zip or many image, directory can be used simultaneously",
            ));
        }
        let video = singles.first().filter(|n| cvat_codecs::is_video_name(n)).map(|n| n.to_string());
        let pdf = singles.first().filter(|n| cvat_codecs::is_pdf_name(n)).map(|n| n.to_string());
        let archive = singles.first().map(|a| a.to_string());
        // Images are ordered and selected here; an archive's by the worker that opens it.
        let (files, start, stop) = match &archive {
            _ if from_share => (Vec::new(), params.start_frame as u64, params.stop_frame.map(|s| s as u64)),
            Some(name) => (vec![name.clone()], params.start_frame as u64, params.stop_frame.map(|s| s as u64)),
            None if images.is_empty() => return Err(ApiError::invalid("No media data found")),
            None if !params.job_file_mapping.is_empty() => {
                let files: Vec<String> = params.job_file_mapping.iter().flatten().cloned().collect();
                if let Some(missing) = files.iter().find(|f| !images.contains(f)) {
                    return Err(ApiError::invalid(format!("job_file_mapping names {missing}, which was not uploaded")));
                }
                let stop = files.len() as u64 - 1;
                (files, 0, Some(stop))
            }
            None => {
                let ordered =
                    cvat_codecs::order::sort_files(images, &params.sorting_method, &params.upload_order, &request_id)
                        .map_err(ApiError::invalid)?;
                let range = cvat_segments::frame_range(
                    ordered.len() as u64,
                    params.start_frame as u64,
                    params.stop_frame.map(|s| s as u64),
                    params.step,
                )
                .map_err(|e| ApiError::invalid(e.to_string()))?;
                let files = (0..range.size).map(|k| ordered[range.source_frame(k) as usize].clone()).collect();
                (files, range.start, Some(range.stop))
            }
        };
        let access = self.task_access(&client, task).await?;
        let split = client.query_one("SELECT segment_size, overlap FROM tasks WHERE id = $1", &[&task]).await.db()?;
        let (segment_size, overlap): (i32, Option<i32>) = (column(&split, 0)?, column(&split, 1)?);
        let stored = StoredParams {
            image_quality: params.image_quality,
            chunk_size: params.chunk_size.map(i64::from),
            start_frame: start as i32,
            stop_frame: stop.map(|s| s as i64),
            frame_step: params.step as i32,
            sorting_method: params.sorting_method.clone(),
            use_zip_chunks: params.use_zip_chunks,
            use_cache: params.use_cache,
            storage: match (from_cloud, from_share) {
                (true, _) => "cloud_storage".to_string(),
                (false, true) => "share".to_string(),
                _ => "local".to_string(),
            },
            frames_per_job: params.job_file_mapping.iter().map(|files| files.len() as i64).collect(),
            cloud_storage_id: params.cloud_storage_id,
            deleted_frames: params.deleted_frames.clone(),
        };
        let stored = serde_json::to_value(&stored).map_err(|_| ApiError::internal())?;
        if !params.job_file_mapping.is_empty() && (archive.is_some() || from_share) {
            return Err(ApiError::invalid("job_file_mapping is supported for uploaded images only"));
        }
        let tx = client.transaction().await.db()?;
        let request = NewRequest {
            id: &request_id,
            kind: "create:task",
            target: "task",
            project_id: access.project,
            task_id: Some(task),
            owner_id: caller.id(),
            organization_id: access.org,
            params: &stored,
        };
        self.create_request(&tx, &request).await?;
        tx.commit().await.db()?;
        Ok(ProcessTaskData {
            request_id,
            task_id: task,
            files,
            image_quality: params.image_quality,
            chunk_size: params.chunk_size.unwrap_or(0),
            archive: if video.is_some() || pdf.is_some() { String::new() } else { archive.unwrap_or_default() },
            video: video.unwrap_or_default(),
            pdf: pdf.unwrap_or_default(),
            sorting_method: params.sorting_method.clone(),
            upload_order: params.upload_order.clone(),
            start_frame: start as i32,
            stop_frame: stop.map(|s| s as i32),
            frame_step: params.step as i32,
            parts,
            share_paths: params.server_files.clone(),
            share_exclude: params.server_files_exclude.clone(),
            remote_urls: params.remote_files.into_iter().collect(),
            cloud_storage_id: params.cloud_storage_id.unwrap_or(0),
            filename_pattern: params.filename_pattern.unwrap_or_default(),
            segment_size,
            overlap,
            frames_per_job: params.job_file_mapping.iter().map(|files| files.len() as i64).collect(),
            use_cache: params.use_cache,
            use_zip_chunks: params.use_zip_chunks,
        })
    }

    /// A media worker finished: frames, data settings, segments and jobs are written and
    /// the request is finished in one transaction, so a failure anywhere leaves the
    /// request open for the worker's retry. A repeated report changes nothing.
    /// Answers the chunks to build ahead (a lazy task's compressed ones, a video's
    /// compressed MP4 ones; first time only).
    #[tracing::instrument(skip_all)]
    pub async fn complete_data(&self, result: &DataResult) -> ApiResult<Vec<String>> {
        let (request_id, task, frames, chunk_size) =
            (result.request_id.as_str(), result.task_id, result.frames.as_slice(), result.chunk_size);
        if frames.is_empty() || chunk_size <= 0 {
            return Err(ApiError::invalid("A data result needs frames and a chunk size"));
        }
        let mut client = self.client().await?;
        let tx = client.transaction().await.db()?;
        // Locked: two reports of one request (a redelivered job) take turns.
        let row = tx
            .query_opt(
                "SELECT status, params FROM requests WHERE id = $1 AND task_id = $2 FOR UPDATE",
                &[&request_id, &task],
            )
            .await
            .db()?
            .ok_or_else(ApiError::not_found)?;
        let status: String = column(&row, 0)?;
        if status == "finished" {
            return Ok(Vec::new());
        }
        let params: StoredParams = serde_json::from_value(column(&row, 1)?).map_err(|err| {
            tracing::error!(error = %err, request = request_id, "unreadable data parameters");
            ApiError::internal()
        })?;
        insert_frames(&tx, task, frames).await?;
        let stop_frame = params.start_frame + (frames.len() as i32 - 1) * params.frame_step.max(1);
        let deleted: Vec<i32> =
            params.deleted_frames.iter().copied().filter(|f| (0..frames.len() as i32).contains(f)).collect();
        // CVAT's chunk types: a video's chunks are MP4, compressed ones unless zips were asked for.
        let compressed_type = if result.video && !params.use_zip_chunks { "video" } else { "imageset" };
        let original_type = if result.video { "video" } else { "imageset" };
        tx.execute(
            "INSERT INTO task_data (task_id, image_quality, chunk_size, start_frame, stop_frame, frame_step, \
             sorting_method, storage, use_zip_chunks, use_cache, compressed_chunk_type, original_chunk_type, \
             cloud_storage_id, deleted_frames, lazy_chunks, storage_method) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $14, $15, $11, $12, $13, \
             CASE WHEN $10 THEN 'cache' ELSE 'file_system' END) \
             ON CONFLICT (task_id) DO NOTHING",
            &[
                &task,
                &params.image_quality,
                &chunk_size,
                &params.start_frame,
                &stop_frame,
                &params.frame_step.max(1),
                &params.sorting_method,
                &params.storage,
                &params.use_zip_chunks,
                &params.use_cache,
                &params.cloud_storage_id,
                &deleted,
                &result.lazy_chunks,
                &compressed_type,
                &original_type,
            ],
        )
        .await
        .db()?;
        tx.execute("DELETE FROM uploads WHERE task_id = $1", &[&task]).await.db()?;
        // The worker knows what the files were (a share path or a key may name a video).
        let mode = if result.video { "interpolation" } else { "annotation" };
        self.write_segments(&tx, task, frames.len() as i64, mode, &params.frames_per_job).await?;
        // A video's lossless original MP4s are built only when asked for: they take more
        // room than the frames themselves and annotation reads the compressed ones.
        let encodings =
            [(result.lazy_chunks, ChunkEncoding::JpegZip), (compressed_type == "video", ChunkEncoding::Mp4Compressed)];
        let ahead: Vec<UnbuiltChunk> = encodings
            .into_iter()
            .filter(|(wanted, _)| *wanted)
            .flat_map(|(_, encoding)| {
                crate::chunk_builds::task_chunks(task, frames.len() as i64, i64::from(chunk_size), encoding)
            })
            .collect();
        crate::chunk_builds::queue_chunks(&tx, task, &ahead).await?;
        self.finish_request(&tx, request_id).await?;
        tx.commit().await.db()?;
        Ok(ahead.into_iter().map(|chunk| chunk.key).collect())
    }

    /// The task and its frame range behind a task or job data query, after view:data
    /// (or update:metadata when `update`).
    async fn data_scope(
        &self,
        client: &impl cvat_db::GenericClient,
        query: &DataQuery,
        update: bool,
    ) -> ApiResult<DataScope> {
        let caller = Caller::from_wire(query.caller.clone())?;
        let (task, start, stop, row) = match query.target.as_str() {
            "task" => {
                let scope = if update { TaskScope::Update } else { TaskScope::View };
                // The permission check and the data row travel together (one round trip);
                // the row is used only once the check has passed.
                let (checked, row) = futures_util::future::join(
                    self.check_task(client, &caller, query.id, scope),
                    data_row(client, query.id),
                )
                .await;
                checked?;
                (query.id, None, None, row?)
            }
            "job" => {
                let scope = if update { JobScope::Update } else { JobScope::View };
                let task = self.check_job_scope(client, &caller, query.id, scope).await?;
                let row = crate::query_cached(
                    client,
                    "SELECT s.start_frame, s.stop_frame FROM jobs j JOIN segments s ON s.id = j.segment_id \
                     WHERE j.id = $1",
                    &[&query.id],
                )
                .await?
                .pop()
                .ok_or_else(ApiError::not_found)?;
                let (start, stop) = (column::<_, i32>(&row, 0)? as i64, column::<_, i32>(&row, 1)? as i64);
                (task, Some(start), Some(stop), data_row(client, task).await?)
            }
            other => return Err(ApiError::bad_request(format!("Unknown data target {other}"))),
        };
        let Some(row) = row else {
            return Err(ApiError::detail(ErrorKind::NotFound, "The task has no data."));
        };
        let size = column::<_, i32>(&row, 7)? as i64;
        Ok(DataScope {
            task,
            first: start.unwrap_or(0),
            last: stop.unwrap_or(size - 1),
            chunk_size: column::<_, i32>(&row, 0)? as i64,
            image_quality: column(&row, 1)?,
            start_frame: column(&row, 2)?,
            step: column(&row, 3)?,
            storage: column(&row, 4)?,
            deleted: column(&row, 5)?,
            updated: column(&row, 6)?,
            job: query.target == "job",
            size,
            lazy: column(&row, 8)?,
            video_compressed: column::<_, String>(&row, 9)? == "video",
            video_original: column::<_, String>(&row, 10)? == "video",
        })
    }

    /// Where a chunk, frame or preview is (after view:data), with CVAT's 400s for bad
    /// parameters and 404 for numbers out of range.
    #[tracing::instrument(skip_all)]
    pub async fn locate_data(&self, query: &DataQuery) -> ApiResult<DataLocation> {
        let client = self.client().await?;
        if query.target == "project" {
            return self.project_preview(&client, query).await;
        }
        let quality = match query.quality.as_str() {
            "" | "compressed" => Ok("compressed"),
            "original" => Ok("original"),
            _ => Err(ApiError::invalid("Wrong quality value: use compressed or original")),
        };
        // A task's frame is looked up with the permission check (one round trip), and
        // used only after it, so a refused caller learns nothing from it.
        let frame = async {
            match (query.target.as_str(), query.r#type.as_str(), query.number, &quality) {
                ("task", "frame", Some(number), Ok(quality)) => {
                    Some(self.frame_range(&client, query.id, number, quality).await)
                }
                _ => None,
            }
        };
        let (scope, frame) = futures_util::future::join(self.data_scope(&client, query, false), frame).await;
        let scope = scope?;
        let quality = quality?;
        let version = format!("{}-{}", scope.task, scope.updated.timestamp_micros());
        let out_of_range = || ApiError::invalid("The frame number is out of the data's range");
        match query.r#type.as_str() {
            "preview" => Ok(DataLocation {
                key: keys::preview(scope.task),
                member: -1,
                content_type: "image/jpeg".into(),
                version,
                ..Default::default()
            }),
            "frame" => {
                let number = query.number.ok_or_else(|| ApiError::invalid("The frame number is required"))?;
                // Task and job frames are both numbered like the task's (0 ≤ n < size).
                let relative = number;
                if relative < scope.first || relative > scope.last {
                    return Err(out_of_range());
                }
                let (offset, length, extension) = match frame {
                    Some(found) => found?,
                    None => self.frame_range(&client, scope.task, relative, quality).await?,
                };
                let number = relative / scope.chunk_size;
                // A lazy task's compressed frame has a byte range once its chunk is built.
                let unbuilt = (scope.lazy && quality == "compressed" && length == 0).then(|| {
                    let encoding = ChunkEncoding::JpegZip;
                    crate::chunk_builds::task_chunk(scope.task, number, scope.chunk_size, scope.size, encoding)
                });
                Ok(DataLocation {
                    key: keys::chunk(scope.task, quality, number),
                    member: relative % scope.chunk_size,
                    content_type: cvat_codecs::content_type(&extension).to_string(),
                    version,
                    offset,
                    length,
                    unbuilt,
                })
            }
            "chunk" => {
                let (key, content_type, chunk) = if scope.job {
                    if query.number.is_some() && query.index.is_some() {
                        return Err(ApiError::invalid("number and index cannot be used together"));
                    }
                    let index =
                        query.index.or(query.number).ok_or_else(|| ApiError::invalid("The chunk index is required"))?;
                    let segment = scope.first as u64..=scope.last as u64;
                    let (frames, whole_task_chunk) = u64::try_from(index)
                        .ok()
                        .and_then(|index| cvat_segments::job_chunk(&segment, scope.chunk_size as u64, index))
                        .ok_or_else(out_of_range)?;
                    // A job chunk that is exactly a task chunk is served as it is; any
                    // other zip was built by the media worker when the data was processed
                    // (a lazy task's compressed one, and an MP4 one: when first asked for).
                    if whole_task_chunk {
                        scope.task_chunk(quality, *frames.start() as i64 / scope.chunk_size)
                    } else {
                        let encoding = scope.encoding(quality);
                        let key = match encoding {
                            Some(ChunkEncoding::Mp4Compressed | ChunkEncoding::Mp4Original) => {
                                keys::job_video_chunk(scope.task, scope.first, quality, index)
                            }
                            _ => keys::job_chunk(scope.task, scope.first, quality, index),
                        };
                        let chunk = encoding.map(|encoding| UnbuiltChunk {
                            task_id: scope.task,
                            key: key.clone(),
                            first_frame: *frames.start() as i32,
                            last_frame: *frames.end() as i32,
                            task_chunk: false,
                            encoding: encoding.into(),
                        });
                        (key, encoding.map_or("application/zip", content_type), chunk)
                    }
                } else {
                    let number = query.number.ok_or_else(|| ApiError::invalid("The chunk number is required"))?;
                    if number < 0 || number * scope.chunk_size > scope.last {
                        return Err(out_of_range());
                    }
                    scope.task_chunk(quality, number)
                };
                Ok(DataLocation {
                    key,
                    member: -1,
                    content_type: content_type.into(),
                    version,
                    unbuilt: self.unbuilt(&client, &scope, chunk).await?,
                    ..Default::default()
                })
            }
            "context_image" => {
                let number = query.number.ok_or_else(|| ApiError::invalid("The frame number is required"))?;
                if number < scope.first || number > scope.last {
                    return Err(out_of_range());
                }
                let row = client
                    .query_one(
                        "SELECT related_files FROM frames WHERE task_id = $1 AND number = $2",
                        &[&scope.task, &(number as i32)],
                    )
                    .await
                    .db()?;
                let related: i32 = column(&row, 0)?;
                if related == 0 {
                    return Err(ApiError::detail(ErrorKind::NotFound, "The frame has no context images."));
                }
                Ok(DataLocation {
                    key: keys::context_images(scope.task, number),
                    member: -1,
                    content_type: "application/zip".into(),
                    version,
                    ..Default::default()
                })
            }
            _ => Err(ApiError::invalid("Data type not specified or has wrong value")),
        }
    }

    /// `chunk` (one built on request) unless it is built.
    async fn unbuilt(
        &self,
        client: &impl cvat_db::GenericClient,
        scope: &DataScope,
        chunk: Option<UnbuiltChunk>,
    ) -> ApiResult<Option<UnbuiltChunk>> {
        match chunk {
            Some(chunk) if !self.chunk_built(client, scope.task, &chunk.key).await? => Ok(Some(chunk)),
            _ => Ok(None),
        }
    }

    /// A project's preview is that of its newest task with data.
    async fn project_preview(
        &self,
        client: &impl cvat_db::GenericClient,
        query: &DataQuery,
    ) -> ApiResult<DataLocation> {
        let caller = Caller::from_wire(query.caller.clone())?;
        self.check_project(client, &caller, query.id, cvat_permissions::ProjectScope::View).await?;
        let row = client
            .query_one(
                "SELECT max(t.id), max(d.chunks_updated_date) FROM tasks t JOIN task_data d ON d.task_id = t.id \
                 WHERE t.project_id = $1",
                &[&query.id],
            )
            .await
            .db()?;
        let Some(task) = column::<_, Option<i64>>(&row, 0)? else {
            return Err(ApiError::detail(ErrorKind::NotFound, "The project has no task with data."));
        };
        let updated: chrono::DateTime<chrono::Utc> = column(&row, 1)?;
        Ok(DataLocation {
            key: keys::preview(task),
            member: -1,
            content_type: "image/jpeg".into(),
            version: format!("{task}-{}", updated.timestamp_micros()),
            ..Default::default()
        })
    }

    /// A frame's byte range inside its chunk archive of `quality`, and its extension.
    async fn frame_range(
        &self,
        client: &impl cvat_db::GenericClient,
        task: i64,
        number: i64,
        quality: &str,
    ) -> ApiResult<(i64, i64, String)> {
        let row = crate::query_cached(
            client,
            "SELECT original_offset, original_length, compressed_offset, compressed_length, original_extension \
             FROM frames WHERE task_id = $1 AND number = $2",
            &[&task, &(number as i32)],
        )
        .await?
        .pop()
        .ok_or_else(ApiError::not_found)?;
        Ok(if quality == "original" {
            (column(&row, 0)?, column(&row, 1)?, column(&row, 4)?)
        } else {
            (column(&row, 2)?, column(&row, 3)?, "jpeg".to_string())
        })
    }

    /// Replaces the deleted frames of a task, or those inside a job's frame range.
    #[tracing::instrument(skip_all)]
    pub async fn update_data_meta(&self, query: &DataQuery, body: &str) -> ApiResult<String> {
        let body = parse_body(body)?;
        let client = self.client().await?;
        let scope = self.data_scope(&client, query, true).await?;
        let frames = match body.get("deleted_frames") {
            None => None,
            Some(Value::Array(items)) => {
                let mut frames = Vec::with_capacity(items.len());
                for item in items {
                    match item.as_i64() {
                        Some(f) if f >= scope.first && f <= scope.last => frames.push(f as i32),
                        _ => {
                            return Err(ApiError::field(
                                "deleted_frames",
                                format!("Frame {item} is not a frame in {}..={}", scope.first, scope.last),
                            ))
                        }
                    }
                }
                frames.sort_unstable();
                frames.dedup();
                Some(frames)
            }
            Some(_) => return Err(ApiError::field("deleted_frames", "Expected a list of frame numbers.")),
        };
        if let Some(frames) = frames {
            // Frames outside the range in view (another job's) are kept.
            client
                .execute(
                    "UPDATE task_data SET deleted_frames = ARRAY(SELECT DISTINCT f FROM unnest(deleted_frames || $4::int4[]) \
                     AS f WHERE (f < $2 OR f > $3) OR f = ANY($4) ORDER BY f) \
                     WHERE task_id = $1",
                    &[&scope.task, &(scope.first as i32), &(scope.last as i32), &frames],
                )
                .await
                .db()?;
        }
        // Read again: the deleted frames just changed.
        let scope = self.data_scope(&client, query, false).await?;
        self.render_data_meta(&client, &scope).await
    }

    /// `DataMetaRead` of a task or a job.
    #[tracing::instrument(skip_all)]
    pub async fn data_meta(&self, query: &DataQuery) -> ApiResult<String> {
        let client = self.client().await?;
        let scope = self.data_scope(&client, query, false).await?;
        self.render_data_meta(&client, &scope).await
    }

    async fn render_data_meta(&self, client: &impl cvat_db::GenericClient, scope: &DataScope) -> ApiResult<String> {
        let rows = client
            .query(
                "SELECT name, width, height, related_files FROM frames WHERE task_id = $1 AND number BETWEEN $2 AND $3 \
                 ORDER BY number",
                &[&scope.task, &(scope.first as i32), &(scope.last as i32)],
            )
            .await
            .db()?;
        // Every frame is listed, a video's too (named after the video): the chunks are
        // imagesets, and clients of imageset chunks (cvat_sdk.datasets) index meta by frame.
        let frames = rows
            .iter()
            .map(|r| {
                let related = column::<_, i32>(r, 3)?;
                Ok(FrameMetaRead {
                    name: column(r, 0)?,
                    width: column(r, 1)?,
                    height: column(r, 2)?,
                    related_files: related,
                    has_related_context: related > 0,
                })
            })
            .collect::<ApiResult<Vec<_>>>()?;
        let step = scope.step.max(1);
        let absolute = |relative: i64| scope.start_frame as i64 + relative * step as i64;
        let deleted: Vec<i32> =
            scope.deleted.iter().copied().filter(|f| (*f as i64) >= scope.first && (*f as i64) <= scope.last).collect();
        Ok(cvat_models::render(&DataMetaRead {
            chunks_updated_date: cvat_models::Timestamp(scope.updated),
            chunk_size: Some(scope.chunk_size),
            size: scope.last - scope.first + 1,
            image_quality: scope.image_quality,
            start_frame: absolute(scope.first),
            stop_frame: absolute(scope.last),
            frame_filter: if step > 1 { format!("step={step}") } else { String::new() },
            frames: Some(frames),
            deleted_frames: deleted,
            included_frames: None,
            chapters: None,
            storage: Some(scope.storage.clone()),
            cloud_storage_id: None,
        }))
    }
}

/// The data parameters `start_data` records with the request, read back when the
/// worker reports (missing keys take the defaults a request without them had).
#[derive(serde::Serialize, serde::Deserialize)]
#[serde(default)]
struct StoredParams {
    image_quality: i32,
    chunk_size: Option<i64>,
    start_frame: i32,
    stop_frame: Option<i64>,
    frame_step: i32,
    sorting_method: String,
    use_zip_chunks: bool,
    use_cache: bool,
    storage: String,
    frames_per_job: Vec<i64>,
    cloud_storage_id: Option<i64>,
    deleted_frames: Vec<i32>,
}

impl Default for StoredParams {
    fn default() -> Self {
        Self {
            image_quality: 70,
            chunk_size: None,
            start_frame: 0,
            stop_frame: None,
            frame_step: 1,
            sorting_method: "lexicographical".into(),
            use_zip_chunks: false,
            use_cache: true,
            storage: "local".into(),
            frames_per_job: Vec::new(),
            cloud_storage_id: None,
            deleted_frames: Vec::new(),
        }
    }
}

/// Replaces a task's frames, all in one statement.
async fn insert_frames(tx: &impl cvat_db::GenericClient, task: i64, frames: &[FrameMeta]) -> ApiResult<()> {
    let names: Vec<&str> = frames.iter().map(|f| f.name.as_str()).collect();
    let widths: Vec<i32> = frames.iter().map(|f| f.width).collect();
    let heights: Vec<i32> = frames.iter().map(|f| f.height).collect();
    let extensions: Vec<&str> = frames.iter().map(|f| f.original_extension.as_str()).collect();
    let related: Vec<i32> = frames.iter().map(|f| f.related_files).collect();
    let ranges: [Vec<i64>; 4] = [
        frames.iter().map(|f| f.original_offset).collect(),
        frames.iter().map(|f| f.original_length).collect(),
        frames.iter().map(|f| f.compressed_offset).collect(),
        frames.iter().map(|f| f.compressed_length).collect(),
    ];
    tx.execute("DELETE FROM frames WHERE task_id = $1", &[&task]).await.db()?;
    tx.execute(
        "INSERT INTO frames (task_id, number, name, width, height, original_extension, original_offset, \
         original_length, compressed_offset, compressed_length, related_files) \
         SELECT $1, (n - 1)::int4, name, w, h, e, oo, ol, co, cl, rf FROM unnest($2::text[], $3::int4[], \
         $4::int4[], $5::text[], $6::int8[], $7::int8[], $8::int8[], $9::int8[], $10::int4[]) WITH ORDINALITY \
         AS x(name, w, h, e, oo, ol, co, cl, rf, n)",
        &[&task, &names, &widths, &heights, &extensions, &ranges[0], &ranges[1], &ranges[2], &ranges[3], &related],
    )
    .await
    .db()?;
    Ok(())
}

struct DataScope {
    task: i64,
    /// The relative frames in view: the whole task, or a job's segment.
    first: i64,
    last: i64,
    chunk_size: i64,
    image_quality: i32,
    start_frame: i32,
    step: i32,
    storage: String,
    deleted: Vec<i32>,
    updated: chrono::DateTime<chrono::Utc>,
    job: bool,
    /// The task's frame count.
    size: i64,
    /// Compressed chunks are built on first request.
    lazy: bool,
    /// The chunks of a quality are MP4 (CVAT's `video` chunk type).
    video_compressed: bool,
    video_original: bool,
}

impl DataScope {
    /// How chunks of `quality` are built on request; none: stored with the data.
    fn encoding(&self, quality: &str) -> Option<ChunkEncoding> {
        match quality {
            "original" if self.video_original => Some(ChunkEncoding::Mp4Original),
            "original" => None,
            _ if self.video_compressed => Some(ChunkEncoding::Mp4Compressed),
            _ if self.lazy => Some(ChunkEncoding::JpegZip),
            _ => None,
        }
    }

    /// The task's chunk `number` of `quality` as a client gets it: its key, content type
    /// and, for a chunk built on request, what to build.
    fn task_chunk(&self, quality: &str, number: i64) -> (String, &'static str, Option<UnbuiltChunk>) {
        match self.encoding(quality) {
            Some(encoding) => {
                let chunk = crate::chunk_builds::task_chunk(self.task, number, self.chunk_size, self.size, encoding);
                (chunk.key.clone(), content_type(encoding), Some(chunk))
            }
            None => (keys::chunk(self.task, quality, number), "application/zip", None),
        }
    }
}

fn content_type(encoding: ChunkEncoding) -> &'static str {
    match encoding {
        ChunkEncoding::JpegZip => "application/zip",
        ChunkEncoding::Mp4Compressed | ChunkEncoding::Mp4Original => "video/mp4",
    }
}

/// A task's data record and size (none before its data is attached). A cached statement
/// here and in `frame_range`: every frame request runs them.
async fn data_row(client: &impl cvat_db::GenericClient, task: i64) -> ApiResult<Option<tokio_postgres::Row>> {
    Ok(crate::query_cached(
        client,
        "SELECT d.chunk_size, d.image_quality, d.start_frame, d.frame_step, d.storage, \
         d.deleted_frames, d.chunks_updated_date, t.size, d.lazy_chunks, d.compressed_chunk_type, \
         d.original_chunk_type FROM task_data d \
         JOIN tasks t ON t.id = d.task_id WHERE d.task_id = $1",
        &[&task],
    )
    .await?
    .pop())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameters() {
        let ok = data_params(json!({"image_quality": 70, "frame_filter": "step=2"}).as_object().unwrap()).unwrap();
        assert_eq!((ok.image_quality, ok.step), (70, 2));
        for bad in [
            json!({}),
            json!({"image_quality": 0}),
            json!({"image_quality": 70, "frame_filter": "every=2"}),
            json!({"image_quality": 70, "server_files": ["../a.png"]}),
            json!({"image_quality": 70, "start_frame": 5, "stop_frame": 2}),
            json!({"image_quality": 70, "sorting_method": "by-size"}),
        ] {
            assert!(data_params(bad.as_object().unwrap()).is_err(), "{bad}");
        }
    }
}
