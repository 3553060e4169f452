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
