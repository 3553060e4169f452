//! `/api/issues` (and the legacy `/api/issues/{id}/comments`).

use super::documents::document_handlers;

document_handlers! {
    tag: "issues", collection: "/api/issues", item: "/api/issues/{id}", patch: cvat_models::PatchedIssueWriteRequest,
    read: cvat_models::IssueRead, page: cvat_models::PaginatedIssueReadList,
    list: list_issues, get: get_issue, update: update_issue, delete: delete_issue,
    create: create_issue(cvat_models::IssueWriteRequest), children: "/api/issues/{id}/comments" => list_comments by "issue_id"
}
