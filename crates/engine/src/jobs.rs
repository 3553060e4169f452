//! Jobs: `/api/jobs` with `JobRead`. Jobs are made with their segments when a task's
//! media is processed ([`Engine::create_segments`]).

use crate::access::{allow, list_scope, Visibility};
use crate::projects::unknown_field;
use crate::render::{self, user_columns};
use crate::webhooks::{Change, Place};
use crate::{parse_body, Caller, DocumentPage, Engine};
use cvat_db::DbResultExt;
use cvat_db::GenericClient;
use cvat_db::{column, column_values};
use cvat_error::{ApiError, ApiResult};
use cvat_listing::{Field, FieldType, ListParams, ListSpec};
use cvat_models::{IssuesSummary, JobRead, LabelsSummary};
use cvat_permissions::{Actor, JobFacts, JobScope};
use tokio_postgres::Row;

const FIELDS: &[Field] = &[
    Field { name: "id", sql: "j.id", ty: FieldType::Int },
    Field { name: "task_id", sql: "j.task_id", ty: FieldType::Int },
    Field { name: "project_id", sql: "t.project_id", ty: FieldType::Int },
    Field { name: "task_name", sql: "t.name", ty: FieldType::Text },
    Field { name: "project_name", sql: "p.name", ty: FieldType::Text },
    Field { name: "assignee", sql: "a.username", ty: FieldType::Text },
    Field { name: "state", sql: "j.state", ty: FieldType::Text },
    Field { name: "stage", sql: "j.stage", ty: FieldType::Text },
    Field { name: "updated_date", sql: "j.updated_date", ty: FieldType::Timestamp },
    Field { name: "dimension", sql: "t.dimension", ty: FieldType::Text },
    Field { name: "type", sql: "j.type", ty: FieldType::Text },
    Field { name: "parent_job_id", sql: "j.parent_job_id", ty: FieldType::Int },
];

/// Filterable and sortable names: the search fields first, then the other equality
/// filters, then `id` and `updated_date` (filter and sort only).
const FILTER: &[&str] = &[
    "task_name",
    "project_name",
    "assignee",
    "state",
    "stage",
    "task_id",
    "project_id",
    "dimension",
    "type",
    "parent_job_id",
    "id",
    "updated_date",
];

pub const JOB_LIST: ListSpec = ListSpec {
    fields: FIELDS,
    search: FILTER.split_at(5).0,
    filter: FILTER,
    equals: FILTER.split_at(10).0,
    sort: FILTER,
    default_sort: "-id",
    search_sql: None,
};

/// Every job has its segment (`segment_id` is a non-null foreign key), so the join is a
/// LEFT JOIN only to let PostgreSQL leave it out of counts, which read no segment column
/// (a third of the time of counting a million jobs).
const FROM: &str = "jobs j LEFT JOIN segments s ON s.id = j.segment_id JOIN tasks t ON t.id = j.task_id \
     LEFT JOIN projects p ON p.id = t.project_id LEFT JOIN users a ON a.id = j.assignee_id \
     LEFT JOIN task_data d ON d.task_id = j.task_id";

/// A job is visible to its assignee and to the owner and assignee of its task and of the
/// task's project. Two equivalent ways to say so, for two kinds of users: the OR over the
/// joined rows suits a user related to many tasks (a page of their jobs is found by
/// walking all jobs newest first), index walks per relation suit one related to few (a
/// worker: the OR has no index path, and a page scanned an organization's jobs).
const VISIBILITY_SCAN: Visibility = Visibility {
    org_column: "t.organization_id",
    relations: "j.assignee_id = {user} OR t.owner_id = {user} OR t.assignee_id = {user} \
     OR p.owner_id = {user} OR p.assignee_id = {user}",
    staff: cvat_permissions::Role::Maintainer,
};

/// The ids as an array computed first, then looked up by primary key: as `IN (…)` the
/// planner merged them with a walk over every job (it expects a few hundred ids).
const VISIBILITY_WALK: Visibility = Visibility {
    relations: "j.id = ANY(ARRAY(SELECT id FROM jobs WHERE assignee_id = {user} \
     UNION ALL SELECT jt.id FROM tasks tt JOIN jobs jt ON jt.task_id = tt.id \
     WHERE tt.owner_id = {user} OR tt.assignee_id = {user} \
     UNION ALL SELECT jp.id FROM projects pp JOIN tasks tp ON tp.project_id = pp.id \
     JOIN jobs jp ON jp.task_id = tp.id WHERE pp.owner_id = {user} OR pp.assignee_id = {user}))",
    ..VISIBILITY_SCAN
};

