//! Memberships: who belongs to an organization and with which role, with CVAT's rules.
//! Staff (owner, maintainer) see every row of their organization, other members the
//! active rows; the owner changes any role but their own, a maintainer only workers'
//! and supervisors'; nobody becomes owner this way, and the owner cannot leave.

use crate::orgs::at_least_user;
use crate::users::{is_admin, timestamp};
use crate::Identity;
use cvat_db::column;
use cvat_db::DbResultExt;
use cvat_error::{ApiError, ApiResult};
use cvat_listing::{Field, FieldType, ListParams, ListSpec, SqlParam, SqlWhere};
use cvat_proto::auth::{Membership, MembershipPage, Principal};
use tokio_postgres::Row;

pub const ROLES: [&str; 4] = ["worker", "supervisor", "maintainer", "owner"];

const COLUMNS: &str = "m.id, m.user_id, u.username, u.first_name, u.last_name, m.organization_id, m.is_active, \
     m.joined_date, m.role, coalesce(i.key, '') AS invitation";
const FROM: &str = "memberships m JOIN users u ON u.id = m.user_id LEFT JOIN invitations i ON i.membership_id = m.id";

const FIELDS: &[Field] = &[
    Field { name: "id", sql: "m.id", ty: FieldType::Int },
    Field { name: "user", sql: "u.username", ty: FieldType::Text },
    Field { name: "role", sql: "m.role", ty: FieldType::Text },
];

pub const MEMBERSHIP_LIST: ListSpec = ListSpec {
    fields: FIELDS,
    search: &["user", "role"],
    filter: &["user", "role", "id"],
    equals: &["user", "role"],
    sort: &["user", "role", "id"],
    default_sort: "-id",
    search_sql: None,
};

fn membership_from_row(row: &Row) -> ApiResult<Membership> {
    Ok(Membership {
        id: column(row, "id")?,
        user_id: column(row, "user_id")?,
        username: column(row, "username")?,
        first_name: column(row, "first_name")?,
        last_name: column(row, "last_name")?,
        organization_id: column(row, "organization_id")?,
        is_active: column(row, "is_active")?,
        joined_date: timestamp(column(row, "joined_date")?),
        role: column(row, "role")?,
        invitation: column(row, "invitation")?,
    })
}

pub(crate) fn is_staff_role(role: &str) -> bool {
    role == "owner" || role == "maintainer"
}

impl Identity {
    /// The user's role in the organization when their membership is active.
    #[tracing::instrument(skip_all)]
    pub async fn member_role(&self, user_id: i64, organization_id: i64) -> ApiResult<Option<String>> {
        let row = self
            .cached_row(
                "SELECT role FROM memberships WHERE user_id = $1 AND organization_id = $2 AND is_active",
                &[&user_id, &organization_id],
            )
            .await?;
        row.map(|r| column(&r, "role")).transpose()
    }

    /// `org`: `Some(id)` for an organization context, `None` for none or the personal workspace.
    #[tracing::instrument(skip_all)]
    pub async fn list_memberships(
        &self,
        principal: &Principal,
        org: Option<i64>,
        params: &ListParams,
    ) -> ApiResult<MembershipPage> {
        let mut scope = SqlWhere::default();
        match org {
            Some(org_id) => {
                scope.push("m.organization_id = {}", SqlParam::Int(org_id));
                if !is_admin(principal) {
                    match self.role_in(principal.user_id, org_id).await? {
                        Some(role) if is_staff_role(&role) => {}
                        Some(role) if !role.is_empty() => scope.push_raw("m.is_active"),
                        _ => return Err(ApiError::forbidden()),
                    }
                }
            }
            None if !is_admin(principal) => {
                scope.push("m.user_id = {}", SqlParam::Int(principal.user_id));
                scope.push_raw("m.is_active");
            }
            None => {}
        }
        let (count, rows) = self.page(&MEMBERSHIP_LIST, params, scope, COLUMNS, FROM).await?;
        Ok(MembershipPage { count, results: rows.iter().map(membership_from_row).collect::<ApiResult<_>>()? })
    }

    async fn membership(&self, id: i64) -> ApiResult<Membership> {
        let client = self.client().await?;
        let row = client.query_opt(&format!("SELECT {COLUMNS} FROM {FROM} WHERE m.id = $1"), &[&id]).await.db()?;
        row.as_ref().map(membership_from_row).transpose()?.ok_or_else(ApiError::not_found)
    }

