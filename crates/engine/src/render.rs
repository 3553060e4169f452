//! Pieces shared by the read models.

use chrono::{DateTime, Utc};
use cvat_db::column;
use cvat_error::ApiResult;
use serde_json::{json, Value};
use tokio_postgres::Row;

pub(crate) fn timestamp(value: DateTime<Utc>) -> String {
    value.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
}

pub(crate) fn optional_timestamp(value: Option<DateTime<Utc>>) -> Value {
    value.map_or(Value::Null, |t| Value::String(timestamp(t)))
}

/// CVAT's `BasicUser` from the columns `{prefix}_id`, `{prefix}_username`,
/// `{prefix}_first_name`, `{prefix}_last_name`; null when there is no user.
pub(crate) fn user(base_url: &str, row: &Row, prefix: &str) -> ApiResult<Value> {
    let Some(id) = column::<_, Option<i64>>(row, format!("{prefix}_id").as_str())? else {
        return Ok(Value::Null);
    };
    let text = |field: &str| {
        column::<_, Option<String>>(row, format!("{prefix}_{field}").as_str()).map(Option::unwrap_or_default)
    };
    Ok(json!({
        "url": format!("{base_url}/api/users/{id}"),
        "id": id,
        "username": text("username")?,
        "first_name": text("first_name")?,
        "last_name": text("last_name")?,
    }))
}

/// SQL selecting the columns [`user`] reads, from the users table aliased `alias`.
pub(crate) fn user_columns(alias: &str, prefix: &str) -> String {
    format!(
        "{alias}.id AS {prefix}_id, {alias}.username AS {prefix}_username, \
         {alias}.first_name AS {prefix}_first_name, {alias}.last_name AS {prefix}_last_name"
    )
}

/// A stored storage value, or null.
pub(crate) fn storage(row: &Row, name: &str) -> ApiResult<Value> {
    Ok(column::<_, Option<Value>>(row, name)?.unwrap_or(Value::Null))
}
