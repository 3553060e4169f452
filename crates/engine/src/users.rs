//! This schema's copy of the users it refers to (owners and assignees). Rows are
//! written when a user is named or acts, refreshed when the auth service reports a
//! change (`UserChanged` on the task queue), and all of them periodically, which also
//! catches a change whose report was lost.

use crate::{Caller, Engine};
use cvat_db::DbResultExt;
use cvat_db::GenericClient;
use cvat_db::{column, column_values};
use cvat_error::{ApiError, ApiResult};
use cvat_proto::auth::User;

const UPSERT: &str = "INSERT INTO users (id, username, first_name, last_name) VALUES ($1, $2, $3, $4) \
     ON CONFLICT (id) DO UPDATE SET username = EXCLUDED.username, first_name = EXCLUDED.first_name, \
     last_name = EXCLUDED.last_name \
     WHERE (users.username, users.first_name, users.last_name) \
     IS DISTINCT FROM (EXCLUDED.username, EXCLUDED.first_name, EXCLUDED.last_name)";

/// Records a user in this schema's copy (inside the caller's transaction).
pub(crate) async fn remember(client: &impl GenericClient, user: &User) -> ApiResult<()> {
    client.execute(UPSERT, &[&user.id, &user.username, &user.first_name, &user.last_name]).await.db()?;
    Ok(())
}

/// How many users one refresh asks the auth service about.
const REFRESH_BATCH: usize = 500;

impl Engine {
    /// Re-reads the given users from the auth service: names are updated, and users that
    /// no longer exist are removed (their objects keep no owner or assignee, as in CVAT).
    #[tracing::instrument(skip_all)]
    pub async fn refresh_users(&self, ids: &[i64]) -> ApiResult<()> {
        let client = self.client().await?;
        for batch in ids.chunks(REFRESH_BATCH) {
            let users = self.directory.users(batch.to_vec()).await?;
            // Only changed names are written: any statement writing this table moves the
            // lists' generation (statement triggers, migration 0020) and with it every
            // count kept between writes, even one that changes no row.
            let rows = client
                .query("SELECT id, username, first_name, last_name FROM users WHERE id = ANY($1)", &[&batch])
                .await
                .db()?;
            let mut kept = std::collections::HashMap::with_capacity(rows.len());
            for row in &rows {
                let names: (String, String, String) = (column(row, 1)?, column(row, 2)?, column(row, 3)?);
                kept.insert(column::<_, i64>(row, 0)?, names);
            }
            for user in &users {
                let names = (user.username.clone(), user.first_name.clone(), user.last_name.clone());
                if kept.get(&user.id) != Some(&names) {
                    remember(&client, user).await?;
                }
            }
            let gone: Vec<i64> = batch.iter().copied().filter(|id| !users.iter().any(|u| u.id == *id)).collect();
            if !gone.is_empty() {
                client.execute("DELETE FROM users WHERE id = ANY($1)", &[&gone]).await.db()?;
            }
        }
        Ok(())
    }

    /// Refreshes every user this schema knows.
    #[tracing::instrument(skip_all)]
    pub async fn refresh_all_users(&self) -> ApiResult<()> {
        let ids: Vec<i64> = {
            let client = self.client().await?;
            let rows = client.query("SELECT id FROM users ORDER BY id", &[]).await.db()?;
            column_values(&rows, 0)?
        };
        self.refresh_users(&ids).await
    }

    /// Records the caller, who is about to own or be assigned something.
    pub(crate) async fn remember_caller(&self, client: &impl GenericClient, caller: &Caller) -> ApiResult<()> {
        remember(client, &caller.user).await
    }

    /// Checks a user named in a body (`owner_id`, `assignee_id`) and answers their record,
    /// which the write then [`remember`]s in its transaction; asked before that
    /// transaction opens, as every question to the auth service is. Naming someone needs
    /// the right to see them: outside an organization a user sees only themself (403 for
    /// anyone else), inside one any user may be named. An id that does not exist is a
    /// 400 naming the field.
    pub(crate) async fn named_user(&self, caller: &Caller, field: &str, id: i64, in_org: bool) -> ApiResult<User> {
        if id == caller.id() {
            return Ok(caller.user.clone());
        }
        if !in_org && !caller.is_admin() {
            return Err(ApiError::forbidden());
        }
        let user = self.directory.users(vec![id]).await?.into_iter().next();
        user.ok_or_else(|| ApiError::field(field, format!("Invalid pk \"{id}\" - object does not exist.")))
    }

    /// [`Self::named_user`] for an id that may be absent.
    pub(crate) async fn maybe_named_user(
        &self,
        caller: &Caller,
        field: &str,
        id: Option<i64>,
        in_org: bool,
    ) -> ApiResult<Option<User>> {
        match id {
            Some(id) => self.named_user(caller, field, id, in_org).await.map(Some),
            None => Ok(None),
        }
    }
}

/// Records the users a write names, inside its transaction.
pub(crate) async fn remember_all(client: &impl GenericClient, users: &[Option<&User>]) -> ApiResult<()> {
    for user in users.iter().flatten() {
        remember(client, user).await?;
    }
    Ok(())
}
