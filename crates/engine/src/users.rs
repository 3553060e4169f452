//! This schema's copy of the users it refers to (owners and assignees).

use crate::{db_error, Caller, Engine};
use cvat_db::GenericClient;
use cvat_error::{ApiError, ApiResult};
use cvat_proto::auth::User;

const UPSERT: &str = "INSERT INTO users (id, username, first_name, last_name) VALUES ($1, $2, $3, $4) \
     ON CONFLICT (id) DO UPDATE SET username = EXCLUDED.username, first_name = EXCLUDED.first_name, \
     last_name = EXCLUDED.last_name \
     WHERE (users.username, users.first_name, users.last_name) \
     IS DISTINCT FROM (EXCLUDED.username, EXCLUDED.first_name, EXCLUDED.last_name)";

async fn remember(client: &impl GenericClient, user: &User) -> ApiResult<()> {
    client.execute(UPSERT, &[&user.id, &user.username, &user.first_name, &user.last_name]).await.map_err(db_error)?;
    Ok(())
}

impl Engine {
    /// Records the caller, who is about to own or be assigned something.
    pub(crate) async fn remember_caller(&self, client: &impl GenericClient, caller: &Caller) -> ApiResult<()> {
        remember(client, &caller.user).await
    }

    /// Checks a user named in a body (`owner_id`, `assignee_id`) and records them.
    /// Naming someone needs the right to see them: outside an organization a user sees
    /// only themself (403 for anyone else), inside one any user may be named. An id
    /// that does not exist is a 400 naming the field.
    pub(crate) async fn named_user(
        &self,
        client: &impl GenericClient,
        caller: &Caller,
        field: &str,
        id: i64,
        in_org: bool,
    ) -> ApiResult<()> {
        if id == caller.id() {
            return self.remember_caller(client, caller).await;
        }
        if !in_org && !caller.is_admin() {
            return Err(ApiError::forbidden());
        }
        let user = self.directory.users(vec![id]).await?.into_iter().next();
        let user =
            user.ok_or_else(|| ApiError::field(field, format!("Invalid pk \"{id}\" - object does not exist.")))?;
        remember(client, &user).await
    }
}
