//! Tasks: `/api/tasks` with `TaskRead`, and the segments and jobs made when a task's
//! media has been processed.

use crate::access::{allow, list_scope, Visibility};
use crate::labels::{self, LabelOwner};
use crate::projects::{storage_field, store_storage, unknown_field};
use crate::render::{self, user_columns};
use crate::users::remember_all;
use crate::webhooks::{Change, Place};
use crate::{parse_body, query_cached, Caller, DocumentPage, Engine};
use cvat_db::DbResultExt;
use cvat_db::{column, column_values, GenericClient};
use cvat_error::{ApiError, ApiResult};
use cvat_listing::{Field, FieldType, ListParams, ListSpec};
use cvat_models::{JobsSummary, LabelsSummary, PatchedTaskWriteRequest, TaskRead, TaskWriteRequest};
use cvat_permissions::{Actor, CreateScope, ProjectFacts, ProjectScope, TaskFacts, TaskScope};
use serde_json::Value;
use std::collections::HashMap;
use tokio_postgres::Row;

const FIELDS: &[Field] = &[
    Field { name: "id", sql: "t.id", ty: FieldType::Int },
    Field { name: "name", sql: "t.name", ty: FieldType::Text },
    Field { name: "project_id", sql: "t.project_id", ty: FieldType::Int },
    Field { name: "project_name", sql: "p.name", ty: FieldType::Text },
    Field { name: "owner", sql: "o.username", ty: FieldType::Text },
    Field { name: "assignee", sql: "a.username", ty: FieldType::Text },
    Field { name: "status", sql: "t.status", ty: FieldType::Text },
    Field { name: "subset", sql: "t.subset", ty: FieldType::Text },
    Field { name: "mode", sql: "t.mode", ty: FieldType::Text },
    Field { name: "dimension", sql: "t.dimension", ty: FieldType::Text },
    Field { name: "tracker_link", sql: "t.bug_tracker", ty: FieldType::Text },
    Field { name: "validation_mode", sql: "t.validation_mode", ty: FieldType::Text },
    Field { name: "updated_date", sql: "t.updated_date", ty: FieldType::Timestamp },
];

/// Filterable and sortable names, ordered so that the search fields come first and the
/// equality filters are the search fields plus `project_id`.
const FILTER: &[&str] = &[
    "project_name",
    "name",
    "owner",
    "status",
    "assignee",
    "subset",
    "mode",
    "dimension",
    "tracker_link",
    "validation_mode",
    "project_id",
    "id",
    "updated_date",
];

pub const TASK_LIST: ListSpec = ListSpec {
    fields: FIELDS,
    search: FILTER.split_at(10).0,
    filter: FILTER,
    equals: FILTER.split_at(11).0,
    sort: FILTER,
    default_sort: "-id",
    // The task's own search fields are one lower-cased column (migration 0023); the
    // project's and users' names are looked up in their tables, each once per statement.
    search_sql: Some(
        "t.search_text LIKE lower({}) OR t.project_id IN (SELECT id FROM projects WHERE lower(name) LIKE lower({})) \
         OR t.owner_id IN (SELECT id FROM users WHERE lower(username) LIKE lower({})) \
         OR t.assignee_id IN (SELECT id FROM users WHERE lower(username) LIKE lower({}))",
    ),
};

const FROM: &str = "tasks t LEFT JOIN projects p ON p.id = t.project_id \
     LEFT JOIN users o ON o.id = t.owner_id LEFT JOIN users a ON a.id = t.assignee_id \
     LEFT JOIN task_data d ON d.task_id = t.id";

/// Task staff and the assignees of its jobs.
const VISIBILITY: Visibility = Visibility {
    org_column: "t.organization_id",
    relations: "t.owner_id = {user} OR t.assignee_id = {user} OR p.owner_id = {user} OR p.assignee_id = {user} \
     OR EXISTS (SELECT 1 FROM jobs j WHERE j.task_id = t.id AND j.assignee_id = {user})",
    staff: cvat_permissions::Role::Maintainer,
};

fn columns() -> String {
    format!(
        "t.id, t.name, t.project_id, p.name AS project_name, t.bug_tracker, t.subset, t.status, t.mode, \
         t.dimension, t.validation_mode, t.segment_size, t.overlap, t.consensus_replicas, t.organization_id, \
         t.source_storage, t.target_storage, t.size, t.created_date, t.updated_date, t.assignee_updated_date, \
         d.task_id AS data_id, d.chunk_size AS data_chunk_size, d.image_quality AS data_image_quality, \
         d.compressed_chunk_type, d.original_chunk_type, d.cloud_storage_id AS data_cloud_storage_id, \
         (SELECT g.id FROM guides g WHERE g.task_id = t.id) AS guide_id, {}, {}",
        user_columns("o", "owner"),
        user_columns("a", "assignee")
    )
}

