//! Personal access tokens (`Authorization: Bearer`). A user manages only their own; the
//! token value is shown once, at creation, and stored as a hash. Deleting revokes.

use crate::secrets::{digest, random_token};
use crate::users::timestamp;
use crate::Identity;
use chrono::{DateTime, Utc};
use cvat_db::column;
use cvat_db::DbResultExt;
use cvat_error::{ApiError, ApiResult, FieldErrors};
use cvat_listing::{Field, FieldType, ListParams, ListSpec, SqlParam, SqlWhere};
use cvat_proto::auth::{AccessToken, AccessTokenPage, Principal, UpdateAccessTokenRequest};
use tokio_postgres::Row;

const COLUMNS: &str = "t.id, t.name, t.created_date, t.updated_date, t.expiry_date, t.last_used_date, \
     t.read_only, t.user_id, u.username";

const FIELDS: &[Field] = &[
    Field { name: "id", sql: "t.id", ty: FieldType::Int },
    Field { name: "name", sql: "t.name", ty: FieldType::Text },
    Field { name: "read_only", sql: "t.read_only", ty: FieldType::Bool },
    Field { name: "created_date", sql: "t.created_date", ty: FieldType::Timestamp },
    Field { name: "updated_date", sql: "t.updated_date", ty: FieldType::Timestamp },
    Field { name: "expiry_date", sql: "t.expiry_date", ty: FieldType::Timestamp },
    Field { name: "last_used_date", sql: "t.last_used_date", ty: FieldType::Timestamp },
];

pub const TOKEN_LIST: ListSpec = ListSpec {
    fields: FIELDS,
    search: &["name"],
    filter: &["id", "name", "read_only", "created_date", "updated_date", "expiry_date", "last_used_date"],
    equals: &["name", "read_only"],
    sort: &["id", "name", "read_only", "created_date", "updated_date", "expiry_date", "last_used_date"],
    default_sort: "-id",
    search_sql: None,
};

/// Access-token values start with this so they are recognisable in leaked-secret scans.
const TOKEN_PREFIX: &str = "cvat_";

fn token_from_row(row: &Row) -> ApiResult<AccessToken> {
    Ok(AccessToken {
        id: column(row, "id")?,
        name: column(row, "name")?,
        created_date: timestamp(Some(column(row, "created_date")?)),
        updated_date: timestamp(Some(column(row, "updated_date")?)),
        expiry_date: timestamp(column(row, "expiry_date")?),
        last_used_date: timestamp(column(row, "last_used_date")?),
        read_only: column(row, "read_only")?,
        owner_id: column(row, "user_id")?,
        owner_username: column(row, "username")?,
        value: String::new(),
    })
}

fn validate_name(name: &str, errors: &mut FieldErrors) {
    let length = name.chars().count();
    if !(1..=50).contains(&length) {
        errors.add("name", "Ensure this field has between 1 and 50 characters.");
    }
}

/// An empty string means "no expiry"; otherwise an RFC 3339 time in the future.
fn parse_expiry(raw: &str, errors: &mut FieldErrors) -> Option<DateTime<Utc>> {
    if raw.is_empty() {
        return None;
    }
    match DateTime::parse_from_rfc3339(raw) {
        Ok(at) if at > Utc::now() => Some(at.with_timezone(&Utc)),
        Ok(_) => {
            errors.add("expiry_date", "The expiry date must be in the future.");
            None
        }
        Err(_) => {
            errors.add("expiry_date", "Datetime has wrong format. Use ISO 8601 with a time zone.");
            None
        }
    }
}

/// Managing the account (its tokens, its record, its password) takes the account's own
/// credentials: an access token may only list and view tokens and users, as CVAT's
/// access-token rules allow. A leaked token cannot mint others, outlive its expiry or
/// take the account over.
pub(crate) fn require_account_credentials(principal: &Principal) -> ApiResult<()> {
    if principal.access_token_id.is_some() {
        Err(ApiError::detail(
            cvat_error::ErrorKind::Forbidden,
            "Access tokens cannot manage the account or its tokens: sign in with the account's password.",
        ))
    } else {
        Ok(())
    }
}

