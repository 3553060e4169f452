//! Users: reading, listing, updating and deleting, with CVAT's rules on who may do what.

use crate::{db_error, Identity};
use chrono::{DateTime, Utc};
use cvat_db::column;
use cvat_db::DbResultExt;
use cvat_error::{ApiError, ApiResult};
use cvat_listing::{Field, FieldType, ListParams, ListSpec, SqlParam, SqlWhere};
use cvat_models::PatchedUserRequest;
use cvat_proto::auth::{Principal, User, UserPage};
use serde_json::{Map, Value};
use tokio_postgres::Row;

pub(crate) const USER_COLUMNS: &str = "u.id, u.username, u.first_name, u.last_name, u.email, u.groups, \
     u.is_staff, u.is_superuser, u.is_active, u.last_login, u.date_joined";

const FIELDS: &[Field] = &[
    Field { name: "id", sql: "u.id", ty: FieldType::Int },
    Field { name: "username", sql: "u.username", ty: FieldType::Text },
    Field { name: "first_name", sql: "u.first_name", ty: FieldType::Text },
    Field { name: "last_name", sql: "u.last_name", ty: FieldType::Text },
    Field { name: "is_active", sql: "u.is_active", ty: FieldType::Bool },
];

pub const USER_LIST: ListSpec = ListSpec {
    fields: FIELDS,
    search: &["username", "first_name", "last_name"],
    filter: &["username", "first_name", "last_name", "id", "is_active"],
    equals: &["username", "first_name", "last_name", "is_active"],
    sort: &["username", "first_name", "last_name", "id", "is_active"],
    default_sort: "-id",
    search_sql: None,
};

pub(crate) fn timestamp(value: Option<DateTime<Utc>>) -> String {
    value.map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)).unwrap_or_default()
}

pub(crate) fn user_from_row(row: &Row) -> ApiResult<User> {
    Ok(User {
        id: column(row, "id")?,
        username: column(row, "username")?,
        first_name: column(row, "first_name")?,
        last_name: column(row, "last_name")?,
        email: column(row, "email")?,
        groups: column(row, "groups")?,
        is_staff: column(row, "is_staff")?,
        is_superuser: column(row, "is_superuser")?,
        is_active: column(row, "is_active")?,
        last_login: timestamp(column(row, "last_login")?),
        date_joined: timestamp(column(row, "date_joined")?),
    })
}

pub fn is_admin(principal: &Principal) -> bool {
    principal.is_superuser || principal.groups.iter().any(|g| g == "admin")
}

/// The organization a list or read acts in: `Some(id)` for an organization, `None` otherwise.
pub type OrgScope = Option<i64>;

const BASIC_FIELDS: &[&str] = &["username", "first_name", "last_name"];
const PRIVILEGED_FIELDS: &[&str] = &["groups", "is_staff", "is_superuser", "is_active"];
const ADMIN_FIELDS: &[&str] =
    &["username", "first_name", "last_name", "email", "groups", "is_staff", "is_superuser", "is_active"];
impl Identity {
    #[tracing::instrument(skip_all)]
    pub async fn user_by_id(&self, id: i64) -> ApiResult<Option<User>> {
        let client = self.client().await?;
        let row =
            client.query_opt(&format!("SELECT {USER_COLUMNS} FROM users u WHERE u.id = $1"), &[&id]).await.db()?;
        row.as_ref().map(user_from_row).transpose()
    }

    /// The users among `ids` that exist (for other services' read models; no permission
    /// rule applies because the caller is a service, not a person).
    #[tracing::instrument(skip_all)]
    pub async fn users_by_ids(&self, ids: &[i64]) -> ApiResult<Vec<User>> {
        let client = self.client().await?;
        let rows =
            client.query(&format!("SELECT {USER_COLUMNS} FROM users u WHERE u.id = ANY($1)"), &[&ids]).await.db()?;
        rows.iter().map(user_from_row).collect()
    }

