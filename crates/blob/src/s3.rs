use crate::{validate_key, BlobError, BlobStore, ByteStream};
use aws_sdk_s3::config::{Credentials, Region};
use aws_sdk_s3::primitives::ByteStream as S3Body;
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart};
use aws_sdk_s3::Client;
use bytes::Bytes;
use futures_util::StreamExt;

/// An S3-compatible bucket (path-style addressing on custom endpoints, so any server works).
pub struct S3Store {
    client: Client,
    bucket: String,
}

/// Keys of a signed S3 connection. `Debug` never shows them.
#[derive(Clone)]
pub struct S3Keys {
    pub access_key: String,
    pub secret_key: String,
    pub session_token: Option<String>,
}

impl S3Keys {
    /// The field (`key` or `session_token`) whose value cannot go into a request's
    /// headers (only visible ASCII can; the SDK would fail on anything else), if any.
    pub fn unusable_field(&self) -> Option<&'static str> {
        let visible = |text: &str| text.bytes().all(|b| b.is_ascii_graphic());
        if !visible(&self.access_key) {
            Some("key")
        } else if !self.session_token.as_deref().is_none_or(visible) {
            Some("session_token")
        } else {
            None
        }
    }
}

impl std::fmt::Debug for S3Keys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("S3Keys(***)")
    }
}

/// How to reach a bucket: the server's own, or one a user attached as a cloud storage.
#[derive(Debug, Clone)]
pub struct S3Access {
    /// `None`: AWS's own endpoint of the region.
    pub endpoint: Option<String>,
    pub region: String,
    pub bucket: String,
    /// `None`: anonymous (unsigned) requests to a public bucket.
    pub keys: Option<S3Keys>,
    /// Bounds each request (for buckets of users, which may not answer).
    pub timeout: Option<std::time::Duration>,
}

/// What a bucket answers to its credentials.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BucketStatus {
    Available,
    NotFound,
    Forbidden,
}

impl BucketStatus {
    /// CVAT's names.
    pub fn as_str(self) -> &'static str {
        match self {
            BucketStatus::Available => "AVAILABLE",
            BucketStatus::NotFound => "NOT_FOUND",
            BucketStatus::Forbidden => "FORBIDDEN",
        }
    }
}

/// One page of a bucket listing, one level below a prefix.
#[derive(Debug, Default)]
pub struct BucketPage {
    /// Object keys.
    pub files: Vec<String>,
    /// Common prefixes, each ending with `/`.
    pub directories: Vec<String>,
    pub next: Option<String>,
}

impl S3Store {
    pub fn new(endpoint: &str, region: &str, bucket: &str, access_key: &str, secret_key: &str) -> Self {
        let keys = S3Keys { access_key: access_key.into(), secret_key: secret_key.into(), session_token: None };
        Self::connect(&S3Access {
            endpoint: Some(endpoint.to_string()),
            region: region.to_string(),
            bucket: bucket.to_string(),
            keys: Some(keys),
            timeout: None,
        })
    }

    pub fn connect(access: &S3Access) -> Self {
        let mut config = aws_sdk_s3::Config::builder()
            .behavior_version_latest()
            .region(Region::new(access.region.clone()))
            // Checksums only where S3 requires them: servers compute the checksum of a
            // multipart object differently (per part), which would fail every read of it.
            .request_checksum_calculation(aws_sdk_s3::config::RequestChecksumCalculation::WhenRequired)
            .response_checksum_validation(aws_sdk_s3::config::ResponseChecksumValidation::WhenRequired);
        if let Some(endpoint) = &access.endpoint {
            config = config.endpoint_url(endpoint).force_path_style(true);
        }
        config = match &access.keys {
            Some(keys) => config.credentials_provider(Credentials::new(
                &keys.access_key,
                &keys.secret_key,
                keys.session_token.clone(),
                None,
                "cvat-config",
            )),
            None => config.allow_no_auth(),
        };
        if let Some(timeout) = access.timeout {
            let timeouts = aws_sdk_s3::config::timeout::TimeoutConfig::builder()
                .connect_timeout(timeout.min(std::time::Duration::from_secs(10)))
                .operation_attempt_timeout(timeout)
                // The whole call, name resolution and credentials included.
                .operation_timeout(timeout)
                .build();
            config = config.timeout_config(timeouts).retry_config(aws_sdk_s3::config::retry::RetryConfig::disabled());
        }
        Self { client: Client::from_conf(config.build()), bucket: access.bucket.clone() }
    }

    /// Whether the bucket answers to these credentials.
    pub async fn status(&self) -> Result<BucketStatus, BlobError> {
        match self.client.head_bucket().bucket(&self.bucket).send().await {
            Ok(_) => Ok(BucketStatus::Available),
            Err(err) => match err.raw_response().map(|r| r.status().as_u16()) {
                Some(404) => Ok(BucketStatus::NotFound),
                Some(401 | 403) => Ok(BucketStatus::Forbidden),
                _ => Err(unavailable(err)),
            },
        }
    }

    /// One page of the objects and "directories" right below `prefix`; with `flat`, every
    /// object under it.
    pub async fn list_page(
        &self,
        prefix: &str,
        flat: bool,
        token: Option<String>,
        page_size: i32,
    ) -> Result<BucketPage, BlobError> {
        let mut request = self
            .client
            .list_objects_v2()
            .bucket(&self.bucket)
            .prefix(prefix)
            .max_keys(page_size)
            .set_continuation_token(token);
        if !flat {
            request = request.delimiter("/");
        }
        let page = request.send().await.map_err(unavailable)?;
        Ok(BucketPage {
            files: page
                .contents()
                .iter()
                .filter_map(|o| o.key())
                .filter(|k| !k.ends_with('/'))
                .map(str::to_string)
                .collect(),
            directories: page.common_prefixes().iter().filter_map(|p| p.prefix()).map(str::to_string).collect(),
            next: page.next_continuation_token().filter(|_| page.is_truncated() == Some(true)).map(str::to_string),
        })
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
