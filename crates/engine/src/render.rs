//! Pieces shared by the read models.

use cvat_db::column;
use cvat_error::{ApiError, ApiResult};
use cvat_models::{BasicUser, Storage, Timestamp};
use serde_json::Value;
use tokio_postgres::Row;

/// CVAT's `BasicUser` from the columns `{prefix}_id`, `{prefix}_username`,
/// `{prefix}_first_name`, `{prefix}_last_name`; none when there is no user.
pub(crate) fn user(base_url: &str, row: &Row, prefix: &str) -> ApiResult<Option<BasicUser>> {
    let Some(id) = column::<_, Option<i64>>(row, format!("{prefix}_id").as_str())? else {
        return Ok(None);
    };
    let text = |field: &str| {
        column::<_, Option<String>>(row, format!("{prefix}_{field}").as_str()).map(Option::unwrap_or_default)
    };
    Ok(Some(BasicUser {
        url: format!("{base_url}/api/users/{id}"),
        id,
        username: text("username")?,
        first_name: text("first_name")?,
        last_name: text("last_name")?,
    }))
}

/// SQL selecting the columns [`user`] reads, from the users table aliased `alias`.
pub(crate) fn user_columns(alias: &str, prefix: &str) -> String {
    format!(
        "{alias}.id AS {prefix}_id, {alias}.username AS {prefix}_username, \
         {alias}.first_name AS {prefix}_first_name, {alias}.last_name AS {prefix}_last_name"
    )
}

/// A stored storage value (`{id, location, cloud_storage_id}`), if any.
pub(crate) fn storage(row: &Row, name: &str) -> ApiResult<Option<Storage>> {
    let Some(value) = column::<_, Option<Value>>(row, name)? else { return Ok(None) };
    serde_json::from_value(value).map(Some).map_err(|err| {
        tracing::error!(error = %err, column = name, "unreadable storage");
        ApiError::internal()
    })
}

/// A timestamp column, as the read models carry it.
#[track_caller]
pub(crate) fn moment(row: &Row, name: &str) -> ApiResult<Timestamp> {
    column(row, name).map(Timestamp)
}

/// A nullable timestamp column.
#[track_caller]
pub(crate) fn maybe_moment(row: &Row, name: &str) -> ApiResult<Option<Timestamp>> {
    Ok(column::<_, Option<chrono::DateTime<chrono::Utc>>>(row, name)?.map(Timestamp))
}
