//! Chunks built on request (a lazy task's compressed zips, a video task's MP4s), built by
//! a media worker when the task service asks (a reader waits: every core encodes) or
//! ahead of any request (one core, so readers keep the others). The worker claims the chunk first, so each is built once however
//! many times it is asked for; the originals come from the task's original chunks, one
//! range read per original chunk.

use crate::TaskApi;
use bytes::Bytes;
use cvat_blob::BlobStore;
use cvat_proto::queue::BuildChunk;
use cvat_proto::task::{ChunkBuilt, ChunkClaimQuery, ChunkEncoding, MemberRange, OriginalFrame};
use futures_util::stream::{self, StreamExt, TryStreamExt};
use std::sync::Arc;

/// The chunks this process is building for waiting readers. A build ahead of any request
/// waits while there are any, before each frame (an MP4: before it starts), so a reader's
/// chunk has every core.
pub struct ReaderBuilds(tokio::sync::watch::Sender<usize>);

impl Default for ReaderBuilds {
    fn default() -> Self {
        Self(tokio::sync::watch::Sender::new(0))
    }
}

/// One reader's build, counted while it lives.
struct ReaderBuild<'a>(&'a ReaderBuilds);

impl Drop for ReaderBuild<'_> {
    fn drop(&mut self) {
        self.0 .0.send_modify(|running| *running -= 1);
    }
}

impl ReaderBuilds {
    fn begin(&self) -> ReaderBuild<'_> {
        self.0.send_modify(|running| *running += 1);
        ReaderBuild(self)
    }

    async fn none_running(&self) {
        // The sender lives as long as `self`: waiting cannot fail.
        let _ = self.0.subscribe().wait_for(|running| *running == 0).await;
    }
}

/// Who a chunk is built for: a reader waiting for it (every core), or nobody yet (one
/// core, giving way to readers).
pub(crate) enum Urgency<'a> {
    Reader(&'a ReaderBuilds),
    Background(&'a ReaderBuilds),
}

impl Urgency<'_> {
    /// Returns when this build may take its next step.
    async fn turn(&self) {
        if let Urgency::Background(readers) = self {
            readers.none_running().await;
        }
    }
}

/// Builds `work`'s chunk unless it is built or being built.
pub(crate) async fn build_chunk(
    work: BuildChunk,
    claimant: String,
    blobs: Arc<dyn BlobStore>,
    task: TaskApi,
    urgency: Urgency<'_>,
) -> anyhow::Result<()> {
    let (_counted, parallel) = match &urgency {
        Urgency::Reader(readers) => {
            (Some(readers.begin()), std::thread::available_parallelism().map_or(2, |n| n.get()))
        }
        Urgency::Background(_) => (None, 1),
    };
    let query = ChunkClaimQuery { task_id: work.task_id, key: work.key.clone(), claimant: claimant.clone() };
    let claim = match task.clone().claim_chunk(query).await {
        Ok(claim) => claim.into_inner(),
        // The task was deleted meanwhile.
        Err(status) if status.code() == tonic::Code::NotFound => return Ok(()),
        Err(status) => return Err(status.into()),
    };
    if !claim.claimed {
        return Ok(());
    }
    let quality = claim.image_quality.clamp(1, 100) as u8;
    let encoding = claim.encoding();
    let originals = read_originals(blobs.as_ref(), &claim.frames).await?;
    let mut report = ChunkBuilt { task_id: work.task_id, key: work.key.clone(), claimant, ..Default::default() };
    let built = match encoding {
        ChunkEncoding::JpegZip => jpeg_zip(claim.frames, originals, quality, parallel, &urgency).await?,
        ChunkEncoding::Mp4Compressed | ChunkEncoding::Mp4Original => {
            urgency.turn().await;
            let compressed = encoding == ChunkEncoding::Mp4Compressed;
            let encode = move || crate::video::mp4_chunk(&originals, quality, compressed, parallel);
            let encoded = tokio::task::spawn_blocking(encode).await??;
            encoded.map(|chunk| (chunk, Vec::new()))
        }
    };
    match built {
        Ok((chunk, members)) => {
            blobs.put(&work.key, Bytes::from(chunk)).await?;
            report.members = members;
        }
        Err(reason) => {
            tracing::info!(key = %work.key, %reason, "a chunk's frames cannot be encoded");
            report.error = reason;
        }
    }
    match task.clone().complete_chunk(report).await {
        Err(status) if status.code() == tonic::Code::NotFound => Ok(()),
        other => other.map(|_| ()).map_err(Into::into),
    }
}

/// A zip of the frames as JPEGs at `quality`, `parallel` encoded at a time, with each
/// frame's byte range in it; `Ok(Err(reason))` when an original cannot be decoded.
async fn jpeg_zip(
    frames: Vec<OriginalFrame>,
    originals: Vec<Bytes>,
    quality: u8,
    parallel: usize,
    urgency: &Urgency<'_>,
) -> anyhow::Result<Result<(Vec<u8>, Vec<MemberRange>), String>> {
    let encoded: Result<Vec<Vec<u8>>, String> = stream::iter(frames.into_iter().zip(originals))
        .map(|(frame, bytes)| async move {
            urgency.turn().await;
            tokio::task::spawn_blocking(move || cvat_codecs::compress(&frame.name, &bytes, quality))
                .await
                .map_err(|e| e.to_string())?
                .map_err(|e| e.to_string())
        })
        .buffered(parallel.max(1))
        .try_collect()
        .await;
    let frames = match encoded {
        Ok(frames) => frames,
        Err(reason) => return Ok(Err(reason)),
    };
    let (archive, members) = tokio::task::spawn_blocking(move || {
        cvat_codecs::chunk_archive_with_ranges(frames.iter().map(|f| (f.as_slice(), "jpeg")))
    })
    .await??;
    let members = members.iter().map(|m| MemberRange { offset: m.offset as i64, length: m.length as i64 }).collect();
    Ok(Ok((archive, members)))
}

/// The originals' bytes in frame order: for each original chunk, one range read from
/// the first to the last byte the frames need.
async fn read_originals(blobs: &dyn BlobStore, frames: &[OriginalFrame]) -> anyhow::Result<Vec<Bytes>> {
    let mut out = Vec::with_capacity(frames.len());
    let mut start = 0;
    while start < frames.len() {
        let key = &frames[start].key;
        let end = start + frames[start..].iter().take_while(|f| &f.key == key).count();
        let group = &frames[start..end];
        let first = group.iter().map(|f| f.offset).min().unwrap_or(0).max(0) as u64;
        let last = group.iter().map(|f| f.offset + f.length).max().unwrap_or(0).max(0) as u64;
        let span = blobs.get_range(key, first, last.saturating_sub(first)).await?;
        for frame in group {
            let from = frame.offset.max(0) as u64 - first;
            let to = from + frame.length.max(0) as u64;
            anyhow::ensure!(to as usize <= span.len(), "original chunk {key} is shorter than its frames");
            out.push(span.slice(from as usize..to as usize));
        }
        start = end;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn builds_ahead_give_way_to_readers() {
        let readers = ReaderBuilds::default();
        let background = Urgency::Background(&readers);
        background.turn().await;
        let reader = readers.begin();
        let waited = tokio::time::timeout(std::time::Duration::from_millis(50), background.turn()).await;
        assert!(waited.is_err(), "a build ahead waits while a reader's chunk is built");
        Urgency::Reader(&readers).turn().await;
        drop(reader);
        tokio::time::timeout(std::time::Duration::from_secs(5), background.turn()).await.unwrap();
    }
}