    /// Lists users. Admins see everyone; in an organization, members see its members;
    /// otherwise a user sees only themself. `full` says whether every field may be shown.
    #[tracing::instrument(skip_all)]
    pub async fn list_users(&self, principal: &Principal, org: OrgScope, params: &ListParams) -> ApiResult<UserPage> {
        let mut scope = SqlWhere::default();
        match org {
            Some(org_id) => {
                if !is_admin(principal) && !self.is_member(principal.user_id, org_id).await? {
                    return Err(ApiError::forbidden());
                }
                scope.push(
                    "u.id IN (SELECT m.user_id FROM memberships m WHERE m.organization_id = {})",
                    SqlParam::Int(org_id),
                );
            }
            None if !is_admin(principal) => scope.push("u.id = {}", SqlParam::Int(principal.user_id)),
            None => {}
        }
        let (count, rows) = self.page(&USER_LIST, params, scope, USER_COLUMNS, "users u").await?;
        Ok(UserPage {
            count,
            results: rows.iter().map(user_from_row).collect::<ApiResult<_>>()?,
            full: is_admin(principal),
        })
    }

    /// Reads one user: yourself, anyone for an admin, or anyone inside an organization
    /// where the caller is a member. The bool says whether every field may be shown.
    #[tracing::instrument(skip_all)]
    pub async fn get_user(&self, principal: &Principal, id: i64, org: OrgScope) -> ApiResult<(User, bool)> {
        // As in CVAT: an unknown id is 404, a known one you may not see is 403.
        let user = self.user_by_id(id).await?.ok_or_else(ApiError::not_found)?;
        let allowed = principal.user_id == id
            || is_admin(principal)
            || match org {
                Some(org_id) => self.is_member(principal.user_id, org_id).await?,
                None => false,
            };
        if !allowed {
            return Err(ApiError::forbidden());
        }
        Ok((user, principal.user_id == id || is_admin(principal)))
    }

    /// Applies a `PatchedUserRequest`: yourself (basic fields only) or any user for an admin.
    #[tracing::instrument(skip_all)]
    pub async fn update_user(&self, principal: &Principal, id: i64, patch: &Map<String, Value>) -> ApiResult<User> {
        crate::access_tokens::require_account_credentials(principal)?;
        let admin = is_admin(principal);
        if principal.user_id != id && !admin {
            return Err(ApiError::forbidden());
        }
        check_patch_keys(patch, admin)?;
        let mut user = self.user_by_id(id).await?.ok_or_else(ApiError::not_found)?;
        apply_patch(&mut user, patch)?;
        let client = self.client().await?;
        let result = client
            .execute(
                "UPDATE users SET username = $2, first_name = $3, last_name = $4, email = $5, groups = $6, \
                 is_staff = $7, is_superuser = $8, is_active = $9 WHERE id = $1",
                &[
                    &id,
                    &user.username,
                    &user.first_name,
                    &user.last_name,
                    &user.email,
                    &user.groups,
                    &user.is_staff,
                    &user.is_superuser,
                    &user.is_active,
                ],
            )
            .await;
        match result {
            Err(err) if is_unique_violation(&err) => {
                let field = if is_email_taken(&err) { "email" } else { "username" };
                Err(ApiError::field(field, format!("A user with that {field} already exists.")))
            }
            Err(err) => Err(db_error(err)),
            Ok(_) => {
                if !user.is_active {
                    self.drop_credentials(id).await?;
                }
                // Cached principals carry the user's groups and flags.
                self.cache.forget_user(id).await;
                Ok(user)
            }
        }
    }

    /// Deletes a user (yourself, or anyone for an admin); their credentials go with them.
    #[tracing::instrument(skip_all)]
    pub async fn delete_user(&self, principal: &Principal, id: i64) -> ApiResult<()> {
        crate::access_tokens::require_account_credentials(principal)?;
        if principal.user_id != id && !is_admin(principal) {
            return Err(ApiError::forbidden());
        }
        let client = self.client().await?;
        let deleted = client.execute("DELETE FROM users WHERE id = $1", &[&id]).await.db()?;
        if deleted == 0 {
            return Err(ApiError::not_found());
        }
        self.cache.forget_user(id).await;
        Ok(())
    }

    pub(crate) async fn is_member(&self, user_id: i64, org_id: i64) -> ApiResult<bool> {
        let client = self.client().await?;
        let row = client
            .query_opt(
                "SELECT 1 FROM memberships WHERE user_id = $1 AND organization_id = $2 AND is_active",
                &[&user_id, &org_id],
            )
            .await
            .db()?;
        Ok(row.is_some())
    }
}

pub(crate) fn is_unique_violation(err: &tokio_postgres::Error) -> bool {
    err.code() == Some(&tokio_postgres::error::SqlState::UNIQUE_VIOLATION)
}

