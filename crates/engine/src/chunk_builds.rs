//! Chunks built on first request. A lazy task (`task_data.lazy_chunks`) is ready once its
//! original chunks are stored; a video task once its frames are stored (its MP4 chunks
//! come after). Each such chunk is a row here from
//! the moment it is queued ahead (every task chunk, when the data is processed) or first
//! asked for (a job's own chunk). A reader waits for the row to be built: the task service
//! asks the media workers (the `chunks` queue) while nobody holds a live claim. A worker
//! claims the row before building, so concurrent requests, a redelivered message and the
//! background pre-build all build a chunk once; a claim lapses after [`CLAIM_SECONDS`],
//! so a worker that died is replaced by the next one asked.

use crate::Engine;
use cvat_blob::keys;
use cvat_db::{column, DbResultExt};
use cvat_error::{ApiError, ApiResult, ErrorKind};
use cvat_proto::task::{ChunkBuilt, ChunkClaim, ChunkEncoding, OriginalFrame, UnbuiltChunk};

/// How long a claim holds: far above the time one chunk takes (≈0.1–2 s).
pub const CLAIM_SECONDS: f64 = 30.0;

/// The notification channel a settled chunk is announced on (its key as the payload), so
/// a reader waiting for it goes on at once instead of at its next look at the table.
pub const CHUNK_CHANNEL: &str = "chunk_builds";

/// Where a compressed chunk stands for a reader waiting for it.
#[derive(Debug, PartialEq, Eq)]
pub enum ChunkState {
    Built,
    /// Its originals cannot be decoded: the reason, as the reader is told.
    Failed(String),
    /// A worker holds a live claim.
    Building,
    /// Nobody builds it: a worker must be asked.
    Waiting,
}

/// Task chunk `number` of a task of `size` frames in chunks of `chunk_size`, as built
/// on request with `encoding`. Only a compressed zip is a task chunk whose frames' byte
/// ranges are recorded (single frames are read from it); MP4 chunks are read whole.
pub(crate) fn task_chunk(task: i64, number: i64, chunk_size: i64, size: i64, encoding: ChunkEncoding) -> UnbuiltChunk {
    let first = number * chunk_size;
    let key = match encoding {
        ChunkEncoding::JpegZip => keys::chunk(task, "compressed", number),
        ChunkEncoding::Mp4Compressed => keys::video_chunk(task, "compressed", number),
        ChunkEncoding::Mp4Original => keys::video_chunk(task, "original", number),
    };
    UnbuiltChunk {
        task_id: task,
        key,
        first_frame: first as i32,
        last_frame: ((first + chunk_size).min(size) - 1) as i32,
        task_chunk: encoding == ChunkEncoding::JpegZip,
        encoding: encoding.into(),
    }
}

/// Every task chunk of a task of `size` frames, as built on request with `encoding`.
pub(crate) fn task_chunks(task: i64, size: i64, chunk_size: i64, encoding: ChunkEncoding) -> Vec<UnbuiltChunk> {
    let chunk_size = chunk_size.max(1);
    (0..(size + chunk_size - 1) / chunk_size).map(|n| task_chunk(task, n, chunk_size, size, encoding)).collect()
}

/// Records chunks as wanted (a row already there stays as it is).
pub(crate) async fn queue_chunks(
    client: &impl cvat_db::GenericClient,
    task: i64,
    chunks: &[UnbuiltChunk],
) -> ApiResult<()> {
    let keys: Vec<&str> = chunks.iter().map(|c| c.key.as_str()).collect();
    let firsts: Vec<i32> = chunks.iter().map(|c| c.first_frame).collect();
    let lasts: Vec<i32> = chunks.iter().map(|c| c.last_frame).collect();
    let task_chunks: Vec<bool> = chunks.iter().map(|c| c.task_chunk).collect();
    let encodings: Vec<&str> = chunks.iter().map(|c| c.encoding().as_str_name()).collect();
    client
        .execute(
            "INSERT INTO chunk_builds (task_id, key, first_frame, last_frame, task_chunk, encoding) \
             SELECT $1, k, f, l, t, e FROM unnest($2::text[], $3::int4[], $4::int4[], $5::bool[], $6::text[]) \
             AS x(k, f, l, t, e) ON CONFLICT (task_id, key) DO NOTHING",
            &[&task, &keys, &firsts, &lasts, &task_chunks, &encodings],
        )
        .await
        .db()?;
    Ok(())
}

