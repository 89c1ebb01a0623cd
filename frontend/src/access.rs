//! Which controls the signed-in member is offered, decided from the scopes of their session.
//!
//! The server enforces every rule again; these only keep the app from offering a control that would be
//! refused. They read `me.scopes`, not the role, because the scopes are what the session may actually use.

use leptos::prelude::*;
use shared::Scope;
use shared::api::{FileInfo, Me, Report};
use shared::scope::is_maker_or_admin;

/// Whether the session may write reports (members and admins).
pub fn can_write(me: &Me) -> bool {
    me.scopes.contains(&Scope::Write)
}

/// Whether the session may administer the tenant (admins).
pub fn is_admin(me: &Me) -> bool {
    me.scopes.contains(&Scope::Admin)
}

/// Whether the session may edit `report`: its author, or an admin, and only with the write scope.
pub fn can_edit_report(me: &Me, report: &Report) -> bool {
    can_write(me) && is_maker_or_admin(&report.author.id, &me.user.id, &me.scopes)
}

/// Whether the session may delete reports (admins).
pub fn can_delete_report(me: &Me) -> bool {
    is_admin(me)
}

/// Whether the session may delete `file`: its uploader, or an admin, and only with the write scope.
pub fn can_delete_file(me: &Me, file: &FileInfo) -> bool {
    can_write(me) && is_maker_or_admin(&file.uploader.id, &me.user.id, &me.scopes)
}

/// Makes the signed-in member available to every page below the caller.
pub fn provide_me(me: Me) {
    provide_context(me);
}

/// The signed-in member.
pub fn use_me() -> Me {
    expect_context::<Me>()
}

#[cfg(test)]
mod tests {
    use shared::api::{MeTenant, MeUser, MemberRef};
    use shared::{Plan, Role};

    use super::*;

    fn member(id: &str, role: Role) -> Me {
        Me {
            user: MeUser {
                id: id.into(),
                email: format!("{id}@acme.example"),
                name: id.into(),
            },
            tenant: MeTenant {
                id: "t1".into(),
                slug: "acme".into(),
                name: "Acme Corp".into(),
                plan: Plan::Pro,
            },
            role,
            scopes: role.scopes().to_vec(),
        }
    }

    fn report_by(author: &str) -> Report {
        Report {
            id: "r1".into(),
            title: "Q3".into(),
            body: String::new(),
            author: MemberRef {
                id: author.into(),
                name: author.into(),
            },
            created_at: "2025-06-01T00:00:00Z".into(),
            updated_at: "2025-06-01T00:00:00Z".into(),
        }
    }

    fn file_by(uploader: &str) -> FileInfo {
        FileInfo {
            id: "f1".into(),
            name: "q3.pdf".into(),
            size: 1,
            content_type: "application/pdf".into(),
            uploader: MemberRef {
                id: uploader.into(),
                name: uploader.into(),
            },
            created_at: "2025-06-01T00:00:00Z".into(),
        }
    }

    #[test]
    fn files_are_deleted_by_their_uploader_or_an_admin() {
        let bobs = file_by("bob");
        assert!(can_delete_file(&member("bob", Role::Member), &bobs));
        assert!(!can_delete_file(&member("alice", Role::Member), &bobs));
        assert!(can_delete_file(&member("alice", Role::Admin), &bobs));
        assert!(!can_delete_file(&member("bob", Role::Viewer), &bobs));
    }

    #[test]
    fn viewers_only_read() {
        let erin = member("erin", Role::Viewer);
        assert!(erin.scopes.contains(&Scope::Read));
        assert!(!can_write(&erin));
        assert!(!is_admin(&erin));
        assert!(!can_edit_report(&erin, &report_by("erin")));
        assert!(!can_delete_report(&erin));
    }

    #[test]
    fn members_edit_only_their_own_reports_and_delete_none() {
        let bob = member("bob", Role::Member);
        assert!(can_edit_report(&bob, &report_by("bob")));
        assert!(!can_edit_report(&bob, &report_by("alice")));
        assert!(!can_delete_report(&bob));
        assert!(!is_admin(&bob));
    }

    #[test]
    fn admins_edit_and_delete_any_report() {
        let alice = member("alice", Role::Admin);
        assert!(can_edit_report(&alice, &report_by("bob")));
        assert!(can_delete_report(&alice));
        assert!(is_admin(&alice));
    }

    #[test]
    fn the_sessions_scopes_decide_not_the_role_name() {
        let mut narrowed = member("alice", Role::Admin);
        narrowed.scopes = vec![Scope::Read];
        assert!(!can_write(&narrowed));
        assert!(!is_admin(&narrowed));
        assert!(!can_edit_report(&narrowed, &report_by("alice")));
    }
}
