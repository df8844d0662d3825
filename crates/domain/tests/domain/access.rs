//! Projects, permission sets and groups: what a credential holds on a project,
//! how a change reaches the next request (here and in another process), the
//! ceiling, the refusals and limits, and that no account can name, see or
//! grant another's.

use domain::ids::{AccountId, ProjectId, ServiceAccountId};
use domain::{
    Because, CreateGrant, CreateGroup, CreatePermission, CreatePermissionSet, CreateProject,
    Decision, DomainError, Group, GroupMember, GroupName, Keyring, Keywarden, PermissionName,
    PermissionSet, PermissionSetName, Principal, Project, ProjectName, ProjectRef, Role, SetKind,
    UpdatePermissionSet, Why,
};

use crate::support::{Tenant, World, create_key, pepper, t0};

fn perm(name: &str) -> PermissionName {
    PermissionName::parse(name).unwrap()
}

async fn project(w: &World, t: &Tenant, name: &str) -> Project {
    w.kw.create_project(
        &t.admin,
        CreateProject {
            account_id: t.id,
            name: ProjectName::parse(name).unwrap(),
            description: None,
        },
        t0(),
    )
    .await
    .unwrap()
}

async fn define(w: &World, t: &Tenant, names: &[&str]) {
    for name in names {
        w.kw.create_permission(
            &t.admin,
            CreatePermission {
                account_id: t.id,
                name: perm(name),
                description: None,
            },
            t0(),
        )
        .await
        .unwrap();
    }
}

async fn set(w: &World, t: &Tenant, name: &str, permissions: &[&str]) -> PermissionSet {
    w.kw.create_permission_set(
        &t.admin,
        CreatePermissionSet {
            account_id: t.id,
            name: PermissionSetName::parse(name).unwrap(),
            description: None,
            permissions: permissions.iter().map(|p| perm(p)).collect(),
        },
        t0(),
    )
    .await
    .unwrap()
}

fn set_id(set: &PermissionSet) -> domain::ids::PermissionSetId {
    match set.kind {
        SetKind::Custom(id) => id,
        SetKind::BuiltIn(role) => panic!("built-in {role}"),
    }
}

async fn group(w: &World, t: &Tenant, name: &str) -> Group {
    w.kw.create_group(
        &t.admin,
        CreateGroup {
            account_id: t.id,
            name: GroupName::parse(name).unwrap(),
            description: None,
        },
        t0(),
    )
    .await
    .unwrap()
}

async fn grant(
    w: &World,
    t: &Tenant,
    group: &Group,
    set: &PermissionSet,
    projects: Option<&[&Project]>,
) -> domain::GroupGrant {
    w.kw.create_group_grant(
        &t.admin,
        CreateGrant {
            group_id: group.id,
            permission_set_id: set_id(set),
            projects: projects.map(|ps| ps.iter().map(|p| p.id).collect()),
        },
        t0(),
    )
    .await
    .unwrap()
}

/// The answer a gateway gets for `token`, as the server asks it.
async fn ask(
    kw: &Keywarden,
    token: &str,
    account: AccountId,
    permission: &str,
    project: Option<&str>,
) -> Result<(), Why> {
    let principal = kw.authenticate(token, t0()).await.unwrap();
    match kw
        .decide(&principal, account, Some(&perm(permission)), project, t0())
        .await
        .unwrap()
    {
        Decision::Granted { .. } => Ok(()),
        Decision::Refused(why) => Err(why),
    }
}

/// Account A with projects web and api, permissions jobs:run and docs:read,
/// a set "runner" of jobs:run granted to group "ci" on web only, and a
/// Viewer service account in the group with one key.
struct Scene {
    a: Tenant,
    web: Project,
    api: Project,
    runner: PermissionSet,
    ci: Group,
    sa: ServiceAccountId,
    token: String,
}

async fn scene(w: &World) -> Scene {
    let a = w.tenant("a", "alice").await;
    let web = project(w, &a, "web").await;
    let api = project(w, &a, "api").await;
    define(w, &a, &["jobs:run", "docs:read"]).await;
    let runner = set(w, &a, "runner", &["jobs:run"]).await;
    let ci = group(w, &a, "ci").await;
    grant(w, &a, &ci, &runner, Some(&[&web])).await;
    let sa = w.service_account(&a, "deployer", Role::Viewer).await;
    w.kw.add_group_members(&a.admin, ci.id, &[GroupMember::ServiceAccount(sa.id)], t0())
        .await
        .unwrap();
    let (_, token) = w.key(&a, sa.id).await;
    Scene {
        a,
        web,
        api,
        runner,
        ci,
        sa: sa.id,
        token,
    }
}

#[tokio::test]
async fn a_group_grant_gives_its_permissions_on_its_projects_only() {
    let w = World::new().await;
    let s = scene(&w).await;
    let kw = &w.kw;
    assert_eq!(
        ask(kw, &s.token, s.a.id, "jobs:run", Some("web")).await,
        Ok(())
    );
    // By the project's id as well as by its name.
    let web_id = domain::object_id::encode("Project", s.web.id.0);
    assert_eq!(
        ask(kw, &s.token, s.a.id, "jobs:run", Some(&web_id)).await,
        Ok(())
    );
    assert_eq!(
        ask(kw, &s.token, s.a.id, "jobs:run", Some("api")).await,
        Err(Why::NotHeld)
    );
    assert_eq!(
        ask(kw, &s.token, s.a.id, "docs:read", Some("web")).await,
        Err(Why::NotHeld)
    );
    // A grant on listed projects says nothing of the account as a whole.
    assert_eq!(
        ask(kw, &s.token, s.a.id, "jobs:run", None).await,
        Err(Why::NotHeld)
    );
    for nothing in ["nope", "web\0", "w eb", "ü", &"p".repeat(101)] {
        assert_eq!(
            ask(kw, &s.token, s.a.id, "jobs:run", Some(nothing)).await,
            Err(Why::UnknownProject),
            "{nothing:?}"
        );
    }
    // The role's own set: a Viewer reads its account, everywhere.
    assert_eq!(
        ask(kw, &s.token, s.a.id, "account:read", Some("api")).await,
        Ok(())
    );
    // What is held on web, listed for the gateway's header.
    let principal = kw.authenticate(&s.token, t0()).await.unwrap();
    match kw
        .decide(&principal, s.a.id, None, Some("web"), t0())
        .await
        .unwrap()
    {
        Decision::Granted { project, access } => {
            let project = project.unwrap();
            assert_eq!(project.id, s.web.id);
            assert_eq!(
                &*project.global_id,
                domain::object_id::encode("Project", s.web.id.0)
            );
            assert_eq!(
                access.held(Some(project.id)),
                domain::Held::Listed(["account:read", "jobs:run"].into_iter().collect())
            );
        }
        other => panic!("{other:?}"),
    }
    // The account's Admin holds everything, everywhere.
    let admin_key = w.service_account(&s.a, "admin-robot", Role::Admin).await;
    let (_, admin_token) = w.key(&s.a, admin_key.id).await;
    assert_eq!(
        ask(kw, &admin_token, s.a.id, "jobs:run", Some("api")).await,
        Ok(())
    );
    // And a credential of the account is not one of another account.
    let b = w.tenant("b", "bob").await;
    assert_eq!(
        ask(kw, &s.token, b.id, "jobs:run", None).await,
        Err(Why::NotInAccount)
    );
}

