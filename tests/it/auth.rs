use crate::common::*;
use reqwest::StatusCode;
use serde_json::json;

#[tokio::test]
async fn wrong_password_is_400_and_sets_no_session() {
    let response = http()
        .post(url("/api/auth/login"))
        .json(&json!({"username": "admin", "password": "definitely wrong"}))
        .send()
        .await
        .unwrap();
    assert!(response.headers().get("set-cookie").is_none());
    let body = expect(response, StatusCode::BAD_REQUEST).await;
    assert_eq!(body, json!({"non_field_errors": ["Unable to log in with provided credentials."]}));
}

#[tokio::test]
async fn session_login_requires_csrf_for_writes_and_ends_on_logout() {
    let (username, password, _) = new_user().await;
    let client = http();
    let response = client
        .post(url("/api/auth/login"))
        .json(&json!({"username": username, "password": password}))
        .send()
        .await
        .unwrap();
    let cookies: Vec<String> =
        response.headers().get_all("set-cookie").iter().map(|v| v.to_str().unwrap().to_string()).collect();
    assert!(cookies.iter().any(|c| c.starts_with("sessionid=")) && cookies.iter().any(|c| c.starts_with("csrftoken=")));
    let csrf =
        cookies.iter().find_map(|c| c.strip_prefix("csrftoken=")).unwrap().split(';').next().unwrap().to_string();
    let me = expect(client.get(url("/api/users/self")).send().await.unwrap(), StatusCode::OK).await;
    let id = me["id"].as_i64().unwrap();

    let no_csrf =
        client.patch(url(&format!("/api/users/{id}"))).json(&json!({"first_name": "X"})).send().await.unwrap();
    let body = expect(no_csrf, StatusCode::FORBIDDEN).await;
    assert!(body["detail"].as_str().unwrap().starts_with("CSRF Failed"));
    let foreign = client
        .patch(url(&format!("/api/users/{id}")))
        .header("X-CSRFToken", &csrf)
        .header("Origin", "http://evil.example")
        .json(&json!({"first_name": "X"}))
        .send()
        .await
        .unwrap();
    expect(foreign, StatusCode::FORBIDDEN).await;
    // The scheme counts too.
    let other_scheme = client
        .patch(url(&format!("/api/users/{id}")))
        .header("X-CSRFToken", &csrf)
        .header("Origin", base().replace("http://", "https://"))
        .json(&json!({"first_name": "X"}))
        .send()
        .await
        .unwrap();
    expect(other_scheme, StatusCode::FORBIDDEN).await;
    let ok = client
        .patch(url(&format!("/api/users/{id}")))
        .header("X-CSRFToken", &csrf)
        .header("Origin", base())
        .json(&json!({"first_name": "Xavier"}))
        .send()
        .await
        .unwrap();
    assert_eq!(expect(ok, StatusCode::OK).await["first_name"], "Xavier");

    let logout = client.post(url("/api/auth/logout")).header("X-CSRFToken", &csrf).send().await.unwrap();
    assert_eq!(expect(logout, StatusCode::OK).await["detail"], "Successfully logged out.");
    // The client forgot the cookies; replaying the old session must fail.
    let replay = http()
        .get(url("/api/users/self"))
        .header(
            "Cookie",
            format!("sessionid={}", cookies[1].split(';').next().unwrap().trim_start_matches("sessionid=")),
        )
        .send()
        .await
        .unwrap();
    expect(replay, StatusCode::UNAUTHORIZED).await;
}

#[tokio::test]
async fn token_and_basic_credentials() {
    let key = admin_key().await;
    let me = expect(
        http().get(url("/api/users/self")).header("Authorization", token(&key)).send().await.unwrap(),
        StatusCode::OK,
    )
    .await;
    assert_eq!(me["username"], "admin");
    let basic = http().get(url("/api/users/self")).basic_auth("admin", Some(admin_password())).send().await.unwrap();
    assert_eq!(expect(basic, StatusCode::OK).await["username"], "admin");
    let bad = http().get(url("/api/users/self")).header("Authorization", "Token nope").send().await.unwrap();
    assert_eq!(expect(bad, StatusCode::UNAUTHORIZED).await["detail"], "Invalid token.");
    let anonymous = http().get(url("/api/users/self")).send().await.unwrap();
    expect(anonymous, StatusCode::UNAUTHORIZED).await;
}

