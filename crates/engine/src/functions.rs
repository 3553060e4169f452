//! Native functions and their agents. A function (`/api/functions`, as `cvat-cli function
//! create-native` registers it) is a model that runs on its owner's machines: agents
//! (`cvat-cli function run-agent`) watch its queue, acquire requests, report progress and
//! complete or fail them. Requests are rows of `function_requests`, so any number of
//! agents and gateway or task-service replicas share one queue and nothing is lost when
//! one of them restarts:
//!
//! * a batch request (`POST /api/lambda/requests`) annotates a task: the agent reads the
//!   task's frames itself and sends the annotations, which are saved in the task (or the
//!   job) as a PATCH create, or a PUT with `cleanup`, all with `source: auto`, in one
//!   transaction with the request's completion;
//! * an interactive request (`POST /api/lambda/functions/{id}`) asks about one frame; the
//!   caller waits for the agent's answer, and the request is gone once answered.
//!
//! An agent holds a request for a lease, renewed by each `update`; an agent that stops
//! reporting loses it to the next `acquire`. Agents learn about new requests from
//! PostgreSQL notifications, which cross every replica; they also poll.
//!
//! Decisions where CVAT's open-source server is silent (it serves functions through
//! nuclio only): lambda ids are the functions' ids as strings; a function is its owner's
//! (private) or its organization's (public), only the owner runs its agents; a request's
//! owner sees and cancels it; an online detector call answers CVAT's nuclio shape
//! (`label` by name), an interactor or tracker call the agent's own answer.

use crate::access::{allow, list_scope, Context, Visibility};
use crate::annotations::Writer;
use crate::render::{self, user_columns};
use crate::{parse_body, AnnotationSave, Caller, DocumentPage, Engine};
use cvat_annotations::{self as ann, LabeledData, Source};
use cvat_db::{column, DbResultExt, GenericClient, Notice};
use cvat_error::{ApiError, ApiResult, ErrorKind};
use cvat_listing::{Field, FieldType, ListParams, ListSpec};
use cvat_models::{
    AgentAcquireRequest, AgentAcquireResponse, AgentAssignment, AgentCompleteRequest, AgentFailRequest,
    AgentUpdateRequest, FunctionCall, FunctionCallParams, FunctionCallRequest, FunctionKind, FunctionLabel,
    FunctionProvider, FunctionRead, FunctionSpec, FunctionVisibility, FunctionWriteRequest, LabelMappingEntryRequest,
    LabelType, LambdaFunction, RequestCategory, SublabelMappingEntryRequest,
};
use cvat_permissions::{FunctionFacts, FunctionScope, JobScope, Role, TaskScope};
use serde_json::{json, Map, Value};
use std::collections::{BTreeMap, HashMap};
use std::time::Duration;
use tokio_postgres::Row;

/// The notification channels: a request queued (`<function> <category>`), and an
/// interactive request answered (`<request id>`).
pub const QUEUE_CHANNEL: &str = "function_queue";
pub const RESULT_CHANNEL: &str = "function_results";

/// How agents are dealt with.
#[derive(Clone)]
pub struct Agents {
    pub notices: cvat_db::Notices,
    /// How long a request stays with an agent that does not report.
    pub lease: Duration,
    /// How long an online call waits for an agent's answer.
    pub answer_wait: Duration,
}

/// The most requests one agent may hold at once; more acquires are told to wait.
const MAX_HELD: i64 = 8;
/// The most requests waiting for one function: more are refused until agents catch up.
const MAX_QUEUED: i64 = 10_000;
/// How long an answered or failed batch request stays in `/api/lambda/requests` (CVAT
/// keeps finished ones 30 minutes).
const SHOWN_AFTER_END: &str = "30 minutes";
/// What a waiter does when no notice comes: looks at the row again.
const RECHECK: Duration = Duration::from_secs(1);

const FIELDS: &[Field] = &[
    Field { name: "id", sql: "f.id", ty: FieldType::Int },
    Field { name: "name", sql: "f.name", ty: FieldType::Text },
    Field { name: "kind", sql: "f.kind", ty: FieldType::Text },
    Field { name: "owner", sql: "o.username", ty: FieldType::Text },
];

pub const FUNCTION_LIST: ListSpec = ListSpec {
    fields: FIELDS,
    search: &["name", "owner"],
    filter: &["name", "kind", "owner", "id"],
    equals: &["name", "kind", "owner"],
    sort: &["name", "kind", "owner", "id"],
    default_sort: "-id",
    search_sql: None,
};

const FROM: &str = "functions f LEFT JOIN users o ON o.id = f.owner_id";

/// In an organization: the caller's own functions and the public ones (managers see all).
const IN_ORG: Visibility = Visibility {
    org_column: "f.organization_id",
    relations: "f.owner_id = {user} OR f.visibility = 'public'",
    staff: Role::Maintainer,
};
/// Outside: the caller's own, and public functions that belong to no organization.
const PERSONAL: Visibility = Visibility {
    org_column: "f.organization_id",
    relations: "f.owner_id = {user} OR (f.visibility = 'public' AND f.organization_id IS NULL)",
    staff: Role::Maintainer,
};

fn columns() -> String {
    format!(
        "f.id, f.name, f.kind, f.visibility, f.description, f.spec, f.organization_id, f.created_date, \
         f.updated_date, {}",
        user_columns("o", "owner")
    )
}

/// A function as stored.
struct Function {
    id: i64,
    name: String,
    kind: FunctionKind,
    visibility: FunctionVisibility,
    description: String,
    spec: FunctionSpec,
    org: Option<i64>,
    owner: Option<i64>,
}

impl Function {
    fn read(row: &Row) -> ApiResult<Self> {
        let kind: String = column(row, "kind")?;
        let spec: Value = column(row, "spec")?;
        let unreadable = |what: &str| {
            tracing::error!(what, "unreadable function row");
            ApiError::internal()
        };
        Ok(Self {
            id: column(row, "id")?,
            name: column(row, "name")?,
            kind: FunctionKind::parse(&kind).ok_or_else(|| unreadable("kind"))?,
            visibility: match column::<_, String>(row, "visibility")?.as_str() {
                "public" => FunctionVisibility::Public,
                _ => FunctionVisibility::Private,
            },
            description: column(row, "description")?,
            spec: serde_json::from_value(spec).map_err(|_| unreadable("spec"))?,
            org: column(row, "organization_id")?,
            owner: column(row, "owner_id")?,
        })
    }

    fn facts(&self) -> FunctionFacts {
        FunctionFacts {
            in_org: self.org.is_some(),
            owner: self.owner,
            public: self.visibility == FunctionVisibility::Public,
        }
    }

