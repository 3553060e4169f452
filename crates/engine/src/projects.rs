//! Projects: `/api/projects` with `ProjectRead`.

use crate::access::{allow, list_scope, Visibility};
use crate::labels::{self, LabelOwner};
use crate::render::{self, user_columns};
use crate::users::remember_all;
use crate::webhooks::{Change, Place};
use crate::{parse_body, query_cached, Caller, DocumentPage, Engine};
use cvat_db::DbResultExt;
use cvat_db::GenericClient;
use cvat_db::{column, column_values};
use cvat_error::{ApiError, ApiResult};
use cvat_listing::{Field, FieldType, ListParams, ListSpec};
use cvat_models::{LabelsSummary, PatchedProjectWriteRequest, ProjectRead, ProjectWriteRequest, TasksSummary};
use cvat_permissions::{Actor, CreateScope, ProjectFacts, ProjectScope};
use serde_json::{json, Value};
use std::collections::HashMap;
use tokio_postgres::Row;

const FIELDS: &[Field] = &[
    Field { name: "id", sql: "p.id", ty: FieldType::Int },
    Field { name: "name", sql: "p.name", ty: FieldType::Text },
    Field { name: "owner", sql: "o.username", ty: FieldType::Text },
    Field { name: "assignee", sql: "a.username", ty: FieldType::Text },
    Field { name: "status", sql: "p.status", ty: FieldType::Text },
    Field { name: "updated_date", sql: "p.updated_date", ty: FieldType::Timestamp },
];

pub const PROJECT_LIST: ListSpec = ListSpec {
    fields: FIELDS,
    search: &["name", "owner", "assignee", "status"],
    filter: &["name", "owner", "assignee", "status", "id", "updated_date"],
    equals: &["name", "owner", "assignee", "status"],
    sort: &["name", "owner", "assignee", "status", "id", "updated_date"],
    default_sort: "-id",
    search_sql: None,
};

const FROM: &str = "projects p LEFT JOIN users o ON o.id = p.owner_id LEFT JOIN users a ON a.id = p.assignee_id";

const VISIBILITY: Visibility = Visibility {
    org_column: "p.organization_id",
    relations: "p.owner_id = {user} OR p.assignee_id = {user}",
    staff: cvat_permissions::Role::Maintainer,
};

fn columns() -> String {
    format!(
        "p.id, p.name, p.bug_tracker, p.status, p.organization_id, p.source_storage, p.target_storage, \
         p.created_date, p.updated_date, p.assignee_updated_date, \
         (SELECT g.id FROM guides g WHERE g.project_id = p.id) AS guide_id, {}, {}",
        user_columns("o", "owner"),
        user_columns("a", "assignee")
    )
}

/// Task counts, subsets and dimension of each project.
struct TaskSummary {
    count: i64,
    subsets: Vec<String>,
    dimension: Option<String>,
}

async fn task_summaries(client: &impl GenericClient, ids: &[i64]) -> ApiResult<HashMap<i64, TaskSummary>> {
    let rows = query_cached(
        client,
        "SELECT project_id, count(*), \
             coalesce(array_agg(DISTINCT subset) FILTER (WHERE subset <> ''), '{}'), min(dimension) \
             FROM tasks WHERE project_id = ANY($1) GROUP BY project_id",
        &[&ids],
    )
    .await?;
    rows.iter()
        .map(|r| {
            let summary = TaskSummary { count: column(r, 1)?, subsets: column(r, 2)?, dimension: column(r, 3)? };
            Ok((column(r, 0)?, summary))
        })
        .collect()
}

async fn render_rows(client: &impl GenericClient, base: &str, rows: &[Row]) -> ApiResult<Vec<String>> {
    let ids: Vec<i64> = column_values(rows, "id")?;
    let mut summaries = task_summaries(client, &ids).await?;
    rows.iter()
        .map(|r| {
            let id: i64 = column(r, "id")?;
            let tasks = summaries.remove(&id).unwrap_or(TaskSummary { count: 0, subsets: vec![], dimension: None });
            let org: Option<i64> = column(r, "organization_id")?;
            Ok(cvat_models::render(&ProjectRead {
                url: format!("{base}/api/projects/{id}"),
                id,
                name: column(r, "name")?,
                labels: LabelsSummary { url: format!("{base}/api/labels?project_id={id}") },
                tasks: TasksSummary { count: tasks.count, url: format!("{base}/api/tasks?project_id={id}") },
                owner: render::user(base, r, "owner")?,
                assignee: render::user(base, r, "assignee")?,
                guide_id: column(r, "guide_id")?,
                bug_tracker: column(r, "bug_tracker")?,
                task_subsets: tasks.subsets,
                created_date: render::moment(r, "created_date")?,
                updated_date: render::moment(r, "updated_date")?,
                status: column(r, "status")?,
                dimension: tasks.dimension,
                organization: org,
                organization_id: org,
                target_storage: render::storage(r, "target_storage")?,
                source_storage: render::storage(r, "source_storage")?,
                assignee_updated_date: render::maybe_moment(r, "assignee_updated_date")?,
            }))
        })
        .collect()
}

