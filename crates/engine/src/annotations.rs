//! Annotations of jobs and tasks (`/api/{jobs,tasks}/{id}/annotations/`): read, replace,
//! patch (create, update, delete by id) and remove, with CVAT's rules (reference §8) from
//! `cvat-annotations`.
//!
//! Every save is one transaction that first locks the job rows it writes, so saves of one
//! job are serialised: two concurrent savers never leave a mix, the last complete save
//! wins. Objects go in with one binary COPY however many there are. A task-level save is
//! cut per annotation job by frame range (an object on frames two jobs share goes to both
//! with the same id); a task-level read joins the jobs back. Ground-truth jobs keep their
//! own annotations and are not part of the task's.
//!
//! Beyond CVAT: a PATCH update names objects that exist in the job (CVAT would create
//! unknown ids), and a body repeating an id is refused.

use crate::access::{allow, same_organization};
use crate::{Caller, DocumentPage, Engine};
use cvat_annotations::{self as ann, Action, FrameRange, IdSpace, Key, LabeledData, Object, Problems, Schema};
use cvat_db::{column, DbResultExt, GenericClient};
use cvat_error::{ApiError, ApiResult};
use cvat_listing::{Field, FieldType, ListParams, ListSpec};
use cvat_models::JobCommit;
use cvat_permissions::{Actor, JobScope, TaskScope};
use serde::Serialize;
use std::collections::HashSet;
use tokio_postgres::binary_copy::BinaryCopyInWriter;
use tokio_postgres::types::Type;

/// Whose annotations a call reads or writes.
#[derive(Debug, Clone, Copy)]
pub enum AnnotationTarget {
    Job(i64),
    Task(i64),
}

impl AnnotationTarget {
    /// The target a request names (`task` or `job`).
    pub fn from_name(name: &str, id: i64) -> ApiResult<Self> {
        match name {
            "task" => Ok(AnnotationTarget::Task(id)),
            "job" => Ok(AnnotationTarget::Job(id)),
            other => Err(ApiError::bad_request(format!("Unknown target {other:?}: a task or a job"))),
        }
    }

    /// `task` or `job`, as requests and URLs name them.
    pub fn name(self) -> &'static str {
        match self {
            AnnotationTarget::Task(_) => "task",
            AnnotationTarget::Job(_) => "job",
        }
    }

    pub fn id(self) -> i64 {
        match self {
            AnnotationTarget::Task(id) | AnnotationTarget::Job(id) => id,
        }
    }
}

/// What a save does: PUT replaces everything, PATCH applies an action.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AnnotationSave {
    Replace,
    Patch(Action),
}

/// The `kind` column: one per object list of the document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Tag = 0,
    Shape = 1,
    Track = 2,
    Interval = 3,
}

impl Kind {
    fn field(self) -> &'static str {
        match self {
            Kind::Tag => "tags",
            Kind::Shape => "shapes",
            Kind::Track => "tracks",
            Kind::Interval => "intervals",
        }
    }
}

fn sequence(space: IdSpace) -> &'static str {
    match space {
        IdSpace::Tag => "tag_ids",
        IdSpace::Shape => "shape_ids",
        IdSpace::Track => "track_ids",
        IdSpace::TrackedShape => "tracked_shape_ids",
        IdSpace::Interval => "interval_ids",
    }
}

/// An annotation job and its frames.
pub(crate) struct JobSpan {
    pub id: i64,
    pub range: FrameRange,
}

/// What a call works on, after its permission check.
pub(crate) struct Scope {
    task: i64,
    jobs: Vec<JobSpan>,
    /// The frames a body may use: the job's, or those of all the task's jobs.
    pub(crate) frames: FrameRange,
    /// The caller as an actor in the task's organization, as found before any write.
    actor: Actor,
    org: Option<i64>,
}

/// Who writes a save, and what its transaction checks on the locked rows: a caller's
/// rights again, or that an agent still holds the function request whose result it is
/// (the request's owner was checked when it was made; the save is recorded as theirs).
pub(crate) enum Writer<'a> {
    Caller(&'a Caller, AnnotationTarget),
    Agent { request: &'a str, agent: &'a str, owner: Option<i64> },
}

impl Engine {
    /// The target's task and annotation jobs after `view:annotations` (or
    /// `update:annotations` when `update`).
    async fn annotation_scope(
        &self,
        client: &impl GenericClient,
        caller: &Caller,
        target: AnnotationTarget,
        update: bool,
    ) -> ApiResult<Scope> {
        let (task, org, actor) = self.annotation_access(client, caller, target, update, None).await?;
        scope_of(client, task, target, actor, org).await
    }