    fn lambda(self) -> LambdaFunction {
        let interactor = self.kind == FunctionKind::Interactor;
        let spec = self.spec;
        LambdaFunction {
            id: self.id.to_string(),
            kind: self.kind,
            labels_v2: spec.labels_v2.unwrap_or_default(),
            description: self.description,
            name: self.name,
            version: 1,
            min_pos_points: spec.min_pos_points,
            min_neg_points: spec.min_neg_points,
            startswith_box: spec.startswith_box,
            startswith_box_optional: spec.startswith_box_optional,
            help_message: interactor.then(String::new),
            animated_gif: interactor.then(String::new),
        }
    }
}

fn render_function(base: &str, row: &Row) -> ApiResult<String> {
    let function = Function::read(row)?;
    Ok(cvat_models::render(&FunctionRead {
        id: function.id,
        provider: FunctionProvider::Native,
        name: function.name,
        kind: function.kind,
        visibility: function.visibility,
        description: function.description,
        owner: render::user(base, row, "owner")?,
        organization: function.org,
        created_date: render::moment(row, "created_date")?,
        updated_date: render::moment(row, "updated_date")?,
        spec: function.spec,
    }))
}

/// The kind's fields with CVAT's defaults; what another kind has is not kept.
fn spec_of(request: &FunctionWriteRequest) -> ApiResult<FunctionSpec> {
    Ok(match request.kind {
        FunctionKind::Detector => {
            let labels = request.labels_v2.clone().unwrap_or_default();
            check_unique_names(&labels)?;
            FunctionSpec { labels_v2: Some(labels), ..Default::default() }
        }
        FunctionKind::Interactor => FunctionSpec {
            min_pos_points: Some(request.min_pos_points.unwrap_or(1)),
            min_neg_points: Some(request.min_neg_points.unwrap_or(-1)),
            startswith_box: Some(request.startswith_box.unwrap_or(false)),
            startswith_box_optional: Some(request.startswith_box_optional.unwrap_or(false)),
            ..Default::default()
        },
        FunctionKind::Tracker => FunctionSpec {
            supported_shape_types: Some(request.supported_shape_types.clone().unwrap_or_default()),
            ..Default::default()
        },
    })
}

/// Labels, sublabels and each one's attributes have unique names (CVAT refuses a function
/// whose do not).
fn check_unique_names(labels: &[FunctionLabel]) -> ApiResult<()> {
    fn unique<'a>(names: impl Iterator<Item = &'a str>, what: &str) -> ApiResult<()> {
        let mut seen = std::collections::HashSet::new();
        for name in names {
            if !seen.insert(name) {
                return Err(ApiError::field("labels_v2", format!("The {what} name {name:?} is repeated.")));
            }
        }
        Ok(())
    }
    unique(labels.iter().map(|l| l.name.as_str()), "label")?;
    for label in labels {
        unique(label.attributes.iter().map(|a| a.name.as_str()), "attribute")?;
        let sublabels = label.sublabels.as_deref().unwrap_or_default();
        unique(sublabels.iter().map(|s| s.name.as_str()), "sublabel")?;
        for sublabel in sublabels {
            unique(sublabel.attributes.iter().map(|a| a.name.as_str()), "attribute")?;
        }
    }
    Ok(())
}

/// A lambda id: a function's id as a string.
fn lambda_id(id: &str) -> ApiResult<i64> {
    id.parse().map_err(|_| ApiError::detail(ErrorKind::NotFound, format!("The function {id:?} does not exist.")))
}

fn label_type(t: LabelType) -> String {
    serde_json::to_value(t).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default()
}

/// A task's label as a mapping sees it.
#[derive(Debug, Clone)]
struct TaskLabel {
    id: i64,
    name: String,
    kind: String,
    attributes: Vec<(i64, String)>,
    sublabels: Vec<TaskLabel>,
}

/// CVAT's rule for which function labels may write which task labels.
fn compatible(function: &str, task: &str) -> bool {
    let both_regions = ["mask", "polygon"].contains(&function) && ["mask", "polygon"].contains(&task);
    function == task
        || (task == "any" && function != "skeleton")
        || (function == "any" && task != "skeleton")
        || both_regions
}

