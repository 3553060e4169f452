use crate::common::*;
use reqwest::StatusCode;
use std::time::{Duration, Instant};

#[tokio::test]
async fn one_trace_id_from_gateway_through_grpc_and_queue_to_workers() {
    let key = admin_key().await;
    let trace_id = uuid::Uuid::new_v4().simple().to_string();
    let parent = format!("00-{trace_id}-00f067aa0ba902b7-01");
    let started = http()
        .post(url("/api/server/trace-probe"))
        .header("Authorization", token(&key))
        .header("traceparent", parent)
        .send()
        .await
        .unwrap();
    let probe = expect(started, StatusCode::CREATED).await;
    let id = probe["id"].as_str().unwrap().to_string();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let probe = expect(
            http()
                .get(url(&format!("/api/server/trace-probe/{id}")))
                .header("Authorization", token(&key))
                .send()
                .await
                .unwrap(),
            StatusCode::OK,
        )
        .await;
        let hops = probe["hops"].as_array().unwrap();
        let services: Vec<&str> = hops.iter().map(|h| h["service"].as_str().unwrap()).collect();
        if ["gateway", "task", "media", "export"].iter().all(|s| services.contains(s)) {
            for hop in hops {
                assert_eq!(hop["trace_id"], trace_id.as_str(), "{hop}");
            }
            return;
        }
        assert!(Instant::now() < deadline, "workers did not report: {probe}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test]
async fn trace_probe_is_admin_only() {
    let (_, _, key) = new_user().await;
    let response =
        http().post(url("/api/server/trace-probe")).header("Authorization", token(&key)).send().await.unwrap();
    expect(response, StatusCode::FORBIDDEN).await;
}

#[tokio::test]
async fn health_readiness_and_metrics_on_every_service() {
    expect(http().get(url("/healthz")).send().await.unwrap(), StatusCode::OK).await;
    admin_key().await;
    assert_eq!(expect(http().get(url("/readyz")).send().await.unwrap(), StatusCode::OK).await["status"], "ready");
    http().get(url("/api/server/about")).send().await.unwrap();
    // Metrics are not for API clients; the gateway's are on its health port (BASE+0).
    expect(http().get(url("/metrics")).send().await.unwrap(), StatusCode::NOT_FOUND).await;
    let gateway = format!("http://127.0.0.1:{}/metrics", stack_port(0));
    let metrics = http().get(gateway).send().await.unwrap().text().await.unwrap();
    assert!(metrics.contains("cvat_http_request_duration_seconds"));
    // tests/run.sh puts the health ports of auth, task, media and export at BASE+1..+4.
    for port in stack_port(1)..=stack_port(4) {
        let base = format!("http://127.0.0.1:{port}");
        expect(http().get(format!("{base}/healthz")).send().await.unwrap(), StatusCode::OK).await;
        let ready = expect(http().get(format!("{base}/readyz")).send().await.unwrap(), StatusCode::OK).await;
        assert_eq!(ready["status"], "ready", "port {port}");
        let metrics = http().get(format!("{base}/metrics")).send().await.unwrap();
        assert_eq!(metrics.status(), StatusCode::OK);
        if port == stack_port(1) {
            // Logging in above went through the auth service.
            assert!(metrics.text().await.unwrap().contains("cvat_grpc_request_duration_seconds"));
        }
    }
}

#[tokio::test]
async fn answers_carry_the_security_headers() {
    for path in ["/api/swagger/", "/api/docs/", "/api/server/about", "/api/nothing-here"] {
        let response = http().get(url(path)).send().await.unwrap();
        let headers = response.headers();
        assert_eq!(headers["x-content-type-options"], "nosniff", "{path}");
        assert_eq!(headers["x-frame-options"], "DENY", "{path}");
        assert_eq!(headers["referrer-policy"], "same-origin", "{path}");
        assert!(headers["content-security-policy"].to_str().unwrap().contains("frame-ancestors 'none'"));
    }
}

#[tokio::test]
async fn schema_and_offline_docs() {
    let json = expect(http().get(url("/api/schema/?scheme=json")).send().await.unwrap(), StatusCode::OK).await;
    assert!(json["openapi"].as_str().unwrap().starts_with("3."));
    assert!(json["paths"].get("/api/users/self").is_some());
    let yaml = http().get(url("/api/schema/")).send().await.unwrap().text().await.unwrap();
    assert!(yaml.starts_with("openapi:"));
    for (page, asset) in
        [("/api/swagger/", "/static/docs/swagger-ui-bundle.js"), ("/api/docs/", "/static/docs/redoc.standalone.js")]
    {
        let html = http().get(url(page)).send().await.unwrap().text().await.unwrap();
        assert!(html.contains(asset), "{page}");
        let script = http().get(url(asset)).send().await.unwrap();
        assert_eq!(script.status(), StatusCode::OK);
        assert!(script.bytes().await.unwrap().len() > 100_000);
    }
}
