//! Webhooks (`/api/webhooks`) and what feeds them: every change of a project, task, job,
//! issue or comment is recorded in the transaction that makes it ([`Engine::publish_change`])
//! as a server event (`events`) and as a delivery for each active webhook that listens
//! (`webhook_deliveries`, payloads as CVAT's: `event`, the object, `before_update` with
//! the old values of what changed, `webhook_id`, `sender`). Nothing is sent on the
//! request path: the task service hands due deliveries to the `webhook` worker pool
//! ([`Engine::due_webhook_deliveries`]), a worker posts one and reports the answer
//! ([`Engine::report_webhook_delivery`]); 5xx, 408, 429 and no answer are retried with
//! back-off, at most [`MAX_ATTEMPTS`] times. A delivery handed out and never reported (a
//! worker that died) is handed out again.
//!
//! Changes the auth service makes (organizations, memberships, invitations) are reported
//! by the gateway after they are committed ([`Engine::record_reported_change`]).
//!
//! Decisions where CVAT is silent or differs: target URLs pass the outgoing-address
//! policy at creation (and again at each delivery); `ping` answers the queued delivery at
//! once (its result shows in the deliveries); jobs made with task data and memberships
//! made by accepting an invitation send no events yet.

use crate::access::{allow, list_scope, Visibility};
use crate::render::{self, user_columns};
use crate::{parse_body, Caller, DocumentPage, Engine};
use cvat_db::{column, DbResultExt, GenericClient};
use cvat_error::{ApiError, ApiResult};
use cvat_listing::{Field, FieldType, ListParams, ListSpec, SqlParam};
use cvat_models::{
    PatchedWebhookWriteRequest, WebhookContentType, WebhookDeliveryRead, WebhookRead, WebhookType, WebhookWriteRequest,
};
use cvat_permissions::{Role, WebhookFacts};
use serde_json::{json, Map, Value};
use tokio_postgres::Row;

/// Active webhooks listening to event `$E` where it happens (organization `$O`, project
/// `$P`): `{e}`, `{o}`, `{p}` stand for the statement's parameter numbers.
const LISTENING: &str = "is_active AND {e} = ANY(events) \
     AND ((type = 'organization' AND organization_id = {o}) OR (type = 'project' AND project_id = {p}))";

fn listening(e: &str, o: &str, p: &str) -> String {
    LISTENING.replace("{e}", e).replace("{o}", o).replace("{p}", p)
}

/// The notification that wakes the dispatcher.
pub const DELIVERY_CHANNEL: &str = "webhook_deliveries";

/// A delivery to hand to the webhook pool.
pub struct DueDelivery {
    pub id: i64,
    /// The W3C `traceparent` of the request that caused it (none from before migration 24).
    pub traceparent: Option<String>,
}

/// The current request's W3C `traceparent`, kept with a delivery it causes.
fn traceparent() -> Option<String> {
    cvat_runtime::propagation::current_headers().remove("traceparent")
}
/// Attempts of one delivery, the first included.
pub const MAX_ATTEMPTS: i32 = 5;
/// The wait before the second attempt; it doubles for each one after.
const FIRST_RETRY_SECONDS: f64 = 2.0;
/// A delivery handed to the pool and not reported for this long is handed out again.
const UNREPORTED_SECONDS: f64 = 300.0;
/// The most of a target's answer kept on its delivery.
const MAX_RESPONSE_CHARS: usize = 1 << 20;

const FIELDS: &[Field] = &[
    Field { name: "id", sql: "w.id", ty: FieldType::Int },
    Field { name: "target_url", sql: "w.target_url", ty: FieldType::Text },
    Field { name: "owner", sql: "o.username", ty: FieldType::Text },
    Field { name: "type", sql: "w.type", ty: FieldType::Text },
    Field { name: "project_id", sql: "w.project_id", ty: FieldType::Int },
    Field { name: "description", sql: "w.description", ty: FieldType::Text },
    Field { name: "updated_date", sql: "w.updated_date", ty: FieldType::Timestamp },
];

pub const WEBHOOK_LIST: ListSpec = ListSpec {
    fields: FIELDS,
    search: &["target_url", "owner", "type", "description"],
    filter: &["target_url", "owner", "type", "project_id", "description", "id", "updated_date"],
    equals: &["target_url", "owner", "type", "project_id"],
    sort: &["target_url", "owner", "type", "description", "id", "updated_date"],
    default_sort: "-id",
    search_sql: None,
};

const FROM: &str = "webhooks w LEFT JOIN users o ON o.id = w.owner_id LEFT JOIN projects p ON p.id = w.project_id";

/// Organization maintainers see their organization's webhooks; others those they own or
/// whose project they own.
const VISIBILITY: Visibility = Visibility {
    org_column: "w.organization_id",
    relations: "w.owner_id = {user} OR p.owner_id = {user}",
    staff: Role::Maintainer,
};

