//! Task data processing in a media worker: the uploaded images of a task become frames,
//! chunk archives of both qualities and a preview in the blob store, then the task
//! service is told the frames. Every write is keyed by task and chunk number, so a job
//! handled twice (redelivery after a worker died) writes the same blobs again.

use crate::video;
use crate::TaskApi;
use bytes::Bytes;
use cvat_blob::share::Share;
use cvat_blob::{keys, BlobStore};
use cvat_codecs::archive::{ArchiveLimits, ImageArchive};
use cvat_codecs::{Frame, MediaError, MemberRange};
use cvat_proto::queue::ProcessTaskData;
use cvat_proto::task::{DataFailure, DataProgress, DataResult, FrameMeta};
use futures_util::stream::{self, StreamExt};
use std::sync::Arc;

/// What went wrong: the data itself (the request fails with the message, no retry) or
/// the infrastructure (the job is retried).
pub(crate) enum Failure {
    Data(String),
    Retry(anyhow::Error),
}

impl From<anyhow::Error> for Failure {
    fn from(err: anyhow::Error) -> Self {
        Failure::Retry(err)
    }
}

/// Where task data comes from besides the uploads.
#[derive(Clone)]
pub(crate) struct Sources<'a> {
    pub blobs: Arc<dyn BlobStore>,
    pub share: Share,
    pub fetcher: &'a cvat_fetch::Fetcher,
}

pub(crate) async fn process_task_data(job: ProcessTaskData, sources: Sources<'_>, task: TaskApi) -> anyhow::Result<()> {
    let request_id = job.request_id.clone();
    let outcome = match download_remote(&job, &sources).await {
        Ok(()) => build(&job, &sources, &task).await,
        Err(failure) => Err(failure),
    };
    match outcome {
        Ok(result) => match task.clone().complete_data(stream::iter(result_parts(result))).await {
            // The request was cancelled meanwhile: nothing to record.
            Err(status) if status.code() == tonic::Code::NotFound => {
                tracing::info!(request = %request_id, "request gone; result dropped");
                Ok(())
            }
            other => other.map(|_| ()).map_err(Into::into),
        },
        Err(Failure::Data(message)) => {
            tracing::info!(request = %request_id, %message, "task data refused");
            task.clone().fail_data(DataFailure { request_id, message }).await?;
            Ok(())
        }
        Err(Failure::Retry(err)) => Err(err),
    }
}

/// Frames per message of a data result: a message stays far below gRPC's 4 MiB limit
/// however long a frame's name is (names are at most a few hundred bytes).
const FRAMES_PER_PART: usize = 5_000;

/// A data result as the messages of `CompleteData`: the frames in parts, each part
/// carrying the request, task, chunk size and kind.
fn result_parts(mut result: DataResult) -> Vec<DataResult> {
    let mut frames = std::mem::take(&mut result.frames);
    let mut parts = Vec::with_capacity(frames.len() / FRAMES_PER_PART + 1);
    while frames.len() > FRAMES_PER_PART {
        let rest = frames.split_off(FRAMES_PER_PART);
        parts.push(DataResult { frames, ..result.clone() });
        frames = rest;
    }
    parts.push(DataResult { frames, ..result });
    parts
}

/// An image file as a frame: compressed at `quality`, or (`None`: chunks built on first
/// request) its original only, read from the header.
async fn decode(name: String, bytes: Vec<u8>, quality: Option<u8>) -> Result<Frame, Failure> {
    // Decoding and encoding are CPU work: off the async threads.
    tokio::task::spawn_blocking(move || match quality {
        Some(quality) => cvat_codecs::process_image(&name, bytes, quality),
        None => cvat_codecs::original_frame(&name, bytes),
    })
    .await
    .map_err(|e| Failure::Retry(e.into()))?
    .map_err(|e: MediaError| Failure::Data(e.to_string()))
}

/// A file on this machine that a decoder reads: a temporary copy (removed when
/// dropped) or a file of the share (left alone).
pub(crate) struct LocalFile {
    pub path: std::path::PathBuf,
    temporary: bool,
}

impl LocalFile {
    pub(crate) fn temporary(path: std::path::PathBuf) -> Self {
        Self { path, temporary: true }
    }
}

