//! The engine against a real PostgreSQL (the one `deploy/local/deps.sh` starts, or
//! `CVAT_DATABASE_URL`), each test in a fresh schema of its own, with the auth service's
//! facts served from memory ([`FakeDirectory`]). `make test` starts the database first.

use cvat_engine::{Caller, Directory, Engine, MIGRATIONS};
use cvat_error::{ApiResult, ErrorKind};
use cvat_permissions::Role;
use cvat_proto::auth::{Principal, User};
use cvat_proto::task::{DataResult, FrameMeta, UploadedFile};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::Arc;

/// Users and organization roles, as the auth service would answer them.
#[derive(Default)]
struct FakeDirectory {
    users: Vec<User>,
    roles: HashMap<(i64, i64), Role>,
    /// SQL run (once) while a role is looked up: what another request changes between a
    /// write's first check and its transaction.
    meanwhile: std::sync::Mutex<Option<(Arc<tokio_postgres::Client>, String)>>,
}

#[async_trait::async_trait]
impl Directory for FakeDirectory {
    async fn role(&self, user_id: i64, organization_id: i64) -> ApiResult<Option<Role>> {
        let meanwhile = self.meanwhile.lock().unwrap().take();
        if let Some((client, sql)) = meanwhile {
            client.batch_execute(&sql).await.unwrap();
        }
        Ok(self.roles.get(&(user_id, organization_id)).copied())
    }

    async fn users(&self, ids: Vec<i64>) -> ApiResult<Vec<User>> {
        Ok(self.users.iter().filter(|u| ids.contains(&u.id)).cloned().collect())
    }

    async fn existing_organizations(&self, ids: Vec<i64>) -> ApiResult<Vec<i64>> {
        Ok(ids)
    }
}

fn database_url() -> String {
    std::env::var("CVAT_DATABASE_URL").unwrap_or_else(|_| "postgres://cvat:cvat@127.0.0.1:5432/cvat".to_string())
}

fn user(id: i64) -> User {
    User { id, username: format!("user{id}"), ..Default::default() }
}

fn wire_caller(id: i64) -> cvat_proto::task::Caller {
    let principal =
        Principal { user_id: id, username: format!("user{id}"), groups: vec!["user".into()], ..Default::default() };
    cvat_proto::task::Caller { principal: Some(principal), org: None, base_url: "http://testserver".into() }
}

fn caller(id: i64) -> Caller {
    Caller::from_wire(Some(wire_caller(id))).unwrap()
}

/// An engine over a schema made for this test (dropped when the guard goes).
struct Fixture {
    engine: Engine,
    directory: Arc<FakeDirectory>,
    admin: tokio_postgres::Client,
    schema: String,
}

impl Fixture {
    async fn new(pool_size: usize) -> Self {
        Self::with_directory(pool_size, FakeDirectory { users: (1..=3).map(user).collect(), ..Default::default() })
            .await
    }

    async fn with_directory(pool_size: usize, directory: FakeDirectory) -> Self {
        let url = database_url();
        let schema = format!("engine_test_{}", uuid::Uuid::new_v4().simple());
        let pool = cvat_db::pool(&url, &schema, pool_size, 30_000).unwrap();
        cvat_db::migrate(&pool, &schema, MIGRATIONS)
            .await
            .unwrap_or_else(|e| panic!("PostgreSQL at {url} (start it with `make deps`): {e}"));
        let network = cvat_fetch::FetchPolicy {
            allowed: Vec::new(),
            max_bytes: 1 << 20,
            timeout: std::time::Duration::from_secs(5),
        };
        let directory = Arc::new(directory);
        let agents = cvat_engine::functions::Agents {
            notices: cvat_db::Notices::silent(),
            lease: std::time::Duration::from_secs(60),
            answer_wait: std::time::Duration::from_secs(1),
        };
        let engine = Engine::new(pool, directory.clone(), network, agents, 1000);
        let (admin, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls).await.unwrap();
        tokio::spawn(connection);
        Self { engine, directory, admin, schema }
    }

    /// Runs `sql` through `client` during the next role lookup.
    fn set_meanwhile(&self, client: &Arc<tokio_postgres::Client>, sql: String) {
        *self.directory.meanwhile.lock().unwrap() = Some((client.clone(), sql));
    }

    async fn drop_schema(self) {
        self.admin.batch_execute(&format!("DROP SCHEMA {} CASCADE", self.schema)).await.unwrap();
    }