/// Reads `source_storage`/`target_storage` of a write body: `{location, cloud_storage_id}`.
/// A cloud storage location must name a storage the caller may view (400 when there is none).
pub(crate) async fn storage_field(
    engine: &Engine,
    client: &impl GenericClient,
    caller: &Caller,
    storage: Option<&cvat_models::StorageRequest>,
    name: &str,
) -> ApiResult<Option<Value>> {
    let Some(storage) = storage else { return Ok(None) };
    let location = storage.location.unwrap_or(cvat_models::LocationEnum::Local);
    match (location, storage.cloud_storage_id) {
        (cvat_models::LocationEnum::CloudStorage, None) => {
            return Err(ApiError::field(
                name,
                "Cloud storage location was selected as the source, but cloud storage id was not specified",
            ));
        }
        (_, Some(id)) => engine.check_cloud_storage_readable(client, caller, id).await?,
        _ => {}
    }
    Ok(Some(json!({"location": cvat_models::wire_name(&location), "cloud_storage_id": storage.cloud_storage_id})))
}

/// Gives a storage value its id.
pub(crate) async fn store_storage(client: &impl GenericClient, value: Option<Value>) -> ApiResult<Option<Value>> {
    let Some(mut value) = value else { return Ok(None) };
    let row = client.query_one("SELECT nextval('storage_ids')", &[]).await.db()?;
    value["id"] = json!(column::<_, i64>(&row, 0)?);
    Ok(Some(value))
}

impl Engine {
    /// The facts of a project and its organization; 404 when it does not exist.
    /// The project's organization and the caller's role there: asked before a write's
    /// transaction opens (the write re-reads the project and checks it did not move).
    pub(crate) async fn project_actor(
        &self,
        client: &impl GenericClient,
        caller: &Caller,
        project: i64,
    ) -> ApiResult<(Option<i64>, Actor)> {
        let (_, org) = self
            .project_facts(client, project)
            .await
            .map_err(|_| ApiError::invalid("Project matching query does not exist."))?;
        Ok((org, self.actor(caller, org).await?))
    }

    pub(crate) async fn project_facts(
        &self,
        client: &impl GenericClient,
        id: i64,
    ) -> ApiResult<(ProjectFacts, Option<i64>)> {
        let row = client
            .query_opt("SELECT owner_id, assignee_id, organization_id FROM projects WHERE id = $1", &[&id])
            .await
            .db()?
            .ok_or_else(ApiError::not_found)?;
        let org: Option<i64> = column(&row, 2)?;
        Ok((ProjectFacts { in_org: org.is_some(), owner: column(&row, 0)?, assignee: column(&row, 1)? }, org))
    }

    /// 404 when the project does not exist, 403 when `scope` is denied.
    pub(crate) async fn check_project(
        &self,
        client: &impl GenericClient,
        caller: &Caller,
        id: i64,
        scope: ProjectScope,
    ) -> ApiResult<(ProjectFacts, Option<i64>, Actor)> {
        let (facts, org) = self.project_facts(client, id).await?;
        let actor = self.actor(caller, org).await?;
        allow(cvat_permissions::project(&actor, scope, &facts))?;
        Ok((facts, org, actor))
    }

    async fn render_projects(
        &self,
        client: &impl GenericClient,
        caller: &Caller,
        ids: &[i64],
    ) -> ApiResult<Vec<String>> {
        let rows = client
            .query(&format!("SELECT {} FROM {FROM} WHERE p.id = ANY($1) ORDER BY p.id", columns()), &[&ids])
            .await
            .db()?;
        render_rows(client, &caller.base_url, &rows).await
    }

    async fn project_document(&self, client: &impl GenericClient, caller: &Caller, id: i64) -> ApiResult<String> {
        self.render_projects(client, caller, &[id]).await?.pop().ok_or_else(ApiError::not_found)
    }