fn columns() -> String {
    format!(
        "w.id, w.target_url, w.description, w.type, w.content_type, w.is_active, w.enable_ssl, w.events, \
         w.project_id, w.organization_id, w.owner_id, p.owner_id AS project_owner, w.created_date, w.updated_date, \
         (SELECT d.status_code FROM webhook_deliveries d WHERE d.webhook_id = w.id AND d.status_code IS NOT NULL \
          ORDER BY d.id DESC LIMIT 1) AS last_status, \
         (SELECT d.updated_date FROM webhook_deliveries d WHERE d.webhook_id = w.id AND d.status_code IS NOT NULL \
          ORDER BY d.id DESC LIMIT 1) AS last_delivery_date, {}",
        user_columns("o", "owner")
    )
}

fn facts(row: &Row) -> ApiResult<WebhookFacts> {
    Ok(WebhookFacts {
        in_org: column::<_, Option<i64>>(row, "organization_id")?.is_some(),
        owner: column(row, "owner_id")?,
        project_owner: column(row, "project_owner")?,
    })
}

fn read_webhook(base: &str, row: &Row) -> ApiResult<WebhookRead> {
    let id: i64 = column(row, "id")?;
    Ok(WebhookRead {
        id,
        url: format!("{base}/api/webhooks/{id}"),
        target_url: column(row, "target_url")?,
        description: column(row, "description")?,
        r#type: match column::<_, String>(row, "type")?.as_str() {
            "project" => WebhookType::Project,
            _ => WebhookType::Organization,
        },
        content_type: WebhookContentType::Json,
        is_active: column(row, "is_active")?,
        enable_ssl: column(row, "enable_ssl")?,
        created_date: render::moment(row, "created_date")?,
        updated_date: render::moment(row, "updated_date")?,
        owner: render::user(base, row, "owner")?,
        project_id: column(row, "project_id")?,
        organization: column(row, "organization_id")?,
        events: column(row, "events")?,
        last_status: column(row, "last_status")?,
        last_delivery_date: render::maybe_moment(row, "last_delivery_date")?,
    })
}

fn render_webhook(base: &str, row: &Row) -> ApiResult<String> {
    Ok(cvat_models::render(&read_webhook(base, row)?))
}

const DELIVERY_COLUMNS: &str = "id, webhook_id, event, status_code, redelivery, attempt, request_duration, \
     created_date, updated_date, changed_fields, request, response";

fn render_delivery(row: &Row) -> ApiResult<String> {
    let attempt: i32 = column(row, "attempt")?;
    Ok(cvat_models::render(&WebhookDeliveryRead {
        id: column(row, "id")?,
        webhook_id: column(row, "webhook_id")?,
        event: column(row, "event")?,
        status_code: column(row, "status_code")?,
        redelivery: column(row, "redelivery")?,
        attempt: Some(attempt),
        request_duration: column(row, "request_duration")?,
        created_date: render::moment(row, "created_date")?,
        updated_date: render::moment(row, "updated_date")?,
        changed_fields: column(row, "changed_fields")?,
        request: column(row, "request")?,
        response: column(row, "response")?,
    }))
}

/// Events a webhook of this type may listen to, each at most once.
fn check_events(events: &[String], kind: WebhookType) -> ApiResult<()> {
    let allowed = cvat_models::webhook_events(kind.name());
    for event in events {
        if !allowed.contains(event) {
            return Err(ApiError::field("events", format!("\"{event}\" is not a valid choice.")));
        }
    }
    let mut seen = std::collections::HashSet::new();
    if events.iter().any(|e| !seen.insert(e)) {
        return Err(ApiError::field("events", "An event is listed twice."));
    }
    Ok(())
}

/// A user as payloads name the sender (`BasicUser`).
fn sender(caller: &Caller) -> Value {
    json!({
        "url": format!("{}/api/users/{}", caller.base_url, caller.id()),
        "id": caller.id(),
        "username": caller.user.username,
        "first_name": caller.user.first_name,
        "last_name": caller.user.last_name,
    })
}

/// A change to publish: what happened to which object, where.
pub(crate) struct Change<'a> {
    /// create, update or delete.
    action: &'static str,
    /// project, task, job, issue or comment.
    resource: &'static str,
    id: i64,
    org: Option<i64>,
    project: Option<i64>,
    task: Option<i64>,
    job: Option<i64>,
    /// The object after a create or an update, before a delete (for a delete, rendered
    /// only when a webhook listens: see [`Engine::watched`]).
    document: Option<&'a str>,
    /// What the object was before an update, when a webhook listens.
    before: Option<Before>,
}

