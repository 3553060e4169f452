//! CVAT's permission rules for projects, tasks, jobs and cloud storages (its OPA policies), as pure
//! functions: the caller gathers the facts (who acts, their role in the object's
//! organization, who owns and is assigned what) and asks whether a scope is allowed.
//! Deny is the default: every rule names who is allowed, nothing else is.
//!
//! "Sandbox" objects have no organization; for organization objects the acting user's
//! role is their *active* membership role in the object's organization (`None` when they
//! are not an active member). Admins are allowed everything.

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Privilege {
    None,
    Worker,
    User,
    Admin,
}

impl Privilege {
    /// The system group that gives this privilege (empty for none).
    pub fn group(self) -> &'static str {
        match self {
            Privilege::None => "",
            Privilege::Worker => "worker",
            Privilege::User => "user",
            Privilege::Admin => "admin",
        }
    }

    /// The highest of a user's system groups.
    pub fn from_groups<'a>(groups: impl IntoIterator<Item = &'a str>) -> Self {
        groups
            .into_iter()
            .map(|g| match g {
                "admin" => Privilege::Admin,
                "user" => Privilege::User,
                "worker" => Privilege::Worker,
                _ => Privilege::None,
            })
            .max()
            .unwrap_or(Privilege::None)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Role {
    Worker,
    Supervisor,
    Maintainer,
    Owner,
}

impl Role {
    pub fn parse(role: &str) -> Option<Self> {
        match role {
            "worker" => Some(Role::Worker),
            "supervisor" => Some(Role::Supervisor),
            "maintainer" => Some(Role::Maintainer),
            "owner" => Some(Role::Owner),
            _ => None,
        }
    }
}

/// Who acts, and as what in the organization of the object (or of the request, for
/// create and list).
#[derive(Debug, Clone, Copy)]
pub struct Actor {
    pub user_id: i64,
    pub privilege: Privilege,
    pub role: Option<Role>,
}

impl Actor {
    fn at_least(&self, privilege: Privilege) -> bool {
        self.privilege >= privilege
    }

    fn role_at_least(&self, role: Role) -> bool {
        self.role.is_some_and(|r| r >= role)
    }

    fn member(&self) -> bool {
        self.role.is_some()
    }

    /// Organization staff with privilege user: may act on every object of the organization.
    fn org_manager(&self) -> bool {
        self.at_least(Privilege::User) && self.role_at_least(Role::Maintainer)
    }

    fn is(&self, user: Option<i64>) -> bool {
        user == Some(self.user_id)
    }
}

#[derive(Debug, Clone, Copy, Default)]
pub struct ProjectFacts {
    pub in_org: bool,
    pub owner: Option<i64>,
    pub assignee: Option<i64>,
}

#[derive(Debug, Clone, Copy, Default)]
pub struct TaskFacts {
    pub in_org: bool,
    pub owner: Option<i64>,
    pub assignee: Option<i64>,
    pub project: Option<ProjectFacts>,
}

#[derive(Debug, Clone, Copy, Default)]
pub struct JobFacts {
    pub task: TaskFacts,
    pub assignee: Option<i64>,
}

impl TaskFacts {
    fn project_staff(&self, actor: &Actor) -> bool {
        self.project.is_some_and(|p| actor.is(p.owner) || actor.is(p.assignee))
    }

    /// Task owner, task assignee, project owner or project assignee.
    fn staff(&self, actor: &Actor) -> bool {
        actor.is(self.owner) || actor.is(self.assignee) || self.project_staff(actor)
    }
}

/// Scopes of a create or list request, decided on the request's context.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CreateScope {
    /// A project, a standalone task, or a backup import.
    Create,
    List,
}

