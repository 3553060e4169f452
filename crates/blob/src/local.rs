use crate::{validate_key, BlobError, BlobStore, ByteStream};
use bytes::Bytes;
use futures_util::StreamExt;
use std::path::{Path, PathBuf};
use tokio::io::AsyncWriteExt;

/// Objects as files under one directory. Writes go to a temporary file first and are
/// renamed into place, so a reader never sees half an object.
pub struct LocalStore {
    root: PathBuf,
}

impl LocalStore {
    pub fn new(root: impl AsRef<Path>) -> Self {
        Self { root: root.as_ref().to_path_buf() }
    }

    fn path(&self, key: &str) -> Result<PathBuf, BlobError> {
        validate_key(key)?;
        Ok(self.root.join(key))
    }
}

fn not_found(key: &str, err: std::io::Error) -> BlobError {
    if err.kind() == std::io::ErrorKind::NotFound {
        BlobError::NotFound(key.to_string())
    } else {
        BlobError::Io(err)
    }
}

#[async_trait::async_trait]
impl BlobStore for LocalStore {
    async fn put(&self, key: &str, data: Bytes) -> Result<(), BlobError> {
        let path = self.path(key)?;
        let parent = path.parent().expect("a validated key has a parent");
        tokio::fs::create_dir_all(parent).await?;
        let temporary = parent.join(format!(".tmp-{}", uuid::Uuid::new_v4()));
        let mut file = tokio::fs::File::create(&temporary).await?;
        file.write_all(&data).await?;
        file.sync_all().await?;
        tokio::fs::rename(&temporary, &path).await?;
        Ok(())
    }

    async fn put_stream(&self, key: &str, mut data: ByteStream) -> Result<u64, BlobError> {
        let path = self.path(key)?;
        let parent = path.parent().expect("a validated key has a parent");
        tokio::fs::create_dir_all(parent).await?;
        let temporary = parent.join(format!(".tmp-{}", uuid::Uuid::new_v4()));
        let written = async {
            let mut file = tokio::fs::File::create(&temporary).await?;
            let mut size = 0u64;
            while let Some(piece) = data.next().await {
                let piece = piece?;
                size += piece.len() as u64;
                file.write_all(&piece).await?;
            }
            file.sync_all().await?;
            Ok::<u64, BlobError>(size)
        }
        .await;
        match written {
            Ok(size) => {
                tokio::fs::rename(&temporary, &path).await?;
                Ok(size)
            }
            Err(err) => {
                let _ = tokio::fs::remove_file(&temporary).await;
                Err(err)
            }
        }
    }

    async fn get_stream(&self, key: &str) -> Result<ByteStream, BlobError> {
        let file = tokio::fs::File::open(self.path(key)?).await.map_err(|e| not_found(key, e))?;
        let stream = tokio_util_stream(file);
        Ok(stream.boxed())
    }

    async fn get_range(&self, key: &str, offset: u64, length: u64) -> Result<Bytes, BlobError> {
        use tokio::io::{AsyncReadExt, AsyncSeekExt};
        let mut file = tokio::fs::File::open(self.path(key)?).await.map_err(|e| not_found(key, e))?;
        file.seek(std::io::SeekFrom::Start(offset)).await?;
        let mut out = vec![0u8; length as usize];
        file.read_exact(&mut out).await.map_err(|e| not_found(key, e))?;
        Ok(Bytes::from(out))
    }

    async fn delete_dir(&self, dir: &str) -> Result<(), BlobError> {
        match tokio::fs::remove_dir_all(self.path(dir)?).await {
            Err(err) if err.kind() != std::io::ErrorKind::NotFound => Err(err.into()),
            _ => Ok(()),
        }
    }

    async fn delete(&self, key: &str) -> Result<(), BlobError> {
        match tokio::fs::remove_file(self.path(key)?).await {
            Err(err) if err.kind() != std::io::ErrorKind::NotFound => Err(err.into()),
            _ => Ok(()),
        }
    }

    async fn exists(&self, key: &str) -> Result<bool, BlobError> {
        Ok(tokio::fs::try_exists(self.path(key)?).await?)
    }

    async fn ping(&self) -> Result<(), BlobError> {
        tokio::fs::create_dir_all(&self.root).await?;
        Ok(())
    }
}

/// Reads a file in 64 KiB pieces.
fn tokio_util_stream(file: tokio::fs::File) -> impl futures_util::Stream<Item = Result<Bytes, BlobError>> {
    use tokio::io::AsyncReadExt;
    futures_util::stream::unfold(Some(file), |state| async move {
        let mut file = state?;
        let mut buffer = vec![0u8; 64 * 1024];
        match file.read(&mut buffer).await {
            Ok(0) => None,
            Ok(n) => {
                buffer.truncate(n);
                Some((Ok(Bytes::from(buffer)), Some(file)))
            }
            Err(err) => Some((Err(BlobError::Io(err)), None)),
        }
    })
}
