//! Helpers shared by the end-to-end tests.

use reqwest::{Client, Response, StatusCode};
use serde_json::{json, Value};

pub fn base() -> String {
    std::env::var("CVAT_TEST_URL").expect("CVAT_TEST_URL is unset: run the end-to-end tests with `make test`")
}

pub fn url(path: &str) -> String {
    format!("{}{path}", base())
}

/// A port of the test stack's block (tests/run.sh): `BASE + offset`.
pub fn stack_port(offset: u16) -> u16 {
    let base: u16 = std::env::var("CVAT_TEST_PORT_BASE").expect("set by tests/run.sh").parse().unwrap();
    base + offset
}

pub fn admin_password() -> String {
    std::env::var("CVAT_ADMIN_PASSWORD").expect("CVAT_ADMIN_PASSWORD is set by tests/run.sh")
}

pub fn http() -> Client {
    Client::builder().cookie_store(true).build().expect("client builds")
}

pub fn unique(prefix: &str) -> String {
    format!("{prefix}{}", &uuid::Uuid::new_v4().simple().to_string()[..10])
}

/// Logs in with a password and returns the API key (`Authorization: Token`).
pub async fn login_key(username: &str, password: &str) -> String {
    let response = http()
        .post(url("/api/auth/login"))
        .json(&json!({"username": username, "password": password}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK, "login of {username}");
    response.json::<Value>().await.unwrap()["key"].as_str().unwrap().to_string()
}

pub async fn admin_key() -> String {
    login_key("admin", &admin_password()).await
}

/// Registers a user with a fresh name and returns (username, password, key).
pub async fn new_user() -> (String, String, String) {
    let username = unique("user");
    let password = "Sturdy-pass-42".to_string();
    let response = http()
        .post(url("/api/auth/register"))
        .json(&json!({"username": username, "password1": password, "password2": password,
                      "email": format!("{username}@example.com")}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED, "{:?}", response.text().await);
    let key = login_key(&username, &password).await;
    (username, password, key)
}

pub fn token(key: &str) -> String {
    format!("Token {key}")
}

/// Asserts a status and a JSON body (none for 204), returning the body.
pub async fn expect(response: Response, status: StatusCode) -> Value {
    let actual = response.status();
    let text = response.text().await.unwrap();
    assert_eq!(actual, status, "body: {text}");
    if status == StatusCode::NO_CONTENT {
        assert!(text.is_empty(), "204 with a body: {text}");
        return Value::Null;
    }
    serde_json::from_str(&text).unwrap_or_else(|_| panic!("body is not JSON: {text:?}"))
}

/// A user making requests with their API key.
pub struct Caller(pub String);

impl Caller {
    pub async fn new() -> (Self, String) {
        let (username, _, key) = new_user().await;
        (Self(token(&key)), username)
    }

    pub async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        org: Option<&str>,
        body: Option<Value>,
    ) -> reqwest::Response {
        let mut request = http().request(method, url(path)).header("Authorization", &self.0);
        if let Some(org) = org {
            request = request.header("X-Organization", org);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        request.send().await.unwrap()
    }

    pub async fn get(&self, path: &str, org: Option<&str>) -> reqwest::Response {
        self.call(reqwest::Method::GET, path, org, None).await
    }

    pub async fn post(&self, path: &str, org: Option<&str>, body: Value) -> reqwest::Response {
        self.call(reqwest::Method::POST, path, org, Some(body)).await
    }

    pub async fn patch(&self, path: &str, body: Value) -> reqwest::Response {
        self.call(reqwest::Method::PATCH, path, None, Some(body)).await
    }

    pub async fn delete(&self, path: &str) -> reqwest::Response {
        self.call(reqwest::Method::DELETE, path, None, None).await
    }

    pub async fn admin() -> Self {
        Self(token(&admin_key().await))
    }

    /// The caller's user id.
    pub async fn id(&self) -> i64 {
        expect(self.get("/api/users/self", None).await, StatusCode::OK).await["id"].as_i64().unwrap()
    }
}

/// Creates an organization owned by `owner` and adds each `(member, role)` through an
/// accepted invitation. Answers the slug and the organization id.
pub async fn organization(owner: &Caller, members: &[(&Caller, &str, &str)]) -> (String, i64) {
    let slug = unique("o");
    let org = expect(owner.post("/api/organizations", None, json!({"slug": slug})).await, StatusCode::CREATED).await;
    for (member, username, role) in members {
        let invitation = expect(
            owner.post("/api/invitations", Some(&slug), json!({"email": username, "role": role})).await,
            StatusCode::CREATED,
        )
        .await;
        // Existing users join at once (CVAT's default); accept only where it is asked for.
        if invitation["accepted"] == false {
            let key = invitation["key"].as_str().unwrap();
            expect(member.post(&format!("/api/invitations/{key}/accept"), None, json!({})).await, StatusCode::OK).await;
        }
    }
    (slug, org["id"].as_i64().unwrap())
}

/// Gives a task `frames` tiny images as its data and waits until they are processed
/// (segments and jobs exist then); answers the task.
pub async fn process_images(caller: &Caller, task_id: i64, frames: usize) -> Value {
    let files: Vec<(String, Vec<u8>)> =
        (0..frames).map(|i| (format!("frame{i:04}.png"), crate::task_data::png(4, 4))).collect();
    let named = files.iter().map(|(name, bytes)| (name.as_str(), bytes.clone())).collect();
    expect(crate::task_data::send(caller, task_id, named).await, StatusCode::ACCEPTED).await;
    let request = crate::task_data::request_of(caller, task_id).await;
    assert_eq!(request["status"], "finished", "{request}");
    expect(caller.get(&format!("/api/tasks/{task_id}"), None).await, StatusCode::OK).await
}

/// The task service's internal API as a worker calls it (with the worker credential).
pub async fn internal_task_api(
) -> cvat_proto::task::task_internal_client::TaskInternalClient<cvat_runtime::credentials::Authorized> {
    let address = std::env::var("CVAT_TASK_URL").expect("CVAT_TASK_URL is set by tests/run.sh");
    let token = std::env::var("CVAT_WORKER_TOKEN").expect("CVAT_WORKER_TOKEN is set by tests/run.sh");
    let channel = tonic::transport::Endpoint::from_shared(address).unwrap().connect().await.unwrap();
    let credential = cvat_runtime::credentials::Outgoing::new(&cvat_runtime::Secret::new(token)).unwrap();
    cvat_proto::task::task_internal_client::TaskInternalClient::with_interceptor(channel, credential)
}

/// `GET path` as `caller` and the `results` of the page.
pub async fn results(caller: &Caller, path: &str, org: Option<&str>) -> Vec<Value> {
    let page = expect(caller.get(path, org).await, StatusCode::OK).await;
    page["results"].as_array().unwrap().clone()
}

/// The stack's own bucket (the S3 server and bucket tests/run.sh gives the stack).
pub fn stack_store() -> cvat_blob::S3Store {
    let endpoint = std::env::var("CVAT_S3_ENDPOINT").unwrap_or_else(|_| "http://127.0.0.1:8014".into());
    let bucket = std::env::var("CVAT_S3_BUCKET").unwrap_or_else(|_| "cvat".into());
    cvat_blob::S3Store::new(&endpoint, "us-east-1", &bucket, "cvat", "cvat-secret-key")
}

/// Starts another process of the test stack's services: its settings, plus `env`, with
/// its log in the stack's log directory. Its pid joins the stack's so the stack's stop
/// script ends it if the test does not.
pub fn spawn_service(binary: &str, log_name: &str, env: &[(&str, String)]) -> u32 {
    let bin = std::env::var("CVAT_TEST_BIN_DIR").expect("set by tests/run.sh");
    let data = std::env::var("CVAT_DATA_DIR").expect("set by tests/run.sh");
    let log = std::fs::File::create(format!("{data}/logs/{log_name}.log")).unwrap();
    let mut command = std::process::Command::new(format!("{bin}/{binary}"));
    command.envs(env.iter().map(|(k, v)| (*k, v.as_str())));
    let mut child = command.stdout(log.try_clone().unwrap()).stderr(log).spawn().unwrap();
    let pids = format!("{data}/services.pids");
    let all = std::fs::read_to_string(&pids).unwrap_or_default();
    let pid = child.id();
    std::fs::write(&pids, format!("{} {pid}\n", all.trim())).unwrap();
    // Reaped when it ends (killed by a test or by the stack's stop script).
    std::thread::spawn(move || child.wait());
    pid
}

/// Ends a process a test started.
pub fn kill(pid: u32) {
    assert!(std::process::Command::new("kill").args(["-9", &pid.to_string()]).status().unwrap().success());
}

/// Another auth service (its settings plus `auth_env`) and a gateway in front of it, on
/// `BASE+offset..+3` of the stack's block, sharing its database, Redis and task service;
/// waits until the gateway is ready. Answers the gateway's URL and both pids.
pub async fn spawn_auth_and_gateway(offset: u16, name: &str, auth_env: &[(&str, String)]) -> (String, [u32; 2]) {
    let (auth_port, gateway_port) = (stack_port(offset), stack_port(offset + 1));
    let mut env = vec![
        ("CVAT_AUTH_LISTEN", format!("127.0.0.1:{auth_port}")),
        ("CVAT_HEALTH_LISTEN", format!("127.0.0.1:{}", stack_port(offset + 2))),
    ];
    env.extend(auth_env.iter().map(|(k, v)| (*k, v.clone())));
    let auth = spawn_service("cvat-auth", &format!("auth-{name}"), &env);
    let gateway = spawn_service(
        "cvat-gateway",
        &format!("gateway-{name}"),
        &[
            ("CVAT_GATEWAY_LISTEN", format!("127.0.0.1:{gateway_port}")),
            ("CVAT_AUTH_URL", format!("http://127.0.0.1:{auth_port}")),
            ("CVAT_HEALTH_LISTEN", format!("127.0.0.1:{}", stack_port(offset + 3))),
        ],
    );
    let base = format!("http://127.0.0.1:{gateway_port}");
    for _ in 0..600 {
        if http().get(format!("{base}/readyz")).send().await.is_ok_and(|r| r.status() == StatusCode::OK) {
            return (base, [auth, gateway]);
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("the second gateway did not become ready");
}

/// What a process printed (stderr, then stdout) and how it ended, once it ended by
/// itself within `limit`; `None` if it was still running then (it is killed).
pub async fn ran_to_exit(command: &mut std::process::Command, limit: std::time::Duration) -> Option<(bool, String)> {
    let mut child = command.stdout(std::process::Stdio::piped()).stderr(std::process::Stdio::piped()).spawn().unwrap();
    let deadline = std::time::Instant::now() + limit;
    while child.try_wait().unwrap().is_none() && std::time::Instant::now() < deadline {
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let ended = child.try_wait().unwrap().is_some();
    if !ended {
        child.kill().unwrap();
    }
    let output = child.wait_with_output().unwrap();
    let printed = String::from_utf8_lossy(&output.stderr).to_string() + &String::from_utf8_lossy(&output.stdout);
    ended.then_some((output.status.success(), printed))
}