    /// The scope of an agent's result: the request's task (or job), checked when the
    /// request was made.
    pub(crate) async fn request_scope(
        &self,
        client: &impl GenericClient,
        task: i64,
        job: Option<i64>,
        owner: Option<i64>,
    ) -> ApiResult<Scope> {
        let target = job.map_or(AnnotationTarget::Task(task), AnnotationTarget::Job);
        let actor =
            Actor { user_id: owner.unwrap_or_default(), privilege: cvat_permissions::Privilege::None, role: None };
        scope_of(client, task, target, actor, None).await
    }

    /// Checks view/update:annotations on the target against the rows `client` sees;
    /// answers its task, the task's organization and the caller as an actor there. In a
    /// write's transaction `known` is what was found before it (no gRPC call happens in a
    /// transaction): the rule is checked again against the locked rows, and a task that
    /// changed its organization meanwhile is a conflict.
    async fn annotation_access(
        &self,
        client: &impl GenericClient,
        caller: &Caller,
        target: AnnotationTarget,
        update: bool,
        known: Option<(Actor, Option<i64>)>,
    ) -> ApiResult<(i64, Option<i64>, Actor)> {
        let actor_in = |org: Option<i64>| async move {
            match known {
                Some((actor, before)) => same_organization(before, org).map(|_| actor),
                None => self.actor(caller, org).await,
            }
        };
        match target {
            AnnotationTarget::Job(id) => {
                let (facts, task, org) = self.job_access(client, id).await?;
                let actor = actor_in(org).await?;
                let scope = if update { JobScope::Update } else { JobScope::View };
                allow(cvat_permissions::job(&actor, scope, &facts))?;
                Ok((task, org, actor))
            }
            AnnotationTarget::Task(id) => {
                let access = self.task_access(client, id).await?;
                let actor = actor_in(access.org).await?;
                let scope = if update { TaskScope::Update } else { TaskScope::View };
                allow(cvat_permissions::task(&actor, scope, &access.facts))?;
                Ok((id, access.org, actor))
            }
        }
    }

    /// Locks the rows a save changes (the jobs in id order, then their task, the order
    /// every writer of jobs uses), marks them changed, and checks the caller's right
    /// again against them.
    async fn lock_for_save(
        &self,
        tx: &cvat_db::Transaction<'_>,
        caller: &Caller,
        target: AnnotationTarget,
        scope: &Scope,
    ) -> ApiResult<Vec<i64>> {
        let job_ids = lock_jobs(tx, scope).await?;
        self.annotation_access(tx, caller, target, true, Some((scope.actor, scope.org))).await?;
        Ok(job_ids)
    }

    /// The labels (and their attributes) annotations of the task may use.
    pub(crate) async fn label_schema(&self, client: &impl GenericClient, task: i64) -> ApiResult<Schema> {
        let owner = self.task_label_owner_unchecked(client, task).await?;
        let column_name = owner.column();
        let labels = client
            .query(&format!("SELECT id, type, parent_id FROM labels WHERE {column_name} = $1"), &[&owner.id()])
            .await
            .db()?;
        let attributes = client
            .query(
                &format!(
                    "SELECT a.id, a.label_id, a.mutable, a.input_type, a.default_value, a.values \
                     FROM attributes a JOIN labels l ON l.id = a.label_id WHERE l.{column_name} = $1 ORDER BY a.id"
                ),
                &[&owner.id()],
            )
            .await
            .db()?;
        let mut rules = Vec::with_capacity(labels.len());
        for row in &labels {
            rules.push(ann::LabelRule {
                id: column(row, 0)?,
                kind: column(row, 1)?,
                parent: column(row, 2)?,
                attributes: Vec::new(),
                sublabels: Vec::new(),
            });
        }
        for row in &attributes {
            let label: i64 = column(row, 1)?;
            if let Some(rule) = rules.iter_mut().find(|r| r.id == label) {
                rule.attributes.push(ann::AttributeRule {
                    id: column(row, 0)?,
                    mutable: column(row, 2)?,
                    input_type: column(row, 3)?,
                    default_value: column(row, 4)?,
                    values: column(row, 5)?,
                });
            }
        }
        let children: Vec<(i64, i64)> = rules.iter().filter_map(|r| Some((r.parent?, r.id))).collect();
        for (parent, child) in children {
            if let Some(rule) = rules.iter_mut().find(|r| r.id == parent) {
                rule.sublabels.push(child);
            }
        }
        Ok(Schema::new(rules))
    }