#[tokio::test]
async fn access_tokens_lifecycle() {
    let (username, _, key) = new_user().await;
    let auth = token(&key);
    // CVAT's default: a token reads only, unless asked otherwise.
    let default = expect(
        http()
            .post(url("/api/auth/access_tokens"))
            .header("Authorization", &auth)
            .json(&json!({"name": "default"}))
            .send()
            .await
            .unwrap(),
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(default["read_only"], true);
    let gone = http().delete(url(&format!("/api/auth/access_tokens/{}", default["id"]))).header("Authorization", &auth);
    assert_eq!(gone.send().await.unwrap().status(), StatusCode::NO_CONTENT);
    let created = expect(
        http()
            .post(url("/api/auth/access_tokens"))
            .header("Authorization", &auth)
            .json(&json!({"name": "ci", "read_only": false}))
            .send()
            .await
            .unwrap(),
        StatusCode::CREATED,
    )
    .await;
    let value = created["value"].as_str().unwrap().to_string();
    let id = created["id"].as_i64().unwrap();
    assert_eq!(created["owner"]["username"], username.as_str());
    let bearer = format!("Bearer {value}");
    let me = expect(
        http().get(url("/api/auth/access_tokens/self")).header("Authorization", &bearer).send().await.unwrap(),
        StatusCode::OK,
    )
    .await;
    assert_eq!((me["id"].as_i64(), me["name"].as_str()), (Some(id), Some("ci")));
    assert!(me.get("value").is_none(), "the value is shown only once");
    // Bearer writes need no CSRF.
    let project = http()
        .post(url("/api/projects"))
        .header("Authorization", &bearer)
        .json(&json!({"name": "by token"}))
        .send()
        .await
        .unwrap();
    expect(project, StatusCode::CREATED).await;
    // A token cannot manage the account: no new tokens, no longer life, no account edits.
    let user_id = expect(
        http().get(url("/api/users/self")).header("Authorization", &bearer).send().await.unwrap(),
        StatusCode::OK,
    )
    .await["id"]
        .as_i64()
        .unwrap();
    let managing = [
        (reqwest::Method::POST, "/api/auth/access_tokens".to_string(), json!({"name": "more"})),
        (reqwest::Method::PATCH, format!("/api/auth/access_tokens/{id}"), json!({"expiry_date": null})),
        (reqwest::Method::DELETE, format!("/api/auth/access_tokens/{id}"), json!({})),
        (reqwest::Method::PATCH, format!("/api/users/{user_id}"), json!({"first_name": "taken"})),
        (reqwest::Method::DELETE, format!("/api/users/{user_id}"), json!({})),
        (
            reqwest::Method::POST,
            "/api/auth/password/change".to_string(),
            json!({"old_password": "x", "new_password1": "Other-pass-77", "new_password2": "Other-pass-77"}),
        ),
    ];
    for (method, path, body) in managing {
        let response = http()
            .request(method.clone(), url(&path))
            .header("Authorization", &bearer)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::FORBIDDEN, "{method} {path}");
    }
    let renamed = http()
        .patch(url(&format!("/api/auth/access_tokens/{id}")))
        .header("Authorization", &auth)
        .json(&json!({"name": "renamed"}))
        .send()
        .await
        .unwrap();
    assert_eq!(expect(renamed, StatusCode::OK).await["name"], "renamed");
    let list = expect(
        http().get(url("/api/auth/access_tokens")).header("Authorization", &auth).send().await.unwrap(),
        StatusCode::OK,
    )
    .await;
    assert_eq!(list["count"], 1);

    let deleted = http()
        .delete(url(&format!("/api/auth/access_tokens/{id}")))
        .header("Authorization", &auth)
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
    let revoked = http().get(url("/api/users/self")).header("Authorization", &bearer).send().await.unwrap();
    expect(revoked, StatusCode::UNAUTHORIZED).await;
}

