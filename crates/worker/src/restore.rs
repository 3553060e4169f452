//! Restoring a task backup (the export pool): the archive is spooled, `task.json` makes
//! the task (through the task service, as the user who sent it), the media under
//! `data/` are stored as the task's uploads and processed here like any upload, and the
//! jobs' documents of `annotations.json` are saved with the new task's ids. A backup
//! that cannot be used fails the request with the reason, and the task service removes
//! what was made of it.

use crate::import::{document_parts, spool};
use crate::media;
use crate::TaskApi;
use cvat_blob::keys;
use cvat_formats::{ImportError, LabelInfo};
use cvat_proto::queue::RestoreBackup;
use cvat_proto::task::{DataFailure, ImportPart, RequestRef, RestoreDataRequest, UploadedFile};
use serde_json::Value;
use std::io::Read;

/// What the archive holds: `task.json`, the jobs' documents, and its media files
/// (extracted to a temporary directory, in archive order).
struct Backup {
    task_json: Vec<u8>,
    /// The `data` object of `task.json` (image quality, chunk size).
    data: Value,
    documents: Vec<Value>,
    media: Vec<(String, std::path::PathBuf, u64)>,
}

pub async fn restore_backup(work: RestoreBackup, sources: media::Sources<'_>, task: TaskApi) -> anyhow::Result<()> {
    let request_id = work.request_id;
    let blobs = sources.blobs.clone();
    let parts: Vec<String> = match task.clone().get_import_source(RequestRef { rq_id: request_id.clone() }).await {
        Ok(answer) => {
            let source: Value = serde_json::from_str(&answer.into_inner().json)?;
            serde_json::from_value(source["parts"].clone())?
        }
        Err(status) if status.code() == tonic::Code::NotFound => return Ok(()),
        Err(status) => return Err(status.into()),
    };
    let archive = spool(blobs.as_ref(), &parts, "restore").await?;
    let media_dir = std::env::temp_dir().join(format!("cvat-restore-media-{}", uuid::Uuid::new_v4()));
    let fail = |message: String| DataFailure { request_id: request_id.clone(), message };
    let (path, dir) = (archive.path.clone(), media_dir.clone());
    let outcome = tokio::task::spawn_blocking(move || read_backup(&path, &dir)).await?;
    let result = async {
        let backup = match outcome {
            Ok(backup) => backup,
            Err(ImportError::Invalid(message)) => return Ok::<_, anyhow::Error>(Some(message)),
            Err(other) => return Err(other.into()),
        };
        let call = ImportPart { request_id: request_id.clone(), json: backup.task_json };
        let made = match task.clone().restore_task(call).await {
            Ok(made) => made.into_inner().json,
            Err(status) if status.code() == tonic::Code::InvalidArgument => return Ok(Some(status.message().into())),
            Err(status) => return Err(status.into()),
        };
        let made: Value = serde_json::from_str(&made)?;
        let task_id = made["task_id"].as_i64().unwrap_or_default();
        let labels: Vec<LabelInfo> = serde_json::from_value(made["labels"].clone())?;
        let mut files = Vec::with_capacity(backup.media.len());
        for (name, path, size) in &backup.media {
            let bytes = tokio::fs::read(path).await?;
            blobs.put(&keys::upload(task_id, name), bytes.into()).await?;
            files.push(UploadedFile { name: name.clone(), size: *size as i64, key: String::new() });
        }
        let request =
            RestoreDataRequest { request_id: request_id.clone(), task_id, files, data_json: backup.data.to_string() };
        let processing = match task.clone().restore_data(request).await {
            Ok(processing) => processing.into_inner(),
            Err(status) if status.code() == tonic::Code::InvalidArgument => return Ok(Some(status.message().into())),
            Err(status) => return Err(status.into()),
        };
        media::process_task_data(processing, sources, task.clone()).await?;
        let documents = match cvat_formats::documents_with_ids(backup.documents, &labels) {
            Ok(documents) => documents,
            Err(err) => return Ok(Some(err.to_string())),
        };
        let body = serde_json::to_vec(&documents)?;
        task.clone().complete_restore(document_parts(&request_id, &body)).await?;
        Ok(None)
    }
    .await;
    let _ = std::fs::remove_dir_all(&media_dir);
    match result? {
        Some(message) => {
            task.clone().fail_data(fail(message)).await?;
        }
        None => {
            for key in &parts {
                if let Err(err) = blobs.delete(key).await {
                    tracing::warn!(error = %err, key, "a restored backup's piece was not deleted");
                }
            }
        }
    }
    Ok(())
}

/// Reads `task.json`, `annotations.json` and the media under `data/` (extracted into
/// `dir`); a file that is missing or broken is the backup's fault.
fn read_backup(path: &std::path::Path, dir: &std::path::Path) -> Result<Backup, ImportError> {
    let mut archive = zip::ZipArchive::new(std::io::BufReader::new(std::fs::File::open(path)?))?;
    let mut read = |name: &str| -> Result<Vec<u8>, ImportError> {
        let mut entry = archive.by_name(name).map_err(|_| ImportError::invalid(format!("The backup has no {name}")))?;
        let mut bytes = Vec::new();
        (&mut entry).take(1 << 30).read_to_end(&mut bytes)?;
        Ok(bytes)
    };
    let task_json = read("task.json")?;
    let documents: Vec<Value> = serde_json::from_slice(&read("annotations.json")?)
        .map_err(|e| ImportError::invalid(format!("annotations.json is not a list of documents: {e}")))?;
    let data = serde_json::from_slice::<Value>(&task_json).map(|t| t["data"].clone()).unwrap_or_default();
    std::fs::create_dir_all(dir)?;
    let mut media = Vec::new();
    for index in 0..archive.len() {
        let mut entry = archive.by_index(index)?;
        let Some(name) = entry.name().strip_prefix("data/").map(str::to_string) else { continue };
        if entry.is_dir() || name.is_empty() || matches!(name.as_str(), "manifest.jsonl" | "index.json") {
            continue;
        }
        if !keys::valid_file_name(&name) {
            return Err(ImportError::invalid(format!("The backup's file data/{name} has a name that cannot be used")));
        }
        let target = dir.join(format!("{index}"));
        let size = std::io::copy(&mut (&mut entry).take(1 << 32), &mut std::fs::File::create(&target)?)?;
        media.push((name, target, size));
    }
    if media.is_empty() {
        return Err(ImportError::invalid("The backup has no media under data/"));
    }
    Ok(Backup { task_json, data, documents, media })
}
