//! Invitations into an organization. Inviting creates an inactive membership with the
//! role; the invitee accepts (membership becomes active) or declines (it is removed).
//! Owners invite with any role but owner, maintainers only workers and supervisors.
//!
//! Decisions where CVAT differs or is silent: the invitee is found by e-mail or username
//! and must already have an account (no placeholder accounts are created); invitations
//! expire [`EXPIRY_DAYS`] days after they were last sent; invitations you may not see
//! answer 404, as CVAT's filtered querysets do.

use crate::memberships::{is_staff_role, ROLES};
use crate::orgs::at_least_user;
use crate::secrets::random_token;
use crate::users::{is_admin, timestamp};
use crate::Identity;
use cvat_db::column;
use cvat_db::DbResultExt;
use cvat_error::{ApiError, ApiResult};
use cvat_listing::{Field, FieldType, ListParams, ListSpec, SqlParam, SqlWhere};
use cvat_proto::auth::{Invitation, InvitationPage, Principal};
use tokio_postgres::Row;

pub const EXPIRY_DAYS: i32 = 7;

fn columns() -> String {
    format!(
        "i.key, i.created_date, \
     (i.sent_date IS NOT NULL AND i.sent_date + make_interval(days => {EXPIRY_DAYS}) <= now()) AS expired, \
     m.is_active AS accepted, m.role, coalesce(i.owner_id, 0) AS owner_id, coalesce(ow.username, '') AS owner_username, \
     m.user_id, u.username, u.first_name, u.last_name, m.organization_id, o.slug AS organization_slug"
    )
}
const FROM: &str = "invitations i JOIN memberships m ON m.id = i.membership_id JOIN users u ON u.id = m.user_id \
     JOIN organizations o ON o.id = m.organization_id LEFT JOIN users ow ON ow.id = i.owner_id";

const FIELDS: &[Field] = &[
    Field { name: "owner", sql: "ow.username", ty: FieldType::Text },
    Field { name: "created_date", sql: "i.created_date", ty: FieldType::Timestamp },
    Field { name: "accepted", sql: "m.is_active", ty: FieldType::Bool },
    Field { name: "user_id", sql: "m.user_id", ty: FieldType::Int },
];

pub const INVITATION_LIST: ListSpec = ListSpec {
    fields: FIELDS,
    search: &["owner"],
    filter: &["owner", "accepted", "user_id", "created_date"],
    equals: &["owner", "accepted", "user_id"],
    sort: &["owner", "created_date"],
    default_sort: "-created_date",
    search_sql: None,
};

fn invitation_from_row(row: &Row) -> ApiResult<Invitation> {
    Ok(Invitation {
        key: column(row, "key")?,
        created_date: timestamp(Some(column(row, "created_date")?)),
        expired: column(row, "expired")?,
        accepted: column(row, "accepted")?,
        role: column(row, "role")?,
        owner_id: column(row, "owner_id")?,
        owner_username: column(row, "owner_username")?,
        user_id: column(row, "user_id")?,
        username: column(row, "username")?,
        first_name: column(row, "first_name")?,
        last_name: column(row, "last_name")?,
        organization_id: column(row, "organization_id")?,
        organization_slug: column(row, "organization_slug")?,
    })
}

/// May someone with `caller_role` invite with `role`?
fn may_invite(principal: &Principal, caller_role: &str, role: &str) -> bool {
    is_admin(principal)
        || (at_least_user(principal)
            && match caller_role {
                "owner" => role != "owner",
                "maintainer" => role == "worker" || role == "supervisor",
                _ => false,
            })
}

