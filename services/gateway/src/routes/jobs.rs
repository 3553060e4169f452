//! `/api/jobs`. Jobs are created with their task's segments when its media is processed.

use super::documents::document_handlers;

document_handlers! {
    tag: "jobs", collection: "/api/jobs", item: "/api/jobs/{id}", patch: cvat_models::PatchedJobWriteRequest,
    read: cvat_models::JobRead, page: cvat_models::PaginatedJobReadList,
    list: list_jobs, get: get_job, update: update_job, delete: delete_job
}

/// The legacy lists under a job: its issues and its annotations' change log, after
/// checking the job is visible.
pub fn configure_legacy(cfg: &mut actix_web::web::ServiceConfig) {
    use crate::routes::{on, resource};
    use actix_web::http::Method;
    cfg.service(resource("/api/jobs/{id}/issues", vec![on(Method::GET, issues)]))
        .service(resource("/api/jobs/{id}/commits", vec![on(Method::GET, commits)]));
}

macro_rules! job_children {
    ($name:ident => $list:ident, $path:literal, $op:literal, $page:ty) => {
        #[utoipa::path(get, path = $path, operation_id = $op, tag = "jobs",
                                    responses((status = 200, description = "A page of documents", body = $page)))]
        pub async fn $name(
            req: actix_web::HttpRequest,
            auth: crate::identity::Auth,
            state: actix_web::web::Data<crate::state::AppState>,
            id: actix_web::web::Path<i64>,
            params: super::documents::Query,
        ) -> crate::error::HttpResult<actix_web::HttpResponse> {
            state.task().get_job(super::documents::object(&req, auth.clone(), *id)).await?;
            super::documents::list_of(&req, auth, &params, &[("job_id", *id)], |mut task, r| async move {
                task.$list(r).await
            })
            .await
        }
    };
}

job_children!(issues => list_issues, "/api/jobs/{id}/issues", "jobs_list_issues", cvat_models::PaginatedIssueReadList);
job_children!(commits => list_job_commits, "/api/jobs/{id}/commits", "jobs_list_commits", cvat_models::PaginatedJobCommitList);
