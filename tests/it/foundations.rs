//! The foundations every feature stands on: the trust boundary between services, and a
//! state change that commits whole or not at all.

use crate::common::*;
use reqwest::StatusCode;
use serde_json::json;

fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| panic!("{name} is set by tests/run.sh"))
}

async fn channel(url_var: &str) -> tonic::transport::Channel {
    tonic::transport::Endpoint::from_shared(env(url_var)).unwrap().connect().await.unwrap()
}

fn credential(token: &str) -> cvat_runtime::credentials::Outgoing {
    cvat_runtime::credentials::Outgoing::new(&cvat_runtime::Secret::new(token)).unwrap()
}

fn caller() -> cvat_proto::task::Caller {
    let principal = cvat_proto::auth::Principal { user_id: 1, is_superuser: true, ..Default::default() };
    cvat_proto::task::Caller { principal: Some(principal), ..Default::default() }
}

#[tokio::test]
async fn service_calls_need_the_right_credential() {
    use cvat_proto::auth::auth_client::AuthClient;
    use cvat_proto::task::task_client::TaskClient;
    use cvat_proto::task::task_internal_client::TaskInternalClient;
    use cvat_proto::task::{CloudAccessQuery, ObjectRef};
    let refused = |status: tonic::Status| assert_eq!(status.code(), tonic::Code::Unauthenticated, "{status:?}");
    let (service, worker) = (env("CVAT_SERVICE_TOKEN"), env("CVAT_WORKER_TOKEN"));

    // Someone who reached the port claims to be an admin: refused without the token.
    let claim = || ObjectRef { caller: Some(caller()), id: 1 };
    refused(TaskClient::new(channel("CVAT_TASK_URL").await).get_task(claim()).await.unwrap_err());
    let mut with_worker_token = TaskClient::with_interceptor(channel("CVAT_TASK_URL").await, credential(&worker));
    refused(with_worker_token.get_task(claim()).await.unwrap_err());
    let mut gateway = TaskClient::with_interceptor(channel("CVAT_TASK_URL").await, credential(&service));
    assert_eq!(
        gateway.get_task(ObjectRef { caller: Some(caller()), id: i64::MAX }).await.unwrap_err().code(),
        tonic::Code::NotFound
    );

    // Bucket keys: workers only, not the gateway's credential, not anonymous callers.
    let query = || CloudAccessQuery { cloud_storage_id: i64::MAX };
    refused(TaskInternalClient::new(channel("CVAT_TASK_URL").await).get_cloud_access(query()).await.unwrap_err());
    let mut as_gateway = TaskInternalClient::with_interceptor(channel("CVAT_TASK_URL").await, credential(&service));
    refused(as_gateway.get_cloud_access(query()).await.unwrap_err());
    let mut as_worker = internal_task_api().await;
    assert_eq!(as_worker.get_cloud_access(query()).await.unwrap_err().code(), tonic::Code::NotFound);

    let users = || cvat_proto::auth::UserIds { ids: vec![1] };
    refused(AuthClient::new(channel("CVAT_AUTH_URL").await).lookup_users(users()).await.unwrap_err());
    let mut auth_as_worker = AuthClient::with_interceptor(channel("CVAT_AUTH_URL").await, credential(&worker));
    refused(auth_as_worker.lookup_users(users()).await.unwrap_err());
    let mut auth = AuthClient::with_interceptor(channel("CVAT_AUTH_URL").await, credential(&service));
    assert_eq!(auth.lookup_users(users()).await.unwrap().into_inner().users.len(), 1);
}

/// A connection to the stack's database, for injecting failures.
pub(crate) async fn database() -> tokio_postgres::Client {
    let (client, connection) = tokio_postgres::connect(&env("CVAT_DATABASE_URL"), tokio_postgres::NoTls).await.unwrap();
    tokio::spawn(connection);
    client
}

#[tokio::test]
async fn a_failure_between_frames_and_jobs_leaves_the_request_for_its_retry() {
    let (user, _) = Caller::new().await;
    let task = expect(
        user.post("/api/tasks", None, json!({"name": "fails once", "labels": [{"name": "a"}], "segment_size": 2}))
            .await,
        StatusCode::CREATED,
    )
    .await["id"]
        .as_i64()
        .unwrap();
    // The first insert of this task's segments fails; a sequence counts the attempts
    // (nextval is not rolled back with the failed transaction).
    let db = database().await;
    let name = format!("fail_segments_{task}");
    db.batch_execute(&format!(
        "CREATE SEQUENCE engine.{name};
         CREATE FUNCTION engine.{name}() RETURNS trigger LANGUAGE plpgsql AS $$
         BEGIN
           IF NEW.task_id = {task} AND nextval('engine.{name}') = 1 THEN
             RAISE EXCEPTION 'injected failure';
           END IF;
           RETURN NEW;
         END $$;
         CREATE TRIGGER {name} BEFORE INSERT ON engine.segments FOR EACH ROW EXECUTE FUNCTION engine.{name}();"
    ))
    .await
    .unwrap();
    let processed = process_images(&user, task, 5).await;
    db.batch_execute(&format!("DROP TRIGGER {name} ON engine.segments; DROP FUNCTION engine.{name}();")).await.unwrap();
    let attempts: i64 = db.query_one(&format!("SELECT last_value FROM engine.{name}"), &[]).await.unwrap().get(0);
    db.batch_execute(&format!("DROP SEQUENCE engine.{name}")).await.unwrap();
    assert!(attempts >= 2, "the segments were written once only: no failure was injected");
    assert_eq!((processed["size"].as_i64(), processed["jobs"]["count"].as_i64()), (Some(5), Some(3)), "{processed}");
    let jobs = results(&user, &format!("/api/jobs?task_id={task}"), None).await;
    assert_eq!(jobs.len(), 3);
    let meta = expect(user.get(&format!("/api/tasks/{task}/data/meta"), None).await, StatusCode::OK).await;
    assert_eq!(meta["frames"].as_array().map(Vec::len), Some(5));
}

