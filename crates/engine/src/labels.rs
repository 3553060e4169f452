//! Labels of projects and standalone tasks: writing the `labels` list of a project/task
//! create or PATCH as CVAT does (create without `id`, update with `id`, delete with
//! `deleted: true`, leave unlisted labels alone), rendering `Label`, and `/api/labels`.

use crate::access::{list_scope, lock_row, recheck, Lock, Visibility};
use crate::{db_error, parse_body, Caller, DocumentPage, Engine};
use cvat_db::DbResultExt;
use cvat_db::GenericClient;
use cvat_db::{column, column_values};
use cvat_error::{ApiError, ApiResult, ErrorKind};
use cvat_labels::{AttributeSpec, LabelSpec};
use cvat_listing::{Field, FieldType, ListParams, ListSpec, SqlParam};
use cvat_models::{Attribute, Label, Sublabel};
use cvat_permissions::{Actor, ProjectScope, TaskScope};
use serde_json::{json, Value};
use std::collections::{HashMap, HashSet};
use tokio_postgres::Row;

/// Where a label belongs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LabelOwner {
    Project(i64),
    Task(i64),
}

impl LabelOwner {
    pub(crate) fn column(self) -> &'static str {
        match self {
            LabelOwner::Project(_) => "project_id",
            LabelOwner::Task(_) => "task_id",
        }
    }

    pub(crate) fn id(self) -> i64 {
        match self {
            LabelOwner::Project(id) | LabelOwner::Task(id) => id,
        }
    }
}

/// Colors given to labels created without one: the first not used by a sibling.
const PALETTE: &[&str] = &[
    "#33ddff", "#fa3253", "#34d1b7", "#ff007c", "#ff6037", "#ddff33", "#24b353", "#b83df5", "#66ff66", "#32b7fa",
    "#ffcc33", "#83e070", "#fafa37", "#5986b3", "#8c78f0", "#ff6a4d", "#f078f0", "#2a7dd1", "#b25050", "#cc3366",
    "#cc9933", "#aaf0d1", "#ff00cc", "#3df53d", "#fa32b7", "#3d3df5", "#733380", "#000000", "#ffffff", "#aaaaaa",
];

fn pick_color(used: &HashSet<String>) -> String {
    PALETTE.iter().find(|c| !used.contains(**c)).unwrap_or(&PALETTE[0]).to_string()
}

/// Unique-name violations are the client's mistake, said as CVAT says it.
fn write_error(err: tokio_postgres::Error) -> ApiError {
    if err.code() == Some(&tokio_postgres::error::SqlState::UNIQUE_VIOLATION) {
        ApiError::invalid("All label names must be unique")
    } else {
        db_error(err)
    }
}

async fn sibling_colors(
    client: &impl GenericClient,
    owner: LabelOwner,
    parent: Option<i64>,
) -> ApiResult<HashSet<String>> {
    let rows = client
        .query(
            &format!("SELECT color FROM labels WHERE {} = $1 AND parent_id IS NOT DISTINCT FROM $2", owner.column()),
            &[&owner.id(), &parent],
        )
        .await
        .db()?;
    Ok(column_values(&rows, 0)?.into_iter().collect())
}

async fn insert_attribute(client: &impl GenericClient, label_id: i64, a: &AttributeSpec) -> ApiResult<()> {
    client
        .execute(
            "INSERT INTO attributes (label_id, name, mutable, input_type, default_value, \"values\") \
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (label_id, name) DO UPDATE SET mutable = EXCLUDED.mutable, \
             input_type = EXCLUDED.input_type, default_value = EXCLUDED.default_value, \"values\" = EXCLUDED.\"values\"",
            &[&label_id, &a.name, &a.mutable, &a.input_type, &a.default_value, &a.values],
        )
        .await
        .map_err(write_error)?;
    Ok(())
}