    #[tracing::instrument(skip_all)]
    pub async fn list_projects(&self, caller: &Caller, params: &ListParams) -> ApiResult<DocumentPage> {
        let actor = self.context_actor(caller).await?;
        let scope = list_scope(caller, &actor, &VISIBILITY)?;
        let client = self.client().await?;
        let page =
            cvat_listing::fetch_page(client, &PROJECT_LIST, params, scope, &columns(), FROM, Some(&self.list_counts))
                .await?;
        Ok(DocumentPage { count: page.count, results: render_rows(&page.client, &caller.base_url, &page.rows).await? })
    }

    #[tracing::instrument(skip_all)]
    pub async fn get_project(&self, caller: &Caller, id: i64) -> ApiResult<String> {
        let client = self.client().await?;
        self.check_project(&client, caller, id, ProjectScope::View).await?;
        self.project_document(&client, caller, id).await
    }

    #[tracing::instrument(skip_all)]
    pub async fn create_project(&self, caller: &Caller, body: &str) -> ApiResult<String> {
        let body = parse_body(body)?;
        let actor = self.context_actor(caller).await?;
        let org = caller.context.org();
        allow(cvat_permissions::create_or_list(&actor, CreateScope::Create, org.is_some()))?;
        let request: ProjectWriteRequest = cvat_models::parse(&body)?;
        let ProjectWriteRequest { name, owner_id, assignee_id, .. } = request;
        let bug_tracker = request.bug_tracker.unwrap_or_default();
        let labels = cvat_labels::parse_labels(request.labels.as_deref().unwrap_or_default())?;
        if labels.iter().any(|l| l.id.is_some()) {
            return Err(ApiError::invalid("New labels cannot have an id"));
        }
        let owner = owner_id.unwrap_or(caller.id());
        let named_owner = self.named_user(caller, "owner_id", owner, org.is_some()).await?;
        let named_assignee = self.maybe_named_user(caller, "assignee_id", assignee_id, org.is_some()).await?;
        let mut client = self.client().await?;
        let source = storage_field(self, &client, caller, request.source_storage.as_ref(), "source_storage").await?;
        let target = storage_field(self, &client, caller, request.target_storage.as_ref(), "target_storage").await?;
        let tx = client.transaction().await.db()?;
        remember_all(&tx, &[Some(&named_owner), named_assignee.as_ref()]).await?;
        let source = store_storage(&tx, source).await?;
        let target = store_storage(&tx, target).await?;
        let row = tx
            .query_one(
                "INSERT INTO projects (name, owner_id, assignee_id, assignee_updated_date, bug_tracker, organization_id, \
                 source_storage, target_storage) \
                 VALUES ($1, $2, $3, CASE WHEN $3::int8 IS NULL THEN NULL ELSE now() END, $4, $5, $6, $7) RETURNING id",
                &[&name, &owner, &assignee_id, &bug_tracker, &org, &source, &target],
            )
            .await
            .db()?;
        let id: i64 = column(&row, 0)?;
        labels::apply(&tx, LabelOwner::Project(id), &labels).await?;
        let document = self.project_document(&tx, caller, id).await?;
        let change = Change::new("create", "project", id).within(org, Place::project(id));
        self.publish_change(&tx, caller, change.document(Some(&document))).await?;
        tx.commit().await.db()?;
        Ok(document)
    }

