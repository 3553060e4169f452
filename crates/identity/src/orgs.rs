//! Organizations: the request's organization context, and the organizations API with
//! CVAT's rules (create: privilege user or admin; see: owner or any membership row;
//! change: owner or maintainer; delete: owner). Organizations you may not see answer 404.

use crate::users::{is_admin, is_unique_violation, timestamp};
use crate::{db_error, Identity};
use cvat_db::DbResultExt;
use cvat_db::{column, column_values};
use cvat_error::{ApiError, ApiResult, ErrorKind};
use cvat_listing::{Field, FieldType, ListParams, ListSpec, SqlParam, SqlWhere};
use cvat_models::{OrganizationWriteRequest, PatchedOrganizationWriteRequest};
use cvat_proto::auth::{Organization, OrganizationPage, Principal, ResolvedOrganization};
use cvat_proto::common::{org_context::Selector, OrgContext};
use serde_json::{Map, Value};
use tokio_postgres::Row;

const COLUMNS: &str =
    "o.id, o.slug, o.name, o.description, o.created_date, o.updated_date, o.contact::text AS contact, \
     o.owner_id, coalesce(u.username, '') AS owner_username, coalesce(u.first_name, '') AS owner_first_name, \
     coalesce(u.last_name, '') AS owner_last_name";
const FROM: &str = "organizations o LEFT JOIN users u ON u.id = o.owner_id";

const FIELDS: &[Field] = &[
    Field { name: "id", sql: "o.id", ty: FieldType::Int },
    Field { name: "slug", sql: "o.slug", ty: FieldType::Text },
    Field { name: "name", sql: "o.name", ty: FieldType::Text },
    Field { name: "owner", sql: "u.username", ty: FieldType::Text },
];

pub const ORGANIZATION_LIST: ListSpec = ListSpec {
    fields: FIELDS,
    search: &["name", "owner"],
    filter: &["name", "owner", "id", "slug"],
    equals: &["name", "owner", "slug"],
    sort: &["name", "owner", "id", "slug"],
    default_sort: "-id",
    search_sql: None,
};

fn organization_from_row(row: &Row) -> ApiResult<Organization> {
    Ok(Organization {
        id: column(row, "id")?,
        slug: column(row, "slug")?,
        name: column(row, "name")?,
        description: column(row, "description")?,
        created_date: timestamp(Some(column(row, "created_date")?)),
        updated_date: timestamp(Some(column(row, "updated_date")?)),
        contact_json: column::<_, Option<String>>(row, "contact")?.unwrap_or_default(),
        owner_id: column::<_, Option<i64>>(row, "owner_id")?.unwrap_or(0),
        owner_username: column(row, "owner_username")?,
        owner_first_name: column(row, "owner_first_name")?,
        owner_last_name: column(row, "owner_last_name")?,
    })
}

/// Privilege `user` or above (CVAT's minimum to create organizations).
pub(crate) fn at_least_user(principal: &Principal) -> bool {
    is_admin(principal) || principal.groups.iter().any(|g| g == "user")
}

/// An organization body, checked against its model; a create must name a slug.
fn parse_fields(body: &str, creating: bool) -> ApiResult<PatchedOrganizationWriteRequest> {
    let body: Map<String, Value> = match serde_json::from_str(body) {
        Ok(Value::Object(map)) => map,
        _ => return Err(ApiError::field("non_field_errors", "Invalid data. Expected a dictionary.")),
    };
    match creating {
        true => cvat_models::parse::<OrganizationWriteRequest>(&body).map(Into::into),
        false => cvat_models::parse(&body),
    }
}

fn slug_taken() -> ApiError {
    ApiError::field("slug", "organization with this slug already exists.")
}