struct JobCounts {
    count: i64,
    completed: i64,
    validation: i64,
}

async fn job_counts(client: &impl GenericClient, ids: &[i64]) -> ApiResult<HashMap<i64, JobCounts>> {
    let rows = query_cached(
        client,
        "SELECT task_id, count(*), count(*) FILTER (WHERE stage = 'acceptance' AND state = 'completed'), \
             count(*) FILTER (WHERE stage = 'validation') FROM jobs WHERE task_id = ANY($1) GROUP BY task_id",
        &[&ids],
    )
    .await?;
    rows.iter()
        .map(|r| {
            let counts = JobCounts { count: column(r, 1)?, completed: column(r, 2)?, validation: column(r, 3)? };
            Ok((column(r, 0)?, counts))
        })
        .collect()
}

async fn render_rows(client: &impl GenericClient, base: &str, rows: &[Row]) -> ApiResult<Vec<String>> {
    let ids: Vec<i64> = column_values(rows, "id")?;
    let mut counts = job_counts(client, &ids).await?;
    rows.iter()
        .map(|r| {
            let id: i64 = column(r, "id")?;
            let jobs = counts.remove(&id).unwrap_or(JobCounts { count: 0, completed: 0, validation: 0 });
            let org: Option<i64> = column(r, "organization_id")?;
            let size: i32 = column(r, "size")?;
            let mode: String = column(r, "mode")?;
            // Data fields describe attached media; until then they are null (or 0, "").
            let data: Option<i64> = column(r, "data_id")?;
            Ok(cvat_models::render(&TaskRead {
                url: format!("{base}/api/tasks/{id}"),
                id,
                name: column(r, "name")?,
                project_id: column(r, "project_id")?,
                project_name: column(r, "project_name")?,
                owner: render::user(base, r, "owner")?,
                assignee: render::user(base, r, "assignee")?,
                bug_tracker: column(r, "bug_tracker")?,
                created_date: render::moment(r, "created_date")?,
                updated_date: render::moment(r, "updated_date")?,
                overlap: column(r, "overlap")?,
                segment_size: column(r, "segment_size")?,
                initial_replicas: column(r, "consensus_replicas")?,
                status: column(r, "status")?,
                data_chunk_size: column(r, "data_chunk_size")?,
                data_original_chunk_type: column(r, "original_chunk_type")?,
                data_compressed_chunk_type: column(r, "compressed_chunk_type")?,
                data_cloud_storage_id: column(r, "data_cloud_storage_id")?,
                guide_id: column(r, "guide_id")?,
                size,
                image_quality: column::<_, Option<i32>>(r, "data_image_quality")?.unwrap_or(0),
                data,
                dimension: column(r, "dimension")?,
                mode,
                media_type: if data.is_some() { "image" } else { "" }.to_string(),
                subset: column(r, "subset")?,
                organization: org,
                organization_id: org,
                target_storage: render::storage(r, "target_storage")?,
                source_storage: render::storage(r, "source_storage")?,
                assignee_updated_date: render::maybe_moment(r, "assignee_updated_date")?,
                validation_mode: column(r, "validation_mode")?,
                labels: LabelsSummary { url: format!("{base}/api/labels?task_id={id}") },
                jobs: JobsSummary {
                    count: jobs.count,
                    completed: Some(jobs.completed),
                    validation: Some(jobs.validation),
                    url: format!("{base}/api/jobs?task_id={id}"),
                },
            }))
        })
        .collect()
}

/// A task's permission facts, organization and project.
pub(crate) struct TaskAccess {
    pub facts: TaskFacts,
    pub org: Option<i64>,
    pub project: Option<i64>,
}

