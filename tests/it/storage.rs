//! The blob store contract, run against both backends: the real S3 server and a directory.

use bytes::Bytes;
use cvat_blob::{BlobError, BlobStore, LocalStore};
use futures_util::{StreamExt, TryStreamExt};

async fn contract(store: &dyn BlobStore) {
    let key = format!("it/{}/chunks/0.zip", uuid::Uuid::new_v4());
    assert!(!store.exists(&key).await.unwrap());
    assert!(matches!(store.get(&key).await, Err(BlobError::NotFound(_))));
    let big = Bytes::from(vec![7u8; 3 * 1024 * 1024 + 17]);
    store.put(&key, big.clone()).await.unwrap();
    assert!(store.exists(&key).await.unwrap());
    let streamed: Vec<Bytes> = store.get_stream(&key).await.unwrap().try_collect().await.unwrap();
    assert_eq!(streamed.concat(), big.to_vec());
    store.put(&key, Bytes::from_static(b"replaced")).await.unwrap();
    assert_eq!(store.get(&key).await.unwrap(), Bytes::from_static(b"replaced"));
    assert_eq!(store.get_range(&key, 2, 5).await.unwrap(), Bytes::from_static(b"place"));
    assert!(store.get_range(&format!("{key}.missing"), 0, 1).await.is_err());
    store.delete(&key).await.unwrap();
    assert!(!store.exists(&key).await.unwrap());
    // A stream larger than one multipart part, in uneven pieces.
    let pieces: Vec<Result<Bytes, BlobError>> =
        (0..9u8).map(|i| Ok(Bytes::from(vec![i; 1024 * 1024 + 3 * i as usize]))).collect();
    let expected: Vec<u8> = pieces.iter().flat_map(|p| p.as_ref().unwrap().to_vec()).collect();
    let size = store.put_stream(&key, futures_util::stream::iter(pieces).boxed()).await.unwrap();
    assert_eq!(size, expected.len() as u64);
    assert_eq!(store.get(&key).await.unwrap().as_ref(), expected.as_slice());
    let failing =
        futures_util::stream::iter([Ok(Bytes::from(vec![1u8; 9 << 20])), Err(BlobError::Refused("too large".into()))]);
    let other = format!("{key}.refused");
    assert!(store.put_stream(&other, failing.boxed()).await.is_err());
    assert!(!store.exists(&other).await.unwrap(), "a refused stream leaves nothing");
    store.delete(&key).await.unwrap();
    let dir = format!("it/{}", uuid::Uuid::new_v4());
    for name in ["a", "b/c", "d/e/f"] {
        store.put(&format!("{dir}/{name}"), Bytes::from_static(b"x")).await.unwrap();
    }
    store.put(&format!("{dir}0/kept"), Bytes::from_static(b"x")).await.unwrap();
    store.delete_dir(&dir).await.unwrap();
    assert!(!store.exists(&format!("{dir}/d/e/f")).await.unwrap());
    assert!(store.exists(&format!("{dir}0/kept")).await.unwrap(), "a sibling with the same prefix stays");
    for hostile in ["../escape", "/abs/key", "a/../../b"] {
        assert!(matches!(store.put(hostile, Bytes::new()).await, Err(BlobError::InvalidKey(_))), "{hostile}");
    }
    store.ping().await.unwrap();
}

#[tokio::test]
async fn s3_backend() {
    let store = crate::common::stack_store();
    store.ensure_bucket().await.unwrap();
    contract(&store).await;
}

#[tokio::test]
async fn local_backend() {
    let dir = std::env::temp_dir().join(format!("cvat-it-{}", uuid::Uuid::new_v4()));
    contract(&LocalStore::new(&dir)).await;
    std::fs::remove_dir_all(dir).ok();
}
