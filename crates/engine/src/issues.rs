//! Issues and comments: `/api/issues` (`IssueRead`) and `/api/comments` (`CommentRead`),
//! with CVAT's rules (reference §2.5): issue staff are the job's staff and the issue's
//! owner and assignee; a comment's owner joins them for the comment. Raising an issue
//! writes its first comment (`message`) in the same transaction. Resolving or reopening
//! is a PATCH of `resolved`.
//!
//! Beyond CVAT: `position` is a list of at least two points (x, y pairs) and `frame` a
//! frame of the job, so an issue always points at something a client can show.

use crate::access::{allow, list_scope, lock_row, recheck, Lock, Visibility};
use crate::projects::unknown_field;
use crate::render::{self, user_columns};
use crate::webhooks::{Change, Place};
use crate::{parse_body, Caller, DocumentPage, Engine};
use cvat_db::{column, DbResultExt, GenericClient};
use cvat_error::{ApiError, ApiResult};
use cvat_listing::{Field, FieldType, ListParams, ListSpec};
use cvat_models::{
    CommentRead, CommentWriteRequest, CommentsSummary, IssueRead, IssueWriteRequest, PatchedCommentWriteRequest,
    PatchedIssueWriteRequest,
};
use cvat_permissions::{Actor, CommentFacts, CommentScope, IssueFacts, IssueScope, Role};
use tokio_postgres::Row;

const ISSUE_FIELDS: &[Field] = &[
    Field { name: "id", sql: "i.id", ty: FieldType::Int },
    Field { name: "job_id", sql: "i.job_id", ty: FieldType::Int },
    Field { name: "task_id", sql: "j.task_id", ty: FieldType::Int },
    Field { name: "frame_id", sql: "i.frame", ty: FieldType::Int },
    Field { name: "resolved", sql: "i.resolved", ty: FieldType::Bool },
    Field { name: "owner", sql: "o.username", ty: FieldType::Text },
    Field { name: "assignee", sql: "a.username", ty: FieldType::Text },
];

/// The search fields first, then the other equality filters, then `id`.
const ISSUE_FILTER: &[&str] = &["owner", "assignee", "job_id", "task_id", "resolved", "frame_id", "id"];

pub const ISSUE_LIST: ListSpec = ListSpec {
    fields: ISSUE_FIELDS,
    search: ISSUE_FILTER.split_at(2).0,
    filter: ISSUE_FILTER,
    equals: ISSUE_FILTER.split_at(6).0,
    sort: ISSUE_FILTER,
    default_sort: "-id",
    search_sql: None,
};

const ISSUE_FROM: &str = "issues i JOIN jobs j ON j.id = i.job_id JOIN tasks t ON t.id = j.task_id \
     LEFT JOIN projects p ON p.id = t.project_id LEFT JOIN users o ON o.id = i.owner_id \
     LEFT JOIN users a ON a.id = i.assignee_id";

const ISSUE_RELATIONS: &str = "i.owner_id = {user} OR i.assignee_id = {user} OR j.assignee_id = {user} \
     OR t.owner_id = {user} OR t.assignee_id = {user} OR p.owner_id = {user} OR p.assignee_id = {user}";

const ISSUE_VISIBILITY: Visibility =
    Visibility { org_column: "t.organization_id", relations: ISSUE_RELATIONS, staff: Role::Maintainer };

const COMMENT_FIELDS: &[Field] = &[
    Field { name: "id", sql: "c.id", ty: FieldType::Int },
    Field { name: "issue_id", sql: "c.issue_id", ty: FieldType::Int },
    Field { name: "frame_id", sql: "i.frame", ty: FieldType::Int },
    Field { name: "job_id", sql: "i.job_id", ty: FieldType::Int },
    Field { name: "owner", sql: "co.username", ty: FieldType::Text },
];

const COMMENT_FILTER: &[&str] = &["owner", "issue_id", "frame_id", "job_id", "id"];

pub const COMMENT_LIST: ListSpec = ListSpec {
    fields: COMMENT_FIELDS,
    search: COMMENT_FILTER.split_at(1).0,
    filter: COMMENT_FILTER,
    equals: COMMENT_FILTER.split_at(4).0,
    sort: COMMENT_FILTER,
    default_sort: "-id",
    search_sql: None,
};

const COMMENT_FROM: &str = "comments c JOIN issues i ON i.id = c.issue_id JOIN jobs j ON j.id = i.job_id \
     JOIN tasks t ON t.id = j.task_id LEFT JOIN projects p ON p.id = t.project_id \
     LEFT JOIN users co ON co.id = c.owner_id";