impl Engine {
    pub(crate) async fn task_access(&self, client: &impl GenericClient, id: i64) -> ApiResult<TaskAccess> {
        // Every request on a task (each frame an annotator steps to) checks it: a cached statement.
        let row = crate::query_cached(
            client,
            "SELECT t.owner_id, t.assignee_id, t.organization_id, t.project_id, p.owner_id, p.assignee_id \
             FROM tasks t LEFT JOIN projects p ON p.id = t.project_id WHERE t.id = $1",
            &[&id],
        )
        .await?
        .pop()
        .ok_or_else(ApiError::not_found)?;
        let org: Option<i64> = column(&row, 2)?;
        let project: Option<i64> = column(&row, 3)?;
        let facts = TaskFacts {
            in_org: org.is_some(),
            owner: column(&row, 0)?,
            assignee: column(&row, 1)?,
            project: match project {
                Some(_) => {
                    Some(ProjectFacts { in_org: org.is_some(), owner: column(&row, 4)?, assignee: column(&row, 5)? })
                }
                None => None,
            },
        };
        Ok(TaskAccess { facts, org, project })
    }

    /// 404 when the task does not exist, 403 when `scope` is denied; answers the facts
    /// and the caller as an actor on it (for further checks without another lookup).
    pub(crate) async fn check_task(
        &self,
        client: &impl GenericClient,
        caller: &Caller,
        id: i64,
        scope: TaskScope,
    ) -> ApiResult<(TaskAccess, Actor)> {
        let access = self.task_access(client, id).await?;
        let actor = self.actor(caller, access.org).await?;
        allow(cvat_permissions::task(&actor, scope, &access.facts))?;
        Ok((access, actor))
    }

    async fn task_document(&self, client: &impl GenericClient, caller: &Caller, id: i64) -> ApiResult<String> {
        let rows = client.query(&format!("SELECT {} FROM {FROM} WHERE t.id = $1", columns()), &[&id]).await.db()?;
        render_rows(client, &caller.base_url, &rows).await?.pop().ok_or_else(ApiError::not_found)
    }

    #[tracing::instrument(skip_all)]
    pub async fn list_tasks(&self, caller: &Caller, params: &ListParams) -> ApiResult<DocumentPage> {
        let actor = self.context_actor(caller).await?;
        let scope = list_scope(caller, &actor, &VISIBILITY)?;
        let client = self.client().await?;
        let page =
            cvat_listing::fetch_page(client, &TASK_LIST, params, scope, &columns(), FROM, Some(&self.list_counts))
                .await?;
        Ok(DocumentPage { count: page.count, results: render_rows(&page.client, &caller.base_url, &page.rows).await? })
    }

    #[tracing::instrument(skip_all)]
    pub async fn get_task(&self, caller: &Caller, id: i64) -> ApiResult<String> {
        let client = self.client().await?;
        self.check_task(&client, caller, id, TaskScope::View).await?;
        self.task_document(&client, caller, id).await
    }

