//! `/api/tasks` (and the legacy `/api/tasks/{id}/jobs`).

use super::documents::document_handlers;

document_handlers! {
    tag: "tasks", collection: "/api/tasks", item: "/api/tasks/{id}", patch: cvat_models::PatchedTaskWriteRequest,
    read: cvat_models::TaskRead, page: cvat_models::PaginatedTaskReadList,
    list: list_tasks, get: get_task, update: update_task, delete: delete_task,
    create: create_task(cvat_models::TaskWriteRequest), children: "/api/tasks/{id}/jobs" => list_jobs by "task_id"
}