const COMMENT_VISIBILITY: Visibility = Visibility {
    org_column: "t.organization_id",
    relations: "c.owner_id = {user} OR i.owner_id = {user} OR i.assignee_id = {user} OR j.assignee_id = {user} \
     OR t.owner_id = {user} OR t.assignee_id = {user} OR p.owner_id = {user} OR p.assignee_id = {user}",
    staff: Role::Maintainer,
};

fn issue_columns() -> String {
    format!(
        "i.id, i.frame, i.position, i.job_id, i.resolved, i.created_date, i.updated_date, \
         (SELECT count(*) FROM comments c WHERE c.issue_id = i.id) AS comment_count, {}, {}",
        user_columns("o", "owner"),
        user_columns("a", "assignee")
    )
}

fn comment_columns() -> String {
    format!("c.id, c.issue_id, c.message, c.created_date, c.updated_date, {}", user_columns("co", "owner"))
}

fn render_issue(base: &str, r: &Row) -> ApiResult<String> {
    let id: i64 = column(r, "id")?;
    Ok(cvat_models::render(&IssueRead {
        id,
        frame: column(r, "frame")?,
        position: column(r, "position")?,
        job: column(r, "job_id")?,
        owner: render::user(base, r, "owner")?,
        assignee: render::user(base, r, "assignee")?,
        created_date: Some(render::moment(r, "created_date")?),
        updated_date: Some(render::moment(r, "updated_date")?),
        resolved: column(r, "resolved")?,
        comments: CommentsSummary {
            count: column(r, "comment_count")?,
            url: format!("{base}/api/comments?issue_id={id}"),
        },
    }))
}

fn render_comment(base: &str, r: &Row) -> ApiResult<String> {
    Ok(cvat_models::render(&CommentRead {
        id: column(r, "id")?,
        issue: column(r, "issue_id")?,
        owner: render::user(base, r, "owner")?,
        message: column(r, "message")?,
        created_date: render::moment(r, "created_date")?,
        updated_date: render::moment(r, "updated_date")?,
    }))
}

/// At least one point, as x, y pairs.
/// What the schema cannot say of a position: x, y pairs, at least one.
fn check_position(position: Option<&Vec<f64>>) -> ApiResult<()> {
    match position.is_some_and(|p| p.len() < 2 || !p.len().is_multiple_of(2)) {
        true => Err(ApiError::field("position", "A position is at least one point: x, y pairs.")),
        false => Ok(()),
    }
}

impl Engine {
    /// An issue's facts and organization; 404 when there is none.
    async fn issue_access(&self, client: &impl GenericClient, id: i64) -> ApiResult<(IssueFacts, Option<i64>)> {
        let row = client
            .query_opt("SELECT job_id, owner_id, assignee_id FROM issues WHERE id = $1", &[&id])
            .await
            .db()?
            .ok_or_else(ApiError::not_found)?;
        let (job, _, org) = self.job_access(client, column(&row, 0)?).await?;
        Ok((IssueFacts { job, owner: column(&row, 1)?, assignee: column(&row, 2)? }, org))
    }

    /// 404 when there is no such issue, 403 when `scope` is denied; answers its facts,
    /// its organization and the caller as an actor there.
    async fn check_issue(
        &self,
        client: &impl GenericClient,
        caller: &Caller,
        id: i64,
        scope: IssueScope,
    ) -> ApiResult<(IssueFacts, Option<i64>, Actor)> {
        let (facts, org) = self.issue_access(client, id).await?;
        let actor = self.actor(caller, org).await?;
        allow(cvat_permissions::issue(&actor, scope, &facts))?;
        Ok((facts, org, actor))
    }

    /// A comment's facts and organization; 404 when there is none.
    async fn comment_access(&self, client: &impl GenericClient, id: i64) -> ApiResult<(CommentFacts, Option<i64>)> {
        let row = client
            .query_opt("SELECT issue_id, owner_id FROM comments WHERE id = $1", &[&id])
            .await
            .db()?
            .ok_or_else(ApiError::not_found)?;
        let (issue, org) = self.issue_access(client, column(&row, 0)?).await?;
        Ok((CommentFacts { issue, owner: column(&row, 1)? }, org))
    }

