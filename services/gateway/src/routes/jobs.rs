//! `/api/jobs`. Jobs are created with their task's segments when its media is processed.

use super::documents::document_handlers;

document_handlers! {
    tag: "jobs", collection: "/api/jobs", item: "/api/jobs/{id}", patch: crate::requests::PatchedJobWriteRequest,
    read: cvat_models::JobRead, page: cvat_models::PaginatedJobReadList,
    list: list_jobs, get: get_job, update: update_job, delete: delete_job
}
