//! Restoring a backup (the export pool): the archive is spooled; a project backup's
//! `project.json` makes the project first; then for each task (the archive's root, or
//! each `task_<n>/` of a project backup in order) `task.json` makes the task (through
//! the task service, as the user who sent it), the media under its `data/` are stored
//! as the task's uploads and processed here like any upload, and the jobs' documents of
//! its `annotations.json` are saved with the new task's ids. A backup that cannot be
//! used fails the request with the reason, and the task service removes what was made
//! of it.
//!
//! A dataset imported into a project runs the same steps without `project.json`: each
//! subset of the dataset becomes a task of the project (named after the subset) with the
//! subset's images as data, and its annotations, read by the format's importer, are
//! saved to it.

use crate::import::{document_parts, fetch_input, CloudFile};
use crate::media;
use crate::TaskApi;
use cvat_blob::keys;
use cvat_formats::{ExportSource, ImportError, ImportFormat, LabelInfo};
use cvat_proto::queue::RestoreBackup;
use cvat_proto::task::{DataFailure, ImportPart, RequestRef, RestoreDataRequest, UploadedFile};
use serde_json::Value;
use std::io::Read;
use std::path::{Path, PathBuf};

/// What a backup archive holds: for a project backup its `project.json`, and the
/// folders of its tasks (`""` for a task backup, else `task_<n>/` in order).
struct Layout {
    project_json: Option<Vec<u8>>,
    tasks: Vec<String>,
}

/// One task of a backup: `task.json`, the jobs' documents, and its media files
/// (extracted to a temporary directory, in archive order).
struct TaskBackup {
    task_json: Vec<u8>,
    /// The `data` object of `task.json` (image quality, chunk size).
    data: Value,
    documents: Vec<Value>,
    media: Vec<(String, PathBuf, u64)>,
}

/// How one step ended: done, or refused with a reason for the user.
type Step<T> = anyhow::Result<Result<T, String>>;

/// A refusal of the task service (INVALID_ARGUMENT) is the backup's fault.
fn refused<T>(outcome: Result<tonic::Response<T>, tonic::Status>) -> Step<T> {
    match outcome {
        Ok(answer) => Ok(Ok(answer.into_inner())),
        Err(status) if status.code() == tonic::Code::InvalidArgument => Ok(Err(status.message().into())),
        Err(status) => Err(status.into()),
    }
}

/// Reads the archive on a blocking thread: what is broken in it is the backup's fault;
/// other errors are this worker's.
async fn read_archive<T: Send + 'static>(read: impl FnOnce() -> Result<T, ImportError> + Send + 'static) -> Step<T> {
    match tokio::task::spawn_blocking(read).await? {
        Ok(value) => Ok(Ok(value)),
        Err(ImportError::Invalid(message)) => Ok(Err(message)),
        Err(other) => Err(other.into()),
    }
}

pub async fn restore_backup(work: RestoreBackup, sources: media::Sources<'_>, task: TaskApi) -> anyhow::Result<()> {
    let request_id = work.request_id;
    let blobs = sources.blobs.clone();
    let (parts, dataset_format, cloud): (Vec<String>, Option<ImportFormat>, Option<CloudFile>) =
        match task.clone().get_import_source(RequestRef { rq_id: request_id.clone() }).await {
            Ok(answer) => {
                let source: Value = serde_json::from_str(&answer.into_inner().json)?;
                let format = source["format"].as_str().map(|name| {
                    ImportFormat::importer(name).ok_or_else(|| anyhow::anyhow!("unknown import format {name}"))
                });
                let cloud = serde_json::from_value(source["cloud"].clone()).unwrap_or(None);
                (serde_json::from_value(source["parts"].clone())?, format.transpose()?, cloud)
            }
            Err(status) if status.code() == tonic::Code::NotFound => return Ok(()),
            Err(status) => return Err(status.into()),
        };
    let archive = match fetch_input(blobs.as_ref(), &parts, cloud.as_ref(), sources.fetcher, &task, "restore").await? {
        Ok(archive) => archive,
        Err(message) => {
            task.clone().fail_data(DataFailure { request_id: request_id.clone(), message }).await?;
            return Ok(());
        }
    };
    let media_dir = std::env::temp_dir().join(format!("cvat-restore-media-{}", uuid::Uuid::new_v4()));
    let result = match dataset_format {
        Some(format) => import_dataset(&request_id, format, &archive.path, &media_dir, sources, &task).await,
        None => restore(&request_id, &archive.path, &media_dir, sources, &task).await,
    };
    let _ = std::fs::remove_dir_all(&media_dir);
    match result? {
        Err(message) => {
            task.clone().fail_data(DataFailure { request_id: request_id.clone(), message }).await?;
        }
        Ok(()) => {
            for key in &parts {
                if let Err(err) = blobs.delete(key).await {
                    tracing::warn!(error = %err, key, "a restored backup's piece was not deleted");
                }
            }
        }
    }
    Ok(())
}

