//! End-to-end tests over the five running services and their real dependencies.
//! `tests/run.sh` (via `make test`) starts an isolated stack and sets `CVAT_TEST_URL`.

mod annotations;
mod auth;
mod bad_input;
mod chunks;
mod cloud_storages;
mod common;
mod foundations;
mod observability;
mod organizations;
mod otlp;
mod outage;
mod permissions;
mod queue;
mod remote_data;
mod resources;
mod storage;
mod task_data;
mod users;
mod video_chunks;