/// The stack runs with 4 database connections per service (tests/run.sh): 64 writes at
/// once wait their turn; none takes a second connection while holding one, so none
/// deadlocks or gives up with a 503.
// Several client threads, so 64 requests are really in flight together.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn many_writes_at_once_share_a_small_pool() {
    let (user, _) = Caller::new().await;
    let user = std::sync::Arc::new(user);
    let mut tasks = Vec::new();
    for i in 0..16 {
        let body = json!({"name": format!("busy {i}"), "labels": [{"name": "a"}]});
        tasks
            .push(expect(user.post("/api/tasks", None, body).await, StatusCode::CREATED).await["id"].as_i64().unwrap());
    }
    let mut writes = tokio::task::JoinSet::new();
    for round in 0..3 {
        for &task in &tasks {
            let user = user.clone();
            writes.spawn(async move {
                let body = json!({"name": format!("renamed {round}"), "subset": "train"});
                user.patch(&format!("/api/tasks/{task}"), body).await.status()
            });
        }
    }
    for &task in &tasks {
        let user = user.clone();
        writes.spawn(async move {
            crate::task_data::send(&user, task, vec![("a.png", crate::task_data::png(3, 3))]).await.status()
        });
    }
    let mut statuses = Vec::new();
    while let Some(status) = writes.join_next().await {
        statuses.push(status.unwrap());
    }
    assert_eq!(statuses.len(), 64);
    assert!(statuses.iter().all(|s| *s == StatusCode::OK || *s == StatusCode::ACCEPTED), "{statuses:?}");
    for &task in &tasks {
        assert_eq!(crate::task_data::request_of(&user, task).await["status"], "finished");
    }
}

/// A task of 200,000 frames (tiny images in the share, made here): the worker's report
/// goes in parts, the task service records every frame and makes the jobs.
#[tokio::test]
async fn a_task_of_200000_frames() {
    const FRAMES: usize = 200_000;
    let (user, _) = Caller::new().await;
    let directory = unique("frames");
    let dir = std::path::Path::new(&env("CVAT_SHARE_DIR")).join(&directory);
    let image = crate::task_data::png(1, 1);
    tokio::task::spawn_blocking(move || {
        for group in 0..FRAMES / 1000 {
            let sub = dir.join(format!("{group:03}"));
            std::fs::create_dir_all(&sub).unwrap();
            for i in 0..1000 {
                std::fs::write(sub.join(format!("{i:03}.png")), &image).unwrap();
            }
        }
    })
    .await
    .unwrap();
    let body = json!({"name": "long", "labels": [{"name": "a"}], "segment_size": 50_000});
    let task = expect(user.post("/api/tasks", None, body).await, StatusCode::CREATED).await["id"].as_i64().unwrap();
    let data = json!({"image_quality": 70, "chunk_size": 2000, "server_files": [format!("{directory}/")]});
    expect(user.post(&format!("/api/tasks/{task}/data/"), None, data).await, StatusCode::ACCEPTED).await;
    let id = format!("action%3Dcreate%26target%3Dtask%26target_id%3D{task}");
    // Bounded: a busy 2-core machine processes these in a few minutes.
    let mut request = serde_json::Value::Null;
    for _ in 0..1200 {
        request = expect(user.get(&format!("/api/requests/{id}"), None).await, StatusCode::OK).await;
        if request["status"] == "finished" || request["status"] == "failed" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    }
    assert_eq!(request["status"], "finished", "{request}");
    let read = expect(user.get(&format!("/api/tasks/{task}"), None).await, StatusCode::OK).await;
    assert_eq!((read["size"].as_i64(), read["jobs"]["count"].as_i64()), (Some(FRAMES as i64), Some(4)), "{read}");
    let last = format!("/api/tasks/{task}/data?type=frame&number={}&quality=original", FRAMES - 1);
    assert_eq!(user.get(&last, None).await.status(), StatusCode::OK);
    let jobs = results(&user, &format!("/api/jobs?task_id={task}&sort=id"), None).await;
    let meta = expect(user.get(&format!("/api/jobs/{}/data/meta", jobs[3]["id"]), None).await, StatusCode::OK).await;
    assert_eq!(meta["frames"][49_999]["name"], format!("{directory}/199/999.png"));
    expect(user.delete(&format!("/api/tasks/{task}")).await, StatusCode::NO_CONTENT).await;
    std::fs::remove_dir_all(std::path::Path::new(&env("CVAT_SHARE_DIR")).join(&directory)).unwrap();
}

