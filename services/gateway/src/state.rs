//! Clients of the backend services, shared by every request.

use cvat_proto::auth::auth_client::AuthClient;
use cvat_proto::task::task_client::TaskClient;
use cvat_runtime::credentials::{Authorized, Outgoing};
use cvat_runtime::Settings;
use std::time::Duration;
use tonic::transport::{Channel, Endpoint};

pub type Traced = Authorized;
pub type TaskApi = TaskClient<Traced>;

pub struct AppState {
    pub auth: AuthClient<Traced>,
    pub task: TaskClient<Traced>,
    pub blobs: std::sync::Arc<dyn cvat_blob::BlobStore>,
    pub max_json_bytes: usize,
    pub max_annotation_bytes: usize,
    /// How long a request body may send nothing before it is refused.
    pub body_idle: Duration,
    pub max_upload_file_bytes: usize,
    pub max_tus_bytes: u64,
    pub share: cvat_blob::share::Share,
    pub hosts: crate::host::HostPolicy,
    pub verified: crate::verified::VerifiedCredentials,
    pub frames: crate::data_cache::DataCache,
    pub chunks: std::sync::Arc<crate::data_cache::DataCache>,
}

fn channel(url: &str) -> anyhow::Result<Channel> {
    // Lazy: a backend that is down fails the requests that need it (503) and is used
    // again as soon as it is back, without restarting the gateway.
    Ok(Endpoint::from_shared(url.to_string())?
        .connect_timeout(Duration::from_secs(3))
        .timeout(Duration::from_secs(30))
        .connect_lazy())
}

impl AppState {
    pub async fn connect(settings: &Settings) -> anyhow::Result<Self> {
        let credential = Outgoing::new(settings.service_token()?)?;
        Ok(Self {
            auth: AuthClient::with_interceptor(channel(&settings.auth_url)?, credential.clone()),
            task: TaskClient::with_interceptor(channel(&settings.task_url)?, credential),
            blobs: cvat_blob::from_settings(settings).await?,
            max_json_bytes: settings.max_json_bytes,
            max_annotation_bytes: settings.max_annotation_bytes,
            body_idle: Duration::from_secs(settings.body_idle_timeout_seconds.max(1)),
            max_upload_file_bytes: settings.max_upload_file_bytes,
            max_tus_bytes: settings.max_tus_bytes,
            share: cvat_blob::share::Share::new(&settings.share_dir),
            hosts: crate::host::HostPolicy::new(&settings.allowed_hosts, &settings.trusted_proxies)
                .map_err(anyhow::Error::msg)?,
            verified: crate::verified::VerifiedCredentials::new(Duration::from_secs(settings.credential_cache_seconds)),
            frames: crate::data_cache::DataCache::new(settings.frame_cache_bytes, "frames"),
            chunks: std::sync::Arc::new(crate::data_cache::DataCache::new(settings.chunk_cache_bytes, "chunks")),
        })
    }

    pub fn auth(&self) -> AuthClient<Traced> {
        self.auth.clone()
    }

    pub fn task(&self) -> TaskClient<Traced> {
        self.task.clone()
    }
}