    /// `LabeledData` of a job, or of a task's annotation jobs joined, in parts. One
    /// job's objects stream from PostgreSQL into the answer row by row, so a read holds
    /// a part of the document, never all of it; several jobs are joined first.
    #[tracing::instrument(skip_all)]
    pub async fn annotations(&self, caller: &Caller, target: AnnotationTarget) -> ApiResult<DocumentStream> {
        let client = self.client().await?;
        let scope = self.annotation_scope(&client, caller, target, false).await?;
        let schema = self.label_schema(&client, scope.task).await?;
        if let [job] = scope.jobs.as_slice() {
            let job = job.id;
            let (sender, receiver) = tokio::sync::mpsc::channel(2);
            tokio::spawn(async move {
                if let Err(err) = stream_job(&client, job, &schema, &sender).await {
                    let _ = sender.send(Err(err)).await;
                }
            });
            return Ok(Box::pin(futures_util::stream::unfold(receiver, |mut r| async move {
                r.recv().await.map(|part| (part, r))
            })));
        }
        let mut parts = Vec::with_capacity(scope.jobs.len());
        for job in &scope.jobs {
            parts.push((job.range, stored(&client, job.id).await?));
        }
        drop(client);
        let mut data = ann::merge(parts);
        ann::fill_defaults(&mut data, &schema);
        Ok(in_parts(data))
    }

    /// PUT or PATCH; answers the saved objects with their ids (a delete echoes its body).
    #[tracing::instrument(skip_all)]
    pub async fn save_annotations(
        &self,
        caller: &Caller,
        target: AnnotationTarget,
        save: AnnotationSave,
        body: Vec<u8>,
    ) -> ApiResult<DocumentStream> {
        let data = ann::parse(&body)?;
        drop(body);
        let client = self.client().await?;
        let scope = self.annotation_scope(&client, caller, target, true).await?;
        let data = self.write_annotations(client, Writer::Caller(caller, target), &scope, save, data).await?;
        Ok(in_parts(data))
    }

    /// A save's checks and its one transaction, whoever writes it; answers the objects
    /// saved with their ids.
    pub(crate) async fn write_annotations(
        &self,
        mut client: cvat_db::Client,
        writer: Writer<'_>,
        scope: &Scope,
        save: AnnotationSave,
        mut data: LabeledData,
    ) -> ApiResult<LabeledData> {
        if scope.jobs.is_empty() && !data.is_empty() {
            return Err(ApiError::invalid("The task has no data: annotations need its frames."));
        }
        if save != AnnotationSave::Patch(Action::Delete) {
            let schema = self.label_schema(&client, scope.task).await?;
            ann::validate(&mut data, &schema, scope.frames)?;
        }
        let touched = match save {
            AnnotationSave::Replace | AnnotationSave::Patch(Action::Create) => {
                ann::clear_ids(&mut data);
                Vec::new()
            }
            AnnotationSave::Patch(_) => named_ids(&data)?,
        };
        assign_ids(&client, &mut data).await?;

        let tx = client.transaction().await.db()?;
        let (job_ids, owner) = match writer {
            Writer::Caller(caller, target) => {
                (self.lock_for_save(&tx, caller, target, scope).await?, Some(caller.id()))
            }
            Writer::Agent { request, agent, owner } => {
                crate::functions::finish_held(&tx, request, agent).await?;
                (lock_jobs(&tx, scope).await?, owner)
            }
        };
        match save {
            AnnotationSave::Replace => {
                tx.execute("DELETE FROM annotations WHERE job_id = ANY($1)", &[&job_ids]).await.db()?;
            }
            AnnotationSave::Patch(Action::Create) => {}
            AnnotationSave::Patch(action) => {
                if action == Action::Update {
                    check_present(&tx, &job_ids, &touched).await?;
                }
                for (kind, ids) in &touched {
                    tx.execute(
                        "DELETE FROM annotations WHERE job_id = ANY($1) AND kind = $2 AND id = ANY($3)",
                        &[&job_ids, &(*kind as i16), ids],
                    )
                    .await
                    .db()?;
                }
            }
        }
        if save != AnnotationSave::Patch(Action::Delete) {
            store(&tx, &tx, scope, &data).await?;
        }
        record_change(&tx, owner, &job_ids, save, Counts::of(&data)).await?;
        tx.commit().await.db()?;
        Ok(data)
    }