/// What a label of the function with these attributes and sublabels writes by default:
/// the task's label of the same name and a compatible type, and the attributes of the
/// same names.
fn default_mapping(function: &[FunctionLabel], task: &[TaskLabel]) -> BTreeMap<String, LabelMappingEntryRequest> {
    let mut mapping = BTreeMap::new();
    for label in function {
        let kind = label_type(label.r#type);
        let Some(target) = task.iter().find(|t| t.name == label.name && compatible(&kind, &t.kind)) else { continue };
        let attributes = same_attributes(label.attributes.iter().map(|a| a.name.as_str()), target);
        let sublabels = (kind == "skeleton" && target.kind == "skeleton").then(|| {
            let mut sublabels = BTreeMap::new();
            for sublabel in label.sublabels.as_deref().unwrap_or_default() {
                let sub_kind = label_type(sublabel.r#type);
                let found = target.sublabels.iter().find(|t| t.name == sublabel.name && compatible(&sub_kind, &t.kind));
                if let Some(found) = found {
                    let attributes = same_attributes(sublabel.attributes.iter().map(|a| a.name.as_str()), found);
                    sublabels.insert(
                        sublabel.name.clone(),
                        SublabelMappingEntryRequest { name: found.name.clone(), attributes: Some(attributes) },
                    );
                }
            }
            sublabels
        });
        mapping.insert(
            label.name.clone(),
            LabelMappingEntryRequest { name: target.name.clone(), attributes: Some(attributes), sublabels },
        );
    }
    mapping
}

fn same_attributes<'a>(names: impl Iterator<Item = &'a str>, target: &TaskLabel) -> BTreeMap<String, String> {
    names.filter(|n| target.attributes.iter().any(|(_, a)| a == n)).map(|n| (n.to_string(), n.to_string())).collect()
}

fn invalid_mapping(message: String) -> ApiError {
    ApiError::field("mapping", format!("Invalid mapping. {message}"))
}

/// A mapping a caller gave: every name in it exists on its side, and types agree.
fn check_mapping(
    mapping: &BTreeMap<String, LabelMappingEntryRequest>,
    function: &[FunctionLabel],
    task: &[TaskLabel],
) -> ApiResult<()> {
    let check_attributes = |given: &Option<BTreeMap<String, String>>, model: Vec<&str>, target: &TaskLabel| {
        for (from, to) in given.iter().flatten() {
            if !model.contains(&from.as_str()) {
                return Err(invalid_mapping(format!("Unknown model attribute {from:?}")));
            }
            if !target.attributes.iter().any(|(_, a)| a == to) {
                return Err(invalid_mapping(format!("Unknown db attribute {to:?}")));
            }
        }
        Ok(())
    };
    for (from, entry) in mapping {
        let label = function
            .iter()
            .find(|l| &l.name == from)
            .ok_or_else(|| invalid_mapping(format!("Unknown model label {from:?}")))?;
        let target = task
            .iter()
            .find(|t| t.name == entry.name)
            .ok_or_else(|| invalid_mapping(format!("Unknown db label {:?}", entry.name)))?;
        let kind = label_type(label.r#type);
        if !compatible(&kind, &target.kind) {
            return Err(invalid_mapping(format!(
                "Model label {from:?} and database label {:?} are not compatible",
                entry.name
            )));
        }
        check_attributes(&entry.attributes, label.attributes.iter().map(|a| a.name.as_str()).collect(), target)?;
        for (sub_from, sub_entry) in entry.sublabels.iter().flatten() {
            let sublabel = label
                .sublabels
                .iter()
                .flatten()
                .find(|s| &s.name == sub_from)
                .ok_or_else(|| invalid_mapping(format!("Unknown model sublabel {sub_from:?}")))?;
            let sub_target = target
                .sublabels
                .iter()
                .find(|t| t.name == sub_entry.name)
                .ok_or_else(|| invalid_mapping(format!("Unknown db sublabel {:?}", sub_entry.name)))?;
            check_attributes(
                &sub_entry.attributes,
                sublabel.attributes.iter().map(|a| a.name.as_str()).collect(),
                sub_target,
            )?;
        }
    }
    Ok(())
}

/// The `mapping` a detector's request carries: the caller's (checked) or the default.
fn request_mapping(
    given: Option<BTreeMap<String, LabelMappingEntryRequest>>,
    function: &Function,
    task: &[TaskLabel],
) -> ApiResult<Value> {
    let labels = function.spec.labels_v2.as_deref().unwrap_or_default();
    let mapping = match given {
        Some(given) if !given.is_empty() => {
            check_mapping(&given, labels, task)?;
            given
        }
        _ => default_mapping(labels, task),
    };
    serde_json::to_value(mapping).map_err(|_| ApiError::internal())
}

/// A request as stored.
struct HeldRequest {
    category: String,
    kind: String,
    task: i64,
    job: Option<i64>,
    owner: Option<i64>,
    cleanup: bool,
}

fn render_call(row: &Row) -> ApiResult<FunctionCall> {
    let function: i64 = column(row, "function_id")?;
    let progress: f32 = column(row, "progress")?;
    Ok(FunctionCall {
        id: column(row, "id")?,
        function: FunctionCallParams {
            id: Some(function.to_string()),
            task: Some(column(row, "task_id")?),
            threshold: column(row, "threshold")?,
            job: column(row, "job_id")?,
        },
        status: Some(column(row, "status")?),
        progress: Some((progress * 100.0).round() as i32),
        enqueued: Some(render::moment(row, "enqueued")?),
        started: render::maybe_moment(row, "started")?,
        ended: render::maybe_moment(row, "ended")?,
        exc_info: column(row, "exc_info")?,
    })
}

const CALL_COLUMNS: &str =
    "id, function_id, task_id, job_id, threshold, status, progress, enqueued, started, ended, exc_info, owner_id";

/// In a completion's transaction: the request is still held by `agent` (else 409, or
/// 404 when it is gone, cancelled say); it is finished at the commit.
pub(crate) async fn finish_held(tx: &impl GenericClient, request: &str, agent: &str) -> ApiResult<()> {
    let row = tx
        .query_opt("SELECT status, agent_id FROM function_requests WHERE id = $1 FOR UPDATE", &[&request])
        .await
        .db()?
        .ok_or_else(gone)?;
    held_by(&row, agent)?;
    tx.execute(
        "UPDATE function_requests SET status = 'finished', progress = 1, ended = now(), lease_until = NULL \
         WHERE id = $1",
        &[&request],
    )
    .await
    .db()?;
    Ok(())
}

fn gone() -> ApiError {
    ApiError::detail(ErrorKind::NotFound, "The request does not exist (it may have been cancelled).")
}

/// A row of `status, agent_id` is held by `agent`: started, and by them.
fn held_by(row: &Row, agent: &str) -> ApiResult<()> {
    let status: String = column(row, 0)?;
    let holder: Option<String> = column(row, 1)?;
    if status != "started" || holder.as_deref() != Some(agent) {
        return Err(ApiError::detail(ErrorKind::Conflict, "The request is not held by this agent."));
    }
    Ok(())
}

/// The frame `params` names, within the task (or job).
fn frame_of(params: &Map<String, Value>) -> ApiResult<i64> {
    params
        .get("frame")
        .and_then(Value::as_i64)
        .filter(|f| *f >= 0)
        .ok_or_else(|| ApiError::field("frame", "A frame number is required."))
}

fn points_list(params: &Map<String, Value>, name: &str, required: bool) -> ApiResult<Value> {
    match params.get(name) {
        None | Some(Value::Null) if !required => Ok(json!([])),
        Some(Value::Array(points))
            if points
                .iter()
                .all(|p| p.as_array().is_some_and(|xy| xy.len() == 2 && xy.iter().all(Value::is_number))) =>
        {
            Ok(Value::Array(points.clone()))
        }
        _ => Err(ApiError::field(name, "A list of [x, y] points is required.")),
    }
}

impl Engine {
    async fn function_row(&self, client: &impl GenericClient, id: i64) -> ApiResult<Row> {
        let sql = format!("SELECT {}, f.owner_id FROM {FROM} WHERE f.id = $1", columns());
        client.query_opt(&sql, &[&id]).await.db()?.ok_or_else(ApiError::not_found)
    }

    /// 404 when there is no such function, 403 when `scope` is denied.
    async fn check_function(
        &self,
        client: &impl GenericClient,
        caller: &Caller,
        id: i64,
        scope: FunctionScope,
    ) -> ApiResult<(Row, Function)> {
        let row = self.function_row(client, id).await?;
        let function = Function::read(&row)?;
        let actor = self.actor(caller, function.org).await?;
        allow(cvat_permissions::function(&actor, scope, &function.facts()))?;
        Ok((row, function))
    }

    #[tracing::instrument(skip_all)]
    pub async fn create_function(&self, caller: &Caller, body: &str) -> ApiResult<String> {
        let request: FunctionWriteRequest = cvat_models::parse(&parse_body(body)?)?;
        let actor = self.context_actor(caller).await?;
        let org = caller.context.org();
        allow(cvat_permissions::create_function(&actor, org.is_some()))?;
        let spec = serde_json::to_value(spec_of(&request)?).map_err(|_| ApiError::internal())?;
        let visibility = match request.visibility.unwrap_or(FunctionVisibility::Private) {
            FunctionVisibility::Private => "private",
            FunctionVisibility::Public => "public",
        };
        let mut client = self.client().await?;
        let tx = client.transaction().await.db()?;
        crate::users::remember_all(&tx, &[Some(&caller.user)]).await?;
        let row = tx
            .query_one(
                "INSERT INTO functions (name, kind, visibility, description, spec, owner_id, organization_id) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
                &[
                    &request.name,
                    &request.kind.name(),
                    &visibility,
                    &request.description.unwrap_or_default(),
                    &spec,
                    &caller.id(),
                    &org,
                ],
            )
            .await
            .db()?;
        let id: i64 = column(&row, 0)?;
        let document = render_function(&caller.base_url, &self.function_row(&tx, id).await?)?;
        tx.commit().await.db()?;
        Ok(document)
    }

    #[tracing::instrument(skip_all)]
    pub async fn get_function(&self, caller: &Caller, id: i64) -> ApiResult<String> {
        let client = self.client().await?;
        let (row, _) = self.check_function(&client, caller, id, FunctionScope::View).await?;
        render_function(&caller.base_url, &row)
    }

    /// A page of the functions the caller sees.
    async fn function_page(&self, caller: &Caller, params: &ListParams) -> ApiResult<cvat_listing::Page> {
        let actor = self.context_actor(caller).await?;
        let visibility = if matches!(caller.context, Context::Org(_)) { &IN_ORG } else { &PERSONAL };
        let scope = list_scope(caller, &actor, visibility)?;
        let client = self.client().await?;
        let columns = format!("{}, f.owner_id", columns());
        cvat_listing::fetch_page(client, &FUNCTION_LIST, params, scope, &columns, FROM, None).await
    }

    #[tracing::instrument(skip_all)]
    pub async fn list_functions(&self, caller: &Caller, params: &ListParams) -> ApiResult<DocumentPage> {
        let page = self.function_page(caller, params).await?;
        Ok(DocumentPage {
            count: page.count,
            results: page.rows.iter().map(|r| render_function(&caller.base_url, r)).collect::<ApiResult<_>>()?,
        })
    }

    /// Deleting a function drops its requests; agents watching it are told nothing more
    /// and get 404s.
    #[tracing::instrument(skip_all)]
    pub async fn delete_function(&self, caller: &Caller, id: i64) -> ApiResult<()> {
        let client = self.client().await?;
        self.check_function(&client, caller, id, FunctionScope::Delete).await?;
        client.execute("DELETE FROM functions WHERE id = $1", &[&id]).await.db()?;
        Ok(())
    }

    /// `/api/lambda/functions`: what the caller sees, in the lambda shape (a plain list).
    #[tracing::instrument(skip_all)]
    pub async fn list_lambda_functions(&self, caller: &Caller) -> ApiResult<String> {
        let params = ListParams { page_size: cvat_listing::MAX_PAGE_SIZE, ..Default::default() };
        let page = self.function_page(caller, &params).await?;
        let functions =
            page.rows.iter().map(|r| Function::read(r).map(Function::lambda)).collect::<ApiResult<Vec<_>>>()?;
        Ok(cvat_models::render(&functions))
    }

    #[tracing::instrument(skip_all)]
    pub async fn get_lambda_function(&self, caller: &Caller, id: &str) -> ApiResult<String> {
        let client = self.client().await?;
        let (_, function) = self.check_function(&client, caller, lambda_id(id)?, FunctionScope::View).await?;
        Ok(cvat_models::render(&function.lambda()))
    }

    /// The labels (with attributes and sublabels) annotations of the task may use.
    async fn task_labels(&self, client: &impl GenericClient, task: i64) -> ApiResult<Vec<TaskLabel>> {
        let owner = self.task_label_owner_unchecked(client, task).await?;
        let column_name = owner.column();
        let labels = client
            .query(
                &format!("SELECT id, name, type, parent_id FROM labels WHERE {column_name} = $1 ORDER BY id"),
                &[&owner.id()],
            )
            .await
            .db()?;
        let attributes = client
            .query(
                &format!(
                    "SELECT a.id, a.label_id, a.name FROM attributes a JOIN labels l ON l.id = a.label_id \
                     WHERE l.{column_name} = $1 ORDER BY a.id"
                ),
                &[&owner.id()],
            )
            .await
            .db()?;
        let mut by_id: BTreeMap<i64, (Option<i64>, TaskLabel)> = BTreeMap::new();
        for row in &labels {
            let id: i64 = column(row, 0)?;
            let label = TaskLabel {
                id,
                name: column(row, 1)?,
                kind: column(row, 2)?,
                attributes: Vec::new(),
                sublabels: Vec::new(),
            };
            by_id.insert(id, (column(row, 3)?, label));
        }
        for row in &attributes {
            let label: i64 = column(row, 1)?;
            if let Some((_, entry)) = by_id.get_mut(&label) {
                entry.attributes.push((column(row, 0)?, column(row, 2)?));
            }
        }
        let children: Vec<(i64, TaskLabel)> =
            by_id.values().filter_map(|(parent, l)| parent.map(|p| (p, l.clone()))).collect();
        for (parent, child) in children {
            if let Some((_, entry)) = by_id.get_mut(&parent) {
                entry.sublabels.push(child);
            }
        }
        Ok(by_id.into_values().filter(|(parent, _)| parent.is_none()).map(|(_, l)| l).collect())
    }

    /// The task (and job) a request names, after the caller's check on it.
    async fn request_target(
        &self,
        client: &impl GenericClient,
        caller: &Caller,
        task: Option<i64>,
        job: Option<i64>,
        update: bool,
    ) -> ApiResult<(i64, Option<i64>)> {
        let missing =
            |field: &str, id: i64| ApiError::field(field, format!("Invalid pk \"{id}\" - object does not exist."));
        match (task, job) {
            (_, Some(job)) => {
                let (facts, job_task, org) = match self.job_access(client, job).await {
                    Err(err) if err.status_code() == 404 => return Err(missing("job", job)),
                    other => other?,
                };
                if task.is_some_and(|t| t != job_task) {
                    return Err(ApiError::field("job", "The job is not a job of the task."));
                }
                let actor = self.actor(caller, org).await?;
                allow(cvat_permissions::job(&actor, if update { JobScope::Update } else { JobScope::View }, &facts))?;
                Ok((job_task, Some(job)))
            }
            (Some(task), None) => {
                let access = match self.task_access(client, task).await {
                    Err(err) if err.status_code() == 404 => return Err(missing("task", task)),
                    other => other?,
                };
                let actor = self.actor(caller, access.org).await?;
                let scope = if update { TaskScope::Update } else { TaskScope::View };
                allow(cvat_permissions::task(&actor, scope, &access.facts))?;
                Ok((task, None))
            }
            (None, None) => Err(ApiError::field("task", "This field is required.")),
        }
    }

    /// `POST /api/lambda/requests`: queues an `annotate_task` request for a detector. One
    /// unfinished request per task at a time (409), as in CVAT.
    #[tracing::instrument(skip_all)]
    pub async fn create_lambda_request(&self, caller: &Caller, body: &str) -> ApiResult<String> {
        let request: FunctionCallRequest = cvat_models::parse(&parse_body(body)?)?;
        let mut client = self.client().await?;
        let (_, function) =
            self.check_function(&client, caller, lambda_id(&request.function)?, FunctionScope::View).await?;
        if function.kind != FunctionKind::Detector {
            return Err(ApiError::field("function", "Only detectors annotate whole tasks."));
        }
        let (task, job) = self.request_target(&client, caller, Some(request.task), request.job, true).await?;
        let labels = self.task_labels(&client, task).await?;
        let mut params = json!({
            "type": "annotate_task",
            "task": task,
            "mapping": request_mapping(request.mapping, &function, &labels)?,
            "threshold": request.threshold,
            "conv_mask_to_poly": request.conv_mask_to_poly.unwrap_or(false),
        });
        if let Some(roi) = &request.roi {
            params["roi"] = json!(roi);
        }
        let id = uuid::Uuid::new_v4().to_string();
        let tx = client.transaction().await.db()?;
        // Serialises requests for one task: the check below and the insert go together.
        tx.query("SELECT 1 FROM tasks WHERE id = $1 FOR UPDATE", &[&task]).await.db()?;
        let running = tx
            .query_opt(
                "SELECT 1 FROM function_requests WHERE task_id = $1 AND category = 'batch' \
                 AND status IN ('queued', 'started')",
                &[&task],
            )
            .await
            .db()?;
        if running.is_some() {
            return Err(ApiError::detail(
                ErrorKind::Conflict,
                format!("Only one running request is allowed for the same task #{task}"),
            ));
        }
        self.check_queue_room(&tx, function.id).await?;
        crate::users::remember_all(&tx, &[Some(&caller.user)]).await?;
        tx.execute(
            "INSERT INTO function_requests (id, function_id, category, params, task_id, job_id, owner_id, cleanup, threshold) \
             VALUES ($1, $2, 'batch', $3, $4, $5, $6, $7, $8)",
            &[&id, &function.id, &params, &task, &job, &caller.id(), &request.cleanup.unwrap_or(false), &request.threshold],
        )
        .await
        .db()?;
        announce(&tx, function.id, RequestCategory::Batch).await?;
        let row =
            tx.query_one(&format!("SELECT {CALL_COLUMNS} FROM function_requests WHERE id = $1"), &[&id]).await.db()?;
        tx.commit().await.db()?;
        Ok(cvat_models::render(&render_call(&row)?))
    }

    /// 429 when the function's queue is full.
    async fn check_queue_room(&self, client: &impl GenericClient, function: i64) -> ApiResult<()> {
        let row = client
            .query_one(
                "SELECT count(*) FROM function_requests WHERE function_id = $1 AND status = 'queued'",
                &[&function],
            )
            .await
            .db()?;
        if column::<_, i64>(&row, 0)? >= MAX_QUEUED {
            return Err(ApiError::too_many_requests("The function has too many waiting requests; try again later."));
        }
        Ok(())
    }

    /// The caller's batch requests (all, for an admin), unfinished or recently ended.
    #[tracing::instrument(skip_all)]
    pub async fn list_lambda_requests(&self, caller: &Caller) -> ApiResult<String> {
        let client = self.client().await?;
        let owner = (!caller.is_admin()).then(|| caller.id());
        let rows = client
            .query(
                &format!(
                    "SELECT {CALL_COLUMNS} FROM function_requests WHERE category = 'batch' \
                     AND ($1::bigint IS NULL OR owner_id = $1) \
                     AND (ended IS NULL OR ended > now() - interval '{SHOWN_AFTER_END}') ORDER BY enqueued DESC LIMIT 1000"
                ),
                &[&owner],
            )
            .await
            .db()?;
        let calls = rows.iter().map(render_call).collect::<ApiResult<Vec<_>>>()?;
        Ok(cvat_models::render(&calls))
    }

    /// A batch request of the caller's (any, for an admin).
    async fn own_request(&self, client: &impl GenericClient, caller: &Caller, id: &str) -> ApiResult<Row> {
        let row = client
            .query_opt(
                &format!("SELECT {CALL_COLUMNS} FROM function_requests WHERE id = $1 AND category = 'batch'"),
                &[&id],
            )
            .await
            .db()?
            .ok_or_else(ApiError::not_found)?;
        let owner: Option<i64> = column(&row, "owner_id")?;
        allow(caller.is_admin() || owner == Some(caller.id()))?;
        Ok(row)
    }

    #[tracing::instrument(skip_all)]
    pub async fn get_lambda_request(&self, caller: &Caller, id: &str) -> ApiResult<String> {
        let client = self.client().await?;
        let row = self.own_request(&client, caller, id).await?;
        Ok(cvat_models::render(&render_call(&row)?))
    }

    /// Cancels (deletes) a request: an agent working on it is refused its result.
    #[tracing::instrument(skip_all)]
    pub async fn cancel_lambda_request(&self, caller: &Caller, id: &str) -> ApiResult<()> {
        let client = self.client().await?;
        self.own_request(&client, caller, id).await?;
        client.execute("DELETE FROM function_requests WHERE id = $1", &[&id]).await.db()?;
        Ok(())
    }

    /// `POST /api/lambda/functions/{id}`: one frame, answered by an agent while the
    /// caller waits (503 when none answers in time; the request is then withdrawn).
    #[tracing::instrument(skip_all)]
    pub async fn call_lambda_function(&self, caller: &Caller, id: &str, body: &str) -> ApiResult<String> {
        let body = parse_body(body)?;
        let mut client = self.client().await?;
        let (_, function) = self.check_function(&client, caller, lambda_id(id)?, FunctionScope::View).await?;
        let int = |name: &str| match body.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(v) => v.as_i64().map(Some).ok_or_else(|| ApiError::field(name, "A valid integer is required.")),
        };
        let (task, job) = self.request_target(&client, caller, int("task")?, int("job")?, false).await?;
        let frame = frame_of(&body)?;
        // A detector's labels map its request and, later, name what it found.
        let labels = match function.kind {
            FunctionKind::Detector => self.task_labels(&client, task).await?,
            _ => Vec::new(),
        };
        let mut params = match function.kind {
            FunctionKind::Detector => {
                let mapping: Option<BTreeMap<String, LabelMappingEntryRequest>> = match body.get("mapping") {
                    None | Some(Value::Null) => None,
                    Some(m) => {
                        Some(serde_json::from_value(m.clone()).map_err(|e| ApiError::field("mapping", e.to_string()))?)
                    }
                };
                json!({
                    "type": "annotate_frame",
                    "mapping": request_mapping(mapping, &function, &labels)?,
                    "threshold": body.get("threshold").cloned().unwrap_or(Value::Null),
                    "conv_mask_to_poly": body.get("conv_mask_to_poly").and_then(Value::as_bool).unwrap_or(false),
                })
            }
            FunctionKind::Interactor => json!({
                "type": "interact",
                "pos_points": points_list(&body, "pos_points", true)?,
                "neg_points": points_list(&body, "neg_points", false)?,
                "obj_bbox": points_list(&body, "obj_bbox", false)?,
            }),
            FunctionKind::Tracker => {
                let states = body.get("states").and_then(Value::as_array).cloned().unwrap_or_default();
                if states.iter().any(|s| !s.is_null()) {
                    json!({"type": "track", "states": states})
                } else {
                    let shapes = body.get("shapes").and_then(Value::as_array).cloned().unwrap_or_default();
                    json!({"type": "init_tracking", "shapes": shapes})
                }
            }
        };
        params["task"] = json!(task);
        params["frame"] = json!(frame);
        if let Some(roi) = body.get("roi").filter(|r| !r.is_null()) {
            params["roi"] = roi.clone();
        }
        let request = uuid::Uuid::new_v4().to_string();
        // Subscribed before the request exists: its answer cannot come unseen.
        let mut notices = self.agents.notices.subscribe();
        let tx = client.transaction().await.db()?;
        self.check_queue_room(&tx, function.id).await?;
        crate::users::remember_all(&tx, &[Some(&caller.user)]).await?;
        tx.execute(
            "INSERT INTO function_requests (id, function_id, category, params, task_id, job_id, owner_id) \
             VALUES ($1, $2, 'interactive', $3, $4, $5, $6)",
            &[&request, &function.id, &params, &task, &job, &caller.id()],
        )
        .await
        .db()?;
        announce(&tx, function.id, RequestCategory::Interactive).await?;
        tx.commit().await.db()?;
        drop(client);
        let answer = self.await_answer(&request, &mut notices).await;
        // Answered, failed or not: the request is done with.
        if let Ok(client) = self.client().await {
            let _ = client.execute("DELETE FROM function_requests WHERE id = $1", &[&request]).await;
        }
        let answer = answer?;
        if function.kind != FunctionKind::Detector {
            return Ok(answer.to_string());
        }
        Ok(Value::Array(nuclio_detections(&answer, &labels)).to_string())
    }

    /// Waits for an interactive request's end: its result, or the agent's failure as a 400.
    async fn await_answer(
        &self,
        request: &str,
        notices: &mut tokio::sync::broadcast::Receiver<Notice>,
    ) -> ApiResult<Value> {
        let deadline = tokio::time::Instant::now() + self.agents.answer_wait;
        loop {
            let client = self.client().await?;
            let row = client
                .query_opt("SELECT status, result, exc_info FROM function_requests WHERE id = $1", &[&request])
                .await
                .db()?
                .ok_or_else(gone)?;
            drop(client);
            match column::<_, String>(&row, 0)?.as_str() {
                "finished" => return Ok(column::<_, Option<Value>>(&row, 1)?.unwrap_or(Value::Null)),
                "failed" => {
                    let reason: Option<String> = column(&row, 2)?;
                    return Err(ApiError::bad_request(format!(
                        "The function failed: {}",
                        reason.unwrap_or_else(|| "no reason given".into())
                    )));
                }
                _ => {}
            }
            let now = tokio::time::Instant::now();
            if now >= deadline {
                return Err(ApiError::unavailable("No agent of the function answered in time; an agent"));
            }
            let wait = RECHECK.min(deadline - now);
            let _ = tokio::time::timeout(wait, cvat_db::announced(notices, RESULT_CHANNEL, request)).await;
        }
    }

    /// The categories of requests queued for a function from now on, while the stream is
    /// read (a missed notice shows as both categories: the agent then polls).
    #[tracing::instrument(skip_all)]
    pub async fn watch_function_queue(
        &self,
        caller: &Caller,
        function: i64,
    ) -> ApiResult<impl futures_util::Stream<Item = RequestCategory> + Send + 'static> {
        let client = self.client().await?;
        self.check_function(&client, caller, function, FunctionScope::Serve).await?;
        let notices = self.agents.notices.subscribe();
        // What waits already is announced first: a request queued before this watch
        // began is not missed (its notice may have gone before the subscription).
        let waiting = client
            .query(
                "SELECT DISTINCT category FROM function_requests WHERE function_id = $1 \
                 AND (status = 'queued' OR (status = 'started' AND lease_until < now()))",
                &[&function],
            )
            .await
            .db()?;
        let mut pending = Vec::new();
        for row in &waiting {
            match column::<_, String>(row, 0)?.as_str() {
                "interactive" => pending.push(RequestCategory::Interactive),
                _ => pending.push(RequestCategory::Batch),
            }
        }
        drop(client);
        let prefix = format!("{function} ");
        Ok(futures_util::stream::unfold((notices, prefix, pending), |(mut notices, prefix, mut pending)| async move {
            loop {
                if let Some(category) = pending.pop() {
                    return Some((category, (notices, prefix, pending)));
                }
                match notices.recv().await {
                    Ok(n) if n.channel == QUEUE_CHANNEL => match n.payload.strip_prefix(prefix.as_str()) {
                        Some("batch") => pending.push(RequestCategory::Batch),
                        Some("interactive") => pending.push(RequestCategory::Interactive),
                        _ => {}
                    },
                    Ok(_) => {}
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {
                        pending = vec![RequestCategory::Batch, RequestCategory::Interactive];
                    }
                    Err(tokio::sync::broadcast::error::RecvError::Closed) => return None,
                }
            }
        }))
    }

    /// Hands the oldest waiting request of the category (or one whose agent's lease
    /// ended) to the agent: `{"ar_assignment": null}` when there is none.
    #[tracing::instrument(skip_all)]
    pub async fn acquire_function_request(&self, caller: &Caller, function: i64, body: &[u8]) -> ApiResult<String> {
        let request: AgentAcquireRequest = cvat_models::parse(&parse_body(&text(body)?)?)?;
        let client = self.client().await?;
        self.check_function(&client, caller, function, FunctionScope::Serve).await?;
        let held = client
            .query_one(
                "SELECT count(*) FROM function_requests WHERE function_id = $1 AND agent_id = $2 \
                 AND status = 'started' AND lease_until > now()",
                &[&function, &request.agent_id],
            )
            .await
            .db()?;
        if column::<_, i64>(&held, 0)? >= MAX_HELD {
            return Err(ApiError::too_many_requests("This agent holds as many requests as it may; finish some first."));
        }
        let lease = self.agents.lease.as_secs_f64();
        let row = client
            .query_opt(
                "UPDATE function_requests SET status = 'started', agent_id = $3, \
                 lease_until = now() + $4 * interval '1 second', started = coalesce(started, now()) \
                 WHERE id = (SELECT id FROM function_requests WHERE function_id = $1 AND category = $2 \
                   AND (status = 'queued' OR (status = 'started' AND lease_until < now())) \
                   ORDER BY enqueued, id LIMIT 1 FOR UPDATE SKIP LOCKED) \
                 RETURNING id, params",
                &[&function, &request.request_category.name(), &request.agent_id, &lease],
            )
            .await
            .db()?;
        let assignment = match row {
            Some(row) => Some(AgentAssignment { ar_id: column(&row, 0)?, ar_params: column(&row, 1)? }),
            None => None,
        };
        Ok(cvat_models::render(&AgentAcquireResponse { ar_assignment: assignment }))
    }

    /// Progress, and the lease renewed.
    #[tracing::instrument(skip_all)]
    pub async fn update_function_request(
        &self,
        caller: &Caller,
        function: i64,
        request: &str,
        body: &[u8],
    ) -> ApiResult<()> {
        let update: AgentUpdateRequest = cvat_models::parse(&parse_body(&text(body)?)?)?;
        let mut client = self.client().await?;
        self.check_function(&client, caller, function, FunctionScope::Serve).await?;
        let tx = client.transaction().await.db()?;
        self.lock_held(&tx, function, request, &update.agent_id).await?;
        let lease = self.agents.lease.as_secs_f64();
        tx.execute(
            "UPDATE function_requests SET progress = $2, lease_until = now() + $3 * interval '1 second' WHERE id = $1",
            &[&request, &(update.progress as f32), &lease],
        )
        .await
        .db()?;
        tx.commit().await.db()
    }

    /// The request's row locked, after checking it is the function's and held by `agent`.
    async fn lock_held(
        &self,
        tx: &impl GenericClient,
        function: i64,
        request: &str,
        agent: &str,
    ) -> ApiResult<HeldRequest> {
        let row = tx
            .query_opt(
                "SELECT status, agent_id, category, params->>'type', task_id, job_id, owner_id, cleanup \
                 FROM function_requests WHERE id = $1 AND function_id = $2 FOR UPDATE",
                &[&request, &function],
            )
            .await
            .db()?
            .ok_or_else(gone)?;
        held_by(&row, agent)?;
        Ok(HeldRequest {
            category: column(&row, 2)?,
            kind: column::<_, Option<String>>(&row, 3)?.unwrap_or_default(),
            task: column(&row, 4)?,
            job: column(&row, 5)?,
            owner: column(&row, 6)?,
            cleanup: column(&row, 7)?,
        })
    }

    #[tracing::instrument(skip_all)]
    pub async fn fail_function_request(
        &self,
        caller: &Caller,
        function: i64,
        request: &str,
        body: &[u8],
    ) -> ApiResult<()> {
        let failure: AgentFailRequest = cvat_models::parse(&parse_body(&text(body)?)?)?;
        let mut client = self.client().await?;
        self.check_function(&client, caller, function, FunctionScope::Serve).await?;
        let tx = client.transaction().await.db()?;
        self.lock_held(&tx, function, request, &failure.agent_id).await?;
        tx.execute(
            "UPDATE function_requests SET status = 'failed', exc_info = $2, ended = now(), lease_until = NULL WHERE id = $1",
            &[&request, &failure.exc_info],
        )
        .await
        .db()?;
        tx.execute("SELECT pg_notify($1, $2)", &[&RESULT_CHANNEL, &request]).await.db()?;
        tx.commit().await.db()
    }

    /// An agent's result: a batch request's annotations saved in its task (with the
    /// request's completion, in one transaction); an interactive request's answer kept
    /// for its waiting caller.
    #[tracing::instrument(skip_all)]
    pub async fn complete_function_request(
        &self,
        caller: &Caller,
        function: i64,
        request: &str,
        body: Vec<u8>,
    ) -> ApiResult<()> {
        let parsed = parse_body(&text(&body)?)?;
        drop(body);
        let complete: AgentCompleteRequest = cvat_models::parse(&parsed)?;
        let mut client = self.client().await?;
        self.check_function(&client, caller, function, FunctionScope::Serve).await?;
        let held = {
            let tx = client.transaction().await.db()?;
            let held = self.lock_held(&tx, function, request, &complete.agent_id).await?;
            if held.category == "interactive" {
                let mut answer = parsed;
                answer.remove("agent_id");
                tx.execute(
                    "UPDATE function_requests SET status = 'finished', progress = 1, result = $2, ended = now(), \
                     lease_until = NULL WHERE id = $1",
                    &[&request, &Value::Object(answer)],
                )
                .await
                .db()?;
                tx.execute("SELECT pg_notify($1, $2)", &[&RESULT_CHANNEL, &request]).await.db()?;
                return tx.commit().await.db();
            }
            held
        };
        if held.kind != "annotate_task" {
            return Err(ApiError::bad_request(format!("A request of type {:?} cannot be completed here.", held.kind)));
        }
        let annotations = complete
            .annotations
            .ok_or_else(|| ApiError::field("annotations", "An annotate_task result carries annotations."))?;
        let bytes = serde_json::to_vec(&annotations).map_err(|_| ApiError::internal())?;
        let mut data = ann::parse(&bytes)?;
        mark_auto(&mut data);
        let scope = self.request_scope(&client, held.task, held.job, held.owner).await?;
        if held.job.is_some() {
            keep_frames(&mut data, scope.frames);
        }
        let save = if held.cleanup {
            AnnotationSave::Replace
        } else {
            AnnotationSave::Patch(cvat_annotations::Action::Create)
        };
        let writer = Writer::Agent { request, agent: &complete.agent_id, owner: held.owner };
        self.write_annotations(client, writer, &scope, save, data).await?;
        Ok(())
    }
}