fn insert_label<'a>(
    client: &'a impl GenericClient,
    owner: LabelOwner,
    parent: Option<i64>,
    spec: &'a LabelSpec,
) -> std::pin::Pin<Box<dyn std::future::Future<Output = ApiResult<i64>> + Send + 'a>> {
    Box::pin(async move {
        let color = if spec.color.is_empty() {
            pick_color(&sibling_colors(client, owner, parent).await?)
        } else {
            spec.color.clone()
        };
        let row = client
            .query_one(
                &format!(
                    "INSERT INTO labels ({}, parent_id, name, color, type, svg) VALUES ($1, $2, $3, $4, $5, '') RETURNING id",
                    owner.column()
                ),
                &[&owner.id(), &parent, &spec.name, &color, &spec.new_kind()],
            )
            .await
            .map_err(write_error)?;
        let id: i64 = column(&row, 0)?;
        for attribute in spec.attributes.iter().filter(|a| !a.deleted) {
            insert_attribute(client, id, attribute).await?;
        }
        let mut svg = spec.svg.clone();
        for sublabel in &spec.sublabels {
            let sub_id = insert_label(client, owner, Some(id), sublabel).await?;
            // The layout refers to sublabels by id once they have one.
            svg =
                svg.replace(&format!("data-label-name=\"{}\"", sublabel.name), &format!("data-label-id=\"{sub_id}\""));
        }
        if !svg.is_empty() {
            client.execute("UPDATE labels SET svg = $2 WHERE id = $1", &[&id, &svg]).await.db()?;
        }
        Ok(id)
    })
}

async fn update_label(client: &impl GenericClient, owner: LabelOwner, spec: &LabelSpec, id: i64) -> ApiResult<()> {
    let not_found = || ApiError::detail(ErrorKind::NotFound, format!("Not found label with id #{id} to change"));
    let row = client
        .query_opt(
            &format!("SELECT type FROM labels WHERE id = $1 AND {} = $2 AND parent_id IS NULL", owner.column()),
            &[&id, &owner.id()],
        )
        .await
        .db()?
        .ok_or_else(not_found)?;
    if spec.deleted {
        client.execute("DELETE FROM labels WHERE id = $1", &[&id]).await.db()?;
        return Ok(());
    }
    let old_kind: String = column(&row, 0)?;
    // A label does not turn into or out of a skeleton: its sublabels would dangle.
    let kind = match spec.kind.as_deref() {
        Some(new) if old_kind != "skeleton" && new != "skeleton" => new.to_string(),
        _ => old_kind,
    };
    // A label keeps its colour unless the update names one.
    client
        .execute(
            "UPDATE labels SET name = CASE WHEN $2 = '' THEN name ELSE $2 END, type = $3, \
             color = CASE WHEN $4 = '' THEN color ELSE $4 END, \
             svg = CASE WHEN $5 = '' THEN svg ELSE $5 END WHERE id = $1",
            &[&id, &spec.name, &kind, &spec.color, &spec.svg],
        )
        .await
        .map_err(write_error)?;
    for attribute in &spec.attributes {
        match attribute.id {
            Some(attribute_id) if attribute.deleted => {
                client
                    .execute("DELETE FROM attributes WHERE id = $1 AND label_id = $2", &[&attribute_id, &id])
                    .await
                    .db()?;
            }
            Some(attribute_id) => {
                let changed = client
                    .execute(
                        "UPDATE attributes SET name = $3, mutable = $4, input_type = $5, default_value = $6, \
                         \"values\" = $7 WHERE id = $1 AND label_id = $2",
                        &[
                            &attribute_id,
                            &id,
                            &attribute.name,
                            &attribute.mutable,
                            &attribute.input_type,
                            &attribute.default_value,
                            &attribute.values,
                        ],
                    )
                    .await
                    .map_err(write_error)?;
                if changed == 0 {
                    return Err(ApiError::detail(
                        ErrorKind::NotFound,
                        format!("Not found attribute with id #{attribute_id} to change"),
                    ));
                }
            }
            None if !attribute.deleted => insert_attribute(client, id, attribute).await?,
            None => {}
        }
    }
    Ok(())
}

/// Applies a `labels` list to `owner`, in order. Runs inside the caller's transaction.
pub(crate) async fn apply(client: &impl GenericClient, owner: LabelOwner, specs: &[LabelSpec]) -> ApiResult<()> {
    for spec in specs {
        match spec.id {
            Some(id) => update_label(client, owner, spec, id).await?,
            None => {
                insert_label(client, owner, None, spec).await?;
            }
        }
    }
    Ok(())
}

/// The top-level label names of an owner with their sublabel names, for moving a task
/// into a project.
pub(crate) async fn names(client: &impl GenericClient, owner: LabelOwner) -> ApiResult<HashMap<String, Vec<String>>> {
    let rows = client
        .query(
            &format!(
                "SELECT l.name, coalesce(array_agg(s.name ORDER BY s.name) FILTER (WHERE s.id IS NOT NULL), '{{}}') \
                 FROM labels l LEFT JOIN labels s ON s.parent_id = l.id WHERE l.{} = $1 AND l.parent_id IS NULL \
                 GROUP BY l.name",
                owner.column()
            ),
            &[&owner.id()],
        )
        .await
        .db()?;
    rows.iter().map(|r| Ok((column(r, 0)?, column(r, 1)?))).collect()
}

