//! The export pool's work: an export request's archive, written as the format lays it
//! out and stored in the object store. The task service says what to export (a line of
//! source, then the annotations one object per line); the answer is spooled to a
//! temporary file and indexed there (`cvat_formats::Annotations`: tracks in memory,
//! tags and shapes read back a frame at a time), the archive is written to another file
//! on a blocking thread, and uploaded in a streamed (multipart) write.
//!
//! With `save_images`, the original images are copied from their chunks one at a time.

use crate::import::CloudFile;
use crate::media::Failure;
use crate::media::LocalFile;
use crate::TaskApi;
use cvat_blob::{BlobError, BlobStore, ByteStream};
use cvat_formats::{Annotations, ExportSource};
use cvat_proto::queue::ExportDataset;
use cvat_proto::task::{DataFailure, ExportDone, RequestRef};
use futures_util::StreamExt;
use std::io::{BufRead, Write};
use std::sync::Arc;

/// The first line of the task service's answer.
#[derive(serde::Deserialize)]
struct Export {
    source: ExportSource,
    /// Where the archive goes instead of this server's store.
    #[serde(default)]
    cloud: Option<CloudFile>,
}

pub async fn export_dataset(
    work: ExportDataset,
    blobs: Arc<dyn BlobStore>,
    fetcher: &cvat_fetch::Fetcher,
    task: TaskApi,
) -> anyhow::Result<()> {
    let request = RequestRef { rq_id: work.request_id.clone() };
    let mut parts = match task.clone().get_export_source(request).await {
        Ok(answer) => answer.into_inner(),
        // Cancelled, or finished by an earlier delivery: nothing left to do.
        Err(status) if status.code() == tonic::Code::NotFound => return Ok(()),
        Err(status) => return Err(status.into()),
    };
    let temporary = |what: &str| {
        LocalFile::temporary(std::env::temp_dir().join(format!("cvat-export-{what}-{}", uuid::Uuid::new_v4())))
    };
    let document = temporary("document");
    {
        let mut out = std::io::BufWriter::new(std::fs::File::create(&document.path)?);
        while let Some(part) = parts.message().await? {
            out.write_all(&part.json)?;
        }
        out.flush()?;
    }
    let archive = temporary("archive");
    let (document_path, archive_path) = (document.path.clone(), archive.path.clone());
    let runtime = tokio::runtime::Handle::current();
    let store = blobs.clone();
    let key = tokio::task::spawn_blocking(move || -> anyhow::Result<(String, Option<CloudFile>)> {
        let spool = std::fs::File::open(&document_path)?;
        let mut lines = std::io::BufReader::with_capacity(1 << 20, std::fs::File::open(&document_path)?);
        let mut head = Vec::new();
        lines.read_until(b'\n', &mut head)?;
        let export: Export = serde_json::from_slice(&head)?;
        let annotations = Annotations::index(Box::new(spool), lines, head.len() as u64)?;
        let mut zip = zip::ZipWriter::new(std::io::BufWriter::new(std::fs::File::create(archive_path)?));
        let places = cvat_formats::write_annotations(&export.source, &annotations, &mut zip)?;
        // One image at a time, read from its chunk as the archive is written.
        for (frame, paths) in export.source.frames.iter().zip(places) {
            let Some(image) = &frame.image else { continue };
            if paths.is_empty() {
                continue;
            }
            let bytes = runtime.block_on(store.get_range(&image.key, image.offset, image.length))?;
            for path in paths {
                cvat_formats::write_image(&mut zip, &path, &bytes)?;
            }
        }
        zip.finish()?.flush()?;
        Ok((export.source.result_key, export.cloud))
    })
    .await??;
    drop(document);
    let (key, cloud) = key;
    let key = match cloud {
        None => {
            blobs.put_stream(&key, file_stream(archive.path.clone()).await?).await?;
            key
        }
        Some(cloud) => {
            // The user's bucket: what it refuses is the request's failure, not a retry.
            let written = match crate::media::open_bucket(cloud.storage_id, fetcher, &task).await {
                Ok((store, prefix)) => {
                    let key = cloud.key_in(&prefix);
                    let stream = file_stream(archive.path.clone()).await?;
                    store
                        .put_stream(&key, stream)
                        .await
                        .map_err(|e| format!("{key} cannot be written to the cloud storage: {e}"))
                }
                Err(Failure::Data(reason)) => Err(reason),
                Err(Failure::Retry(err)) => return Err(err),
            };
            if let Err(message) = written {
                task.clone().fail_data(DataFailure { request_id: work.request_id, message }).await?;
                return Ok(());
            }
            String::new()
        }
    };
    task.clone().complete_export(ExportDone { request_id: work.request_id, key }).await?;
    Ok(())
}

/// A local file as a stream of pieces for a streamed upload.
async fn file_stream(path: std::path::PathBuf) -> std::io::Result<ByteStream> {
    const PIECE: usize = 8 << 20;
    let pieces = crate::media::file_pieces(path, PIECE).await?;
    Ok(pieces.map(|piece| piece.map(bytes::Bytes::from).map_err(BlobError::Io)).boxed())
}

/// An events export: the CSV the task service streams, spooled and stored.
pub async fn export_events(
    work: cvat_proto::queue::ExportEvents,
    blobs: Arc<dyn BlobStore>,
    task: TaskApi,
) -> anyhow::Result<()> {
    let request = RequestRef { rq_id: work.request_id.clone() };
    let mut parts = match task.clone().get_events_source(request).await {
        Ok(answer) => answer.into_inner(),
        Err(status) if status.code() == tonic::Code::NotFound => return Ok(()),
        Err(status) => return Err(status.into()),
    };
    let csv = LocalFile::temporary(std::env::temp_dir().join(format!("cvat-events-{}", uuid::Uuid::new_v4())));
    {
        let mut out = std::io::BufWriter::new(std::fs::File::create(&csv.path)?);
        while let Some(part) = parts.message().await? {
            out.write_all(&part.json)?;
        }
        out.flush()?;
    }
    let key = cvat_blob::keys::events_export(&work.request_id);
    blobs.put_stream(&key, file_stream(csv.path.clone()).await?).await?;
    task.clone().complete_export(ExportDone { request_id: work.request_id, key }).await?;
    Ok(())
}
