//! Annotations over the wire: bad input refused with nothing saved (ids, sizes, bodies
//! cut off), objects going with their task, and the change log. The client round trips
//! are in the compatibility suite (tests/compat/test_annotations.py).

use crate::common::{expect, process_images, unique, url, Caller};
use reqwest::StatusCode;
use serde_json::{json, Value};

/// A task with one label and `frames` frames in one job; answers (task, job, label).
async fn annotated_task(caller: &Caller, frames: usize) -> (i64, i64, i64) {
    let task = expect(
        caller.post("/api/tasks", None, json!({"name": unique("a"), "labels": [{"name": "car"}]})).await,
        StatusCode::CREATED,
    )
    .await;
    let task_id = task["id"].as_i64().unwrap();
    process_images(caller, task_id, frames).await;
    let jobs = crate::common::results(caller, &format!("/api/jobs?task_id={task_id}"), None).await;
    let labels = crate::common::results(caller, &format!("/api/labels?task_id={task_id}"), None).await;
    (task_id, jobs[0]["id"].as_i64().unwrap(), labels[0]["id"].as_i64().unwrap())
}

fn boxes(label: i64, count: usize) -> Value {
    let shapes: Vec<Value> = (0..count)
        .map(|i| json!({"type": "rectangle", "frame": 0, "label_id": label, "points": [i as f64, 0.0, 10.0, 10.0]}))
        .collect();
    json!({ "shapes": shapes })
}

async fn save(caller: &Caller, job: i64, action: Option<&str>, body: Value) -> reqwest::Response {
    let (method, query) = match action {
        None => (reqwest::Method::PUT, String::new()),
        Some(action) => (reqwest::Method::PATCH, format!("?action={action}")),
    };
    caller.call(method, &format!("/api/jobs/{job}/annotations/{query}"), None, Some(body)).await
}

async fn stored(caller: &Caller, job: i64) -> Value {
    expect(caller.get(&format!("/api/jobs/{job}/annotations/"), None).await, StatusCode::OK).await
}

