use super::*;
use serde_json::json;

const FIELDS: &[Field] = &[
    Field { name: "id", sql: "u.id", ty: FieldType::Int },
    Field { name: "username", sql: "u.username", ty: FieldType::Text },
    Field { name: "first_name", sql: "u.first_name", ty: FieldType::Text },
    Field { name: "is_active", sql: "u.is_active", ty: FieldType::Bool },
];

const SPEC: ListSpec = ListSpec {
    fields: FIELDS,
    search: &["username", "first_name"],
    filter: &["id", "username", "first_name", "is_active"],
    equals: &["username", "is_active", "id"],
    sort: &["id", "username", "first_name", "is_active"],
    default_sort: "-id",
    search_sql: None,
};

fn compile_filter(filter: &str) -> ApiResult<(String, Vec<SqlParam>)> {
    let params = ListParams { filter: filter.to_string(), ..Default::default() };
    let compiled = compile(&SPEC, &params, SqlWhere::default())?;
    Ok((compiled.conditions.to_sql(), compiled.conditions.param_values().to_vec()))
}

#[test]
fn paging_defaults_and_bounds() {
    assert_eq!(parse_paging(None, None).unwrap(), (1, 10));
    assert_eq!(parse_paging(Some("3"), Some("100")).unwrap(), (3, 100));
    assert_eq!(parse_paging(Some("0"), None).unwrap_err().status_code(), 404);
    assert_eq!(parse_paging(Some("x"), None).unwrap_err().status_code(), 404);
    for bad in ["0", "-1", "1001", "many"] {
        let err = parse_paging(None, Some(bad)).unwrap_err();
        assert_eq!(err.status_code(), 400, "{bad}");
        assert!(err.body.get("page_size").is_some());
    }
}

#[test]
fn comparison_and_junctions() {
    let (sql, params) =
        compile_filter(r#"{"and":[{"==":[{"var":"username"},"bob"]},{"!":{">":[{"var":"id"},3]}}]}"#).unwrap();
    assert_eq!(sql, "WHERE (u.username = $1::text AND NOT (u.id > $2::int8))");
    assert_eq!(params, vec![SqlParam::Text("bob".into()), SqlParam::Int(3)]);
}

#[test]
fn between_in_and_substring() {
    let (sql, _) = compile_filter(r#"{"<=":[1,{"var":"id"},5]}"#).unwrap();
    assert_eq!(sql, "WHERE ($1::int8 <= u.id AND u.id <= $2::int8)");
    let (sql, params) = compile_filter(r#"{"in":[{"var":"id"},[1,2]]}"#).unwrap();
    assert_eq!(sql, "WHERE u.id IN ($1::int8, $2::int8)");
    assert_eq!(params.len(), 2);
    let (sql, _) = compile_filter(r#"{"in":["ad",{"var":"username"}]}"#).unwrap();
    assert_eq!(sql, "WHERE strpos((u.username)::text, $1::text) > 0");
    let (sql, _) = compile_filter(r#"{"or":[{"var":"first_name"},{"==":[{"var":"is_active"},true]}]}"#).unwrap();
    assert_eq!(sql, "WHERE ((u.first_name) IS NOT NULL OR u.is_active = $1::bool)");
}

#[test]
fn bad_filters_are_400_lists() {
    for bad in [
        "not json",
        "{}",
        r#"{"like":[{"var":"id"},1]}"#,
        r#"{"==":[{"var":"password"},"x"]}"#,
        r#"{"==":[{"var":"id"},"abc"]}"#,
        r#"{"and":[]}"#,
        r#"[1,2]"#,
    ] {
        let err = compile_filter(bad).unwrap_err();
        assert_eq!(err.status_code(), 400, "{bad}");
        let message = err.body[0].as_str().unwrap();
        assert!(message.starts_with("filter"), "{bad}: {message}");
    }
}

#[test]
fn sort_search_and_equality() {
    let mut params = ListParams { sort: "username,-id".into(), search: "al, bo".into(), ..Default::default() };
    params.equals.insert("is_active".into(), "True".into());
    params.equals.insert("unrelated".into(), "x".into());
    let compiled = compile(&SPEC, &params, SqlWhere::default()).unwrap();
    assert_eq!(compiled.order_by, "u.username ASC, u.id DESC");
    assert_eq!(
        compiled.conditions.to_sql(),
        "WHERE u.is_active = $1::bool AND ((u.username)::text ILIKE $2::text OR (u.first_name)::text ILIKE $3::text) \
         AND ((u.username)::text ILIKE $4::text OR (u.first_name)::text ILIKE $5::text)"
    );
    assert_eq!(compiled.conditions.param_values()[1], SqlParam::Text("%al%".into()));

    let bad_sort = ListParams { sort: "password".into(), ..Default::default() };
    assert_eq!(
        compile(&SPEC, &bad_sort, SqlWhere::default()).unwrap_err().body,
        json!(["sort: unknown field 'password'"])
    );

    let mut bad_eq = ListParams::default();
    bad_eq.equals.insert("id".into(), "abc".into());
    assert_eq!(compile(&SPEC, &bad_eq, SqlWhere::default()).unwrap_err().body, json!({"id": ["Enter a number."]}));
}

#[test]
fn search_escapes_like_wildcards() {
    let params = ListParams { search: "50%_".into(), ..Default::default() };
    let compiled = compile(&SPEC, &params, SqlWhere::default()).unwrap();
    assert_eq!(compiled.conditions.param_values()[0], SqlParam::Text("%50\\%\\_%".into()));
}

#[test]
fn default_order_and_offset() {
    let params = ListParams { page: 3, page_size: 20, ..Default::default() };
    let compiled = compile(&SPEC, &params, SqlWhere::default()).unwrap();
    assert_eq!(compiled.order_by, "u.id DESC");
    assert_eq!((compiled.limit, compiled.offset), (20, 40));
}

#[test]
fn many_search_terms_and_long_filters_are_refused_at_once() {
    let terms = (0..3000).map(|i| format!("t{i}")).collect::<Vec<_>>().join(",");
    let params = ListParams { search: terms, ..ListParams::default() };
    let err = compile(&SPEC, &params, SqlWhere::default()).unwrap_err();
    assert!(err.body.get("search").is_some());
    // Repeats count once.
    let params = ListParams { search: vec!["a"; 3000].join(","), ..ListParams::default() };
    assert!(compile(&SPEC, &params, SqlWhere::default()).is_ok());
    let params = ListParams {
        filter: format!("{{\"==\":[{{\"var\":\"username\"}},\"{}\"]}}", "x".repeat(5000)),
        ..ListParams::default()
    };
    assert!(compile(&SPEC, &params, SqlWhere::default()).unwrap_err().body.get("filter").is_some());
}

#[tokio::test]
async fn one_count_at_a_time_per_query_and_no_slot_left_behind() {
    let counts = std::sync::Arc::new(CountCache::new("0", 10));
    let key = "tasks WHERE x".to_string();
    let first = counts.one_at_a_time(&key).await;
    let waiting = {
        let (counts, key) = (counts.clone(), key.clone());
        tokio::spawn(async move {
            let _turn = counts.one_at_a_time(&key).await;
            counts.counts.insert(key.clone(), (7, 3), 1);
        })
    };
    tokio::task::yield_now().await;
    assert!(!waiting.is_finished(), "the second count waits for the first");
    assert_eq!(counts.at(&key, Some(7)), None);
    drop(first);
    waiting.await.unwrap();
    assert_eq!((counts.at(&key, Some(7)), counts.at(&key, Some(8))), (Some(3), None));
    assert!(counts.slots().is_empty());
}
