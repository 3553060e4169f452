//! Which host and scheme a request is for, as absolute links and the CSRF origin check
//! need them. The `Host` header must name an allowed host (Django's `ALLOWED_HOSTS`:
//! `CVAT_ALLOWED_HOSTS`, `*` for any, `.example.com` for a domain and its subdomains);
//! any other request is refused with 400 before a handler runs, so no link is ever built
//! from a host a client made up. `X-Forwarded-Host` and `X-Forwarded-Proto` count only
//! when the connection comes from a trusted proxy (`CVAT_TRUSTED_PROXIES`).

use cvat_error::ApiError;
use cvat_fetch::Network;

/// The scheme and host (with its port) links of this request start with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    pub scheme: String,
    pub host: String,
}

impl Origin {
    pub fn url(&self) -> String {
        format!("{}://{}", self.scheme, self.host)
    }
}

#[derive(Debug, Clone)]
pub struct HostPolicy {
    allowed: Vec<String>,
    proxies: Vec<Network>,
}

impl HostPolicy {
    pub fn new(allowed: &[String], proxies: &[String]) -> Result<Self, String> {
        let proxies = proxies
            .iter()
            .map(|n| n.parse().map_err(|e: String| format!("CVAT_TRUSTED_PROXIES: {e}")))
            .collect::<Result<_, _>>()?;
        Ok(Self { allowed: allowed.iter().map(|h| h.to_ascii_lowercase()).collect(), proxies })
    }

    /// The request's origin, or 400 when its host is not allowed.
    pub fn origin(
        &self,
        peer: Option<std::net::IpAddr>,
        header: impl Fn(&str) -> Option<String>,
    ) -> Result<Origin, ApiError> {
        let trusted = peer.is_some_and(|ip| self.proxies.iter().any(|n| n.contains(ip)));
        let forwarded = |name: &str| {
            if trusted {
                header(name).and_then(|v| v.split(',').next().map(|s| s.trim().to_string()))
            } else {
                None
            }
        };
        let host = forwarded("x-forwarded-host").or_else(|| header("host")).unwrap_or_default();
        let scheme =
            forwarded("x-forwarded-proto").filter(|s| s == "https" || s == "http").unwrap_or_else(|| "http".into());
        if !self.allows(&host) {
            let shown: String = host.chars().filter(|c| !c.is_control()).take(100).collect();
            return Err(ApiError::bad_request(format!(
                "Invalid HTTP_HOST header: '{shown}'. You may need to add it to CVAT_ALLOWED_HOSTS."
            )));
        }
        Ok(Origin { scheme, host })
    }

    fn allows(&self, host: &str) -> bool {
        let name = without_port(host).to_ascii_lowercase();
        if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || "-.[]:".contains(c)) {
            return false;
        }
        self.allowed.iter().any(|pattern| {
            pattern == "*"
                || *pattern == name
                || pattern.strip_prefix('.').is_some_and(|domain| name == domain || name.ends_with(pattern.as_str()))
        })
    }
}

/// `host:port` → `host` (IPv6 literals keep their brackets).
fn without_port(host: &str) -> &str {
    if host.starts_with('[') {
        return host.split_once(']').map_or(host, |(address, _)| &host[..address.len() + 1]);
    }
    host.rsplit_once(':').map_or(host, |(name, _)| name)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers<'a>(pairs: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |name| pairs.iter().find(|(k, _)| *k == name).map(|(_, v)| v.to_string())
    }

    #[test]
    fn hosts_and_forwarded_headers() {
        let policy = HostPolicy::new(&["localhost".into(), ".example.com".into()], &["10.0.0.0/8".into()]).unwrap();
        let client = Some("192.0.2.7".parse().unwrap());
        let proxy = Some("10.1.2.3".parse().unwrap());
        let ok = policy.origin(client, headers(&[("host", "localhost:8080")])).unwrap();
        assert_eq!(ok.url(), "http://localhost:8080");
        assert!(policy.origin(client, headers(&[("host", "cvat.example.com")])).is_ok());
        assert!(policy.origin(client, headers(&[("host", "evil.test")])).is_err());
        assert!(policy.origin(client, headers(&[("host", "example.com.evil.test")])).is_err());
        // A client's forwarded headers are ignored; a proxy's are used.
        let spoofed = [("host", "localhost"), ("x-forwarded-host", "evil.test"), ("x-forwarded-proto", "https")];
        assert_eq!(policy.origin(client, headers(&spoofed)).unwrap().url(), "http://localhost");
        assert!(policy.origin(proxy, headers(&spoofed)).is_err(), "the proxy's host must be allowed too");
        let proxied =
            [("host", "internal:8080"), ("x-forwarded-host", "cvat.example.com"), ("x-forwarded-proto", "https")];
        assert_eq!(policy.origin(proxy, headers(&proxied)).unwrap().url(), "https://cvat.example.com");
        let any = HostPolicy::new(&["*".into()], &[]).unwrap();
        assert!(any.origin(client, headers(&[("host", "anything:1")])).is_ok());
        assert!(any.origin(client, headers(&[("host", "bad host")])).is_err());
    }
}