const LABEL_COLUMNS: &str = "l.id, l.name, l.color, l.type, l.svg, l.project_id, l.task_id, l.parent_id";

/// Renders labels (with their attributes and sublabels) in the order of `rows`.
async fn render(client: &impl GenericClient, rows: &[Row]) -> ApiResult<Vec<String>> {
    let ids: Vec<i64> = column_values(rows, "id")?;
    let sublabels = client
        .query(&format!("SELECT {LABEL_COLUMNS} FROM labels l WHERE l.parent_id = ANY($1) ORDER BY l.id"), &[&ids])
        .await
        .db()?;
    let mut all_ids = ids.clone();
    all_ids.extend(column_values::<_, i64>(&sublabels, "id")?);
    let attribute_rows = client
        .query(
            "SELECT id, label_id, name, mutable, input_type, default_value, \"values\" FROM attributes \
             WHERE label_id = ANY($1) ORDER BY id",
            &[&all_ids],
        )
        .await
        .db()?;
    let mut attributes: HashMap<i64, Vec<Attribute>> = HashMap::new();
    for a in &attribute_rows {
        attributes.entry(column(a, "label_id")?).or_default().push(Attribute {
            id: column(a, "id")?,
            name: column(a, "name")?,
            mutable: column(a, "mutable")?,
            input_type: column(a, "input_type")?,
            default_value: column(a, "default_value")?,
            values: column(a, "values")?,
        });
    }
    let mut children: HashMap<i64, Vec<Sublabel>> = HashMap::new();
    for s in &sublabels {
        let id: i64 = column(s, "id")?;
        children.entry(column(s, "parent_id")?).or_default().push(Sublabel {
            id,
            name: column(s, "name")?,
            color: column(s, "color")?,
            attributes: attributes.remove(&id).unwrap_or_default(),
            kind: column(s, "type")?,
            has_parent: true,
        });
    }
    rows.iter()
        .map(|r| {
            let id: i64 = column(r, "id")?;
            let parent: Option<i64> = column(r, "parent_id")?;
            Ok(cvat_models::render(&Label {
                id,
                name: column(r, "name")?,
                color: column(r, "color")?,
                attributes: attributes.remove(&id).unwrap_or_default(),
                kind: column(r, "type")?,
                svg: column(r, "svg")?,
                sublabels: children.remove(&id).unwrap_or_default(),
                project_id: column(r, "project_id")?,
                task_id: column(r, "task_id")?,
                parent_id: parent,
                has_parent: parent.is_some(),
            }))
        })
        .collect()
}

const FIELDS: &[Field] = &[
    Field { name: "id", sql: "l.id", ty: FieldType::Int },
    Field { name: "name", sql: "l.name", ty: FieldType::Text },
    Field { name: "parent", sql: "pl.name", ty: FieldType::Text },
    Field { name: "type", sql: "l.type", ty: FieldType::Text },
    Field { name: "color", sql: "l.color", ty: FieldType::Text },
    Field { name: "parent_id", sql: "l.parent_id", ty: FieldType::Int },
];

pub const LABEL_LIST: ListSpec = ListSpec {
    fields: FIELDS,
    search: &["name", "parent"],
    filter: &["name", "parent", "id", "type", "color", "parent_id"],
    equals: &["name", "parent", "type", "color", "parent_id"],
    sort: &["name", "parent", "id", "type", "color", "parent_id"],
    default_sort: "id",
    search_sql: None,
};

const FROM: &str = "labels l LEFT JOIN labels pl ON pl.id = l.parent_id \
     LEFT JOIN tasks t ON t.id = l.task_id LEFT JOIN projects p ON p.id = coalesce(l.project_id, t.project_id)";

/// Labels of objects the user can see: through the task or project they belong to.
const VISIBILITY: Visibility = Visibility {
    org_column: "coalesce(t.organization_id, p.organization_id)",
    relations: "t.owner_id = {user} OR t.assignee_id = {user} OR p.owner_id = {user} OR p.assignee_id = {user} \
     OR EXISTS (SELECT 1 FROM jobs j WHERE j.task_id = t.id AND j.assignee_id = {user}) \
     OR EXISTS (SELECT 1 FROM tasks pt JOIN jobs j ON j.task_id = pt.id WHERE pt.project_id = l.project_id \
     AND j.assignee_id = {user})",
    staff: cvat_permissions::Role::Maintainer,
};

