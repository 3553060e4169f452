//! Configuration: one struct, read once at start-up from the environment, with defaults
//! that work for `make run`. Every variable is listed in the README.

use std::fmt;
use std::net::SocketAddr;

/// A value that must never be printed: `Debug` and `Display` show `***`.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

#[derive(Debug, thiserror::Error)]
#[error("invalid configuration: {name}={value:?}: {reason}")]
pub struct ConfigError {
    name: String,
    value: String,
    reason: String,
}

#[derive(Debug, Clone)]
pub struct Settings {
    pub database_url: Secret,
    pub redis_url: Secret,
    pub amqp_url: Secret,
    pub queue_prefix: String,
    pub blob_backend: String,
    pub blob_dir: String,
    /// The server's share (`server_files`, `/api/server/share`).
    pub share_dir: String,
    pub s3_endpoint: String,
    pub s3_region: String,
    pub s3_bucket: String,
    pub s3_access_key: Secret,
    pub s3_secret_key: Secret,
    pub gateway_listen: SocketAddr,
    pub auth_listen: SocketAddr,
    pub task_listen: SocketAddr,
    pub auth_url: String,
    pub task_url: String,
    /// Health and metrics port of a non-HTTP service (auth, task, media, export).
    pub health_listen: SocketAddr,
    pub max_json_bytes: usize,
    /// The largest annotation document a PUT or PATCH may send.
    pub max_annotation_bytes: usize,
    /// A request body that sends nothing for this long is refused (the connection freed).
    pub body_idle_timeout_seconds: u64,
    /// The largest image or video frame decoded, in pixels (Pillow's limit by default).
    pub max_image_pixels: u64,
    /// No SQL statement of a request runs longer (milliseconds; 0: no limit).
    pub db_statement_timeout_ms: u64,
    /// Invited users accept invitations themselves instead of joining at once.
    pub org_invitation_confirm: bool,
    /// Hosts the API answers for (Django's `ALLOWED_HOSTS`): names, `.domain`, or `*`.
    pub allowed_hosts: Vec<String>,
    /// Networks (CIDRs) of reverse proxies whose `X-Forwarded-Host`/`-Proto` are believed.
    pub trusted_proxies: Vec<String>,
    /// The largest file accepted in a data upload.
    pub max_upload_file_bytes: usize,
    /// The largest file accepted over TUS (resumable uploads).
    pub max_tus_bytes: u64,
    pub admin_user: String,
    pub admin_email: String,
    pub admin_password: Secret,
    pub session_ttl_seconds: i64,
    pub login_max_failures: u32,
    pub login_window_seconds: u64,
    pub otlp_endpoint: Option<String>,
    /// Networks that `remote_files` may reach although they are not public (CIDRs, comma separated).
    pub remote_allowed_networks: Vec<String>,
    pub remote_max_bytes: u64,
    pub remote_timeout_seconds: u64,
    /// Uploads of a task without data that saw no activity this long are deleted.
    pub upload_ttl_seconds: u64,
    /// How long a function's agent holds a request without reporting (then it is queued
    /// again for another agent).
    pub function_lease_seconds: u64,
    /// How long an online function call waits for an agent's answer (below the
    /// gateway's 30 s deadline of a backend call).
    pub function_answer_seconds: u64,
    /// Webhook deliveries an export service posts at once.
    pub webhook_consumers: usize,
    /// The credential of calls from the gateway (and the task service) to auth and task;
    /// see [`Settings::service_token`].
    service_token: Option<Secret>,
    /// The credential of workers' calls to the task service's internal API; see
    /// [`Settings::worker_token`].
    worker_token: Option<Secret>,
    /// `CVAT_DEV_MODE=1` (set by `make run`, `make test`, `make bench`): secrets may be
    /// left unset and take built-in development values. Without it every secret must be
    /// configured and a service refuses to start otherwise.
    pub dev_mode: bool,
    /// Connections of a service's PostgreSQL pool; see [`default_pool_size`].
    pub db_pool_size: usize,
    /// How long a gateway keeps a verified API key or access token (0 = ask the auth
    /// service on every request); changes announced by the auth service clear it at once.
    pub credential_cache_seconds: u64,
    /// Bytes of frames (and previews) a gateway keeps in memory after their first read.
    pub frame_cache_bytes: usize,
    /// Bytes of chunks a gateway keeps in memory (0: none); one chunk at most a quarter.
    pub chunk_cache_bytes: usize,
    /// Counts of project, task and job lists a task service keeps between writes.
    pub list_count_cache_entries: usize,
}

