//! A dependency that goes down gives 503, and the service recovers when it returns.

use crate::common::*;
use reqwest::StatusCode;
use serde_json::json;
use std::process::Command;
use std::time::{Duration, Instant};

#[tokio::test]
async fn redis_outage_gives_503_then_recovers() {
    // The test stack has its own Redis (tests/run.sh), so stopping it affects no one else.
    let port = std::env::var("CVAT_TEST_REDIS_PORT").expect("set by tests/run.sh");
    let dir = std::env::var("CVAT_DATA_DIR").expect("set by tests/run.sh");
    let (username, password, _) = new_user().await;
    let login =
        || http().post(url("/api/auth/login")).json(&json!({"username": username, "password": password})).send();

    let stopped = Command::new("redis-cli").args(["-p", &port, "shutdown", "nosave"]).status().unwrap();
    assert!(stopped.success() || stopped.code() == Some(1));
    let body = expect(login().await.unwrap(), StatusCode::SERVICE_UNAVAILABLE).await;
    assert!(body["detail"].as_str().unwrap().contains("temporarily unavailable"));

    let started = Command::new("redis-server")
        .args(["--bind", "127.0.0.1", "--port", &port, "--save", "", "--appendonly", "no", "--daemonize", "yes"])
        .args(["--dir", &dir, "--logfile", &format!("{dir}/redis.log")])
        .status()
        .unwrap();
    assert!(started.success());
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let response = login().await.unwrap();
        if response.status() == StatusCode::OK {
            return;
        }
        assert!(Instant::now() < deadline, "login did not recover: {}", response.status());
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

#[tokio::test]
async fn database_outage_gives_503_then_recovers() {
    // Closing the test database to connections (and ending the open ones) takes PostgreSQL
    // away from the stack without touching other databases on the same server.
    let database_url = std::env::var("CVAT_DATABASE_URL").expect("set by tests/run.sh");
    let database = database_url.rsplit('/').next().unwrap().to_string();
    let psql = |sql: String| {
        let status = Command::new("psql")
            .args(["-h", "127.0.0.1", "-U", "cvat", "-d", "postgres", "-q", "-c", &sql])
            .env("PGPASSWORD", "cvat")
            .status()
            .unwrap();
        assert!(status.success(), "{sql}");
    };
    let key = admin_key().await;
    let me = || http().get(url("/api/users/self")).header("Authorization", token(&key)).send();

    psql(format!("ALTER DATABASE {database} ALLOW_CONNECTIONS false"));
    psql(format!("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{database}'"));
    let response = me().await.unwrap();
    let status = response.status();
    let body = response.text().await.unwrap();
    psql(format!("ALTER DATABASE {database} ALLOW_CONNECTIONS true"));
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert!(body.contains("temporarily unavailable"), "{body}");
    assert!(!body.contains("postgres"), "no internals in the body: {body}");

    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let response = me().await.unwrap();
        if response.status() == StatusCode::OK {
            return;
        }
        assert!(Instant::now() < deadline, "did not recover: {}", response.status());
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// Starts another media worker of the test stack (same settings, its own health port).
fn spawn_media_worker(health_port: u16) -> u32 {
    spawn_service(
        "cvat-media",
        &format!("media-{health_port}"),
        &[("CVAT_HEALTH_LISTEN", format!("127.0.0.1:{health_port}"))],
    )
}

/// The pid of the stack's own media worker (services.sh starts auth, task, media, …).
fn stack_media_pid() -> u32 {
    let data = std::env::var("CVAT_DATA_DIR").expect("set by tests/run.sh");
    let pids = std::fs::read_to_string(format!("{data}/services.pids")).unwrap();
    pids.split_whitespace().nth(2).unwrap().parse().unwrap()
}

async fn jobs_done(health_port: u16) -> u64 {
    let Ok(response) = http().get(format!("http://127.0.0.1:{health_port}/metrics")).send().await else { return 0 };
    let text = response.text().await.unwrap_or_default();
    text.lines()
        .filter(|l| l.starts_with("cvat_job_duration_seconds_count") && l.contains("outcome=\"ok\""))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum::<f64>() as u64
}

/// Noise compresses badly, so these take a while to decode and encode.
fn noisy_png(seed: u32) -> Vec<u8> {
    let mut state = seed.wrapping_mul(2_654_435_761).max(1);
    let image = image::RgbImage::from_fn(640, 480, |_, _| {
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        image::Rgb([state as u8, (state >> 8) as u8, (state >> 16) as u8])
    });
    let mut out = std::io::Cursor::new(Vec::new());
    image::DynamicImage::ImageRgb8(image).write_to(&mut out, image::ImageFormat::Png).unwrap();
    out.into_inner()
}

async fn task_with_images(caller: &Caller, images: u32) -> i64 {
    let task = expect(
        caller.post("/api/tasks", None, json!({"name": "work", "labels": [{"name": "a"}]})).await,
        StatusCode::CREATED,
    )
    .await;
    let id = task["id"].as_i64().unwrap();
    let names: Vec<String> = (0..images).map(|i| format!("f{i:03}.png")).collect();
    let files = names.iter().zip(0..images).map(|(name, i)| (name.as_str(), noisy_png(i + 1))).collect();
    let sent = crate::task_data::send_with(caller, id, &[("image_quality", "90"), ("chunk_size", "4")], files).await;
    expect(sent, StatusCode::ACCEPTED).await;
    id
}

async fn request_state(caller: &Caller, task: i64) -> serde_json::Value {
    let id = format!("action%3Dcreate%26target%3Dtask%26target_id%3D{task}");
    expect(caller.get(&format!("/api/requests/{id}"), None).await, StatusCode::OK).await
}

#[tokio::test]
async fn a_media_worker_killed_mid_job_loses_nothing_and_workers_share_work() {
    let (user, _) = Caller::new().await;
    // Only a worker of ours consumes: the stack's goes away.
    let first = spawn_media_worker(stack_port(20));
    kill(stack_media_pid());
    let task = task_with_images(&user, 24).await;
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let request = request_state(&user, task).await;
        assert_ne!(request["status"], "finished", "the job ended before the worker could be killed");
        if request["status"] == "started" {
            break;
        }
        assert!(Instant::now() < deadline, "no worker started the job");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    kill(first);

    // The message was never acked: the broker hands it to the next worker, which finishes.
    let (second, third) = (stack_port(21), stack_port(22));
    spawn_media_worker(second);
    spawn_media_worker(third);
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let request = request_state(&user, task).await;
        if request["status"] == "finished" {
            break;
        }
        assert_ne!(request["status"], "failed", "{request}");
        assert!(Instant::now() < deadline, "the job was lost: {request}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let meta = expect(user.get(&format!("/api/tasks/{task}/data/meta"), None).await, StatusCode::OK).await;
    assert_eq!(meta["frames"].as_array().unwrap().len(), 24);
    let last = user.get(&format!("/api/tasks/{task}/data?type=frame&number=23&quality=original"), None).await;
    assert_eq!(last.bytes().await.unwrap().as_ref(), noisy_png(24).as_slice());

    // Two workers, several tasks: both take work.
    let mut tasks = Vec::new();
    for _ in 0..6 {
        tasks.push(task_with_images(&user, 3).await);
    }
    let deadline = Instant::now() + Duration::from_secs(120);
    for task in tasks {
        while request_state(&user, task).await["status"] != "finished" {
            assert!(Instant::now() < deadline, "task {task} was not processed");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
    let (done_second, done_third) = (jobs_done(second).await, jobs_done(third).await);
    assert!(done_second > 0 && done_third > 0, "work was not shared: {done_second} and {done_third} jobs");
}

/// Runs alone (with the outage tests): the sweep forgets every idle upload of the stack.
#[tokio::test]
async fn abandoned_uploads_are_swept_and_processed_data_stays() {
    use crate::task_data::{finish_upload, new_task, png, request_of, send};
    use cvat_blob::BlobStore;
    use reqwest::multipart::{Form, Part};
    let (user, _) = Caller::new().await;
    let abandoned = new_task(&user).await;
    let collection = url(&format!("/api/tasks/{abandoned}/data/"));
    let start = http().post(&collection).header("Authorization", &user.0).header("Upload-Start", "").send().await;
    assert_eq!(start.unwrap().status(), StatusCode::ACCEPTED);
    let form = Form::new().part("client_files[0]", Part::bytes(png(5, 5)).file_name("left.png"));
    let multiple = http()
        .post(&collection)
        .header("Authorization", &user.0)
        .header("Upload-Multiple", "")
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(multiple.status(), StatusCode::OK);
    let processed = new_task(&user).await;
    expect(send(&user, processed, vec![("kept.png", png(6, 6))]).await, StatusCode::ACCEPTED).await;
    assert_eq!(request_of(&user, processed).await["status"], "finished");

    tokio::time::sleep(Duration::from_millis(1500)).await;
    let swept = internal_task_api()
        .await
        .sweep_uploads(cvat_proto::task::SweepUploadsRequest { older_than_seconds: 1 })
        .await
        .unwrap();
    let left = cvat_blob::keys::upload(abandoned, "left.png");
    let kept = cvat_blob::keys::upload(processed, "kept.png");
    let keys = swept.into_inner().keys;
    assert!(keys.contains(&left) && !keys.contains(&kept), "{keys:?}");

    let store = stack_store();
    let deadline = Instant::now() + Duration::from_secs(20);
    while store.exists(&left).await.unwrap() {
        assert!(Instant::now() < deadline, "the abandoned upload is still stored");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let finish = finish_upload(&user, abandoned).await;
    assert_eq!(expect(finish, StatusCode::BAD_REQUEST).await, json!(["No media data found"]));
    let frame = user.get(&format!("/api/tasks/{processed}/data?type=frame&number=0&quality=original"), None).await;
    assert_eq!(frame.bytes().await.unwrap().as_ref(), png(6, 6).as_slice());
}

/// Lists that wait (here on a lock the test holds) fill the auth service's pool of 4;
/// authentication has connections of its own and still answers.
#[tokio::test]
async fn slow_lists_cannot_starve_authentication() {
    let (owner, _) = Caller::new().await;
    // A new user's key is in no cache yet: authenticating it will need the database.
    let (_, _, key) = new_user().await;
    let mut database = crate::foundations::database().await;
    let lock = database.transaction().await.unwrap();
    lock.batch_execute("LOCK TABLE auth.organizations IN ACCESS EXCLUSIVE MODE").await.unwrap();
    let stuck: Vec<_> = (0..8)
        .map(|_| {
            let owner = Caller(owner.0.clone());
            tokio::spawn(async move { owner.get("/api/organizations", None).await.status() })
        })
        .collect();
    // Wait until the pool is taken: four list queries waiting on the lock.
    let monitor = crate::foundations::database().await;
    let mut waiting = 0;
    for _ in 0..600 {
        let row = monitor
            .query_one(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() \
                 AND wait_event_type = 'Lock' AND query ILIKE '%organizations%'",
                &[],
            )
            .await
            .unwrap();
        waiting = row.get::<_, i64>(0);
        if waiting >= 4 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(waiting >= 4, "the lists did not fill the pool ({waiting} waiting)");
    let started = Instant::now();
    let me = http().get(url("/api/users/self")).header("Authorization", token(&key)).send().await.unwrap();
    assert_eq!(me.status(), StatusCode::OK, "authentication waited for the lists' pool");
    assert!(started.elapsed() < Duration::from_secs(5));
    lock.rollback().await.unwrap();
    for list in stuck {
        let status = list.await.unwrap();
        assert!(status == StatusCode::OK || status == StatusCode::SERVICE_UNAVAILABLE, "{status}");
    }
}

/// A statement over the time-out ends with a 503 (the connection freed) and a log line
/// with its SQLSTATE: an auth service of this stack with a 300 ms time-out, its list
/// kept waiting on a lock.
#[tokio::test]
async fn a_statement_over_the_time_out_is_a_503_with_its_sqlstate_logged() {
    let (base, pids) = spawn_auth_and_gateway(34, "timeout", &[("CVAT_DB_STATEMENT_TIMEOUT_MS", "300".into())]).await;
    let (owner, _) = Caller::new().await;
    let mut database = crate::foundations::database().await;
    let lock = database.transaction().await.unwrap();
    lock.batch_execute("LOCK TABLE auth.organizations IN ACCESS EXCLUSIVE MODE").await.unwrap();
    let list = http().get(format!("{base}/api/organizations")).header("Authorization", &owner.0).send().await.unwrap();
    lock.rollback().await.unwrap();
    expect(list, StatusCode::SERVICE_UNAVAILABLE).await;
    let data = std::env::var("CVAT_DATA_DIR").expect("set by tests/run.sh");
    let log = std::fs::read_to_string(format!("{data}/logs/auth-timeout.log")).unwrap();
    assert!(log.contains("57014"), "the SQLSTATE of the cancelled statement is logged");
    pids.into_iter().for_each(kill);
}

/// A list whose client goes away is cancelled in the database at once, not at the
/// statement time-out: an auth service of this stack with no time-out at all, its list
/// kept waiting on a lock held until the end of the test. The gateway drops the abandoned
/// read, the auth service drops its handler and cancels the statement, and its connection
/// leaves the pool (the next list is served).
#[tokio::test]
async fn a_list_whose_client_went_away_is_cancelled() {
    let (base, pids) = spawn_auth_and_gateway(38, "abandoned", &[("CVAT_DB_STATEMENT_TIMEOUT_MS", "0".into())]).await;
    let (owner, _) = Caller::new().await;
    let mut database = crate::foundations::database().await;
    let monitor = crate::foundations::database().await;
    let waiting = || async {
        let sql = "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() \
                   AND wait_event_type = 'Lock' AND query ILIKE '%FROM organizations%'";
        monitor.query_one(sql, &[]).await.unwrap().get::<_, i64>(0)
    };
    let lock = database.transaction().await.unwrap();
    lock.batch_execute("LOCK TABLE auth.organizations IN ACCESS EXCLUSIVE MODE").await.unwrap();
    let list = {
        let (base, key) = (base.clone(), owner.0.clone());
        tokio::spawn(async move {
            http().get(format!("{base}/api/organizations")).header("Authorization", key).send().await
        })
    };
    let mut seen = 0;
    for _ in 0..600 {
        seen = waiting().await;
        if seen > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(seen > 0, "the list never reached the database");
    // The client gives up: its connection closes.
    list.abort();
    // Well inside the gateway's 30 s call deadline, which would end the statement anyway.
    let mut left = seen;
    for _ in 0..400 {
        left = waiting().await;
        if left == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(left, 0, "the abandoned statement still waits on the lock");
    lock.rollback().await.unwrap();
    let again = http().get(format!("{base}/api/organizations")).header("Authorization", &owner.0).send().await.unwrap();
    expect(again, StatusCode::OK).await;
    let data = std::env::var("CVAT_DATA_DIR").expect("set by tests/run.sh");
    let log = std::fs::read_to_string(format!("{data}/logs/auth-abandoned.log")).unwrap();
    assert!(log.contains("statement of an abandoned request cancelled"));
    pids.into_iter().for_each(kill);
}

/// Waits until a process a test started has ended.
async fn ended(pid: u32, within: Duration) {
    let deadline = Instant::now() + within;
    while Command::new("kill").args(["-0", &pid.to_string()]).status().unwrap().success() {
        assert!(Instant::now() < deadline, "process {pid} still runs");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A rolling restart of media workers under a burst of tasks, as Kubernetes does it: each
/// worker in turn gets SIGTERM (and finishes the job in hand, taking no other) and a new one
/// starts. Every task is processed once (its frames and jobs once each), none fails.
#[tokio::test]
async fn a_rolling_restart_of_media_workers_loses_and_repeats_nothing() {
    let (user, _) = Caller::new().await;
    let first = [spawn_media_worker(stack_port(23)), spawn_media_worker(stack_port(24))];
    let mut tasks = Vec::new();
    for _ in 0..8 {
        tasks.push(task_with_images(&user, 6).await);
    }
    for (old, port) in first.into_iter().zip([25, 26]) {
        assert!(Command::new("kill").args(["-TERM", &old.to_string()]).status().unwrap().success());
        // The drain waits at most 50 s for the job in hand.
        ended(old, Duration::from_secs(70)).await;
        spawn_media_worker(stack_port(port));
    }
    let deadline = Instant::now() + Duration::from_secs(180);
    for &task in &tasks {
        loop {
            let request = request_state(&user, task).await;
            assert_ne!(request["status"], "failed", "{request}");
            if request["status"] == "finished" {
                break;
            }
            assert!(Instant::now() < deadline, "task {task} was lost: {request}");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
    let database = crate::foundations::database().await;
    for &task in &tasks {
        let meta = expect(user.get(&format!("/api/tasks/{task}/data/meta"), None).await, StatusCode::OK).await;
        let names: Vec<&str> = meta["frames"].as_array().unwrap().iter().map(|f| f["name"].as_str().unwrap()).collect();
        assert_eq!(names, ["f000.png", "f001.png", "f002.png", "f003.png", "f004.png", "f005.png"]);
        let row = database
            .query_one(
                "SELECT (SELECT count(*) FROM engine.frames WHERE task_id = $1), \
                 (SELECT count(*) FROM engine.jobs WHERE task_id = $1)",
                &[&task],
            )
            .await
            .unwrap();
        let counts: Result<(i64, i64), _> = row.try_get(0).and_then(|frames| Ok((frames, row.try_get(1)?)));
        let (frames, jobs) = counts.expect("counts of frames and jobs");
        assert_eq!((frames, jobs), (6, 1), "task {task}: every frame and job once");
        let last = user.get(&format!("/api/tasks/{task}/data?type=frame&number=5&quality=original"), None).await;
        assert_eq!(last.bytes().await.unwrap().as_ref(), noisy_png(6).as_slice());
    }
}