    /// A task of `caller` with three uploaded images, and its queued data request.
    async fn task_with_request(&self, caller: &Caller) -> (i64, String) {
        let body = json!({"name": "t", "labels": [{"name": "car"}], "segment_size": 2}).to_string();
        let task: Value = serde_json::from_str(&self.engine.create_task(caller, &body).await.unwrap()).unwrap();
        let id = task["id"].as_i64().unwrap();
        let files: Vec<UploadedFile> = ["a.png", "b.png", "c.png"]
            .iter()
            .map(|n| UploadedFile { name: n.to_string(), size: 10, key: String::new() })
            .collect();
        self.engine.record_uploads(caller, id, &files, "").await.unwrap();
        let work = self.engine.start_data(caller, id, &json!({"image_quality": 70}).to_string(), "").await.unwrap();
        (id, work.request_id)
    }

    async fn count(&self, sql: &str, task: i64) -> i64 {
        self.admin.query_one(&sql.replace("{s}", &self.schema), &[&task]).await.unwrap().get(0)
    }
}

/// A media worker's result for `request`: `n` frames in chunks of 2, the compressed
/// chunks built on first request when `lazy`.
fn result(request: &str, task: i64, n: usize, lazy: bool) -> DataResult {
    let frames = (0..n)
        .map(|i| FrameMeta {
            name: format!("{i}.png"),
            width: 4,
            height: 4,
            original_offset: 100 * i as i64,
            original_length: 10,
            ..Default::default()
        })
        .collect();
    DataResult { request_id: request.into(), task_id: task, frames, chunk_size: 2, video: false, lazy_chunks: lazy }
}

#[tokio::test]
async fn completing_data_is_one_transaction_and_a_retry_finishes_it() {
    let fixture = Fixture::new(4).await;
    let owner = caller(1);
    let (task, request) = fixture.task_with_request(&owner).await;

    // Segments cannot be written: nothing of the result may stay behind.
    let schema = &fixture.schema;
    fixture
        .admin
        .batch_execute(&format!(
            "CREATE FUNCTION {schema}.refuse() RETURNS trigger LANGUAGE plpgsql AS $$ \
             BEGIN RAISE EXCEPTION 'refused'; END $$; \
             CREATE TRIGGER refuse BEFORE INSERT ON {schema}.segments FOR EACH ROW EXECUTE FUNCTION {schema}.refuse();"
        ))
        .await
        .unwrap();
    let failed = fixture.engine.complete_data(&result(&request, task, 3, false)).await.unwrap_err();
    assert_eq!(failed.kind, ErrorKind::Internal);
    assert_eq!(fixture.count("SELECT count(*) FROM {s}.frames WHERE task_id = $1", task).await, 0);
    assert_eq!(fixture.count("SELECT count(*) FROM {s}.task_data WHERE task_id = $1", task).await, 0);
    let status = fixture.count("SELECT count(*) FROM {s}.requests WHERE task_id = $1 AND status = 'queued'", task);
    assert_eq!(status.await, 1, "the request stays open for the retry");

    fixture.admin.batch_execute(&format!("DROP TRIGGER refuse ON {schema}.segments")).await.unwrap();
    fixture.engine.complete_data(&result(&request, task, 3, false)).await.unwrap();
    // A repeated report (a redelivered job) changes nothing.
    fixture.engine.complete_data(&result(&request, task, 3, false)).await.unwrap();
    assert_eq!(fixture.count("SELECT count(*) FROM {s}.frames WHERE task_id = $1", task).await, 3);
    assert_eq!(fixture.count("SELECT count(*) FROM {s}.jobs WHERE task_id = $1", task).await, 2);
    let read: Value = serde_json::from_str(&fixture.engine.get_task(&owner, task).await.unwrap()).unwrap();
    assert_eq!((read["size"].as_i64(), read["jobs"]["count"].as_i64()), (Some(3), Some(2)));
    fixture.drop_schema().await;
}

