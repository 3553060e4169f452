//! Outgoing HTTP on a user's behalf (task data from `remote_files`): one client that
//! refuses private, loopback, link-local and other non-public addresses unless their
//! network is configured as allowed, for the first request and for every redirect, and
//! that bounds the time and the size of what it fetches. Addresses are checked where the
//! connection is made (in the resolver), so a name that resolves to an internal address,
//! or a redirect to one, is refused as well as a literal one. Proxies from the
//! environment are ignored.

mod network;

pub use network::{is_public, Network};

use bytes::Bytes;
use futures_util::stream::{BoxStream, StreamExt};
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

/// The most redirects followed for one download.
const MAX_REDIRECTS: usize = 5;

/// How long a name may take to resolve: the system resolver has no bound of its own
/// (a silent name server holds it for attempts × time-outs × search domains).
const RESOLVE_TIMEOUT: Duration = Duration::from_secs(5);

/// The addresses of a name, within [`RESOLVE_TIMEOUT`].
async fn resolve(host: &str, port: u16) -> std::io::Result<Vec<SocketAddr>> {
    match tokio::time::timeout(RESOLVE_TIMEOUT, tokio::net::lookup_host((host, port))).await {
        Ok(found) => Ok(found?.collect()),
        Err(_) => Err(std::io::Error::new(std::io::ErrorKind::TimedOut, format!("{host} did not resolve in time"))),
    }
}

#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error("{0} is not an http(s) URL")]
    BadUrl(String),
    #[error("{0} refers to a private, loopback or otherwise internal address; such downloads are refused")]
    Refused(String),
    #[error("{url} is larger than the limit of {limit} bytes")]
    TooLarge { url: String, limit: u64 },
    #[error("{url} answered HTTP {status}")]
    Status { url: String, status: u16 },
    #[error("{url} cannot be downloaded: {reason}")]
    Failed { url: String, reason: String },
}

/// What the client may do.
#[derive(Debug, Clone)]
pub struct FetchPolicy {
    /// Networks allowed although they are not public (e.g. an intranet mirror).
    pub allowed: Vec<Network>,
    pub max_bytes: u64,
    /// For the whole download, body included.
    pub timeout: Duration,
}

impl FetchPolicy {
    /// `CVAT_REMOTE_ALLOWED_NETWORKS`, `CVAT_REMOTE_MAX_BYTES`, `CVAT_REMOTE_TIMEOUT_SECONDS`.
    pub fn from_settings(settings: &cvat_runtime::Settings) -> Result<Self, String> {
        let allowed = settings
            .remote_allowed_networks
            .iter()
            .map(|n| n.parse().map_err(|e: String| format!("CVAT_REMOTE_ALLOWED_NETWORKS: {e}")))
            .collect::<Result<_, _>>()?;
        Ok(Self {
            allowed,
            max_bytes: settings.remote_max_bytes,
            timeout: Duration::from_secs(settings.remote_timeout_seconds.max(1)),
        })
    }

    fn permits(&self, ip: IpAddr) -> bool {
        is_public(ip) || self.allowed.iter().any(|n| n.contains(ip))
    }

    /// For clients that connect by themselves (S3 of a cloud storage): the endpoint must
    /// be an http(s) URL whose host resolves only to permitted addresses. (The client
    /// resolves again when it connects; a name re-pointed in between is not caught.)
    pub async fn check_endpoint(&self, endpoint: &str) -> Result<(), FetchError> {
        let url = reqwest::Url::parse(endpoint).map_err(|_| FetchError::BadUrl(endpoint.to_string()))?;
        check_url(self, &url)?;
        let host = url.host_str().unwrap_or_default().trim_start_matches('[').trim_end_matches(']').to_string();
        let port = url.port_or_known_default().unwrap_or(443);
        let found = resolve(&host, port)
            .await
            .map_err(|e| FetchError::Failed { url: endpoint.to_string(), reason: e.to_string() })?;
        if found.is_empty() || found.iter().any(|a| !self.permits(a.ip())) {
            return Err(FetchError::Refused(endpoint.to_string()));
        }
        Ok(())
    }
}

/// The marker a refused address leaves in reqwest's error chain.
#[derive(Debug, thiserror::Error)]
#[error("address refused: {0}")]
struct AddressRefused(String);

/// Resolves names and keeps only the addresses the policy permits.
struct GuardedResolver(Arc<FetchPolicy>);