    /// An import's objects, as lines (`cvat_formats::write_line`) in parts, saved as the
    /// caller's PUT (or PATCH create) in one transaction: all or nothing. Each object is
    /// checked alone (a problem names its kind and field, not a position in a file of a
    /// million), and they are written batch by batch, so memory holds one batch. Ids are
    /// reserved on another connection: the reservation's lock must not be held for the
    /// whole import.
    #[tracing::instrument(skip_all)]
    pub async fn save_lines(
        &self,
        caller: &Caller,
        target: AnnotationTarget,
        save: AnnotationSave,
        mut parts: impl futures_util::Stream<Item = ApiResult<Vec<u8>>> + Unpin,
    ) -> ApiResult<()> {
        use futures_util::StreamExt;
        let mut client = self.client().await?;
        let ids = self.client().await?;
        let scope = self.annotation_scope(&client, caller, target, true).await?;
        let schema = self.label_schema(&client, scope.task).await?;
        let tx = client.transaction().await.db()?;
        let job_ids = self.lock_for_save(&tx, caller, target, &scope).await?;
        if save == AnnotationSave::Replace {
            tx.execute("DELETE FROM annotations WHERE job_id = ANY($1)", &[&job_ids]).await.db()?;
        }
        let mut batch = Batch::default();
        let mut rest: Vec<u8> = Vec::new();
        while let Some(part) = parts.next().await {
            rest.extend_from_slice(&part?);
            let Some(end) = rest.iter().rposition(|b| *b == b'\n') else { continue };
            for line in rest[..end].split(|b| *b == b'\n').filter(|l| !l.is_empty()) {
                batch.add(line, &schema, scope.frames)?;
            }
            rest.drain(..=end);
            if batch.objects >= SAVE_BATCH {
                batch.save(&tx, &ids, &scope).await?;
            }
        }
        if !rest.is_empty() {
            return Err(ApiError::invalid("The annotations sent end inside an object."));
        }
        batch.save(&tx, &ids, &scope).await?;
        record_change(&tx, Some(caller.id()), &job_ids, save, batch.counts).await?;
        tx.commit().await.db()?;
        Ok(())
    }

    /// DELETE: removes every object of the job (or of the task's annotation jobs).
    #[tracing::instrument(skip_all)]
    pub async fn delete_annotations(&self, caller: &Caller, target: AnnotationTarget) -> ApiResult<()> {
        let mut client = self.client().await?;
        let scope = self.annotation_scope(&client, caller, target, true).await?;
        let tx = client.transaction().await.db()?;
        let job_ids = self.lock_for_save(&tx, caller, target, &scope).await?;
        tx.execute("DELETE FROM annotations WHERE job_id = ANY($1)", &[&job_ids]).await.db()?;
        record_change(&tx, Some(caller.id()), &job_ids, AnnotationSave::Patch(Action::Delete), Counts::default())
            .await?;
        tx.commit().await.db()?;
        Ok(())
    }
}

/// Objects per batch of a streamed save.
const SAVE_BATCH: usize = 10_000;

/// The objects of a streamed save not yet written, and how many went before.
#[derive(Default)]
struct Batch {
    data: LabeledData,
    objects: usize,
    counts: Counts,
}

impl Batch {
    /// Checks one line's object and adds it.
    fn add(&mut self, line: &[u8], schema: &Schema, frames: FrameRange) -> ApiResult<()> {
        let (kind, _, json) = cvat_formats::read_line(line)
            .map_err(|e| ApiError::invalid(format!("The annotations sent are broken: {e}")))?;
        let parse_error = |e: serde_json::Error| ApiError::invalid(format!("An object sent does not parse: {e}"));
        let mut one = LabeledData::default();
        match kind {
            cvat_formats::ObjectKind::Tag => one.tags.push(serde_json::from_slice(json).map_err(parse_error)?),
            cvat_formats::ObjectKind::Shape => one.shapes.push(serde_json::from_slice(json).map_err(parse_error)?),
            cvat_formats::ObjectKind::Track => one.tracks.push(serde_json::from_slice(json).map_err(parse_error)?),
            cvat_formats::ObjectKind::Raw => {
                return Err(ApiError::invalid("The annotations sent hold a file's piece."))
            }
        }
        ann::validate(&mut one, schema, frames)?;
        ann::clear_ids(&mut one);
        self.data.tags.append(&mut one.tags);
        self.data.shapes.append(&mut one.shapes);
        self.data.tracks.append(&mut one.tracks);
        self.objects += 1;
        Ok(())
    }