/// An agent's request body as text.
fn text(body: &[u8]) -> ApiResult<String> {
    String::from_utf8(body.to_vec()).map_err(|_| ApiError::bad_request("The body is not UTF-8 JSON."))
}

/// Tells agents of the function that a request is waiting (at the commit).
async fn announce(tx: &impl GenericClient, function: i64, category: RequestCategory) -> ApiResult<()> {
    let payload = format!("{function} {}", category.name());
    tx.execute("SELECT pg_notify($1, $2)", &[&QUEUE_CHANNEL, &payload]).await.db()?;
    Ok(())
}

/// Objects a function made are `auto`, whatever the agent said.
fn mark_auto(data: &mut LabeledData) {
    for tag in &mut data.tags {
        tag.source = Source::Auto;
    }
    for shape in &mut data.shapes {
        shape.source = Source::Auto;
        for element in &mut shape.elements {
            element.source = Source::Auto;
        }
    }
    for track in &mut data.tracks {
        track.source = Source::Auto;
    }
}

/// Only what falls on the job's frames (the agent annotates the whole task).
fn keep_frames(data: &mut LabeledData, frames: cvat_annotations::FrameRange) {
    let inside = |frame: u32| frame >= frames.start && frame <= frames.stop;
    data.tags.retain(|t| inside(t.frame));
    data.shapes.retain(|s| inside(s.frame));
    data.tracks.retain(|t| inside(t.frame));
}

