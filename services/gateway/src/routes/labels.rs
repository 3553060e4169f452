//! `/api/labels`: labels of projects and tasks, changed through their parent's rules.

use super::documents::document_handlers;

document_handlers! {
    tag: "labels", collection: "/api/labels", item: "/api/labels/{id}", patch: cvat_models::PatchedLabelRequest,
    read: cvat_models::Label, page: cvat_models::PaginatedLabelList,
    list: list_labels, get: get_label, update: update_label, delete: delete_label
}
