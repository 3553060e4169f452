use crate::{validate_key, BlobError, BlobStore, ByteStream};
use aws_sdk_s3::config::{Credentials, Region};
use aws_sdk_s3::primitives::ByteStream as S3Body;
use aws_sdk_s3::Client;
use bytes::Bytes;
use futures_util::StreamExt;

/// An S3-compatible bucket (path-style addressing, so any endpoint works).
pub struct S3Store {
    client: Client,
    bucket: String,
}

impl S3Store {
    pub fn new(endpoint: &str, region: &str, bucket: &str, access_key: &str, secret_key: &str) -> Self {
        let credentials = Credentials::new(access_key, secret_key, None, None, "cvat-config");
        let config = aws_sdk_s3::Config::builder()
            .behavior_version_latest()
            .endpoint_url(endpoint)
            .region(Region::new(region.to_string()))
            .credentials_provider(credentials)
            .force_path_style(true)
            .build();
        Self { client: Client::from_conf(config), bucket: bucket.to_string() }
    }

    /// Creates the bucket if it does not exist yet.
    pub async fn ensure_bucket(&self) -> Result<(), BlobError> {
        if self.client.head_bucket().bucket(&self.bucket).send().await.is_ok() {
            return Ok(());
        }
        match self.client.create_bucket().bucket(&self.bucket).send().await {
            Ok(_) => Ok(()),
            // Another process may have created it in between.
            Err(_) if self.client.head_bucket().bucket(&self.bucket).send().await.is_ok() => Ok(()),
            Err(err) => Err(unavailable(err)),
        }
    }
}

fn unavailable(err: impl std::error::Error) -> BlobError {
    BlobError::Unavailable(aws_sdk_s3::error::DisplayErrorContext(err).to_string())
}

#[async_trait::async_trait]
impl BlobStore for S3Store {
    async fn put(&self, key: &str, data: Bytes) -> Result<(), BlobError> {
        validate_key(key)?;
        self.client
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .body(S3Body::from(data))
            .send()
            .await
            .map_err(unavailable)?;
        Ok(())
    }

    async fn get_stream(&self, key: &str) -> Result<ByteStream, BlobError> {
        validate_key(key)?;
        let output = self.client.get_object().bucket(&self.bucket).key(key).send().await.map_err(|err| {
            if err.as_service_error().is_some_and(|e| e.is_no_such_key()) {
                BlobError::NotFound(key.to_string())
            } else {
                unavailable(err)
            }
        })?;
        let stream = futures_util::stream::unfold(output.body, |mut body| async move {
            match body.next().await? {
                Ok(bytes) => Some((Ok(bytes), body)),
                Err(err) => Some((Err(unavailable(err)), body)),
            }
        });
        Ok(stream.boxed())
    }

    async fn get_range(&self, key: &str, offset: u64, length: u64) -> Result<Bytes, BlobError> {
        validate_key(key)?;
        if length == 0 {
            return Ok(Bytes::new());
        }
        let range = format!("bytes={offset}-{}", offset + length - 1);
        let output =
            self.client.get_object().bucket(&self.bucket).key(key).range(range).send().await.map_err(|err| {
                if err.as_service_error().is_some_and(|e| e.is_no_such_key()) {
                    BlobError::NotFound(key.to_string())
                } else {
                    unavailable(err)
                }
            })?;
        let bytes = output.body.collect().await.map_err(unavailable)?.into_bytes();
        if bytes.len() as u64 != length {
            return Err(BlobError::NotFound(format!("{key} [{offset}+{length}]")));
        }
        Ok(bytes)
    }

    async fn delete_dir(&self, dir: &str) -> Result<(), BlobError> {
        validate_key(dir)?;
        let prefix = format!("{dir}/");
        let mut token: Option<String> = None;
        loop {
            let page = self
                .client
                .list_objects_v2()
                .bucket(&self.bucket)
                .prefix(&prefix)
                .set_continuation_token(token.take())
                .send()
                .await
                .map_err(unavailable)?;
            for object in page.contents() {
                if let Some(key) = object.key() {
                    self.client.delete_object().bucket(&self.bucket).key(key).send().await.map_err(unavailable)?;
                }
            }
            match page.next_continuation_token() {
                Some(next) if page.is_truncated() == Some(true) => token = Some(next.to_string()),
                _ => return Ok(()),
            }
        }
    }

    async fn delete(&self, key: &str) -> Result<(), BlobError> {
        validate_key(key)?;
        self.client.delete_object().bucket(&self.bucket).key(key).send().await.map_err(unavailable)?;
        Ok(())
    }

    async fn exists(&self, key: &str) -> Result<bool, BlobError> {
        validate_key(key)?;
        match self.client.head_object().bucket(&self.bucket).key(key).send().await {
            Ok(_) => Ok(true),
            Err(err) if err.as_service_error().is_some_and(|e| e.is_not_found()) => Ok(false),
            Err(err) => Err(unavailable(err)),
        }
    }

    async fn ping(&self) -> Result<(), BlobError> {
        self.client.head_bucket().bucket(&self.bucket).send().await.map_err(unavailable)?;
        Ok(())
    }
}