/// A detector's answer (`{"annotations": {"tags", "shapes"}}` with label ids) as CVAT's
/// nuclio detectors answer: a list of objects naming their labels and attributes.
fn nuclio_detections(answer: &Value, labels: &[TaskLabel]) -> Vec<Value> {
    let mut names: HashMap<i64, (&str, HashMap<i64, &str>)> = HashMap::new();
    for label in labels.iter().chain(labels.iter().flat_map(|l| l.sublabels.iter())) {
        let attributes = label.attributes.iter().map(|(id, name)| (*id, name.as_str())).collect();
        names.insert(label.id, (label.name.as_str(), attributes));
    }
    let object = |item: &Value, kind: Option<&str>| -> Option<Value> {
        let (label, attributes) = names.get(&item.get("label_id")?.as_i64()?)?;
        let attributes: Vec<Value> = item
            .get("attributes")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|a| {
                let name = attributes.get(&a.get("spec_id")?.as_i64()?)?;
                Some(json!({"name": name, "value": a.get("value")?}))
            })
            .collect();
        let mut out = json!({"label": label, "attributes": attributes});
        match kind {
            Some(kind) => out["type"] = json!(kind),
            None => {
                for field in ["type", "points", "rotation", "outside"] {
                    if let Some(value) = item.get(field) {
                        out[field] = value.clone();
                    }
                }
            }
        }
        Some(out)
    };
    let annotations = answer.get("annotations").unwrap_or(answer);
    let list = |name: &str| annotations.get(name).and_then(Value::as_array).cloned().unwrap_or_default();
    let mut detections: Vec<Value> = list("tags").iter().filter_map(|t| object(t, Some("tag"))).collect();
    for shape in list("shapes") {
        if let Some(mut out) = object(&shape, None) {
            let elements: Vec<Value> = shape
                .get("elements")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(|e| object(e, None))
                .collect();
            if !elements.is_empty() {
                out["elements"] = Value::Array(elements);
            }
            detections.push(out);
        }
    }
    detections
}

