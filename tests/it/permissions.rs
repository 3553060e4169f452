//! The permission matrix over roles, end to end: organization owner, maintainer,
//! supervisor and worker, a non-member, an admin, and the personal workspace.
//! Denied object access is a 403 (CVAT's detail querysets are not filtered); a list in
//! an organization the caller is not a member of is a 403.

use crate::common::*;
use reqwest::StatusCode;
use serde_json::json;

const OK: StatusCode = StatusCode::OK;
const DENIED: StatusCode = StatusCode::FORBIDDEN;

#[tokio::test]
async fn roles_in_an_organization() {
    let (owner, _) = Caller::new().await;
    let (maintainer, maintainer_name) = Caller::new().await;
    let (supervisor, supervisor_name) = Caller::new().await;
    let (worker, worker_name) = Caller::new().await;
    let (outsider, _) = Caller::new().await;
    let admin = Caller::admin().await;
    let (slug, org_id) = organization(
        &owner,
        &[
            (&maintainer, &maintainer_name, "maintainer"),
            (&supervisor, &supervisor_name, "supervisor"),
            (&worker, &worker_name, "worker"),
        ],
    )
    .await;
    let org = Some(slug.as_str());
    let project = expect(
        owner.post("/api/projects", org, json!({"name": "p", "labels": [{"name": "car"}]})).await,
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(project["organization"], org_id);
    let project_id = project["id"].as_i64().unwrap();
    let task = expect(
        owner.post("/api/tasks", org, json!({"name": "t", "project_id": project_id, "segment_size": 5})).await,
        StatusCode::CREATED,
    )
    .await;
    let task_id = task["id"].as_i64().unwrap();
    process_images(&owner, task_id, 10).await;
    let jobs = results(&owner, &format!("/api/jobs?task_id={task_id}&sort=id"), org).await;
    let (job1, job2) = (jobs[0]["id"].as_i64().unwrap(), jobs[1]["id"].as_i64().unwrap());
    let worker_id = worker.id().await;
    expect(owner.patch(&format!("/api/jobs/{job1}"), json!({"assignee": worker_id})).await, OK).await;
    let label_id = results(&owner, &format!("/api/labels?project_id={project_id}"), None).await[0]["id"].clone();

    let everyone = [
        ("owner", &owner),
        ("maintainer", &maintainer),
        ("supervisor", &supervisor),
        ("worker", &worker),
        ("outsider", &outsider),
        ("admin", &admin),
    ];
    // (path, [owner, maintainer, supervisor, worker, outsider, admin])
    let reads: [(String, [StatusCode; 6]); 6] = [
        (format!("/api/projects/{project_id}"), [OK, OK, DENIED, DENIED, DENIED, OK]),
        (format!("/api/tasks/{task_id}"), [OK, OK, DENIED, DENIED, DENIED, OK]),
        (format!("/api/jobs/{job1}"), [OK, OK, DENIED, OK, DENIED, OK]),
        (format!("/api/jobs/{job2}"), [OK, OK, DENIED, DENIED, DENIED, OK]),
        (format!("/api/labels/{label_id}"), [OK, OK, DENIED, DENIED, DENIED, OK]),
        (format!("/api/labels?task_id={task_id}"), [OK, OK, DENIED, DENIED, DENIED, OK]),
    ];
    for (path, expected) in &reads {
        for ((name, caller), status) in everyone.iter().zip(expected) {
            let actual = caller.get(path, None).await.status();
            assert_eq!(actual, *status, "{name} GET {path}");
        }
    }

    // Lists in the organization: staff see everything, other members what they relate to.
    // (tasks, jobs) visible per caller; an outsider may not list the organization at all.
    let counts = [("owner", &owner, 1, 2), ("maintainer", &maintainer, 1, 2), ("supervisor", &supervisor, 0, 0)];
    for (name, caller, tasks, jobs) in counts {
        assert_eq!(results(caller, "/api/tasks", org).await.len(), tasks, "{name} tasks");
        assert_eq!(results(caller, "/api/jobs", org).await.len(), jobs, "{name} jobs");
    }
    assert_eq!(results(&worker, "/api/jobs", org).await.len(), 1, "worker sees the job assigned to them");
    assert_eq!(results(&worker, "/api/tasks", org).await.len(), 1, "and its task in lists");
    assert!(results(&worker, "/api/projects", org).await.is_empty());
    for path in ["/api/projects", "/api/tasks", "/api/jobs", "/api/labels"] {
        expect(outsider.get(path, org).await, DENIED).await;
        assert!(results(&outsider, path, None).await.is_empty(), "outsider without context: {path}");
    }

    // Writes.
    let rename = |n: &str| json!({"name": n});
    let writes = [
        (&supervisor, format!("/api/projects/{project_id}"), rename("s"), DENIED),
        (&worker, format!("/api/projects/{project_id}"), rename("w"), DENIED),
        (&outsider, format!("/api/projects/{project_id}"), rename("o"), DENIED),
        (&maintainer, format!("/api/projects/{project_id}"), rename("m"), OK),
        (&worker, format!("/api/tasks/{task_id}"), rename("w"), DENIED),
        (&maintainer, format!("/api/tasks/{task_id}"), rename("m"), OK),
        (&worker, format!("/api/jobs/{job1}"), json!({"state": "in progress"}), OK),
        (&worker, format!("/api/jobs/{job1}"), json!({"stage": "validation"}), DENIED),
        (&worker, format!("/api/jobs/{job2}"), json!({"state": "in progress"}), DENIED),
        (&supervisor, format!("/api/jobs/{job1}"), json!({"assignee": null}), DENIED),
        (&worker, format!("/api/labels/{label_id}"), rename("truck"), DENIED),
        (&maintainer, format!("/api/labels/{label_id}"), rename("truck"), OK),
    ];
    for (caller, path, body, status) in writes {
        let actual = caller.patch(&path, body.clone()).await.status();
        assert_eq!(actual, status, "PATCH {path} {body}");
    }

    // Creating in the organization needs supervisor or more.
    let created = supervisor.post("/api/projects", org, json!({"name": "by supervisor"})).await;
    expect(created, StatusCode::CREATED).await;
    expect(worker.post("/api/projects", org, json!({"name": "by worker"})).await, DENIED).await;
    expect(outsider.post("/api/projects", org, json!({"name": "x"})).await, DENIED).await;
    let foreign = outsider.post("/api/tasks", None, json!({"name": "x", "project_id": project_id})).await;
    expect(foreign, DENIED).await;

    // Deleting: only owners/maintainers (or the object's owner).
    for caller in [&supervisor, &worker, &outsider] {
        expect(caller.delete(&format!("/api/tasks/{task_id}")).await, DENIED).await;
        expect(caller.delete(&format!("/api/projects/{project_id}")).await, DENIED).await;
    }
    expect(maintainer.delete(&format!("/api/tasks/{task_id}")).await, StatusCode::NO_CONTENT).await;
    expect(maintainer.delete(&format!("/api/projects/{project_id}")).await, StatusCode::NO_CONTENT).await;
}

#[tokio::test]
async fn the_personal_workspace() {
    let (alice, _) = Caller::new().await;
    let (bob, _) = Caller::new().await;
    let bob_id = bob.id().await;
    let admin = Caller::admin().await;
    let project = expect(alice.post("/api/projects", None, json!({"name": "mine"})).await, StatusCode::CREATED).await;
    let project_id = project["id"].as_i64().unwrap();
    assert_eq!(project["organization"], serde_json::Value::Null);
    let path = format!("/api/projects/{project_id}");

    expect(bob.get(&path, None).await, DENIED).await;
    expect(admin.get(&path, None).await, OK).await;
    assert!(results(&bob, "/api/projects", None).await.is_empty());
    assert_eq!(results(&alice, "/api/projects", Some("")).await.len(), 1, "empty context = personal workspace");
    // Outside an organization you may name only yourself.
    expect(alice.patch(&path, json!({"assignee_id": bob_id})).await, DENIED).await;
    expect(
        alice.post("/api/tasks", None, json!({"name": "t", "labels": [{"name": "a"}], "owner_id": bob_id})).await,
        DENIED,
    )
    .await;
    // The admin may; the assignee then sees the project but may not delete it.
    let assigned = expect(admin.patch(&path, json!({"assignee_id": bob_id})).await, OK).await;
    assert_eq!(assigned["assignee"]["id"], bob_id);
    expect(bob.get(&path, None).await, OK).await;
    expect(bob.patch(&path, json!({"name": "ours"})).await, OK).await;
    expect(bob.delete(&path).await, DENIED).await;
    expect(bob.patch(&path, json!({"owner_id": bob_id})).await, DENIED).await;
    expect(alice.delete(&path).await, StatusCode::NO_CONTENT).await;
}