#[tokio::test]
async fn permissions_are_the_union_of_every_group_and_a_viewer_ceiling_keeps_reading_only() {
    let w = World::new().await;
    let s = scene(&w).await;
    let readers = set(&w, &s.a, "readers", &["docs:read"]).await;
    let docs = group(&w, &s.a, "docs").await;
    grant(&w, &s.a, &docs, &readers, None).await;
    w.kw.add_group_members(
        &s.a.admin,
        docs.id,
        &[GroupMember::ServiceAccount(s.sa)],
        t0(),
    )
    .await
    .unwrap();
    let kw = &w.kw;
    assert_eq!(
        ask(kw, &s.token, s.a.id, "jobs:run", Some("web")).await,
        Ok(())
    );
    assert_eq!(
        ask(kw, &s.token, s.a.id, "docs:read", Some("api")).await,
        Ok(())
    );
    assert_eq!(ask(kw, &s.token, s.a.id, "docs:read", None).await, Ok(()));
    // A key under a Viewer ceiling keeps reading and loses running.
    let mut capped = create_key(s.sa);
    capped.role_ceiling = Some(Role::Viewer);
    let (_, capped) = w.key_with(&s.a, capped).await;
    assert_eq!(
        ask(kw, &capped, s.a.id, "docs:read", Some("web")).await,
        Ok(())
    );
    assert_eq!(
        ask(kw, &capped, s.a.id, "jobs:run", Some("web")).await,
        Err(Why::NotHeld)
    );
    // The explanation names both grants' groups for a permission two give.
    let both = set(&w, &s.a, "both", &["docs:read"]).await;
    grant(&w, &s.a, &s.ci, &both, Some(&[&s.web])).await;
    let check = kw
        .check_permission(
            &s.a.admin,
            s.a.id,
            &perm("docs:read"),
            Some(&ProjectRef::Name("web".to_owned())),
            Some(GroupMember::ServiceAccount(s.sa)),
        )
        .await
        .unwrap();
    assert!(check.allowed);
    let mut groups: Vec<String> = check
        .because
        .iter()
        .map(|b| match b {
            Because::Grant { group, .. } => group.name.clone(),
            Because::Role(role) => role.code().to_owned(),
        })
        .collect();
    groups.sort();
    assert_eq!(groups, ["ci", "docs"]);
    let mut sets: Vec<String> = check
        .because
        .iter()
        .filter_map(|b| match b {
            Because::Grant {
                permission_set_name,
                ..
            } => Some(permission_set_name.clone()),
            Because::Role(_) => None,
        })
        .collect();
    sets.sort();
    assert_eq!(sets, ["both", "readers"]);
    assert_eq!(check.project.map(|p| p.id), Some(s.web.id));
    // Refused: no sources.
    let check = kw
        .check_permission(
            &s.a.admin,
            s.a.id,
            &perm("jobs:run"),
            Some(&ProjectRef::Name("api".to_owned())),
            Some(GroupMember::ServiceAccount(s.sa)),
        )
        .await
        .unwrap();
    assert!(!check.allowed);
    assert!(check.because.is_empty());
    assert_eq!(check.role, Role::Viewer);
}

#[tokio::test]
async fn every_change_reaches_the_next_request_and_reads_only_what_it_affects() {
    let w = World::new().await;
    let s = scene(&w).await;
    let kw = &w.kw;
    // Someone else's verified key, to count that it is not read again.
    let other = w.service_account(&s.a, "bystander", Role::Viewer).await;
    let (_, bystander) = w.key(&s.a, other.id).await;
    kw.authenticate(&bystander, t0()).await.unwrap();
    assert_eq!(
        ask(kw, &s.token, s.a.id, "jobs:run", Some("web")).await,
        Ok(())
    );
    let reads = kw.verification_reads();

    // The set gains a permission.
    kw.update_permission_set(
        &s.a.admin,
        set_id(&s.runner),
        UpdatePermissionSet {
            permissions: Some(vec![perm("jobs:run"), perm("docs:read")]),
            ..Default::default()
        },
        t0(),
    )
    .await
    .unwrap();
    assert_eq!(
        ask(kw, &s.token, s.a.id, "docs:read", Some("web")).await,
        Ok(())
    );

    // The grant widens to every project.
    let grants = kw.group_grants(&s.a.admin, s.ci.id).await.unwrap();
    kw.delete_group_grant(&s.a.admin, grants[0].id, t0())
        .await
        .unwrap();
    assert_eq!(
        ask(kw, &s.token, s.a.id, "jobs:run", Some("web")).await,
        Err(Why::NotHeld)
    );
    grant(&w, &s.a, &s.ci, &s.runner, None).await;
    assert_eq!(
        ask(kw, &s.token, s.a.id, "jobs:run", Some("api")).await,
        Ok(())
    );

    // A new project is covered by a grant on all projects at once.
    assert_eq!(
        ask(kw, &s.token, s.a.id, "jobs:run", Some("docs-site")).await,
        Err(Why::UnknownProject)
    );
    project(&w, &s.a, "docs-site").await;
    assert_eq!(
        ask(kw, &s.token, s.a.id, "jobs:run", Some("docs-site")).await,
        Ok(())
    );

    // Out of the group, then the group gone.
    kw.remove_group_members(
        &s.a.admin,
        s.ci.id,
        &[GroupMember::ServiceAccount(s.sa)],
        t0(),
    )
    .await
    .unwrap();
    assert_eq!(
        ask(kw, &s.token, s.a.id, "jobs:run", Some("api")).await,
        Err(Why::NotHeld)
    );
    kw.add_group_members(
        &s.a.admin,
        s.ci.id,
        &[GroupMember::ServiceAccount(s.sa)],
        t0(),
    )
    .await
    .unwrap();
    assert_eq!(
        ask(kw, &s.token, s.a.id, "jobs:run", Some("api")).await,
        Ok(())
    );
    kw.delete_group(&s.a.admin, s.ci.id, t0()).await.unwrap();
    assert_eq!(
        ask(kw, &s.token, s.a.id, "jobs:run", Some("api")).await,
        Err(Why::NotHeld)
    );

    // Through all of that, the bystander's key was never read again: each
    // change marked only the group, the set or the member it touched. (Eight
    // changes that each re-read the robot's key, at most.)
    let before_bystander = kw.verification_reads();
    kw.authenticate(&bystander, t0()).await.unwrap();
    assert_eq!(
        kw.verification_reads(),
        before_bystander,
        "the bystander's key was read again"
    );
    assert!(
        kw.verification_reads() - reads <= 8,
        "{}",
        kw.verification_reads() - reads
    );
}