/// The parent of a label list: `job_id`, `task_id` or `project_id`.
pub(crate) fn parent_param(params: &ListParams) -> ApiResult<Option<(&'static str, i64)>> {
    let given: Vec<(&'static str, &String)> = ["job_id", "task_id", "project_id"]
        .into_iter()
        .filter_map(|name| params.equals.get(name).map(|v| (name, v)))
        .collect();
    match given.as_slice() {
        [] => Ok(None),
        [(name, value)] => {
            value.parse().map(|id| Some((*name, id))).map_err(|_| ApiError::field(name, "Enter a number."))
        }
        _ => Err(ApiError::invalid("job_id, task_id and project_id parameters cannot be used together")),
    }
}

impl Engine {
    #[tracing::instrument(skip_all)]
    pub async fn list_labels(&self, caller: &Caller, params: &ListParams) -> ApiResult<DocumentPage> {
        let client = self.client().await?;
        let mut scope = match parent_param(params)? {
            Some((kind, id)) => {
                let owner = match kind {
                    "project_id" => {
                        self.check_project(&client, caller, id, ProjectScope::View).await?;
                        LabelOwner::Project(id)
                    }
                    "task_id" => self.task_label_owner(&client, caller, id).await?,
                    _ => {
                        let task_id =
                            self.check_job_scope(&client, caller, id, cvat_permissions::JobScope::View).await?;
                        self.task_label_owner_unchecked(&client, task_id).await?
                    }
                };
                let mut scope = cvat_listing::SqlWhere::default();
                scope.push(&format!("l.{} = {{}}", owner.column()), SqlParam::Int(owner.id()));
                scope
            }
            None => {
                let actor = self.context_actor(caller).await?;
                list_scope(caller, &actor, &VISIBILITY)?
            }
        };
        if !params.equals.contains_key("parent_id") && !params.equals.contains_key("parent") {
            scope.push_raw("l.parent_id IS NULL");
        }
        let page = cvat_listing::fetch_page(client, &LABEL_LIST, params, scope, LABEL_COLUMNS, FROM, None).await?;
        Ok(DocumentPage { count: page.count, results: render(&page.client, &page.rows).await? })
    }

    /// Checks the caller may view a task and answers whose labels it uses.
    async fn task_label_owner(
        &self,
        client: &impl GenericClient,
        caller: &Caller,
        task_id: i64,
    ) -> ApiResult<LabelOwner> {
        self.check_task(client, caller, task_id, TaskScope::View).await?;
        self.task_label_owner_unchecked(client, task_id).await
    }

    /// A task in a project uses the project's labels.
    pub(crate) async fn task_label_owner_unchecked(
        &self,
        client: &impl GenericClient,
        task_id: i64,
    ) -> ApiResult<LabelOwner> {
        let row = client
            .query_opt("SELECT project_id FROM tasks WHERE id = $1", &[&task_id])
            .await
            .db()?
            .ok_or_else(ApiError::not_found)?;
        Ok(match column::<_, Option<i64>>(&row, 0)? {
            Some(project) => LabelOwner::Project(project),
            None => LabelOwner::Task(task_id),
        })
    }

    /// A label with the permission check of its parent for `update` (else view); answers
    /// the parent's organization and the caller as an actor there.
    async fn label_for(
        &self,
        client: &impl GenericClient,
        caller: &Caller,
        id: i64,
        update: bool,
    ) -> ApiResult<(Row, Option<i64>, Actor)> {
        let row = client
            .query_opt(&format!("SELECT {LABEL_COLUMNS} FROM labels l WHERE l.id = $1"), &[&id])
            .await
            .db()?
            .ok_or_else(ApiError::not_found)?;
        let (org, actor) = match owner_of(&row)? {
            LabelOwner::Project(project) => {
                let scope = if update { ProjectScope::Update } else { ProjectScope::View };
                let (_, org, actor) = self.check_project(client, caller, project, scope).await?;
                (org, actor)
            }
            LabelOwner::Task(task) => {
                let scope = if update { TaskScope::Update } else { TaskScope::View };
                let (access, actor) = self.check_task(client, caller, task, scope).await?;
                (access.org, actor)
            }
        };
        Ok((row, org, actor))
    }

    /// In a label write's transaction: locks the label's parent (the write touches it
    /// anyway) and checks the caller's right to update it again.
    async fn recheck_owner(
        &self,
        tx: &impl GenericClient,
        owner: LabelOwner,
        org: Option<i64>,
        actor: &Actor,
    ) -> ApiResult<()> {
        match owner {
            LabelOwner::Project(project) => {
                lock_row(tx, "projects", project, Lock::Update).await?;
                let (facts, locked_org) = self.project_facts(tx, project).await?;
                recheck(org, locked_org, cvat_permissions::project(actor, ProjectScope::Update, &facts))
            }
            LabelOwner::Task(task) => {
                lock_row(tx, "tasks", task, Lock::Update).await?;
                let access = self.task_access(tx, task).await?;
                recheck(org, access.org, cvat_permissions::task(actor, TaskScope::Update, &access.facts))
            }
        }
    }

    #[tracing::instrument(skip_all)]
    pub async fn get_label(&self, caller: &Caller, id: i64) -> ApiResult<String> {
        let client = self.client().await?;
        self.label_document(&client, caller, id).await
    }

    async fn label_document(&self, client: &impl GenericClient, caller: &Caller, id: i64) -> ApiResult<String> {
        let (row, ..) = self.label_for(client, caller, id, false).await?;
        Ok(render(client, &[row]).await?.remove(0))
    }

    /// `PATCH /api/labels/{id}`: the body applied as one item of the parent's `labels`.
    #[tracing::instrument(skip_all)]
    pub async fn update_label(&self, caller: &Caller, id: i64, body: &str) -> ApiResult<String> {
        let mut body = parse_body(body)?;
        // `"deleted": false` says nothing; deleting is DELETE's job.
        match body.remove("deleted") {
            None | Some(Value::Bool(false)) => {}
            Some(_) => return Err(ApiError::invalid("Label deletion is done with DELETE /api/labels/{id}")),
        }
        body.insert("id".into(), json!(id));
        let specs = [cvat_labels::parse_label(&cvat_models::parse(&body)?)?];
        let mut client = self.client().await?;
        let (row, org, actor) = self.label_for(&client, caller, id, true).await?;
        if column::<_, Option<i64>>(&row, "parent_id")?.is_some() {
            return Err(ApiError::invalid("Sublabels cannot be changed this way; change the skeleton"));
        }
        let owner = owner_of(&row)?;
        let tx = client.transaction().await.db()?;
        self.recheck_owner(&tx, owner, org, &actor).await?;
        apply(&tx, owner, &specs).await?;
        touch(&tx, owner).await?;
        tx.commit().await.db()?;
        self.label_document(&client, caller, id).await
    }

    #[tracing::instrument(skip_all)]
    pub async fn delete_label(&self, caller: &Caller, id: i64) -> ApiResult<()> {
        let mut client = self.client().await?;
        let (row, org, actor) = self.label_for(&client, caller, id, true).await?;
        if column::<_, Option<i64>>(&row, "parent_id")?.is_some() {
            return Err(ApiError::invalid("Sublabels cannot be deleted this way; change the skeleton"));
        }
        let owner = owner_of(&row)?;
        let tx = client.transaction().await.db()?;
        self.recheck_owner(&tx, owner, org, &actor).await?;
        tx.execute("DELETE FROM labels WHERE id = $1", &[&id]).await.db()?;
        touch(&tx, owner).await?;
        tx.commit().await.db()
    }
}

fn owner_of(row: &Row) -> ApiResult<LabelOwner> {
    match (column::<_, Option<i64>>(row, "project_id")?, column::<_, Option<i64>>(row, "task_id")?) {
        (Some(project), _) => Ok(LabelOwner::Project(project)),
        (None, Some(task)) => Ok(LabelOwner::Task(task)),
        (None, None) => Err(ApiError::not_found()),
    }
}

/// Label changes update the owner's `updated_date`.
pub(crate) async fn touch(client: &impl GenericClient, owner: LabelOwner) -> ApiResult<()> {
    let sql = match owner {
        LabelOwner::Project(_) => "UPDATE projects SET updated_date = now() WHERE id = $1",
        LabelOwner::Task(_) => "UPDATE tasks SET updated_date = now() WHERE id = $1",
    };
    client.execute(sql, &[&owner.id()]).await.db()?;
    Ok(())
}
