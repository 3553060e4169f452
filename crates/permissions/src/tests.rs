use super::*;

const ME: i64 = 1;
const OTHER: i64 = 2;

fn actor(privilege: Privilege, role: Option<Role>) -> Actor {
    Actor { user_id: ME, privilege, role }
}

use Privilege::{Admin, User, Worker};
use Role::{Maintainer, Owner, Supervisor};

#[test]
fn privileges_from_groups() {
    assert_eq!(Privilege::from_groups(["worker", "user"]), User);
    assert_eq!(Privilege::from_groups(["admin"]), Admin);
    assert_eq!(Privilege::from_groups([]), Privilege::None);
}

#[test]
fn create_and_list() {
    let table = [
        // (privilege, role, scope, org context, allowed)
        (User, None, CreateScope::Create, false, true),
        (Worker, None, CreateScope::Create, false, false),
        (User, Some(Role::Worker), CreateScope::Create, true, false),
        (User, Some(Supervisor), CreateScope::Create, true, true),
        (Worker, Some(Owner), CreateScope::Create, true, false),
        (Privilege::None, None, CreateScope::List, false, true),
        (User, None, CreateScope::List, true, false),
        (Worker, Some(Role::Worker), CreateScope::List, true, true),
        (Admin, None, CreateScope::Create, true, true),
    ];
    for (privilege, role, scope, in_org, allowed) in table {
        assert_eq!(
            create_or_list(&actor(privilege, role), scope, in_org),
            allowed,
            "{privilege:?} {role:?} {scope:?} {in_org}"
        );
    }
}

#[test]
fn task_rules() {
    let mine = TaskFacts { owner: Some(ME), ..Default::default() };
    let assigned = TaskFacts { owner: Some(OTHER), assignee: Some(ME), ..Default::default() };
    let foreign = TaskFacts { owner: Some(OTHER), ..Default::default() };
    let via_project = TaskFacts {
        owner: Some(OTHER),
        project: Some(ProjectFacts { owner: Some(ME), ..Default::default() }),
        ..Default::default()
    };
    let org = |facts: TaskFacts| TaskFacts { in_org: true, ..facts };
    let table = [
        // sandbox
        (User, None, TaskScope::View, mine, true),
        (Privilege::None, None, TaskScope::View, mine, true),
        (Privilege::None, None, TaskScope::Update, mine, false),
        (User, None, TaskScope::View, foreign, false),
        (Worker, None, TaskScope::Update, assigned, true),
        (Worker, None, TaskScope::Manage, assigned, false), // the task assignee alone cannot delete
        (Worker, None, TaskScope::Manage, via_project, true),
        (Worker, None, TaskScope::UpdateAssociatedStorage, via_project, true),
        (Admin, None, TaskScope::Manage, foreign, true),
        // organization
        (User, Some(Maintainer), TaskScope::Manage, org(foreign), true),
        (Worker, Some(Maintainer), TaskScope::Manage, org(foreign), false),
        (User, Some(Supervisor), TaskScope::View, org(foreign), false),
        (User, Some(Supervisor), TaskScope::View, org(assigned), true),
        (User, None, TaskScope::View, org(mine), false), // not a member any more
        (Worker, Some(Role::Worker), TaskScope::Update, org(assigned), true),
        (Worker, Some(Role::Worker), TaskScope::Manage, org(assigned), false),
        (Worker, Some(Role::Worker), TaskScope::Manage, org(mine), true),
    ];
    for (privilege, role, scope, facts, allowed) in table {
        assert_eq!(task(&actor(privilege, role), scope, &facts), allowed, "{privilege:?} {role:?} {scope:?} {facts:?}");
    }
}

#[test]
fn tasks_in_projects() {
    let project_of = |owner, in_org| ProjectFacts { in_org, owner: Some(owner), assignee: None };
    assert!(create_task_in_project(&actor(User, None), &project_of(ME, false)));
    assert!(!create_task_in_project(&actor(User, None), &project_of(OTHER, false)));
    assert!(!create_task_in_project(&actor(Worker, None), &project_of(ME, false)));
    assert!(create_task_in_project(&actor(User, Some(Supervisor)), &project_of(OTHER, true)));
    assert!(create_task_in_project(&actor(User, Some(Role::Worker)), &project_of(ME, true)));
    assert!(!create_task_in_project(&actor(User, Some(Role::Worker)), &project_of(OTHER, true)));
}