impl Identity {
    /// No selector → no context; an empty slug → the personal workspace; otherwise the
    /// organization, or 404 when it does not exist.
    #[tracing::instrument(skip_all)]
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
        .db()?;
        let row = row.ok_or_else(|| {
            let value = match &context.selector {
                Some(Selector::Slug(slug)) => slug.clone(),
                Some(Selector::Id(id)) => id.to_string(),
                None => String::new(),
            };
            ApiError::detail(ErrorKind::NotFound, format!("{value} organization does not exist."))
        })?;
        Ok(ResolvedOrganization { id: column(&row, "id")?, personal: false, slug: column(&row, "slug")? })
    }

    /// The organizations among `ids` that exist.
    #[tracing::instrument(skip_all)]
    pub async fn existing_organizations(&self, ids: &[i64]) -> ApiResult<Vec<i64>> {
        let client = self.client().await?;
        let rows = client.query("SELECT id FROM organizations WHERE id = ANY($1)", &[&ids]).await.db()?;
        column_values(&rows, 0)
    }

    /// Creates an organization owned by the caller, with the owner's active membership.
    #[tracing::instrument(skip_all)]
    pub async fn create_organization(&self, principal: &Principal, body: &str) -> ApiResult<Organization> {
        if !at_least_user(principal) {
            return Err(ApiError::forbidden());
        }
        let fields = parse_fields(body, true)?;
        let slug = fields.slug.unwrap_or_default();
        let name = fields.name.unwrap_or_else(|| slug.clone());
        let mut client = self.client().await?;
        let tx = client.transaction().await.db()?;
        let inserted = tx
            .query_one(
                "INSERT INTO organizations (slug, name, description, contact, owner_id) VALUES ($1, $2, $3, $4, $5) \
                 RETURNING id",
                &[&slug, &name, &fields.description.unwrap_or_default(), &fields.contact.flatten(), &principal.user_id],
            )
            .await;
        let id: i64 = match inserted {
            Ok(row) => column(&row, 0)?,
            Err(err) if is_unique_violation(&err) => return Err(slug_taken()),
            Err(err) => return Err(db_error(err)),
        };
        tx.execute(
            "INSERT INTO memberships (user_id, organization_id, role, is_active, joined_date) \
             VALUES ($1, $2, 'owner', true, now())",
            &[&principal.user_id, &id],
        )
        .await
        .db()?;
        tx.commit().await.db()?;
        self.organization(id).await?.ok_or_else(ApiError::internal)
    }

    async fn organization(&self, id: i64) -> ApiResult<Option<Organization>> {
        let client = self.client().await?;
        let row = client.query_opt(&format!("SELECT {COLUMNS} FROM {FROM} WHERE o.id = $1"), &[&id]).await.db()?;
        row.as_ref().map(organization_from_row).transpose()
    }

    /// Organizations where the caller is the owner or an active member (admins: all).
    #[tracing::instrument(skip_all)]
    pub async fn list_organizations(&self, principal: &Principal, params: &ListParams) -> ApiResult<OrganizationPage> {
        let mut scope = SqlWhere::default();
        if !is_admin(principal) {
            scope.push_many(
                "(o.owner_id = {} OR o.id IN (SELECT organization_id FROM memberships WHERE user_id = {} AND is_active))",
                vec![SqlParam::Int(principal.user_id), SqlParam::Int(principal.user_id)],
            );
        }
        let (count, rows) = self.page(&ORGANIZATION_LIST, params, scope, COLUMNS, FROM).await?;
        Ok(OrganizationPage { count, results: rows.iter().map(organization_from_row).collect::<ApiResult<_>>()? })
    }

    /// The caller's role in an organization: `Some("")` for a membership row that is not
    /// active yet, `None` for no row at all.
    pub(crate) async fn role_in(&self, user_id: i64, org_id: i64) -> ApiResult<Option<String>> {
        let client = self.client().await?;
        let row = client
            .query_opt(
                "SELECT CASE WHEN is_active THEN role ELSE '' END FROM memberships \
                 WHERE user_id = $1 AND organization_id = $2",
                &[&user_id, &org_id],
            )
            .await
            .db()?;
        row.map(|r| column(&r, 0)).transpose()
    }

    /// An organization the caller may see (owner, or any membership row); 404 otherwise.
    #[tracing::instrument(skip_all)]
    pub async fn get_organization(&self, principal: &Principal, id: i64) -> ApiResult<Organization> {
        let org = self.organization(id).await?.ok_or_else(ApiError::not_found)?;
        let visible = is_admin(principal)
            || org.owner_id == principal.user_id
            || self.role_in(principal.user_id, id).await?.is_some();
        if !visible {
            return Err(ApiError::not_found());
        }
        Ok(org)
    }

    #[tracing::instrument(skip_all)]
    pub async fn update_organization(&self, principal: &Principal, id: i64, body: &str) -> ApiResult<Organization> {
        let org = self.get_organization(principal, id).await?;
        let role = self.role_in(principal.user_id, id).await?.unwrap_or_default();
        let allowed =
            is_admin(principal) || org.owner_id == principal.user_id || role == "owner" || role == "maintainer";
        if !allowed {
            return Err(ApiError::forbidden());
        }
        let fields = parse_fields(body, false)?;
        let client = self.client().await?;
        let result = client
            .execute(
                "UPDATE organizations SET slug = coalesce($2, slug), name = coalesce($3, name), \
                 description = coalesce($4, description), contact = CASE WHEN $5 THEN $6 ELSE contact END, \
                 updated_date = now() WHERE id = $1",
                &[
                    &id,
                    &fields.slug,
                    &fields.name,
                    &fields.description,
                    &fields.contact.is_some(),
                    &fields.contact.flatten(),
                ],
            )
            .await;
        match result {
            Err(err) if is_unique_violation(&err) => Err(slug_taken()),
            Err(err) => Err(db_error(err)),
            Ok(_) => self.organization(id).await?.ok_or_else(ApiError::not_found),
        }
    }

    /// Deletes an organization (its owner or an admin); memberships go with it.
    #[tracing::instrument(skip_all)]
    pub async fn delete_organization(&self, principal: &Principal, id: i64) -> ApiResult<()> {
        let org = self.get_organization(principal, id).await?;
        if !is_admin(principal) && org.owner_id != principal.user_id {
            return Err(ApiError::forbidden());
        }
        let client = self.client().await?;
        client.execute("DELETE FROM organizations WHERE id = $1", &[&id]).await.db()?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs() {
        let slug = |s: &str| parse_fields(&serde_json::json!({ "slug": s }).to_string(), true);
        assert!(slug("acme_2-x").is_ok());
        for bad in ["", "seventeen-chars-x", "bad slug", "ünï"] {
            assert!(slug(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn fields() {
        let fields = parse_fields(r#"{"slug": "acme", "contact": {"email": "a@b.c"}}"#, true).unwrap();
        assert_eq!(fields.slug.as_deref(), Some("acme"));
        assert!(matches!(fields.contact, Some(Some(Value::Object(_)))));
        let err = parse_fields(r#"{"name": 3}"#, true).unwrap_err();
        assert!(err.body.get("slug").is_some() && err.body.get("name").is_some());
        assert!(parse_fields(r#"{"slug": "a b"}"#, false).is_err());
        assert!(parse_fields(r#"{"contact": "x"}"#, false).is_err());
        assert!(parse_fields(r#"{}"#, false).is_ok());
    }
}
