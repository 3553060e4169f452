//! Projects, tasks, jobs and labels end to end: read models, label changes, moves
//! between projects, lists with every parameter, and bad input that writes nothing.

use crate::common::*;
use reqwest::StatusCode;
use serde_json::{json, Value};

fn labels_spec() -> Value {
    json!([
        {"name": "car", "color": "#ff0000", "attributes": [
            {"name": "model", "mutable": false, "input_type": "select", "values": ["a", "b"], "default_value": "b"},
            {"name": "speed", "mutable": true, "input_type": "number", "values": ["0", "200", "5"]}
        ]},
        {"name": "person", "type": "skeleton", "svg": "<circle data-label-name=\"head\"/>",
         "sublabels": [{"name": "head"}, {"name": "hand"}]}
    ])
}

/// Every key of the reference read model is present, with JSON types the client accepts.
fn assert_task_read(task: &Value) {
    for key in [
        "url",
        "id",
        "name",
        "project_id",
        "project_name",
        "owner",
        "assignee",
        "bug_tracker",
        "created_date",
        "updated_date",
        "overlap",
        "segment_size",
        "initial_replicas",
        "status",
        "data_chunk_size",
        "data_original_chunk_type",
        "data_compressed_chunk_type",
        "data_cloud_storage_id",
        "guide_id",
        "size",
        "image_quality",
        "data",
        "dimension",
        "mode",
        "media_type",
        "subset",
        "organization",
        "organization_id",
        "target_storage",
        "source_storage",
        "assignee_updated_date",
        "validation_mode",
        "jobs",
        "labels",
    ] {
        assert!(task.get(key).is_some(), "TaskRead lacks {key}: {task}");
    }
    assert!(
        task["jobs"]["completed"].is_i64() && task["jobs"]["validation"].is_i64() && task["jobs"]["count"].is_i64()
    );
    assert!(task["size"].is_i64() && task["segment_size"].is_i64() && task["image_quality"].is_i64());
    assert!(chrono::DateTime::parse_from_rfc3339(task["created_date"].as_str().unwrap()).is_ok());
}

fn assert_project_read(project: &Value) {
    for key in [
        "url",
        "id",
        "name",
        "owner",
        "assignee",
        "guide_id",
        "bug_tracker",
        "task_subsets",
        "created_date",
        "updated_date",
        "status",
        "dimension",
        "organization",
        "organization_id",
        "target_storage",
        "source_storage",
        "assignee_updated_date",
        "tasks",
        "labels",
    ] {
        assert!(project.get(key).is_some(), "ProjectRead lacks {key}: {project}");
    }
}

fn assert_job_read(job: &Value) {
    for key in [
        "url",
        "id",
        "task_id",
        "task_name",
        "project_id",
        "project_name",
        "assignee",
        "guide_id",
        "dimension",
        "mode",
        "media_type",
        "bug_tracker",
        "status",
        "stage",
        "state",
        "frame_count",
        "start_frame",
        "stop_frame",
        "data_chunk_size",
        "data_compressed_chunk_type",
        "data_original_chunk_type",
        "created_date",
        "updated_date",
        "type",
        "organization",
        "target_storage",
        "source_storage",
        "assignee_updated_date",
        "parent_job_id",
        "replicas_count",
        "issues",
        "labels",
    ] {
        assert!(job.get(key).is_some(), "JobRead lacks {key}: {job}");
    }
}

fn names(items: &[Value]) -> Vec<&str> {
    items.iter().map(|i| i["name"].as_str().unwrap()).collect()
}