/// `cvat-auth migrate` and `cvat-task migrate` (the Kubernetes migration Job) apply what
/// is missing (here: nothing, the stack did) and exit 0 instead of serving.
#[tokio::test]
async fn the_services_migrate_and_exit_when_asked() {
    let bin = std::env::var("CVAT_TEST_BIN_DIR").expect("set by tests/run.sh");
    for service in ["cvat-auth", "cvat-task"] {
        let mut command = std::process::Command::new(format!("{bin}/{service}"));
        command
            .arg("migrate")
            .env("CVAT_DEV_MODE", "1")
            // Its own health port, unused: it never serves.
            .env("CVAT_HEALTH_LISTEN", format!("127.0.0.1:{}", crate::common::stack_port(46)));
        let ran = crate::common::ran_to_exit(&mut command, std::time::Duration::from_secs(60)).await;
        let (succeeded, printed) = ran.unwrap_or_else(|| panic!("{service} migrate kept running"));
        assert!(succeeded, "{service}: {printed}");
        assert!(printed.contains("migrations applied"), "{service}: {printed}");
    }
}

/// A gateway told to stop (SIGTERM, as Kubernetes does when its pod goes) takes no new
/// connection, lets the request in flight finish, and exits 0 by itself.
#[tokio::test]
async fn a_stopping_gateway_finishes_the_request_in_flight() {
    use std::time::{Duration, Instant};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let bin = std::env::var("CVAT_TEST_BIN_DIR").expect("set by tests/run.sh");
    let data = std::env::var("CVAT_DATA_DIR").expect("set by tests/run.sh");
    let port = stack_port(47);
    let log = std::fs::File::create(format!("{data}/logs/gateway-drain.log")).unwrap();
    let mut gateway = std::process::Command::new(format!("{bin}/cvat-gateway"))
        .env("CVAT_GATEWAY_LISTEN", format!("127.0.0.1:{port}"))
        .env("CVAT_HEALTH_LISTEN", format!("127.0.0.1:{}", stack_port(48)))
        // The stack's 2 s would cut the body this test holds back for 3 s.
        .env("CVAT_BODY_IDLE_TIMEOUT_SECONDS", "30")
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .unwrap();
    let base = format!("http://127.0.0.1:{port}");
    let deadline = Instant::now() + Duration::from_secs(60);
    while !http().get(format!("{base}/readyz")).send().await.is_ok_and(|r| r.status() == StatusCode::OK) {
        assert!(Instant::now() < deadline, "the gateway did not become ready");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // A login whose body is half sent when the signal comes.
    let mut connection = tokio::net::TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    let host = format!("Host: 127.0.0.1:{port}\r\n");
    let body = json!({"username": "admin", "password": admin_password()}).to_string();
    let (first_half, second_half) = body.split_at(body.len() / 2);
    // `Expect: 100-continue`: the gateway's "100 Continue" says the login is in its hands
    // (a request still unread in the socket when the signal comes is not taken).
    let head = format!(
        "POST /api/auth/login HTTP/1.1\r\n{host}Content-Type: application/json\r\nContent-Length: {}\r\n\
         Expect: 100-continue\r\nConnection: close\r\n\r\n",
        body.len()
    );
    connection.write_all(head.as_bytes()).await.unwrap();
    let mut continued = Vec::new();
    while !continued.ends_with(b"\r\n\r\n") {
        let mut byte = [0u8; 1];
        assert_eq!(connection.read(&mut byte).await.unwrap(), 1, "the gateway closed the connection");
        continued.push(byte[0]);
    }
    assert!(continued.starts_with(b"HTTP/1.1 100"), "{}", String::from_utf8_lossy(&continued));
    connection.write_all(first_half.as_bytes()).await.unwrap();
    let signalled = std::process::Command::new("kill").args(["-TERM", &gateway.id().to_string()]).status().unwrap();
    assert!(signalled.success());

    // No new connection is taken once the signal is handled.
    let deadline = Instant::now() + Duration::from_secs(30);
    while tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_ok() {
        assert!(Instant::now() < deadline, "the stopping gateway still takes connections");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // The request in flight completes, even one that goes on for a while (actix checks
    // every second whether its time to finish is up).
    tokio::time::sleep(Duration::from_secs(3)).await;
    connection.write_all(second_half.as_bytes()).await.unwrap();
    let mut response = Vec::new();
    tokio::time::timeout(Duration::from_secs(30), connection.read_to_end(&mut response))
        .await
        .expect("the answer within 30 s")
        .unwrap();
    let response = String::from_utf8_lossy(&response);
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert!(response.contains("\"key\""), "{response}");

    // Then it ends, by itself and well.
    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(status) = gateway.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            gateway.kill().unwrap();
            panic!("the gateway did not exit after its last request");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(status.success(), "{status}");
}