/// True when the unique index on e-mail addresses (`users_email_key`) refused a write;
/// decided by the violated constraint's name, never by the message text.
pub(crate) fn is_email_taken(err: &tokio_postgres::Error) -> bool {
    err.as_db_error().and_then(|e| e.constraint()) == Some("users_email_key")
}

fn check_patch_keys(patch: &Map<String, Value>, admin: bool) -> ApiResult<()> {
    let allowed = if admin { ADMIN_FIELDS } else { BASIC_FIELDS };
    let privileged: Vec<&str> =
        patch.keys().map(String::as_str).filter(|k| !allowed.contains(k) && PRIVILEGED_FIELDS.contains(k)).collect();
    if !privileged.is_empty() {
        return Err(ApiError::invalid(format!(
            "You do not have permissions to access some of these fields: {}",
            privileged.join(", ")
        )));
    }
    let unknown: Vec<&str> = patch.keys().map(String::as_str).filter(|k| !allowed.contains(k)).collect();
    if !unknown.is_empty() {
        return Err(ApiError::invalid(format!("Got unknown fields: {}", unknown.join(", "))));
    }
    Ok(())
}

fn apply_patch(user: &mut User, patch: &Map<String, Value>) -> ApiResult<()> {
    let PatchedUserRequest { username, first_name, last_name, email, groups, is_staff, is_superuser, is_active } =
        cvat_models::parse(patch)?;
    // What the model cannot say: Django's e-mail rule.
    if email.as_deref().is_some_and(|e| !e.is_empty() && !valid_email(e)) {
        return Err(ApiError::field("email", "Enter a valid email address."));
    }
    let keep = |given: Option<String>, current: &mut String| {
        if let Some(value) = given {
            *current = value;
        }
    };
    keep(username, &mut user.username);
    keep(first_name, &mut user.first_name);
    keep(last_name, &mut user.last_name);
    keep(email, &mut user.email);
    if let Some(groups) = groups {
        user.groups = groups.iter().map(cvat_models::wire_name).collect();
    }
    user.is_staff = is_staff.unwrap_or(user.is_staff);
    user.is_superuser = is_superuser.unwrap_or(user.is_superuser);
    user.is_active = is_active.unwrap_or(user.is_active);
    Ok(())
}

/// Django's username rule: 1–150 of letters, digits and `@.+-_`.
pub(crate) fn valid_username(name: &str) -> bool {
    let length = name.chars().count();
    (1..=150).contains(&length) && name.chars().all(|c| c.is_alphanumeric() || "@.+-_".contains(c))
}

pub(crate) fn valid_email(email: &str) -> bool {
    let Some((local, domain)) = email.rsplit_once('@') else {
        return false;
    };
    email.len() <= 254
        && !local.is_empty()
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !email.chars().any(char::is_whitespace)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn sample() -> User {
        User { id: 1, username: "alice".into(), groups: vec!["user".into()], is_active: true, ..Default::default() }
    }

    #[test]
    fn non_admins_patch_basic_fields_only() {
        let patch = json!({"first_name": "Al"}).as_object().unwrap().clone();
        check_patch_keys(&patch, false).unwrap();
        let patch = json!({"is_superuser": true}).as_object().unwrap().clone();
        let err = check_patch_keys(&patch, false).unwrap_err();
        assert!(err.body[0].as_str().unwrap().contains("You do not have permissions"));
        let patch = json!({"favourite": 1}).as_object().unwrap().clone();
        assert!(check_patch_keys(&patch, true).unwrap_err().body[0].as_str().unwrap().contains("unknown fields"));
    }

    #[test]
    fn patch_validates_types() {
        let mut user = sample();
        let patch =
            json!({"username": "bad name", "is_active": "yes", "groups": ["root"]}).as_object().unwrap().clone();
        let err = apply_patch(&mut user, &patch).unwrap_err();
        for field in ["username", "is_active", "groups"] {
            assert!(err.body.get(field).is_some(), "{field}");
        }
        let patch = json!({"last_name": "Liddell", "groups": ["worker"]}).as_object().unwrap().clone();
        apply_patch(&mut user, &patch).unwrap();
        assert_eq!((user.last_name.as_str(), user.groups.clone()), ("Liddell", vec!["worker".to_string()]));
    }

    #[test]
    fn usernames_and_emails() {
        assert!(valid_username("a.b@c+d-e_f"));
        assert!(!valid_username("a b"));
        assert!(!valid_username(""));
        assert!(valid_email("a@b.co"));
        assert!(!valid_email("a@b"));
        assert!(!valid_email("@b.co"));
    }
}
