use crate::common::*;
use reqwest::StatusCode;
use serde_json::json;

#[tokio::test]
async fn organization_lifecycle_with_invitations_and_roles() {
    let (owner, owner_name) = Caller::new().await;
    let (bob, bob_name) = Caller::new().await;
    let (carol, carol_name) = Caller::new().await;
    let slug = unique("o");

    let org = expect(
        owner.post("/api/organizations", None, json!({"slug": slug, "contact": {"email": "x@y.z"}})).await,
        StatusCode::CREATED,
    )
    .await;
    let org_id = org["id"].as_i64().unwrap();
    assert_eq!(
        (org["name"].as_str(), org["owner"]["username"].as_str()),
        (Some(slug.as_str()), Some(owner_name.as_str()))
    );
    let taken =
        expect(owner.post("/api/organizations", None, json!({"slug": slug})).await, StatusCode::BAD_REQUEST).await;
    assert!(taken.get("slug").is_some());
    let bad = expect(
        owner.post("/api/organizations", None, json!({"slug": "no spaces allowed"})).await,
        StatusCode::BAD_REQUEST,
    )
    .await;
    assert!(bad.get("slug").is_some());

    // Outsiders neither see nor change it.
    expect(bob.get(&format!("/api/organizations/{org_id}"), None).await, StatusCode::NOT_FOUND).await;
    expect(bob.patch(&format!("/api/organizations/{org_id}"), json!({"name": "mine"})).await, StatusCode::NOT_FOUND)
        .await;
    assert_eq!(expect(bob.get("/api/organizations", None).await, StatusCode::OK).await["count"], 0);
    expect(bob.get("/api/memberships", Some(&slug)).await, StatusCode::FORBIDDEN).await;
    expect(
        bob.post("/api/invitations", Some(&slug), json!({"email": carol_name, "role": "worker"})).await,
        StatusCode::FORBIDDEN,
    )
    .await;

    // The owner invites bob as maintainer (by username): an existing user joins at once,
    // as in CVAT by default (ORG_INVITATION_CONFIRM off).
    let invitation = expect(
        owner.post("/api/invitations", Some(&slug), json!({"email": bob_name, "role": "maintainer"})).await,
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(
        (invitation["accepted"].as_bool(), invitation["organization_info"]["slug"].as_str()),
        (Some(true), Some(slug.as_str()))
    );
    let key = invitation["key"].as_str().unwrap().to_string();
    let again = owner.post("/api/invitations", Some(&slug), json!({"email": bob_name, "role": "worker"})).await;
    expect(again, StatusCode::BAD_REQUEST).await;
    expect(
        owner.post("/api/invitations", Some(&slug), json!({"email": carol_name, "role": "owner"})).await,
        StatusCode::BAD_REQUEST,
    )
    .await;
    expect(owner.post(&format!("/api/invitations/{key}/accept"), None, json!({})).await, StatusCode::FORBIDDEN).await;
    let twice =
        expect(bob.post(&format!("/api/invitations/{key}/accept"), None, json!({})).await, StatusCode::BAD_REQUEST)
            .await;
    assert_eq!(twice, json!(["Your invitation is already accepted."]));
    expect(bob.get("/api/memberships", Some(&slug)).await, StatusCode::OK).await;

    // The maintainer may invite workers but not maintainers.
    expect(
        bob.post("/api/invitations", Some(&slug), json!({"email": carol_name, "role": "maintainer"})).await,
        StatusCode::FORBIDDEN,
    )
    .await;
    let joined = expect(
        bob.post("/api/invitations", Some(&slug), json!({"email": carol_name, "role": "worker"})).await,
        StatusCode::CREATED,
    )
    .await;
    let decline = format!("/api/invitations/{}/decline", joined["key"].as_str().unwrap());
    expect(carol.post(&decline, None, json!({})).await, StatusCode::BAD_REQUEST).await;

    // Memberships in the organization's context.
    let members = expect(owner.get("/api/memberships", Some(&slug)).await, StatusCode::OK).await;
    assert_eq!(members["count"], 3);
    let find = |role: &str| members["results"].as_array().unwrap().iter().find(|m| m["role"] == role).unwrap().clone();
    let (owner_row, bob_row, carol_row) = (find("owner"), find("maintainer"), find("worker"));
    assert_eq!(bob_row["invitation"].as_str(), Some(key.as_str()));
    assert!(owner_row["invitation"].is_null());
    let carol_id = carol_row["id"].as_i64().unwrap();
    let owner_row_id = owner_row["id"].as_i64().unwrap();

    // Carol (worker) sees her organization and its users, but cannot manage anyone.
    assert_eq!(expect(carol.get("/api/organizations", None).await, StatusCode::OK).await["count"], 1);
    assert_eq!(expect(carol.get("/api/users", Some(&slug)).await, StatusCode::OK).await["count"], 3);
    expect(
        carol.patch(&format!("/api/memberships/{owner_row_id}"), json!({"role": "worker"})).await,
        StatusCode::FORBIDDEN,
    )
    .await;
    expect(
        carol.patch(&format!("/api/organizations/{org_id}"), json!({"name": "carol's"})).await,
        StatusCode::FORBIDDEN,
    )
    .await;
    // The maintainer promotes the worker to supervisor, but not to owner; nobody demotes the owner.
    let promoted =
        expect(bob.patch(&format!("/api/memberships/{carol_id}"), json!({"role": "supervisor"})).await, StatusCode::OK)
            .await;
    assert_eq!(promoted["role"], "supervisor");
    expect(
        owner.patch(&format!("/api/memberships/{carol_id}"), json!({"role": "owner"})).await,
        StatusCode::BAD_REQUEST,
    )
    .await;
    expect(
        owner.patch(&format!("/api/memberships/{carol_id}"), json!({"role": "boss"})).await,
        StatusCode::BAD_REQUEST,
    )
    .await;
    expect(
        bob.patch(&format!("/api/memberships/{owner_row_id}"), json!({"role": "worker"})).await,
        StatusCode::FORBIDDEN,
    )
    .await;
    assert_eq!(owner.delete(&format!("/api/memberships/{owner_row_id}")).await.status(), StatusCode::FORBIDDEN);
    // The maintainer renames the organization; carol leaves on her own.
    let renamed =
        expect(bob.patch(&format!("/api/organizations/{org_id}"), json!({"name": "Acme Labs"})).await, StatusCode::OK)
            .await;
    assert_eq!(renamed["name"], "Acme Labs");
    assert_eq!(carol.delete(&format!("/api/memberships/{carol_id}")).await.status(), StatusCode::NO_CONTENT);
    expect(carol.get(&format!("/api/organizations/{org_id}"), None).await, StatusCode::NOT_FOUND).await;

    // Only the owner deletes the organization.
    assert_eq!(bob.delete(&format!("/api/organizations/{org_id}")).await.status(), StatusCode::FORBIDDEN);
    assert_eq!(owner.delete(&format!("/api/organizations/{org_id}")).await.status(), StatusCode::NO_CONTENT);
    expect(owner.get("/api/users", Some(&slug)).await, StatusCode::NOT_FOUND).await;
}

#[tokio::test]
async fn invitations_need_a_known_user_and_an_organization_context() {
    let (owner, _) = Caller::new().await;
    let slug = unique("o");
    expect(owner.post("/api/organizations", None, json!({"slug": slug})).await, StatusCode::CREATED).await;
    let unknown =
        owner.post("/api/invitations", Some(&slug), json!({"email": "nobody@nowhere.example", "role": "worker"})).await;
    assert!(expect(unknown, StatusCode::BAD_REQUEST).await.get("email").is_some());
    let no_context = owner.post("/api/invitations", None, json!({"email": "admin", "role": "worker"})).await;
    expect(no_context, StatusCode::BAD_REQUEST).await;
    let missing = owner.post("/api/invitations", Some(&slug), json!({"role": "worker"})).await;
    assert_eq!(expect(missing, StatusCode::BAD_REQUEST).await, json!({"email": ["This field is required."]}));
}

#[tokio::test]
async fn invitations_wait_for_acceptance_when_configured() {
    // A second auth service and gateway of this stack (same database and Redis) with
    // CVAT_ORG_INVITATION_CONFIRM=true; tests/run.sh leaves BASE+30..+33 free for them.
    let (confirming, pids) =
        spawn_auth_and_gateway(30, "confirm", &[("CVAT_ORG_INVITATION_CONFIRM", "true".into())]).await;
    let call = |who: &Caller, method: reqwest::Method, path: &str, org: Option<&str>| {
        let mut request = http().request(method, format!("{confirming}{path}")).header("Authorization", &who.0);
        if let Some(org) = org {
            request = request.header("X-Organization", org.to_string());
        }
        request.json(&json!({}))
    };
    let (owner, _) = Caller::new().await;
    let (invitee, invitee_name) = Caller::new().await;
    let slug = unique("c");
    expect(owner.post("/api/organizations", None, json!({"slug": slug})).await, StatusCode::CREATED).await;
    let invite = call(&owner, reqwest::Method::POST, "/api/invitations", Some(&slug))
        .json(&json!({"email": invitee_name, "role": "worker"}));
    let invitation = expect(invite.send().await.unwrap(), StatusCode::CREATED).await;
    assert_eq!(invitation["accepted"], false);
    let key = invitation["key"].as_str().unwrap();
    // Not a member until they accept.
    expect(invitee.get("/api/memberships", Some(&slug)).await, StatusCode::FORBIDDEN).await;
    let accept = call(&invitee, reqwest::Method::POST, &format!("/api/invitations/{key}/accept"), None);
    assert_eq!(expect(accept.send().await.unwrap(), StatusCode::OK).await, json!({"organization_slug": slug}));
    expect(invitee.get("/api/memberships", Some(&slug)).await, StatusCode::OK).await;
    // CVAT's older clients accept with `PATCH {"accepted": true}`: the invitation answers.
    let other = unique("c");
    expect(owner.post("/api/organizations", None, json!({"slug": other})).await, StatusCode::CREATED).await;
    let invite = call(&owner, reqwest::Method::POST, "/api/invitations", Some(&other))
        .json(&json!({"email": invitee_name, "role": "supervisor"}));
    let invitation = expect(invite.send().await.unwrap(), StatusCode::CREATED).await;
    let key = invitation["key"].as_str().unwrap();
    let patch = call(&invitee, reqwest::Method::PATCH, &format!("/api/invitations/{key}"), None)
        .json(&json!({"accepted": true}));
    let accepted = expect(patch.send().await.unwrap(), StatusCode::OK).await;
    assert_eq!((accepted["accepted"].as_bool(), accepted["role"].as_str()), (Some(true), Some("supervisor")));
    expect(invitee.get("/api/memberships", Some(&other)).await, StatusCode::OK).await;
    pids.into_iter().for_each(kill);
}
