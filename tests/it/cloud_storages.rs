//! Cloud storages against a user's own S3 server (a second s3s-fs on 127.0.0.2, started
//! by tests/run.sh; objects are put by writing files into its directory): attaching with
//! checked credentials, endpoints inside the server's network refused, status, actions,
//! content pages, preview, permissions, and task data read from the bucket.

use crate::common::*;
use crate::task_data::{new_task, png, request_of};
use reqwest::StatusCode;
use serde_json::{json, Value};

struct UserBucket {
    name: String,
    endpoint: String,
    key: String,
    secret: String,
}

fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| panic!("{name} is set by tests/run.sh"))
}

/// A bucket holding `set/a.png`, `set/b.png`, `set/sub/c.png`, `skip/d.png`, `notes.txt`.
fn user_bucket() -> UserBucket {
    let name = unique("bucket-");
    let root = std::path::Path::new(&env("CVAT_TEST_USER_S3_DIR")).join(&name);
    for (path, bytes) in [
        ("set/a.png", png(10, 8)),
        ("set/b.png", png(8, 10)),
        ("set/sub/c.png", png(6, 6)),
        ("skip/d.png", png(4, 4)),
        ("notes.txt", b"hello".to_vec()),
    ] {
        let file = root.join(path);
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
        std::fs::write(file, bytes).unwrap();
    }
    UserBucket {
        name,
        endpoint: env("CVAT_TEST_USER_S3"),
        key: env("CVAT_TEST_USER_S3_KEY"),
        secret: env("CVAT_TEST_USER_S3_SECRET"),
    }
}

fn storage_body(bucket: &UserBucket) -> Value {
    json!({
        "provider_type": "AWS_S3_BUCKET",
        "resource": bucket.name,
        "display_name": "my bucket",
        "credentials_type": "KEY_SECRET_KEY_PAIR",
        "key": bucket.key,
        "secret_key": bucket.secret,
        "specific_attributes": format!("endpoint_url={}&region=us-east-1", bucket.endpoint),
        "description": "images",
    })
}

fn with(mut body: Value, key: &str, value: Value) -> Value {
    body[key] = value;
    body
}