/// The service tokens: each required only by the services that use it, so that a
/// deployment can give workers the worker token alone.
const TOKENS: [&str; 2] = ["CVAT_SERVICE_TOKEN", "CVAT_WORKER_TOKEN"];

/// Secrets with a built-in value for development only.
const DEV_SECRETS: &[(&str, &str)] = &[
    ("CVAT_DATABASE_URL", "postgres://cvat:cvat@127.0.0.1:5432/cvat"),
    ("CVAT_REDIS_URL", "redis://127.0.0.1:6379/0"),
    ("CVAT_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/%2f"),
    ("CVAT_S3_ACCESS_KEY", "cvat"),
    ("CVAT_S3_SECRET_KEY", "cvat-secret-key"),
    ("CVAT_ADMIN_PASSWORD", "cvat-admin-2024"),
    ("CVAT_SERVICE_TOKEN", "dev-service-token"),
    ("CVAT_WORKER_TOKEN", "dev-worker-token"),
];

/// Service tokens shorter than this are refused outside development.
const MIN_TOKEN_LENGTH: usize = 24;

type Lookup<'a> = &'a dyn Fn(&str) -> Option<String>;

impl Settings {
    /// Reads the process environment. `default_health_port` differs per service so that
    /// all five can run on one machine without configuration.
    pub fn from_env(default_health_port: u16) -> Result<Self, ConfigError> {
        Self::from_lookup(&|name| std::env::var(name).ok(), default_health_port)
    }

    pub fn from_lookup(env: Lookup<'_>, default_health_port: u16) -> Result<Self, ConfigError> {
        let text =
            |name: &str, default: &str| env(name).filter(|v| !v.is_empty()).unwrap_or_else(|| default.to_string());
        let dev_mode = matches!(text("CVAT_DEV_MODE", "0").as_str(), "1" | "true" | "yes");
        check_secrets(env, dev_mode)?;
        let secret = |name: &str| {
            // Built-in values exist for development only; in production an unset secret
            // stays unset (checked above, or by the service that needs it).
            let default = DEV_SECRETS.iter().find(|(n, _)| dev_mode && *n == name).map_or("", |(_, v)| v);
            Secret::new(text(name, default))
        };
        Ok(Self {
            database_url: secret("CVAT_DATABASE_URL"),
            redis_url: secret("CVAT_REDIS_URL"),
            amqp_url: secret("CVAT_AMQP_URL"),
            queue_prefix: text("CVAT_QUEUE_PREFIX", "cvat"),
            blob_backend: one_of(env, "CVAT_BLOB_BACKEND", "s3", &["s3", "local"])?,
            blob_dir: text("CVAT_BLOB_DIR", ".data/blobs"),
            share_dir: text("CVAT_SHARE_DIR", ".data/share"),
            s3_endpoint: text("CVAT_S3_ENDPOINT", "http://127.0.0.1:8014"),
            s3_region: text("CVAT_S3_REGION", "us-east-1"),
            s3_bucket: text("CVAT_S3_BUCKET", "cvat"),
            s3_access_key: secret("CVAT_S3_ACCESS_KEY"),
            s3_secret_key: secret("CVAT_S3_SECRET_KEY"),
            gateway_listen: parse(env, "CVAT_GATEWAY_LISTEN", "127.0.0.1:8080")?,
            auth_listen: parse(env, "CVAT_AUTH_LISTEN", "127.0.0.1:50051")?,
            task_listen: parse(env, "CVAT_TASK_LISTEN", "127.0.0.1:50052")?,
            auth_url: text("CVAT_AUTH_URL", "http://127.0.0.1:50051"),
            task_url: text("CVAT_TASK_URL", "http://127.0.0.1:50052"),
            health_listen: parse(env, "CVAT_HEALTH_LISTEN", &format!("127.0.0.1:{default_health_port}"))?,
            max_json_bytes: parse(env, "CVAT_MAX_JSON_BYTES", "1048576")?,
            max_annotation_bytes: parse(env, "CVAT_MAX_ANNOTATION_BYTES", "268435456")?,
            body_idle_timeout_seconds: parse(env, "CVAT_BODY_IDLE_TIMEOUT_SECONDS", "30")?,
            max_image_pixels: parse(env, "CVAT_MAX_IMAGE_PIXELS", "178956970")?,
            db_statement_timeout_ms: parse(env, "CVAT_DB_STATEMENT_TIMEOUT_MS", "20000")?,
            org_invitation_confirm: parse(env, "CVAT_ORG_INVITATION_CONFIRM", "false")?,
            allowed_hosts: list(&text("CVAT_ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]")),
            trusted_proxies: list(&text("CVAT_TRUSTED_PROXIES", "")),
            max_upload_file_bytes: parse(env, "CVAT_MAX_UPLOAD_FILE_BYTES", "104857600")?,
            max_tus_bytes: parse(env, "CVAT_MAX_TUS_BYTES", "4294967296")?,
            admin_user: text("CVAT_ADMIN_USER", "admin"),
            admin_email: text("CVAT_ADMIN_EMAIL", "admin@localhost"),
            admin_password: secret("CVAT_ADMIN_PASSWORD"),
            session_ttl_seconds: parse(env, "CVAT_SESSION_TTL_SECONDS", "1209600")?,
            login_max_failures: parse(env, "CVAT_LOGIN_MAX_FAILURES", "10")?,
            login_window_seconds: parse(env, "CVAT_LOGIN_WINDOW_SECONDS", "300")?,
            otlp_endpoint: env("OTEL_EXPORTER_OTLP_ENDPOINT").filter(|v| !v.is_empty()),
            remote_allowed_networks: list(&text("CVAT_REMOTE_ALLOWED_NETWORKS", "")),
            remote_max_bytes: parse(env, "CVAT_REMOTE_MAX_BYTES", "1073741824")?,
            remote_timeout_seconds: parse(env, "CVAT_REMOTE_TIMEOUT_SECONDS", "300")?,
            upload_ttl_seconds: parse(env, "CVAT_UPLOAD_TTL_SECONDS", "86400")?,
            function_lease_seconds: parse(env, "CVAT_FUNCTION_LEASE_SECONDS", "120")?,
            function_answer_seconds: parse(env, "CVAT_FUNCTION_ANSWER_SECONDS", "20")?,
            webhook_consumers: parse(env, "CVAT_WEBHOOK_CONSUMERS", "8")?,
            service_token: Some(secret("CVAT_SERVICE_TOKEN")).filter(|s| !s.expose().is_empty()),
            worker_token: Some(secret("CVAT_WORKER_TOKEN")).filter(|s| !s.expose().is_empty()),
            dev_mode,
            db_pool_size: parse(env, "CVAT_DB_POOL_SIZE", &default_pool_size().to_string())?,
            credential_cache_seconds: parse(env, "CVAT_CREDENTIAL_CACHE_SECONDS", "5")?,
            frame_cache_bytes: parse(env, "CVAT_FRAME_CACHE_BYTES", "67108864")?,
            chunk_cache_bytes: parse(env, "CVAT_CHUNK_CACHE_BYTES", "67108864")?,
            list_count_cache_entries: parse(env, "CVAT_LIST_COUNT_CACHE_ENTRIES", "10000")?,
        })
    }
}