    /// 404 when there is no such comment, 403 when `scope` is denied; answers its
    /// organization and the caller as an actor there.
    async fn check_comment(
        &self,
        client: &impl GenericClient,
        caller: &Caller,
        id: i64,
        scope: CommentScope,
    ) -> ApiResult<(Option<i64>, Actor)> {
        let (facts, org) = self.comment_access(client, id).await?;
        let actor = self.actor(caller, org).await?;
        allow(cvat_permissions::comment(&actor, scope, &facts))?;
        Ok((org, actor))
    }

    /// In a comment write's transaction: locks the comment and checks `Change` again.
    async fn recheck_comment(
        &self,
        tx: &impl GenericClient,
        id: i64,
        org: Option<i64>,
        actor: &Actor,
    ) -> ApiResult<()> {
        lock_row(tx, "comments", id, Lock::Update).await?;
        let (locked, locked_org) = self.comment_access(tx, id).await?;
        recheck(org, locked_org, cvat_permissions::comment(actor, CommentScope::Change, &locked))
    }

    async fn issue_document(&self, client: &impl GenericClient, caller: &Caller, id: i64) -> ApiResult<String> {
        let sql = format!("SELECT {} FROM {ISSUE_FROM} WHERE i.id = $1", issue_columns());
        let row = client.query_opt(&sql, &[&id]).await.db()?.ok_or_else(ApiError::not_found)?;
        render_issue(&caller.base_url, &row)
    }

    async fn comment_document(&self, client: &impl GenericClient, caller: &Caller, id: i64) -> ApiResult<String> {
        let sql = format!("SELECT {} FROM {COMMENT_FROM} WHERE c.id = $1", comment_columns());
        let row = client.query_opt(&sql, &[&id]).await.db()?.ok_or_else(ApiError::not_found)?;
        render_comment(&caller.base_url, &row)
    }

    #[tracing::instrument(skip_all)]
    pub async fn list_issues(&self, caller: &Caller, params: &ListParams) -> ApiResult<DocumentPage> {
        let actor = self.context_actor(caller).await?;
        let scope = list_scope(caller, &actor, &ISSUE_VISIBILITY)?;
        let client = self.client().await?;
        let cvat_listing::Page { count, rows, .. } =
            cvat_listing::fetch_page(client, &ISSUE_LIST, params, scope, &issue_columns(), ISSUE_FROM, None).await?;
        let results = rows.iter().map(|r| render_issue(&caller.base_url, r)).collect::<ApiResult<_>>()?;
        Ok(DocumentPage { count, results })
    }

    #[tracing::instrument(skip_all)]
    pub async fn get_issue(&self, caller: &Caller, id: i64) -> ApiResult<String> {
        let client = self.client().await?;
        self.check_issue(&client, caller, id, IssueScope::View).await?;
        self.issue_document(&client, caller, id).await
    }

    /// POST `{job, frame, position, message, assignee?, resolved?}`.
    #[tracing::instrument(skip_all)]
    pub async fn create_issue(&self, caller: &Caller, body: &str) -> ApiResult<String> {
        let request: IssueWriteRequest = cvat_models::parse(&parse_body(body)?)?;
        check_position(Some(&request.position))?;
        let IssueWriteRequest { job, frame, position, message, assignee, .. } = request;
        let resolved = request.resolved.unwrap_or(false);
        let mut client = self.client().await?;
        let (facts, task, org) = match self.job_access(&client, job).await {
            Err(err) if err.status_code() == 404 => {
                return Err(ApiError::field("job", format!("Invalid pk \"{job}\" - object does not exist.")))
            }
            other => other?,
        };
        let actor = self.actor(caller, org).await?;
        allow(cvat_permissions::create_issue(&actor, &facts))?;
        let range = client
            .query_one(
                "SELECT s.start_frame, s.stop_frame FROM jobs j JOIN segments s ON s.id = j.segment_id WHERE j.id = $1",
                &[&job],
            )
            .await
            .db()?;
        let (start, stop): (i32, i32) = (column(&range, 0)?, column(&range, 1)?);
        if !(start..=stop).contains(&frame) {
            return Err(ApiError::field(
                "frame",
                format!("The frame {frame} is outside the job's frames [{start}, {stop}]."),
            ));
        }
        let named = self.maybe_named_user(caller, "assignee", assignee, facts.task.in_org).await?;
        let tx = client.transaction().await.db()?;
        // Checked again with the job locked for share: the issue joins the job as it is now.
        lock_row(&tx, "jobs", job, Lock::Share).await?;
        let (locked, _, locked_org) = self.job_access(&tx, job).await?;
        recheck(org, locked_org, cvat_permissions::create_issue(&actor, &locked))?;
        crate::users::remember_all(&tx, &[Some(&caller.user), named.as_ref()]).await?;
        let row = tx
            .query_one(
                "INSERT INTO issues (job_id, frame, position, owner_id, assignee_id, resolved) \
                 VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
                &[&job, &frame, &position, &caller.id(), &assignee, &resolved],
            )
            .await
            .db()?;
        let id: i64 = column(&row, 0)?;
        tx.execute(
            "INSERT INTO comments (issue_id, owner_id, message) VALUES ($1, $2, $3)",
            &[&id, &caller.id(), &message],
        )
        .await
        .db()?;
        tx.execute("UPDATE tasks SET updated_date = now() WHERE id = $1", &[&task]).await.db()?;
        let document = self.issue_document(&tx, caller, id).await?;
        let change = Change::new("create", "issue", id).within(org, Place::of(&tx, "issue", id).await?);
        self.publish_change(&tx, caller, change.document(Some(&document))).await?;
        tx.commit().await.db()?;
        Ok(document)
    }

