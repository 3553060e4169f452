//! The trust boundary between services. Every gRPC call carries a bearer token in its
//! `authorization` metadata and each server accepts only the token of the callers it
//! serves: the service token (`CVAT_SERVICE_TOKEN`) for the gateway's calls to auth and
//! task and the task service's calls to auth; the worker token (`CVAT_WORKER_TOKEN`)
//! for workers' calls to the task service's internal API. A call without the right
//! token is refused before any handler runs; the network policy is a second line.

use crate::propagation::inject_metadata;
use crate::Secret;
use std::sync::Arc;
use tonic::metadata::{Ascii, MetadataValue};
use tonic::service::interceptor::InterceptedService;
use tonic::service::Interceptor;
use tonic::transport::Channel;
use tonic::{Request, Status};

/// The client side: adds the caller's token and the current trace context to each call.
#[derive(Clone)]
pub struct Outgoing {
    authorization: MetadataValue<Ascii>,
}

/// A channel whose calls carry a token and the trace context.
pub type Authorized = InterceptedService<Channel, Outgoing>;

impl Outgoing {
    /// Fails only for a token that cannot travel in metadata (checked at start-up).
    pub fn new(token: &Secret) -> anyhow::Result<Self> {
        let authorization = format!("Bearer {}", token.expose())
            .parse()
            .map_err(|_| anyhow::anyhow!("a service token must be printable ASCII"))?;
        Ok(Self { authorization })
    }
}

impl Interceptor for Outgoing {
    fn call(&mut self, mut request: Request<()>) -> Result<Request<()>, Status> {
        inject_metadata(request.metadata_mut());
        request.metadata_mut().insert("authorization", self.authorization.clone());
        Ok(request)
    }
}

/// The server side: refuses calls that do not carry `token` (compared in constant time).
#[derive(Clone)]
pub struct RequireToken {
    expected: Arc<[u8]>,
}

impl RequireToken {
    pub fn new(token: &Secret) -> Self {
        Self { expected: format!("Bearer {}", token.expose()).into_bytes().into() }
    }
}

impl Interceptor for RequireToken {
    fn call(&mut self, request: Request<()>) -> Result<Request<()>, Status> {
        let given = request.metadata().get("authorization").map(|v| v.as_bytes()).unwrap_or_default();
        let same_length = given.len() == self.expected.len();
        // Folded over every byte so the time taken does not tell how much matched.
        let differing = given.iter().zip(self.expected.iter()).fold(0u8, |acc, (a, b)| acc | (a ^ b));
        if same_length && differing == 0 {
            Ok(request)
        } else {
            Err(Status::unauthenticated("this call needs a service credential"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The status code a call with `token` gets (`Ok` when it passes).
    fn call_with(token: Option<&str>) -> tonic::Code {
        let mut request = Request::new(());
        if let Some(token) = token {
            let mut outgoing = Outgoing::new(&Secret::new(token)).unwrap();
            request = outgoing.call(request).unwrap();
        }
        match RequireToken::new(&Secret::new("right-token-123")).call(request) {
            Ok(_) => tonic::Code::Ok,
            Err(status) => status.code(),
        }
    }

    #[test]
    fn only_the_expected_token_passes() {
        assert_eq!(call_with(Some("right-token-123")), tonic::Code::Ok);
        for wrong in [None, Some("right-token-12"), Some("right-token-1234"), Some("wrong-token-123")] {
            assert_eq!(call_with(wrong), tonic::Code::Unauthenticated, "{wrong:?}");
        }
    }

    #[test]
    fn tokens_that_cannot_travel_are_refused() {
        assert!(Outgoing::new(&Secret::new("line\nbreak")).is_err());
    }
}