impl Settings {
    /// The service credential, for the services that send or check it (gateway, auth,
    /// task); a start-up error when it is not configured.
    pub fn service_token(&self) -> Result<&Secret, ConfigError> {
        self.service_token.as_ref().ok_or_else(|| unset(TOKENS[0]))
    }

    /// The worker credential, for the task service and the workers.
    pub fn worker_token(&self) -> Result<&Secret, ConfigError> {
        self.worker_token.as_ref().ok_or_else(|| unset(TOKENS[1]))
    }
}

fn unset(name: &str) -> ConfigError {
    ConfigError { name: name.into(), value: String::new(), reason: "required by this service".into() }
}

/// Outside development every secret but the tokens is set, and the tokens that are set
/// are long and different from each other (a worker must not be able to act as the
/// gateway).
fn check_secrets(env: Lookup<'_>, dev_mode: bool) -> Result<(), ConfigError> {
    if dev_mode {
        return Ok(());
    }
    let value = |name: &str| env(name).filter(|v| !v.is_empty());
    let missing: Vec<&str> = DEV_SECRETS
        .iter()
        .map(|(name, _)| *name)
        .filter(|name| !TOKENS.contains(name) && value(name).is_none())
        .collect();
    if !missing.is_empty() {
        return Err(ConfigError {
            name: missing.join(", "),
            value: String::new(),
            reason: "required outside development (CVAT_DEV_MODE=1 allows built-in values)".into(),
        });
    }
    let (service, worker) = (value(TOKENS[0]), value(TOKENS[1]));
    let short = [&service, &worker].into_iter().flatten().any(|token| token.len() < MIN_TOKEN_LENGTH);
    if short || (service.is_some() && service == worker) {
        return Err(ConfigError {
            name: "CVAT_SERVICE_TOKEN, CVAT_WORKER_TOKEN".into(),
            value: "***".into(),
            reason: format!("each at least {MIN_TOKEN_LENGTH} characters, and different from each other"),
        });
    }
    Ok(())
}