#[cfg(test)]
mod tests {
    use super::*;
    use cvat_models::{FunctionAttribute, FunctionSublabel, InputTypeEnum};

    fn function_label(name: &str, kind: LabelType, attributes: &[&str]) -> FunctionLabel {
        FunctionLabel {
            name: name.into(),
            r#type: kind,
            attributes: attributes
                .iter()
                .map(|a| FunctionAttribute { name: a.to_string(), input_type: InputTypeEnum::Text, values: vec![] })
                .collect(),
            sublabels: None,
        }
    }

    fn task_label(id: i64, name: &str, kind: &str, attributes: &[&str]) -> TaskLabel {
        TaskLabel {
            id,
            name: name.into(),
            kind: kind.into(),
            attributes: attributes.iter().enumerate().map(|(i, a)| (id * 10 + i as i64, a.to_string())).collect(),
            sublabels: vec![],
        }
    }

    #[test]
    fn default_mapping_takes_same_names_of_compatible_types() {
        let function = [
            function_label("car", LabelType::Rectangle, &["color", "speed"]),
            function_label("person", LabelType::Mask, &[]),
            function_label("dog", LabelType::Skeleton, &[]),
            function_label("tree", LabelType::Any, &[]),
        ];
        let task = [
            task_label(1, "car", "any", &["color"]),
            task_label(2, "person", "polygon", &[]),
            task_label(3, "dog", "rectangle", &[]),
        ];
        let mapping = serde_json::to_value(default_mapping(&function, &task)).unwrap();
        assert_eq!(
            mapping,
            json!({
                "car": {"name": "car", "attributes": {"color": "color"}},
                "person": {"name": "person", "attributes": {}},
            })
        );
    }