    /// PATCH: each key needs its own scope (CVAT's per-field rule); an unknown key is a 403.
    #[tracing::instrument(skip_all)]
    pub async fn update_project(&self, caller: &Caller, id: i64, body: &str) -> ApiResult<String> {
        let body = parse_body(body)?;
        let mut client = self.client().await?;
        let (facts, org, actor) = self.check_project(&client, caller, id, ProjectScope::View).await?;
        // Every key needs its own right; checked now and again on the locked row.
        let may_change = |facts: &ProjectFacts| -> ApiResult<()> {
            for key in body.keys() {
                let scope = match key.as_str() {
                    "name" | "labels" | "bug_tracker" => ProjectScope::Update,
                    "owner_id" => ProjectScope::UpdateOwner,
                    "assignee_id" => ProjectScope::UpdateAssignee,
                    "organization_id" | "source_storage" | "target_storage" => ProjectScope::Manage,
                    _ => return Err(unknown_field()),
                };
                allow(cvat_permissions::project(&actor, scope, facts))?;
            }
            Ok(())
        };
        may_change(&facts)?;
        let request: PatchedProjectWriteRequest = cvat_models::parse(&body)?;
        let PatchedProjectWriteRequest { name, owner_id, assignee_id, bug_tracker, organization_id, .. } = request;
        let labels = request.labels.as_deref().map(cvat_labels::parse_labels).transpose()?;
        let source = storage_field(self, &client, caller, request.source_storage.as_ref(), "source_storage").await?;
        let target = storage_field(self, &client, caller, request.target_storage.as_ref(), "target_storage").await?;
        // What the auth service knows is asked before the transaction opens.
        let named_owner = self.maybe_named_user(caller, "owner_id", owner_id.flatten(), org.is_some()).await?;
        let named_assignee = self.maybe_named_user(caller, "assignee_id", assignee_id.flatten(), org.is_some()).await?;
        if let Some(target_org) = organization_id {
            self.check_can_move_to(caller, target_org).await?;
        }

        let tx = client.transaction().await.db()?;
        crate::access::lock_row(&tx, "projects", id, crate::access::Lock::Update).await?;
        let (locked, locked_org) = self.project_facts(&tx, id).await?;
        crate::access::same_organization(org, locked_org)?;
        may_change(&locked)?;
        let before = self.snapshot(&tx, "update:project", locked_org, Some(id), "projects", id).await?;
        remember_all(&tx, &[named_owner.as_ref(), named_assignee.as_ref()]).await?;
        if let Some(target_org) = organization_id {
            tx.execute("UPDATE tasks SET organization_id = $2 WHERE project_id = $1", &[&id, &target_org])
                .await
                .db()?;
        }
        let source = store_storage(&tx, source).await?;
        let target = store_storage(&tx, target).await?;
        tx.execute(
            "UPDATE projects SET name = coalesce($2, name), \
             owner_id = CASE WHEN $3 THEN $4 ELSE owner_id END, \
             assignee_updated_date = CASE WHEN $5 AND assignee_id IS DISTINCT FROM $6 THEN now() \
                 ELSE assignee_updated_date END, \
             assignee_id = CASE WHEN $5 THEN $6 ELSE assignee_id END, \
             bug_tracker = coalesce($7, bug_tracker), \
             organization_id = CASE WHEN $8 THEN $9 ELSE organization_id END, \
             source_storage = coalesce($10, source_storage), target_storage = coalesce($11, target_storage), \
             updated_date = now() WHERE id = $1",
            &[
                &id,
                &name,
                &owner_id.is_some(),
                &owner_id.flatten(),
                &assignee_id.is_some(),
                &assignee_id.flatten(),
                &bug_tracker,
                &organization_id.is_some(),
                &organization_id.flatten(),
                &source,
                &target,
            ],
        )
        .await
        .db()?;
        if let Some(labels) = labels {
            labels::apply(&tx, LabelOwner::Project(id), &labels).await?;
        }
        let document = self.project_document(&tx, caller, id).await?;
        let change =
            Change::new("update", "project", id).within(organization_id.unwrap_or(locked_org), Place::project(id));
        self.publish_change(&tx, caller, change.document(Some(&document)).before(before)).await?;
        tx.commit().await.db()?;
        Ok(document)
    }

    /// Answers the tasks deleted with the project (whose blobs the caller has removed).
    #[tracing::instrument(skip_all)]
    pub async fn delete_project(&self, caller: &Caller, id: i64) -> ApiResult<Vec<i64>> {
        let mut client = self.client().await?;
        let (_, org, _) = self.check_project(&client, caller, id, ProjectScope::Manage).await?;
        let tx = client.transaction().await.db()?;
        let gone = self.watched(&tx, "delete:project", org, Some(id), self.project_document(&tx, caller, id)).await?;
        let tasks = tx.query("DELETE FROM tasks WHERE project_id = $1 RETURNING id", &[&id]).await.db()?;
        // Jobs and every label go with them (foreign keys cascade).
        tx.execute("DELETE FROM projects WHERE id = $1", &[&id]).await.db()?;
        let change = Change::new("delete", "project", id).within(org, Place::project(id));
        self.publish_change(&tx, caller, change.document(gone.as_deref())).await?;
        tx.commit().await.db()?;
        column_values(&tasks, 0)
    }

    /// Moving an object into an organization needs an active membership there (or
    /// admin); `None` moves it to the personal workspace.
    pub(crate) async fn check_can_move_to(&self, caller: &Caller, org: Option<i64>) -> ApiResult<()> {
        if let Some(org) = org {
            let actor = self.actor(caller, Some(org)).await?;
            allow(caller.is_admin() || actor.role.is_some())?;
        }
        Ok(())
    }
}

pub(crate) fn unknown_field() -> ApiError {
    ApiError::detail(cvat_error::ErrorKind::Forbidden, "Attempted to update an unknown field")
}