#[tokio::test]
async fn a_change_through_another_process_reaches_this_ones_next_request() {
    let w = World::new().await;
    let s = scene(&w).await;
    let other = World::open(&w.url, Keyring::new(pepper(1), vec![])).await;
    assert_eq!(
        ask(&w.kw, &s.token, s.a.id, "jobs:run", Some("web")).await,
        Ok(())
    );
    assert_eq!(
        ask(&other, &s.token, s.a.id, "jobs:run", Some("web")).await,
        Ok(())
    );
    // The set changes through the other process.
    other
        .update_permission_set(
            &s.a.admin,
            set_id(&s.runner),
            UpdatePermissionSet {
                permissions: Some(vec![perm("docs:read")]),
                ..Default::default()
            },
            t0(),
        )
        .await
        .unwrap();
    assert_eq!(
        ask(&w.kw, &s.token, s.a.id, "jobs:run", Some("web")).await,
        Err(Why::NotHeld)
    );
    assert_eq!(
        ask(&w.kw, &s.token, s.a.id, "docs:read", Some("web")).await,
        Ok(())
    );
    // A project renamed through the other process is found by its new name here.
    other
        .update_project(
            &s.a.admin,
            s.web.id,
            domain::UpdateProject {
                name: Some(ProjectName::parse("www").unwrap()),
                description: None,
            },
            t0(),
        )
        .await
        .unwrap();
    assert_eq!(
        ask(&w.kw, &s.token, s.a.id, "docs:read", Some("web")).await,
        Err(Why::UnknownProject)
    );
    assert_eq!(
        ask(&w.kw, &s.token, s.a.id, "docs:read", Some("www")).await,
        Ok(())
    );
}

#[tokio::test]
async fn no_account_can_name_see_or_grant_anothers_projects_sets_or_groups() {
    let w = World::new().await;
    let s = scene(&w).await;
    let b = w.tenant("b", "bob").await;
    let b_web = project(&w, &b, "web").await;
    define(&w, &b, &["jobs:run"]).await;
    let b_set = set(&w, &b, "runner", &["jobs:run"]).await;
    let b_group = group(&w, &b, "ci").await;
    let kw = &w.kw;
    let not_found = |r: Result<_, DomainError>, kind: &str| match r {
        Err(DomainError::NotFound(k)) => assert_eq!(k, kind),
        Err(e) => panic!("{kind}: {e}"),
        Ok(_) => panic!("{kind}: allowed"),
    };
    // B's Admin reaches nothing of A's.
    not_found(kw.project(&b.admin, s.web.id).await.map(|_| ()), "Project");
    not_found(kw.group(&b.admin, s.ci.id).await.map(|_| ()), "Group");
    not_found(
        kw.permission_set(&b.admin, set_id(&s.runner))
            .await
            .map(|_| ()),
        "PermissionSet",
    );
    not_found(
        kw.projects(&b.admin, s.a.id, Default::default())
            .await
            .map(|_| ()),
        "Account",
    );
    not_found(
        kw.group_members(&b.admin, s.ci.id, 100, None)
            .await
            .map(|_| ()),
        "Group",
    );
    not_found(
        kw.delete_project(&b.admin, s.web.id, t0())
            .await
            .map(|_| ()),
        "Project",
    );
    not_found(
        kw.delete_group(&b.admin, s.ci.id, t0()).await.map(|_| ()),
        "Group",
    );
    // Nor can B grant A's set, list A's project, or take in A's members.
    not_found(
        kw.create_group_grant(
            &b.admin,
            CreateGrant {
                group_id: b_group.id,
                permission_set_id: set_id(&s.runner),
                projects: None,
            },
            t0(),
        )
        .await
        .map(|_| ()),
        "PermissionSet",
    );
    not_found(
        kw.create_group_grant(
            &b.admin,
            CreateGrant {
                group_id: b_group.id,
                permission_set_id: set_id(&b_set),
                projects: Some(vec![s.web.id]),
            },
            t0(),
        )
        .await
        .map(|_| ()),
        "Project",
    );
    not_found(
        kw.add_group_members(
            &b.admin,
            b_group.id,
            &[GroupMember::ServiceAccount(s.sa)],
            t0(),
        )
        .await
        .map(|_| ()),
        "ServiceAccount",
    );
    let alice = match &s.a.admin {
        Principal::User(u) => u.user_id,
        Principal::ServiceAccount(_) => unreachable!(),
    };
    not_found(
        kw.add_group_members(&b.admin, b_group.id, &[GroupMember::User(alice)], t0())
            .await
            .map(|_| ()),
        "User",
    );
    // Nor A's Admin B's, from the other side: a grant of A's group on B's project.
    not_found(
        kw.create_group_grant(
            &s.a.admin,
            CreateGrant {
                group_id: s.ci.id,
                permission_set_id: set_id(&s.runner),
                projects: Some(vec![b_web.id]),
            },
            t0(),
        )
        .await
        .map(|_| ()),
        "Project",
    );
    // A gateway naming B's project by id, for A's key, names nothing; B's
    // project of the same name is not A's either.
    let b_web_id = domain::object_id::encode("Project", b_web.id.0);
    assert_eq!(
        ask(kw, &s.token, s.a.id, "jobs:run", Some(&b_web_id)).await,
        Err(Why::UnknownProject)
    );
    let b_key_sa = w.service_account(&b, "b-robot", Role::Viewer).await;
    kw.add_group_members(
        &b.admin,
        b_group.id,
        &[GroupMember::ServiceAccount(b_key_sa.id)],
        t0(),
    )
    .await
    .unwrap();
    grant(&w, &b, &b_group, &b_set, Some(&[&b_web])).await;
    let (_, b_token) = w.key(&b, b_key_sa.id).await;
    assert_eq!(
        ask(kw, &b_token, b.id, "jobs:run", Some("web")).await,
        Ok(())
    );
    assert_eq!(
        ask(kw, &b_token, s.a.id, "jobs:run", Some("web")).await,
        Err(Why::NotInAccount)
    );
    // A's key still holds exactly what it did.
    assert_eq!(
        ask(kw, &s.token, s.a.id, "jobs:run", Some("web")).await,
        Ok(())
    );
    assert_eq!(
        ask(kw, &s.token, s.a.id, "jobs:run", Some("api")).await,
        Err(Why::NotHeld)
    );
    // B's lists hold only B's.
    let names: Vec<String> = kw
        .groups(&b.admin, b.id, Default::default())
        .await
        .unwrap()
        .into_iter()
        .map(|g| g.name)
        .collect();
    assert_eq!(names, ["ci"]);
    let sets = kw.permission_sets(&b.admin, b.id).await.unwrap();
    assert_eq!(sets.len(), 4, "three built-in sets and B's own");
}