#[test]
fn project_rules() {
    let mine = ProjectFacts { owner: Some(ME), ..Default::default() };
    let assigned = ProjectFacts { owner: Some(OTHER), assignee: Some(ME), ..Default::default() };
    let org = |facts: ProjectFacts| ProjectFacts { in_org: true, ..facts };
    let table = [
        (User, None, ProjectScope::View, assigned, true),
        (Worker, None, ProjectScope::Update, assigned, true),
        (Worker, None, ProjectScope::UpdateAssignee, assigned, false),
        (Worker, None, ProjectScope::Manage, mine, true),
        (User, None, ProjectScope::UpdateOwner, mine, false), // admins only in the sandbox
        (Admin, None, ProjectScope::UpdateOwner, assigned, true),
        (User, Some(Owner), ProjectScope::UpdateOwner, org(assigned), true),
        (User, Some(Supervisor), ProjectScope::View, org(ProjectFacts::default()), false),
        (Worker, Some(Role::Worker), ProjectScope::Manage, org(mine), true),
        (Worker, Some(Role::Worker), ProjectScope::Manage, org(assigned), false),
    ];
    for (privilege, role, scope, facts, allowed) in table {
        assert_eq!(
            project(&actor(privilege, role), scope, &facts),
            allowed,
            "{privilege:?} {role:?} {scope:?} {facts:?}"
        );
    }
}

#[test]
fn job_rules() {
    let task_of = |owner, in_org| TaskFacts { in_org, owner: Some(owner), ..Default::default() };
    let assigned_job = |in_org| JobFacts { task: task_of(OTHER, in_org), assignee: Some(ME) };
    let my_task_job = |in_org| JobFacts { task: task_of(ME, in_org), assignee: Some(OTHER) };
    let table = [
        (Worker, None, JobScope::View, assigned_job(false), true),
        (Worker, None, JobScope::Update, assigned_job(false), true),
        (Worker, None, JobScope::Manage, assigned_job(false), false), // assignee cannot change stage
        (Worker, None, JobScope::Manage, my_task_job(false), true),
        (Worker, None, JobScope::CreateOrDelete, my_task_job(false), false),
        (User, None, JobScope::CreateOrDelete, my_task_job(false), true),
        (Worker, None, JobScope::View, assigned_job(true), true), // outside worker assignee
        (Worker, None, JobScope::Manage, assigned_job(true), false),
        (User, None, JobScope::View, assigned_job(true), false), // privilege user, not a member
        (User, Some(Role::Worker), JobScope::Update, assigned_job(true), true),
        (User, Some(Supervisor), JobScope::CreateOrDelete, my_task_job(true), true),
        (User, Some(Supervisor), JobScope::CreateOrDelete, assigned_job(true), false),
        (User, Some(Maintainer), JobScope::CreateOrDelete, assigned_job(true), true),
        (User, Some(Role::Worker), JobScope::ValidationLayout, assigned_job(true), false),
    ];
    for (privilege, role, scope, facts, allowed) in table {
        assert_eq!(job(&actor(privilege, role), scope, &facts), allowed, "{privilege:?} {role:?} {scope:?} {facts:?}");
    }
}

#[test]
fn cloud_storage_rules() {
    let mine = |in_org| CloudStorageFacts { in_org, owner: Some(ME) };
    let theirs = |in_org| CloudStorageFacts { in_org, owner: Some(OTHER) };
    use CloudStorageScope::{Update, View};
    let table = [
        (User, None, View, mine(false), true),
        (User, None, View, theirs(false), false),
        (Worker, None, Update, mine(false), true),
        (Privilege::None, None, Update, mine(false), false),
        (Admin, None, Update, theirs(true), true),
        (User, Some(Supervisor), View, theirs(true), true),
        (User, Some(Supervisor), Update, theirs(true), false),
        (User, Some(Maintainer), Update, theirs(true), true),
        (User, Some(Role::Worker), View, theirs(true), false),
        (User, Some(Role::Worker), Update, mine(true), true),
        (User, None, View, mine(true), false), // no longer a member
        (Worker, Some(Supervisor), View, theirs(true), false),
    ];
    for (privilege, role, scope, facts, allowed) in table {
        assert_eq!(
            cloud_storage(&actor(privilege, role), scope, &facts),
            allowed,
            "{privilege:?} {role:?} {scope:?} {facts:?}"
        );
    }
    assert!(create_cloud_storage(&actor(User, None), false));
    assert!(!create_cloud_storage(&actor(Worker, None), false));
    assert!(!create_cloud_storage(&actor(User, Some(Supervisor)), true));
    assert!(create_cloud_storage(&actor(User, Some(Maintainer)), true));
}