#[tokio::test]
async fn cloud_storages_are_checked_listed_and_feed_tasks() {
    let (user, username) = Caller::new().await;
    let (other, _) = Caller::new().await;
    let bucket = user_bucket();
    let body = storage_body(&bucket);

    // Refused before anything is stored.
    let own_store = "endpoint_url=http://127.0.0.1:8014&region=us-east-1";
    for (bad, field) in [
        (with(body.clone(), "secret_key", json!("wrong-secret")), "credentials_type"),
        (with(body.clone(), "resource", json!("no-such-bucket")), "resource"),
        (with(body.clone(), "specific_attributes", json!(own_store)), "specific_attributes"),
        (with(body.clone(), "specific_attributes", json!("endpoint_url=http://localhost:8014")), "specific_attributes"),
        (with(body.clone(), "specific_attributes", json!("colour=blue")), "specific_attributes"),
        (with(body.clone(), "provider_type", json!("AZURE_CONTAINER")), "provider_type"),
        (with(body.clone(), "provider_type", json!("FTP")), "provider_type"),
        (with(body.clone(), "secret_key", Value::Null), "secret_key"),
        // Keys that cannot go into a request header (the S3 client once panicked on them).
        (with(body.clone(), "key", json!("AK\nIA")), "key"),
        (with(body.clone(), "session_token", json!("to ken")), "session_token"),
    ] {
        let response = user.post("/api/cloudstorages", None, bad.clone()).await;
        let error = expect(response, StatusCode::BAD_REQUEST).await;
        assert!(error.get(field).is_some(), "{bad}: {error}");
    }
    assert_eq!(results(&user, "/api/cloudstorages", None).await.len(), 0);

    let created = expect(user.post("/api/cloudstorages", None, body.clone()).await, StatusCode::CREATED).await;
    let id = created["id"].as_i64().unwrap();
    assert_eq!(created["owner"]["username"], username.as_str());
    assert_eq!(
        (created["resource"].as_str(), created["display_name"].as_str()),
        (Some(bucket.name.as_str()), Some("my bucket"))
    );
    assert!(created.get("secret_key").is_none() && created.get("key").is_none(), "keys are never shown");
    assert!(!created.to_string().contains(&bucket.secret));
    let path = format!("/api/cloudstorages/{id}");
    assert_eq!(expect(user.get(&format!("{path}/status"), None).await, StatusCode::OK).await, json!("AVAILABLE"));
    assert_eq!(
        expect(user.get(&format!("{path}/actions"), None).await, StatusCode::OK).await,
        json!(["read", "write"])
    );
    let listed =
        results(&user, &format!("/api/cloudstorages?filter={}", r#"{"==":[{"var":"name"},"my bucket"]}"#), None).await;
    assert_eq!(listed.len(), 1);

    // Content, one level at a time, in pages.
    let content = |query: &str| {
        let url = format!("{path}/content-v2?{query}");
        let user = &user;
        async move { user.get(&url, None).await }
    };
    let root = expect(content("").await, StatusCode::OK).await;
    let entries: Vec<(String, String)> = root["content"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["name"].as_str().unwrap().to_string(), e["type"].as_str().unwrap().to_string()))
        .collect();
    let expected = [("notes.txt", "REG"), ("set", "DIR"), ("skip", "DIR")].map(|(n, t)| (n.to_string(), t.to_string()));
    assert_eq!(entries, expected);
    let set = expect(content("prefix=set/").await, StatusCode::OK).await;
    assert_eq!(set["content"][0], json!({"name": "a.png", "type": "REG", "mime_type": "image"}));
    assert_eq!(set["content"][2]["name"], "sub");
    let first = expect(content("prefix=set/&page_size=1").await, StatusCode::OK).await;
    let token = first["next"].as_str().expect("a next token").to_string();
    let second = expect(content(&format!("prefix=set/&page_size=1&next_token={token}")).await, StatusCode::OK).await;
    assert_eq!(second["content"][0]["name"], "b.png");
    expect(content("page_size=0").await, StatusCode::BAD_REQUEST).await;
    let preview = user.get(&format!("{path}/preview"), None).await;
    assert_eq!(preview.headers()["content-type"], "image/jpeg");
    assert!(image::load_from_memory(&preview.bytes().await.unwrap()).is_ok());

    // Other users see nothing of it.
    for endpoint in ["", "/status", "/content-v2", "/preview", "/actions"] {
        expect(other.get(&format!("{path}{endpoint}"), None).await, StatusCode::FORBIDDEN).await;
    }
    assert!(results(&other, "/api/cloudstorages", None).await.is_empty());
    expect(other.patch(&path, json!({"display_name": "mine now"})).await, StatusCode::FORBIDDEN).await;
    expect(other.delete(&path).await, StatusCode::FORBIDDEN).await;

    // Task data from the bucket: a directory, an exclusion, a pattern.
    let task = new_task(&user).await;
    let data = json!({"image_quality": 70, "cloud_storage_id": id, "server_files": ["set/"],
                      "server_files_exclude": ["set/sub/"]});
    expect(user.post(&format!("/api/tasks/{task}/data/"), None, data.clone()).await, StatusCode::ACCEPTED).await;
    assert_eq!(request_of(&user, task).await["status"], "finished");
    let meta = expect(user.get(&format!("/api/tasks/{task}/data/meta"), None).await, StatusCode::OK).await;
    let names: Vec<&str> = meta["frames"].as_array().unwrap().iter().map(|f| f["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["set/a.png", "set/b.png"]);
    let frame = user.get(&format!("/api/tasks/{task}/data?type=frame&number=1&quality=original"), None).await;
    assert_eq!(frame.bytes().await.unwrap().as_ref(), png(8, 10).as_slice());
    let read = expect(user.get(&format!("/api/tasks/{task}"), None).await, StatusCode::OK).await;
    assert_eq!((read["size"].as_i64(), read["data_cloud_storage_id"].as_i64()), (Some(2), Some(id)));

    let task = new_task(&user).await;
    let patterned = json!({"image_quality": 70, "cloud_storage_id": id, "filename_pattern": "*/[cd].png"});
    expect(user.post(&format!("/api/tasks/{task}/data/"), None, patterned).await, StatusCode::ACCEPTED).await;
    assert_eq!(request_of(&user, task).await["status"], "finished");
    let meta = expect(user.get(&format!("/api/tasks/{task}/data/meta"), None).await, StatusCode::OK).await;
    let names: Vec<&str> = meta["frames"].as_array().unwrap().iter().map(|f| f["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["set/sub/c.png", "skip/d.png"]);

    // Someone else's storage cannot feed their task.
    let foreign = new_task(&other).await;
    let response = other.post(&format!("/api/tasks/{foreign}/data/"), None, data.clone()).await;
    expect(response, StatusCode::FORBIDDEN).await;

    // Projects and tasks may name it as their source or target storage.
    let storage = |id: Value| json!({"location": "cloud_storage", "cloud_storage_id": id});
    let project = json!({"name": "p", "labels": [{"name": "a"}], "source_storage": storage(json!(id))});
    let created_project = expect(user.post("/api/projects", None, project.clone()).await, StatusCode::CREATED).await;
    assert_eq!(created_project["source_storage"]["cloud_storage_id"], id);
    expect(other.post("/api/projects", None, project).await, StatusCode::FORBIDDEN).await;
    for bad in [storage(json!(999_999_999)), json!({"location": "cloud_storage"})] {
        let body = json!({"name": "t", "labels": [{"name": "a"}], "target_storage": bad});
        expect(user.post("/api/tasks", None, body).await, StatusCode::BAD_REQUEST).await;
    }

    // Changes are checked like a creation; a bad one leaves the storage as it was.
    let renamed = expect(user.patch(&path, json!({"display_name": "renamed"})).await, StatusCode::OK).await;
    assert_eq!(renamed["display_name"], "renamed");
    expect(user.patch(&path, json!({"secret_key": "wrong-secret"})).await, StatusCode::BAD_REQUEST).await;
    assert_eq!(expect(user.get(&format!("{path}/status"), None).await, StatusCode::OK).await, json!("AVAILABLE"));
    expect(user.delete(&path).await, StatusCode::NO_CONTENT).await;
    expect(user.get(&path, None).await, StatusCode::NOT_FOUND).await;
    let task = new_task(&user).await;
    let gone = user.post(&format!("/api/tasks/{task}/data/"), None, data).await;
    expect(gone, StatusCode::BAD_REQUEST).await;
}

#[tokio::test]
async fn organization_supervisors_see_storages_and_workers_do_not() {
    let (owner, _) = Caller::new().await;
    let (supervisor, supervisor_name) = Caller::new().await;
    let (worker, worker_name) = Caller::new().await;
    let (slug, _) =
        organization(&owner, &[(&supervisor, &supervisor_name, "supervisor"), (&worker, &worker_name, "worker")]).await;
    let bucket = user_bucket();
    let created =
        expect(owner.post("/api/cloudstorages", Some(&slug), storage_body(&bucket)).await, StatusCode::CREATED).await;
    assert!(created["organization"].as_i64().is_some());
    let path = format!("/api/cloudstorages/{}", created["id"]);
    expect(supervisor.get(&path, Some(&slug)).await, StatusCode::OK).await;
    assert_eq!(results(&supervisor, "/api/cloudstorages", Some(&slug)).await.len(), 1);
    expect(worker.get(&path, Some(&slug)).await, StatusCode::FORBIDDEN).await;
    assert!(results(&worker, "/api/cloudstorages", Some(&slug)).await.is_empty());
    let response = supervisor.post("/api/cloudstorages", Some(&slug), storage_body(&bucket)).await;
    expect(response, StatusCode::FORBIDDEN).await;
    expect(supervisor.delete(&path).await, StatusCode::FORBIDDEN).await;
}