#[tokio::test]
async fn others_neither_see_nor_change_a_personal_task() {
    let fixture = Fixture::new(4).await;
    let (owner, other) = (caller(1), caller(2));
    let body = json!({"name": "mine", "labels": [{"name": "car"}]}).to_string();
    let task: Value = serde_json::from_str(&fixture.engine.create_task(&owner, &body).await.unwrap()).unwrap();
    let id = task["id"].as_i64().unwrap();
    assert_eq!(task["owner"]["username"], "user1");
    let denied = fixture.engine.get_task(&other, id).await.unwrap_err();
    assert_eq!(denied.kind, ErrorKind::Forbidden);
    let denied = fixture.engine.update_task(&other, id, &json!({"name": "theirs"}).to_string()).await.unwrap_err();
    assert_eq!(denied.kind, ErrorKind::Forbidden);
    // The owner names themself; outside an organization nobody else may be named (403),
    // and the refused write changes nothing.
    let (assign_self, assign_nobody) =
        (json!({"name": "x", "assignee_id": 1}).to_string(), json!({"name": "y", "assignee_id": 99}).to_string());
    assert!(fixture.engine.update_task(&owner, id, &assign_self).await.is_ok());
    let refused = fixture.engine.update_task(&owner, id, &assign_nobody).await.unwrap_err();
    assert_eq!(refused.kind, ErrorKind::Forbidden);
    let read: Value = serde_json::from_str(&fixture.engine.get_task(&owner, id).await.unwrap()).unwrap();
    assert_eq!((read["name"].as_str(), read["assignee"]["id"].as_i64()), (Some("x"), Some(1)));
    fixture.drop_schema().await;
}

/// Many writes against a pool of two connections: none takes a second connection while
/// holding one, so they all finish instead of waiting for each other.
#[tokio::test]
async fn concurrent_writes_share_a_tiny_pool() {
    let fixture = Arc::new(Fixture::new(2).await);
    let owner = caller(1);
    let body = json!({"name": "busy", "labels": [{"name": "car"}]}).to_string();
    let task: Value = serde_json::from_str(&fixture.engine.create_task(&owner, &body).await.unwrap()).unwrap();
    let id = task["id"].as_i64().unwrap();
    let mut writes = tokio::task::JoinSet::new();
    for i in 0..32 {
        let (fixture, owner) = (fixture.clone(), owner.clone());
        writes.spawn(async move {
            let patch = json!({"name": format!("busy {i}"), "subset": "train", "assignee_id": 1}).to_string();
            fixture.engine.update_task(&owner, id, &patch).await.map(|_| ())
        });
    }
    while let Some(result) = writes.join_next().await {
        result.unwrap().unwrap();
    }
    Arc::into_inner(fixture).expect("every write is done").drop_schema().await;
}

/// A write checks the caller's right again on the row it locks: what changed between its
/// first check and its transaction (here, during the role lookup) counts.
#[tokio::test]
async fn writes_check_again_on_the_rows_they_lock() {
    let (client, connection) = tokio_postgres::connect(&database_url(), tokio_postgres::NoTls).await.unwrap();
    tokio::spawn(connection);
    let client = Arc::new(client);
    let directory = FakeDirectory {
        users: (1..=3).map(user).collect(),
        roles: HashMap::from([((2, 7), Role::Worker)]),
        ..Default::default()
    };
    let fixture = Fixture::with_directory(4, directory).await;
    let schema = fixture.schema.clone();
    let (worker, other) = (caller(2), caller(3));
    let body = json!({"name": "theirs", "labels": [{"name": "car"}, {"name": "bus"}]}).to_string();
    fixture.engine.create_task(&other, &body).await.unwrap();
    let task: Value = serde_json::from_str(&fixture.engine.create_task(&worker, &body).await.unwrap()).unwrap();
    let task = task["id"].as_i64().unwrap();
    fixture.admin.batch_execute(&format!("UPDATE {schema}.tasks SET organization_id = 7")).await.unwrap();
    let label = |name: &'static str| {
        let sql = format!("SELECT id FROM {schema}.labels WHERE task_id = $1 AND name = $2");
        let admin = &fixture.admin;
        async move { admin.query_one(&sql, &[&task, &name]).await.unwrap().get::<_, i64>(0) }
    };

    // The worker owns the task: a label change is allowed, unless the task is handed to
    // someone else meanwhile.
    let (car, bus) = (label("car").await, label("bus").await);
    fixture.engine.delete_label(&worker, car).await.unwrap();
    fixture.set_meanwhile(&client, format!("UPDATE {schema}.tasks SET owner_id = 3 WHERE id = {task}"));
    let refused = fixture.engine.delete_label(&worker, bus).await.unwrap_err();
    assert_eq!(refused.kind, ErrorKind::Forbidden);
    assert_eq!(fixture.count("SELECT count(*) FROM {s}.labels WHERE task_id = $1", task).await, 1);

    // A storage the worker owns, moved to another organization meanwhile: 409, kept.
    let storage: i64 = fixture
        .admin
        .query_one(
            &format!(
                "INSERT INTO {schema}.cloud_storages (provider_type, resource, display_name, credentials_type, \
                 owner_id, organization_id) VALUES ('AWS_S3_BUCKET', 'b', 'b', 'ANONYMOUS_ACCESS', 2, 7) RETURNING id"
            ),
            &[],
        )
        .await
        .unwrap()
        .get(0);
    fixture.set_meanwhile(&client, format!("UPDATE {schema}.cloud_storages SET organization_id = 8"));
    let refused = fixture.engine.delete_cloud_storage(&worker, storage).await.unwrap_err();
    assert_eq!(refused.kind, ErrorKind::Conflict);
    let kept = fixture.count("SELECT count(*) FROM {s}.cloud_storages WHERE id = $1", storage).await;
    assert_eq!(kept, 1);
    fixture.drop_schema().await;
}