#[tokio::test]
async fn read_only_and_expired_tokens() {
    let (_, _, key) = new_user().await;
    let auth = token(&key);
    let read_only = expect(
        http()
            .post(url("/api/auth/access_tokens"))
            .header("Authorization", &auth)
            .json(&json!({"name": "ro", "read_only": true}))
            .send()
            .await
            .unwrap(),
        StatusCode::CREATED,
    )
    .await;
    let bearer = format!("Bearer {}", read_only["value"].as_str().unwrap());
    let me = expect(
        http().get(url("/api/users/self")).header("Authorization", &bearer).send().await.unwrap(),
        StatusCode::OK,
    )
    .await;
    let write = http()
        .patch(url(&format!("/api/users/{}", me["id"])))
        .header("Authorization", &bearer)
        .json(&json!({"first_name": "no"}))
        .send()
        .await
        .unwrap();
    expect(write, StatusCode::FORBIDDEN).await;

    let soon = (chrono::Utc::now() + chrono::Duration::seconds(2)).to_rfc3339();
    let expiring = expect(
        http()
            .post(url("/api/auth/access_tokens"))
            .header("Authorization", &auth)
            .json(&json!({"name": "short", "expiry_date": soon}))
            .send()
            .await
            .unwrap(),
        StatusCode::CREATED,
    )
    .await;
    let bearer = format!("Bearer {}", expiring["value"].as_str().unwrap());
    expect(http().get(url("/api/users/self")).header("Authorization", &bearer).send().await.unwrap(), StatusCode::OK)
        .await;
    tokio::time::sleep(std::time::Duration::from_secs(3)).await;
    let expired = http().get(url("/api/users/self")).header("Authorization", &bearer).send().await.unwrap();
    expect(expired, StatusCode::UNAUTHORIZED).await;

    let past = http()
        .post(url("/api/auth/access_tokens"))
        .header("Authorization", &auth)
        .json(&json!({"name": "past", "expiry_date": "2001-01-01T00:00:00Z"}))
        .send()
        .await
        .unwrap();
    assert!(expect(past, StatusCode::BAD_REQUEST).await.get("expiry_date").is_some());
}

#[tokio::test]
async fn password_change_and_reset() {
    let (username, password, key) = new_user().await;
    let change = http()
        .post(url("/api/auth/password/change"))
        .header("Authorization", token(&key))
        .json(&json!({"old_password": "wrong-old", "new_password1": "Another-pass-77", "new_password2": "Another-pass-77"}))
        .send()
        .await
        .unwrap();
    assert!(expect(change, StatusCode::BAD_REQUEST).await.get("old_password").is_some());
    let change = http()
        .post(url("/api/auth/password/change"))
        .header("Authorization", token(&key))
        .json(
            &json!({"old_password": password, "new_password1": "Another-pass-77", "new_password2": "Another-pass-77"}),
        )
        .send()
        .await
        .unwrap();
    expect(change, StatusCode::OK).await;
    let old_key = http().get(url("/api/users/self")).header("Authorization", token(&key)).send().await.unwrap();
    expect(old_key, StatusCode::UNAUTHORIZED).await;
    login_key(&username, "Another-pass-77").await;

    // Reset: the mail lands in the outbox directory; take uid and token from it.
    let email = format!("{username}@example.com");
    let reset = http().post(url("/api/auth/password/reset")).json(&json!({"email": email})).send().await.unwrap();
    expect(reset, StatusCode::OK).await;
    let outbox = std::env::var("CVAT_MAIL_DIR").expect("set by tests/run.sh");
    let mail = std::fs::read_dir(&outbox)
        .unwrap()
        .filter_map(Result::ok)
        .find(|e| e.file_name().to_string_lossy().starts_with(&email))
        .map(|e| std::fs::read_to_string(e.path()).unwrap())
        .expect("reset mail written");
    let link = mail.split("uid=").nth(1).unwrap();
    let uid = link.split('&').next().unwrap();
    let reset_token = link.split("token=").nth(1).unwrap().split_whitespace().next().unwrap();
    let confirm = |token: String| {
        http().post(url("/api/auth/password/reset/confirm")).json(&json!({
            "uid": uid, "token": token, "new_password1": "Third-pass-99", "new_password2": "Third-pass-99"}))
    };
    expect(confirm("forged".into()).send().await.unwrap(), StatusCode::BAD_REQUEST).await;
    expect(confirm(reset_token.to_string()).send().await.unwrap(), StatusCode::OK).await;
    expect(confirm(reset_token.to_string()).send().await.unwrap(), StatusCode::BAD_REQUEST).await;
    login_key(&username, "Third-pass-99").await;
}

