//! Functions (`/api/functions`: native functions served by remote agents, as `cvat-cli
//! function create-native` registers them), their lambda view (`/api/lambda/functions`)
//! and the requests sent to them (`/api/lambda/requests`, and the agent protocol of
//! `cvat-cli function run-agent`).

use crate::{BasicUser, InputTypeEnum, LabelType, Timestamp};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;
use utoipa::ToSchema;

/// The function a queue belongs to: agents name queues `function:{id}`.
pub fn parse_queue(queue: &str) -> cvat_error::ApiResult<i64> {
    queue.strip_prefix("function:").and_then(|id| id.parse().ok()).ok_or_else(cvat_error::ApiError::not_found)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum FunctionKind {
    Detector,
    Interactor,
    Tracker,
}

impl FunctionKind {
    pub fn name(self) -> &'static str {
        match self {
            FunctionKind::Detector => "detector",
            FunctionKind::Interactor => "interactor",
            FunctionKind::Tracker => "tracker",
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        [FunctionKind::Detector, FunctionKind::Interactor, FunctionKind::Tracker].into_iter().find(|k| k.name() == name)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum FunctionVisibility {
    Private,
    Public,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum FunctionProvider {
    Native,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct FunctionAttribute {
    #[schema(min_length = 1, max_length = 64)]
    pub name: String,
    #[schema(inline)]
    pub input_type: InputTypeEnum,
    pub values: Vec<String>,
}

/// A part of a skeleton label a detector outputs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct FunctionSublabel {
    #[schema(min_length = 1, max_length = 64)]
    pub name: String,
    /// `any` when not given.
    #[serde(default = "any_type")]
    #[schema(inline)]
    pub r#type: LabelType,
    #[serde(default)]
    pub attributes: Vec<FunctionAttribute>,
}

/// A label a detector outputs (`labels_v2`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct FunctionLabel {
    #[schema(min_length = 1, max_length = 64)]
    pub name: String,
    #[serde(default = "any_type")]
    #[schema(inline)]
    pub r#type: LabelType,
    #[serde(default)]
    pub attributes: Vec<FunctionAttribute>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub sublabels: Option<Vec<FunctionSublabel>>,
}

fn any_type() -> LabelType {
    LabelType::Any
}

/// `POST /api/functions`: the kind's fields beside the common ones (`labels_v2` for a
/// detector; the prompt rules for an interactor; the shape types for a tracker).
#[derive(Debug, Deserialize, ToSchema)]
pub struct FunctionWriteRequest {
    #[schema(inline)]
    pub provider: FunctionProvider,
    #[schema(min_length = 1, max_length = 256)]
    pub name: String,
    #[schema(inline, nullable = false)]
    pub visibility: Option<FunctionVisibility>,
    #[schema(inline)]
    pub kind: FunctionKind,
    #[schema(max_length = 2048, nullable = false)]
    pub description: Option<String>,
    #[schema(nullable = false)]
    pub labels_v2: Option<Vec<FunctionLabel>>,
    #[schema(minimum = 0, maximum = 1000, nullable = false)]
    pub min_pos_points: Option<i32>,
    #[schema(minimum = -1, maximum = 1000, nullable = false)]
    pub min_neg_points: Option<i32>,
    #[schema(nullable = false)]
    pub startswith_box: Option<bool>,
    #[schema(nullable = false)]
    pub startswith_box_optional: Option<bool>,
    #[schema(nullable = false)]
    pub supported_shape_types: Option<Vec<String>>,
}

/// What a function is, beside its kind: kept as one JSON column, rendered into both views.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
pub struct FunctionSpec {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub labels_v2: Option<Vec<FunctionLabel>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_pos_points: Option<i32>,
    /// -1: negative points are not taken.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_neg_points: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub startswith_box: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub startswith_box_optional: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub supported_shape_types: Option<Vec<String>>,
}

/// `GET /api/functions/{id}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct FunctionRead {
    pub id: i64,
    pub provider: FunctionProvider,
    pub name: String,
    pub kind: FunctionKind,
    pub visibility: FunctionVisibility,
    pub description: String,
    pub owner: Option<BasicUser>,
    pub organization: Option<i64>,
    pub created_date: Timestamp,
    pub updated_date: Timestamp,
    #[serde(flatten)]
    pub spec: FunctionSpec,
}

/// A function as `/api/lambda/functions` lists it (CVAT's `LambdaFunction.to_dict`).
#[derive(Debug, Serialize, ToSchema)]
pub struct LambdaFunction {
    /// The function's id, as a string (lambda ids are names).
    pub id: String,
    pub kind: FunctionKind,
    pub labels_v2: Vec<FunctionLabel>,
    pub description: String,
    pub name: String,
    pub version: i32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min_pos_points: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min_neg_points: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub startswith_box: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub startswith_box_optional: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub help_message: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub animated_gif: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct SublabelMappingEntryRequest {
    #[schema(min_length = 1)]
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub attributes: Option<BTreeMap<String, String>>,
}

/// Which task label (and attributes) a function's label writes.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct LabelMappingEntryRequest {
    #[schema(min_length = 1)]
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub attributes: Option<BTreeMap<String, String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub sublabels: Option<BTreeMap<String, SublabelMappingEntryRequest>>,
}

/// `POST /api/lambda/requests`: annotate a task (or one of its jobs) with a detector.
#[derive(Debug, Deserialize, ToSchema)]
pub struct FunctionCallRequest {
    #[schema(min_length = 1)]
    pub function: String,
    pub task: i64,
    #[schema(nullable = false)]
    pub job: Option<i64>,
    #[schema(nullable = false)]
    pub max_distance: Option<i64>,
    #[schema(minimum = 0, maximum = 1, nullable = false)]
    pub threshold: Option<f64>,
    #[schema(nullable = false)]
    pub cleanup: Option<bool>,
    #[schema(nullable = false)]
    pub conv_mask_to_poly: Option<bool>,
    #[schema(nullable = false)]
    pub mapping: Option<BTreeMap<String, LabelMappingEntryRequest>>,
    #[schema(nullable = false, min_items = 4, max_items = 4)]
    pub roi: Option<Vec<i64>>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct FunctionCallParams {
    pub id: Option<String>,
    pub task: Option<i64>,
    pub threshold: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub job: Option<i64>,
}

/// A lambda request (`/api/lambda/requests/{id}`); `progress` in percent.
#[derive(Debug, Serialize, ToSchema)]
pub struct FunctionCall {
    pub id: String,
    pub function: FunctionCallParams,
    /// queued, started, finished or failed.
    pub status: Option<String>,
    pub progress: Option<i32>,
    pub enqueued: Option<Timestamp>,
    pub started: Option<Timestamp>,
    pub ended: Option<Timestamp>,
    pub exc_info: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RequestCategory {
    Batch,
    Interactive,
}

impl RequestCategory {
    pub fn name(self) -> &'static str {
        match self {
            RequestCategory::Batch => "batch",
            RequestCategory::Interactive => "interactive",
        }
    }
}

/// `POST …/requests/acquire`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct AgentAcquireRequest {
    #[schema(min_length = 1, max_length = 128)]
    pub agent_id: String,
    #[schema(inline)]
    pub request_category: RequestCategory,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AgentAssignment {
    pub ar_id: String,
    #[schema(value_type = Object)]
    pub ar_params: Value,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AgentAcquireResponse {
    pub ar_assignment: Option<AgentAssignment>,
}

/// `POST …/requests/{id}/update`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct AgentUpdateRequest {
    #[schema(min_length = 1, max_length = 128)]
    pub agent_id: String,
    #[schema(minimum = 0, maximum = 1)]
    pub progress: f64,
}

/// `POST …/requests/{id}/fail`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct AgentFailRequest {
    #[schema(min_length = 1, max_length = 128)]
    pub agent_id: String,
    #[schema(max_length = 4096)]
    pub exc_info: String,
}

/// `POST …/requests/{id}/complete`: the agent and its result, whose fields depend on
/// the request (`annotations` for a detector; `shapes` for an interactor; `states` and
/// `shapes` for a tracker).
#[derive(Debug, Deserialize, ToSchema)]
pub struct AgentCompleteRequest {
    #[schema(min_length = 1, max_length = 128)]
    pub agent_id: String,
    #[schema(value_type = Option<Object>, nullable = false)]
    pub annotations: Option<Value>,
    /// An interactor's shapes; a tracker's (null where a shape was lost).
    #[schema(nullable = false)]
    pub shapes: Option<Vec<Value>>,
    /// A tracker's states (opaque to the server).
    #[schema(nullable = false)]
    pub states: Option<Vec<Value>>,
}

#[cfg(test)]
mod tests {
    #[test]
    fn queues_are_named_after_functions() {
        assert_eq!(super::parse_queue("function:12").unwrap(), 12);
        for bad in ["12", "function:", "function:x", "lambda:1"] {
            assert_eq!(super::parse_queue(bad).unwrap_err().status_code(), 404, "{bad}");
        }
    }
}