/// A chunk's row as [`Engine::chunk_state`] reads it: built, error, claim alive.
async fn read_chunk_state(
    client: &impl cvat_db::GenericClient,
    chunk: &UnbuiltChunk,
) -> ApiResult<Option<tokio_postgres::Row>> {
    client
        .query_opt(
            "SELECT built, error, claimed_at > now() - make_interval(secs => $3) \
             FROM chunk_builds WHERE task_id = $1 AND key = $2",
            &[&chunk.task_id, &chunk.key, &CLAIM_SECONDS],
        )
        .await
        .db()
}

impl Engine {
    /// Whether a compressed chunk of a lazy task is built (no row: not yet asked for).
    pub(crate) async fn chunk_built(
        &self,
        client: &impl cvat_db::GenericClient,
        task: i64,
        key: &str,
    ) -> ApiResult<bool> {
        let rows = crate::query_cached(
            client,
            "SELECT built FROM chunk_builds WHERE task_id = $1 AND key = $2",
            &[&task, &key],
        )
        .await?;
        rows.first().map_or(Ok(false), |row| column(row, 0))
    }

    /// The state of a chunk a reader waits for, recording it as wanted first.
    #[tracing::instrument(skip_all)]
    pub async fn chunk_state(&self, chunk: &UnbuiltChunk) -> ApiResult<ChunkState> {
        let client = self.client().await?;
        let row = match read_chunk_state(&client, chunk).await? {
            Some(row) => row,
            None => {
                queue_chunks(&client, chunk.task_id, std::slice::from_ref(chunk)).await?;
                read_chunk_state(&client, chunk).await?.ok_or_else(ApiError::not_found)?
            }
        };
        if column(&row, 0)? {
            return Ok(ChunkState::Built);
        }
        if let Some(error) = column::<_, Option<String>>(&row, 1)? {
            return Ok(ChunkState::Failed(error));
        }
        Ok(match column::<_, Option<bool>>(&row, 2)? {
            Some(true) => ChunkState::Building,
            _ => ChunkState::Waiting,
        })
    }

    /// A worker's claim of a chunk to build: the originals to encode, or `claimed` false
    /// when it is built, failed or held by a live claim of another. NOT_FOUND: the task
    /// (or its chunk) is gone.
    #[tracing::instrument(skip_all)]
    pub async fn claim_chunk(&self, task: i64, key: &str, claimant: &str) -> ApiResult<ChunkClaim> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.db()?;
        let claimed = tx
            .query_opt(
                "UPDATE chunk_builds SET claimed_by = $3, claimed_at = now(), \
                 builds = builds + CASE WHEN claimed_by = $3 THEN 0 ELSE 1 END \
                 WHERE task_id = $1 AND key = $2 AND NOT built AND error IS NULL \
                 AND (claimed_by IS NULL OR claimed_by = $3 OR claimed_at < now() - make_interval(secs => $4)) \
                 RETURNING first_frame, last_frame, encoding",
                &[&task, &key, &claimant, &CLAIM_SECONDS],
            )
            .await
            .db()?;
        let Some(claimed) = claimed else {
            let exists = tx
                .query_opt("SELECT 1 FROM chunk_builds WHERE task_id = $1 AND key = $2", &[&task, &key])
                .await
                .db()?;
            return match exists {
                Some(_) => Ok(ChunkClaim::default()),
                None => Err(ApiError::not_found()),
            };
        };
        let (first, last): (i32, i32) = (column(&claimed, 0)?, column(&claimed, 1)?);
        let encoding = ChunkEncoding::from_str_name(&column::<_, String>(&claimed, 2)?).ok_or_else(|| {
            tracing::error!(task, key, "a chunk row of an unknown encoding");
            ApiError::internal()
        })?;
        let data = tx
            .query_opt("SELECT image_quality, chunk_size FROM task_data WHERE task_id = $1", &[&task])
            .await
            .db()?
            .ok_or_else(ApiError::not_found)?;
        let (image_quality, chunk_size): (i32, i32) = (column(&data, 0)?, column(&data, 1)?);
        let rows = tx
            .query(
                "SELECT number, name, original_offset, original_length FROM frames \
                 WHERE task_id = $1 AND number BETWEEN $2 AND $3 ORDER BY number",
                &[&task, &first, &last],
            )
            .await
            .db()?;
        let frames = rows
            .iter()
            .map(|row| {
                let number: i32 = column(row, 0)?;
                Ok(OriginalFrame {
                    key: keys::chunk(task, "original", i64::from(number / chunk_size.max(1))),
                    name: column(row, 1)?,
                    offset: column(row, 2)?,
                    length: column(row, 3)?,
                })
            })
            .collect::<ApiResult<Vec<_>>>()?;
        tx.commit().await.db()?;
        Ok(ChunkClaim { claimed: true, image_quality, frames, encoding: encoding.into() })
    }

    /// A worker built a chunk (or found an original it cannot decode): a task chunk's
    /// (compressed zip's) frames get their byte ranges and the row is marked, in one transaction. A report
    /// for a chunk already settled changes nothing; for a task that is gone, NOT_FOUND.
    #[tracing::instrument(skip_all)]
    pub async fn complete_chunk(&self, built: &ChunkBuilt) -> ApiResult<()> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.db()?;
        // The task first: a deletion of it (which locks the task, then its frames and
        // chunks) waits for this report instead of deadlocking with it.
        tx.query_opt("SELECT 1 FROM tasks WHERE id = $1 FOR KEY SHARE", &[&built.task_id])
            .await
            .db()?
            .ok_or_else(ApiError::not_found)?;
        let row = tx
            .query_opt(
                "SELECT task_chunk, first_frame, last_frame, built OR error IS NOT NULL FROM chunk_builds \
                 WHERE task_id = $1 AND key = $2 FOR UPDATE",
                &[&built.task_id, &built.key],
            )
            .await
            .db()?
            .ok_or_else(ApiError::not_found)?;
        if column::<_, bool>(&row, 3)? {
            return Ok(());
        }
        if built.error.is_empty() {
            record_built(&tx, built, &row).await?;
        } else {
            tx.execute(
                "UPDATE chunk_builds SET error = $3, claimed_by = NULL WHERE task_id = $1 AND key = $2",
                &[&built.task_id, &built.key, &built.error],
            )
            .await
            .db()?;
        }
        // Settled either way: a reader waiting for it goes on.
        tx.execute("SELECT pg_notify($1, $2)", &[&CHUNK_CHANNEL, &built.key]).await.db()?;
        tx.commit().await.db()
    }
}