/// The place of a task in the request, and whether it is the last one.
fn head(request_id: &str, slot: usize, last: bool) -> ImportPart {
    ImportPart { request_id: request_id.to_string(), slot: slot as i32, last, json: Vec::new() }
}

async fn restore(
    request_id: &str,
    archive: &Path,
    media_dir: &Path,
    sources: media::Sources<'_>,
    task: &TaskApi,
) -> Step<()> {
    let path = archive.to_path_buf();
    let layout = match read_archive(move || read_layout(&path)).await? {
        Ok(layout) => layout,
        Err(message) => return Ok(Err(message)),
    };
    let head = |slot: usize, last: bool| head(request_id, slot, last);
    if let Some(json) = layout.project_json {
        if let Err(message) = refused(task.clone().restore_project(ImportPart { json, ..head(0, false) }).await)? {
            return Ok(Err(message));
        }
        if layout.tasks.is_empty() {
            task.clone().complete_restore(document_parts(&head(0, true), b"[]")).await?;
            return Ok(Ok(()));
        }
    }
    let count = layout.tasks.len();
    for (slot, folder) in layout.tasks.into_iter().enumerate() {
        let (path, dir) = (archive.to_path_buf(), media_dir.join(slot.to_string()));
        let backup = match read_archive(move || read_task_backup(&path, &folder, &dir)).await? {
            Ok(backup) => backup,
            Err(message) => return Ok(Err(message)),
        };
        if let Err(message) = restore_task(head(slot, slot + 1 == count), backup, sources.clone(), task).await? {
            return Ok(Err(message));
        }
        let _ = std::fs::remove_dir_all(media_dir.join(slot.to_string()));
    }
    Ok(Ok(()))
}

/// One task of the backup: made, given its media, processed, then its documents saved.
async fn restore_task(head: ImportPart, backup: TaskBackup, sources: media::Sources<'_>, task: &TaskApi) -> Step<()> {
    let (_, labels) = match make_task(&head, backup.task_json, &backup.media, &backup.data, sources, task).await? {
        Ok(made) => made,
        Err(message) => return Ok(Err(message)),
    };
    let documents = match cvat_formats::documents_with_ids(backup.documents, &labels) {
        Ok(documents) => documents,
        Err(err) => return Ok(Err(err.to_string())),
    };
    let body = serde_json::to_vec(&documents)?;
    task.clone().complete_restore(document_parts(&head, &body)).await?;
    Ok(Ok(()))
}

/// A task of `task_json` made for `head`'s slot, its `media` (name, file, size) stored
/// as its uploads and processed here; answers the task and its labels.
async fn make_task(
    head: &ImportPart,
    task_json: Vec<u8>,
    media: &[(String, PathBuf, u64)],
    data: &Value,
    sources: media::Sources<'_>,
    task: &TaskApi,
) -> Step<(i64, Vec<LabelInfo>)> {
    let blobs = sources.blobs.clone();
    let call = ImportPart { json: task_json, ..head.clone() };
    let made: Value = match refused(task.clone().restore_task(call).await)? {
        Ok(made) => serde_json::from_str(&made.json)?,
        Err(message) => return Ok(Err(message)),
    };
    let task_id = made["task_id"].as_i64().unwrap_or_default();
    let labels: Vec<LabelInfo> = serde_json::from_value(made["labels"].clone())?;
    let mut files = Vec::with_capacity(media.len());
    for (name, path, size) in media {
        let bytes = tokio::fs::read(path).await?;
        blobs.put(&keys::upload(task_id, name), bytes.into()).await?;
        files.push(UploadedFile { name: name.clone(), size: *size as i64, key: String::new() });
    }
    let request =
        RestoreDataRequest { request_id: head.request_id.clone(), task_id, files, data_json: data.to_string() };
    let processing = match refused(task.clone().restore_data(request).await)? {
        Ok(processing) => processing,
        Err(message) => return Ok(Err(message)),
    };
    media::process_task_data(processing, sources, task.clone()).await?;
    Ok(Ok((task_id, labels)))
}

/// A dataset into a project: a task per subset, its images as data, then the subset's
/// annotations read against the new task and saved to it.
async fn import_dataset(
    request_id: &str,
    format: ImportFormat,
    archive: &Path,
    media_dir: &Path,
    sources: media::Sources<'_>,
    task: &TaskApi,
) -> Step<()> {
    let path = archive.to_path_buf();
    let subsets = match read_archive(move || cvat_formats::dataset_subsets(format, &path)).await? {
        Ok(subsets) => subsets,
        Err(message) => return Ok(Err(message)),
    };
    let count = subsets.len();
    for (slot, subset) in subsets.into_iter().enumerate() {
        let head = head(request_id, slot, slot + 1 == count);
        let (path, dir) = (archive.to_path_buf(), media_dir.join(slot.to_string()));
        let images = subset.images.clone();
        let media = match read_archive(move || extract(&path, &images, &dir)).await? {
            Ok(media) => media,
            Err(message) => return Ok(Err(message)),
        };
        let task_json = serde_json::json!({"name": subset.name, "subset": subset.name, "version": "1.0"});
        let data = serde_json::json!({"image_quality": 70});
        let made = make_task(&head, task_json.to_string().into_bytes(), &media, &data, sources.clone(), task).await?;
        if let Err(message) = made {
            return Ok(Err(message));
        }
        let source: ExportSource = match refused(task.clone().get_restored_source(head.clone()).await)? {
            Ok(source) => serde_json::from_str(&source.json)?,
            Err(message) => return Ok(Err(message)),
        };
        let (path, name) = (archive.to_path_buf(), subset.name.clone());
        let read = move || cvat_formats::read_subset(format, &path, &source, &name);
        let document = match read_archive(read).await? {
            Ok(document) => document,
            Err(message) => return Ok(Err(message)),
        };
        task.clone().complete_restore(document_parts(&head, &serde_json::to_vec(&document)?)).await?;
        let _ = std::fs::remove_dir_all(media_dir.join(slot.to_string()));
    }
    Ok(Ok(()))
}

