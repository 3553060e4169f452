use crate::common::*;
use reqwest::StatusCode;
use serde_json::json;

#[tokio::test]
async fn users_see_themselves_and_admins_see_all() {
    let (alice, _, alice_key) = new_user().await;
    let (bob, _, bob_key) = new_user().await;
    let list = expect(
        http().get(url("/api/users")).header("Authorization", token(&alice_key)).send().await.unwrap(),
        StatusCode::OK,
    )
    .await;
    assert_eq!(list["count"], 1);
    assert_eq!(list["results"][0]["username"], alice.as_str());
    assert!(list["next"].is_null());

    let admin = token(&admin_key().await);
    let search = format!("/api/users?search={bob}");
    let found =
        expect(http().get(url(&search)).header("Authorization", &admin).send().await.unwrap(), StatusCode::OK).await;
    assert_eq!(found["count"], 1);
    let bob_id = found["results"][0]["id"].as_i64().unwrap();
    assert_eq!(found["results"][0]["groups"], json!(["user"]));

    // Another user's record is not theirs to read or change.
    let peek = http()
        .get(url(&format!("/api/users/{bob_id}")))
        .header("Authorization", token(&alice_key))
        .send()
        .await
        .unwrap();
    expect(peek, StatusCode::FORBIDDEN).await;
    let change = http()
        .patch(url(&format!("/api/users/{bob_id}")))
        .header("Authorization", token(&alice_key))
        .json(&json!({"first_name": "Mallory"}))
        .send()
        .await
        .unwrap();
    expect(change, StatusCode::FORBIDDEN).await;
    let escalate = http()
        .patch(url(&format!("/api/users/{bob_id}")))
        .header("Authorization", token(&bob_key))
        .json(&json!({"is_superuser": true}))
        .send()
        .await
        .unwrap();
    assert!(expect(escalate, StatusCode::BAD_REQUEST).await[0].as_str().unwrap().contains("permissions"));

    let promoted = http()
        .patch(url(&format!("/api/users/{bob_id}")))
        .header("Authorization", &admin)
        .json(&json!({"groups": ["worker"], "email": "bob@example.org"}))
        .send()
        .await
        .unwrap();
    let promoted = expect(promoted, StatusCode::OK).await;
    assert_eq!((promoted["groups"].clone(), promoted["email"].clone()), (json!(["worker"]), json!("bob@example.org")));

    let deleted = http()
        .delete(url(&format!("/api/users/{bob_id}")))
        .header("Authorization", token(&bob_key))
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
    let gone = http().get(url("/api/users/self")).header("Authorization", token(&bob_key)).send().await.unwrap();
    expect(gone, StatusCode::UNAUTHORIZED).await;
    let missing =
        http().get(url(&format!("/api/users/{bob_id}"))).header("Authorization", &admin).send().await.unwrap();
    expect(missing, StatusCode::NOT_FOUND).await;
}

#[tokio::test]
async fn list_parameters() {
    let admin = token(&admin_key().await);
    for _ in 0..3 {
        new_user().await;
    }
    let get = |path: &str| http().get(url(path)).header("Authorization", &admin).send();
    let page = expect(get("/api/users?page_size=2&sort=-id").await.unwrap(), StatusCode::OK).await;
    assert_eq!(page["results"].as_array().unwrap().len(), 2);
    assert!(page["next"].as_str().unwrap().contains("page=2"));
    assert!(page["previous"].is_null());
    let ids: Vec<i64> = page["results"].as_array().unwrap().iter().map(|u| u["id"].as_i64().unwrap()).collect();
    assert!(ids[0] > ids[1]);
    let filter = r#"{"and":[{"==":[{"var":"username"},"admin"]},{"==":[{"var":"is_active"},true]}]}"#;
    let filtered = expect(
        http()
            .get(url("/api/users"))
            .query(&[("filter", filter)])
            .header("Authorization", &admin)
            .send()
            .await
            .unwrap(),
        StatusCode::OK,
    )
    .await;
    assert_eq!(filtered["count"], 1);
    let exact = expect(get("/api/users?username=admin&is_active=True").await.unwrap(), StatusCode::OK).await;
    assert_eq!(exact["count"], 1);
    expect(get("/api/users?page=9999").await.unwrap(), StatusCode::NOT_FOUND).await;
}

#[tokio::test]
async fn changes_to_a_user_apply_at_once_to_their_cached_credentials() {
    let (_, _, key) = new_user().await;
    let me = || http().get(url("/api/users/self")).header("Authorization", token(&key)).send();
    let before = expect(me().await.unwrap(), StatusCode::OK).await;
    let admin = token(&admin_key().await);
    let id = before["id"].as_i64().unwrap();
    let changed = http()
        .patch(url(&format!("/api/users/{id}")))
        .header("Authorization", &admin)
        .json(&json!({"groups": ["worker"], "last_name": "Changed"}))
        .send()
        .await
        .unwrap();
    expect(changed, StatusCode::OK).await;
    let after = expect(me().await.unwrap(), StatusCode::OK).await;
    assert_eq!((after["groups"].clone(), after["last_name"].clone()), (json!(["worker"]), json!("Changed")));
    let deactivated = http()
        .patch(url(&format!("/api/users/{id}")))
        .header("Authorization", &admin)
        .json(&json!({"is_active": false}))
        .send()
        .await
        .unwrap();
    expect(deactivated, StatusCode::OK).await;
    expect(me().await.unwrap(), StatusCode::UNAUTHORIZED).await;
}