#[tokio::test]
async fn updates_and_deletes_name_objects_once() {
    let (caller, _) = Caller::new().await;
    let (_, job, label) = annotated_task(&caller, 2).await;
    let saved = expect(save(&caller, job, None, boxes(label, 2)).await, StatusCode::OK).await;
    let ids: Vec<i64> = saved["shapes"].as_array().unwrap().iter().map(|s| s["id"].as_i64().unwrap()).collect();
    let mut shape = saved["shapes"][0].clone();

    shape["points"] = json!([1.0, 1.0, 2.0, 2.0]);
    let twice =
        expect(save(&caller, job, Some("update"), json!({"shapes": [shape, shape]})).await, StatusCode::BAD_REQUEST)
            .await;
    assert!(twice["shapes"][1]["id"][0].as_str().unwrap().contains("twice"), "{twice}");
    let mut stranger = shape.clone();
    stranger["id"] = json!(ids[1] + 1_000_000);
    let unknown =
        expect(save(&caller, job, Some("update"), json!({"shapes": [shape, stranger]})).await, StatusCode::BAD_REQUEST)
            .await;
    assert!(unknown.to_string().contains("no object with id"), "{unknown}");
    let nameless = expect(save(&caller, job, Some("delete"), boxes(label, 1)).await, StatusCode::BAD_REQUEST).await;
    assert_eq!(nameless["shapes"][0]["id"], json!(["This field is required."]));
    // None of these changed anything.
    assert_eq!(stored(&caller, job).await["shapes"], saved["shapes"]);

    // A delete skips ids the job does not have and echoes its body.
    let echoed = expect(save(&caller, job, Some("delete"), json!({"shapes": [stranger]})).await, StatusCode::OK).await;
    assert_eq!(echoed["shapes"][0]["id"], stranger["id"]);
    assert_eq!(stored(&caller, job).await["shapes"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn an_oversized_or_broken_body_saves_nothing() {
    let (caller, _) = Caller::new().await;
    let (_, job, label) = annotated_task(&caller, 1).await;
    expect(save(&caller, job, None, boxes(label, 3)).await, StatusCode::OK).await;
    let before = stored(&caller, job).await;

    // The test stack allows 4 MiB (CVAT_MAX_ANNOTATION_BYTES); this is about 8 MiB.
    let large = serde_json::to_vec(&boxes(label, 100_000)).unwrap();
    assert!(large.len() > 4 << 20);
    let declared = crate::common::http()
        .put(url(&format!("/api/jobs/{job}/annotations/")))
        .header("Authorization", &caller.0)
        .header("Content-Type", "application/json")
        .body(large.clone())
        .send()
        .await
        .unwrap();
    let body = expect(declared, StatusCode::PAYLOAD_TOO_LARGE).await;
    assert!(body["detail"].as_str().unwrap().contains("larger than"));
    // Sent in pieces with no length: refused as the limit passes.
    let pieces: Vec<Result<Vec<u8>, std::io::Error>> = large.chunks(64 << 10).map(|c| Ok(c.to_vec())).collect();
    let streamed = crate::common::http()
        .put(url(&format!("/api/jobs/{job}/annotations/")))
        .header("Authorization", &caller.0)
        .header("Content-Type", "application/json")
        .body(reqwest::Body::wrap_stream(futures_util::stream::iter(pieces)))
        .send()
        .await
        .unwrap();
    assert_eq!(streamed.status(), StatusCode::PAYLOAD_TOO_LARGE);
    // Cut off mid-document.
    let cut = crate::common::http()
        .put(url(&format!("/api/jobs/{job}/annotations/")))
        .header("Authorization", &caller.0)
        .header("Content-Type", "application/json")
        .body(large[..large.len() / 4].to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(cut.status(), StatusCode::BAD_REQUEST);
    assert_eq!(stored(&caller, job).await, before);
}

#[tokio::test]
async fn a_task_without_data_takes_no_annotations() {
    let (caller, _) = Caller::new().await;
    let task = expect(
        caller.post("/api/tasks", None, json!({"name": unique("a"), "labels": [{"name": "car"}]})).await,
        StatusCode::CREATED,
    )
    .await;
    let id = task["id"].as_i64().unwrap();
    let path = format!("/api/tasks/{id}/annotations/");
    let empty = expect(caller.get(&path, None).await, StatusCode::OK).await;
    assert_eq!(empty, json!({"version": 0, "tags": [], "shapes": [], "tracks": [], "intervals": []}));
    let body = json!({"tags": [{"frame": 0, "label_id": 1}]});
    expect(caller.call(reqwest::Method::PUT, &path, None, Some(body)).await, StatusCode::BAD_REQUEST).await;
}

#[tokio::test]
async fn deleting_the_task_deletes_its_annotations_and_changes_are_logged() {
    let (caller, _) = Caller::new().await;
    let (task, job, label) = annotated_task(&caller, 2).await;
    let before = expect(caller.get(&format!("/api/jobs/{job}"), None).await, StatusCode::OK).await;
    expect(save(&caller, job, None, boxes(label, 2)).await, StatusCode::OK).await;
    expect(save(&caller, job, Some("create"), boxes(label, 1)).await, StatusCode::OK).await;
    let after = expect(caller.get(&format!("/api/jobs/{job}"), None).await, StatusCode::OK).await;
    assert!(after["updated_date"].as_str() > before["updated_date"].as_str());

    let commits = expect(caller.get(&format!("/api/jobs/{job}/commits"), None).await, StatusCode::OK).await;
    let scopes: Vec<&str> =
        commits["results"].as_array().unwrap().iter().map(|c| c["scope"].as_str().unwrap()).collect();
    assert_eq!(scopes, ["create", "update"]);
    assert_eq!(commits["results"][0]["data"]["shapes"], 1);

    let database = crate::foundations::database().await;
    let count = |job: i64| {
        let database = &database;
        async move {
            let row =
                database.query_one("SELECT count(*) FROM engine.annotations WHERE job_id = $1", &[&job]).await.unwrap();
            row.get::<_, i64>(0)
        }
    };
    assert_eq!(count(job).await, 3);
    expect(caller.delete(&format!("/api/tasks/{task}")).await, StatusCode::NO_CONTENT).await;
    assert_eq!(count(job).await, 0);
}
