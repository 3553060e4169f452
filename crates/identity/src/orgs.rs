//! The organization context of a request, resolved to an organization id.

use crate::{db_error, Identity};
use cvat_error::{ApiError, ApiResult};
use cvat_proto::auth::ResolvedOrganization;
use cvat_proto::common::{org_context::Selector, OrgContext};

impl Identity {
    /// No selector → no context; an empty slug → the personal workspace; otherwise the
    /// organization, or 404 when it does not exist.
    pub async fn resolve_org(&self, context: &OrgContext) -> ApiResult<ResolvedOrganization> {
        let client = self.client().await?;
        let row = match &context.selector {
            None => return Ok(ResolvedOrganization::default()),
            Some(Selector::Slug(slug)) if slug.is_empty() => {
                return Ok(ResolvedOrganization { personal: true, ..Default::default() })
            }
            Some(Selector::Slug(slug)) => {
                client.query_opt("SELECT id, slug FROM organizations WHERE slug = $1", &[slug]).await
            }
            Some(Selector::Id(id)) => client.query_opt("SELECT id, slug FROM organizations WHERE id = $1", &[id]).await,
        }
        .map_err(db_error)?;
        let row = row.ok_or_else(|| {
            let value = match &context.selector {
                Some(Selector::Slug(slug)) => slug.clone(),
                Some(Selector::Id(id)) => id.to_string(),
                None => String::new(),
            };
            ApiError::detail(cvat_error::ErrorKind::NotFound, format!("{value} organization does not exist."))
        })?;
        Ok(ResolvedOrganization { id: row.get("id"), personal: false, slug: row.get("slug") })
    }
}