    #[tracing::instrument(skip_all)]
    pub async fn create_task(&self, caller: &Caller, body: &str) -> ApiResult<String> {
        let request: TaskWriteRequest = cvat_models::parse(&parse_body(body)?)?;
        let TaskWriteRequest { name, project_id, owner_id, assignee_id, overlap, .. } = request;
        let bug_tracker = request.bug_tracker.unwrap_or_default();
        let segment_size = request.segment_size.unwrap_or(0);
        let subset = request.subset.unwrap_or_default();
        let replicas = request.consensus_replicas.unwrap_or(0);
        let labels = cvat_labels::parse_labels(request.labels.as_deref().unwrap_or_default())?;
        if project_id.is_none() && labels.is_empty() {
            return Err(ApiError::field("non_field_errors", "Label set or project_id must be present"));
        }
        if project_id.is_some() && !labels.is_empty() {
            return Err(ApiError::field("non_field_errors", "Project must have only one of Label set or project_id"));
        }
        let org = caller.context.org();
        let actor = self.context_actor(caller).await?;
        let owner = owner_id.unwrap_or(caller.id());
        let named_owner = self.named_user(caller, "owner_id", owner, org.is_some()).await?;
        let named_assignee = self.maybe_named_user(caller, "assignee_id", assignee_id, org.is_some()).await?;
        let mut client = self.client().await?;
        let source = storage_field(self, &client, caller, request.source_storage.as_ref(), "source_storage").await?;
        let target = storage_field(self, &client, caller, request.target_storage.as_ref(), "target_storage").await?;
        // The caller's role where the project is, asked before the transaction opens; the
        // transaction then checks it against the project row it locks.
        let project_actor = match project_id {
            Some(project) => Some(self.project_actor(&client, caller, project).await?),
            None => None,
        };
        let tx = client.transaction().await.db()?;
        let mut inherited = (None, None);
        match project_id {
            Some(project) => {
                let row = tx
                    .query_opt(
                        "SELECT owner_id, assignee_id, organization_id, source_storage, target_storage \
                         FROM projects WHERE id = $1 FOR SHARE",
                        &[&project],
                    )
                    .await
                    .db()?
                    .ok_or_else(|| ApiError::invalid("Project matching query does not exist."))?;
                let project_org: Option<i64> = column(&row, 2)?;
                let facts =
                    ProjectFacts { in_org: project_org.is_some(), owner: column(&row, 0)?, assignee: column(&row, 1)? };
                let project_actor = match project_actor {
                    Some((asked_for, project_actor)) if asked_for == project_org => project_actor,
                    _ => return Err(moved_meanwhile()),
                };
                allow(cvat_permissions::project(&project_actor, ProjectScope::View, &facts))?;
                allow(cvat_permissions::create_task_in_project(&project_actor, &facts))?;
                if project_org != org {
                    return Err(ApiError::invalid("The task and its project should be in the same organization."));
                }
                inherited = (column::<_, Option<Value>>(&row, 3)?, column::<_, Option<Value>>(&row, 4)?);
            }
            None => allow(cvat_permissions::create_or_list(&actor, CreateScope::Create, org.is_some()))?,
        }
        remember_all(&tx, &[Some(&named_owner), named_assignee.as_ref()]).await?;
        // A task in a project takes the project's storages unless it names its own.
        let source = store_storage(&tx, source.or(inherited.0)).await?;
        let target = store_storage(&tx, target.or(inherited.1)).await?;
        let row = tx
            .query_one(
                "INSERT INTO tasks (name, project_id, owner_id, assignee_id, assignee_updated_date, bug_tracker, \
                 overlap, segment_size, subset, consensus_replicas, organization_id, source_storage, target_storage) \
                 VALUES ($1, $2, $3, $4, CASE WHEN $4::int8 IS NULL THEN NULL ELSE now() END, $5, $6, $7, $8, $9, \
                 $10, $11, $12) RETURNING id",
                &[
                    &name,
                    &project_id,
                    &owner,
                    &assignee_id,
                    &bug_tracker,
                    &overlap,
                    &segment_size,
                    &subset,
                    &replicas,
                    &org,
                    &source,
                    &target,
                ],
            )
            .await
            .db()?;
        let id: i64 = column(&row, 0)?;
        if project_id.is_none() {
            labels::apply(&tx, LabelOwner::Task(id), &labels).await?;
        }
        let document = self.task_document(&tx, caller, id).await?;
        let place = Place { project: project_id, task: Some(id), job: None };
        let change = Change::new("create", "task", id).within(org, place);
        self.publish_change(&tx, caller, change.document(Some(&document))).await?;
        tx.commit().await.db()?;
        Ok(document)
    }

