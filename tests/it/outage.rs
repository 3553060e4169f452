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