/// Up to this many tasks related to a user (through the task or its project), their jobs
/// are found by index walks.
const WALKED_TASKS: i64 = 1000;

/// Which form of the job visibility rule suits each user, kept a minute: deciding costs
/// more than a page of jobs (planning a query), and a stale choice is only slower, never
/// wrong (both forms select the same jobs).
pub(crate) struct VisibilityChoices(cvat_cache::BoundedCache<i64, bool>);

impl Default for VisibilityChoices {
    fn default() -> Self {
        Self(cvat_cache::BoundedCache::new(100_000, std::time::Duration::from_secs(60)).named("job_visibility"))
    }
}

impl VisibilityChoices {
    /// The form of the rule that is fast for `user`.
    async fn for_user(&self, client: &impl GenericClient, user: i64) -> ApiResult<&'static Visibility> {
        let walk = match self.0.get(&user) {
            Some(walk) => walk,
            None => {
                let walk = few_related_tasks(client, user).await?;
                self.0.insert(user, walk, 1);
                walk
            }
        };
        Ok(if walk { &VISIBILITY_WALK } else { &VISIBILITY_SCAN })
    }
}

/// Whether `user` is related to few tasks (through the task or its project). The id is
/// written into the SQL (ours, an integer): a prepared statement's generic plan would
/// estimate an average user's share of tasks and scan them all.
async fn few_related_tasks(client: &impl GenericClient, user: i64) -> ApiResult<bool> {
    // Stops at the threshold; a task related twice counts twice, which only moves it.
    let sql = format!(
        "SELECT count(*) FROM (SELECT 1 FROM tasks WHERE owner_id = {user} OR assignee_id = {user} \
         UNION ALL SELECT 1 FROM projects p JOIN tasks t ON t.project_id = p.id \
         WHERE p.owner_id = {user} OR p.assignee_id = {user} LIMIT {}) related",
        WALKED_TASKS + 1
    );
    let row = client.query_one(&sql, &[]).await.db()?;
    Ok(column::<_, i64>(&row, 0)? <= WALKED_TASKS)
}

fn columns() -> String {
    format!(
        "j.id, j.task_id, t.name AS task_name, t.project_id, p.name AS project_name, t.dimension, t.mode, \
         t.bug_tracker, j.status, j.stage, j.state, j.type, j.parent_job_id, s.start_frame, s.stop_frame, \
         j.created_date, j.updated_date, j.assignee_updated_date, t.organization_id, t.source_storage, \
         t.target_storage, d.chunk_size AS data_chunk_size, d.compressed_chunk_type, d.original_chunk_type, \
         (SELECT count(*) FROM issues i WHERE i.job_id = j.id) AS issue_count, \
         coalesce((SELECT g.id FROM guides g WHERE g.task_id = j.task_id), \
                  (SELECT g.id FROM guides g WHERE g.project_id = t.project_id)) AS guide_id, {}",
        user_columns("a", "assignee")
    )
}

fn render_row(base: &str, r: &Row) -> ApiResult<String> {
    let id: i64 = column(r, "id")?;
    let (start, stop): (i32, i32) = (column(r, "start_frame")?, column(r, "stop_frame")?);
    let mode: String = column(r, "mode")?;
    Ok(cvat_models::render(&JobRead {
        url: format!("{base}/api/jobs/{id}"),
        id,
        task_id: column(r, "task_id")?,
        task_name: column(r, "task_name")?,
        project_id: column(r, "project_id")?,
        project_name: column(r, "project_name")?,
        assignee: render::user(base, r, "assignee")?,
        guide_id: column(r, "guide_id")?,
        dimension: column(r, "dimension")?,
        mode,
        media_type: "image".into(),
        bug_tracker: column(r, "bug_tracker")?,
        status: column(r, "status")?,
        stage: column(r, "stage")?,
        state: column(r, "state")?,
        frame_count: stop - start + 1,
        start_frame: start,
        stop_frame: stop,
        data_chunk_size: column(r, "data_chunk_size")?,
        data_compressed_chunk_type: column(r, "compressed_chunk_type")?,
        data_original_chunk_type: column(r, "original_chunk_type")?,
        created_date: render::moment(r, "created_date")?,
        updated_date: render::moment(r, "updated_date")?,
        kind: column(r, "type")?,
        organization: column(r, "organization_id")?,
        target_storage: render::storage(r, "target_storage")?,
        source_storage: render::storage(r, "source_storage")?,
        assignee_updated_date: render::maybe_moment(r, "assignee_updated_date")?,
        parent_job_id: column(r, "parent_job_id")?,
        replicas_count: 0,
        issues: IssuesSummary { url: format!("{base}/api/issues?job_id={id}"), count: column(r, "issue_count")? },
        labels: LabelsSummary { url: format!("{base}/api/labels?job_id={id}") },
    }))
}