    #[test]
    fn a_given_mapping_names_what_exists_on_both_sides() {
        let mut skeleton = function_label("body", LabelType::Skeleton, &[]);
        skeleton.sublabels =
            Some(vec![FunctionSublabel { name: "head".into(), r#type: LabelType::Points, attributes: vec![] }]);
        let function = [function_label("car", LabelType::Rectangle, &["color"]), skeleton];
        let mut task_skeleton = task_label(2, "person", "skeleton", &[]);
        task_skeleton.sublabels = vec![task_label(3, "nose", "points", &[])];
        let task = [task_label(1, "vehicle", "rectangle", &["paint"]), task_skeleton];
        let parse = |v: Value| serde_json::from_value::<BTreeMap<String, LabelMappingEntryRequest>>(v).unwrap();
        let good = parse(json!({
            "car": {"name": "vehicle", "attributes": {"color": "paint"}},
            "body": {"name": "person", "sublabels": {"head": {"name": "nose"}}},
        }));
        check_mapping(&good, &function, &task).unwrap();
        for (bad, says) in [
            (json!({"truck": {"name": "vehicle"}}), "Unknown model label"),
            (json!({"car": {"name": "bus"}}), "Unknown db label"),
            (json!({"car": {"name": "person"}}), "not compatible"),
            (json!({"car": {"name": "vehicle", "attributes": {"size": "paint"}}}), "Unknown model attribute"),
            (json!({"car": {"name": "vehicle", "attributes": {"color": "hue"}}}), "Unknown db attribute"),
            (json!({"body": {"name": "person", "sublabels": {"head": {"name": "ear"}}}}), "Unknown db sublabel"),
        ] {
            let err = check_mapping(&parse(bad), &function, &task).unwrap_err();
            assert!(err.body.to_string().contains(says), "{says}: {}", err.body);
        }
    }

    #[test]
    fn detections_name_their_labels_and_attributes() {
        let labels = [task_label(1, "car", "rectangle", &["color"])];
        let answer = json!({"annotations": {
            "tags": [{"frame": 0, "label_id": 1, "attributes": []}],
            "shapes": [
                {"frame": 0, "label_id": 1, "type": "rectangle", "points": [1, 2, 3, 4], "rotation": 0,
                 "attributes": [{"spec_id": 10, "value": "red"}]},
                {"frame": 0, "label_id": 99, "type": "rectangle", "points": [1, 2, 3, 4]},
            ],
        }});
        assert_eq!(
            nuclio_detections(&answer, &labels),
            vec![
                json!({"label": "car", "type": "tag", "attributes": []}),
                json!({"label": "car", "type": "rectangle", "points": [1, 2, 3, 4], "rotation": 0,
                       "attributes": [{"name": "color", "value": "red"}]}),
            ]
        );
    }
}
