//! `/api/projects` (and the legacy `/api/projects/{id}/tasks`).

use super::documents::document_handlers;

document_handlers! {
    tag: "projects", collection: "/api/projects", item: "/api/projects/{id}", patch: cvat_models::PatchedProjectWriteRequest,
    read: cvat_models::ProjectRead, page: cvat_models::PaginatedProjectReadList,
    list: list_projects, get: get_project, update: update_project, delete: delete_project,
    create: create_project(cvat_models::ProjectWriteRequest), children: "/api/projects/{id}/tasks" => list_tasks by "project_id"
}