#[tokio::test]
async fn only_human_admins_manage_and_read_access() {
    let w = World::new().await;
    let s = scene(&w).await;
    let (editor, _) = w.member(&s.a, "eddie", Role::Editor).await;
    let robot = w.kw.authenticate(&s.token, t0()).await.unwrap();
    for caller in [&editor, &robot] {
        let refused = |r: Result<(), DomainError>| {
            assert!(matches!(r, Err(DomainError::Unauthorized(_))), "{r:?}");
        };
        refused(
            w.kw.create_project(
                caller,
                CreateProject {
                    account_id: s.a.id,
                    name: ProjectName::parse("x").unwrap(),
                    description: None,
                },
                t0(),
            )
            .await
            .map(|_| ()),
        );
        refused(w.kw.delete_group(caller, s.ci.id, t0()).await.map(|_| ()));
        refused(
            w.kw.groups(caller, s.a.id, Default::default())
                .await
                .map(|_| ()),
        );
        refused(
            w.kw.group_members(caller, s.ci.id, 100, None)
                .await
                .map(|_| ()),
        );
        refused(
            w.kw.check_permission(
                caller,
                s.a.id,
                &perm("jobs:run"),
                None,
                Some(GroupMember::ServiceAccount(s.sa)),
            )
            .await
            .map(|_| ()),
        );
    }
    // Anyone of the account may ask about itself.
    let own =
        w.kw.check_permission(
            &robot,
            s.a.id,
            &perm("jobs:run"),
            Some(&ProjectRef::Name("web".to_owned())),
            None,
        )
        .await
        .unwrap();
    assert!(own.allowed);
    // And a service account sees its own groups.
    let groups =
        w.kw.groups_of(&robot, s.a.id, GroupMember::ServiceAccount(s.sa))
            .await
            .unwrap();
    assert_eq!(groups.len(), 1);
}

#[tokio::test]
async fn what_is_in_use_cannot_be_deleted_and_the_refusal_names_the_users() {
    let w = World::new().await;
    let s = scene(&w).await;
    let kw = &w.kw;
    let conflict = |r: Result<(), DomainError>, says: &[&str]| match r {
        Err(DomainError::Conflict(message)) => {
            for part in says {
                assert!(message.contains(part), "{message}");
            }
        }
        other => panic!("{other:?}"),
    };
    conflict(
        kw.delete_permission_set(&s.a.admin, set_id(&s.runner), t0())
            .await
            .map(|_| ()),
        &["\"runner\"", "\"ci\""],
    );
    conflict(
        kw.delete_project(&s.a.admin, s.web.id, t0())
            .await
            .map(|_| ()),
        &["\"web\"", "\"ci\""],
    );
    let jobs = kw
        .permissions(&s.a.admin, s.a.id)
        .await
        .unwrap()
        .into_iter()
        .find(|p| p.name == "jobs:run")
        .unwrap();
    conflict(
        kw.delete_permission(&s.a.admin, jobs.id, t0())
            .await
            .map(|_| ()),
        &["jobs:run", "\"runner\""],
    );
    // A project no grant lists goes; after the grant goes, so does the set.
    kw.delete_project(&s.a.admin, s.api.id, t0()).await.unwrap();
    let grants = kw.group_grants(&s.a.admin, s.ci.id).await.unwrap();
    kw.delete_group_grant(&s.a.admin, grants[0].id, t0())
        .await
        .unwrap();
    kw.delete_permission_set(&s.a.admin, set_id(&s.runner), t0())
        .await
        .unwrap();
    kw.delete_permission(&s.a.admin, jobs.id, t0())
        .await
        .unwrap();
    kw.delete_project(&s.a.admin, s.web.id, t0()).await.unwrap();
    // Names stay unique in an account.
    let again = kw
        .create_group(
            &s.a.admin,
            CreateGroup {
                account_id: s.a.id,
                name: GroupName::parse("ci").unwrap(),
                description: None,
            },
            t0(),
        )
        .await;
    assert!(
        matches!(again, Err(DomainError::Conflict(ref m)) if m.contains("\"ci\"")),
        "{again:?}"
    );
}

#[tokio::test]
async fn sets_hold_only_what_the_account_defines_and_never_keywardens_own() {
    let w = World::new().await;
    let s = scene(&w).await;
    let invalid = |r: Result<PermissionSet, DomainError>, says: &str| match r {
        Err(DomainError::Invalid(message)) => assert!(message.contains(says), "{message}"),
        other => panic!("{other:?}"),
    };
    let make = |permissions: Vec<&str>| CreatePermissionSet {
        account_id: s.a.id,
        name: PermissionSetName::parse("x").unwrap(),
        description: None,
        permissions: permissions.into_iter().map(perm).collect(),
    };
    invalid(
        w.kw.create_permission_set(&s.a.admin, make(vec!["jobs:run", "jobs:cancel"]), t0())
            .await,
        "\"jobs:cancel\"",
    );
    invalid(
        w.kw.create_permission_set(&s.a.admin, make(vec!["keys:manage"]), t0())
            .await,
        "keywarden's own",
    );
    let reserved =
        w.kw.create_permission(
            &s.a.admin,
            CreatePermission {
                account_id: s.a.id,
                name: perm("groups:delete"),
                description: None,
            },
            t0(),
        )
        .await;
    assert!(
        matches!(reserved, Err(DomainError::Invalid(_))),
        "{reserved:?}"
    );
    // Limits that one request can reach.
    let many: Vec<String> = (0..101).map(|i| format!("jobs:p{i}")).collect();
    let over =
        w.kw.create_permission_set(
            &s.a.admin,
            make(many.iter().map(String::as_str).collect()),
            t0(),
        )
        .await;
    assert!(
        matches!(over, Err(DomainError::LimitExceeded(_))),
        "{over:?}"
    );
    let listed: Vec<ProjectId> = (0i64..101).map(ProjectId).collect();
    let over =
        w.kw.create_group_grant(
            &s.a.admin,
            CreateGrant {
                group_id: s.ci.id,
                permission_set_id: set_id(&s.runner),
                projects: Some(listed),
            },
            t0(),
        )
        .await;
    assert!(
        matches!(over, Err(DomainError::LimitExceeded(_))),
        "{over:?}"
    );
    // The built-in sets lead the list and mirror the roles.
    let sets = w.kw.permission_sets(&s.a.admin, s.a.id).await.unwrap();
    let kinds: Vec<SetKind> = sets.iter().take(3).map(|s| s.kind).collect();
    assert_eq!(
        kinds,
        [
            SetKind::BuiltIn(Role::Admin),
            SetKind::BuiltIn(Role::Editor),
            SetKind::BuiltIn(Role::Viewer)
        ]
    );
    assert_eq!(sets[2].permissions, ["account:read"]);
    assert!(sets[0].permissions.contains(&"groups:manage".to_owned()));
}