/// What an update changed from.
pub(crate) enum Before {
    /// The row, read in the update's transaction.
    Row(Snapshot),
    /// The object as its GET rendered it (changes the auth service makes, reported).
    Document(Map<String, Value>),
}

/// A row as it was before an update (`to_jsonb` of it), and its table.
pub(crate) struct Snapshot {
    table: &'static str,
    row: Map<String, Value>,
}

impl<'a> Change<'a> {
    pub fn new(action: &'static str, resource: &'static str, id: i64) -> Self {
        Self { action, resource, id, org: None, project: None, task: None, job: None, document: None, before: None }
    }

    /// Where it happened: the organization, and the project, task and job it is in.
    pub fn within(mut self, org: Option<i64>, place: Place) -> Self {
        (self.org, self.project, self.task, self.job) = (org, place.project, place.task, place.job);
        self
    }

    pub fn document(mut self, document: Option<&'a str>) -> Self {
        self.document = document;
        self
    }

    pub fn before(mut self, before: Option<Snapshot>) -> Self {
        self.before = before.map(Before::Row);
        self
    }
}

/// The project, task and job an object is in (a project is in itself, and so on).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Place {
    pub project: Option<i64>,
    pub task: Option<i64>,
    pub job: Option<i64>,
}

impl Place {
    pub fn project(id: i64) -> Self {
        Self { project: Some(id), ..Default::default() }
    }

    /// Where an object of `resource` (task, job, issue or comment) is.
    pub async fn of(client: &impl GenericClient, resource: &str, id: i64) -> ApiResult<Self> {
        let sql = match resource {
            "task" => "SELECT project_id, id, NULL::bigint FROM tasks WHERE id = $1",
            "job" => {
                "SELECT t.project_id, j.task_id, j.id FROM jobs j JOIN tasks t ON t.id = j.task_id WHERE j.id = $1"
            }
            "issue" => {
                "SELECT t.project_id, j.task_id, i.job_id FROM issues i JOIN jobs j ON j.id = i.job_id \
                 JOIN tasks t ON t.id = j.task_id WHERE i.id = $1"
            }
            _ => {
                "SELECT t.project_id, j.task_id, i.job_id FROM comments c JOIN issues i ON i.id = c.issue_id \
                 JOIN jobs j ON j.id = i.job_id JOIN tasks t ON t.id = j.task_id WHERE c.id = $1"
            }
        };
        let row = client.query_opt(sql, &[&id]).await.db()?.ok_or_else(ApiError::not_found)?;
        Ok(Self { project: column(&row, 0)?, task: column(&row, 1)?, job: column(&row, 2)? })
    }
}

/// The document fields whose values an update changed, with their old values
/// (`before_update`), from the row before and after it: a column the document shows
/// under its own name keeps its old value; `owner_id` and `assignee_id` become the old
/// user (`users`: their basic records by id); others the document does not show.
fn before_update(
    before: &Map<String, Value>,
    after: &Map<String, Value>,
    document: &Map<String, Value>,
    users: &std::collections::HashMap<i64, Value>,
) -> Map<String, Value> {
    let mut old = Map::new();
    for (column, value) in before {
        if column == "updated_date" || after.get(column) == Some(value) {
            continue;
        }
        if document.contains_key(column) {
            old.insert(column.clone(), value.clone());
        } else if let Some(user) = column.strip_suffix("_id").filter(|f| ["owner", "assignee"].contains(f)) {
            let previous = value.as_i64().and_then(|id| users.get(&id)).cloned().unwrap_or(Value::Null);
            old.insert(user.to_string(), previous);
        }
    }
    old
}

/// The old values of the top-level fields of a document that changed.
fn changed_fields(before: &Map<String, Value>, after: &str) -> ApiResult<Map<String, Value>> {
    let after: Map<String, Value> = serde_json::from_str(after).map_err(|_| ApiError::internal())?;
    Ok(before
        .iter()
        .filter(|(key, old)| *key != "updated_date" && after.get(*key) != Some(*old))
        .map(|(key, old)| (key.clone(), old.clone()))
        .collect())
}

/// The previous owner and assignee of a row, where the update changed them.
fn changed_users(before: &Map<String, Value>, after: &Map<String, Value>) -> Vec<i64> {
    ["owner_id", "assignee_id"]
        .iter()
        .filter(|c| before.get(**c) != after.get(**c))
        .filter_map(|c| before.get(*c).and_then(Value::as_i64))
        .collect()
}

impl Engine {
    /// Whether an active webhook listens to `event` where it happens: changes render
    /// their objects for webhooks only then.
    pub(crate) async fn listened(
        &self,
        client: &impl GenericClient,
        event: &str,
        org: Option<i64>,
        project: Option<i64>,
    ) -> ApiResult<bool> {
        let row = client
            .query_one(
                &format!("SELECT EXISTS (SELECT 1 FROM webhooks WHERE {})", listening("$1", "$2", "$3")),
                &[&event, &org, &project],
            )
            .await
            .db()?;
        column(&row, 0)
    }

