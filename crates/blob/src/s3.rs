use crate::{validate_key, BlobError, BlobStore, ByteStream};
use aws_sdk_s3::config::{Credentials, Region};
use aws_sdk_s3::primitives::ByteStream as S3Body;
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart};
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
            // Checksums only where S3 requires them: servers compute the checksum of a
            // multipart object differently (per part), which would fail every read of it.
            .request_checksum_calculation(aws_sdk_s3::config::RequestChecksumCalculation::WhenRequired)
            .response_checksum_validation(aws_sdk_s3::config::ResponseChecksumValidation::WhenRequired)
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

/// Parts of a multipart upload (S3 needs at least 5 MiB for all but the last).
const PART_BYTES: usize = 8 << 20;

impl S3Store {
    async fn upload_part(
        &self,
        key: &str,
        upload: &mut Option<(String, Vec<CompletedPart>)>,
        body: Bytes,
    ) -> Result<(), BlobError> {
        if upload.is_none() {
            let created = self
                .client
                .create_multipart_upload()
                .bucket(&self.bucket)
                .key(key)
                .send()
                .await
                .map_err(unavailable)?;
            let id = created.upload_id().ok_or_else(|| BlobError::Unavailable("no upload id".into()))?;
            *upload = Some((id.to_string(), Vec::new()));
        }
        let (id, parts) = upload.as_mut().expect("just started");
        let number = parts.len() as i32 + 1;
        let sent = self
            .client
            .upload_part()
            .bucket(&self.bucket)
            .key(key)
            .upload_id(id.as_str())
            .part_number(number)
            .body(S3Body::from(body))
            .send()
            .await
            .map_err(unavailable)?;
        parts.push(CompletedPart::builder().part_number(number).set_e_tag(sent.e_tag().map(str::to_string)).build());
        Ok(())
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

    async fn put_stream(&self, key: &str, mut data: ByteStream) -> Result<u64, BlobError> {
        validate_key(key)?;
        let mut buffer = bytes::BytesMut::new();
        let mut size = 0u64;
        let mut upload: Option<(String, Vec<CompletedPart>)> = None;
        let result = async {
            while let Some(piece) = data.next().await {
                let piece = piece?;
                size += piece.len() as u64;
                buffer.extend_from_slice(&piece);
                if buffer.len() >= PART_BYTES {
                    self.upload_part(key, &mut upload, buffer.split().freeze()).await?;
                }
            }
            match upload.as_mut() {
                // Small enough for one request.
                None => self.put(key, buffer.split().freeze()).await,
                Some(_) => {
                    if !buffer.is_empty() {
                        self.upload_part(key, &mut upload, buffer.split().freeze()).await?;
                    }
                    let (id, parts) = upload.take().expect("an upload was started");
                    let completed = CompletedMultipartUpload::builder().set_parts(Some(parts)).build();
                    self.client
                        .complete_multipart_upload()
                        .bucket(&self.bucket)
                        .key(key)
                        .upload_id(&id)
                        .multipart_upload(completed)
                        .send()
                        .await
                        .map_err(unavailable)?;
                    Ok(())
                }
            }
        }
        .await;
        if let (Err(_), Some((id, _))) = (&result, &upload) {
            let _ = self.client.abort_multipart_upload().bucket(&self.bucket).key(key).upload_id(id).send().await;
        }
        result.map(|_| size)
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