impl Identity {
    #[tracing::instrument(skip_all)]
    pub async fn create_access_token(
        &self,
        principal: &Principal,
        name: &str,
        expiry: &str,
        read_only: bool,
    ) -> ApiResult<AccessToken> {
        require_account_credentials(principal)?;
        let mut errors = FieldErrors::default();
        validate_name(name, &mut errors);
        let expiry = parse_expiry(expiry, &mut errors);
        errors.finish()?;
        let value = format!("{TOKEN_PREFIX}{}", random_token(40));
        let client = self.client().await?;
        let row = client
            .query_one(
                &format!(
                    "WITH t AS (INSERT INTO access_tokens (user_id, name, token_hash, read_only, expiry_date) \
                     VALUES ($1, $2, $3, $4, $5) RETURNING *) \
                     SELECT {COLUMNS} FROM t JOIN users u ON u.id = t.user_id"
                ),
                &[&principal.user_id, &name, &digest(&value), &read_only, &expiry],
            )
            .await
            .db()?;
        Ok(AccessToken { value, ..token_from_row(&row)? })
    }

    #[tracing::instrument(skip_all)]
    pub async fn list_access_tokens(&self, principal: &Principal, params: &ListParams) -> ApiResult<AccessTokenPage> {
        let mut scope = SqlWhere::default();
        scope.push("t.user_id = {}", SqlParam::Int(principal.user_id));
        let (count, rows) =
            self.page(&TOKEN_LIST, params, scope, COLUMNS, "access_tokens t JOIN users u ON u.id = t.user_id").await?;
        Ok(AccessTokenPage { count, results: rows.iter().map(token_from_row).collect::<ApiResult<_>>()? })
    }

    /// One of the caller's tokens; `id = None` means the token of this request.
    #[tracing::instrument(skip_all)]
    pub async fn get_access_token(&self, principal: &Principal, id: Option<i64>) -> ApiResult<AccessToken> {
        let id = match id {
            Some(id) => id,
            None => principal.access_token_id.ok_or_else(|| {
                ApiError::detail(
                    cvat_error::ErrorKind::NotFound,
                    "The request is not authenticated with an access token.",
                )
            })?,
        };
        let client = self.client().await?;
        let row = client
            .query_opt(
                &format!(
                    "SELECT {COLUMNS} FROM access_tokens t JOIN users u ON u.id = t.user_id \
                     WHERE t.id = $1 AND t.user_id = $2"
                ),
                &[&id, &principal.user_id],
            )
            .await
            .db()?;
        row.as_ref().map(token_from_row).transpose()?.ok_or_else(ApiError::not_found)
    }

    #[tracing::instrument(skip_all)]
    pub async fn update_access_token(&self, request: &UpdateAccessTokenRequest) -> ApiResult<AccessToken> {
        let principal = request.principal.as_ref().ok_or_else(ApiError::forbidden)?;
        require_account_credentials(principal)?;
        let mut errors = FieldErrors::default();
        if let Some(name) = &request.name {
            validate_name(name, &mut errors);
        }
        let expiry = request.expiry_date.as_deref().map(|raw| parse_expiry(raw, &mut errors));
        errors.finish()?;
        let client = self.client().await?;
        let row = client
            .query_opt(
                &format!(
                    "WITH t AS (UPDATE access_tokens SET name = coalesce($3, name), \
                       expiry_date = CASE WHEN $4 THEN $5 ELSE expiry_date END, \
                       read_only = coalesce($6, read_only), updated_date = now() \
                     WHERE id = $1 AND user_id = $2 RETURNING *) \
                     SELECT {COLUMNS}, t.token_hash FROM t JOIN users u ON u.id = t.user_id"
                ),
                &[
                    &request.id,
                    &principal.user_id,
                    &request.name,
                    &expiry.is_some(),
                    &expiry.flatten(),
                    &request.read_only,
                ],
            )
            .await
            .db()?;
        let row = row.ok_or_else(ApiError::not_found)?;
        self.cache.forget("bearer", column(&row, "token_hash")?).await;
        token_from_row(&row)
    }

    #[tracing::instrument(skip_all)]
    pub async fn delete_access_token(&self, principal: &Principal, id: i64) -> ApiResult<()> {
        require_account_credentials(principal)?;
        let client = self.client().await?;
        let deleted = client
            .query_opt(
                "DELETE FROM access_tokens WHERE id = $1 AND user_id = $2 RETURNING token_hash",
                &[&id, &principal.user_id],
            )
            .await
            .db()?
            .ok_or_else(ApiError::not_found)?;
        self.cache.forget("bearer", column(&deleted, "token_hash")?).await;
        Ok(())
    }
}
