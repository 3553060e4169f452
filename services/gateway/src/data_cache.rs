//! Task data read once stays in the gateway's memory: frames and previews (up to
//! `CVAT_FRAME_CACHE_BYTES`) and chunks (up to `CVAT_CHUNK_CACHE_BYTES`, each cache its own
//! budget so that a few chunks never push out an annotator's frames). What anyone has just
//! looked at costs no blob-store read. Only bytes are kept, under the blob location the
//! task service answered after checking the caller's permission: every request is still
//! checked, so one user's request never serves another's data, and a deleted task's
//! locations are never answered again. The location's `version` is in the key, so
//! content that changes (a new preview, a re-uploaded task) is a different entry.

use bytes::{Bytes, BytesMut};
use cvat_cache::BoundedCache;
use cvat_proto::task::DataLocation;
use futures_util::{Stream, StreamExt};
use std::sync::Arc;
use std::time::Duration;

/// Bytes at a location do not change under the same key and version; the time to live
/// only bounds how long a cold entry holds memory.
const TTL: Duration = Duration::from_secs(600);

#[derive(Clone, PartialEq, Eq, Hash)]
struct DataKey {
    key: String,
    version: String,
    member: i64,
    offset: i64,
    length: i64,
}

#[derive(Clone)]
pub struct Cached {
    pub bytes: Bytes,
    pub content_type: String,
}

pub struct DataCache {
    entries: BoundedCache<DataKey, Cached>,
    /// The most one entry may weigh: a quarter of the budget, so one large chunk cannot
    /// empty the cache.
    largest: usize,
}

impl DataCache {
    /// A cache of `capacity_bytes` (0: none), counted as `cvat_cache_lookups_total{cache=name}`.
    pub fn new(capacity_bytes: usize, name: &str) -> Self {
        Self { entries: BoundedCache::new(capacity_bytes, TTL).named(name), largest: capacity_bytes / 4 }
    }

    fn key(location: &DataLocation) -> DataKey {
        DataKey {
            key: location.key.clone(),
            version: location.version.clone(),
            member: location.member,
            offset: location.offset,
            length: location.length,
        }
    }

    pub fn get(&self, location: &DataLocation) -> Option<Cached> {
        self.entries.get(&Self::key(location))
    }

    pub fn insert(&self, location: &DataLocation, data: Cached) {
        let weight = data.bytes.len();
        if weight <= self.largest {
            self.entries.insert(Self::key(location), data, weight);
        }
    }

    /// Passes `blob` (the whole blob at `location`) through unchanged, keeping a copy that
    /// is inserted once the last byte has passed: a stream that fails, is dropped by a
    /// client that went away, or outgrows an entry's limit is not kept.
    pub fn keep_passing<E>(
        self: Arc<Self>,
        location: DataLocation,
        blob: impl Stream<Item = Result<Bytes, E>> + Unpin,
    ) -> impl Stream<Item = Result<Bytes, E>> {
        let keeping = Keeping { kept: (self.largest > 0).then(Vec::new), size: 0, cache: self, location };
        futures_util::stream::unfold(Some((blob, keeping)), |state| async move {
            let (mut blob, mut keeping) = state?;
            match blob.next().await {
                Some(Ok(piece)) => {
                    keeping.add(&piece);
                    Some((Ok(piece), Some((blob, keeping))))
                }
                Some(Err(err)) => Some((Err(err), None)),
                None => {
                    keeping.finish();
                    None
                }
            }
        })
    }
}

/// The copy [`DataCache::keep_passing`] makes of a blob going by.
struct Keeping {
    /// The pieces so far; `None` once the blob is too large to keep.
    kept: Option<Vec<Bytes>>,
    size: usize,
    cache: Arc<DataCache>,
    location: DataLocation,
}

impl Keeping {
    fn add(&mut self, piece: &Bytes) {
        self.size += piece.len();
        if self.size > self.cache.largest {
            self.kept = None;
        }
        if let Some(pieces) = &mut self.kept {
            pieces.push(piece.clone());
        }
    }

    fn finish(self) {
        let Some(pieces) = self.kept else { return };
        let mut whole = BytesMut::with_capacity(self.size);
        pieces.iter().for_each(|piece| whole.extend_from_slice(piece));
        let content_type = self.location.content_type.clone();
        self.cache.insert(&self.location, Cached { bytes: whole.freeze(), content_type });
    }
}