#[tokio::test]
async fn failed_logins_are_throttled_per_account() {
    let (username, password, _) = new_user().await;
    let attempt = |pw: &str| http().post(url("/api/auth/login")).json(&json!({"username": username, "password": pw}));
    // tests/run.sh sets CVAT_LOGIN_MAX_FAILURES=5.
    for _ in 0..5 {
        expect(attempt("bad-guess").send().await.unwrap(), StatusCode::BAD_REQUEST).await;
    }
    expect(attempt("bad-guess").send().await.unwrap(), StatusCode::TOO_MANY_REQUESTS).await;
    // Even the right password waits out the window.
    expect(attempt(&password).send().await.unwrap(), StatusCode::TOO_MANY_REQUESTS).await;
}

#[tokio::test]
async fn logout_with_a_stale_session_still_succeeds() {
    let response = http()
        .post(url("/api/auth/logout"))
        .header("Cookie", "sessionid=stale; csrftoken=x")
        .header("X-CSRFToken", "x")
        .send()
        .await
        .unwrap();
    let cookies: Vec<String> =
        response.headers().get_all("set-cookie").iter().map(|v| v.to_str().unwrap().to_string()).collect();
    assert!(cookies.iter().any(|c| c.starts_with("sessionid=;") && c.contains("Max-Age=0")));
    expect(response, StatusCode::OK).await;
}

#[tokio::test]
async fn login_by_email_in_either_field() {
    let (username, password, _) = new_user().await;
    let email = format!("{username}@EXAMPLE.com");
    for body in [json!({"username": email, "password": password}), json!({"email": email, "password": password})] {
        let response = http().post(url("/api/auth/login")).json(&body).send().await.unwrap();
        assert_eq!(expect(response, StatusCode::OK).await["key"].as_str().unwrap().len(), 40);
    }
}

#[tokio::test]
async fn logout_ends_the_key_login_gave() {
    let (username, password, _) = new_user().await;
    let key = login_key(&username, &password).await;
    let me = http().get(url("/api/users/self")).header("Authorization", token(&key)).send().await.unwrap();
    expect(me, StatusCode::OK).await;
    let logout = http().post(url("/api/auth/logout")).header("Authorization", token(&key)).send().await.unwrap();
    expect(logout, StatusCode::OK).await;
    let after = http().get(url("/api/users/self")).header("Authorization", token(&key)).send().await.unwrap();
    expect(after, StatusCode::UNAUTHORIZED).await;
}

#[tokio::test]
async fn a_reset_link_dies_with_the_password_and_survives_a_refused_one() {
    let (username, _, _) = new_user().await;
    let email = format!("{username}@example.com");
    for _ in 0..2 {
        let reset = http().post(url("/api/auth/password/reset")).json(&json!({"email": email})).send().await.unwrap();
        expect(reset, StatusCode::OK).await;
    }
    let outbox = std::env::var("CVAT_MAIL_DIR").expect("set by tests/run.sh");
    let links: Vec<(String, String)> = std::fs::read_dir(&outbox)
        .unwrap()
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().starts_with(&email))
        .map(|e| {
            let mail = std::fs::read_to_string(e.path()).unwrap();
            let link = mail.split("uid=").nth(1).unwrap().to_string();
            let uid = link.split('&').next().unwrap().to_string();
            (uid, link.split("token=").nth(1).unwrap().split_whitespace().next().unwrap().to_string())
        })
        .collect();
    assert_eq!(links.len(), 2);
    let confirm = |(uid, token): &(String, String), password: &str| {
        http().post(url("/api/auth/password/reset/confirm")).json(&json!({
            "uid": uid, "token": token, "new_password1": password, "new_password2": password}))
    };
    let weak = expect(confirm(&links[0], "short").send().await.unwrap(), StatusCode::BAD_REQUEST).await;
    assert!(weak.get("new_password2").is_some() || weak.get("new_password1").is_some(), "{weak}");
    expect(confirm(&links[0], "Fourth-pass-31").send().await.unwrap(), StatusCode::OK).await;
    let other = expect(confirm(&links[1], "Fifth-pass-42").send().await.unwrap(), StatusCode::BAD_REQUEST).await;
    assert!(other.get("token").is_some(), "{other}");
    login_key(&username, "Fourth-pass-31").await;
}

