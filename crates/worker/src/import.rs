//! The export pool's other work: an uploaded annotation file read into a document
//! (`cvat-formats`) and handed to the task service, which saves it as the user who asked.
//! A file that cannot be read fails the request at once with the reason (retrying cannot
//! help); only outages are retried. The uploaded pieces are deleted once read.

use crate::media::LocalFile;
use crate::TaskApi;
use cvat_blob::BlobStore;
use cvat_formats::{ExportSource, ImportError, ImportFormat, LineSink, Masks};
use cvat_proto::queue::ImportAnnotations;
use cvat_proto::task::{DataFailure, ImportPart, RequestRef};
use futures_util::StreamExt;
use std::io::Write;
use std::sync::Arc;
use tokio::io::AsyncWriteExt;

#[derive(serde::Deserialize)]
struct Import {
    source: ExportSource,
    format: String,
    parts: Vec<String>,
    #[serde(default)]
    cloud: Option<CloudFile>,
    /// CVAT's `conv_mask_to_poly`.
    #[serde(default)]
    conv_mask_to_poly: bool,
}

/// A file in a user's cloud storage, as requests name it.
#[derive(serde::Deserialize, Debug, Clone)]
pub(crate) struct CloudFile {
    pub storage_id: i64,
    pub key: String,
}

impl CloudFile {
    /// Its key in the bucket: below the storage's prefix unless it names it already.
    pub fn key_in(&self, prefix: &str) -> String {
        match prefix {
            "" => self.key.clone(),
            _ if self.key.starts_with(prefix) => self.key.clone(),
            _ if prefix.ends_with('/') => format!("{prefix}{}", self.key),
            _ => format!("{prefix}/{}", self.key),
        }
    }
}

/// A request's input as a local file: its uploaded pieces, or its object in a cloud
/// storage. A cloud object that cannot be read is the request's fault (`Ok(Err(reason))`).
pub(crate) async fn fetch_input(
    blobs: &dyn BlobStore,
    parts: &[String],
    cloud: Option<&CloudFile>,
    fetcher: &cvat_fetch::Fetcher,
    task: &TaskApi,
    what: &str,
) -> anyhow::Result<Result<LocalFile, String>> {
    let Some(cloud) = cloud else { return Ok(Ok(spool(blobs, parts, what).await?)) };
    let (store, prefix) = match crate::media::open_bucket(cloud.storage_id, fetcher, task).await {
        Ok(bucket) => bucket,
        Err(crate::media::Failure::Data(reason)) => return Ok(Err(reason)),
        Err(crate::media::Failure::Retry(err)) => return Err(err),
    };
    let key = cloud.key_in(&prefix);
    let unreadable = |err: cvat_blob::BlobError| format!("{key} cannot be read from the cloud storage: {err}");
    let file = LocalFile::temporary(std::env::temp_dir().join(format!("cvat-{what}-{}", uuid::Uuid::new_v4())));
    let mut out = tokio::io::BufWriter::new(tokio::fs::File::create(&file.path).await?);
    let mut pieces = match store.get_stream(&key).await {
        Ok(pieces) => pieces,
        Err(err) => return Ok(Err(unreadable(err))),
    };
    while let Some(piece) = pieces.next().await {
        match piece {
            Ok(piece) => out.write_all(&piece).await?,
            Err(err) => return Ok(Err(unreadable(err))),
        }
    }
    out.flush().await?;
    Ok(Ok(file))
}

/// Bytes per part of a document sent back: far below gRPC's message limit.
const PART_BYTES: usize = 1 << 20;

/// The stored pieces of an uploaded file, joined into a temporary file.
pub(crate) async fn spool(blobs: &dyn BlobStore, keys: &[String], what: &str) -> anyhow::Result<LocalFile> {
    let file = LocalFile::temporary(std::env::temp_dir().join(format!("cvat-{what}-{}", uuid::Uuid::new_v4())));
    let mut out = tokio::io::BufWriter::new(tokio::fs::File::create(&file.path).await?);
    for key in keys {
        let mut pieces = blobs.get_stream(key).await?;
        while let Some(piece) = pieces.next().await {
            out.write_all(&piece?).await?;
        }
    }
    out.flush().await?;
    Ok(file)
}

