//! Frames and previews read once stay in the gateway's memory (up to
//! `CVAT_FRAME_CACHE_BYTES`), so an annotator stepping through a job costs no blob-store
//! read for what anyone has just looked at. Only bytes are kept, under the blob location
//! the task service answered after checking the caller's permission: every request is
//! still checked, so one user's request never serves another's data, and a deleted task's
//! locations are never answered again. The location's `version` is in the key, so
//! content that changes (a new preview) is a different entry.

use bytes::Bytes;
use cvat_cache::BoundedCache;
use cvat_proto::task::DataLocation;
use std::time::Duration;

/// Bytes at a location do not change under the same key and version; the time to live
/// only bounds how long a cold entry holds memory.
const TTL: Duration = Duration::from_secs(600);

#[derive(Clone, PartialEq, Eq, Hash)]
struct FrameKey {
    key: String,
    version: String,
    member: i64,
    offset: i64,
    length: i64,
}

#[derive(Clone)]
pub struct Frame {
    pub bytes: Bytes,
    pub content_type: String,
}

pub struct FrameCache(BoundedCache<FrameKey, Frame>);

impl FrameCache {
    pub fn new(capacity_bytes: usize) -> Self {
        Self(BoundedCache::new(capacity_bytes, TTL).named("frames"))
    }

    fn key(location: &DataLocation) -> FrameKey {
        FrameKey {
            key: location.key.clone(),
            version: location.version.clone(),
            member: location.member,
            offset: location.offset,
            length: location.length,
        }
    }

    pub fn get(&self, location: &DataLocation) -> Option<Frame> {
        self.0.get(&Self::key(location))
    }

    pub fn insert(&self, location: &DataLocation, frame: Frame) {
        let weight = frame.bytes.len();
        self.0.insert(Self::key(location), frame, weight);
    }
}
