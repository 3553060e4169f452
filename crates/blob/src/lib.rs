//! Blob storage behind one trait, with two backends: S3-compatible object storage
//! (production, `aws-sdk-s3`) and a local directory (single-machine use). Keys are
//! `/`-separated relative paths such as `tasks/12/chunks/compressed/0`; both backends
//! refuse keys that could escape their root.

mod local;
mod measured;
mod s3;

pub mod keys;
pub mod share;

pub use local::LocalStore;
pub use measured::Measured;
pub use s3::{BucketPage, BucketStatus, S3Access, S3Keys, S3Store};

use bytes::Bytes;
use futures_util::stream::BoxStream;

#[derive(Debug, thiserror::Error)]
pub enum BlobError {
    #[error("blob not found: {0}")]
    NotFound(String),
    #[error("invalid blob key {0:?}")]
    InvalidKey(String),
    #[error("blob storage unavailable: {0}")]
    Unavailable(String),
    /// The data being stored was refused by whoever produced it (e.g. broken).
    #[error("{0}")]
    Refused(String),
    /// The data being stored went past the producer's size limit.
    #[error("{0}")]
    TooLarge(String),
    #[error("blob i/o failed: {0}")]
    Io(#[from] std::io::Error),
}

pub type ByteStream = BoxStream<'static, Result<Bytes, BlobError>>;

#[async_trait::async_trait]
pub trait BlobStore: Send + Sync {
    /// Stores a whole object, replacing any previous one.
    async fn put(&self, key: &str, data: Bytes) -> Result<(), BlobError>;
    /// Stores an object from a stream without holding it whole (S3: a multipart upload);
    /// answers its size. An error from the stream aborts the write and is returned.
    async fn put_stream(&self, key: &str, data: ByteStream) -> Result<u64, BlobError>;
    /// Streams an object's content.
    async fn get_stream(&self, key: &str) -> Result<ByteStream, BlobError>;
    /// Reads `length` bytes of an object from `offset` (a frame inside a chunk archive).
    async fn get_range(&self, key: &str, offset: u64, length: u64) -> Result<Bytes, BlobError>;
    async fn delete(&self, key: &str) -> Result<(), BlobError>;
    /// Deletes every object under `dir/` (e.g. all blobs of a deleted task).
    async fn delete_dir(&self, dir: &str) -> Result<(), BlobError>;
    async fn exists(&self, key: &str) -> Result<bool, BlobError>;
    /// Checks that the storage answers (readiness).
    async fn ping(&self) -> Result<(), BlobError>;

    /// Reads a whole object; for small objects only (manifests, meta).
    async fn get(&self, key: &str) -> Result<Bytes, BlobError> {
        use futures_util::TryStreamExt;
        let chunks: Vec<Bytes> = self.get_stream(key).await?.try_collect().await?;
        Ok(chunks.concat().into())
    }
}

/// Rejects keys that are empty, absolute, or contain `.`/`..`/empty segments or NUL.
pub fn validate_key(key: &str) -> Result<(), BlobError> {
    let bad = key.is_empty()
        || key.starts_with('/')
        || key.contains('\0')
        || key.contains('\\')
        || key.split('/').any(|part| part.is_empty() || part == "." || part == "..");
    if bad {
        Err(BlobError::InvalidKey(key.to_string()))
    } else {
        Ok(())
    }
}

/// The configured backend. For S3 the bucket is created when missing, in the background
/// and retried until the object store answers: a service starts (not ready, see its
/// `/readyz`) while S3 is still down, rather than exiting.
pub async fn from_settings(settings: &cvat_runtime::Settings) -> Result<std::sync::Arc<dyn BlobStore>, BlobError> {
    if settings.blob_backend == "local" {
        return Ok(std::sync::Arc::new(Measured(std::sync::Arc::new(LocalStore::new(&settings.blob_dir)))));
    }
    let store = std::sync::Arc::new(S3Store::new(
        &settings.s3_endpoint,
        &settings.s3_region,
        &settings.s3_bucket,
        settings.s3_access_key.expose(),
        settings.s3_secret_key.expose(),
    ));
    let creator = store.clone();
    tokio::spawn(async move {
        let mut backoff = std::time::Duration::from_millis(200);
        while let Err(err) = creator.ensure_bucket().await {
            tracing::warn!(error = %err, ?backoff, "object storage not ready; the bucket is created when it answers");
            tokio::time::sleep(backoff).await;
            backoff = (backoff * 2).min(std::time::Duration::from_secs(10));
        }
    });
    Ok(std::sync::Arc::new(Measured(store)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostile_keys_are_refused() {
        for key in ["", "/etc/passwd", "a/../../b", "a//b", "./a", "a\\b", "a\0b", "a/"] {
            assert!(validate_key(key).is_err(), "{key:?}");
        }
        validate_key("tasks/1/chunks/compressed/0").unwrap();
    }

    #[tokio::test]
    async fn local_store_round_trip() {
        use futures_util::StreamExt;
        let dir = std::env::temp_dir().join(format!("cvat-blob-{}", uuid::Uuid::new_v4()));
        let store = LocalStore::new(&dir);
        store.put("a/b/c.bin", Bytes::from_static(b"hello")).await.unwrap();
        assert_eq!(store.get("a/b/c.bin").await.unwrap(), Bytes::from_static(b"hello"));
        assert_eq!(store.get_range("a/b/c.bin", 1, 3).await.unwrap(), Bytes::from_static(b"ell"));
        assert!(store.get_range("a/b/c.bin", 3, 9).await.is_err());
        assert!(store.exists("a/b/c.bin").await.unwrap());
        store.delete("a/b/c.bin").await.unwrap();
        assert!(matches!(store.get("a/b/c.bin").await, Err(BlobError::NotFound(_))));
        let pieces = futures_util::stream::iter([Ok(Bytes::from_static(b"ab")), Ok(Bytes::from_static(b"cd"))]);
        assert_eq!(store.put_stream("s/1", pieces.boxed()).await.unwrap(), 4);
        assert_eq!(store.get("s/1").await.unwrap(), Bytes::from_static(b"abcd"));
        let failing = futures_util::stream::iter([Ok(Bytes::from_static(b"ab")), Err(BlobError::Refused("no".into()))]);
        assert!(store.put_stream("s/2", failing.boxed()).await.is_err());
        assert!(!store.exists("s/2").await.unwrap(), "nothing half-written");
        store.put("t/1/x", Bytes::from_static(b"1")).await.unwrap();
        store.put("t/1/y/z", Bytes::from_static(b"2")).await.unwrap();
        store.put("t/10/x", Bytes::from_static(b"3")).await.unwrap();
        store.delete_dir("t/1").await.unwrap();
        store.delete_dir("t/1").await.unwrap();
        assert!(!store.exists("t/1/y/z").await.unwrap() && store.exists("t/10/x").await.unwrap());
        assert!(matches!(store.put("../x", Bytes::new()).await, Err(BlobError::InvalidKey(_))));
        std::fs::remove_dir_all(dir).unwrap();
    }
}