impl Identity {
    #[tracing::instrument(skip_all)]
    pub async fn create_invitation(
        &self,
        principal: &Principal,
        org: Option<i64>,
        email: &str,
        role: &str,
    ) -> ApiResult<Invitation> {
        let org_id = org.ok_or_else(|| ApiError::invalid("Invitations are sent within an organization context."))?;
        if !ROLES.contains(&role) {
            return Err(ApiError::field("role", format!("\"{role}\" is not a valid choice.")));
        }
        if role == "owner" {
            return Err(ApiError::field("role", "Nobody can be invited as the owner."));
        }
        let caller_role = self.role_in(principal.user_id, org_id).await?.unwrap_or_default();
        if !may_invite(principal, &caller_role, role) {
            return Err(ApiError::forbidden());
        }
        let mut client = self.client().await?;
        let invitee = client
            .query_opt(
                "SELECT id, email FROM users WHERE username = $1 OR (email <> '' AND lower(email) = lower($1)) \
                 ORDER BY (username = $1) DESC LIMIT 1",
                &[&email],
            )
            .await
            .db()?
            .ok_or_else(|| ApiError::field("email", "There is no user with this e-mail address or username."))?;
        let (user_id, address): (i64, String) = (column(&invitee, 0)?, column(&invitee, 1)?);
        let key = random_token(64);
        let tx = client.transaction().await.db()?;
        let membership = tx
            .query_opt(
                "INSERT INTO memberships (user_id, organization_id, role, is_active, joined_date) \
                 VALUES ($1, $2, $3, $4, CASE WHEN $4 THEN now() END) \
                 ON CONFLICT (user_id, organization_id) DO NOTHING RETURNING id",
                &[&user_id, &org_id, &role, &!self.config.invitation_confirm],
            )
            .await
            .db()?
            .ok_or_else(|| ApiError::invalid("The user is a member of the organization already."))?;
        let membership_id: i64 = column(&membership, 0)?;
        tx.execute(
            "INSERT INTO invitations (key, membership_id, owner_id, sent_date) VALUES ($1, $2, $3, now())",
            &[&key, &membership_id, &principal.user_id],
        )
        .await
        .db()?;
        tx.commit().await.db()?;
        let invitation = self.invitation(&key).await?;
        self.mail_invitation(&invitation, &address).await;
        Ok(invitation)
    }

    /// Mail is best effort: the invitation exists either way and can be resent.
    async fn mail_invitation(&self, invitation: &Invitation, address: &str) {
        if address.is_empty() {
            return;
        }
        let body = format!(
            "You are invited to the organization \"{}\" as {}. Accept with POST /api/invitations/{}/accept.",
            invitation.organization_slug, invitation.role, invitation.key
        );
        if let Err(err) = self.outbox.send(address, "Invitation to an organization", &body).await {
            tracing::warn!(error = %err, "invitation mail could not be written");
        }
    }

    async fn invitation(&self, key: &str) -> ApiResult<Invitation> {
        let client = self.client().await?;
        let row =
            client.query_opt(&format!("SELECT {} FROM {FROM} WHERE i.key = $1", columns()), &[&key]).await.db()?;
        row.as_ref().map(invitation_from_row).transpose()?.ok_or_else(ApiError::not_found)
    }

    /// The invitation if the caller may see it: its sender, its invitee, or staff of its
    /// organization. The bool says whether the caller may manage it (resend, delete).
    async fn visible_invitation(&self, principal: &Principal, key: &str) -> ApiResult<(Invitation, bool)> {
        let invitation = self.invitation(key).await?;
        let staff = is_admin(principal)
            || (at_least_user(principal)
                && is_staff_role(
                    &self.role_in(principal.user_id, invitation.organization_id).await?.unwrap_or_default(),
                ));
        let sender = invitation.owner_id == principal.user_id;
        if !(staff || sender || invitation.user_id == principal.user_id) {
            return Err(ApiError::not_found());
        }
        Ok((invitation, staff || sender))
    }

    #[tracing::instrument(skip_all)]
    pub async fn get_invitation(&self, principal: &Principal, key: &str) -> ApiResult<Invitation> {
        Ok(self.visible_invitation(principal, key).await?.0)
    }

    #[tracing::instrument(skip_all)]
    pub async fn list_invitations(
        &self,
        principal: &Principal,
        org: Option<i64>,
        params: &ListParams,
    ) -> ApiResult<InvitationPage> {
        let mut scope = SqlWhere::default();
        let mine = || {
            (
                "(i.owner_id = {} OR m.user_id = {})",
                vec![SqlParam::Int(principal.user_id), SqlParam::Int(principal.user_id)],
            )
        };
        match org {
            Some(org_id) => {
                scope.push("m.organization_id = {}", SqlParam::Int(org_id));
                if !is_admin(principal) {
                    match self.role_in(principal.user_id, org_id).await? {
                        Some(role) if is_staff_role(&role) && at_least_user(principal) => {}
                        Some(role) if !role.is_empty() => {
                            let (sql, values) = mine();
                            scope.push_many(sql, values);
                        }
                        _ => return Err(ApiError::forbidden()),
                    }
                }
            }
            None if !is_admin(principal) => {
                let (sql, values) = mine();
                scope.push_many(sql, values);
            }
            None => {}
        }
        let (count, rows) = self.page(&INVITATION_LIST, params, scope, &columns(), FROM).await?;
        Ok(InvitationPage { count, results: rows.iter().map(invitation_from_row).collect::<ApiResult<_>>()? })
    }