    /// PATCH: each key needs its own scope (CVAT's per-field rule); an unknown or
    /// write-once key (`segment_size`, `overlap`) is a 403.
    #[tracing::instrument(skip_all)]
    pub async fn update_task(&self, caller: &Caller, id: i64, body: &str) -> ApiResult<String> {
        let body = parse_body(body)?;
        let mut client = self.client().await?;
        let (access, actor) = self.check_task(&client, caller, id, TaskScope::View).await?;
        // Every key needs its own right; checked now and again on the locked row.
        let may_change = |facts: &TaskFacts| -> ApiResult<()> {
            for key in body.keys() {
                let scope = match key.as_str() {
                    "name" | "labels" | "bug_tracker" | "subset" => TaskScope::Update,
                    "owner_id" | "assignee_id" | "project_id" | "organization_id" => TaskScope::Manage,
                    "source_storage" | "target_storage" => TaskScope::UpdateAssociatedStorage,
                    _ => return Err(unknown_field()),
                };
                allow(cvat_permissions::task(&actor, scope, facts))?;
            }
            Ok(())
        };
        may_change(&access.facts)?;
        let request: PatchedTaskWriteRequest = cvat_models::parse(&body)?;
        let PatchedTaskWriteRequest {
            name,
            owner_id,
            assignee_id,
            project_id,
            organization_id,
            bug_tracker,
            subset,
            ..
        } = request;
        let labels = request.labels.as_deref().map(cvat_labels::parse_labels).transpose()?;
        let source = storage_field(self, &client, caller, request.source_storage.as_ref(), "source_storage").await?;
        let target = storage_field(self, &client, caller, request.target_storage.as_ref(), "target_storage").await?;

        // What the auth service knows is asked before the transaction opens.
        let in_org = access.org.is_some();
        let named_owner = self.maybe_named_user(caller, "owner_id", owner_id.flatten(), in_org).await?;
        let named_assignee = self.maybe_named_user(caller, "assignee_id", assignee_id.flatten(), in_org).await?;
        let mut org = access.org;
        if let Some(target_org) = organization_id {
            if access.project.is_some() && target_org != access.org {
                return Err(ApiError::invalid("Cannot change the organization of a task inside a project"));
            }
            self.check_can_move_to(caller, target_org).await?;
            org = target_org;
        }
        let moving = match project_id.filter(|p| Some(*p) != access.project) {
            Some(project) => Some((project, self.project_actor(&client, caller, project).await?)),
            None => None,
        };

        let tx = client.transaction().await.db()?;
        crate::access::lock_row(&tx, "tasks", id, crate::access::Lock::Update).await?;
        let locked = self.task_access(&tx, id).await?;
        crate::access::same_organization(access.org, locked.org)?;
        may_change(&locked.facts)?;
        let before = self.snapshot(&tx, "update:task", locked.org, locked.project, "tasks", id).await?;
        remember_all(&tx, &[named_owner.as_ref(), named_assignee.as_ref()]).await?;
        if let Some((project, asked)) = moving {
            self.move_to_project(&tx, id, access.project, project, org, asked).await?;
        }
        let source = store_storage(&tx, source).await?;
        let target = store_storage(&tx, target).await?;
        tx.execute(
            "UPDATE tasks SET name = coalesce($2, name), \
             owner_id = CASE WHEN $3 THEN $4 ELSE owner_id END, \
             assignee_updated_date = CASE WHEN $5 AND assignee_id IS DISTINCT FROM $6 THEN now() \
                 ELSE assignee_updated_date END, \
             assignee_id = CASE WHEN $5 THEN $6 ELSE assignee_id END, \
             bug_tracker = coalesce($7, bug_tracker), subset = coalesce($8, subset), organization_id = $9, \
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
                &subset,
                &org,
                &source,
                &target,
            ],
        )
        .await
        .db()?;
        if let Some(labels) = labels {
            // A task in a project uses the project's labels: its own `labels` are ignored.
            let owner = self.task_label_owner_unchecked(&tx, id).await?;
            if owner == LabelOwner::Task(id) {
                labels::apply(&tx, owner, &labels).await?;
            }
        }
        let document = self.task_document(&tx, caller, id).await?;
        let change = Change::new("update", "task", id).within(org, Place::of(&tx, "task", id).await?);
        self.publish_change(&tx, caller, change.document(Some(&document)).before(before)).await?;
        tx.commit().await.db()?;
        Ok(document)
    }

    /// Moves a task into `project`: every label it uses must exist there by name (with
    /// the same sublabels); the task's own labels are then dropped in favour of the
    /// project's.
    /// `asked` is the project's organization and the caller's role there, as asked
    /// before the transaction; a project that moved since is a conflict.
    async fn move_to_project(
        &self,
        client: &impl GenericClient,
        task: i64,
        from: Option<i64>,
        project: i64,
        org: Option<i64>,
        asked: (Option<i64>, Actor),
    ) -> ApiResult<()> {
        let (facts, project_org) = self
            .project_facts(client, project)
            .await
            .map_err(|_| ApiError::invalid("Project matching query does not exist."))?;
        let actor = match asked {
            (asked_for, actor) if asked_for == project_org => actor,
            _ => return Err(moved_meanwhile()),
        };
        allow(cvat_permissions::project(&actor, ProjectScope::View, &facts))?;
        if project_org != org {
            return Err(ApiError::invalid("The task and its project should be in the same organization."));
        }
        let current = match from {
            Some(old) => LabelOwner::Project(old),
            None => LabelOwner::Task(task),
        };
        let ours = labels::names(client, current).await?;
        let theirs = labels::names(client, LabelOwner::Project(project)).await?;
        let mut missing: Vec<&String> = ours
            .iter()
            .filter(|(name, sublabels)| theirs.get(*name).is_none_or(|s| s != *sublabels))
            .map(|(name, _)| name)
            .collect();
        if !missing.is_empty() {
            missing.sort();
            let names: Vec<&str> = missing.iter().map(|s| s.as_str()).collect();
            return Err(ApiError::invalid(format!(
                "Target project does not have labels with the same names (and sublabels): {}",
                names.join(", ")
            )));
        }
        client.execute("DELETE FROM labels WHERE task_id = $1", &[&task]).await.db()?;
        client.execute("UPDATE tasks SET project_id = $2 WHERE id = $1", &[&task, &project]).await.db()?;
        Ok(())
    }

    /// Answers the deleted task (whose blobs the caller has removed).
    #[tracing::instrument(skip_all)]
    pub async fn delete_task(&self, caller: &Caller, id: i64) -> ApiResult<Vec<i64>> {
        let mut client = self.client().await?;
        let (access, _) = self.check_task(&client, caller, id, TaskScope::Manage).await?;
        let tx = client.transaction().await.db()?;
        let place = Place::of(&tx, "task", id).await?;
        let gone =
            self.watched(&tx, "delete:task", access.org, place.project, self.task_document(&tx, caller, id)).await?;
        // Segments, jobs and labels go with it (foreign keys cascade).
        tx.execute("DELETE FROM tasks WHERE id = $1", &[&id]).await.db()?;
        let change = Change::new("delete", "task", id).within(access.org, place);
        self.publish_change(&tx, caller, change.document(gone.as_deref())).await?;
        tx.commit().await.db()?;
        Ok(vec![id])
    }

    /// Splits a processed task into segments with one annotation job each, inside the
    /// caller's transaction (the one that records the task's frames). Idempotent: a task
    /// that already has segments keeps them.
    pub(crate) async fn write_segments(
        &self,
        tx: &impl GenericClient,
        task: i64,
        size: i64,
        mode: &str,
        frames_per_job: &[i64],
    ) -> ApiResult<()> {
        if size <= 0 || !matches!(mode, "annotation" | "interpolation") {
            return Err(ApiError::invalid("A task needs at least one frame and a mode (annotation or interpolation)"));
        }
        let row = tx
            .query_opt("SELECT segment_size, overlap FROM tasks WHERE id = $1 FOR UPDATE", &[&task])
            .await
            .db()?
            .ok_or_else(ApiError::not_found)?;
        let existing: i64 =
            column(&tx.query_one("SELECT count(*) FROM segments WHERE task_id = $1", &[&task]).await.db()?, 0)?;
        if existing > 0 {
            return Ok(());
        }
        let (segment_size, overlap): (i32, Option<i32>) = (column(&row, 0)?, column(&row, 1)?);
        let video = mode == "interpolation";
        let counts: Vec<u64> = frames_per_job.iter().map(|n| (*n).max(0) as u64).collect();
        let ranges = cvat_segments::task_segments(
            size as u64,
            segment_size.max(0) as u64,
            overlap.map(|o| o.max(0) as u64),
            &counts,
            video,
        );
        let (effective_size, effective_overlap) = if frames_per_job.is_empty() {
            let effective = if segment_size <= 0 || segment_size as i64 > size { size } else { segment_size as i64 };
            (effective, overlap.map(i64::from).unwrap_or(if video { 5 } else { 0 }).min(effective / 2))
        } else {
            (0, 0)
        };
        let starts: Vec<i32> = ranges.iter().map(|r| *r.start() as i32).collect();
        let stops: Vec<i32> = ranges.iter().map(|r| *r.end() as i32).collect();
        // One statement for every segment and its job, in frame order.
        tx.execute(
            "WITH s AS (INSERT INTO segments (task_id, start_frame, stop_frame) \
             SELECT $1, a, b FROM unnest($2::int4[], $3::int4[]) WITH ORDINALITY AS x(a, b, n) ORDER BY n \
             RETURNING id, start_frame) \
             INSERT INTO jobs (segment_id, task_id) SELECT id, $1 FROM s ORDER BY start_frame, id",
            &[&task, &starts, &stops],
        )
        .await
        .db()?;
        tx.execute(
            "UPDATE tasks SET size = $2, mode = $3, segment_size = $4, overlap = $5, status = 'annotation', \
             updated_date = now() WHERE id = $1",
            &[&task, &(size as i32), &mode, &(effective_size as i32), &(effective_overlap as i32)],
        )
        .await
        .db()?;
        Ok(())
    }
}

/// A project whose organization changed between the permission question and the write.
fn moved_meanwhile() -> ApiError {
    ApiError::detail(cvat_error::ErrorKind::Conflict, "The project changed its organization meanwhile; try again.")
}