    async fn save(&mut self, tx: &cvat_db::Transaction<'_>, ids: &impl GenericClient, scope: &Scope) -> ApiResult<()> {
        let mut data = std::mem::take(&mut self.data);
        self.objects = 0;
        if data.is_empty() {
            return Ok(());
        }
        if scope.jobs.is_empty() {
            return Err(ApiError::invalid("The task has no data: annotations need its frames."));
        }
        assign_ids(ids, &mut data).await?;
        store(tx, ids, scope, &data).await?;
        self.counts.add(&data);
        Ok(())
    }
}

/// How many objects of each kind a save wrote (the change log keeps them).
#[derive(Debug, Default, Clone, Copy)]
struct Counts {
    tags: usize,
    shapes: usize,
    tracks: usize,
    intervals: usize,
}

impl Counts {
    fn of(data: &LabeledData) -> Self {
        let mut counts = Counts::default();
        counts.add(data);
        counts
    }

    fn add(&mut self, data: &LabeledData) {
        self.tags += data.tags.len();
        self.shapes += data.shapes.len();
        self.tracks += data.tracks.len();
        self.intervals += data.intervals.len();
    }
}

/// A scope of `target` in `task`, for `actor` found in `org`.
async fn scope_of(
    client: &impl GenericClient,
    task: i64,
    target: AnnotationTarget,
    actor: Actor,
    org: Option<i64>,
) -> ApiResult<Scope> {
    let jobs = annotation_jobs(client, task, target).await?;
    let frames = FrameRange {
        start: jobs.iter().map(|j| j.range.start).min().unwrap_or(0),
        stop: jobs.iter().map(|j| j.range.stop).max().unwrap_or(0),
    };
    Ok(Scope { task, jobs, frames, actor, org })
}

/// Locks the scope's job rows (saves of one job are serialised) and marks the jobs and
/// the task changed; answers the job ids.
async fn lock_jobs(tx: &cvat_db::Transaction<'_>, scope: &Scope) -> ApiResult<Vec<i64>> {
    let job_ids: Vec<i64> = scope.jobs.iter().map(|j| j.id).collect();
    tx.query("SELECT id FROM jobs WHERE id = ANY($1) ORDER BY id FOR UPDATE", &[&job_ids]).await.db()?;
    tx.execute("UPDATE jobs SET updated_date = now() WHERE id = ANY($1)", &[&job_ids]).await.db()?;
    tx.execute("UPDATE tasks SET updated_date = now() WHERE id = $1", &[&scope.task]).await.db()?;
    Ok(job_ids)
}

/// The annotation jobs of a target in frame order: the job itself, or the task's
/// annotation jobs (ground-truth jobs keep their own annotations).
pub(crate) async fn annotation_jobs(
    client: &impl GenericClient,
    task: i64,
    target: AnnotationTarget,
) -> ApiResult<Vec<JobSpan>> {
    let job = match target {
        AnnotationTarget::Job(id) => Some(id),
        AnnotationTarget::Task(_) => None,
    };
    let rows = client
        .query(
            "SELECT j.id, s.start_frame, s.stop_frame FROM jobs j JOIN segments s ON s.id = j.segment_id \
             WHERE j.task_id = $1 AND (($2::bigint IS NULL AND j.type = 'annotation') OR j.id = $2) \
             ORDER BY s.start_frame, j.id",
            &[&task, &job],
        )
        .await
        .db()?;
    let mut jobs = Vec::with_capacity(rows.len());
    for row in &rows {
        let (start, stop): (i32, i32) = (column(row, 1)?, column(row, 2)?);
        let range = FrameRange { start: start.max(0) as u32, stop: stop.max(0) as u32 };
        jobs.push(JobSpan { id: column(row, 0)?, range });
    }
    Ok(jobs)
}

/// A document in parts, as it is produced.
pub type DocumentStream = std::pin::Pin<Box<dyn futures_util::Stream<Item = ApiResult<Vec<u8>>> + Send>>;

/// Bytes per part of a streamed document.
pub(crate) const PART_BYTES: usize = 1 << 20;