/// A built chunk's row marked, and a task chunk's frames given their byte ranges in it;
/// `row` is the chunk's (`task_chunk, first_frame, last_frame`).
async fn record_built(tx: &cvat_db::Transaction<'_>, built: &ChunkBuilt, row: &tokio_postgres::Row) -> ApiResult<()> {
    let (task_chunk, first, last): (bool, i32, i32) = (column(row, 0)?, column(row, 1)?, column(row, 2)?);
    if task_chunk && built.members.len() as i64 != i64::from(last - first + 1) {
        return Err(ApiError::invalid(format!(
            "chunk {} has {} frames, not {}",
            built.key,
            last - first + 1,
            built.members.len()
        )));
    }
    if task_chunk {
        let offsets: Vec<i64> = built.members.iter().map(|m| m.offset).collect();
        let lengths: Vec<i64> = built.members.iter().map(|m| m.length).collect();
        tx.execute(
            "UPDATE frames f SET compressed_offset = x.o, compressed_length = x.l \
             FROM unnest($3::int8[], $4::int8[]) WITH ORDINALITY AS x(o, l, n) \
             WHERE f.task_id = $1 AND f.number = $2 + x.n::int4 - 1",
            &[&built.task_id, &first, &offsets, &lengths],
        )
        .await
        .db()?;
    }
    tx.execute(
        "UPDATE chunk_builds SET built = true, claimed_by = NULL WHERE task_id = $1 AND key = $2",
        &[&built.task_id, &built.key],
    )
    .await
    .db()?;
    Ok(())
}

/// The answer to a reader whose chunk cannot be built from its originals.
pub fn undecodable(reason: &str) -> ApiError {
    ApiError::detail(ErrorKind::BadRequest, format!("The chunk cannot be built: {reason}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn task_chunks_cover_every_frame_once() {
        let chunks = task_chunks(7, 10, 4, ChunkEncoding::JpegZip);
        let ranges: Vec<(i32, i32)> = chunks.iter().map(|c| (c.first_frame, c.last_frame)).collect();
        assert_eq!(ranges, [(0, 3), (4, 7), (8, 9)]);
        assert_eq!(chunks[2].key, keys::chunk(7, "compressed", 2));
        assert!(chunks.iter().all(|c| c.task_chunk));
        assert!(task_chunks(7, 0, 4, ChunkEncoding::JpegZip).is_empty());
        assert_eq!(task_chunks(7, 1, 72, ChunkEncoding::JpegZip).len(), 1);
        let videos = task_chunks(7, 10, 4, ChunkEncoding::Mp4Original);
        assert_eq!(videos[1].key, keys::video_chunk(7, "original", 1));
        assert!(videos.iter().all(|c| !c.task_chunk && c.encoding() == ChunkEncoding::Mp4Original));
    }
}