#[test]
fn issue_and_comment_rules() {
    let job =
        |in_org, assignee| JobFacts { task: TaskFacts { in_org, owner: Some(OTHER), ..Default::default() }, assignee };
    let raised_by = |owner, in_org| IssueFacts { job: job(in_org, None), owner, assignee: None };
    use IssueScope::{Comment, Delete, Update, View};
    let table = [
        (User, None, View, raised_by(Some(ME), false), true),
        (User, None, Delete, raised_by(Some(ME), false), true),
        (User, None, View, raised_by(None, false), false),
        (User, None, Comment, IssueFacts { assignee: Some(ME), ..raised_by(None, false) }, true),
        (User, None, Delete, IssueFacts { assignee: Some(ME), ..raised_by(None, false) }, false),
        (Privilege::None, None, Update, raised_by(Some(ME), false), false),
        (User, Some(Role::Worker), View, raised_by(None, true), false),
        (User, Some(Role::Worker), Update, IssueFacts { job: job(true, Some(ME)), ..raised_by(None, true) }, true),
        (User, Some(Maintainer), Delete, raised_by(None, true), true),
        (User, None, View, raised_by(Some(ME), true), false), // no longer a member
    ];
    for (privilege, role, scope, facts, allowed) in table {
        assert_eq!(
            issue(&actor(privilege, role), scope, &facts),
            allowed,
            "{privilege:?} {role:?} {scope:?} {facts:?}"
        );
    }
    assert!(create_issue(&actor(Worker, None), &job(false, Some(ME))));
    assert!(!create_issue(&actor(Worker, None), &job(false, None)));
    assert!(create_issue(&actor(User, Some(Maintainer)), &job(true, None)));
    assert!(!create_issue(&actor(User, Some(Supervisor)), &job(true, None)));

    let mine = CommentFacts { issue: raised_by(None, false), owner: Some(ME) };
    assert!(comment(&actor(Worker, None), CommentScope::Change, &mine));
    assert!(!comment(&actor(Worker, None), CommentScope::View, &CommentFacts { owner: None, ..mine }));
}

#[test]
fn function_rules() {
    let private_in_org = FunctionFacts { in_org: true, owner: Some(OTHER), public: false };
    let public_in_org = FunctionFacts { public: true, ..private_in_org };
    let public_personal = FunctionFacts { in_org: false, ..public_in_org };
    let mine = FunctionFacts { owner: Some(ME), ..private_in_org };
    // The owner does everything, even as a worker; nobody else runs its agents.
    for scope in [FunctionScope::View, FunctionScope::Serve, FunctionScope::Delete] {
        assert!(function(&actor(Worker, Some(Role::Worker)), scope, &mine));
        assert!(!function(&actor(User, Some(Role::Owner)), FunctionScope::Serve, &private_in_org));
    }
    assert!(function(&actor(Admin, None), FunctionScope::Serve, &private_in_org));
    // Members see public functions of their organization; managers see and delete all.
    assert!(function(&actor(Worker, Some(Role::Worker)), FunctionScope::View, &public_in_org));
    assert!(!function(&actor(Worker, Some(Role::Worker)), FunctionScope::View, &private_in_org));
    assert!(!function(&actor(User, None), FunctionScope::View, &public_in_org));
    assert!(function(&actor(User, Some(Role::Maintainer)), FunctionScope::Delete, &private_in_org));
    assert!(!function(&actor(Worker, Some(Role::Worker)), FunctionScope::Delete, &public_in_org));
    assert!(function(&actor(Worker, None), FunctionScope::View, &public_personal));
    assert!(create_function(&actor(User, None), false));
    assert!(!create_function(&actor(Worker, None), false));
    assert!(!create_function(&actor(User, Some(Role::Supervisor)), true));
}

#[test]
fn webhook_rules() {
    // Organizations: their owners and maintainers.
    assert!(create_webhook(&actor(User, Some(Maintainer)), true, None));
    assert!(!create_webhook(&actor(User, Some(Supervisor)), true, None));
    assert!(!create_webhook(&actor(User, None), false, None));
    // Projects: also the project's owner, who must be a member in an organization.
    assert!(create_webhook(&actor(Worker, None), false, Some(Some(ME))));
    assert!(!create_webhook(&actor(User, None), false, Some(Some(OTHER))));
    assert!(!create_webhook(&actor(Worker, None), true, Some(Some(ME))));
    let project_hook = WebhookFacts { in_org: false, owner: Some(OTHER), project_owner: Some(ME) };
    assert!(webhook(&actor(Worker, None), &project_hook));
    let theirs = WebhookFacts { in_org: true, owner: Some(OTHER), project_owner: None };
    assert!(!webhook(&actor(User, Some(Supervisor)), &theirs));
    assert!(webhook(&actor(User, Some(Owner)), &theirs));
    assert!(webhook(&actor(Admin, None), &theirs));
}
