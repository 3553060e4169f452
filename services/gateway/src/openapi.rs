//! The OpenAPI document, generated from the handlers' `#[utoipa::path]` annotations and
//! the response types. Operation ids are `<tag>_<method name of the generated client>`,
//! as in CVAT's own schema.

use crate::routes::{
    annotations, auth, backups, cloud_storages, comments, data, events, exports, functions, guides, imports,
    invitations, issues, jobs, labels, organizations, projects, requests, restrictions, server, tasks, users, webhooks,
};
use serde_json::{json, Value};
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
        auth::signing,
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
        jobs::issues,
        jobs::commits,
        issues::list,
        issues::create,
        issues::retrieve,
        issues::partial_update,
        issues::destroy,
        comments::list,
        comments::create,
        comments::retrieve,
        comments::partial_update,
        comments::destroy,
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
        annotations::get_job,
        annotations::put_job,
        annotations::patch_job,
        annotations::delete_job,
        annotations::get_task,
        annotations::put_task,
        annotations::patch_task,
        annotations::delete_task,
        cloud_storages::list,
        cloud_storages::create,
        cloud_storages::retrieve,
        cloud_storages::partial_update,
        cloud_storages::destroy,
        cloud_storages::status,
        cloud_storages::actions,
        cloud_storages::content,
        cloud_storages::legacy_content,
        restrictions::user_agreements,
        restrictions::terms_of_use,
        invitations::partial_update,
        webhooks::events,
        webhooks::list,
        webhooks::create,
        webhooks::retrieve,
        webhooks::update,
        webhooks::partial_update,
        webhooks::destroy,
        webhooks::ping,
        webhooks::deliveries,
        webhooks::delivery,
        webhooks::redelivery,
        events::create,
        events::export,
        events::list,
        events::logs,
        events::exception,
        guides::create,
        guides::retrieve,
        guides::partial_update,
        guides::destroy,
        guides::upload,
        guides::download,
        guides::remove,
        cloud_storages::preview,
        exports::start,
        exports::download,
        exports::legacy_dataset,
        exports::legacy_annotations,
        exports::start_backup,
        backups::restore,
        exports::legacy_backup,
        imports::import,
        requests::list,
        requests::retrieve,
        requests::cancel,
        requests::task_status,
        functions::list,
        functions::create,
        functions::retrieve,
        functions::destroy,
        functions::watch,
        functions::acquire,
        functions::update,
        functions::complete,
        functions::fail,
        functions::lambda_functions,
        functions::lambda_function,
        functions::call_function,
        functions::lambda_requests,
        functions::create_request,
        functions::lambda_request,
        functions::cancel_request,
        crate::routes::schema::schema,
    ),
    components(schemas(
        exports::RqId,
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
        crate::requests::SigningRequest,
        crate::requests::PatchedAccessTokenWriteRequest,
        cvat_models::PatchedUserRequest,
        cvat_models::OrganizationWriteRequest,
        cvat_models::PatchedOrganizationWriteRequest,
        crate::requests::RoleEnum,
        crate::requests::PatchedMembershipWriteRequest,
        crate::requests::InvitationWriteRequest,
        cvat_models::ProjectWriteRequest,
        cvat_models::PatchedProjectWriteRequest,
        cvat_models::TaskWriteRequest,
        cvat_models::PatchedTaskWriteRequest,
        cvat_models::PatchedJobWriteRequest,
        cvat_models::PatchedLabelRequest,
        cvat_models::AttributeRequest,
        cvat_models::SublabelRequest,
        cvat_models::StorageRequest,
        cvat_models::CloudStorageWriteRequest,
        cvat_models::PatchedCloudStorageWriteRequest,
        cvat_models::IssueWriteRequest,
        cvat_models::PatchedIssueWriteRequest,
        cvat_models::CommentWriteRequest,
        cvat_models::PatchedCommentWriteRequest,
        cvat_models::DataRequest,
        cvat_models::FunctionWriteRequest,
        cvat_models::FunctionCallRequest,
        cvat_models::AgentAcquireRequest,
        cvat_models::AgentUpdateRequest,
        cvat_models::AgentFailRequest,
        cvat_models::AgentCompleteRequest,
        cvat_models::WebhookWriteRequest,
        cvat_models::PatchedWebhookWriteRequest,
        cvat_models::ClientEventsRequest,
        cvat_models::AnnotationGuideWriteRequest,
        cvat_models::PatchedAnnotationGuideWriteRequest,
    ))
)]
pub struct ApiDoc;

/// The schema served at `/api/schema/`: what the route declarations generate, plus what
/// every operation shares and utoipa cannot know: the error answer (any status; a body
/// in CVAT's error shapes), the organization context (`X-Organization`, `org`, `org_id`),
/// the list parameters of `*_list` operations and the accepted credentials.
pub fn document() -> utoipa::openapi::OpenApi {
    let generated = ApiDoc::openapi();
    // Serializing the generated document cannot fail (string keys only), and what
    // `complete` adds is standard OpenAPI, so reading it back cannot either; the
    // generated document stands should either ever happen.
    let Ok(mut document) = serde_json::to_value(&generated) else { return generated };
    complete(&mut document);
    serde_json::from_value(document).unwrap_or(generated)
}

const METHODS: &[&str] = &["get", "put", "post", "delete", "options", "head", "patch", "trace"];

fn parameter(name: &str, location: &str, kind: &str, description: &str) -> Value {
    json!({"name": name, "in": location, "required": false, "description": description, "schema": {"type": kind}})
}