impl Engine {
    /// 404 when the job does not exist, 403 when `scope` is denied; answers the
    /// job's facts, its task, the task's organization and the caller as an actor on it.
    pub(crate) async fn check_job(
        &self,
        client: &impl GenericClient,
        caller: &Caller,
        id: i64,
        scope: JobScope,
    ) -> ApiResult<(JobFacts, i64, Option<i64>, Actor)> {
        let (facts, task_id, org) = self.job_access(client, id).await?;
        let actor = self.actor(caller, org).await?;
        allow(cvat_permissions::job(&actor, scope, &facts))?;
        Ok((facts, task_id, org, actor))
    }

    /// The facts permissions need about a job, its task and the task's organization;
    /// 404 when there is no such job.
    pub(crate) async fn job_access(
        &self,
        client: &impl GenericClient,
        id: i64,
    ) -> ApiResult<(JobFacts, i64, Option<i64>)> {
        let row = client
            .query_opt("SELECT task_id, assignee_id FROM jobs WHERE id = $1", &[&id])
            .await
            .db()?
            .ok_or_else(ApiError::not_found)?;
        let task_id: i64 = column(&row, 0)?;
        let task = self.task_access(client, task_id).await?;
        Ok((JobFacts { task: task.facts, assignee: column(&row, 1)? }, task_id, task.org))
    }

    /// Checks `scope` on the job; answers its task.
    pub(crate) async fn check_job_scope(
        &self,
        client: &impl GenericClient,
        caller: &Caller,
        id: i64,
        scope: JobScope,
    ) -> ApiResult<i64> {
        Ok(self.check_job(client, caller, id, scope).await?.1)
    }

    async fn job_document(&self, client: &impl GenericClient, caller: &Caller, id: i64) -> ApiResult<String> {
        let row = client
            .query_opt(&format!("SELECT {} FROM {FROM} WHERE j.id = $1", columns()), &[&id])
            .await
            .db()?
            .ok_or_else(ApiError::not_found)?;
        render_row(&caller.base_url, &row)
    }

    #[tracing::instrument(skip_all)]
    pub async fn list_jobs(&self, caller: &Caller, params: &ListParams) -> ApiResult<DocumentPage> {
        let actor = self.context_actor(caller).await?;
        let client = self.client().await?;
        let visibility = match caller.is_admin() {
            true => &VISIBILITY_SCAN,
            false => self.job_visibility.for_user(&client, caller.id()).await?,
        };
        let scope = list_scope(caller, &actor, visibility)?;
        let cvat_listing::Page { count, rows, .. } =
            cvat_listing::fetch_page(client, &JOB_LIST, params, scope, &columns(), FROM, Some(&self.list_counts))
                .await?;
        Ok(DocumentPage {
            count,
            results: rows.iter().map(|r| render_row(&caller.base_url, r)).collect::<ApiResult<_>>()?,
        })
    }

    #[tracing::instrument(skip_all)]
    pub async fn get_job(&self, caller: &Caller, id: i64) -> ApiResult<String> {
        let client = self.client().await?;
        self.check_job(&client, caller, id, JobScope::View).await?;
        self.job_document(&client, caller, id).await
    }