/// A comma-separated setting, blanks dropped.
fn list(value: &str) -> Vec<String> {
    value.split(',').map(str::trim).filter(|n| !n.is_empty()).map(str::to_string).collect()
}

/// Two connections per core this process may use (its CPU quota, in a container), at
/// least four. Measured with PostgreSQL on the same two cores, lists at 32 concurrent
/// requests: 16 connections gave 2–4× the p99 of 4 at the same rate (backends beyond
/// what the cores run at once are preempted mid-statement), 2 lost a fifth of the rate.
/// A database on machines of its own may take more: set `CVAT_DB_POOL_SIZE`.
fn default_pool_size() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get()).saturating_mul(2).max(4)
}

fn parse<T: std::str::FromStr>(env: Lookup<'_>, name: &str, default: &str) -> Result<T, ConfigError>
where
    T::Err: fmt::Display,
{
    let value = env(name).filter(|v| !v.is_empty()).unwrap_or_else(|| default.to_string());
    value.parse().map_err(|e: T::Err| ConfigError { name: name.into(), value, reason: e.to_string() })
}

fn one_of(env: Lookup<'_>, name: &str, default: &str, allowed: &[&str]) -> Result<String, ConfigError> {
    let value = env(name).filter(|v| !v.is_empty()).unwrap_or_else(|| default.to_string());
    if allowed.contains(&value.as_str()) {
        Ok(value)
    } else {
        Err(ConfigError { name: name.into(), value, reason: format!("expected one of {allowed:?}") })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dev(name: &str) -> Option<String> {
        (name == "CVAT_DEV_MODE").then(|| "1".into())
    }

    #[test]
    fn defaults_work_in_development() {
        let settings = Settings::from_lookup(&dev, 9101).unwrap();
        assert_eq!(settings.gateway_listen.port(), 8080);
        assert_eq!(settings.health_listen.port(), 9101);
        assert!(settings.otlp_endpoint.is_none());
    }

    #[test]
    fn secrets_never_print() {
        let env = |n: &str| if n == "CVAT_ADMIN_PASSWORD" { Some("hunter22".into()) } else { dev(n) };
        let settings = Settings::from_lookup(&env, 1).unwrap();
        let printed = format!("{settings:?}");
        assert!(!printed.contains("hunter22"));
        assert!(!printed.contains("cvat-secret-key"));
        assert_eq!(settings.admin_password.expose(), "hunter22");
    }

    #[test]
    fn bad_values_are_named() {
        let env = |n: &str| if n == "CVAT_GATEWAY_LISTEN" { Some("nowhere".into()) } else { dev(n) };
        let err = Settings::from_lookup(&env, 1).unwrap_err();
        assert!(err.to_string().contains("CVAT_GATEWAY_LISTEN"));
        let env = |n: &str| if n == "CVAT_BLOB_BACKEND" { Some("ftp".into()) } else { dev(n) };
        let err = Settings::from_lookup(&env, 1).unwrap_err();
        assert!(err.to_string().contains("CVAT_BLOB_BACKEND"));
    }

    #[test]
    fn production_needs_every_secret() {
        let err = Settings::from_lookup(&|_| None, 1).unwrap_err().to_string();
        for name in ["CVAT_DATABASE_URL", "CVAT_S3_SECRET_KEY", "CVAT_ADMIN_PASSWORD"] {
            assert!(err.contains(name), "{err}");
        }
        let all = |token: &'static str| {
            move |name: &str| match name {
                "CVAT_WORKER_TOKEN" => Some(token.to_string()),
                n if DEV_SECRETS.iter().any(|(s, _)| *s == n) => Some(format!("{n}-value-long-enough-to-pass")),
                _ => None,
            }
        };
        let settings = Settings::from_lookup(&all("another-token-long-enough-to-pass"), 1).unwrap();
        assert!(!settings.dev_mode);
        assert_eq!(settings.worker_token().unwrap().expose(), "another-token-long-enough-to-pass");
        // A worker's deployment carries the worker token alone: it starts, and asking it
        // for the service token is an error naming the variable.
        let worker_only =
            |name: &str| if name == "CVAT_SERVICE_TOKEN" { None } else { all("w".repeat(30).leak())(name) };
        let settings = Settings::from_lookup(&worker_only, 1).unwrap();
        assert!(settings.worker_token().is_ok());
        assert!(settings.service_token().unwrap_err().to_string().contains("CVAT_SERVICE_TOKEN"));
        assert!(Settings::from_lookup(&all("short"), 1).is_err(), "short worker token");
        let same = Settings::from_lookup(&all("CVAT_SERVICE_TOKEN-value-long-enough-to-pass"), 1);
        assert!(same.is_err(), "the two tokens must differ");
    }
}