impl reqwest::dns::Resolve for GuardedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let policy = self.0.clone();
        Box::pin(async move {
            let host = name.as_str().to_string();
            let found = resolve(&host, 0).await?;
            let permitted: Vec<SocketAddr> = found.into_iter().filter(|a| policy.permits(a.ip())).collect();
            if permitted.is_empty() {
                return Err(Box::new(AddressRefused(host)) as Box<dyn std::error::Error + Send + Sync>);
            }
            Ok(Box::new(permitted.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

/// Checks a URL's scheme and, when its host is an address, that address.
fn check_url(policy: &FetchPolicy, url: &reqwest::Url) -> Result<(), FetchError> {
    if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
        return Err(FetchError::BadUrl(url.to_string()));
    }
    let literal = match url.host() {
        Some(url::Host::Ipv4(ip)) => Some(IpAddr::V4(ip)),
        Some(url::Host::Ipv6(ip)) => Some(IpAddr::V6(ip)),
        _ => None,
    };
    match literal {
        Some(ip) if !policy.permits(ip) => Err(FetchError::Refused(url.to_string())),
        _ => Ok(()),
    }
}

fn refused_in_chain(err: &(dyn std::error::Error + 'static)) -> bool {
    let mut current = Some(err);
    while let Some(err) = current {
        if err.is::<AddressRefused>() {
            return true;
        }
        current = err.source();
    }
    false
}

/// The reason of a reqwest error, with its causes (reqwest's own text omits them).
fn reason(err: &reqwest::Error) -> String {
    let mut text = if err.is_timeout() { "timed out".to_string() } else { err.to_string() };
    let mut source = std::error::Error::source(err);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// A download: the bytes as they arrive, never more than the policy's limit.
pub type Body = BoxStream<'static, Result<Bytes, FetchError>>;

#[derive(Clone)]
pub struct Fetcher {
    client: reqwest::Client,
    /// The same, for targets whose TLS certificate is not to be checked (a webhook with
    /// `enable_ssl: false`).
    unchecked_tls: reqwest::Client,
    policy: Arc<FetchPolicy>,
}

/// What a target answered to a POST: its status and the start of its body.
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: u16,
    /// The body as text; empty when it was longer than the limit asked for.
    pub body: String,
}

impl Fetcher {
    pub fn new(policy: FetchPolicy) -> Result<Self, FetchError> {
        let policy = Arc::new(policy);
        let redirects = |policy: Arc<FetchPolicy>| {
            reqwest::redirect::Policy::custom(move |attempt| {
                if attempt.previous().len() >= MAX_REDIRECTS {
                    return attempt.error(format!("more than {MAX_REDIRECTS} redirects"));
                }
                match check_url(&policy, attempt.url()) {
                    Ok(()) => attempt.follow(),
                    Err(FetchError::Refused(url)) => attempt.error(AddressRefused(url)),
                    Err(other) => attempt.error(other.to_string()),
                }
            })
        };
        let build = |check_tls: bool| {
            reqwest::Client::builder()
                .dns_resolver(Arc::new(GuardedResolver(policy.clone())))
                .redirect(redirects(policy.clone()))
                .no_proxy()
                .connect_timeout(Duration::from_secs(10).min(policy.timeout))
                .timeout(policy.timeout)
                .user_agent(concat!("cvat-rs/", env!("CARGO_PKG_VERSION")))
                .danger_accept_invalid_certs(!check_tls)
                .build()
                .map_err(|e| FetchError::Failed { url: String::new(), reason: reason(&e) })
        };
        Ok(Self { client: build(true)?, unchecked_tls: build(false)?, policy })
    }

    pub fn policy(&self) -> &FetchPolicy {
        &self.policy
    }

    /// POSTs `body` with `headers` (redirects are not followed for a POST); answers the
    /// status and at most `max_answer` bytes of the answer's body. A target that cannot
    /// be reached or takes longer than the policy's time-out is an error.
    pub async fn post(
        &self,
        url: &str,
        body: Vec<u8>,
        headers: &[(&str, String)],
        check_tls: bool,
        max_answer: usize,
    ) -> Result<Answer, FetchError> {
        let parsed = reqwest::Url::parse(url).map_err(|_| FetchError::BadUrl(url.to_string()))?;
        check_url(&self.policy, &parsed)?;
        let client = if check_tls { &self.client } else { &self.unchecked_tls };
        let mut request = client.post(parsed).body(body);
        for (name, value) in headers {
            request = request.header(*name, value);
        }
        let failed = |e: reqwest::Error| {
            if refused_in_chain(&e) {
                FetchError::Refused(url.to_string())
            } else {
                FetchError::Failed { url: url.to_string(), reason: reason(&e) }
            }
        };
        let response = request.send().await.map_err(failed)?;
        let status = response.status().as_u16();
        let mut received = Vec::new();
        let mut pieces = response.bytes_stream();
        while let Some(piece) = pieces.next().await {
            received.extend_from_slice(&piece.map_err(failed)?);
            if received.len() > max_answer {
                return Ok(Answer { status, body: String::new() });
            }
        }
        Ok(Answer { status, body: String::from_utf8_lossy(&received).into_owned() })
    }

    /// Starts a GET; answers the body as a capped stream.
    pub async fn get(&self, url: &str) -> Result<Body, FetchError> {
        let parsed = reqwest::Url::parse(url).map_err(|_| FetchError::BadUrl(url.to_string()))?;
        check_url(&self.policy, &parsed)?;
        let failed = |e: reqwest::Error| {
            if refused_in_chain(&e) {
                FetchError::Refused(url.to_string())
            } else {
                FetchError::Failed { url: url.to_string(), reason: reason(&e) }
            }
        };
        let response = self.client.get(parsed).send().await.map_err(failed)?;
        if !response.status().is_success() {
            return Err(FetchError::Status { url: url.to_string(), status: response.status().as_u16() });
        }
        let limit = self.policy.max_bytes;
        if response.content_length().is_some_and(|n| n > limit) {
            return Err(FetchError::TooLarge { url: url.to_string(), limit });
        }
        let owned = url.to_string();
        let mut received = 0u64;
        let body = response.bytes_stream().map(move |piece| {
            let piece = piece.map_err(|e| FetchError::Failed { url: owned.clone(), reason: reason(&e) })?;
            received += piece.len() as u64;
            if received > limit {
                return Err(FetchError::TooLarge { url: owned.clone(), limit });
            }
            Ok(piece)
        });
        Ok(body.boxed())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(allowed: &[&str]) -> FetchPolicy {
        FetchPolicy {
            allowed: allowed.iter().map(|n| n.parse().unwrap()).collect(),
            max_bytes: 1 << 20,
            timeout: Duration::from_secs(5),
        }
    }

    #[test]
    fn urls_are_checked_before_any_connection() {
        let strict = policy(&[]);
        for url in ["ftp://example.com/a.png", "file:///etc/passwd", "data:text/plain,x"] {
            let parsed = reqwest::Url::parse(url).unwrap();
            assert!(matches!(check_url(&strict, &parsed), Err(FetchError::BadUrl(_))), "{url}");
        }
        for url in [
            "http://127.0.0.1/a.png",
            "http://10.1.2.3/a.png",
            "http://[::1]/a.png",
            "http://169.254.169.254/latest/meta-data",
            "http://[::ffff:192.168.0.1]/a.png",
            "http://0.0.0.0/",
        ] {
            let parsed = reqwest::Url::parse(url).unwrap();
            assert!(matches!(check_url(&strict, &parsed), Err(FetchError::Refused(_))), "{url}");
        }
        let parsed = reqwest::Url::parse("http://93.184.215.14/a.png").unwrap();
        assert!(check_url(&strict, &parsed).is_ok());
        let open = policy(&["127.0.0.2/32"]);
        assert!(check_url(&open, &reqwest::Url::parse("http://127.0.0.2:9/a.png").unwrap()).is_ok());
        assert!(check_url(&open, &reqwest::Url::parse("http://127.0.0.1:9/a.png").unwrap()).is_err());
    }

    #[tokio::test]
    async fn names_resolving_to_internal_addresses_are_refused() {
        let fetcher = Fetcher::new(policy(&[])).unwrap();
        let err = fetcher.get("http://localhost:9/a.png").await.err().unwrap();
        assert!(matches!(err, FetchError::Refused(_)), "{err}");
        let strict = policy(&[]);
        for endpoint in ["http://localhost:8014", "http://127.0.0.1:8014", "http://[::1]:1", "ftp://x"] {
            assert!(strict.check_endpoint(endpoint).await.is_err(), "{endpoint}");
        }
        assert!(policy(&["127.0.0.0/8"]).check_endpoint("http://127.0.0.1:8014").await.is_ok());
    }
}