/// The `images` (archive member, file name) extracted into `dir`: (file name, path, size).
fn extract(path: &Path, images: &[(String, String)], dir: &Path) -> Result<Vec<(String, PathBuf, u64)>, ImportError> {
    let mut archive = zip::ZipArchive::new(std::io::BufReader::new(std::fs::File::open(path)?))?;
    std::fs::create_dir_all(dir)?;
    let mut media = Vec::with_capacity(images.len());
    for (index, (member, name)) in images.iter().enumerate() {
        if !keys::valid_file_name(name) {
            return Err(ImportError::invalid(format!("The dataset's file {member} has a name that cannot be used")));
        }
        let mut entry = archive.by_name(member)?;
        let target = dir.join(index.to_string());
        let size = std::io::copy(&mut (&mut entry).take(1 << 32), &mut std::fs::File::create(&target)?)?;
        media.push((name.clone(), target, size));
    }
    Ok(media)
}

/// A project backup has `project.json` and its tasks in `task_<n>/` folders; a task
/// backup has `task.json` at its root.
fn read_layout(path: &Path) -> Result<Layout, ImportError> {
    let archive = zip::ZipArchive::new(std::io::BufReader::new(std::fs::File::open(path)?))?;
    let names: Vec<&str> = archive.file_names().collect();
    if !names.contains(&"project.json") {
        return Ok(Layout { project_json: None, tasks: vec![String::new()] });
    }
    let mut numbers: Vec<u32> =
        names.iter().filter_map(|n| n.strip_prefix("task_")?.strip_suffix("/task.json")?.parse().ok()).collect();
    numbers.sort_unstable();
    drop(names);
    let mut archive = archive;
    let mut project_json = Vec::new();
    archive.by_name("project.json")?.take(1 << 30).read_to_end(&mut project_json)?;
    Ok(Layout { project_json: Some(project_json), tasks: numbers.iter().map(|n| format!("task_{n}/")).collect() })
}

/// Reads `task.json`, `annotations.json` and the media under `data/` of the task in
/// `folder` (extracted into `dir`); a file that is missing or broken is the backup's
/// fault.
fn read_task_backup(path: &Path, folder: &str, dir: &Path) -> Result<TaskBackup, ImportError> {
    let mut archive = zip::ZipArchive::new(std::io::BufReader::new(std::fs::File::open(path)?))?;
    let mut read = |name: &str| -> Result<Vec<u8>, ImportError> {
        let name = format!("{folder}{name}");
        let mut entry =
            archive.by_name(&name).map_err(|_| ImportError::invalid(format!("The backup has no {name}")))?;
        let mut bytes = Vec::new();
        (&mut entry).take(1 << 30).read_to_end(&mut bytes)?;
        Ok(bytes)
    };
    let task_json = read("task.json")?;
    let documents: Vec<Value> = serde_json::from_slice(&read("annotations.json")?)
        .map_err(|e| ImportError::invalid(format!("{folder}annotations.json is not a list of documents: {e}")))?;
    let data = serde_json::from_slice::<Value>(&task_json).map(|t| t["data"].clone()).unwrap_or_default();
    std::fs::create_dir_all(dir)?;
    let media_folder = format!("{folder}data/");
    let mut media = Vec::new();
    for index in 0..archive.len() {
        let mut entry = archive.by_index(index)?;
        let Some(name) = entry.name().strip_prefix(media_folder.as_str()).map(str::to_string) else { continue };
        if entry.is_dir() || name.is_empty() || matches!(name.as_str(), "manifest.jsonl" | "index.json") {
            continue;
        }
        if !keys::valid_file_name(&name) {
            return Err(ImportError::invalid(format!(
                "The backup's file {media_folder}{name} has a name that cannot be used"
            )));
        }
        let target = dir.join(format!("{index}"));
        let size = std::io::copy(&mut (&mut entry).take(1 << 32), &mut std::fs::File::create(&target)?)?;
        media.push((name, target, size));
    }
    if media.is_empty() {
        return Err(ImportError::invalid(format!("The backup has no media under {media_folder}")));
    }
    Ok(TaskBackup { task_json, data, documents, media })
}
