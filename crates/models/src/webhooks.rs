//! Webhooks (`/api/webhooks`) and events (`/api/events`), as CVAT 2.80 names and shapes them.

use crate::{BasicUser, Timestamp};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

/// What each resource's changes are called (`create:task`, …), as CVAT lists them.
pub const WEBHOOK_RESOURCES: &[(&str, &[&str])] = &[
    ("project", &["create", "update", "delete"]),
    ("task", &["create", "update", "delete"]),
    ("job", &["create", "update", "delete"]),
    ("issue", &["create", "update", "delete"]),
    ("comment", &["create", "update", "delete"]),
    ("organization", &["update", "delete"]),
    ("invitation", &["create", "delete"]),
    ("membership", &["create", "update", "delete"]),
];

/// The events a webhook of `kind` (`organization`, `project`, or `all`) may listen to.
pub fn webhook_events(kind: &str) -> Vec<String> {
    let all = || {
        WEBHOOK_RESOURCES
            .iter()
            .flat_map(|(resource, actions)| actions.iter().map(move |action| format!("{action}:{resource}")))
    };
    match kind {
        // A project's webhook hears about what is inside the project, and the project's
        // own update and deletion.
        "project" => all()
            .filter(|e| {
                let resource = e.split(':').nth(1).unwrap_or_default();
                ["task", "job", "issue", "comment"].contains(&resource)
                    || e == "update:project"
                    || e == "delete:project"
            })
            .collect(),
        _ => all().collect(),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum WebhookType {
    Organization,
    Project,
    Server,
}

impl WebhookType {
    pub fn name(self) -> &'static str {
        match self {
            WebhookType::Organization => "organization",
            WebhookType::Project => "project",
            WebhookType::Server => "server",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub enum WebhookContentType {
    #[serde(rename = "application/json")]
    #[schema(rename = "application/json")]
    Json,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct WebhookWriteRequest {
    #[schema(min_length = 1, max_length = 8192)]
    pub target_url: String,
    #[schema(inline)]
    pub r#type: WebhookType,
    pub events: Vec<String>,
    #[schema(max_length = 128, nullable = false)]
    pub description: Option<String>,
    #[schema(inline, nullable = false)]
    pub content_type: Option<WebhookContentType>,
    #[schema(max_length = 64, nullable = false)]
    pub secret: Option<String>,
    #[schema(nullable = false)]
    pub is_active: Option<bool>,
    #[schema(nullable = false)]
    pub enable_ssl: Option<bool>,
    #[schema(minimum = 1)]
    pub project_id: Option<i64>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct PatchedWebhookWriteRequest {
    #[schema(min_length = 1, max_length = 8192, nullable = false)]
    pub target_url: Option<String>,
    #[schema(max_length = 128, nullable = false)]
    pub description: Option<String>,
    #[schema(inline, nullable = false)]
    pub content_type: Option<WebhookContentType>,
    #[schema(max_length = 64, nullable = false)]
    pub secret: Option<String>,
    #[schema(nullable = false)]
    pub is_active: Option<bool>,
    #[schema(nullable = false)]
    pub enable_ssl: Option<bool>,
    #[schema(nullable = false)]
    pub events: Option<Vec<String>>,
}

/// `WebhookRead`; the secret is never rendered.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct WebhookRead {
    pub id: i64,
    pub url: String,
    pub target_url: String,
    pub description: String,
    pub r#type: WebhookType,
    pub content_type: WebhookContentType,
    pub is_active: bool,
    pub enable_ssl: bool,
    pub created_date: Timestamp,
    pub updated_date: Timestamp,
    pub owner: Option<BasicUser>,
    pub project_id: Option<i64>,
    pub organization: Option<i64>,
    pub events: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub last_status: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub last_delivery_date: Option<Timestamp>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct WebhookDeliveryRead {
    pub id: i64,
    pub webhook_id: i64,
    pub event: String,
    pub status_code: Option<i32>,
    pub redelivery: bool,
    pub attempt: Option<i32>,
    pub request_duration: Option<i32>,
    pub created_date: Timestamp,
    pub updated_date: Timestamp,
    pub changed_fields: String,
    #[schema(value_type = Option<Object>)]
    pub request: Value,
    pub response: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct EventGroup {
    pub display_name: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct WebhooksEvent {
    pub key: String,
    pub group: EventGroup,
}

/// `GET /api/webhooks/events`.
#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookEvents {
    pub webhook_type: String,
    pub events: Vec<WebhooksEvent>,
}

/// One event as clients send it and as it is stored (`EventRequest`, `Event`).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct EventRequest {
    #[schema(min_length = 1, max_length = 256)]
    pub scope: String,
    pub timestamp: chrono::DateTime<chrono::Utc>,
    #[serde(default)]
    #[schema(min_length = 1, max_length = 4096)]
    pub obj_name: Option<String>,
    #[serde(default)]
    pub obj_id: Option<i64>,
    #[serde(default)]
    #[schema(min_length = 1, max_length = 4096)]
    pub obj_val: Option<String>,
    #[serde(default)]
    #[schema(min_length = 1, max_length = 256)]
    pub source: Option<String>,
    #[serde(default)]
    pub count: Option<i32>,
    #[serde(default)]
    #[schema(nullable = false)]
    pub duration: Option<i32>,
    #[serde(default)]
    pub project_id: Option<i64>,
    #[serde(default)]
    pub task_id: Option<i64>,
    #[serde(default)]
    pub job_id: Option<i64>,
    #[serde(default)]
    pub user_id: Option<i64>,
    #[serde(default)]
    #[schema(min_length = 1, max_length = 256)]
    pub user_name: Option<String>,
    #[serde(default)]
    #[schema(min_length = 1, max_length = 256)]
    pub user_email: Option<String>,
    #[serde(default)]
    pub org_id: Option<i64>,
    #[serde(default)]
    #[schema(min_length = 1, max_length = 256)]
    pub org_slug: Option<String>,
    #[serde(default)]
    #[schema(min_length = 1, max_length = 65536)]
    pub payload: Option<String>,
}

/// `POST /api/events`: a batch of the UI's or the SDK's events; `timestamp` is when it
/// was sent, by the client's clock.
#[derive(Debug, Deserialize, ToSchema)]
pub struct ClientEventsRequest {
    pub timestamp: chrono::DateTime<chrono::Utc>,
    #[serde(default)]
    #[schema(nullable = false)]
    pub events: Option<Vec<EventRequest>>,
    #[serde(default)]
    pub previous_event: Option<EventRequest>,
}

/// What `POST /api/events` answers: the events as stored.
#[derive(Debug, Serialize, ToSchema)]
pub struct ClientEvents {
    pub timestamp: Timestamp,
    pub events: Vec<EventRequest>,
}