    /// The invitee joins; answers the organization's slug.
    #[tracing::instrument(skip_all)]
    pub async fn accept_invitation(&self, principal: &Principal, key: &str) -> ApiResult<String> {
        let invitation = self.invitee_only(principal, key).await?;
        if invitation.accepted {
            return Err(ApiError::invalid("Your invitation is already accepted."));
        }
        if invitation.expired {
            return Err(ApiError::invalid("This invitation has expired."));
        }
        let client = self.client().await?;
        client
            .execute(
                "UPDATE memberships SET is_active = true, joined_date = now() \
                 WHERE id = (SELECT membership_id FROM invitations WHERE key = $1)",
                &[&key],
            )
            .await
            .db()?;
        Ok(invitation.organization_slug)
    }

    /// The invitee says no: the pending membership and the invitation are removed.
    #[tracing::instrument(skip_all)]
    pub async fn decline_invitation(&self, principal: &Principal, key: &str) -> ApiResult<()> {
        let invitation = self.invitee_only(principal, key).await?;
        if invitation.accepted {
            return Err(ApiError::invalid("This invitation has already been accepted."));
        }
        self.remove_invitation(key, true).await
    }

    async fn invitee_only(&self, principal: &Principal, key: &str) -> ApiResult<Invitation> {
        let (invitation, _) = self.visible_invitation(principal, key).await?;
        if invitation.user_id != principal.user_id {
            return Err(ApiError::forbidden());
        }
        Ok(invitation)
    }

    #[tracing::instrument(skip_all)]
    pub async fn resend_invitation(&self, principal: &Principal, key: &str) -> ApiResult<()> {
        let (invitation, may_manage) = self.visible_invitation(principal, key).await?;
        if !may_manage {
            return Err(ApiError::forbidden());
        }
        if invitation.accepted {
            return Err(ApiError::invalid("This invitation has already been accepted."));
        }
        let client = self.client().await?;
        let address: String =
            client.query_one("SELECT email FROM users WHERE id = $1", &[&invitation.user_id]).await.db()?.get(0);
        client.execute("UPDATE invitations SET sent_date = now() WHERE key = $1", &[&key]).await.db()?;
        self.mail_invitation(&invitation, &address).await;
        Ok(())
    }

    /// Withdraws an invitation; a membership not accepted yet goes with it.
    #[tracing::instrument(skip_all)]
    pub async fn delete_invitation(&self, principal: &Principal, key: &str) -> ApiResult<()> {
        let (invitation, may_manage) = self.visible_invitation(principal, key).await?;
        if !may_manage {
            return Err(ApiError::forbidden());
        }
        self.remove_invitation(key, !invitation.accepted).await
    }

    async fn remove_invitation(&self, key: &str, with_membership: bool) -> ApiResult<()> {
        let client = self.client().await?;
        let sql = if with_membership {
            "DELETE FROM memberships WHERE id = (SELECT membership_id FROM invitations WHERE key = $1)"
        } else {
            "DELETE FROM invitations WHERE key = $1"
        };
        client.execute(sql, &[&key]).await.db()?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn who_may_invite_with_which_role() {
        let user = Principal { groups: vec!["user".into()], ..Default::default() };
        let worker = Principal { groups: vec!["worker".into()], ..Default::default() };
        let admin = Principal { groups: vec!["admin".into()], ..Default::default() };
        assert!(may_invite(&user, "owner", "maintainer"));
        assert!(!may_invite(&user, "owner", "owner"));
        assert!(may_invite(&user, "maintainer", "supervisor"));
        assert!(!may_invite(&user, "maintainer", "maintainer"));
        assert!(!may_invite(&user, "supervisor", "worker"));
        assert!(!may_invite(&user, "", "worker"));
        assert!(!may_invite(&worker, "owner", "worker"));
        assert!(may_invite(&admin, "", "maintainer"));
    }
}