impl Drop for LocalFile {
    fn drop(&mut self) {
        if self.temporary {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// A local file as pieces of at most `piece_bytes`, each read when it is taken.
pub(crate) async fn file_pieces(
    path: std::path::PathBuf,
    piece_bytes: usize,
) -> std::io::Result<impl futures_util::Stream<Item = std::io::Result<Vec<u8>>>> {
    use tokio::io::AsyncReadExt;
    let file = tokio::fs::File::open(path).await?;
    Ok(futures_util::stream::try_unfold(file, move |mut file| async move {
        let mut piece = Vec::with_capacity(piece_bytes);
        (&mut file).take(piece_bytes as u64).read_to_end(&mut piece).await?;
        Ok((!piece.is_empty()).then_some((piece, file)))
    }))
}

/// The blobs of an uploaded file: one, or the pieces of a resumable upload in order.
fn upload_keys(job: &ProcessTaskData, name: &str) -> Vec<String> {
    match job.parts.get(name) {
        Some(parts) => parts.keys.clone(),
        None => vec![keys::upload(job.task_id, name)],
    }
}

/// A file that is missing or whose name cannot be a key (a hostile bucket key, say) is
/// the data's fault; anything else is retried.
fn read_failure(err: cvat_blob::BlobError, name: &str) -> Failure {
    match err {
        cvat_blob::BlobError::NotFound(_) => {
            Failure::Data(format!("file {name} was not received; upload the data again"))
        }
        cvat_blob::BlobError::InvalidKey(_) => Failure::Data(format!("file {name:?} cannot be read: not a plain path")),
        other => Failure::Retry(other.into()),
    }
}

/// Copies a file made of `keys` (in order) to a temporary file, piece by piece.
async fn spool(store: &dyn BlobStore, keys: Vec<String>, task_id: i64, name: &str) -> Result<LocalFile, Failure> {
    use tokio::io::AsyncWriteExt;
    let file = LocalFile::temporary(std::env::temp_dir().join(format!("cvat-{task_id}-{}", uuid::Uuid::new_v4())));
    let mut out = tokio::fs::File::create(&file.path).await.map_err(|e| Failure::Retry(e.into()))?;
    for key in keys {
        let mut stream = match store.get_stream(&key).await {
            Ok(stream) => stream,
            Err(err) => return Err(read_failure(err, name)),
        };
        while let Some(piece) = stream.next().await {
            let piece = piece.map_err(|e| Failure::Retry(e.into()))?;
            out.write_all(&piece).await.map_err(|e| Failure::Retry(e.into()))?;
        }
    }
    out.flush().await.map_err(|e| Failure::Retry(e.into()))?;
    Ok(file)
}

/// A whole file made of `keys` (in order).
async fn fetch(store: &dyn BlobStore, keys: Vec<String>, name: &str) -> Result<Vec<u8>, Failure> {
    let mut out = Vec::new();
    for key in keys {
        match store.get(&key).await {
            Ok(bytes) => out.extend_from_slice(&bytes),
            Err(err) => return Err(read_failure(err, name)),
        }
    }
    Ok(out)
}

/// Downloads `remote_files` into the task's uploads, streaming; a URL that cannot be
/// fetched (refused address, error status, too large, too slow) fails the request.
async fn download_remote(job: &ProcessTaskData, sources: &Sources<'_>) -> Result<(), Failure> {
    /// Downloads at a time: remote servers are usually slower than our own store.
    const PARALLEL: usize = 4;
    let download = |(name, url): (String, String)| async move {
        let body = sources.fetcher.get(&url).await.map_err(|e| Failure::Data(e.to_string()))?;
        // The download's own errors (size, time) come back as `Refused`: the data's fault.
        let stream = body.map(|piece| piece.map_err(|e| cvat_blob::BlobError::Refused(e.to_string()))).boxed();
        match sources.blobs.put_stream(&keys::upload(job.task_id, &name), stream).await {
            Ok(_) => Ok(()),
            Err(cvat_blob::BlobError::Refused(reason)) => Err(Failure::Data(reason)),
            Err(err) => Err(Failure::Retry(err.into())),
        }
    };
    let mut downloads = stream::iter(job.remote_urls.clone()).map(download).buffer_unordered(PARALLEL);
    while let Some(done) = downloads.next().await {
        done?;
    }
    Ok(())
}

/// Inflates a spooled `.tar.gz` into a plain tar beside it (members are read by seeking).
async fn gunzip(file: LocalFile, name: &str) -> Result<LocalFile, Failure> {
    let name = name.to_string();
    tokio::task::spawn_blocking(move || {
        let plain = LocalFile::temporary(file.path.with_extension("tar"));
        let input = std::io::BufReader::new(std::fs::File::open(&file.path).map_err(|e| Failure::Retry(e.into()))?);
        let output = std::fs::File::create(&plain.path).map_err(|e| Failure::Retry(e.into()))?;
        let mut output = std::io::BufWriter::new(output);
        let limit = ArchiveLimits::default().max_total_bytes;
        cvat_codecs::archive::inflate_gzip(&name, input, &mut output, limit)
            .map_err(|e| Failure::Data(e.to_string()))?;
        std::io::Write::flush(&mut output).map_err(|e| Failure::Retry(e.into()))?;
        Ok(plain)
    })
    .await
    .map_err(|e| Failure::Retry(e.into()))?
}

/// The frames among the images of an archive or the share, ordered and selected as the
/// request says.
fn select_frames(job: &ProcessTaskData, names: Vec<String>, source: &str) -> Result<Vec<String>, Failure> {
    if names.is_empty() {
        return Err(Failure::Data(format!("No media data found in {source}")));
    }
    let ordered = cvat_codecs::order::sort_files(names, &job.sorting_method, &job.upload_order, &job.request_id)
        .map_err(Failure::Data)?;
    let range = cvat_segments::frame_range(
        ordered.len() as u64,
        job.start_frame.max(0) as u64,
        job.stop_frame.map(|s| s.max(0) as u64),
        job.frame_step.max(1) as u32,
    )
    .map_err(|e| Failure::Data(e.to_string()))?;
    Ok((0..range.size).map(|k| ordered[range.source_frame(k) as usize].clone()).collect())
}

/// Source files read at a time while data is processed (four times as many when only
/// their headers are read: nothing waits on decoding then).
const FETCHES_IN_FLIGHT: usize = 16;

async fn read_share(share: Share, name: String) -> Result<Vec<u8>, Failure> {
    tokio::task::spawn_blocking(move || share.read(&name))
        .await
        .map_err(|e| Failure::Retry(e.into()))?
        .map_err(|e| Failure::Data(e.to_string()))
}

/// Decoded frames with their names, in frame order.
pub(crate) type FrameStream<'a> = futures_util::stream::BoxStream<'a, Result<(String, Frame), Failure>>;

/// The bucket of a cloud storage and the keys the request names in it.
struct CloudFiles {
    store: cvat_blob::S3Store,
    keys: Vec<String>,
}

/// How long one request to a user's bucket may take.
const BUCKET_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(60);

/// A cloud storage's bucket (after its endpoint passed the network policy) and the
/// storage's prefix: what data processing reads and exports write.
pub(crate) async fn open_bucket(
    cloud_storage_id: i64,
    fetcher: &cvat_fetch::Fetcher,
    task: &TaskApi,
) -> Result<(cvat_blob::S3Store, String), Failure> {
    let query = cvat_proto::task::CloudAccessQuery { cloud_storage_id };
    let access = match task.clone().get_cloud_access(query).await {
        Ok(access) => access.into_inner(),
        Err(status) if status.code() == tonic::Code::NotFound => {
            return Err(Failure::Data(format!("cloud storage {cloud_storage_id} no longer exists")))
        }
        // Its endpoint is refused now, or its settings no longer parse: the data's fault.
        Err(status) if status.code() == tonic::Code::InvalidArgument => {
            let reason = cvat_error::ApiError::from_status(&status).body.to_string();
            return Err(Failure::Data(format!("cloud storage {cloud_storage_id} cannot be used: {reason}")));
        }
        Err(status) => return Err(Failure::Retry(status.into())),
    };
    if !access.endpoint.is_empty() {
        fetcher.policy().check_endpoint(&access.endpoint).await.map_err(|e| Failure::Data(e.to_string()))?;
    }
    let signed = !access.access_key.is_empty();
    let keys = signed.then(|| cvat_blob::S3Keys {
        access_key: access.access_key,
        secret_key: access.secret_key,
        session_token: Some(access.session_token).filter(|t| !t.is_empty()),
    });
    if let Some(field) = keys.as_ref().and_then(cvat_blob::S3Keys::unusable_field) {
        return Err(Failure::Data(format!(
            "cloud storage {cloud_storage_id} cannot be used: its {field} is not plain ASCII"
        )));
    }
    let store = cvat_blob::S3Store::connect(&cvat_blob::S3Access {
        endpoint: Some(access.endpoint).filter(|e| !e.is_empty()),
        region: access.region,
        bucket: access.bucket,
        keys,
        timeout: Some(BUCKET_TIMEOUT),
    });
    Ok((store, access.prefix))
}

/// Opens the request's cloud storage and lists the keys its paths name: a path ending
/// in `/` is every object below it.
async fn open_cloud(job: &ProcessTaskData, sources: &Sources<'_>, task: &TaskApi) -> Result<CloudFiles, Failure> {
    let (store, prefix) = open_bucket(job.cloud_storage_id, sources.fetcher, task).await?;
    let paths = if job.share_paths.is_empty() { vec![prefix.clone()] } else { job.share_paths.clone() };
    let limit = ArchiveLimits::default().max_members;
    let mut keys = Vec::new();
    for path in paths {
        if !path.starts_with(&prefix) {
            return Err(Failure::Data(format!("{path} is outside the cloud storage's prefix {prefix}")));
        }
        if !path.is_empty() && !path.ends_with('/') {
            keys.push(path);
            continue;
        }
        let mut token = None;
        loop {
            let page = store.list_page(&path, true, token, 1000).await.map_err(|e| Failure::Data(e.to_string()))?;
            keys.extend(page.files);
            if keys.len() > limit {
                return Err(Failure::Data(format!("the cloud storage lists more than {limit} files")));
            }
            match page.next {
                Some(next) => token = Some(next),
                None => break,
            }
        }
    }
    let excluded =
        |key: &String| job.share_exclude.iter().any(|x| key == x || (x.ends_with('/') && key.starts_with(x.as_str())));
    keys.retain(|k| !excluded(k) && matches_pattern(job, k));
    keys.sort();
    keys.dedup();
    Ok(CloudFiles { store, keys })
}

fn matches_pattern(job: &ProcessTaskData, name: &str) -> bool {
    job.filename_pattern.is_empty() || cvat_codecs::order::glob_match(&job.filename_pattern, name)
}

/// Where the request's files are read from; the share and a bucket with the files the
/// request names there.
enum Origin {
    Uploads,
    Share(Vec<String>),
    Cloud(CloudFiles),
}

impl Origin {
    /// The files listed in the share or the bucket.
    fn listed(&self) -> Option<(&[String], &'static str)> {
        match self {
            Origin::Uploads => None,
            Origin::Share(files) => Some((files, "the share")),
            Origin::Cloud(cloud) => Some((&cloud.keys, "the cloud storage")),
        }
    }

    /// One file (an archive, a video, a PDF) on this machine: a share file as it is,
    /// anything else copied to a temporary file.
    async fn local_file(&self, sources: &Sources<'_>, job: &ProcessTaskData, name: &str) -> Result<LocalFile, Failure> {
        match self {
            Origin::Share(_) => {
                let path = sources.share.resolve(name).map_err(|e| Failure::Data(e.to_string()))?;
                Ok(LocalFile { path, temporary: false })
            }
            Origin::Cloud(cloud) => spool(&cloud.store, vec![name.to_string()], job.task_id, name).await,
            Origin::Uploads => spool(sources.blobs.as_ref(), upload_keys(job, name), job.task_id, name).await,
        }
    }
}

async fn build(job: &ProcessTaskData, sources: &Sources<'_>, task: &TaskApi) -> Result<DataResult, Failure> {
    let blobs = &sources.blobs;
    let quality = job.image_quality.clamp(1, 100) as u8;
    let origin = match (job.cloud_storage_id, job.share_paths.is_empty()) {
        (0, true) => Origin::Uploads,
        (0, false) => {
            // A directory walk is blocking I/O: off the async threads.
            let (share, paths, exclude) = (sources.share.clone(), job.share_paths.clone(), job.share_exclude.clone());
            let files = tokio::task::spawn_blocking(move || share.files(&paths, &exclude))
                .await
                .map_err(|e| Failure::Retry(e.into()))?
                .map_err(|e| Failure::Data(e.to_string()))?;
            Origin::Share(files.into_iter().filter(|f| matches_pattern(job, f)).collect())
        }
        _ => Origin::Cloud(open_cloud(job, sources, task).await?),
    };
    // A single video, archive or PDF in the share or a bucket is taken as if uploaded.
    let single = match origin.listed() {
        Some((files, _)) if files.len() == 1 => files[0].clone(),
        _ => String::new(),
    };
    let video = if cvat_codecs::is_video_name(&single) { single.clone() } else { job.video.clone() };
    if !video.is_empty() {
        let file = origin.local_file(sources, job, &video).await?;
        let frames = video::video_frames(file, video.clone(), job, quality);
        return assemble(job, blobs, task, frames, None, Layout::Video, false).await;
    }
    let pdf = if cvat_codecs::is_pdf_name(&single) { single.clone() } else { job.pdf.clone() };
    if !pdf.is_empty() {
        let file = origin.local_file(sources, job, &pdf).await?;
        let frames = video::pdf_frames(file, &pdf, job, quality);
        return assemble(job, blobs, task, frames, None, Layout::Images(&Default::default()), false).await;
    }
    let archive_name = if cvat_codecs::archive::is_archive_name(&single) { single } else { job.archive.clone() };
    // An archive is spooled to a temporary file, not held in memory.
    let spooled = match archive_name.as_str() {
        "" => None,
        name if cvat_codecs::archive::is_gzip_name(name) => {
            Some(gunzip(origin.local_file(sources, job, name).await?, name).await?)
        }
        name => Some(origin.local_file(sources, job, name).await?),
    };
    let archive = match &spooled {
        Some(file) => {
            let reader =
                std::io::BufReader::new(std::fs::File::open(&file.path).map_err(|e| Failure::Retry(e.into()))?);
            Some(
                ImageArchive::open(&archive_name, reader, ArchiveLimits::default())
                    .map_err(|e| Failure::Data(e.to_string()))?,
            )
        }
        None => None,
    };
    // The listed images (with context images split off) of an archive, the share or a bucket.
    let listed = match &archive {
        Some(archive) => Some((archive.image_names(), archive_name.clone())),
        None => origin.listed().map(|(files, source)| (files.to_vec(), source.to_string())),
    };
    let (names, context) = match listed {
        Some((files, source)) => {
            let images = files.into_iter().filter(|f| cvat_codecs::is_image_name(f)).collect();
            let related = cvat_codecs::related::split(images);
            (select_frames(job, related.frames, &source)?, related.context)
        }
        None => (job.files.clone(), Default::default()),
    };
    let archive = archive.map(std::sync::Mutex::new);
    let origin = &origin;
    let archive = &archive;
    // One file of the request, whichever its origin.
    let read = move |name: String| {
        let member = archive.as_ref().map(|a| a.lock().expect("archive lock").read(&name));
        async move {
            match (member, origin) {
                (Some(read), _) => read.map_err(|e| Failure::Data(e.to_string())),
                (None, Origin::Cloud(cloud)) => fetch(&cloud.store, vec![name.clone()], &name).await,
                (None, Origin::Share(_)) => read_share(sources.share.clone(), name.clone()).await,
                (None, Origin::Uploads) => fetch(blobs.as_ref(), upload_keys(job, &name), &name).await,
            }
        }
    };
    let total = names.len();
    // Two stages, in frame order: files are fetched many at a time (each read waits on
    // storage; archive members are inflated in order as they are asked for), and decoded
    // as many at a time as there are cores. Memory stays bounded by the files in flight
    // and one chunk.
    let lazy = job.use_cache;
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    let encoding = (!lazy).then_some(quality);
    let decoded = stream::iter(names)
        .map(|name| async move { read(name.clone()).await.map(|bytes| (name, bytes)) })
        .buffered(if lazy { 4 * FETCHES_IN_FLIGHT } else { FETCHES_IN_FLIGHT })
        .map(|fetched| async move {
            let (name, bytes) = fetched?;
            decode(name.clone(), bytes, encoding).await.map(|frame| (name, frame))
        })
        .buffered(cores)
        .boxed();
    let mut result = assemble(job, blobs, task, decoded, Some(total), Layout::Images(&context), lazy).await?;
    for (number, meta) in result.frames.iter_mut().enumerate() {
        let Some(images) = context.get(&meta.name) else { continue };
        let mut files = Vec::with_capacity(images.len());
        for path in images {
            files.push((path.clone(), read(path.clone()).await?));
        }
        let archive = tokio::task::spawn_blocking(move || cvat_codecs::related::context_archive(files))
            .await
            .map_err(|e| Failure::Retry(e.into()))?
            .map_err(|e| Failure::Data(format!("context image of {}: {e}", meta.name)))?;
        let key = keys::context_images(job.task_id, number as i64);
        blobs.put(&key, Bytes::from(archive)).await.map_err(anyhow::Error::from)?;
        meta.related_files = images.len() as i32;
    }
    Ok(result)
}

/// What the frames are: one video's, or images with their context images (for the manifest).
enum Layout<'a> {
    Video,
    Images(&'a std::collections::HashMap<String, Vec<String>>),
}

/// Writes decoded frames as chunks (and the first as the preview) and the manifest,
/// reporting progress. `lazy`: the frames have no compressed bytes; only the original
/// chunks are written.
async fn assemble(
    job: &ProcessTaskData,
    blobs: &Arc<dyn BlobStore>,
    task: &TaskApi,
    mut decoded: FrameStream<'_>,
    total: Option<usize>,
    layout: Layout<'_>,
    lazy: bool,
) -> Result<DataResult, Failure> {
    let mut frames = Vec::new();
    let mut checksums = Vec::new();
    let mut chunk_size = job.chunk_size.max(0) as usize;
    let mut pending: Vec<Frame> = Vec::new();
    let mut chunk_number = 0i64;
    // Chunks being written, oldest first, with the number of their first frame: frames go
    // on arriving (fetched and decoded) while a chunk is checksummed, zipped and stored.
    let mut writing: std::collections::VecDeque<(usize, ChunkWrite)> = Default::default();
    loop {
        let next = decoded.next().await.transpose()?;
        if let Some((name, frame)) = next.as_ref().map(|(n, f)| (n.clone(), f)) {
            if frames.is_empty() {
                if chunk_size == 0 {
                    chunk_size = cvat_codecs::default_chunk_size(frame.width, frame.height) as usize;
                }
                // Scaling and encoding are CPU work: off the async threads (one copy, once).
                // A frame read from its header alone is decoded for it.
                let (image, original, file) = (frame.image.clone(), frame.original.clone(), name.clone());
                let preview = tokio::task::spawn_blocking(move || match image.width() {
                    0 => cvat_codecs::decode_oriented(&file, &original).map(|image| cvat_codecs::preview(&image)),
                    _ => Ok(cvat_codecs::preview(&image)),
                })
                .await
                .map_err(|e| Failure::Retry(e.into()))?
                .map_err(|e| Failure::Data(e.to_string()))?;
                let preview = Bytes::from(preview);
                blobs.put(&keys::preview(job.task_id), preview).await.map_err(anyhow::Error::from)?;
            }
            frames.push(FrameMeta {
                name,
                width: frame.width as i32,
                height: frame.height as i32,
                original_extension: frame.original_extension.clone(),
                ..Default::default()
            });
        }
        let finished = next.is_none();
        if let Some((_, mut frame)) = next {
            // A chunk needs only the encoded bytes; the pixels (6 MiB at 1080p) go now.
            frame.release_pixels();
            pending.push(frame);
        }
        if !pending.is_empty() && (pending.len() == chunk_size || finished) {
            let first = frames.len() - pending.len();
            let chunk = std::mem::take(&mut pending);
            writing
                .push_back((first, tokio::spawn(write_chunk(blobs.clone(), job.task_id, chunk_number, chunk, lazy))));
            chunk_number += 1;
        }
        // Memory holds at most this many chunks being written; at the end, all are waited for.
        while writing.len() > CHUNKS_WRITTEN_AT_ONCE || finished {
            let Some((first, write)) = writing.pop_front() else { break };
            let (ranges, sums) = write.await.map_err(|e| Failure::Retry(e.into()))??;
            let last = first + ranges.len();
            checksums.extend(sums);
            for (meta, (original, compressed)) in frames[first..].iter_mut().zip(ranges) {
                meta.original_offset = original.offset as i64;
                meta.original_length = original.length as i64;
                meta.compressed_offset = compressed.offset as i64;
                meta.compressed_length = compressed.length as i64;
            }
            // A video's length is known only at its end.
            let progress = total.map_or(0.5, |t| last as f64 / t.max(1) as f64);
            let report = DataProgress { request_id: job.request_id.clone(), progress };
            task.clone().report_data_progress(report).await.map_err(anyhow::Error::from)?;
        }
        if finished {
            break;
        }
    }
    if frames.is_empty() {
        return Err(Failure::Data("No media data found".into()));
    }
    let manifest = match layout {
        Layout::Video => {
            cvat_codecs::manifest::video(&frames[0].name, frames[0].width as u32, frames[0].height as u32, frames.len())
        }
        Layout::Images(related) => cvat_codecs::manifest::images(frames.iter().zip(checksums).map(|(f, checksum)| {
            cvat_codecs::manifest::ManifestImage {
                path: &f.name,
                width: f.width as u32,
                height: f.height as u32,
                related: related.get(&f.name).map_or(&[], Vec::as_slice),
                checksum,
            }
        })),
    };
    blobs.put(&keys::manifest(job.task_id), Bytes::from(manifest)).await.map_err(anyhow::Error::from)?;
    let video = matches!(layout, Layout::Video);
    build_job_chunks(blobs, job, frames.len() as u64, chunk_size as u64, video, lazy).await?;
    Ok(DataResult {
        request_id: job.request_id.clone(),
        task_id: job.task_id,
        frames,
        chunk_size: chunk_size as i32,
        video,
        lazy_chunks: lazy,
    })
}

/// The chunks of jobs whose frames do not line up with the task's chunks (a job that
/// starts inside a task chunk, an overlap), built once from the task chunks just written
/// so that serving any job chunk is one read. Keyed by the job's first frame and index
/// (`keys::job_chunk`), as the task service locates them.
async fn build_job_chunks(
    blobs: &Arc<dyn BlobStore>,
    job: &ProcessTaskData,
    size: u64,
    chunk_size: u64,
    video: bool,
    lazy: bool,
) -> Result<(), Failure> {
    let frames_per_job: Vec<u64> = job.frames_per_job.iter().map(|n| (*n).max(0) as u64).collect();
    let segment_size = job.segment_size.max(0) as u64;
    let overlap = job.overlap.map(|o| o.max(0) as u64);
    for segment in cvat_segments::task_segments(size, segment_size, overlap, &frames_per_job, video) {
        let mut index = 0;
        while let Some((frames, whole_task_chunk)) = cvat_segments::job_chunk(&segment, chunk_size, index) {
            if !whole_task_chunk {
                // A video's job chunks served as MP4 are built when asked for instead.
                let served_as_zip = |quality: &&&str| !video || (**quality == "compressed" && job.use_zip_chunks);
                for quality in qualities(lazy).iter().filter(served_as_zip) {
                    let archive = assemble_job_chunk(blobs, job.task_id, quality, frames.clone(), chunk_size).await?;
                    let key = keys::job_chunk(job.task_id, *segment.start() as i64, quality, index as i64);
                    blobs.put(&key, Bytes::from(archive)).await.map_err(anyhow::Error::from)?;
                }
            }
            index += 1;
        }
    }
    Ok(())
}

/// One job chunk of `quality`: its frames taken from the task's chunks, in order.
async fn assemble_job_chunk(
    blobs: &Arc<dyn BlobStore>,
    task: i64,
    quality: &'static str,
    frames: std::ops::RangeInclusive<u64>,
    chunk_size: u64,
) -> Result<Vec<u8>, Failure> {
    let mut members = Vec::with_capacity(chunk_size as usize);
    let mut source: Option<(u64, Bytes)> = None;
    for frame in frames {
        let number = frame / chunk_size;
        let archive = match source.take() {
            Some((held, archive)) if held == number => archive,
            _ => blobs.get(&keys::chunk(task, quality, number as i64)).await.map_err(anyhow::Error::from)?,
        };
        let member = cvat_codecs::chunk_member(&archive, (frame % chunk_size) as usize)
            .map_err(|e| Failure::Retry(anyhow::anyhow!("task chunk {number} ({quality}): {e}")))?;
        members.push(member);
        source = Some((number, archive));
    }
    tokio::task::spawn_blocking(move || {
        cvat_codecs::chunk_archive(members.iter().map(|(bytes, extension)| (bytes.as_slice(), extension.as_str())))
    })
    .await
    .map_err(|e| Failure::Retry(e.into()))?
    .map_err(|e| Failure::Retry(e.into()))
}

/// The chunk qualities written when data is processed.
fn qualities(lazy: bool) -> &'static [&'static str] {
    match lazy {
        true => &["original"],
        false => &["original", "compressed"],
    }
}

/// How many chunks a task's processing writes while it goes on reading frames.
const CHUNKS_WRITTEN_AT_ONCE: usize = 2;

/// A chunk [`write_chunk`] is writing: each frame's byte ranges and original's MD5.
type ChunkWrite = tokio::task::JoinHandle<Result<(Vec<(MemberRange, MemberRange)>, Vec<String>), Failure>>;

/// Writes a chunk in both qualities (the original only when `lazy`); answers each frame's
/// byte ranges in them (empty for a quality not written) and the MD5 of each original
/// (for the manifest). One archive at a time is in memory (built, stored, dropped);
/// archives and checksums are made off the async threads.
async fn write_chunk(
    blobs: Arc<dyn BlobStore>,
    task: i64,
    number: i64,
    frames: Vec<Frame>,
    lazy: bool,
) -> Result<(Vec<(MemberRange, MemberRange)>, Vec<String>), Failure> {
    let frames = Arc::new(frames);
    let originals = frames.clone();
    let checksums = tokio::task::spawn_blocking(move || {
        originals.iter().map(|f| cvat_codecs::manifest::checksum(&f.original)).collect::<Vec<_>>()
    })
    .await
    .map_err(|e| Failure::Retry(e.into()))?;
    let mut ranges = Vec::with_capacity(2);
    for &quality in qualities(lazy) {
        let members = frames.clone();
        let built = tokio::task::spawn_blocking(move || {
            cvat_codecs::chunk_archive_with_ranges(members.iter().map(|f| match quality {
                "original" => (f.original.as_slice(), f.original_extension.as_str()),
                _ => (f.compressed.as_slice(), "jpeg"),
            }))
        })
        .await
        .map_err(|e| Failure::Retry(e.into()))?;
        let (archive, members) = built.map_err(|e| Failure::Retry(e.into()))?;
        blobs.put(&keys::chunk(task, quality, number), Bytes::from(archive)).await.map_err(anyhow::Error::from)?;
        ranges.push(members);
    }
    let unbuilt = MemberRange { offset: 0, length: 0 };
    let compressed = if lazy { vec![unbuilt; frames.len()] } else { ranges.pop().unwrap_or_default() };
    let original = ranges.pop().unwrap_or_default();
    Ok((original.into_iter().zip(compressed).collect(), checksums))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_go_in_parts_that_keep_every_frame_in_order() {
        let frames: Vec<FrameMeta> =
            (0..12_001).map(|i| FrameMeta { name: format!("{i}.png"), ..Default::default() }).collect();
        let result = DataResult { request_id: "r".into(), task_id: 7, frames, chunk_size: 3, ..Default::default() };
        let parts = result_parts(result);
        assert_eq!(parts.iter().map(|p| p.frames.len()).collect::<Vec<_>>(), [5_000, 5_000, 2_001]);
        assert!(parts.iter().all(|p| p.request_id == "r" && p.task_id == 7 && p.chunk_size == 3));
        let names: Vec<String> = parts.into_iter().flat_map(|p| p.frames).map(|f| f.name).collect();
        assert_eq!(names.first().map(String::as_str), Some("0.png"));
        assert_eq!(names.last().map(String::as_str), Some("12000.png"));
        let empty = DataResult { request_id: "r".into(), ..Default::default() };
        assert_eq!(result_parts(empty).len(), 1);
    }
}