#[tokio::test]
async fn an_account_holds_at_most_its_limit_of_groups() {
    let w = World::new().await;
    let a = w.tenant("a", "alice").await;
    for i in 0..domain::limits::GROUPS.max {
        group(&w, &a, &format!("g{i}")).await;
    }
    let over =
        w.kw.create_group(
            &a.admin,
            CreateGroup {
                account_id: a.id,
                name: GroupName::parse("one-more").unwrap(),
                description: None,
            },
            t0(),
        )
        .await;
    assert!(
        matches!(over, Err(DomainError::LimitExceeded(m)) if m == domain::limits::GROUPS.message)
    );
    // Another account's limit is its own.
    let b = w.tenant("b", "bob").await;
    group(&w, &b, "g0").await;
}

#[tokio::test]
async fn leaving_the_account_leaves_its_groups_and_changes_are_audited_with_before_and_after() {
    let w = World::new().await;
    let s = scene(&w).await;
    let (eddie, token) = w.member(&s.a, "eddie", Role::Editor).await;
    let eddie_id = match &eddie {
        Principal::User(u) => u.user_id,
        Principal::ServiceAccount(_) => unreachable!(),
    };
    w.kw.add_group_members(&s.a.admin, s.ci.id, &[GroupMember::User(eddie_id)], t0())
        .await
        .unwrap();
    assert_eq!(
        ask(&w.kw, &token, s.a.id, "jobs:run", Some("web")).await,
        Ok(())
    );
    w.kw.remove_member(&s.a.admin, s.a.id, eddie_id, t0())
        .await
        .unwrap();
    let members =
        w.kw.group_members(&s.a.admin, s.ci.id, 100, None)
            .await
            .unwrap();
    assert_eq!(members, [GroupMember::ServiceAccount(s.sa)]);

    w.kw.update_permission_set(
        &s.a.admin,
        set_id(&s.runner),
        UpdatePermissionSet {
            permissions: Some(vec![perm("docs:read")]),
            ..Default::default()
        },
        t0(),
    )
    .await
    .unwrap();
    let log =
        w.kw.audit_events(
            &s.a.admin,
            s.a.id,
            &domain::AuditQuery {
                limit: 100,
                from_end: true,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let last = log.events.last().unwrap();
    assert_eq!(last.action, "permission_set.update");
    assert_eq!(
        last.before.as_ref().unwrap()["permissions"],
        serde_json::json!(["jobs:run"])
    );
    assert_eq!(
        last.after.as_ref().unwrap()["permissions"],
        serde_json::json!(["docs:read"])
    );
    let actions: Vec<&str> = log.events.iter().map(|e| e.action.as_str()).collect();
    for action in [
        "project.create",
        "permission.create",
        "permission_set.create",
        "group.create",
        "group_grant.create",
        "group_member.add",
    ] {
        assert!(actions.contains(&action), "{action} in {actions:?}");
    }
    let added = log
        .events
        .iter()
        .find(|e| e.action == "group_member.add")
        .unwrap();
    assert_eq!(added.before, None);
    assert_eq!(added.after.as_ref().unwrap()["name"], "deployer");
    // Each member changed is one event, and nothing else is recorded; adding
    // one already there changes nothing and records nothing.
    assert!(!actions.contains(&"group.update"), "{actions:?}");
    let before = w.audit_count().await;
    w.kw.add_group_members(
        &s.a.admin,
        s.ci.id,
        &[GroupMember::ServiceAccount(s.sa)],
        t0(),
    )
    .await
    .unwrap();
    assert_eq!(w.audit_count().await, before);
    let other = w.service_account(&s.a, "other", Role::Viewer).await;
    let before = w.audit_count().await;
    w.kw.add_group_members(
        &s.a.admin,
        s.ci.id,
        &[
            GroupMember::ServiceAccount(s.sa),
            GroupMember::ServiceAccount(other.id),
        ],
        t0(),
    )
    .await
    .unwrap();
    assert_eq!(w.audit_count().await, before + 1);
}

#[tokio::test]
async fn groups_list_their_members_and_grants_and_the_log_shows_what_each_change_did() {
    let w = World::new().await;
    let s = scene(&w).await;
    let kw = &w.kw;
    let (eddie, _) = w.member(&s.a, "eddie", Role::Editor).await;
    let (vera, _) = w.member(&s.a, "vera", Role::Viewer).await;
    let eddie_id = match &eddie {
        Principal::User(u) => u.user_id,
        Principal::ServiceAccount(_) => unreachable!(),
    };
    // The same member twice in one call is added once.
    kw.add_group_members(
        &s.a.admin,
        s.ci.id,
        &[GroupMember::User(eddie_id), GroupMember::User(eddie_id)],
        t0(),
    )
    .await
    .unwrap();
    assert_eq!(
        kw.group_members(&s.a.admin, s.ci.id, 100, None)
            .await
            .unwrap(),
        [
            GroupMember::ServiceAccount(s.sa),
            GroupMember::User(eddie_id)
        ]
    );
    assert_eq!(
        kw.group_members(
            &s.a.admin,
            s.ci.id,
            100,
            Some(GroupMember::ServiceAccount(s.sa))
        )
        .await
        .unwrap(),
        [GroupMember::User(eddie_id)]
    );
    assert_eq!(
        kw.group_members(&s.a.admin, s.ci.id, 1, None)
            .await
            .unwrap()
            .len(),
        1
    );
    // A member sees its own groups; another member may not look.
    assert_eq!(
        kw.groups_of(&eddie, s.a.id, GroupMember::User(eddie_id))
            .await
            .unwrap()
            .len(),
        1
    );
    assert!(matches!(
        kw.groups_of(&vera, s.a.id, GroupMember::User(eddie_id))
            .await,
        Err(DomainError::Unauthorized(_))
    ));
    // A listed grant lists its projects; one on all projects lists none.
    let all = set(&w, &s.a, "all-readers", &["docs:read"]).await;
    grant(&w, &s.a, &s.ci, &all, None).await;
    let grants = kw.group_grants(&s.a.admin, s.ci.id).await.unwrap();
    assert_eq!(grants[0].projects, Some(vec![s.web.id]));
    assert_eq!(grants[1].projects, None);
    kw.delete_group_grant(&s.a.admin, grants[0].id, t0())
        .await
        .unwrap();
    kw.delete_group_grant(&s.a.admin, grants[1].id, t0())
        .await
        .unwrap();
    // A group's description is kept and shown.
    let described = kw
        .create_group(
            &s.a.admin,
            CreateGroup {
                account_id: s.a.id,
                name: GroupName::parse("ops").unwrap(),
                description: Some(domain::Description::parse("on call").unwrap()),
            },
            t0(),
        )
        .await
        .unwrap();
    assert_eq!(described.description.as_deref(), Some("on call"));
    assert_eq!(
        kw.group(&s.a.admin, described.id)
            .await
            .unwrap()
            .description
            .as_deref(),
        Some("on call")
    );
    let log = kw
        .audit_events(
            &s.a.admin,
            s.a.id,
            &domain::AuditQuery {
                limit: 100,
                from_end: true,
                ..Default::default()
            },
        )
        .await
        .unwrap()
        .events;
    let find = |action: &str| {
        log.iter()
            .filter(|e| e.action == action)
            .collect::<Vec<_>>()
    };
    let created = find("group.create");
    assert_eq!(created[0].after.as_ref().unwrap()["name"], "ci");
    assert_eq!(created[1].after.as_ref().unwrap()["description"], "on call");
    let granted = find("group_grant.create");
    assert_eq!(
        granted[0].after.as_ref().unwrap()["permissionSet"],
        "runner"
    );
    assert_eq!(
        granted[0].after.as_ref().unwrap()["projects"],
        serde_json::json!(["web"])
    );
    assert_eq!(granted[1].after.as_ref().unwrap()["projects"], "all");
    let revoked = find("group_grant.delete");
    assert_eq!(
        revoked[0].before.as_ref().unwrap()["projects"],
        serde_json::json!(["web"])
    );
    assert_eq!(revoked[0].after, None);
    assert_eq!(revoked[1].before.as_ref().unwrap()["projects"], "all");
    assert_eq!(
        find("group_member.add").len(),
        2,
        "the robot and eddie, once"
    );
}

#[tokio::test]
async fn a_group_holds_at_most_its_limit_of_members() {
    let w = World::new().await;
    let a = w.tenant("a", "alice").await;
    let crowd = group(&w, &a, "crowd").await;
    let max = domain::limits::GROUP_MEMBERS.max;
    let mut members = Vec::new();
    for i in 0..=max {
        members.push(GroupMember::ServiceAccount(
            w.service_account(&a, &format!("sa{i}"), Role::Viewer)
                .await
                .id,
        ));
    }
    let count = |w: &World| {
        let kw = w.kw.clone();
        let admin = a.admin.clone();
        async move {
            let mut all = Vec::new();
            loop {
                let page = kw
                    .group_members(&admin, crowd.id, 100, all.last().copied())
                    .await
                    .unwrap();
                if page.is_empty() {
                    break all.len();
                }
                all.extend(page);
            }
        }
    };
    // 950 in changes of at most 100.
    for chunk in members[..950].chunks(domain::MEMBERS_PER_CHANGE) {
        w.kw.add_group_members(&a.admin, crowd.id, chunk, t0())
            .await
            .unwrap();
    }
    // 51 more would pass the limit: refused, and nothing of it stays.
    let over =
        w.kw.add_group_members(&a.admin, crowd.id, &members[950..1001], t0())
            .await;
    assert!(
        matches!(over, Err(DomainError::LimitExceeded(m)) if m == domain::limits::GROUP_MEMBERS.message),
        "{over:?}"
    );
    assert_eq!(count(&w).await, 950);
    // The limit itself is allowed; one past it is not.
    w.kw.add_group_members(&a.admin, crowd.id, &members[950..max as usize], t0())
        .await
        .unwrap();
    assert_eq!(count(&w).await, max as usize);
    let over =
        w.kw.add_group_members(&a.admin, crowd.id, &members[max as usize..], t0())
            .await;
    assert!(
        matches!(over, Err(DomainError::LimitExceeded(_))),
        "{over:?}"
    );
}

#[tokio::test]
async fn a_member_is_in_at_most_its_limit_of_an_accounts_groups() {
    let w = World::new().await;
    let a = w.tenant("a", "alice").await;
    let b = w.tenant("b", "bob").await;
    let sa = w.service_account(&a, "busy", Role::Viewer).await;
    let max = domain::limits::GROUPS_PER_MEMBER.max;
    for i in 0..max {
        let g = group(&w, &a, &format!("g{i}")).await;
        w.kw.add_group_members(&a.admin, g.id, &[GroupMember::ServiceAccount(sa.id)], t0())
            .await
            .unwrap();
    }
    let one_more = group(&w, &a, "one-more").await;
    let over =
        w.kw.add_group_members(
            &a.admin,
            one_more.id,
            &[GroupMember::ServiceAccount(sa.id)],
            t0(),
        )
        .await;
    assert!(
        matches!(over, Err(DomainError::LimitExceeded(m)) if m == domain::limits::GROUPS_PER_MEMBER.message),
        "{over:?}"
    );
    // Another account's groups count for its own members only.
    let b_sa = w.service_account(&b, "idle", Role::Viewer).await;
    let b_group = group(&w, &b, "g0").await;
    w.kw.add_group_members(
        &b.admin,
        b_group.id,
        &[GroupMember::ServiceAccount(b_sa.id)],
        t0(),
    )
    .await
    .unwrap();
}

#[tokio::test]
async fn a_group_holds_at_most_its_limit_of_grants() {
    let w = World::new().await;
    let s = scene(&w).await;
    // The scene's group holds one grant already.
    for _ in 1..domain::limits::GROUP_GRANTS.max {
        grant(&w, &s.a, &s.ci, &s.runner, None).await;
    }
    let over =
        w.kw.create_group_grant(
            &s.a.admin,
            CreateGrant {
                group_id: s.ci.id,
                permission_set_id: set_id(&s.runner),
                projects: None,
            },
            t0(),
        )
        .await;
    assert!(
        matches!(over, Err(DomainError::LimitExceeded(m)) if m == domain::limits::GROUP_GRANTS.message),
        "{over:?}"
    );
    // Another group of the account still takes grants.
    let other = group(&w, &s.a, "other").await;
    grant(&w, &s.a, &other, &s.runner, None).await;
}

/// The name of what gives a permission: a role's code or a group's name.
fn giver(because: &Because) -> String {
    match because {
        Because::Grant { group, .. } => group.name.clone(),
        Because::Role(role) => role.code().to_owned(),
    }
}

#[tokio::test]
async fn held_permissions_list_everything_held_on_a_project_and_what_gives_each() {
    let w = World::new().await;
    let s = scene(&w).await;
    let kw = &w.kw;
    let about = Some(GroupMember::ServiceAccount(s.sa));
    let web = ProjectRef::Name("web".to_owned());
    let api = ProjectRef::Name("api".to_owned());
    // A second group gives docs:read on all projects.
    define(&w, &s.a, &["docs:write"]).await;
    let docs = set(&w, &s.a, "docs", &["docs:read", "docs:write"]).await;
    let readers = group(&w, &s.a, "readers").await;
    grant(&w, &s.a, &readers, &docs, None).await;
    kw.add_group_members(
        &s.a.admin,
        readers.id,
        &[GroupMember::ServiceAccount(s.sa)],
        t0(),
    )
    .await
    .unwrap();

    let held = kw
        .held_permissions(&s.a.admin, s.a.id, Some(&web), about)
        .await
        .unwrap();
    assert!(!held.every);
    assert_eq!(held.role, Role::Viewer);
    assert_eq!(held.project.as_ref().map(|p| p.id), Some(s.web.id));
    let listed: Vec<(String, Vec<String>)> = held
        .permissions
        .iter()
        .map(|(name, because)| (name.clone(), because.iter().map(giver).collect()))
        .collect();
    let expect = |pairs: &[(&str, &[&str])]| -> Vec<(String, Vec<String>)> {
        pairs
            .iter()
            .map(|(n, g)| ((*n).to_owned(), g.iter().map(|s| (*s).to_owned()).collect()))
            .collect()
    };
    assert_eq!(
        listed,
        expect(&[
            ("account:read", &["Viewer"]),
            ("docs:read", &["readers"]),
            ("docs:write", &["readers"]),
            ("jobs:run", &["ci"]),
        ])
    );
    // The set's name and the projects of the grant come with it.
    let (_, jobs) = &held.permissions[3];
    match &jobs[0] {
        Because::Grant {
            permission_set_name,
            projects,
            ..
        } => {
            assert_eq!(permission_set_name, "runner");
            let names: Vec<_> = projects
                .as_ref()
                .unwrap()
                .iter()
                .map(|p| p.name.clone())
                .collect();
            assert_eq!(names, ["web"]);
        }
        other => panic!("{other:?}"),
    }

    // On api the grant on web gives nothing; on the account as a whole only
    // the role and grants on all projects count.
    for asked in [Some(&api), None] {
        let held = kw
            .held_permissions(&s.a.admin, s.a.id, asked, about)
            .await
            .unwrap();
        let names: Vec<&str> = held.permissions.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(
            names,
            ["account:read", "docs:read", "docs:write"],
            "{asked:?}"
        );
    }

    // The key asks about itself, under its Viewer ceiling: writes are dropped.
    let capped = kw
        .create_key(
            &s.a.admin,
            domain::CreateKey {
                role_ceiling: Some(Role::Viewer),
                ..create_key(s.sa)
            },
            t0(),
        )
        .await
        .unwrap();
    let capped = w.remember(&capped.secret);
    let me = kw.authenticate(&capped, t0()).await.unwrap();
    let own = kw
        .held_permissions(&me, s.a.id, Some(&web), None)
        .await
        .unwrap();
    let names: Vec<&str> = own.permissions.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["account:read", "docs:read"]);

    // An Admin holds everything; said once, not listed.
    let admin = kw
        .held_permissions(&s.a.admin, s.a.id, Some(&web), None)
        .await
        .unwrap();
    assert!(admin.every);
    assert!(admin.permissions.is_empty());

    // Another account's Admin can ask nothing about A's principals, nor name
    // A's projects; A's non-Admins cannot ask about others.
    let b = w.tenant("b", "bob").await;
    assert!(matches!(
        kw.held_permissions(&b.admin, s.a.id, None, about).await,
        Err(DomainError::NotFound(_))
    ));
    assert!(matches!(
        kw.held_permissions(&b.admin, b.id, Some(&web), None).await,
        Err(DomainError::NotFound(_))
    ));
    assert!(matches!(
        kw.held_permissions(&b.admin, b.id, None, about).await,
        Err(DomainError::NotFound(_))
    ));
    assert!(matches!(
        kw.held_permissions(&me, s.a.id, None, about).await,
        Err(DomainError::Unauthorized(_))
    ));
}

#[tokio::test]
async fn members_named_many_times_join_once_and_a_change_names_at_most_its_limit() {
    let w = World::new().await;
    let a = w.tenant("acme", "alice").await;
    let b = w.tenant("other", "mallory").await;
    let ci = group(&w, &a, "ci").await;
    let robots = [
        w.service_account(&a, "r1", Role::Viewer).await,
        w.service_account(&a, "r2", Role::Viewer).await,
    ];
    let one = GroupMember::ServiceAccount(robots[0].id);
    let two = GroupMember::ServiceAccount(robots[1].id);
    let before = w.audit_log(&a).await.len();
    // One id repeated, then another: two members, two events, in order.
    let mut named = vec![one; 60];
    named.push(two);
    named.extend([one; 39]);
    assert_eq!(named.len(), domain::MEMBERS_PER_CHANGE);
    w.kw.add_group_members(&a.admin, ci.id, &named, t0())
        .await
        .unwrap();
    let members =
        w.kw.group_members(&a.admin, ci.id, 100, None)
            .await
            .unwrap();
    assert_eq!(members, vec![one, two]);
    let log = w.audit_log(&a).await;
    assert_eq!(log.len(), before + 2, "{log:#?}");
    // Again: nothing new, nothing recorded.
    w.kw.add_group_members(&a.admin, ci.id, &[two, one, two], t0())
        .await
        .unwrap();
    assert_eq!(w.audit_log(&a).await.len(), before + 2);

    // One past the limit is refused before anything is read or written.
    let over = vec![two; domain::MEMBERS_PER_CHANGE + 1];
    for refused in [
        w.kw.add_group_members(&a.admin, ci.id, &over, t0()).await,
        w.kw.remove_group_members(&a.admin, ci.id, &over, t0())
            .await,
    ] {
        match refused {
            Err(DomainError::Invalid(message)) => {
                assert!(message.contains("at most 100"), "{message}")
            }
            other => panic!("{other:?}"),
        }
    }

    // Another account's service account among ours: nothing is added.
    let theirs = w.service_account(&b, "theirs", Role::Viewer).await;
    let third = w.service_account(&a, "r3", Role::Viewer).await;
    let mixed = [
        GroupMember::ServiceAccount(third.id),
        GroupMember::ServiceAccount(theirs.id),
    ];
    match w.kw.add_group_members(&a.admin, ci.id, &mixed, t0()).await {
        Err(DomainError::NotFound(kind)) => assert_eq!(kind, "ServiceAccount"),
        other => panic!("{other:?}"),
    }
    let members =
        w.kw.group_members(&a.admin, ci.id, 100, None)
            .await
            .unwrap();
    assert_eq!(members, vec![one, two]);

    // Removal names each once too, and all must be in the group.
    match w
        .kw
        .remove_group_members(
            &a.admin,
            ci.id,
            &[one, GroupMember::ServiceAccount(third.id)],
            t0(),
        )
        .await
    {
        Err(DomainError::NotFound(kind)) => assert_eq!(kind, "GroupMember"),
        other => panic!("{other:?}"),
    }
    assert_eq!(
        w.kw.group_members(&a.admin, ci.id, 100, None)
            .await
            .unwrap(),
        vec![one, two]
    );
    w.kw.remove_group_members(&a.admin, ci.id, &[one, one, two], t0())
        .await
        .unwrap();
    assert!(
        w.kw.group_members(&a.admin, ci.id, 100, None)
            .await
            .unwrap()
            .is_empty()
    );
    let removals = w
        .audit_log(&a)
        .await
        .iter()
        .filter(|e| e.action == "group_member.remove")
        .count();
    assert_eq!(removals, 2);
}

/// What a principal's grants are, as `(set, permissions, projects)`; `None`
/// for every project.
fn grants_of(principal: &Principal) -> Vec<(i64, Vec<String>, Option<Vec<ProjectId>>)> {
    let grants = match principal {
        Principal::ServiceAccount(s) => &s.grants,
        Principal::User(u) => &u.grants,
    };
    grants
        .iter()
        .map(|g| {
            let projects = match &g.coverage {
                domain::Coverage::All => None,
                domain::Coverage::Listed(listed) => Some(listed.to_vec()),
            };
            let permissions = g.permissions.iter().map(|p| p.to_string()).collect();
            (g.permission_set_id.0, permissions, projects)
        })
        .collect()
}

#[tokio::test]
async fn a_cold_verification_is_one_statement_and_on_sqlite_a_second_for_a_principal_in_a_group() {
    let w = World::new().await;
    // On PostgreSQL the grants come with the credential; on SQLite a second
    // statement reads them.
    let grouped = if w.is_postgres() { 1 } else { 2 };
    let s = scene(&w).await;
    // A process that remembers nothing: every verification reads.
    let cold = World::open_with_capacity(&w.url, Keyring::new(pepper(1), vec![]), 0).await;
    let statements = async |token: &str| {
        let before = cold.verification_statements();
        let principal = cold.authenticate(token, t0()).await.unwrap();
        (cold.verification_statements() - before, principal)
    };
    // A key whose service account is in no group: one statement.
    let loner = w.service_account(&s.a, "loner", Role::Editor).await;
    let (loner_issued, loner_key) = w.key(&s.a, loner.id).await;
    let (n, principal) = statements(&loner_key).await;
    assert_eq!((n, grants_of(&principal)), (1, vec![]));
    // A user's token, the user in no group: one statement, every membership.
    let (bob_principal, bob_token) = w.member(&s.a, "bob", Role::Editor).await;
    let (n, principal) = statements(&bob_token).await;
    assert_eq!(n, 1);
    let Principal::User(bob) = &principal else {
        panic!("a user's token");
    };
    assert_eq!(bob.memberships.len(), 1);
    assert!(grants_of(&principal).is_empty());

    // In groups: every grant read exactly, on SQLite by a second statement. Two
    // grants of one set, one on two projects, and a set of two permissions
    // on every project.
    let both = set(&w, &s.a, "both", &["jobs:run", "docs:read"]).await;
    grant(&w, &s.a, &s.ci, &s.runner, Some(&[&s.api, &s.web])).await;
    let docs = group(&w, &s.a, "docs").await;
    grant(&w, &s.a, &docs, &both, None).await;
    for member in [
        GroupMember::ServiceAccount(s.sa),
        GroupMember::User(bob.user_id),
    ] {
        w.kw.add_group_members(&s.a.admin, docs.id, &[member], t0())
            .await
            .unwrap();
    }
    let mut web_api = vec![s.web.id, s.api.id];
    web_api.sort_unstable();
    let runner = set_id(&s.runner).0;
    let both = set_id(&both).0;
    let (n, principal) = statements(&s.token).await;
    assert_eq!(n, grouped);
    assert_eq!(
        grants_of(&principal),
        vec![
            (runner, vec!["jobs:run".to_owned()], Some(vec![s.web.id])),
            (runner, vec!["jobs:run".to_owned()], Some(web_api)),
            (
                both,
                vec!["docs:read".to_owned(), "jobs:run".to_owned()],
                None
            ),
        ]
    );
    let (n, principal) = statements(&bob_token).await;
    assert_eq!(n, grouped);
    assert_eq!(
        grants_of(&principal),
        vec![(
            both,
            vec!["docs:read".to_owned(), "jobs:run".to_owned()],
            None
        )]
    );
    // A member of a second account too, in a group of its own there: each
    // membership, and each grant under the account whose group gives it.
    let b = w.tenant("b", "bea").await;
    define(&w, &b, &["docs:read"]).await;
    let readers = set(&w, &b, "readers", &["docs:read"]).await;
    let b_docs = group(&w, &b, "docs").await;
    grant(&w, &b, &b_docs, &readers, None).await;
    let invited =
        w.kw.create_invitation(
            &b.admin,
            domain::CreateInvitation {
                account_id: b.id,
                role: Role::Viewer,
                expires_at: None,
            },
            t0(),
        )
        .await
        .unwrap();
    w.kw.accept_invitation(&bob_principal, &w.remember(&invited.secret), t0())
        .await
        .unwrap();
    w.kw.add_group_members(&b.admin, b_docs.id, &[GroupMember::User(bob.user_id)], t0())
        .await
        .unwrap();
    let (n, principal) = statements(&bob_token).await;
    assert_eq!(n, grouped);
    let Principal::User(bob_in_both) = &principal else {
        panic!("a user's token");
    };
    let accounts: Vec<AccountId> = bob_in_both
        .memberships
        .iter()
        .map(|m| m.account_id)
        .collect();
    assert_eq!(accounts, vec![s.a.id, b.id]);
    assert_eq!(
        grants_of(&principal),
        vec![
            (
                both,
                vec!["docs:read".to_owned(), "jobs:run".to_owned()],
                None
            ),
            (set_id(&readers).0, vec!["docs:read".to_owned()], None),
        ]
    );
    let granted_in: Vec<AccountId> = bob_in_both.grants.iter().map(|g| g.account_id).collect();
    assert_eq!(granted_in, vec![s.a.id, b.id]);
    // A refusal reads once too.
    w.kw.revoke_key(&s.a.admin, loner_issued.key.id, t0())
        .await
        .unwrap();
    let before = cold.verification_statements();
    assert!(cold.authenticate(&loner_key, t0()).await.is_err());
    assert_eq!(cold.verification_statements() - before, 1);
}