#[tokio::test]
async fn projects_tasks_and_labels() {
    let (user, username) = Caller::new().await;
    let project = expect(
        user.post(
            "/api/projects",
            None,
            json!({"name": "roads", "labels": labels_spec(), "bug_tracker": "http://bt/1",
            "source_storage": {"location": "local"}}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    assert_project_read(&project);
    let project_id = project["id"].as_i64().unwrap();
    assert_eq!(project["owner"]["username"], username.as_str());
    assert_eq!(project["source_storage"]["location"], "local");
    assert!(project["source_storage"]["id"].is_i64());
    assert_eq!(project["tasks"]["count"], 0);

    let labels = results(&user, &format!("/api/labels?project_id={project_id}"), None).await;
    assert_eq!(names(&labels), ["car", "person"]);
    let car = &labels[0];
    assert_eq!(car["attributes"][0]["default_value"], "b");
    assert_eq!(car["attributes"][1]["values"], json!(["0", "200", "5"]));
    let skeleton = &labels[1];
    let head_id = skeleton["sublabels"][0]["id"].as_i64().unwrap();
    assert_eq!(skeleton["svg"], format!("<circle data-label-id=\"{head_id}\"/>"));
    assert_eq!(skeleton["sublabels"][0]["has_parent"], true);
    assert!(skeleton["color"].as_str().unwrap().starts_with('#'));

    // A task in the project uses the project's labels.
    let task = expect(
        user.post(
            "/api/tasks",
            None,
            json!({"name": "day 1", "project_id": project_id, "subset": "train",
            "segment_size": 4}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    assert_task_read(&task);
    let task_id = task["id"].as_i64().unwrap();
    assert_eq!((task["project_name"].as_str(), task["subset"].as_str()), (Some("roads"), Some("train")));
    assert_eq!(task["source_storage"]["location"], "local", "inherited from the project");
    assert_eq!(names(&results(&user, &format!("/api/labels?task_id={task_id}"), None).await), ["car", "person"]);
    let project = expect(user.get(&format!("/api/projects/{project_id}"), None).await, StatusCode::OK).await;
    assert_eq!((project["tasks"]["count"].as_i64(), project["task_subsets"].clone()), (Some(1), json!(["train"])));

    // A standalone task moves into the project when its labels exist there by name.
    let standalone = expect(
        user.post("/api/tasks", None, json!({"name": "loose", "labels": [{"name": "car"}]})).await,
        StatusCode::CREATED,
    )
    .await;
    let standalone_id = standalone["id"].as_i64().unwrap();
    let odd = expect(
        user.post("/api/tasks", None, json!({"name": "odd", "labels": [{"name": "tree"}]})).await,
        StatusCode::CREATED,
    )
    .await;
    let odd_id = odd["id"].as_i64().unwrap();
    let refused = expect(
        user.patch(&format!("/api/tasks/{odd_id}"), json!({"project_id": project_id})).await,
        StatusCode::BAD_REQUEST,
    )
    .await;
    assert!(refused[0].as_str().unwrap().contains("tree"), "{refused}");
    let odd_after = expect(user.get(&format!("/api/tasks/{odd_id}"), None).await, StatusCode::OK).await;
    assert_eq!(odd_after["project_id"], Value::Null, "nothing written");
    assert_eq!(names(&results(&user, &format!("/api/labels?task_id={odd_id}"), None).await), ["tree"]);
    let moved = expect(
        user.patch(&format!("/api/tasks/{standalone_id}"), json!({"project_id": project_id})).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(moved["project_id"], project_id);
    assert_eq!(names(&results(&user, &format!("/api/labels?task_id={standalone_id}"), None).await), ["car", "person"]);

    // Label changes through the project: rename, recolor, add an attribute, add a label, delete one.
    let car_id = car["id"].as_i64().unwrap();
    let person_id = skeleton["id"].as_i64().unwrap();
    let changed = expect(
        user.patch(
            &format!("/api/projects/{project_id}"),
            json!({"labels": [
                {"id": car_id, "name": "vehicle", "color": "#00ff00",
                 "attributes": [{"name": "doors", "mutable": false, "input_type": "radio", "values": ["2", "4"]}]},
                {"name": "sign", "type": "rectangle"},
                {"id": person_id, "deleted": true}
            ]}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_project_read(&changed);
    let labels = results(&user, &format!("/api/labels?project_id={project_id}"), None).await;
    assert_eq!(names(&labels), ["vehicle", "sign"]);
    assert_eq!(labels[0]["color"], "#00ff00");
    assert_eq!(labels[0]["attributes"].as_array().unwrap().len(), 3);
    expect(user.get(&format!("/api/labels/{head_id}"), None).await, StatusCode::NOT_FOUND).await;
    let unknown = json!({"labels": [{"id": 999999999, "name": "x"}]});
    expect(user.patch(&format!("/api/projects/{project_id}"), unknown).await, StatusCode::NOT_FOUND).await;

    // /api/labels/{id}: retrieve, patch, delete.
    let sign_id = labels[1]["id"].as_i64().unwrap();
    let sign =
        expect(user.patch(&format!("/api/labels/{sign_id}"), json!({"name": "stop sign"})).await, StatusCode::OK).await;
    assert_eq!((sign["name"].as_str(), sign["project_id"].as_i64()), (Some("stop sign"), Some(project_id)));
    assert_eq!(sign["type"], "rectangle", "a PATCH without a type keeps it");
    expect(user.patch(&format!("/api/labels/{sign_id}"), json!({"deleted": true})).await, StatusCode::BAD_REQUEST)
        .await;
    let duplicate = user.patch(&format!("/api/labels/{sign_id}"), json!({"name": "vehicle"})).await;
    assert_eq!(expect(duplicate, StatusCode::BAD_REQUEST).await, json!(["All label names must be unique"]));
    expect(user.delete(&format!("/api/labels/{sign_id}")).await, StatusCode::NO_CONTENT).await;
    assert_eq!(names(&results(&user, &format!("/api/labels?project_id={project_id}"), None).await), ["vehicle"]);

    // Lists: equality, search, filter, sort, paging, the legacy alias.
    let tasks = results(&user, &format!("/api/tasks?project_id={project_id}&sort=name"), None).await;
    assert_eq!(names(&tasks), ["day 1", "loose"]);
    let filter =
        urlencode(&json!({"and": [{"==": [{"var": "project_name"}, "roads"]}, {"in": ["oos", {"var": "name"}]}]}));
    assert_eq!(names(&results(&user, &format!("/api/tasks?filter={filter}"), None).await), ["loose"]);
    assert_eq!(names(&results(&user, "/api/tasks?search=day&sort=-id", None).await), ["day 1"]);
    assert_eq!(names(&results(&user, &format!("/api/tasks?owner={username}&subset=train"), None).await), ["day 1"]);
    let page = expect(user.get("/api/tasks?page_size=1&sort=id", None).await, StatusCode::OK).await;
    assert_eq!((page["count"].as_i64(), page["results"].as_array().unwrap().len()), (Some(3), 1));
    assert!(page["next"].as_str().unwrap().contains("page=2"));
    expect(user.get("/api/tasks?page=9", None).await, StatusCode::NOT_FOUND).await;
    let alias = results(&user, &format!("/api/projects/{project_id}/tasks?sort=name"), None).await;
    assert_eq!(names(&alias), ["day 1", "loose"]);
    assert_eq!(names(&results(&user, "/api/projects?search=road", None).await), ["roads"]);

    // Updating and deleting: the project takes its tasks with it.
    let renamed = expect(
        user.patch(&format!("/api/tasks/{task_id}"), json!({"name": "day one", "bug_tracker": "http://x"})).await,
        StatusCode::OK,
    )
    .await;
    assert_task_read(&renamed);
    assert_eq!(renamed["name"], "day one");
    let write_once = user.patch(&format!("/api/tasks/{task_id}"), json!({"segment_size": 2})).await;
    assert_eq!(
        expect(write_once, StatusCode::FORBIDDEN).await,
        json!({"detail": "Attempted to update an unknown field"})
    );
    expect(user.delete(&format!("/api/projects/{project_id}")).await, StatusCode::NO_CONTENT).await;
    expect(user.get(&format!("/api/tasks/{task_id}"), None).await, StatusCode::NOT_FOUND).await;
    expect(user.get(&format!("/api/tasks/{odd_id}"), None).await, StatusCode::OK).await;
    expect(user.delete(&format!("/api/tasks/{odd_id}")).await, StatusCode::NO_CONTENT).await;
    expect(user.delete(&format!("/api/tasks/{odd_id}")).await, StatusCode::NOT_FOUND).await;
}

fn urlencode(value: &Value) -> String {
    let text = value.to_string();
    let mut out = String::new();
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[tokio::test]
async fn jobs_of_a_processed_task() {
    let (user, _) = Caller::new().await;
    let (assignee, assignee_name) = Caller::new().await;
    let assignee_id = assignee.id().await;
    let (slug, _) = organization(&user, &[(&assignee, &assignee_name, "worker")]).await;
    let task = expect(
        user.post(
            "/api/tasks",
            Some(&slug),
            json!({"name": "clip", "labels": [{"name": "car"}], "segment_size": 4,
            "overlap": 1}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    let task_id = task["id"].as_i64().unwrap();
    let processed = process_images(&user, task_id, 10).await;
    assert_eq!((processed["size"].as_i64(), processed["jobs"]["count"].as_i64()), (Some(10), Some(3)));

    let jobs = results(&user, &format!("/api/jobs?task_id={task_id}&sort=id"), Some(&slug)).await;
    let ranges: Vec<(i64, i64)> =
        jobs.iter().map(|j| (j["start_frame"].as_i64().unwrap(), j["stop_frame"].as_i64().unwrap())).collect();
    assert_eq!(ranges, [(0, 3), (3, 6), (6, 9)]);
    jobs.iter().for_each(assert_job_read);
    assert_eq!((jobs[0]["frame_count"].as_i64(), jobs[0]["type"].as_str()), (Some(4), Some("annotation")));
    let alias = results(&user, &format!("/api/tasks/{task_id}/jobs"), None).await;
    assert_eq!(alias.len(), 3);
    assert_eq!(results(&user, &format!("/api/labels?job_id={}", jobs[0]["id"]), None).await.len(), 1);

    // Assign a job to the worker: they see it (and only it), and may change its state, not its stage.
    let job_id = jobs[1]["id"].as_i64().unwrap();
    let assigned =
        expect(user.patch(&format!("/api/jobs/{job_id}"), json!({"assignee": assignee_id})).await, StatusCode::OK)
            .await;
    assert_eq!(assigned["assignee"]["id"], assignee_id);
    assert!(assigned["assignee_updated_date"].is_string());
    let visible = results(&assignee, "/api/jobs", Some(&slug)).await;
    assert_eq!(visible.iter().map(|j| j["id"].as_i64().unwrap()).collect::<Vec<_>>(), [job_id]);
    expect(assignee.get(&format!("/api/tasks/{task_id}"), None).await, StatusCode::FORBIDDEN).await;
    expect(assignee.get(&format!("/api/jobs/{}", jobs[0]["id"]), None).await, StatusCode::FORBIDDEN).await;
    let working =
        expect(assignee.patch(&format!("/api/jobs/{job_id}"), json!({"state": "in progress"})).await, StatusCode::OK)
            .await;
    assert_eq!(working["state"], "in progress");
    expect(assignee.patch(&format!("/api/jobs/{job_id}"), json!({"stage": "acceptance"})).await, StatusCode::FORBIDDEN)
        .await;

    // A stage change without a state resets the state; statuses follow.
    let staged =
        expect(user.patch(&format!("/api/jobs/{job_id}"), json!({"stage": "validation"})).await, StatusCode::OK).await;
    assert_eq!((staged["state"].as_str(), staged["status"].as_str()), (Some("new"), Some("validation")));
    for job in &jobs {
        let body = json!({"stage": "acceptance", "state": "completed"});
        expect(user.patch(&format!("/api/jobs/{}", job["id"]), body).await, StatusCode::OK).await;
    }
    let done = expect(user.get(&format!("/api/tasks/{task_id}"), None).await, StatusCode::OK).await;
    assert_eq!((done["status"].as_str(), done["jobs"]["completed"].as_i64()), (Some("completed"), Some(3)));
    let filtered = results(&user, "/api/jobs?stage=acceptance&state=completed", Some(&slug)).await;
    assert_eq!(filtered.len(), 3);

    let bad_state = user.patch(&format!("/api/jobs/{job_id}"), json!({"state": "finished"})).await;
    assert!(expect(bad_state, StatusCode::BAD_REQUEST).await.get("state").is_some());
    let removal = user.delete(&format!("/api/jobs/{job_id}")).await;
    assert_eq!(expect(removal, StatusCode::BAD_REQUEST).await, json!(["Only ground truth jobs can be removed"]));
}

#[tokio::test]
async fn bad_input_is_refused_and_writes_nothing() {
    let (user, _) = Caller::new().await;
    let cases = [
        json!({"name": "p", "labels": [{"name": "a"}, {"name": "a"}]}),
        json!({"name": "p", "labels": [{"name": "a", "attributes": [
            {"name": "x", "mutable": true, "input_type": "slider", "values": []}]}]}),
        json!({"name": "p", "labels": [{"name": "a", "attributes": [
            {"name": "x", "mutable": true, "input_type": "select", "values": ["1", "2"], "default_value": "3"}]}]}),
        json!({"name": "p", "labels": [{"name": "a", "color": "blue"}]}),
        json!({"name": "p", "labels": [{"name": "s", "type": "skeleton"}]}),
        json!({"name": ""}),
        json!({"name": 7}),
        json!({"name": "p", "assignee_id": "me"}),
        json!({"name": "p", "labels": "car"}),
        json!({"name": "p", "target_storage": {"location": "moon"}}),
    ];
    for body in cases {
        let response = user.post("/api/projects", None, body.clone()).await;
        let status = response.status();
        let text = response.text().await.unwrap();
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body} -> {text}");
        assert!(serde_json::from_str::<Value>(&text).is_ok(), "{text}");
    }
    assert!(results(&user, "/api/projects", None).await.is_empty(), "nothing was written");

    let tasks = [
        json!({"name": "t"}),
        json!({"name": "t", "project_id": 999999999}),
        json!({"name": "t", "labels": [{"name": "a"}], "segment_size": -1}),
        json!({"name": "t", "labels": [{"name": "a"}], "overlap": "x"}),
    ];
    for body in tasks {
        let response = user.post("/api/tasks", None, body.clone()).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{body}");
    }
    assert!(results(&user, "/api/tasks", None).await.is_empty(), "nothing was written");

    for query in [
        "page_size=0",
        "page_size=-1",
        "page_size=100000",
        "filter=%7Bnot-json",
        "filter=%7B%22%3D%3D%22%3A%5B%7B%22var%22%3A%22secret%22%7D%2C1%5D%7D",
        "sort=password",
        "project_id=abc",
    ] {
        let response = user.get(&format!("/api/tasks?{query}"), None).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{query}");
        assert!(response.json::<Value>().await.is_ok(), "{query}");
    }
    expect(user.get("/api/tasks?org=no-such-org", None).await, StatusCode::NOT_FOUND).await;
    expect(user.get("/api/labels?task_id=1&project_id=1", None).await, StatusCode::BAD_REQUEST).await;
    expect(user.get("/api/projects/999999999", None).await, StatusCode::NOT_FOUND).await;
    expect(user.get("/api/jobs/abc", None).await, StatusCode::NOT_FOUND).await;
}

/// Polls `path` as `caller` until `check` holds (the task service hears of user changes
/// over the queue), for at most ten seconds.
async fn eventually(caller: &Caller, path: &str, check: impl Fn(&Value) -> bool) -> Value {
    for _ in 0..100 {
        let body = expect(caller.get(path, None).await, StatusCode::OK).await;
        if check(&body) {
            return body;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("{path} never reached the expected state");
}

#[tokio::test]
async fn owners_follow_user_renames_and_deletions() {
    let (user, _) = Caller::new().await;
    let user_id = user.id().await;
    let admin = Caller::admin().await;
    let project = expect(user.post("/api/projects", None, json!({"name": "named"})).await, StatusCode::CREATED).await;
    let path = format!("/api/projects/{}", project["id"]);
    let renamed = unique("renamed");
    let body = json!({"username": renamed, "first_name": "Ada"});
    expect(user.patch(&format!("/api/users/{user_id}"), body).await, StatusCode::OK).await;
    let project = eventually(&user, &path, |p| p["owner"]["username"] == renamed.as_str()).await;
    assert_eq!(project["owner"]["first_name"], "Ada");
    assert_eq!(results(&user, &format!("/api/projects?owner={renamed}"), None).await.len(), 1);

    expect(admin.delete(&format!("/api/users/{user_id}")).await, StatusCode::NO_CONTENT).await;
    eventually(&admin, &path, |p| p["owner"].is_null()).await;
}

#[tokio::test]
async fn deleting_an_organization_deletes_its_projects_and_tasks() {
    let (owner, _) = Caller::new().await;
    let admin = Caller::admin().await;
    let (slug, org_id) = organization(&owner, &[]).await;
    let project = expect(
        owner.post("/api/projects", Some(&slug), json!({"name": "doomed", "labels": [{"name": "a"}]})).await,
        StatusCode::CREATED,
    )
    .await;
    let task = expect(
        owner.post("/api/tasks", Some(&slug), json!({"name": "doomed", "project_id": project["id"]})).await,
        StatusCode::CREATED,
    )
    .await;
    let kept = expect(owner.post("/api/projects", None, json!({"name": "kept"})).await, StatusCode::CREATED).await;
    expect(owner.delete(&format!("/api/organizations/{org_id}")).await, StatusCode::NO_CONTENT).await;
    for _ in 0..100 {
        if admin.get(&format!("/api/tasks/{}", task["id"]), None).await.status() == StatusCode::NOT_FOUND {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    expect(admin.get(&format!("/api/tasks/{}", task["id"]), None).await, StatusCode::NOT_FOUND).await;
    expect(admin.get(&format!("/api/projects/{}", project["id"]), None).await, StatusCode::NOT_FOUND).await;
    expect(owner.get(&format!("/api/projects/{}", kept["id"]), None).await, StatusCode::OK).await;
}

/// The task service keeps list counts between writes. Whatever runs at the same time, a
/// count read after a write was answered includes that write, and every count is exact
/// once the writers stop — for searches, filters and the plain list alike.
#[tokio::test]
async fn list_counts_stay_exact_under_concurrent_writes() {
    const WRITERS: usize = 4;
    const ROUNDS: usize = 6;
    let user = std::sync::Arc::new(Caller::new().await.0);
    let marker = unique("counted");
    let count = |user: std::sync::Arc<Caller>, path: String| async move {
        expect(user.get(&path, None).await, StatusCode::OK).await["count"].as_i64().unwrap()
    };
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    // Readers keep counts kept at every generation the writers pass through.
    let mut readers = tokio::task::JoinSet::new();
    for path in [format!("/api/tasks?search={marker}"), "/api/tasks".to_string(), "/api/jobs".to_string()] {
        let (user, stop) = (user.clone(), stop.clone());
        readers.spawn(async move {
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                count(user.clone(), path.clone()).await;
            }
        });
    }
    let mut writers = tokio::task::JoinSet::new();
    for writer in 0..WRITERS {
        let (user, marker) = (user.clone(), marker.clone());
        writers.spawn(async move {
            let own = format!("/api/tasks?search={marker}w{writer}x");
            let mut live = Vec::new();
            for round in 0..ROUNDS {
                let body = json!({"name": format!("{marker}w{writer}x r{round}"), "labels": [{"name": "a"}]});
                live.push(
                    expect(user.post("/api/tasks", None, body).await, StatusCode::CREATED).await["id"]
                        .as_i64()
                        .unwrap(),
                );
                assert_eq!(count(user.clone(), own.clone()).await, live.len() as i64, "after a create");
                if round % 2 == 1 {
                    let gone = live.remove(0);
                    expect(user.delete(&format!("/api/tasks/{gone}")).await, StatusCode::NO_CONTENT).await;
                    assert_eq!(count(user.clone(), own.clone()).await, live.len() as i64, "after a delete");
                }
            }
            live.len()
        });
    }
    let mut total = 0;
    while let Some(live) = writers.join_next().await {
        total += live.unwrap();
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    while let Some(done) = readers.join_next().await {
        done.unwrap();
    }
    assert_eq!(total, WRITERS * ROUNDS / 2);
    assert_eq!(count(user.clone(), format!("/api/tasks?search={marker}")).await, total as i64);
    assert_eq!(count(user.clone(), "/api/tasks".to_string()).await, total as i64);
    let filter = "/api/tasks?filter=%7B%22%3D%3D%22%3A%5B%7B%22var%22%3A%22status%22%7D%2C%22annotation%22%5D%7D";
    assert_eq!(count(user.clone(), filter.to_string()).await, total as i64);
    let listed = results(&user, &format!("/api/tasks?search={marker}&page_size=100"), None).await;
    assert_eq!(listed.len(), total);
}