/// A request whose agent stops reporting goes back to the queue when its lease ends: the
/// next agent gets it, and the first can neither report nor complete it any more.
#[tokio::test]
async fn a_request_whose_agent_went_quiet_goes_to_the_next_agent() {
    let fixture = Fixture::new(4).await;
    let owner = caller(1);
    let (task, request) = fixture.task_with_request(&owner).await;
    fixture.engine.complete_data(&result(&request, task, 3, false)).await.unwrap();
    let function = json!({"provider": "native", "name": "f", "kind": "detector", "labels_v2": [{"name": "car"}]});
    let function: Value =
        serde_json::from_str(&fixture.engine.create_function(&owner, &function.to_string()).await.unwrap()).unwrap();
    let function = function["id"].as_i64().unwrap();
    let ask = json!({"function": function.to_string(), "task": task}).to_string();
    fixture.engine.create_lambda_request(&owner, &ask).await.unwrap();

    let acquire = |agent: &str| json!({"agent_id": agent, "request_category": "batch"}).to_string().into_bytes();
    let first: Value =
        serde_json::from_str(&fixture.engine.acquire_function_request(&owner, function, &acquire("a")).await.unwrap())
            .unwrap();
    let id = first["ar_assignment"]["ar_id"].as_str().unwrap().to_string();
    let held: Value =
        serde_json::from_str(&fixture.engine.acquire_function_request(&owner, function, &acquire("b")).await.unwrap())
            .unwrap();
    assert_eq!(held["ar_assignment"], Value::Null, "a held request is nobody else's");

    // The lease ends (as if 120 s passed without an update).
    let schema = &fixture.schema;
    fixture
        .admin
        .batch_execute(&format!("UPDATE {schema}.function_requests SET lease_until = now() - interval '1 second'"))
        .await
        .unwrap();
    let second: Value =
        serde_json::from_str(&fixture.engine.acquire_function_request(&owner, function, &acquire("b")).await.unwrap())
            .unwrap();
    assert_eq!(second["ar_assignment"]["ar_id"], json!(id));
    let update = json!({"agent_id": "a", "progress": 0.5}).to_string().into_bytes();
    let late = fixture.engine.update_function_request(&owner, function, &id, &update).await.unwrap_err();
    assert_eq!(late.kind, ErrorKind::Conflict);
    let result = |agent: &str| json!({"agent_id": agent, "annotations": {"shapes": []}}).to_string().into_bytes();
    let late = fixture.engine.complete_function_request(&owner, function, &id, result("a")).await.unwrap_err();
    assert_eq!(late.kind, ErrorKind::Conflict);
    fixture.engine.complete_function_request(&owner, function, &id, result("b")).await.unwrap();
    let status =
        fixture.count("SELECT count(*) FROM {s}.function_requests WHERE task_id = $1 AND status = 'finished'", task);
    assert_eq!(status.await, 1);
    // A cancelled request is gone for its agent too.
    fixture.engine.create_lambda_request(&owner, &ask).await.unwrap();
    let third: Value =
        serde_json::from_str(&fixture.engine.acquire_function_request(&owner, function, &acquire("c")).await.unwrap())
            .unwrap();
    let id = third["ar_assignment"]["ar_id"].as_str().unwrap().to_string();
    fixture.engine.cancel_lambda_request(&owner, &id).await.unwrap();
    let gone = fixture.engine.complete_function_request(&owner, function, &id, result("c")).await.unwrap_err();
    assert_eq!(gone.kind, ErrorKind::NotFound);
    fixture.drop_schema().await;
}