/// Create and list of projects and tasks (`in_org`: the request has an organization context).
pub fn create_or_list(actor: &Actor, scope: CreateScope, in_org: bool) -> bool {
    if actor.privilege == Privilege::Admin {
        return true;
    }
    match (scope, in_org) {
        (CreateScope::Create, false) => actor.at_least(Privilege::User),
        (CreateScope::Create, true) => actor.at_least(Privilege::User) && actor.role_at_least(Role::Supervisor),
        (CreateScope::List, false) => true,
        (CreateScope::List, true) => actor.member(),
    }
}

/// Creating a task inside `project`.
pub fn create_task_in_project(actor: &Actor, project: &ProjectFacts) -> bool {
    let project_staff = actor.is(project.owner) || actor.is(project.assignee);
    actor.privilege == Privilege::Admin
        || if project.in_org {
            actor.at_least(Privilege::User)
                && (actor.role_at_least(Role::Supervisor) || (actor.member() && project_staff))
        } else {
            actor.at_least(Privilege::User) && project_staff
        }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TaskScope {
    /// view, view:annotations, view:data, view:metadata, view:validation_layout, export:*
    View,
    /// update:desc, update:annotations, delete:annotations, upload:data, update:metadata,
    /// import:annotations, update:validation_layout
    Update,
    /// update:owner, update:assignee, update:project, update:organization, delete
    Manage,
    UpdateAssociatedStorage,
}

pub fn task(actor: &Actor, scope: TaskScope, facts: &TaskFacts) -> bool {
    if actor.privilege == Privilege::Admin {
        return true;
    }
    let staff = facts.staff(actor);
    let owner_like = actor.is(facts.owner) || facts.project_staff(actor);
    let storage_owner = actor.is(facts.owner) || facts.project.is_some_and(|p| actor.is(p.owner));
    let worker = actor.at_least(Privilege::Worker);
    if !facts.in_org {
        return match scope {
            TaskScope::View => staff,
            TaskScope::Update => staff && worker,
            TaskScope::Manage => owner_like && worker,
            TaskScope::UpdateAssociatedStorage => storage_owner && worker,
        };
    }
    actor.org_manager()
        || actor.member()
            && match scope {
                TaskScope::View => staff,
                TaskScope::Update => staff && worker,
                TaskScope::Manage => owner_like && worker,
                TaskScope::UpdateAssociatedStorage => storage_owner,
            }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProjectScope {
    /// view (also its tasks and preview) and export:*
    View,
    /// update:desc, import:dataset
    Update,
    UpdateAssignee,
    UpdateOwner,
    /// delete, update:organization, update:associated_storage
    Manage,
}

pub fn project(actor: &Actor, scope: ProjectScope, facts: &ProjectFacts) -> bool {
    if actor.privilege == Privilege::Admin {
        return true;
    }
    let owner = actor.is(facts.owner);
    let staff = owner || actor.is(facts.assignee);
    let worker = actor.at_least(Privilege::Worker);
    if !facts.in_org {
        return match scope {
            ProjectScope::View => staff,
            ProjectScope::Update => staff && worker,
            ProjectScope::UpdateAssignee | ProjectScope::Manage => owner && worker,
            ProjectScope::UpdateOwner => false,
        };
    }
    let staff_role = actor.at_least(Privilege::User) && actor.role_at_least(Role::Maintainer);
    staff_role
        || actor.member()
            && match scope {
                ProjectScope::View => staff,
                ProjectScope::Update => staff && worker,
                ProjectScope::UpdateAssignee | ProjectScope::Manage => owner && worker,
                ProjectScope::UpdateOwner => false,
            }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobScope {
    /// view, view:annotations, view:data, view:metadata, export:*
    View,
    /// update:state, update:annotations, delete:annotations, import:annotations, update:metadata
    Update,
    /// update:stage, update:assignee
    Manage,
    /// create (ground-truth jobs), delete
    CreateOrDelete,
    /// view/update:validation_layout
    ValidationLayout,
}

pub fn job(actor: &Actor, scope: JobScope, facts: &JobFacts) -> bool {
    if actor.privilege == Privilege::Admin {
        return true;
    }
    let task_staff = facts.task.staff(actor);
    let job_staff = task_staff || actor.is(facts.assignee);
    let worker = actor.at_least(Privilege::Worker);
    if !facts.task.in_org {
        return match scope {
            JobScope::View => job_staff,
            JobScope::Update => job_staff && worker,
            JobScope::Manage => task_staff && worker,
            JobScope::CreateOrDelete => task_staff && actor.at_least(Privilege::User),
            JobScope::ValidationLayout => task_staff,
        };
    }
    // A worker-privileged assignee who is not a member may still do the job's work.
    let outside_assignee = actor.privilege == Privilege::Worker && !actor.member() && actor.is(facts.assignee);
    if outside_assignee && matches!(scope, JobScope::View | JobScope::Update) {
        return true;
    }
    let user = actor.at_least(Privilege::User);
    match scope {
        JobScope::CreateOrDelete => {
            user && (actor.role_at_least(Role::Maintainer) || (actor.role_at_least(Role::Supervisor) && task_staff))
        }
        _ => {
            actor.org_manager()
                || actor.member()
                    && match scope {
                        JobScope::View => job_staff,
                        JobScope::Update => job_staff && worker,
                        JobScope::Manage => task_staff && worker,
                        JobScope::ValidationLayout => task_staff,
                        JobScope::CreateOrDelete => unreachable!("handled above"),
                    }
        }
    }
}

/// An issue on a job: who raised it and who is to resolve it.
#[derive(Debug, Clone, Copy, Default)]
pub struct IssueFacts {
    pub job: JobFacts,
    pub owner: Option<i64>,
    pub assignee: Option<i64>,
}

impl IssueFacts {
    /// Job staff, the issue's owner and its assignee.
    fn staff(&self, actor: &Actor) -> bool {
        self.job.task.staff(actor) || actor.is(self.job.assignee) || actor.is(self.owner) || actor.is(self.assignee)
    }

    /// Task staff and the issue's owner.
    fn admin(&self, actor: &Actor) -> bool {
        self.job.task.staff(actor) || actor.is(self.owner)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IssueScope {
    View,
    Update,
    Delete,
    /// Adding a comment (`create@issue`).
    Comment,
}

/// Raising an issue on a job (`create@job`).
pub fn create_issue(actor: &Actor, job: &JobFacts) -> bool {
    let job_staff = job.task.staff(actor) || actor.is(job.assignee);
    let worker = actor.at_least(Privilege::Worker);
    actor.privilege == Privilege::Admin
        || if job.task.in_org {
            actor.org_manager() || (actor.member() && worker && job_staff)
        } else {
            worker && job_staff
        }
}

pub fn issue(actor: &Actor, scope: IssueScope, facts: &IssueFacts) -> bool {
    let allowed_here = match scope {
        IssueScope::View => facts.staff(actor),
        IssueScope::Update | IssueScope::Comment => facts.staff(actor) && actor.at_least(Privilege::Worker),
        IssueScope::Delete => facts.admin(actor) && actor.at_least(Privilege::Worker),
    };
    actor.privilege == Privilege::Admin
        || if facts.job.task.in_org { actor.org_manager() || (actor.member() && allowed_here) } else { allowed_here }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CommentScope {
    View,
    /// update, delete
    Change,
}

#[derive(Debug, Clone, Copy, Default)]
pub struct CommentFacts {
    pub issue: IssueFacts,
    pub owner: Option<i64>,
}

pub fn comment(actor: &Actor, scope: CommentScope, facts: &CommentFacts) -> bool {
    let staff = facts.issue.staff(actor) || actor.is(facts.owner);
    let allowed_here = match scope {
        CommentScope::View => staff,
        CommentScope::Change => staff && actor.at_least(Privilege::Worker),
    };
    actor.privilege == Privilege::Admin
        || if facts.issue.job.task.in_org {
            actor.org_manager() || (actor.member() && allowed_here)
        } else {
            allowed_here
        }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CloudStorageScope {
    /// view, list:content (status, actions, preview, content)
    View,
    /// update, delete
    Update,
}

#[derive(Debug, Clone, Copy, Default)]
pub struct CloudStorageFacts {
    pub in_org: bool,
    pub owner: Option<i64>,
}

/// Attaching a cloud storage (`in_org`: the request has an organization context).
pub fn create_cloud_storage(actor: &Actor, in_org: bool) -> bool {
    actor.privilege == Privilege::Admin
        || actor.at_least(Privilege::User) && (!in_org || actor.role_at_least(Role::Maintainer))
}

pub fn cloud_storage(actor: &Actor, scope: CloudStorageScope, facts: &CloudStorageFacts) -> bool {
    if actor.privilege == Privilege::Admin {
        return true;
    }
    let owner = actor.is(facts.owner);
    if !facts.in_org {
        return match scope {
            CloudStorageScope::View => owner,
            CloudStorageScope::Update => owner && actor.at_least(Privilege::Worker),
        };
    }
    let user = actor.at_least(Privilege::User);
    match scope {
        CloudStorageScope::View => (actor.member() && owner) || (user && actor.role_at_least(Role::Supervisor)),
        CloudStorageScope::Update => {
            (actor.member() && owner && actor.at_least(Privilege::Worker)) || actor.org_manager()
        }
    }
}

/// What a call does with a function (`/api/functions`, `/api/lambda/…`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FunctionScope {
    /// See it, list it, call it and send it requests (with a task the caller may use).
    View,
    /// Run an agent for it: watch its queue, acquire, update, complete and fail requests.
    Serve,
    Delete,
}

#[derive(Debug, Clone, Copy, Default)]
pub struct FunctionFacts {
    pub in_org: bool,
    pub owner: Option<i64>,
    /// `visibility: public`: every member of its organization (or every user, outside
    /// organizations) sees it.
    pub public: bool,
}

/// Registering a function: as attaching a cloud storage (a user; in an organization, a
/// maintainer or its owner).
pub fn create_function(actor: &Actor, in_org: bool) -> bool {
    create_cloud_storage(actor, in_org)
}

/// Beyond CVAT (whose open-source server has no native functions): a private function is
/// its owner's (and its organization's managers'); only the owner runs its agents.
pub fn function(actor: &Actor, scope: FunctionScope, facts: &FunctionFacts) -> bool {
    if actor.privilege == Privilege::Admin || actor.is(facts.owner) {
        return true;
    }
    let manager = facts.in_org && actor.org_manager();
    match scope {
        FunctionScope::View => manager || (facts.public && (!facts.in_org || actor.member())),
        FunctionScope::Serve => false,
        FunctionScope::Delete => manager,
    }
}

#[derive(Debug, Clone, Copy, Default)]
pub struct WebhookFacts {
    pub in_org: bool,
    pub owner: Option<i64>,
    /// The owner of the webhook's project (none for an organization's webhook).
    pub project_owner: Option<i64>,
}

/// Adding a webhook: to an organization, its owner or a maintainer; to a project, also
/// the project's owner (CVAT's webhooks.rego).
pub fn create_webhook(actor: &Actor, in_org: bool, project_owner: Option<Option<i64>>) -> bool {
    if actor.privilege == Privilege::Admin || (in_org && actor.org_manager()) {
        return true;
    }
    match project_owner {
        Some(owner) => actor.at_least(Privilege::Worker) && actor.is(owner) && (!in_org || actor.member()),
        None => false,
    }
}

/// Seeing, changing, pinging or deleting a webhook, and its deliveries.
pub fn webhook(actor: &Actor, facts: &WebhookFacts) -> bool {
    let related = actor.is(facts.owner) || actor.is(facts.project_owner);
    actor.privilege == Privilege::Admin
        || (facts.in_org && actor.org_manager())
        || (related && actor.at_least(Privilege::Worker) && (!facts.in_org || actor.member()))
}

#[cfg(test)]
mod tests;