    /// The object as `render` gives it, when an active webhook listens to `event`
    /// (`render` is not run otherwise): what a delete removes.
    pub(crate) async fn watched(
        &self,
        client: &impl GenericClient,
        event: &str,
        org: Option<i64>,
        project: Option<i64>,
        render: impl std::future::Future<Output = ApiResult<String>>,
    ) -> ApiResult<Option<String>> {
        match self.listened(client, event, org, project).await? {
            true => render.await.map(Some),
            false => Ok(None),
        }
    }

    /// The row `id` of `table` before an update, when an active webhook listens to
    /// `event` (one statement either way: an update nobody listens to costs little).
    pub(crate) async fn snapshot(
        &self,
        client: &impl GenericClient,
        event: &str,
        org: Option<i64>,
        project: Option<i64>,
        table: &'static str,
        id: i64,
    ) -> ApiResult<Option<Snapshot>> {
        let sql = format!(
            "SELECT to_jsonb(x) FROM {table} x WHERE x.id = $1 AND EXISTS (SELECT 1 FROM webhooks WHERE {})",
            listening("$2", "$3", "$4")
        );
        let row = client.query_opt(&sql, &[&id, &event, &org, &project]).await.db()?;
        Ok(match row.map(|r| column::<_, Value>(&r, 0)).transpose()? {
            Some(Value::Object(row)) => Some(Snapshot { table, row }),
            _ => None,
        })
    }

    /// `before_update` of an update whose row was `before`: the row now is read in the
    /// same transaction.
    async fn old_values(
        &self,
        tx: &impl GenericClient,
        caller: &Caller,
        id: i64,
        before: &Snapshot,
        document: &str,
    ) -> ApiResult<Map<String, Value>> {
        let sql = format!("SELECT to_jsonb(x) FROM {} x WHERE x.id = $1", before.table);
        let after = match tx.query_opt(&sql, &[&id]).await.db()?.map(|r| column::<_, Value>(&r, 0)).transpose()? {
            Some(Value::Object(row)) => row,
            _ => Map::new(),
        };
        let ids = changed_users(&before.row, &after);
        let mut users = std::collections::HashMap::new();
        if !ids.is_empty() {
            let rows = tx
                .query("SELECT id, username, first_name, last_name FROM users WHERE id = ANY($1)", &[&ids])
                .await
                .db()?;
            for row in &rows {
                let id: i64 = column(row, 0)?;
                let user = json!({
                    "url": format!("{}/api/users/{id}", caller.base_url), "id": id,
                    "username": column::<_, String>(row, 1)?, "first_name": column::<_, String>(row, 2)?,
                    "last_name": column::<_, String>(row, 3)?,
                });
                users.insert(id, user);
            }
        }
        let document: Map<String, Value> = serde_json::from_str(document).map_err(|_| ApiError::internal())?;
        Ok(before_update(&before.row, &after, &document, &users))
    }

    /// Records a change in its transaction: a server event, and a queued delivery for
    /// every active webhook listening (the dispatcher is woken at the commit). The
    /// payload is put together by PostgreSQL, so a change nobody listens to costs two
    /// small statements.
    pub(crate) async fn publish_change(
        &self,
        tx: &impl GenericClient,
        caller: &Caller,
        change: Change<'_>,
    ) -> ApiResult<()> {
        let event = format!("{}:{}", change.action, change.resource);
        let old = match (&change.before, change.document) {
            (Some(Before::Row(before)), Some(document)) => {
                Some(self.old_values(tx, caller, change.id, before, document).await?)
            }
            (Some(Before::Document(before)), Some(document)) => Some(changed_fields(before, document)?),
            _ => None,
        };
        let changed = old.iter().flat_map(|o| o.keys().cloned()).collect::<Vec<_>>().join(",");
        let before = old.map(|old| json!({ "before_update": old }));
        // One statement: the event, and (with a document) the deliveries of the webhooks
        // listening, and the dispatcher's wake-up when there are any.
        let sql = format!(
            "WITH recorded AS (INSERT INTO events (scope, obj_name, obj_id, source, timestamp, project_id, task_id, \
               job_id, user_id, user_name, user_email, org_id) \
               VALUES ($1, $3, NULLIF($10::int8, 0), 'server', now(), $8, $11, $12, $13, $14, $15, $7)), \
             queued AS (INSERT INTO webhook_deliveries (webhook_id, event, changed_fields, request, traceparent) \
               SELECT id, $1, $2, jsonb_build_object('event', $1::text, $3::text, $4::text::jsonb, \
                 'sender', $5::jsonb, 'webhook_id', id) || coalesce($6::jsonb, '{{}}'), $16 FROM webhooks \
               WHERE $4::text IS NOT NULL AND {} RETURNING 1) \
             SELECT pg_notify($9, '') FROM queued LIMIT 1",
            listening("$1", "$7", "$8")
        );
        tx.execute(
            &sql,
            &[
                &event,
                &changed,
                &change.resource,
                &change.document,
                &sender(caller),
                &before,
                &change.org,
                &change.project,
                &DELIVERY_CHANNEL,
                &change.id,
                &change.task,
                &change.job,
                &caller.id(),
                &caller.user.username,
                &Some(caller.user.email.as_str()).filter(|e| !e.is_empty()),
                &traceparent(),
            ],
        )
        .await
        .db()?;
        Ok(())
    }