    /// The membership and the caller's active role in its organization ("" for none).
    async fn membership_for(&self, principal: &Principal, id: i64) -> ApiResult<(Membership, String)> {
        let membership = self.membership(id).await?;
        let role = self.role_in(principal.user_id, membership.organization_id).await?.unwrap_or_default();
        let visible = is_admin(principal)
            || membership.user_id == principal.user_id
            || is_staff_role(&role)
            || (!role.is_empty() && membership.is_active);
        if !visible {
            return Err(ApiError::forbidden());
        }
        Ok((membership, role))
    }

    #[tracing::instrument(skip_all)]
    pub async fn get_membership(&self, principal: &Principal, id: i64) -> ApiResult<Membership> {
        Ok(self.membership_for(principal, id).await?.0)
    }

    /// May the caller change (or remove) this membership's role?
    fn may_manage(principal: &Principal, caller_role: &str, target: &Membership) -> bool {
        if target.role == "owner" {
            return false;
        }
        if is_admin(principal) {
            return true;
        }
        let own_row = target.user_id == principal.user_id;
        at_least_user(principal)
            && !own_row
            && match caller_role {
                "owner" => true,
                "maintainer" => target.role == "worker" || target.role == "supervisor",
                _ => false,
            }
    }

    #[tracing::instrument(skip_all)]
    pub async fn update_membership(&self, principal: &Principal, id: i64, role: &str) -> ApiResult<Membership> {
        if !ROLES.contains(&role) {
            return Err(ApiError::field("role", format!("\"{role}\" is not a valid choice.")));
        }
        let (membership, caller_role) = self.membership_for(principal, id).await?;
        if membership.role == role {
            return Ok(membership);
        }
        if role == "owner" {
            return Err(ApiError::field("role", "The owner role cannot be given to a member."));
        }
        if !Self::may_manage(principal, &caller_role, &membership) {
            return Err(ApiError::forbidden());
        }
        let client = self.client().await?;
        client.execute("UPDATE memberships SET role = $2 WHERE id = $1", &[&id, &role]).await.db()?;
        self.membership(id).await
    }

    /// Removes a member (as for role changes), or lets a member leave; never the owner.
    #[tracing::instrument(skip_all)]
    pub async fn delete_membership(&self, principal: &Principal, id: i64) -> ApiResult<()> {
        let (membership, caller_role) = self.membership_for(principal, id).await?;
        let leaving = membership.user_id == principal.user_id && membership.is_active && membership.role != "owner";
        if !leaving && !Self::may_manage(principal, &caller_role, &membership) {
            return Err(ApiError::forbidden());
        }
        let client = self.client().await?;
        client.execute("DELETE FROM memberships WHERE id = $1", &[&id]).await.db()?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn principal(id: i64, groups: &[&str]) -> Principal {
        Principal { user_id: id, groups: groups.iter().map(|g| g.to_string()).collect(), ..Default::default() }
    }

    fn member(user_id: i64, role: &str) -> Membership {
        Membership { user_id, role: role.into(), is_active: true, ..Default::default() }
    }

    #[test]
    fn who_may_manage_whom() {
        let table = [
            // (caller groups, caller role, target role, target is caller, allowed)
            (&["user"][..], "owner", "maintainer", false, true),
            (&["user"], "owner", "owner", true, false),
            (&["user"], "maintainer", "worker", false, true),
            (&["user"], "maintainer", "supervisor", false, true),
            (&["user"], "maintainer", "maintainer", false, false),
            (&["user"], "maintainer", "worker", true, false),
            (&["user"], "supervisor", "worker", false, false),
            (&["user"], "worker", "worker", false, false),
            (&["worker"], "owner", "worker", false, false),
            (&["admin"], "", "maintainer", false, true),
            (&["admin"], "", "owner", false, false),
        ];
        for (groups, caller_role, target_role, own, allowed) in table {
            let caller = principal(1, groups);
            let target = member(if own { 1 } else { 2 }, target_role);
            assert_eq!(
                Identity::may_manage(&caller, caller_role, &target),
                allowed,
                "{groups:?} {caller_role} -> {target_role} own={own}"
            );
        }
    }
}
