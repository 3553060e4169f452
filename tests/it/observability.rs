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

/// Every metric the example Grafana dashboard (deploy/observability) queries is exported
/// by a running service, once there was traffic of each kind: requests, a task's data
/// processed by a media worker, a frame read twice.
#[tokio::test]
async fn every_metric_of_the_dashboard_is_exported() {
    let dashboard: serde_json::Value = serde_json::from_str(include_str!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../deploy/observability/grafana-dashboard.json"
    )))
    .unwrap();
    // Each metric queried, with the labels the queries group it by.
    let mut queried = std::collections::BTreeMap::<String, std::collections::BTreeSet<String>>::new();
    for panel in dashboard["panels"].as_array().unwrap() {
        for target in panel["targets"].as_array().unwrap() {
            let expr = target["expr"].as_str().unwrap();
            let grouped: Vec<String> = expr
                .split("by (")
                .skip(1)
                .flat_map(|rest| rest.split(')').next().unwrap_or_default().split(','))
                .map(|label| label.trim().to_string())
                .filter(|label| label != "le")
                .collect();
            let mut rest = expr;
            while let Some(at) = rest.find("cvat_") {
                let name: String = rest[at..]
                    .chars()
                    .take_while(|c| c.is_ascii_lowercase() || *c == '_' || c.is_ascii_digit())
                    .collect();
                rest = &rest[at + name.len()..];
                queried.entry(name).or_default().extend(grouped.iter().cloned());
            }
        }
    }
    assert!(queried.len() >= 8, "{queried:?}");

    let (owner, _) = Caller::new().await;
    let task = crate::task_data::new_task(&owner).await;
    let sent = crate::task_data::send(&owner, task, vec![("a.png", crate::task_data::png(8, 8))]).await;
    expect(sent, StatusCode::ACCEPTED).await;
    assert_eq!(crate::task_data::request_of(&owner, task).await["status"], "finished");
    for _ in 0..2 {
        let frame = owner.get(&format!("/api/tasks/{task}/data?type=frame&number=0&quality=original"), None).await;
        assert_eq!(frame.status(), StatusCode::OK);
    }
    // Gauges sampled every few seconds have been since the stack started.
    let mut exported = String::new();
    for port in stack_port(0)..=stack_port(4) {
        exported += &http().get(format!("http://127.0.0.1:{port}/metrics")).send().await.unwrap().text().await.unwrap();
    }
    let missing: Vec<String> = queried
        .iter()
        .filter_map(|(name, labels)| {
            let series: Vec<&str> = exported
                .lines()
                .filter(|l| l.strip_prefix(name.as_str()).is_some_and(|r| r.starts_with(['{', ' '])))
                .collect();
            let carries = |line: &str, label: &str| {
                [format!("{{{label}=\""), format!(",{label}=\"")].iter().any(|l| line.contains(l.as_str()))
            };
            let absent: Vec<&String> =
                labels.iter().filter(|label| !series.iter().any(|line| carries(line, label))).collect();
            match (series.is_empty(), absent.is_empty()) {
                (true, _) => Some(name.clone()),
                (false, false) => Some(format!("{name} by {absent:?}")),
                (false, true) => None,
            }
        })
        .collect();
    assert!(missing.is_empty(), "the dashboard queries metrics or labels no service exports: {missing:?}");
}
