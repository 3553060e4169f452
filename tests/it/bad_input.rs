use crate::common::*;
use reqwest::StatusCode;
use serde_json::json;

#[tokio::test]
async fn malformed_and_mistyped_bodies() {
    let key = admin_key().await;
    let post = |path: &str, body: &'static str| {
        http()
            .post(url(path))
            .header("Authorization", token(&key))
            .header("Content-Type", "application/json")
            .body(body)
    };
    let body =
        expect(post("/api/auth/access_tokens", "{not json").send().await.unwrap(), StatusCode::BAD_REQUEST).await;
    assert!(body["detail"].as_str().unwrap().starts_with("JSON parse error"));
    let body =
        expect(post("/api/auth/access_tokens", r#"{"name": 5}"#).send().await.unwrap(), StatusCode::BAD_REQUEST).await;
    assert!(body.get("name").is_some());
    let body = expect(post("/api/auth/access_tokens", "{}").send().await.unwrap(), StatusCode::BAD_REQUEST).await;
    assert_eq!(body, json!({"name": ["This field is required."]}));
    let body = expect(post("/api/auth/access_tokens", "[1,2]").send().await.unwrap(), StatusCode::BAD_REQUEST).await;
    assert!(body.get("non_field_errors").is_some());
    let body =
        expect(post("/api/auth/login", r#"{"username": "admin"}"#).send().await.unwrap(), StatusCode::BAD_REQUEST)
            .await;
    assert_eq!(body, json!({"password": ["This field is required."]}));
    let body = expect(
        post("/api/auth/register", r#"{"username": "abc", "password1": "x", "password2": "y"}"#).send().await.unwrap(),
        StatusCode::BAD_REQUEST,
    )
    .await;
    assert!(body.get("username").is_some());
}

#[tokio::test]
async fn unknown_fields_rejected_on_user_patch() {
    let (_, _, key) = new_user().await;
    let me = expect(
        http().get(url("/api/users/self")).header("Authorization", token(&key)).send().await.unwrap(),
        StatusCode::OK,
    )
    .await;
    let patch = http()
        .patch(url(&format!("/api/users/{}", me["id"])))
        .header("Authorization", token(&key))
        .json(&json!({"favourite_colour": "blue"}))
        .send()
        .await
        .unwrap();
    assert!(expect(patch, StatusCode::BAD_REQUEST).await[0].as_str().unwrap().contains("unknown fields"));
    let after = expect(
        http().get(url("/api/users/self")).header("Authorization", token(&key)).send().await.unwrap(),
        StatusCode::OK,
    )
    .await;
    assert_eq!(after, me, "a rejected patch changes nothing");
}

#[tokio::test]
async fn oversized_bodies_are_413() {
    let key = admin_key().await;
    let huge = format!(r#"{{"name": "{}"}}"#, "x".repeat(2 * 1024 * 1024));
    let response = http()
        .post(url("/api/auth/access_tokens"))
        .header("Authorization", token(&key))
        .header("Content-Type", "application/json")
        .body(huge)
        .send()
        .await
        .unwrap();
    expect(response, StatusCode::PAYLOAD_TOO_LARGE).await;
}

#[tokio::test]
async fn routes_methods_and_list_parameters() {
    let key = admin_key().await;
    let get = |path: &str| http().get(url(path)).header("Authorization", token(&key)).send();
    assert_eq!(expect(get("/api/nothing-here").await.unwrap(), StatusCode::NOT_FOUND).await["detail"], "Not found.");
    expect(get("/api/users/abc").await.unwrap(), StatusCode::NOT_FOUND).await;
    let wrong_method = http().put(url("/api/server/about")).send().await.unwrap();
    expect(wrong_method, StatusCode::METHOD_NOT_ALLOWED).await;
    for size in ["0", "-1", "100000", "x"] {
        let body = expect(get(&format!("/api/users?page_size={size}")).await.unwrap(), StatusCode::BAD_REQUEST).await;
        assert!(body.get("page_size").is_some(), "{size}");
    }
    let body = expect(get("/api/users?filter=%7Bbroken").await.unwrap(), StatusCode::BAD_REQUEST).await;
    assert!(body[0].as_str().unwrap().starts_with("filter"));
    let body = expect(get("/api/users?sort=password_hash").await.unwrap(), StatusCode::BAD_REQUEST).await;
    assert_eq!(body, json!(["sort: unknown field 'password_hash'"]));
    let body = expect(get("/api/users?org=no-such-org").await.unwrap(), StatusCode::NOT_FOUND).await;
    assert_eq!(body["detail"], "no-such-org organization does not exist.");
    expect(get("/api/users?org=a&org_id=1").await.unwrap(), StatusCode::BAD_REQUEST).await;
    // An empty org means the personal workspace.
    expect(get("/api/users?org=").await.unwrap(), StatusCode::OK).await;
}

#[tokio::test]
async fn empty_json_body_is_accepted() {
    let response = http()
        .post(url("/api/auth/logout"))
        .header("Content-Type", "application/json")
        .header("Content-Length", "0")
        .send()
        .await
        .unwrap();
    expect(response, StatusCode::OK).await;
}

#[tokio::test]
async fn organization_context_is_checked_on_every_endpoint() {
    let key = token(&admin_key().await);
    let about = |header: &str| {
        let request = http().get(url("/api/server/about")).header("X-Organization", header.to_string());
        request.header("Authorization", &key).send()
    };
    let body = expect(about("ghost-org").await.unwrap(), StatusCode::NOT_FOUND).await;
    assert_eq!(body["detail"], "ghost-org organization does not exist.");
    expect(about("").await.unwrap(), StatusCode::OK).await;
    let both = http().get(url("/api/server/about?org_id=1")).header("X-Organization", "x").send().await.unwrap();
    expect(both, StatusCode::BAD_REQUEST).await;
    // Without credentials nothing is looked up: a public endpoint answers, the rest 401.
    let anonymous = http().get(url("/api/server/about")).header("X-Organization", "ghost-org").send().await.unwrap();
    expect(anonymous, StatusCode::OK).await;
    let anonymous = http().get(url("/api/tasks")).header("X-Organization", "ghost-org").send().await.unwrap();
    expect(anonymous, StatusCode::UNAUTHORIZED).await;
}

#[tokio::test]
async fn methods_media_types_and_api_versions() {
    let key = token(&admin_key().await);
    // 405 names what is allowed; OPTIONS answers it, as DRF does.
    let wrong = http().put(url("/api/tasks")).header("Authorization", &key).send().await.unwrap();
    assert_eq!(wrong.headers()["allow"], "GET, POST, OPTIONS");
    expect(wrong, StatusCode::METHOD_NOT_ALLOWED).await;
    let options = http().request(reqwest::Method::OPTIONS, url("/api/tasks/1")).header("Authorization", &key);
    let options = options.send().await.unwrap();
    assert_eq!(options.headers()["allow"], "GET, PATCH, DELETE, OPTIONS");
    assert!(expect(options, StatusCode::OK).await["renders"].as_array().is_some());

    // JSON bodies only: text/plain is 415, the vendor type is JSON too.
    let plain = http().post(url("/api/projects")).header("Authorization", &key).header("Content-Type", "text/plain");
    let plain = plain.body(r#"{"name": "p"}"#).send().await.unwrap();
    let body = expect(plain, StatusCode::UNSUPPORTED_MEDIA_TYPE).await;
    assert_eq!(body["detail"], "Unsupported media type \"text/plain\" in request.");
    let vendor = http()
        .post(url("/api/projects"))
        .header("Authorization", &key)
        .header("Content-Type", "application/vnd.cvat+json")
        .body(r#"{"name": "vendor typed"}"#);
    expect(vendor.send().await.unwrap(), StatusCode::CREATED).await;

    // The API version travels in Accept; answers carry the type asked for.
    let about = |accept: &'static str| http().get(url("/api/server/about")).header("Accept", accept).send();
    let answer = about("application/vnd.cvat+json; version=2.0").await.unwrap();
    assert_eq!(answer.headers()["content-type"], "application/vnd.cvat+json; version=2.0");
    expect(answer, StatusCode::OK).await;
    let answer = about("application/vnd.cvat+json").await.unwrap();
    assert_eq!(answer.headers()["content-type"], "application/vnd.cvat+json");
    let answer = about("application/json").await.unwrap();
    assert_eq!(answer.headers()["content-type"], "application/json");
    let body = expect(about("application/vnd.cvat+json; version=9.9").await.unwrap(), StatusCode::NOT_ACCEPTABLE).await;
    assert_eq!(body["detail"], "Invalid version in \"Accept\" header.");
    expect(about("application/xml").await.unwrap(), StatusCode::NOT_ACCEPTABLE).await;
}

/// Text PostgreSQL cannot store (NUL) is the client's mistake: 400, nothing written.
#[tokio::test]
async fn nul_characters_are_refused_not_a_server_error() {
    let (user, _) = Caller::new().await;
    let slug = unique("n");
    let org = expect(user.post("/api/organizations", None, json!({"slug": slug})).await, StatusCode::CREATED).await;
    let patch = json!({"contact": {"email": "a\u{0}b"}});
    let path = format!("/api/organizations/{}", org["id"]);
    expect(user.patch(&path, patch).await, StatusCode::BAD_REQUEST).await;
    expect(user.post("/api/projects", None, json!({"name": "nul\u{0}name"})).await, StatusCode::BAD_REQUEST).await;
    assert_eq!(expect(user.get("/api/projects", None).await, StatusCode::OK).await["count"], 0);
}

#[tokio::test]
async fn a_page_past_any_offset_is_a_404_on_every_list() {
    let (caller, _) = Caller::new().await;
    for list in ["/api/tasks", "/api/projects", "/api/jobs", "/api/users", "/api/issues", "/api/memberships"] {
        let response = caller.get(&format!("{list}?page=9223372036854775807"), None).await;
        let body = expect(response, StatusCode::NOT_FOUND).await;
        assert_eq!(body, json!({"detail": "Invalid page."}), "{list}");
    }
}

#[tokio::test]
async fn null_characters_are_refused_at_the_edge() {
    let message = json!(["Null characters are not allowed."]);
    let login = http().post(url("/api/auth/login")).json(&json!({"username": "a\u{0}b", "password": "x"}));
    assert_eq!(expect(login.send().await.unwrap(), StatusCode::BAD_REQUEST).await["username"], message);
    let reset = http().post(url("/api/auth/password/reset")).json(&json!({"email": "a\u{0}@example.com"}));
    assert_eq!(expect(reset.send().await.unwrap(), StatusCode::BAD_REQUEST).await["email"], message);
    let (caller, _) = Caller::new().await;
    let nested = caller.post("/api/projects", None, json!({"name": "p", "labels": [{"name": "a\u{0}"}]})).await;
    assert_eq!(expect(nested, StatusCode::BAD_REQUEST).await["labels"], message);
    let search = caller.get("/api/tasks?search=a%00b", None).await;
    assert_eq!(expect(search, StatusCode::BAD_REQUEST).await["search"], message);
    let path = caller.get("/api/tasks/1%00", None).await;
    assert_eq!(path.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn a_body_that_stops_arriving_is_refused() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    // tests/run.sh sets CVAT_BODY_IDLE_TIMEOUT_SECONDS=2.
    let address = base().trim_start_matches("http://").to_string();
    let mut socket = tokio::net::TcpStream::connect(&address).await.unwrap();
    let head = format!(
        "POST /api/auth/login HTTP/1.1\r\nHost: {address}\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{{\"username\": \""
    );
    socket.write_all(head.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    let read = tokio::time::timeout(std::time::Duration::from_secs(60), socket.read_to_end(&mut answer)).await;
    assert!(read.is_ok(), "the server kept the stalled request open");
    let text = String::from_utf8_lossy(&answer);
    assert!(text.starts_with("HTTP/1.1 400"), "{text}");
    assert!(text.contains("stopped arriving"), "{text}");
}

#[tokio::test]
async fn thousands_of_search_terms_are_refused_at_once() {
    let (caller, _) = Caller::new().await;
    let terms = (0..1000).map(|i| format!("t{i}")).collect::<Vec<_>>().join(",");
    for list in ["/api/memberships", "/api/tasks", "/api/users", "/api/issues"] {
        let response = caller.get(&format!("{list}?search={terms}"), None).await;
        let body = expect(response, StatusCode::BAD_REQUEST).await;
        assert!(body.get("search").is_some(), "{list}: {body}");
    }
}

#[tokio::test]
async fn hosts_are_checked_and_forwarded_headers_need_a_trusted_proxy() {
    let key = token(&admin_key().await);
    let foreign = http().get(url("/api/server/about")).header("Host", "evil.example").send().await.unwrap();
    let body = expect(foreign, StatusCode::BAD_REQUEST).await;
    assert!(body["detail"].as_str().unwrap().contains("Invalid HTTP_HOST header"), "{body}");
    // A client's X-Forwarded-Host does not make the links point elsewhere.
    let page = http()
        .get(url("/api/users?page_size=1"))
        .header("Authorization", &key)
        .header("X-Forwarded-Host", "evil.example")
        .header("X-Forwarded-Proto", "https")
        .send()
        .await
        .unwrap();
    let page = expect(page, StatusCode::OK).await;
    assert!(page["next"].as_str().unwrap().starts_with(&base()), "{page}");
    assert!(page["results"][0]["url"].as_str().unwrap().starts_with(&base()), "{page}");
}
