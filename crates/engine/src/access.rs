//! Who calls, in which organization context, and what they may see: the caller's
//! privilege and organization role feed `cvat-permissions`; list visibility is the same
//! rules written as SQL conditions.

use crate::Engine;
use cvat_error::{ApiError, ApiResult};
use cvat_listing::{SqlParam, SqlWhere};
use cvat_permissions::{Actor, Privilege, Role};
use cvat_proto::auth::User;
use cvat_proto::common::org_context::Selector;
use cvat_proto::task as wire;

/// The organization context of a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Context {
    /// No `org`, `org_id` or `X-Organization` given: no organization restriction on lists.
    Unset,
    /// Given but empty: the personal workspace (objects without an organization).
    Personal,
    Org(i64),
}

impl Context {
    pub fn org(self) -> Option<i64> {
        match self {
            Context::Org(id) => Some(id),
            _ => None,
        }
    }
}

#[derive(Debug, Clone)]
pub struct Caller {
    pub user: User,
    pub privilege: Privilege,
    pub context: Context,
    pub base_url: String,
}

impl Caller {
    pub fn from_wire(caller: Option<wire::Caller>) -> ApiResult<Self> {
        let caller = caller.unwrap_or_default();
        let principal = caller
            .principal
            .ok_or_else(|| ApiError::unauthenticated("Authentication credentials were not provided."))?;
        let privilege = if principal.is_superuser {
            Privilege::Admin
        } else {
            Privilege::from_groups(principal.groups.iter().map(String::as_str))
        };
        let context = match caller.org.and_then(|o| o.selector) {
            None => Context::Unset,
            Some(Selector::Id(id)) => Context::Org(id),
            Some(Selector::Slug(slug)) if slug.is_empty() => Context::Personal,
            // The gateway resolves slugs to ids before calling.
            Some(Selector::Slug(_)) => return Err(ApiError::bad_request("Unresolved organization context.")),
        };
        let mut user = principal.user.unwrap_or_default();
        user.id = principal.user_id;
        user.username = principal.username;
        Ok(Self { user, privilege, context, base_url: caller.base_url })
    }

    pub fn id(&self) -> i64 {
        self.user.id
    }

    pub fn is_admin(&self) -> bool {
        self.privilege == Privilege::Admin
    }
}

impl Engine {
    /// The caller as an actor on objects of `org` (their active role there, if any).
    pub(crate) async fn actor(&self, caller: &Caller, org: Option<i64>) -> ApiResult<Actor> {
        let role = match org {
            Some(org) if !caller.is_admin() => self.directory.role(caller.id(), org).await?,
            _ => None,
        };
        Ok(Actor { user_id: caller.id(), privilege: caller.privilege, role })
    }

    /// The caller on the request's context: for lists and creates.
    pub(crate) async fn context_actor(&self, caller: &Caller) -> ApiResult<Actor> {
        self.actor(caller, caller.context.org()).await
    }
}

pub(crate) fn allow(allowed: bool) -> ApiResult<()> {
    if allowed {
        Ok(())
    } else {
        Err(ApiError::forbidden())
    }
}

/// The caller's role was found for the organization an object was in; a write re-checks
/// its rights on the locked row, which must still be in that organization (else 409).
pub(crate) fn same_organization(checked: Option<i64>, locked: Option<i64>) -> ApiResult<()> {
    if checked == locked {
        Ok(())
    } else {
        Err(ApiError::detail(
            cvat_error::ErrorKind::Conflict,
            "The object changed its organization meanwhile; try again.",
        ))
    }
}

/// A write's second check, in its transaction on the row it locked (see [`lock_row`]):
/// the object is still in the organization the actor was found for, and the rule still
/// allows the write on the facts read under the lock.
pub(crate) fn recheck(checked_org: Option<i64>, locked_org: Option<i64>, allowed: bool) -> ApiResult<()> {
    same_organization(checked_org, locked_org)?;
    allow(allowed)
}

/// How a write holds a row it depends on until it commits.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Lock {
    /// The row itself changes.
    Update,
    /// The row must stay as it is (something joins it).
    Share,
}

/// Locks row `id` of `table` for the rest of the transaction; 404 when it is gone.
pub(crate) async fn lock_row(
    tx: &impl cvat_db::GenericClient,
    table: &'static str,
    id: i64,
    lock: Lock,
) -> ApiResult<()> {
    use cvat_db::DbResultExt;
    let mode = match lock {
        Lock::Update => "UPDATE",
        Lock::Share => "SHARE",
    };
    let sql = format!("SELECT 1 FROM {table} WHERE id = $1 FOR {mode}");
    tx.query_opt(&sql, &[&id]).await.db()?.map(|_| ()).ok_or_else(ApiError::not_found)
}

/// Which relations make an object visible to a user in lists.
pub(crate) struct Visibility {
    /// Column holding the object's organization.
    pub org_column: &'static str,
    /// Condition on the user's relations, with `{user}` standing for their id.
    pub relations: &'static str,
    /// The organization role (with privilege user) that sees every object of the organization.
    pub staff: Role,
}

/// The list scope of `caller`: the organization context, then (unless admin or
/// organization staff) only objects the caller is related to. Fails with 403 when the
/// context names an organization the caller is not a member of.
pub(crate) fn list_scope(caller: &Caller, actor: &Actor, visibility: &Visibility) -> ApiResult<SqlWhere> {
    let mut scope = SqlWhere::default();
    match caller.context {
        Context::Org(org) => {
            allow(cvat_permissions::create_or_list(actor, cvat_permissions::CreateScope::List, true))?;
            scope.push(&format!("{} = {{}}", visibility.org_column), SqlParam::Int(org));
        }
        Context::Personal => scope.push_raw(format!("{} IS NULL", visibility.org_column)),
        Context::Unset => {}
    }
    let sees_all = caller.is_admin()
        || (caller.context.org().is_some()
            && actor.privilege >= Privilege::User
            && actor.role.is_some_and(|r| r >= visibility.staff));
    if !sees_all {
        // The id is ours, not the client's: an integer, safe to write into the SQL.
        scope.push_raw(format!("({})", visibility.relations.replace("{user}", &caller.id().to_string())));
    }
    Ok(scope)
}
