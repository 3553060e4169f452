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