    /// PATCH `position`, `assignee`, `resolved`.
    #[tracing::instrument(skip_all)]
    pub async fn update_issue(&self, caller: &Caller, id: i64, body: &str) -> ApiResult<String> {
        let body = parse_body(body)?;
        if body.keys().any(|k| !["position", "assignee", "resolved"].contains(&k.as_str())) {
            return Err(unknown_field());
        }
        let PatchedIssueWriteRequest { position, assignee, resolved } = cvat_models::parse(&body)?;
        check_position(position.as_ref())?;
        let mut client = self.client().await?;
        let (facts, org, actor) = self.check_issue(&client, caller, id, IssueScope::Update).await?;
        let named = self.maybe_named_user(caller, "assignee", assignee.flatten(), facts.job.task.in_org).await?;
        let tx = client.transaction().await.db()?;
        // Checked again on the locked row: its assignee may have changed meanwhile.
        lock_row(&tx, "issues", id, Lock::Update).await?;
        let (locked, locked_org) = self.issue_access(&tx, id).await?;
        recheck(org, locked_org, cvat_permissions::issue(&actor, IssueScope::Update, &locked))?;
        let place = Place::of(&tx, "issue", id).await?;
        let before = self.snapshot(&tx, "update:issue", org, place.project, "issues", id).await?;
        crate::users::remember_all(&tx, &[named.as_ref()]).await?;
        tx.execute(
            "UPDATE issues SET position = COALESCE($2, position), resolved = COALESCE($3, resolved), \
             assignee_id = CASE WHEN $4 THEN $5 ELSE assignee_id END, updated_date = now() WHERE id = $1",
            &[&id, &position, &resolved, &assignee.is_some(), &assignee.flatten()],
        )
        .await
        .db()?;
        let document = self.issue_document(&tx, caller, id).await?;
        let change = Change::new("update", "issue", id).within(org, place);
        self.publish_change(&tx, caller, change.document(Some(&document)).before(before)).await?;
        tx.commit().await.db()?;
        Ok(document)
    }

    #[tracing::instrument(skip_all)]
    pub async fn delete_issue(&self, caller: &Caller, id: i64) -> ApiResult<()> {
        let mut client = self.client().await?;
        let (_, org, actor) = self.check_issue(&client, caller, id, IssueScope::Delete).await?;
        let tx = client.transaction().await.db()?;
        lock_row(&tx, "issues", id, Lock::Update).await?;
        let (locked, locked_org) = self.issue_access(&tx, id).await?;
        recheck(org, locked_org, cvat_permissions::issue(&actor, IssueScope::Delete, &locked))?;
        let place = Place::of(&tx, "issue", id).await?;
        let gone = self.watched(&tx, "delete:issue", org, place.project, self.issue_document(&tx, caller, id)).await?;
        tx.execute("DELETE FROM issues WHERE id = $1", &[&id]).await.db()?;
        let change = Change::new("delete", "issue", id).within(org, place);
        self.publish_change(&tx, caller, change.document(gone.as_deref())).await?;
        tx.commit().await.db()
    }