    /// Whether a webhook of the organization listens to `event` (for changes the auth
    /// service makes: the gateway reads the object before an update or a delete only then).
    #[tracing::instrument(skip_all)]
    pub async fn organization_change_listened(&self, event: &str, org: i64) -> ApiResult<bool> {
        let client = self.client().await?;
        self.listened(&client, event, Some(org), None).await
    }

    /// Records a change the auth service made (an organization, a membership or an
    /// invitation), as the gateway reports it: its event and its deliveries. The gateway
    /// reports after the auth service committed, so a report lost in between loses them
    /// (the task service's own changes are recorded in their transactions).
    #[allow(clippy::too_many_arguments)]
    #[tracing::instrument(skip_all)]
    pub async fn record_reported_change(
        &self,
        caller: &Caller,
        action: &str,
        resource: &str,
        org: i64,
        id: i64,
        document: &str,
        before: &str,
    ) -> ApiResult<()> {
        let known = |name: &str, among: &[&'static str]| among.iter().copied().find(|n| *n == name);
        let resource = known(resource, &["organization", "membership", "invitation"])
            .ok_or_else(|| ApiError::bad_request(format!("No changes of {resource:?} are reported here.")))?;
        let action = known(action, &["create", "update", "delete"])
            .ok_or_else(|| ApiError::bad_request(format!("Unknown action {action:?}.")))?;
        let before = match serde_json::from_str::<Value>(before) {
            Ok(Value::Object(before)) => Some(Before::Document(before)),
            _ => None,
        };
        let mut change = Change::new(action, resource, id).within(Some(org), Place::default());
        change.document = Some(document).filter(|d| !d.is_empty());
        change.before = before;
        let mut client = self.client().await?;
        let tx = client.transaction().await.db()?;
        self.publish_change(&tx, caller, change).await?;
        tx.commit().await.db()
    }

    async fn webhook_row(&self, client: &impl GenericClient, id: i64) -> ApiResult<Row> {
        let sql = format!("SELECT {} FROM {FROM} WHERE w.id = $1", columns());
        client.query_opt(&sql, &[&id]).await.db()?.ok_or_else(ApiError::not_found)
    }

    /// 404 when there is no such webhook, 403 when the caller may not use it.
    async fn check_webhook(&self, client: &impl GenericClient, caller: &Caller, id: i64) -> ApiResult<Row> {
        let row = self.webhook_row(client, id).await?;
        let actor = self.actor(caller, column(&row, "organization_id")?).await?;
        allow(cvat_permissions::webhook(&actor, &facts(&row)?))?;
        Ok(row)
    }

    #[tracing::instrument(skip_all)]
    pub async fn list_webhooks(&self, caller: &Caller, params: &ListParams) -> ApiResult<DocumentPage> {
        let actor = self.context_actor(caller).await?;
        let scope = list_scope(caller, &actor, &VISIBILITY)?;
        let client = self.client().await?;
        let page = cvat_listing::fetch_page(client, &WEBHOOK_LIST, params, scope, &columns(), FROM, None).await?;
        Ok(DocumentPage {
            count: page.count,
            results: page.rows.iter().map(|r| render_webhook(&caller.base_url, r)).collect::<ApiResult<_>>()?,
        })
    }

    #[tracing::instrument(skip_all)]
    pub async fn get_webhook(&self, caller: &Caller, id: i64) -> ApiResult<String> {
        let client = self.client().await?;
        render_webhook(&caller.base_url, &self.check_webhook(&client, caller, id).await?)
    }

    /// A target must be an http(s) URL of a permitted address (the outgoing policy).
    async fn check_target(&self, url: &str) -> ApiResult<()> {
        self.network.check_endpoint(url).await.map_err(|err| ApiError::field("target_url", err.to_string()))
    }

    #[tracing::instrument(skip_all)]
    pub async fn create_webhook(&self, caller: &Caller, body: &str) -> ApiResult<String> {
        let request: WebhookWriteRequest = cvat_models::parse(&parse_body(body)?)?;
        let mut client = self.client().await?;
        let (org, project) = match (request.r#type, request.project_id) {
            (WebhookType::Server, _) => {
                return Err(ApiError::field("type", "Webhooks belong to an organization or a project."))
            }
            (WebhookType::Organization, Some(_)) => {
                return Err(ApiError::field("project_id", "An organization's webhook has no project."))
            }
            (WebhookType::Organization, None) => {
                let org = caller.context.org().ok_or_else(|| {
                    ApiError::field("type", "An organization's webhook is made in the organization's context.")
                })?;
                let actor = self.actor(caller, Some(org)).await?;
                allow(cvat_permissions::create_webhook(&actor, true, None))?;
                (Some(org), None)
            }
            (WebhookType::Project, None) => return Err(ApiError::field("project_id", "A project's webhook names it.")),
            (WebhookType::Project, Some(project)) => {
                let (facts, org) = match self.project_facts(&client, project).await {
                    Err(err) if err.status_code() == 404 => {
                        return Err(ApiError::field(
                            "project_id",
                            format!("Invalid pk \"{project}\" - object does not exist."),
                        ))
                    }
                    other => other?,
                };
                let actor = self.actor(caller, org).await?;
                allow(cvat_permissions::create_webhook(&actor, org.is_some(), Some(facts.owner)))?;
                (org, Some(project))
            }
        };
        check_events(&request.events, request.r#type)?;
        self.check_target(&request.target_url).await?;
        let tx = client.transaction().await.db()?;
        crate::users::remember_all(&tx, &[Some(&caller.user)]).await?;
        let row = tx
            .query_one(
                "INSERT INTO webhooks (target_url, description, type, secret, is_active, enable_ssl, events, \
                 project_id, organization_id, owner_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id",
                &[
                    &request.target_url,
                    &request.description.unwrap_or_default(),
                    &request.r#type.name(),
                    &request.secret.unwrap_or_default(),
                    &request.is_active.unwrap_or(true),
                    &request.enable_ssl.unwrap_or(true),
                    &request.events,
                    &project,
                    &org,
                    &caller.id(),
                ],
            )
            .await
            .db()?;
        let document = render_webhook(&caller.base_url, &self.webhook_row(&tx, column(&row, 0)?).await?)?;
        tx.commit().await.db()?;
        Ok(document)
    }

    /// PATCH, or PUT (`replace`: the whole write model, whose type and project must stay).
    #[tracing::instrument(skip_all)]
    pub async fn update_webhook(&self, caller: &Caller, id: i64, body: &str, replace: bool) -> ApiResult<String> {
        let body = parse_body(body)?;
        let client = self.client().await?;
        let row = self.check_webhook(&client, caller, id).await?;
        let current = read_webhook(&caller.base_url, &row)?;
        let patch = if replace {
            let full: WebhookWriteRequest = cvat_models::parse(&body)?;
            if full.r#type != current.r#type || full.project_id != current.project_id {
                return Err(ApiError::field("type", "A webhook's type and project do not change."));
            }
            PatchedWebhookWriteRequest {
                target_url: Some(full.target_url),
                description: full.description,
                content_type: full.content_type,
                secret: full.secret,
                is_active: full.is_active,
                enable_ssl: full.enable_ssl,
                events: Some(full.events),
            }
        } else {
            cvat_models::parse(&body)?
        };
        if let Some(events) = &patch.events {
            check_events(events, current.r#type)?;
        }
        if let Some(url) = &patch.target_url {
            self.check_target(url).await?;
        }
        client
            .execute(
                "UPDATE webhooks SET target_url = coalesce($2, target_url), description = coalesce($3, description), \
                 secret = coalesce($4, secret), is_active = coalesce($5, is_active), \
                 enable_ssl = coalesce($6, enable_ssl), events = coalesce($7, events), updated_date = now() \
                 WHERE id = $1",
                &[
                    &id,
                    &patch.target_url,
                    &patch.description,
                    &patch.secret,
                    &patch.is_active,
                    &patch.enable_ssl,
                    &patch.events,
                ],
            )
            .await
            .db()?;
        render_webhook(&caller.base_url, &self.webhook_row(&client, id).await?)
    }

    #[tracing::instrument(skip_all)]
    pub async fn delete_webhook(&self, caller: &Caller, id: i64) -> ApiResult<()> {
        let client = self.client().await?;
        self.check_webhook(&client, caller, id).await?;
        client.execute("DELETE FROM webhooks WHERE id = $1", &[&id]).await.db()?;
        Ok(())
    }

    /// Queues `{"event": "ping", "webhook": …, "sender": …}` and answers its delivery.
    #[tracing::instrument(skip_all)]
    pub async fn ping_webhook(&self, caller: &Caller, id: i64) -> ApiResult<String> {
        let client = self.client().await?;
        let row = self.check_webhook(&client, caller, id).await?;
        let webhook = serde_json::to_value(read_webhook(&caller.base_url, &row)?).map_err(|_| ApiError::internal())?;
        let payload = json!({"event": "ping", "webhook": webhook, "sender": sender(caller)});
        let row = client
            .query_one(
                &format!(
                    "WITH queued AS (INSERT INTO webhook_deliveries (webhook_id, event, request, traceparent) \
                     VALUES ($1, 'ping', $2, $4) RETURNING *), woken AS (SELECT pg_notify($3, '')) \
                     SELECT {DELIVERY_COLUMNS} FROM queued, woken"
                ),
                &[&id, &payload, &DELIVERY_CHANNEL, &traceparent()],
            )
            .await
            .db()?;
        render_delivery(&row)
    }

    /// The deliveries of the webhook the list names (`webhook_id`, set by the path).
    #[tracing::instrument(skip_all)]
    pub async fn list_webhook_deliveries(&self, caller: &Caller, params: &ListParams) -> ApiResult<DocumentPage> {
        let mut params = params.clone();
        let webhook: i64 =
            params.equals.remove("webhook_id").and_then(|id| id.parse().ok()).ok_or_else(ApiError::not_found)?;
        let params = &params;
        let client = self.client().await?;
        self.check_webhook(&client, caller, webhook).await?;
        let mut scope = cvat_listing::SqlWhere::default();
        scope.push("webhook_id = {}", SqlParam::Int(webhook));
        let page = cvat_listing::fetch_page(
            client,
            &DELIVERY_LIST,
            params,
            scope,
            DELIVERY_COLUMNS,
            "webhook_deliveries",
            None,
        )
        .await?;
        Ok(DocumentPage {
            count: page.count,
            results: page.rows.iter().map(render_delivery).collect::<ApiResult<_>>()?,
        })
    }

    async fn delivery_row(&self, client: &impl GenericClient, webhook: i64, id: i64) -> ApiResult<Row> {
        client
            .query_opt(
                &format!("SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries WHERE id = $1 AND webhook_id = $2"),
                &[&id, &webhook],
            )
            .await
            .db()?
            .ok_or_else(ApiError::not_found)
    }

    #[tracing::instrument(skip_all)]
    pub async fn get_webhook_delivery(&self, caller: &Caller, webhook: i64, id: i64) -> ApiResult<String> {
        let client = self.client().await?;
        self.check_webhook(&client, caller, webhook).await?;
        render_delivery(&self.delivery_row(&client, webhook, id).await?)
    }

    /// Sends a delivery's payload again, as a new delivery marked `redelivery`.
    #[tracing::instrument(skip_all)]
    pub async fn redeliver_webhook(&self, caller: &Caller, webhook: i64, id: i64) -> ApiResult<()> {
        let client = self.client().await?;
        self.check_webhook(&client, caller, webhook).await?;
        self.delivery_row(&client, webhook, id).await?;
        client
            .execute(
                "WITH queued AS (INSERT INTO webhook_deliveries \
                   (webhook_id, event, changed_fields, request, redelivery, traceparent) \
                 SELECT webhook_id, event, changed_fields, request, true, $3 FROM webhook_deliveries WHERE id = $1 \
                 RETURNING id) SELECT pg_notify($2, '') FROM queued",
                &[&id, &DELIVERY_CHANNEL, &traceparent()],
            )
            .await
            .db()?;
        Ok(())
    }

    /// Deliveries due now (and ones handed out long ago and never reported), marked as
    /// handed out, with the trace context of the request that caused each: the dispatcher
    /// publishes them to the webhook pool. Those of inactive webhooks wait (they go if the
    /// webhook is made active again).
    #[tracing::instrument(skip_all)]
    pub async fn due_webhook_deliveries(&self, limit: i64) -> ApiResult<Vec<DueDelivery>> {
        let client = self.client().await?;
        let rows = client
            .query(
                "UPDATE webhook_deliveries SET state = 'sent', sent_at = now() WHERE id IN ( \
                   SELECT d.id FROM webhook_deliveries d JOIN webhooks w ON w.id = d.webhook_id \
                   WHERE w.is_active AND ((d.state = 'queued' AND d.due <= now()) \
                   OR (d.state = 'sent' AND d.sent_at < now() - $2 * interval '1 second')) \
                   ORDER BY d.due LIMIT $1 FOR UPDATE OF d SKIP LOCKED) RETURNING id, traceparent",
                &[&limit, &UNREPORTED_SECONDS],
            )
            .await
            .db()?;
        rows.iter()
            .map(|row| Ok(DueDelivery { id: cvat_db::column(row, 0)?, traceparent: cvat_db::column(row, 1)? }))
            .collect()
    }

    /// Deliveries the broker did not take go back to the queue.
    #[tracing::instrument(skip_all)]
    pub async fn requeue_webhook_deliveries(&self, ids: &[i64]) -> ApiResult<()> {
        let client = self.client().await?;
        client
            .execute("UPDATE webhook_deliveries SET state = 'queued' WHERE id = ANY($1) AND state = 'sent'", &[&ids])
            .await
            .db()?;
        Ok(())
    }

    /// What a worker sends for a delivery: none when it is no longer to be sent (its
    /// webhook deleted or made inactive, or it was reported already).
    #[tracing::instrument(skip_all)]
    pub async fn webhook_delivery_work(&self, id: i64) -> ApiResult<Option<DeliveryWork>> {
        let client = self.client().await?;
        let row = client
            .query_opt(
                "SELECT w.target_url, w.secret, w.enable_ssl, d.request FROM webhook_deliveries d \
                 JOIN webhooks w ON w.id = d.webhook_id WHERE d.id = $1 AND d.state = 'sent' AND w.is_active",
                &[&id],
            )
            .await
            .db()?;
        let Some(row) = row else { return Ok(None) };
        Ok(Some(DeliveryWork {
            target_url: column(&row, 0)?,
            secret: column(&row, 1)?,
            enable_ssl: column(&row, 2)?,
            payload: column(&row, 3)?,
        }))
    }

    /// A worker's attempt: recorded on the delivery, which is done, or queued again with
    /// back-off when the target may answer better later.
    #[tracing::instrument(skip_all)]
    pub async fn report_webhook_delivery(
        &self,
        id: i64,
        status_code: i32,
        response: &str,
        duration_ms: i32,
    ) -> ApiResult<()> {
        let response: String = response.chars().take(MAX_RESPONSE_CHARS).collect();
        let retryable = status_code >= 500 || status_code == 408 || status_code == 429;
        let client = self.client().await?;
        client
            .execute(
                "UPDATE webhook_deliveries SET attempt = attempt + 1, status_code = $2, response = $3, \
                 request_duration = $4, updated_date = now(), \
                 state = CASE WHEN $5 AND attempt + 1 < $6 THEN 'queued' WHEN $5 THEN 'failed' ELSE 'delivered' END, \
                 due = now() + $7 * power(2, attempt) * interval '1 second' \
                 WHERE id = $1 AND state = 'sent'",
                &[&id, &status_code, &response, &duration_ms, &retryable, &MAX_ATTEMPTS, &FIRST_RETRY_SECONDS],
            )
            .await
            .db()?;
        Ok(())
    }
}

/// A delivery as a worker sends it.
pub struct DeliveryWork {
    pub target_url: String,
    pub secret: String,
    pub enable_ssl: bool,
    pub payload: Value,
}

const DELIVERY_FIELDS: &[Field] = &[
    Field { name: "id", sql: "id", ty: FieldType::Int },
    Field { name: "event", sql: "event", ty: FieldType::Text },
    Field { name: "status_code", sql: "status_code", ty: FieldType::Int },
];

const DELIVERY_LIST: ListSpec = ListSpec {
    fields: DELIVERY_FIELDS,
    search: &[],
    filter: &["id", "event", "status_code"],
    equals: &["event", "status_code"],
    sort: &["id"],
    default_sort: "-id",
    search_sql: None,
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn before_update_holds_the_old_values_of_what_changed() {
        let before = json!({"id": 1, "name": "a", "subset": "", "owner_id": 5, "assignee_id": null,
                            "segment_size": 10, "updated_date": "x"});
        let after = json!({"id": 1, "name": "b", "subset": "", "owner_id": 6, "assignee_id": 5,
                           "segment_size": 10, "updated_date": "y"});
        let document = json!({"id": 1, "name": "b", "subset": "", "owner": {}, "assignee": {}});
        let users = std::collections::HashMap::from([(5, json!({"id": 5, "username": "five"}))]);
        let old = before_update(
            before.as_object().unwrap(),
            after.as_object().unwrap(),
            document.as_object().unwrap(),
            &users,
        );
        assert_eq!(Value::Object(old), json!({"name": "a", "owner": {"id": 5, "username": "five"}, "assignee": null}));
    }

    #[test]
    fn events_are_those_of_the_webhook_type() {
        check_events(&["create:task".into(), "update:project".into()], WebhookType::Project).unwrap();
        assert!(check_events(&["create:project".into()], WebhookType::Project).is_err());
        check_events(&["create:membership".into()], WebhookType::Organization).unwrap();
        assert!(check_events(&["create:thing".into()], WebhookType::Organization).is_err());
        assert!(check_events(&["create:task".into(), "create:task".into()], WebhookType::Organization).is_err());
    }
}