/// Writes one job's objects as `LabeledData`, row by row, in parts of about
/// [`PART_BYTES`].
async fn stream_job(
    client: &impl GenericClient,
    job: i64,
    schema: &Schema,
    sender: &tokio::sync::mpsc::Sender<ApiResult<Vec<u8>>>,
) -> ApiResult<()> {
    use futures_util::StreamExt;
    let rows = client
        .query_raw("SELECT kind, document FROM annotations WHERE job_id = $1 ORDER BY kind, id", [job])
        .await
        .db()?;
    futures_util::pin_mut!(rows);
    let mut writer = DocumentWriter::default();
    while let Some(row) = rows.next().await {
        let row = row.db()?;
        let kind: i16 = column(&row, 0)?;
        let document: &str = column(&row, 1)?;
        match kind {
            0 => writer.object(Kind::Tag, &read_object::<ann::Tag>(document, Some(schema))?),
            1 => writer.object(Kind::Shape, &read_object::<ann::Shape>(document, Some(schema))?),
            2 => writer.object(Kind::Track, &read_object::<ann::Track>(document, Some(schema))?),
            _ => writer.object(Kind::Interval, &read_object::<ann::Interval>(document, Some(schema))?),
        }
        if writer.buffer.len() >= PART_BYTES && sender.send(Ok(std::mem::take(&mut writer.buffer))).await.is_err() {
            return Ok(()); // the reader went away
        }
    }
    writer.finish();
    let _ = sender.send(Ok(writer.buffer)).await;
    Ok(())
}

/// A stored object; with `schema`, completed with attribute defaults.
pub(crate) fn read_object<T: serde::de::DeserializeOwned + ann::FillDefaults>(
    document: &str,
    schema: Option<&Schema>,
) -> ApiResult<T> {
    let mut object: T = serde_json::from_str(document).map_err(|e| {
        tracing::error!(error = %e, "a stored annotation does not parse");
        ApiError::internal()
    })?;
    if let Some(schema) = schema {
        object.fill_defaults(schema);
    }
    Ok(object)
}

/// A whole document as a stream of parts, each rendered only when it is wanted.
pub(crate) fn in_parts(data: LabeledData) -> DocumentStream {
    let parts = Parts { data, kind: 0, index: 0, writer: DocumentWriter::default(), done: false };
    Box::pin(futures_util::stream::iter(parts))
}

/// Renders a document part by part.
struct Parts {
    data: LabeledData,
    /// The list being written (by [`Kind`]) and the next object in it.
    kind: usize,
    index: usize,
    writer: DocumentWriter,
    done: bool,
}

impl Iterator for Parts {
    type Item = ApiResult<Vec<u8>>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        while self.writer.buffer.len() < PART_BYTES {
            let (data, writer, index) = (&self.data, &mut self.writer, self.index);
            let written = match self.kind {
                0 => data.tags.get(index).map(|o| writer.object(Kind::Tag, o)),
                1 => data.shapes.get(index).map(|o| writer.object(Kind::Shape, o)),
                2 => data.tracks.get(index).map(|o| writer.object(Kind::Track, o)),
                3 => data.intervals.get(index).map(|o| writer.object(Kind::Interval, o)),
                _ => {
                    writer.finish();
                    self.done = true;
                    break;
                }
            };
            match written {
                Some(()) => self.index += 1,
                None => (self.kind, self.index) = (self.kind + 1, 0),
            }
        }
        Some(Ok(std::mem::take(&mut self.writer.buffer)))
    }
}

/// `{"version":0,"tags":[…],"shapes":[…],"tracks":[…],"intervals":[…]}` written
/// object by object, kinds in that order.
struct DocumentWriter {
    buffer: Vec<u8>,
    /// How many of the lists have been opened.
    opened: usize,
    empty: bool,
}

impl Default for DocumentWriter {
    fn default() -> Self {
        Self { buffer: br#"{"version":0"#.to_vec(), opened: 0, empty: true }
    }
}

impl DocumentWriter {
    const LISTS: [Kind; 4] = [Kind::Tag, Kind::Shape, Kind::Track, Kind::Interval];