#[tokio::test]
async fn strangers_cannot_lock_the_owner_out() {
    let (username, password, _) = new_user().await;
    let email = format!("{username}@example.com");
    let from = |ip: [u8; 4]| {
        reqwest::Client::builder().local_address(std::net::IpAddr::from(ip)).build().expect("client builds")
    };
    let (stranger, owner) = (from([127, 0, 0, 2]), from([127, 0, 0, 3]));
    let login = |client: &reqwest::Client, name: &str, pw: &str| {
        client.post(url("/api/auth/login")).json(&json!({"username": name, "password": pw}))
    };
    // tests/run.sh sets CVAT_LOGIN_MAX_FAILURES=5.
    for _ in 0..5 {
        expect(login(&stranger, &username, "bad-guess").send().await.unwrap(), StatusCode::BAD_REQUEST).await;
    }
    expect(login(&stranger, &username, "bad-guess").send().await.unwrap(), StatusCode::TOO_MANY_REQUESTS).await;
    // The e-mail names the same account: no fresh guesses.
    expect(login(&stranger, &email, "bad-guess").send().await.unwrap(), StatusCode::TOO_MANY_REQUESTS).await;
    // The owner, from their own address, still gets in.
    expect(login(&owner, &username, &password).send().await.unwrap(), StatusCode::OK).await;
}

#[tokio::test]
async fn a_taken_email_is_named_as_such() {
    let (first, _, _) = new_user().await;
    let email = format!("{first}@example.com");
    let body = json!({"username": unique("user"), "email": email, "password1": "Sturdy-pass-42", "password2": "Sturdy-pass-42"});
    let taken = http().post(url("/api/auth/register")).json(&body).send().await.unwrap();
    let answer = expect(taken, StatusCode::BAD_REQUEST).await;
    assert!(answer.get("email").is_some() && answer.get("username").is_none(), "{answer}");
}

/// Gateways keep verified tokens for a few seconds: a token revoked through one gateway
/// is refused there at once and by every other gateway within the promised 10 s (at once
/// when Redis carries the auth service's announcement).
#[tokio::test]
async fn a_revoked_token_is_refused_by_every_gateway() {
    let (other, pids) = spawn_auth_and_gateway(42, "revocation", &[]).await;
    let (_, _, key) = new_user().await;
    let created = expect(
        http()
            .post(url("/api/auth/access_tokens"))
            .header("Authorization", token(&key))
            .json(&json!({"name": "revoked soon"}))
            .send()
            .await
            .unwrap(),
        StatusCode::CREATED,
    )
    .await;
    let bearer = format!("Bearer {}", created["value"].as_str().unwrap());
    let me = |base: String| {
        let bearer = bearer.clone();
        async move { http().get(format!("{base}/api/users/self")).header("Authorization", bearer).send().await.unwrap() }
    };
    for base in [url(""), other.clone(), url(""), other.clone()] {
        assert_eq!(me(base).await.status(), StatusCode::OK);
    }
    let revoke = http()
        .delete(url(&format!("/api/auth/access_tokens/{}", created["id"])))
        .header("Authorization", token(&key))
        .send()
        .await
        .unwrap();
    assert_eq!(revoke.status(), StatusCode::NO_CONTENT);
    let revoked_at = std::time::Instant::now();
    expect(me(url("")).await, StatusCode::UNAUTHORIZED).await;
    while me(other.clone()).await.status() != StatusCode::UNAUTHORIZED {
        assert!(revoked_at.elapsed() < std::time::Duration::from_secs(10), "the other gateway still accepts it");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    pids.into_iter().for_each(kill);
}
