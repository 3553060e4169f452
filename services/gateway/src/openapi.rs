//! The OpenAPI document, generated from the handlers' `#[utoipa::path]` annotations and
//! the response types. Operation ids are `<tag>_<method name of the generated client>`,
//! as in CVAT's own schema.

use crate::routes::{
    auth, cloud_storages, data, invitations, jobs, labels, organizations, projects, requests, server, tasks, users,
};
use utoipa::OpenApi;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "CVAT REST API",
        version = "2.80.0",
        description = "REST API of a CVAT-compatible annotation server."
    ),
    paths(
        server::about,
        server::formats,
        server::plugins,
        server::share,
        server::start_probe,
        server::get_probe,
        auth::login,
        auth::logout,
        auth::register,
        auth::change_password,
        auth::reset_password,
        auth::confirm_reset,
        auth::rules,
        auth::create_token,
        auth::list_tokens,
        auth::token_self,
        auth::get_token,
        auth::update_token,
        auth::delete_token,
        users::list,
        users::retrieve_self,
        users::retrieve,
        users::partial_update,
        users::destroy,
        organizations::list,
        organizations::create,
        organizations::retrieve,
        organizations::partial_update,
        organizations::destroy,
        organizations::list_memberships,
        organizations::retrieve_membership,
        organizations::update_membership,
        organizations::destroy_membership,
        invitations::list,
        invitations::create,
        invitations::retrieve,
        invitations::accept,
        invitations::decline,
        invitations::resend,
        invitations::destroy,
        projects::list,
        projects::create,
        projects::retrieve,
        projects::partial_update,
        projects::destroy,
        tasks::list,
        tasks::create,
        tasks::retrieve,
        tasks::partial_update,
        tasks::destroy,
        jobs::list,
        jobs::retrieve,
        jobs::partial_update,
        jobs::destroy,
        labels::list,
        labels::retrieve,
        labels::partial_update,
        labels::destroy,
        data::upload,
        data::task_data,
        data::job_data,
        data::task_meta,
        data::job_meta,
        data::update_task_meta,
        data::update_job_meta,
        data::task_preview,
        data::job_preview,
        data::project_preview,
        cloud_storages::list,
        cloud_storages::create,
        cloud_storages::retrieve,
        cloud_storages::partial_update,
        cloud_storages::destroy,
        cloud_storages::status,
        cloud_storages::actions,
        cloud_storages::content,
        cloud_storages::preview,
        requests::list,
        requests::retrieve,
        requests::cancel,
        requests::task_status,
        crate::routes::schema::schema,
    ),
    components(schemas(
        server::About,
        server::DatasetFormats,
        server::DatasetFormat,
        server::Plugins,
        server::FileInfo,
        server::TraceProbeRead,
        server::TraceHop,
        auth::Token,
        auth::RestAuthDetail,
        auth::RegisterSerializerEx,
        auth::AccessTokenRead,
        crate::requests::LoginSerializerExRequest,
        crate::requests::RegisterSerializerExRequest,
        crate::requests::PasswordChangeRequest,
        crate::requests::PasswordResetSerializerExRequest,
        crate::requests::PasswordResetConfirmRequest,
        crate::requests::AccessTokenWriteRequest,
        crate::requests::PatchedAccessTokenWriteRequest,
        crate::requests::PatchedUserRequest,
        crate::requests::OrganizationWriteRequest,
        crate::requests::PatchedOrganizationWriteRequest,
        crate::requests::RoleEnum,
        crate::requests::PatchedMembershipWriteRequest,
        crate::requests::InvitationWriteRequest,
        crate::requests::ProjectWriteRequest,
        crate::requests::PatchedProjectWriteRequest,
        crate::requests::TaskWriteRequest,
        crate::requests::PatchedTaskWriteRequest,
        crate::requests::PatchedJobWriteRequest,
        crate::requests::PatchedLabelRequest,
        crate::requests::AttributeRequest,
        crate::requests::SublabelRequest,
        crate::requests::StorageRequest,
        crate::requests::CloudStorageWriteRequest,
        crate::requests::PatchedCloudStorageWriteRequest,
    ))
)]
pub struct ApiDoc;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operation_ids_match_the_reference() {
        let reference = include_str!("../../../tests/compat/operation_ids.txt");
        let document = serde_json::to_value(ApiDoc::openapi()).unwrap();
        let mut ours = Vec::new();
        for (_, item) in document["paths"].as_object().unwrap() {
            for (_, operation) in item.as_object().unwrap() {
                ours.push(operation["operationId"].as_str().unwrap().to_string());
            }
        }
        for id in reference.lines().filter(|l| !l.is_empty()) {
            assert!(ours.iter().any(|o| o == id), "missing operation {id}");
        }
    }

    /// Whether a property schema admits null (utoipa writes `type: [t, "null"]` for
    /// plain values and `oneOf: [{type: null}, {$ref}]` for referenced ones).
    fn nullable(property: &serde_json::Value) -> bool {
        let null = |t: &serde_json::Value| t == "null" || t.as_array().is_some_and(|a| a.iter().any(|x| x == "null"));
        null(&property["type"])
            || property["oneOf"].as_array().is_some_and(|alts| alts.iter().any(|alt| null(&alt["type"])))
    }

    /// The read models of the resources that exist have the reference's attributes, no
    /// more and no fewer, each nullable exactly when the client's model says so.
    #[test]
    fn read_models_match_the_reference() {
        let reference: serde_json::Value =
            serde_json::from_str(include_str!("../../../tests/compat/api-models.json")).unwrap();
        let document = serde_json::to_value(ApiDoc::openapi()).unwrap();
        let ours = &document["components"]["schemas"];
        let models = [
            "ProjectRead",
            "TaskRead",
            "JobRead",
            "Label",
            "Sublabel",
            "Attribute",
            "Request",
            "RequestDataOperation",
            "RequestOwner",
            "DataMetaRead",
            "FrameMeta",
            "CloudStorageRead",
            "BasicUser",
            "JobsSummary",
            "LabelsSummary",
            "TasksSummary",
            "IssuesSummary",
            "Storage",
            "PaginatedTaskReadList",
        ];
        let mut differences = Vec::new();
        for name in models {
            let expected = reference["models"][name]["attributes"].as_object().unwrap();
            let Some(properties) = ours[name]["properties"].as_object() else {
                differences.push(format!("{name}: not in our schema"));
                continue;
            };
            for (attribute, spec) in expected {
                match properties.get(attribute) {
                    None => differences.push(format!("{name}.{attribute}: missing")),
                    Some(property) if nullable(property) != spec["nullable"].as_bool().unwrap() => {
                        differences.push(format!("{name}.{attribute}: nullable should be {}", spec["nullable"]))
                    }
                    Some(_) => {}
                }
            }
            differences.extend(
                properties
                    .keys()
                    .filter(|p| !expected.contains_key(*p))
                    .map(|p| format!("{name}.{p}: not in the reference")),
            );
        }
        assert!(differences.is_empty(), "{differences:#?}");
        let retrieve = &document["paths"]["/api/tasks/{id}"]["get"]["responses"]["200"]["content"]["application/json"];
        assert_eq!(retrieve["schema"]["$ref"], "#/components/schemas/TaskRead");
    }

    #[test]
    fn request_bodies_are_described() {
        let document = serde_json::to_value(ApiDoc::openapi()).unwrap();
        let login = &document["paths"]["/api/auth/login"]["post"]["requestBody"]["content"]["application/json"];
        assert_eq!(login["schema"]["$ref"], "#/components/schemas/LoginSerializerExRequest");
        let required = &document["components"]["schemas"]["LoginSerializerExRequest"]["required"];
        assert_eq!(required, &serde_json::json!(["password"]));
    }
}
