//! `/api/comments`.

use super::documents::document_handlers;

document_handlers! {
    tag: "comments", collection: "/api/comments", item: "/api/comments/{id}", patch: cvat_models::PatchedCommentWriteRequest,
    read: cvat_models::CommentRead, page: cvat_models::PaginatedCommentReadList,
    list: list_comments, get: get_comment, update: update_comment, delete: delete_comment,
    create: create_comment(cvat_models::CommentWriteRequest)
}