    #[tracing::instrument(skip_all)]
    pub async fn list_comments(&self, caller: &Caller, params: &ListParams) -> ApiResult<DocumentPage> {
        let actor = self.context_actor(caller).await?;
        let scope = list_scope(caller, &actor, &COMMENT_VISIBILITY)?;
        let client = self.client().await?;
        let cvat_listing::Page { count, rows, .. } =
            cvat_listing::fetch_page(client, &COMMENT_LIST, params, scope, &comment_columns(), COMMENT_FROM, None)
                .await?;
        let results = rows.iter().map(|r| render_comment(&caller.base_url, r)).collect::<ApiResult<_>>()?;
        Ok(DocumentPage { count, results })
    }

    #[tracing::instrument(skip_all)]
    pub async fn get_comment(&self, caller: &Caller, id: i64) -> ApiResult<String> {
        let client = self.client().await?;
        self.check_comment(&client, caller, id, CommentScope::View).await?;
        self.comment_document(&client, caller, id).await
    }

    /// POST `{issue, message}`.
    #[tracing::instrument(skip_all)]
    pub async fn create_comment(&self, caller: &Caller, body: &str) -> ApiResult<String> {
        let CommentWriteRequest { issue, message } = cvat_models::parse(&parse_body(body)?)?;
        let message = message.unwrap_or_default();
        let mut client = self.client().await?;
        let missing = || ApiError::field("issue", format!("Invalid pk \"{issue}\" - object does not exist."));
        let (_, org, actor) = match self.check_issue(&client, caller, issue, IssueScope::Comment).await {
            Err(err) if err.status_code() == 404 => return Err(missing()),
            other => other?,
        };
        let tx = client.transaction().await.db()?;
        // The issue is locked for share: it stays while the comment joins it.
        lock_row(&tx, "issues", issue, Lock::Share).await?;
        let (locked, locked_org) = self.issue_access(&tx, issue).await?;
        recheck(org, locked_org, cvat_permissions::issue(&actor, IssueScope::Comment, &locked))?;
        crate::users::remember_all(&tx, &[Some(&caller.user)]).await?;
        let row = tx
            .query_one(
                "INSERT INTO comments (issue_id, owner_id, message) VALUES ($1, $2, $3) RETURNING id",
                &[&issue, &caller.id(), &message],
            )
            .await
            .db()?;
        let id: i64 = column(&row, 0)?;
        let document = self.comment_document(&tx, caller, id).await?;
        let change = Change::new("create", "comment", id).within(org, Place::of(&tx, "comment", id).await?);
        self.publish_change(&tx, caller, change.document(Some(&document))).await?;
        tx.commit().await.db()?;
        Ok(document)
    }

    /// PATCH `message`.
    #[tracing::instrument(skip_all)]
    pub async fn update_comment(&self, caller: &Caller, id: i64, body: &str) -> ApiResult<String> {
        let body = parse_body(body)?;
        if body.keys().any(|k| k != "message") {
            return Err(unknown_field());
        }
        let PatchedCommentWriteRequest { message } = cvat_models::parse(&body)?;
        let mut client = self.client().await?;
        let (org, actor) = self.check_comment(&client, caller, id, CommentScope::Change).await?;
        let tx = client.transaction().await.db()?;
        self.recheck_comment(&tx, id, org, &actor).await?;
        let place = Place::of(&tx, "comment", id).await?;
        let before = self.snapshot(&tx, "update:comment", org, place.project, "comments", id).await?;
        tx.execute(
            "UPDATE comments SET message = COALESCE($2, message), updated_date = now() WHERE id = $1",
            &[&id, &message],
        )
        .await
        .db()?;
        let document = self.comment_document(&tx, caller, id).await?;
        let change = Change::new("update", "comment", id).within(org, place);
        self.publish_change(&tx, caller, change.document(Some(&document)).before(before)).await?;
        tx.commit().await.db()?;
        Ok(document)
    }

    #[tracing::instrument(skip_all)]
    pub async fn delete_comment(&self, caller: &Caller, id: i64) -> ApiResult<()> {
        let mut client = self.client().await?;
        let (org, actor) = self.check_comment(&client, caller, id, CommentScope::Change).await?;
        let tx = client.transaction().await.db()?;
        self.recheck_comment(&tx, id, org, &actor).await?;
        let place = Place::of(&tx, "comment", id).await?;
        let gone =
            self.watched(&tx, "delete:comment", org, place.project, self.comment_document(&tx, caller, id)).await?;
        tx.execute("DELETE FROM comments WHERE id = $1", &[&id]).await.db()?;
        let change = Change::new("delete", "comment", id).within(org, place);
        self.publish_change(&tx, caller, change.document(gone.as_deref())).await?;
        tx.commit().await.db()
    }
}
