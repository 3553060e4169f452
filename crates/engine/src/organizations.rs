//! Objects of deleted organizations go with them, as in CVAT: on the auth service's
//! report, and in the periodic resync for reports that were lost.

use crate::Engine;
use cvat_db::column_values;
use cvat_db::DbResultExt;
use cvat_error::ApiResult;

impl Engine {
    /// Deletes the projects and tasks of the given organizations that no longer exist
    /// (asked of the auth service, so a stray report deletes nothing).
    /// Answers the deleted tasks (whose blobs the caller has removed).
    #[tracing::instrument(skip_all)]
    pub async fn purge_deleted_organizations(&self, ids: &[i64]) -> ApiResult<Vec<i64>> {
        let existing = self.directory.existing_organizations(ids.to_vec()).await?;
        let gone: Vec<i64> = ids.iter().copied().filter(|id| !existing.contains(id)).collect();
        if gone.is_empty() {
            return Ok(Vec::new());
        }
        let mut client = self.client().await?;
        let tx = client.transaction().await.db()?;
        // Jobs, segments and labels cascade from their tasks and projects.
        let tasks = tx.query("DELETE FROM tasks WHERE organization_id = ANY($1) RETURNING id", &[&gone]).await.db()?;
        tx.execute("DELETE FROM projects WHERE organization_id = ANY($1)", &[&gone]).await.db()?;
        tx.execute("DELETE FROM cloud_storages WHERE organization_id = ANY($1)", &[&gone]).await.db()?;
        tx.execute("DELETE FROM webhooks WHERE organization_id = ANY($1)", &[&gone]).await.db()?;
        tx.execute("DELETE FROM functions WHERE organization_id = ANY($1)", &[&gone]).await.db()?;
        tx.commit().await.db()?;
        tracing::info!(organizations = ?gone, "objects of deleted organizations removed");
        column_values(&tasks, 0)
    }

    /// Checks every organization this schema refers to.
    #[tracing::instrument(skip_all)]
    pub async fn purge_all_deleted_organizations(&self) -> ApiResult<Vec<i64>> {
        let ids: Vec<i64> = {
            let client = self.client().await?;
            let rows = client
                .query(
                    "SELECT organization_id FROM projects WHERE organization_id IS NOT NULL \
                     UNION SELECT organization_id FROM tasks WHERE organization_id IS NOT NULL \
                     UNION SELECT organization_id FROM webhooks WHERE organization_id IS NOT NULL \
                     UNION SELECT organization_id FROM functions WHERE organization_id IS NOT NULL",
                    &[],
                )
                .await
                .db()?;
            column_values(&rows, 0)?
        };
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        self.purge_deleted_organizations(&ids).await
    }
}