    /// PATCH `assignee`, `stage`, `state`. A stage change without a state resets the
    /// state to `new`; the job's and its task's statuses follow.
    #[tracing::instrument(skip_all)]
    pub async fn update_job(&self, caller: &Caller, id: i64, body: &str) -> ApiResult<String> {
        let body = parse_body(body)?;
        let mut client = self.client().await?;
        let (facts, task_id, org, actor) = self.check_job(&client, caller, id, JobScope::View).await?;
        // Every key needs its own right; checked now and again on the locked row.
        let may_change = |facts: &JobFacts| -> ApiResult<()> {
            for key in body.keys() {
                let scope = match key.as_str() {
                    "assignee" | "stage" => JobScope::Manage,
                    "state" => JobScope::Update,
                    _ => return Err(unknown_field()),
                };
                allow(cvat_permissions::job(&actor, scope, facts))?;
            }
            Ok(())
        };
        may_change(&facts)?;
        let request: cvat_models::PatchedJobWriteRequest = cvat_models::parse(&body)?;
        let assignee = request.assignee;
        let stage = request.stage.as_ref().map(cvat_models::wire_name);
        let state = request.state.as_ref().map(cvat_models::wire_name);

        let named = self.maybe_named_user(caller, "assignee", assignee.flatten(), facts.task.in_org).await?;
        let tx = client.transaction().await.db()?;
        crate::users::remember_all(&tx, &[named.as_ref()]).await?;
        let row = tx.query_one("SELECT stage, state FROM jobs WHERE id = $1 FOR UPDATE", &[&id]).await.db()?;
        let (locked, _, locked_org) = self.job_access(&tx, id).await?;
        crate::access::same_organization(org, locked_org)?;
        may_change(&locked)?;
        let place = Place::of(&tx, "job", id).await?;
        let before = self.snapshot(&tx, "update:job", org, place.project, "jobs", id).await?;
        let (old_stage, old_state): (String, String) = (column(&row, 0)?, column(&row, 1)?);
        let new_stage = stage.clone().unwrap_or(old_stage.clone());
        let new_state = match (&stage, state) {
            (_, Some(state)) => state,
            (Some(stage), None) if *stage != old_stage => "new".to_string(),
            _ => old_state,
        };
        let status = cvat_segments::job_status(&new_stage, &new_state);
        tx.execute(
            "UPDATE jobs SET stage = $2, state = $3, status = $4, \
             assignee_updated_date = CASE WHEN $5 AND assignee_id IS DISTINCT FROM $6 THEN now() \
                 ELSE assignee_updated_date END, \
             assignee_id = CASE WHEN $5 THEN $6 ELSE assignee_id END, updated_date = now() WHERE id = $1",
            &[&id, &new_stage, &new_state, &status, &assignee.is_some(), &assignee.flatten()],
        )
        .await
        .db()?;
        let statuses: Vec<String> = column_values(
            &tx.query("SELECT status FROM jobs WHERE task_id = $1 AND type = 'annotation'", &[&task_id]).await.db()?,
            0,
        )?;
        let task_status = cvat_segments::task_status(statuses.iter().map(String::as_str));
        tx.execute("UPDATE tasks SET status = $2, updated_date = now() WHERE id = $1", &[&task_id, &task_status])
            .await
            .db()?;
        let document = self.job_document(&tx, caller, id).await?;
        let change = Change::new("update", "job", id).within(org, place);
        self.publish_change(&tx, caller, change.document(Some(&document)).before(before)).await?;
        tx.commit().await.db()?;
        Ok(document)
    }

    /// Only ground-truth jobs can be deleted; annotation jobs belong to their segments.
    #[tracing::instrument(skip_all)]
    pub async fn delete_job(&self, caller: &Caller, id: i64) -> ApiResult<()> {
        let mut client = self.client().await?;
        let (_, _, org, _) = self.check_job(&client, caller, id, JobScope::CreateOrDelete).await?;
        let kind: String = column(&client.query_one("SELECT type FROM jobs WHERE id = $1", &[&id]).await.db()?, 0)?;
        if kind != "ground_truth" {
            return Err(ApiError::invalid("Only ground truth jobs can be removed"));
        }
        let tx = client.transaction().await.db()?;
        let place = Place::of(&tx, "job", id).await?;
        let gone = self.watched(&tx, "delete:job", org, place.project, self.job_document(&tx, caller, id)).await?;
        tx.execute("DELETE FROM segments WHERE id = (SELECT segment_id FROM jobs WHERE id = $1)", &[&id]).await.db()?;
        let change = Change::new("delete", "job", id).within(org, place);
        self.publish_change(&tx, caller, change.document(gone.as_deref())).await?;
        tx.commit().await.db()
    }
}
