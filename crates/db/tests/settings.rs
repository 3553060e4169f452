//! Settings of pooled sessions, against a real PostgreSQL (`CVAT_DATABASE_URL`, or the
//! local one `make test` starts).

fn database_url() -> String {
    std::env::var("CVAT_DATABASE_URL").unwrap_or_else(|_| "postgres://cvat:cvat@127.0.0.1:5432/cvat".to_string())
}

async fn show(client: &tokio_postgres::Client, name: &str) -> String {
    client.query_one(&format!("SHOW {name}"), &[]).await.unwrap().try_get(0).unwrap()
}

/// Pooled sessions start no parallel workers; a statement run with a setting sees it, and
/// the session's own value is back afterwards, also when that statement fails.
#[tokio::test]
async fn a_setting_holds_for_its_statement_alone() {
    let pool = cvat_db::pool(&database_url(), "public", 1, 30_000).unwrap();
    let client = pool.get().await.unwrap();
    let parallel = "max_parallel_workers_per_gather";
    assert_eq!(show(&client, parallel).await, "0");

    let shown = client.prepare(&format!("SHOW {parallel}")).await.unwrap();
    let inside: String = cvat_db::scan_in_parallel(&client, &shown, &[]).await.unwrap()[0].try_get(0).unwrap();
    assert_eq!(inside, "2");
    assert_eq!(show(&client, parallel).await, "0");

    let failing = client.prepare("SELECT 1 / (SELECT count(*) FROM pg_class WHERE false)::int").await.unwrap();
    let failed = cvat_db::query_with_setting(&client, "plan_cache_mode", "force_generic_plan", &failing, &[]).await;
    assert!(failed.is_err(), "a division by zero fails");
    assert_eq!(show(&client, "plan_cache_mode").await, "auto");
    assert_eq!(show(&client, parallel).await, "0");
}