/// A document for the task service as the parts of a streamed call, each a copy of
/// `head` (the request, and for restores the task's place) with a piece of `body`.
pub(crate) fn document_parts(head: &ImportPart, body: &[u8]) -> impl futures_util::Stream<Item = ImportPart> {
    let parts: Vec<ImportPart> =
        body.chunks(PART_BYTES).map(|piece| ImportPart { json: piece.to_vec(), ..head.clone() }).collect();
    futures_util::stream::iter(parts)
}

/// A file as the parts of a streamed call, each a copy of `head` with a piece of it;
/// the last part, marked so, comes after its end (a stream cut short is not whole).
async fn file_parts(
    head: ImportPart,
    path: std::path::PathBuf,
) -> std::io::Result<impl futures_util::Stream<Item = ImportPart>> {
    let last = ImportPart { last: true, ..head.clone() };
    let parts = crate::media::file_pieces(path, PART_BYTES)
        .await?
        .map(move |piece| piece.map(|json| ImportPart { json, ..head.clone() }))
        .chain(futures_util::stream::once(async { Ok(last) }))
        .inspect(|part| {
            if let Err(err) = part {
                tracing::warn!(error = %err, "an import's objects could not be read back");
            }
        })
        // A read error ends the stream without the last part: the task service refuses it.
        .take_while(|part| std::future::ready(part.is_ok()))
        .filter_map(|part| std::future::ready(part.ok()));
    Ok(parts)
}

pub async fn import_annotations(
    work: ImportAnnotations,
    blobs: Arc<dyn BlobStore>,
    fetcher: &cvat_fetch::Fetcher,
    task: TaskApi,
) -> anyhow::Result<()> {
    let request = RequestRef { rq_id: work.request_id.clone() };
    let import: Import = match task.clone().get_import_source(request).await {
        Ok(answer) => serde_json::from_str(&answer.into_inner().json)?,
        // Cancelled, or done by an earlier delivery.
        Err(status) if status.code() == tonic::Code::NotFound => return Ok(()),
        Err(status) => return Err(status.into()),
    };
    let fail = |message: String| DataFailure { request_id: work.request_id.clone(), message };
    let file = match fetch_input(blobs.as_ref(), &import.parts, import.cloud.as_ref(), fetcher, &task, "import").await?
    {
        Ok(file) => file,
        Err(reason) => {
            task.clone().fail_data(fail(reason)).await?;
            return Ok(());
        }
    };
    let Some(format) = ImportFormat::importer(&import.format) else {
        task.clone().fail_data(fail(format!("Unknown import format {:?}", import.format))).await?;
        return Ok(());
    };
    // The objects go to a file as they are read, and from it to the task service.
    let objects = LocalFile::temporary(std::env::temp_dir().join(format!("cvat-objects-{}", uuid::Uuid::new_v4())));
    let (path, objects_path) = (file.path.clone(), objects.path.clone());
    let source = import.source;
    let masks = if import.conv_mask_to_poly { Masks::Trace } else { Masks::Keep };
    let read = tokio::task::spawn_blocking(move || -> Result<(), ImportError> {
        let mut sink = LineSink::new(std::io::BufWriter::new(std::fs::File::create(objects_path)?));
        cvat_formats::read_annotations(format, &path, &source, masks, &mut sink)?;
        Ok(sink.into_inner().flush()?)
    })
    .await?;
    drop(file);
    match read {
        Ok(()) => {
            let head = ImportPart { request_id: work.request_id.clone(), ..Default::default() };
            task.clone().complete_import(file_parts(head, objects.path.clone()).await?).await?;
        }
        Err(ImportError::Invalid(message)) => {
            task.clone().fail_data(fail(message)).await?;
        }
        Err(other) => return Err(other.into()),
    }
    for key in &import.parts {
        if let Err(err) = blobs.delete(key).await {
            tracing::warn!(error = %err, key, "an imported file's piece was not deleted");
        }
    }
    Ok(())
}