fn complete(document: &mut Value) {
    let shared = [
        parameter("X-Organization", "header", "string", "Organization unique slug"),
        parameter("org", "query", "string", "Organization unique slug"),
        parameter("org_id", "query", "integer", "Organization identifier"),
    ];
    let listing = [
        parameter("page", "query", "integer", "A page number within the paginated result set."),
        parameter("page_size", "query", "integer", "Number of results to return per page."),
        parameter("filter", "query", "string", "JSON Logic filter."),
        parameter("sort", "query", "string", "Which field to use when ordering the results."),
        parameter("search", "query", "string", "A search term."),
    ];
    let error = json!({
        "description": "An error: {\"detail\": message}, {field: [messages]} or [messages]",
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorResponse"}}},
    });
    if let Some(paths) = document["paths"].as_object_mut() {
        for item in paths.values_mut() {
            for method in METHODS {
                let Some(operation) = item.get_mut(*method).and_then(Value::as_object_mut) else { continue };
                let is_list =
                    operation.get("operationId").and_then(Value::as_str).is_some_and(|id| id.ends_with("_list"));
                let parameters = operation.entry("parameters").or_insert_with(|| json!([]));
                if let Some(parameters) = parameters.as_array_mut() {
                    let extra = shared.iter().chain(listing.iter().filter(|_| is_list));
                    for added in extra {
                        let taken = parameters.iter().any(|p| p["name"] == added["name"] && p["in"] == added["in"]);
                        if !taken {
                            parameters.push(added.clone());
                        }
                    }
                }
                if let Some(responses) = operation.get_mut("responses").and_then(Value::as_object_mut) {
                    responses.entry("default").or_insert_with(|| error.clone());
                }
            }
        }
    }
    let components = document["components"].as_object_mut();
    if let Some(components) = components {
        if let Some(schemas) = components.get_mut("schemas").and_then(Value::as_object_mut) {
            schemas.insert(
                "ErrorResponse".into(),
                json!({"oneOf": [{"type": "object"}, {"type": "array", "items": {"type": "string"}}, {"type": "string"}]}),
            );
        }
        components.insert(
            "securitySchemes".into(),
            json!({
                "tokenAuth": {"type": "apiKey", "in": "header", "name": "Authorization",
                              "description": "`Token <key>`: the key answered by /api/auth/login"},
                "accessTokenAuth": {"type": "http", "scheme": "bearer",
                                    "description": "An access token from /api/auth/access_tokens"},
                "basicAuth": {"type": "http", "scheme": "basic"},
                "sessionAuth": {"type": "apiKey", "in": "cookie", "name": "sessionid"},
                "csrfAuth": {"type": "apiKey", "in": "cookie", "name": "csrftoken"},
                "csrfHeaderAuth": {"type": "apiKey", "in": "header", "name": "X-CSRFTOKEN"},
            }),
        );
    }
    document["security"] = json!([
        {"sessionAuth": [], "csrfAuth": [], "csrfHeaderAuth": []},
        {"tokenAuth": []},
        {"accessTokenAuth": []},
        {"basicAuth": []},
        {},
    ]);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operation_ids_match_the_reference() {
        let reference = include_str!("../../../tests/compat/operation_ids.txt");
        let document = serde_json::to_value(document()).unwrap();
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
        let document = serde_json::to_value(document()).unwrap();
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
            "LabeledData",
            "LabeledImage",
            "LabeledShape",
            "LabeledTrack",
            "TrackedShape",
            "LabeledInterval",
            "AttributeVal",
            "IssueRead",
            "CommentRead",
            "CommentsSummary",
            "PaginatedIssueReadList",
            "PaginatedCommentReadList",
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
        // Every model the reference knows, request bodies included: the properties we
        // declare are the reference's, nullable exactly when the client's model is.
        for (name, schema) in ours.as_object().unwrap() {
            let Some(expected) = reference["models"][name]["attributes"].as_object() else { continue };
            for (attribute, property) in schema["properties"].as_object().into_iter().flatten() {
                match expected.get(attribute) {
                    None => differences.push(format!("{name}.{attribute}: not in the reference")),
                    Some(spec) if nullable(property) != spec["nullable"].as_bool().unwrap() => {
                        differences.push(format!("{name}.{attribute}: nullable should be {}", spec["nullable"]))
                    }
                    Some(_) => {}
                }
            }
        }
        differences.sort();
        differences.dedup();
        assert!(differences.is_empty(), "{differences:#?}");
        let retrieve = &document["paths"]["/api/tasks/{id}"]["get"]["responses"]["200"]["content"]["application/json"];
        assert_eq!(retrieve["schema"]["$ref"], "#/components/schemas/TaskRead");
    }

    #[test]
    fn every_operation_has_errors_credentials_and_context() {
        let document = serde_json::to_value(document()).unwrap();
        assert!(document["components"]["securitySchemes"]["tokenAuth"].is_object());
        let moment = &document["components"]["schemas"]["Timestamp"];
        assert_eq!((moment["type"].as_str(), moment["format"].as_str()), (Some("string"), Some("date-time")));
        let list = &document["paths"]["/api/tasks"]["get"];
        assert!(list["responses"]["default"].is_object());
        let names: Vec<&str> =
            list["parameters"].as_array().unwrap().iter().filter_map(|p| p["name"].as_str()).collect();
        for name in ["X-Organization", "org", "org_id", "page", "page_size", "filter", "sort", "search"] {
            assert!(names.contains(&name), "{name} in {names:?}");
        }
    }

    #[test]
    fn request_bodies_are_described() {
        let document = serde_json::to_value(document()).unwrap();
        let login = &document["paths"]["/api/auth/login"]["post"]["requestBody"]["content"]["application/json"];
        assert_eq!(login["schema"]["$ref"], "#/components/schemas/LoginSerializerExRequest");
        let required = &document["components"]["schemas"]["LoginSerializerExRequest"]["required"];
        assert_eq!(required, &serde_json::json!(["password"]));
    }
}
