//! Helpers shared by the end-to-end tests.

use reqwest::{Client, Response, StatusCode};
use serde_json::{json, Value};

pub fn base() -> String {
    std::env::var("CVAT_TEST_URL").expect("CVAT_TEST_URL is unset: run the end-to-end tests with `make test`")
}

pub fn url(path: &str) -> String {
    format!("{}{path}", base())
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

/// Asserts a status and a JSON body, returning the body.
pub async fn expect(response: Response, status: StatusCode) -> Value {
    let actual = response.status();
    let text = response.text().await.unwrap();
    assert_eq!(actual, status, "body: {text}");
    serde_json::from_str(&text).unwrap_or_else(|_| panic!("body is not JSON: {text:?}"))
}
