//! Wire types of every gRPC service and queue message, generated from `proto/`.
//! Nothing else in the workspace defines wire types.

/// Modules nest like the protobuf packages so the generated cross-package paths resolve.
pub mod cvat {
    pub mod common {
        pub mod v1 {
            tonic::include_proto!("cvat.common.v1");
        }
    }
    pub mod auth {
        pub mod v1 {
            tonic::include_proto!("cvat.auth.v1");
        }
    }
    pub mod task {
        pub mod v1 {
            tonic::include_proto!("cvat.task.v1");
        }
    }
    pub mod queue {
        // A job's work is one of several messages of very different sizes; jobs are
        // decoded one at a time, so boxing would buy nothing.
        #[allow(clippy::large_enum_variant)]
        pub mod v1 {
            tonic::include_proto!("cvat.queue.v1");
        }
    }
}

pub use cvat::auth::v1 as auth;
pub use cvat::common::v1 as common;
pub use cvat::queue::v1 as queue;
pub use cvat::task::v1 as task;

/// Bucket keys never reach a log: only whether they are set is shown.
impl std::fmt::Debug for task::CloudAccess {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let shown = |value: &str| if value.is_empty() { "" } else { "***" };
        f.debug_struct("CloudAccess")
            .field("endpoint", &self.endpoint)
            .field("region", &self.region)
            .field("bucket", &self.bucket)
            .field("access_key", &shown(&self.access_key))
            .field("secret_key", &shown(&self.secret_key))
            .field("session_token", &shown(&self.session_token))
            .field("prefix", &self.prefix)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn cloud_access_debug_hides_keys() {
        let access = super::task::CloudAccess {
            bucket: "b".into(),
            access_key: "AKIAEXAMPLE".into(),
            secret_key: "very-secret".into(),
            session_token: "session-secret".into(),
            ..Default::default()
        };
        let printed = format!("{access:?}");
        assert!(printed.contains("\"b\""), "{printed}");
        for secret in ["AKIAEXAMPLE", "very-secret", "session-secret"] {
            assert!(!printed.contains(secret), "{printed}");
        }
    }
}