/// Every write to a listed table raises the list generation; folding the rows of gone
/// connections keeps the sum (so no kept count becomes wrongly valid) and the table small.
#[tokio::test]
async fn list_generations_rise_with_writes_and_survive_folding() {
    let fixture = Fixture::new(2).await;
    let (before, _) = list_generation(&fixture).await;
    // A connection that writes a project and goes away.
    let (gone, connection) = tokio_postgres::connect(&database_url(), tokio_postgres::NoTls).await.unwrap();
    let driver = tokio::spawn(connection);
    gone.batch_execute(&format!(
        "SET search_path TO {}; INSERT INTO projects (name) VALUES ('p'); UPDATE projects SET name = 'q'",
        fixture.schema
    ))
    .await
    .unwrap();
    let (written, rows) = list_generation(&fixture).await;
    assert_eq!((written, rows), (before + 2, 2));
    drop(gone);
    driver.await.unwrap().unwrap();
    // The server may take a moment to forget the ended backend: fold until it has.
    for _ in 0..100 {
        fixture.engine.fold_list_generations().await.unwrap();
        if list_generation(&fixture).await.1 == 1 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(list_generation(&fixture).await, (written, 1));
    fixture.drop_schema().await;
}

/// The list generation (the sum) and how many rows hold it.
async fn list_generation(fixture: &Fixture) -> (i64, i64) {
    let sql = format!("SELECT sum(n)::int8, count(*) FROM {}.list_generations", fixture.schema);
    let row = fixture.admin.query_one(&sql, &[]).await.unwrap();
    (row.try_get(0).expect("the generation is a bigint"), row.try_get(1).expect("a count is a bigint"))
}

/// A lazy task's compressed chunks: queued ahead when the data is ready; one claim at a
/// time (a redelivered message takes its own again, a lapsed claim goes to the next
/// worker); the built chunk gives its frames their byte ranges; a refused one its reason.
#[tokio::test]
async fn a_lazy_chunk_is_claimed_once_and_settled_once() {
    use cvat_engine::chunk_builds::ChunkState;
    let fixture = Fixture::new(4).await;
    let owner = caller(1);
    let (task, request) = fixture.task_with_request(&owner).await;
    let ahead = fixture.engine.complete_data(&result(&request, task, 3, true)).await.unwrap();
    let keys = [cvat_blob::keys::chunk(task, "compressed", 0), cvat_blob::keys::chunk(task, "compressed", 1)];
    assert_eq!(ahead, keys);
    assert!(fixture.engine.complete_data(&result(&request, task, 3, true)).await.unwrap().is_empty());

    let locate = |n: i64| cvat_proto::task::DataQuery {
        caller: Some(wire_caller(1)),
        target: "task".into(),
        id: task,
        r#type: "frame".into(),
        quality: "compressed".into(),
        number: Some(n),
        index: None,
    };
    let unbuilt = fixture.engine.locate_data(&locate(2)).await.unwrap().unbuilt.expect("not built yet");
    assert_eq!((unbuilt.key.as_str(), unbuilt.first_frame, unbuilt.last_frame), (keys[1].as_str(), 2, 2));
    assert_eq!(fixture.engine.chunk_state(&unbuilt).await.unwrap(), ChunkState::Waiting);

    let (first, second) = futures_util::future::join(
        fixture.engine.claim_chunk(task, &keys[1], "a"),
        fixture.engine.claim_chunk(task, &keys[1], "b"),
    )
    .await;
    let (first, second) = (first.unwrap(), second.unwrap());
    assert_ne!(first.claimed, second.claimed, "one claim at a time");
    let (holder, other) = if first.claimed { ("a", "b") } else { ("b", "a") };
    let claim = if first.claimed { first } else { second };
    assert_eq!(claim.frames.len(), 1);
    assert_eq!((claim.frames[0].offset, claim.frames[0].length), (200, 10));
    assert_eq!(claim.frames[0].key, cvat_blob::keys::chunk(task, "original", 1));
    assert!(fixture.engine.claim_chunk(task, &keys[1], holder).await.unwrap().claimed, "a redelivery claims again");
    assert_eq!(fixture.engine.chunk_state(&unbuilt).await.unwrap(), ChunkState::Building);

    // The holder went quiet: its claim lapses and the other worker takes it.
    let schema = &fixture.schema;
    fixture
        .admin
        .batch_execute(&format!("UPDATE {schema}.chunk_builds SET claimed_at = now() - interval '1 hour'"))
        .await
        .unwrap();
    assert!(fixture.engine.claim_chunk(task, &keys[1], other).await.unwrap().claimed);
    let built = cvat_proto::task::ChunkBuilt {
        task_id: task,
        key: keys[1].clone(),
        claimant: other.into(),
        members: vec![cvat_proto::task::MemberRange { offset: 38, length: 700 }],
        error: String::new(),
    };
    fixture.engine.complete_chunk(&built).await.unwrap();
    assert_eq!(fixture.engine.chunk_state(&unbuilt).await.unwrap(), ChunkState::Built);
    let location = fixture.engine.locate_data(&locate(2)).await.unwrap();
    assert_eq!((location.unbuilt, location.offset, location.length), (None, 38, 700));
    assert!(!fixture.engine.claim_chunk(task, &keys[1], "c").await.unwrap().claimed, "built once");
    let builds =
        fixture.count("SELECT builds::int8 FROM {s}.chunk_builds WHERE task_id = $1 AND key LIKE '%/1.zip'", task);
    assert_eq!(builds.await, 2, "the first claim and the one that took over");

    // An original that cannot be decoded: the reason is kept and answered.
    assert!(fixture.engine.claim_chunk(task, &keys[0], "a").await.unwrap().claimed);
    let refused = cvat_proto::task::ChunkBuilt { key: keys[0].clone(), error: "0.png is broken".into(), ..built };
    fixture.engine.complete_chunk(&refused).await.unwrap();
    let first_chunk = fixture.engine.locate_data(&locate(0)).await.unwrap().unbuilt.unwrap();
    assert_eq!(fixture.engine.chunk_state(&first_chunk).await.unwrap(), ChunkState::Failed("0.png is broken".into()));
    fixture.drop_schema().await;
}

/// The job list's two forms of the visibility rule (index walks for a user related to few
/// tasks, a scan for one related to many) select the same jobs as the plain rule.
#[tokio::test]
async fn job_lists_show_the_same_jobs_whichever_form_of_the_rule_serves_them() {
    let fixture = Fixture::new(4).await;
    let (many, few) = (caller(1), caller(2));
    let body = json!({"name": "first", "labels": [{"name": "car"}]}).to_string();
    // (A task each records both users.)
    fixture.engine.create_task(&many, &body).await.unwrap();
    fixture.engine.create_task(&few, &body).await.unwrap();
    let s = &fixture.schema;
    // User 1 owns 1,200 tasks of one job each; user 2 is assigned every hundredth job
    // and owns a project with two of user 1's tasks in it.
    fixture
        .admin
        .batch_execute(&format!(
            "INSERT INTO {s}.tasks (name, owner_id) SELECT 'task ' || g, 1 FROM generate_series(1, 1200) g;
             INSERT INTO {s}.segments (task_id, start_frame, stop_frame)
               SELECT id, 0, 9 FROM {s}.tasks WHERE name LIKE 'task %';
             INSERT INTO {s}.jobs (segment_id, task_id, assignee_id)
               SELECT s.id, s.task_id, CASE WHEN s.task_id % 100 = 0 THEN 2 END FROM {s}.segments s;
             INSERT INTO {s}.projects (name, owner_id) VALUES ('theirs', 2);
             UPDATE {s}.tasks SET project_id = (SELECT id FROM {s}.projects WHERE name = 'theirs')
               WHERE id IN (SELECT id FROM {s}.tasks WHERE name LIKE 'task %' ORDER BY id LIMIT 2);"
        ))
        .await
        .unwrap();
    for (who, user) in [(&many, 1i64), (&few, 2)] {
        let expected: i64 = fixture
            .admin
            .query_one(
                &format!(
                    "SELECT count(*) FROM {s}.jobs j JOIN {s}.tasks t ON t.id = j.task_id
                     LEFT JOIN {s}.projects p ON p.id = t.project_id
                     WHERE j.assignee_id = $1 OR t.owner_id = $1 OR t.assignee_id = $1
                     OR p.owner_id = $1 OR p.assignee_id = $1"
                ),
                &[&user],
            )
            .await
            .unwrap()
            .try_get(0)
            .expect("a count");
        let params = cvat_listing::ListParams { page: 1, page_size: 1000, ..Default::default() };
        let page = fixture.engine.list_jobs(who, &params).await.unwrap();
        assert_eq!(page.count, expected, "user {user}");
        assert_eq!(page.results.len() as i64, expected.min(1000), "user {user}");
    }
    fixture.drop_schema().await;
}

/// The task list's `search` (the task's own fields in one lower-cased column, the
/// project's and users' names looked up) and the job list's find exactly what CVAT's rule
/// finds: every term in one of the list's search fields, ignoring case, also after renames.
#[tokio::test]
async fn searches_find_what_an_ilike_per_search_field_finds() {
    let fixture = Fixture::new(4).await;
    let s = &fixture.schema;
    fixture
        .admin
        .batch_execute(&format!(
            "INSERT INTO {s}.users (id, username) VALUES (11, 'Ärger_99'), (12, 'plain'), (13, 'ΟΔΟΣ%');
             INSERT INTO {s}.projects (id, name, owner_id) VALUES (21, 'Street Views', 11), (22, 'p_99', 12);
             INSERT INTO {s}.tasks (name, owner_id, assignee_id, project_id, subset, status, mode, dimension,
                                   bug_tracker, validation_mode)
               SELECT 'Task ' || g || CASE WHEN g % 7 = 0 THEN ' STRASSE' ELSE '' END,
                      CASE WHEN g % 3 = 0 THEN 11 WHEN g % 3 = 1 THEN 12 END,
                      CASE WHEN g % 5 = 0 THEN 13 END,
                      CASE WHEN g % 4 = 0 THEN 21 WHEN g % 4 = 1 THEN 22 END,
                      CASE WHEN g % 2 = 0 THEN 'Train' ELSE '' END,
                      CASE WHEN g % 6 = 0 THEN 'completed' ELSE 'annotation' END,
                      CASE WHEN g % 2 = 0 THEN 'interpolation' ELSE 'annotation' END,
                      CASE WHEN g % 9 = 0 THEN '3d' ELSE '2d' END,
                      CASE WHEN g % 8 = 0 THEN 'https://bugs.example/' || g ELSE '' END,
                      CASE WHEN g % 10 = 0 THEN 'gt_pool' END
               FROM generate_series(1, 300) g;
             INSERT INTO {s}.segments (task_id, start_frame, stop_frame)
               SELECT t.id, k * 10, k * 10 + 9 FROM {s}.tasks t, generate_series(0, 2) k;
             INSERT INTO {s}.jobs (segment_id, task_id, assignee_id, state, stage)
               SELECT id, task_id, CASE WHEN id % 4 = 0 THEN 11 WHEN id % 4 = 1 THEN 13 END,
                      (ARRAY['new', 'in progress', 'rejected', 'completed'])[1 + id % 4],
                      (ARRAY['annotation', 'validation', 'acceptance'])[1 + id % 3]
               FROM {s}.segments;"
        ))
        .await
        .unwrap();
    let admin = {
        let principal =
            Principal { user_id: 1, username: "user1".into(), groups: vec!["admin".into()], ..Default::default() };
        let wire =
            cvat_proto::task::Caller { principal: Some(principal), org: None, base_url: "http://testserver".into() };
        Caller::from_wire(Some(wire)).unwrap()
    };
    /// A list: its rows as CVAT's rule reads them, and its search fields.
    struct Searched {
        jobs: bool,
        from: String,
        fields: &'static str,
    }
    let lists = [
        Searched {
            jobs: false,
            from: format!(
                "{s}.tasks t LEFT JOIN {s}.projects p ON p.id = t.project_id \
                 LEFT JOIN {s}.users o ON o.id = t.owner_id LEFT JOIN {s}.users a ON a.id = t.assignee_id"
            ),
            fields: "p.name, t.name, o.username, t.status, a.username, t.subset, t.mode, t.dimension, \
                     t.bug_tracker, t.validation_mode",
        },
        Searched {
            jobs: true,
            from: format!(
                "{s}.jobs t JOIN {s}.tasks tt ON tt.id = t.task_id LEFT JOIN {s}.projects p ON p.id = tt.project_id \
                 LEFT JOIN {s}.users a ON a.id = t.assignee_id"
            ),
            fields: "tt.name, p.name, a.username, t.state, t.stage",
        },
    ];
    async fn check(fixture: &Fixture, admin: &Caller, lists: &[Searched], label: &str) {
        let searches = [
            "task",
            "TASK 9",
            "strasse",
            "Straße",
            "ärger",
            "ÄRGER_9",
            "ΟΔΟΣ",
            "οδοσ",
            "%",
            "_",
            "r_9",
            "\\",
            "views",
            "street,train",
            "completed 3D",
            "gt_",
            "bugs.example/16",
            "interp",
            "2d",
            "nothing",
            "p_9",
            "plain 1",
            "IN PROGRESS",
            "progress task",
            "valid",
            "accept 12",
            "new,ärger",
        ];
        for list in lists {
            for search in searches {
                let terms: Vec<String> = search
                    .split(|c: char| c.is_whitespace() || c == ',')
                    .filter(|t| !t.is_empty())
                    .map(|t| format!("%{}%", t.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_")))
                    .collect();
                let conditions: Vec<String> = (1..=terms.len())
                    .map(|n| {
                        let any: Vec<String> =
                            list.fields.split(", ").map(|f| format!("({f})::text ILIKE ${n}")).collect();
                        format!("({})", any.join(" OR "))
                    })
                    .collect();
                let sql =
                    format!("SELECT t.id FROM {} WHERE {} ORDER BY t.id DESC", list.from, conditions.join(" AND "));
                let params: Vec<&(dyn tokio_postgres::types::ToSql + Sync)> =
                    terms.iter().map(|t| t as &(dyn tokio_postgres::types::ToSql + Sync)).collect();
                let rows = fixture.admin.query(&sql, &params).await.unwrap();
                let expected: Vec<i64> = rows.iter().map(|r| r.try_get(0).expect("an id")).collect();
                let params = cvat_listing::ListParams {
                    page: 1,
                    page_size: 1000,
                    search: search.to_string(),
                    ..Default::default()
                };
                let page = if list.jobs {
                    fixture.engine.list_jobs(admin, &params).await
                } else {
                    fixture.engine.list_tasks(admin, &params).await
                };
                let page = page.unwrap();
                let found: Vec<i64> = page
                    .results
                    .iter()
                    .map(|r| serde_json::from_str::<Value>(r).unwrap()["id"].as_i64().expect("an id"))
                    .collect();
                let what = if list.jobs { "jobs" } else { "tasks" };
                assert_eq!(found, expected, "{label}: {what} search {search:?}");
                assert_eq!(page.count, expected.len() as i64, "{label}: {what} search {search:?}");
            }
        }
    }
    check(&fixture, &admin, &lists, "as made").await;
    fixture
        .admin
        .batch_execute(&format!(
            "UPDATE {s}.projects SET name = 'Renamed' WHERE id = 21;
             UPDATE {s}.users SET username = 'Straße' WHERE id = 12;
             UPDATE {s}.users SET username = 'Progressive' WHERE id = 13;
             UPDATE {s}.tasks SET name = 'other', subset = 'Validation' WHERE id % 11 = 0;
             UPDATE {s}.jobs SET state = 'completed', stage = 'acceptance' WHERE id % 5 = 0;"
        ))
        .await
        .unwrap();
    check(&fixture, &admin, &lists, "after renames").await;
    fixture.drop_schema().await;
}

/// The periodic re-reading of users writes only names that changed: a write to the users
/// table, even of no row, would move the lists' generation and drop every kept count.
#[tokio::test]
async fn refreshing_unchanged_users_keeps_the_lists_counts() {
    let fixture = Fixture::new(2).await;
    let body = json!({"name": "first", "labels": [{"name": "car"}]}).to_string();
    fixture.engine.create_task(&caller(1), &body).await.unwrap();
    let s = &fixture.schema;
    let generation = || async {
        let row = fixture.admin.query_one(&format!("SELECT sum(n)::int8 FROM {s}.list_generations"), &[]).await;
        row.unwrap().try_get::<_, i64>(0).expect("a generation")
    };
    let before = generation().await;
    fixture.engine.refresh_all_users().await.unwrap();
    assert_eq!(generation().await, before, "nothing changed, nothing written");

    // A name that differs from the auth service's is written back.
    fixture.admin.batch_execute(&format!("UPDATE {s}.users SET username = 'stale' WHERE id = 1")).await.unwrap();
    let before = generation().await;
    fixture.engine.refresh_all_users().await.unwrap();
    assert!(generation().await > before, "the changed name was written");
    let name = fixture.admin.query_one(&format!("SELECT username FROM {s}.users WHERE id = 1"), &[]).await.unwrap();
    assert_eq!(name.try_get::<_, String>(0).unwrap(), "user1");
    fixture.drop_schema().await;
}