    /// Opens lists up to and including `kind`'s, closing the one before.
    fn reach(&mut self, kind: Kind) {
        while self.opened <= kind as usize {
            if self.opened > 0 {
                self.buffer.push(b']');
            }
            let name = Self::LISTS[self.opened].field();
            self.buffer.extend_from_slice(format!(r#","{name}":["#).as_bytes());
            self.opened += 1;
            self.empty = true;
        }
    }

    fn object(&mut self, kind: Kind, object: &impl Serialize) {
        self.reach(kind);
        if !self.empty {
            self.buffer.push(b',');
        }
        self.empty = false;
        cvat_models::render_into(&mut self.buffer, object);
    }

    fn finish(&mut self) {
        self.reach(Kind::Interval);
        self.buffer.extend_from_slice(b"]}");
    }
}

/// The objects stored for one job, in id order per kind.
pub(crate) async fn stored(client: &impl GenericClient, job: i64) -> ApiResult<LabeledData> {
    let rows = client
        .query("SELECT kind, document FROM annotations WHERE job_id = $1 ORDER BY kind, id", &[&job])
        .await
        .db()?;
    let mut data = LabeledData::default();
    for row in &rows {
        let kind: i16 = column(row, 0)?;
        let document: &str = column(row, 1)?;
        // Defaults are filled once the jobs are joined.
        match kind {
            0 => data.tags.push(read_object(document, None)?),
            1 => data.shapes.push(read_object(document, None)?),
            2 => data.tracks.push(read_object(document, None)?),
            _ => data.intervals.push(read_object(document, None)?),
        }
    }
    Ok(data)
}

/// The top-level ids an update or delete names, per kind; each must be given, once.
fn named_ids(data: &LabeledData) -> ApiResult<Vec<(Kind, Vec<i64>)>> {
    let mut problems = Problems::default();
    let lists: [(Kind, Vec<Option<i64>>); 4] = [
        (Kind::Tag, data.tags.iter().map(Object::id).collect()),
        (Kind::Shape, data.shapes.iter().map(Object::id).collect()),
        (Kind::Track, data.tracks.iter().map(Object::id).collect()),
        (Kind::Interval, data.intervals.iter().map(Object::id).collect()),
    ];
    let mut named = Vec::new();
    for (kind, ids) in lists {
        let mut seen = HashSet::new();
        for (index, id) in ids.iter().enumerate() {
            let path = [Key::Field(kind.field()), Key::Index(index)];
            match id {
                None => problems.add(&path, "id", "This field is required."),
                Some(id) if !seen.insert(*id) => problems.add(&path, "id", format!("The id {id} is given twice.")),
                Some(_) => {}
            }
        }
        if !seen.is_empty() {
            named.push((kind, seen.into_iter().collect()));
        }
    }
    problems.finish()?;
    Ok(named)
}

/// An update names objects the job (or task) has.
async fn check_present(client: &impl GenericClient, jobs: &[i64], named: &[(Kind, Vec<i64>)]) -> ApiResult<()> {
    let mut problems = Problems::default();
    for (kind, ids) in named {
        let rows = client
            .query(
                "SELECT DISTINCT id FROM annotations WHERE job_id = ANY($1) AND kind = $2 AND id = ANY($3)",
                &[&jobs, &(*kind as i16), ids],
            )
            .await
            .db()?;
        let found: HashSet<i64> = rows.iter().map(|r| column(r, 0)).collect::<ApiResult<_>>()?;
        for id in ids.iter().filter(|id| !found.contains(id)) {
            problems.add(&[Key::Field(kind.field())], "id", format!("There is no object with id {id} here."));
        }
    }
    problems.finish()
}

/// Gives every object without an id a new one from its space's sequence (a block of
/// consecutive ids per space, reserved in one statement).
async fn assign_ids(client: &impl GenericClient, data: &mut LabeledData) -> ApiResult<()> {
    let missing = ann::missing_ids(data);
    if missing.iter().all(|n| *n == 0) {
        return Ok(());
    }
    let mut fresh: [std::ops::Range<i64>; 5] = Default::default();
    for space in IdSpace::ALL {
        let count = missing[space.index()] as i64;
        if count > 0 {
            let row = client
                .query_one("SELECT reserve_ids($1::text::regclass, $2)", &[&sequence(space), &count])
                .await
                .db()?;
            let first: i64 = column(&row, 0)?;
            fresh[space.index()] = first..first + count;
        }
    }
    ann::fill_ids(data, &mut fresh);
    Ok(())
}

/// Writes `data` into the scope's jobs: whole for a job, cut by frame range for a task
/// (ids of keyframes made at a cut are reserved through `ids`).
async fn store(
    client: &cvat_db::Transaction<'_>,
    ids: &impl GenericClient,
    scope: &Scope,
    data: &LabeledData,
) -> ApiResult<()> {
    let mut parts = Vec::new();
    if scope.jobs.len() > 1 {
        for job in &scope.jobs {
            let mut part = ann::slice(data, job.range);
            // Keyframes made at the cut have no id yet; ids come before the COPY starts,
            // which holds the connection until it ends.
            assign_ids(ids, &mut part).await?;
            parts.push((job.id, part));
        }
    }
    let sink = client
        .copy_in("COPY annotations (job_id, kind, id, label_id, frame, document) FROM STDIN BINARY")
        .await
        .db()?;
    let types = [Type::INT8, Type::INT2, Type::INT8, Type::INT8, Type::INT4, Type::TEXT];
    let writer = BinaryCopyInWriter::new(sink, &types);
    futures_util::pin_mut!(writer);
    match scope.jobs.as_slice() {
        [job] => write_rows(writer.as_mut(), job.id, data).await?,
        _ => {
            for (job, part) in &parts {
                write_rows(writer.as_mut(), *job, part).await?;
            }
        }
    }
    writer.finish().await.db()?;
    Ok(())
}

async fn write_rows(mut writer: std::pin::Pin<&mut BinaryCopyInWriter>, job: i64, data: &LabeledData) -> ApiResult<()> {
    async fn rows<T: Object + Serialize>(
        writer: &mut std::pin::Pin<&mut BinaryCopyInWriter>,
        job: i64,
        kind: Kind,
        objects: &[T],
    ) -> ApiResult<()> {
        for object in objects {
            let document = cvat_models::render(object);
            let id = object.id().unwrap_or_default();
            let frame = object.frame() as i32;
            writer.as_mut().write(&[&job, &(kind as i16), &id, &object.label_id(), &frame, &document]).await.db()?;
        }
        Ok(())
    }
    rows(&mut writer, job, Kind::Tag, &data.tags).await?;
    rows(&mut writer, job, Kind::Shape, &data.shapes).await?;
    rows(&mut writer, job, Kind::Track, &data.tracks).await?;
    rows(&mut writer, job, Kind::Interval, &data.intervals).await?;
    Ok(())
}

/// One entry of the change log per job touched.
async fn record_change(
    client: &impl GenericClient,
    owner: Option<i64>,
    jobs: &[i64],
    save: AnnotationSave,
    counts: Counts,
) -> ApiResult<()> {
    let scope = match save {
        AnnotationSave::Replace | AnnotationSave::Patch(Action::Update) => "update",
        AnnotationSave::Patch(Action::Create) => "create",
        AnnotationSave::Patch(Action::Delete) => "delete",
    };
    let counts = serde_json::json!({
        "tags": counts.tags, "shapes": counts.shapes, "tracks": counts.tracks, "intervals": counts.intervals,
    });
    client
        .execute(
            "INSERT INTO annotation_changes (job_id, owner_id, scope, counts) SELECT j, $2, $3, $4 FROM unnest($1::bigint[]) j",
            &[&jobs, &owner, &scope, &counts],
        )
        .await
        .db()?;
    Ok(())
}

const COMMIT_FIELDS: &[Field] = &[
    Field { name: "id", sql: "id", ty: FieldType::Int },
    Field { name: "job_id", sql: "job_id", ty: FieldType::Int },
    Field { name: "scope", sql: "scope", ty: FieldType::Text },
    Field { name: "timestamp", sql: "timestamp", ty: FieldType::Timestamp },
];

pub const COMMIT_LIST: ListSpec = ListSpec {
    fields: COMMIT_FIELDS,
    search: &[],
    filter: &["id", "scope", "timestamp"],
    equals: &["job_id", "scope"],
    sort: &["id", "timestamp"],
    default_sort: "-id",
    search_sql: None,
};

impl Engine {
    /// The change log of one job (`job_id` among the list's filters), newest first.
    #[tracing::instrument(skip_all)]
    pub async fn list_job_commits(&self, caller: &Caller, params: &ListParams) -> ApiResult<DocumentPage> {
        let job = params
            .equals
            .get("job_id")
            .and_then(|id| id.parse::<i64>().ok())
            .ok_or_else(|| ApiError::bad_request("A job_id is required."))?;
        let client = self.client().await?;
        self.check_job_scope(&client, caller, job, JobScope::View).await?;
        let columns = "id, owner_id, counts, timestamp, scope";
        let cvat_listing::Page { count, rows, .. } = cvat_listing::fetch_page(
            client,
            &COMMIT_LIST,
            params,
            Default::default(),
            columns,
            "annotation_changes",
            None,
        )
        .await?;
        let render_row = |r: &tokio_postgres::Row| -> ApiResult<String> {
            Ok(cvat_models::render(&JobCommit {
                id: column(r, 0)?,
                owner: column(r, 1)?,
                data: column(r, 2)?,
                timestamp: crate::render::moment(r, "timestamp")?,
                scope: column(r, 4)?,
            }))
        };
        Ok(DocumentPage { count, results: rows.iter().map(render_row).collect::<ApiResult<_>>()? })
    }
}
