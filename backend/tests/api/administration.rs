//! Tenant administration: members (roles, deactivation, the last admin), invitations and just-in-time
//! joining, the sign-in settings, the audit log, the dashboard and the CSV export.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use shared::api::{
    AuditAction, AuditPage, Dashboard, Invitation, InvitationList, Member, MemberPage, Report,
    RoleSource, TenantSettings,
};
use shared::{ErrorBody, ErrorCode, MemberStatus, Role};

use crate::helpers::{ALICE, BOB, CAROL, DAVE, ERIN, MALLORY, SignedIn, TestApp};

/// The member with `email` in the admin's member list.
async fn member(admin: &SignedIn, email: &str) -> Member {
    let page: MemberPage = admin.get_json("/api/v1/members?limit=100").await;
    page.items
        .into_iter()
        .find(|m| m.email == email)
        .unwrap_or_else(|| panic!("{email} is a member"))
}

/// `PATCH /api/v1/members/{id}` with `body`: the status and the JSON answer.
async fn patch_member(admin: &SignedIn, id: &str, body: Value) -> (StatusCode, Value) {
    let response = admin
        .send(Method::PATCH, &format!("/api/v1/members/{id}"), Some(body))
        .await;
    (response.status(), response.json().await.unwrap())
}

/// The error code of a JSON error answer.
fn code(body: &Value) -> ErrorCode {
    serde_json::from_value::<ErrorBody>(body.clone())
        .unwrap_or_else(|_| panic!("an error body: {body}"))
        .code
}

async fn invite(admin: &SignedIn, email: &str, role: Role) -> Invitation {
    let response = admin
        .send(
            Method::POST,
            "/api/v1/invitations",
            Some(json!({"email": email, "role": role})),
        )
        .await;
    assert_eq!(response.status(), StatusCode::CREATED, "inviting {email}");
    response.json().await.unwrap()
}

async fn set_just_in_time(admin: &SignedIn, on: bool) {
    let response = admin
        .send(
            Method::PUT,
            "/api/v1/tenant/settings",
            Some(json!({"just_in_time": on, "group_mappings": []})),
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let settings: TenantSettings = response.json().await.unwrap();
    assert_eq!(settings.just_in_time, on);
}

async fn audit(admin: &SignedIn, query: &str) -> AuditPage {
    admin.get_json(&format!("/api/v1/audit?{query}")).await
}

#[tokio::test]
async fn admins_see_members_with_role_source_status_and_last_sign_in() {
    let app = TestApp::spawn().await;
    let alice = app.sign_in(&ALICE).await;
    app.sign_in(&BOB).await;
    let bob = member(&alice, BOB.email).await;
    assert_eq!(bob.name, BOB.name);
    assert_eq!(bob.role, Role::Member);
    assert_eq!(bob.role_source, RoleSource::IdentityProvider);
    assert_eq!(bob.status, MemberStatus::Active);
    assert_eq!(bob.provider, "acme-entra");
    assert!(bob.last_sign_in_at.is_some());

    let first: MemberPage = alice.get_json("/api/v1/members?limit=1").await;
    assert_eq!(first.items.len(), 1);
    let cursor = first.next_cursor.expect("a second page");
    let second: MemberPage = alice
        .get_json(&format!("/api/v1/members?limit=1&cursor={cursor}"))
        .await;
    assert_eq!(second.items.len(), 1);
    assert_ne!(first.items[0].id, second.items[0].id);
    assert_eq!(second.next_cursor, None);
    let emails: Vec<&str> = [&first.items[0], &second.items[0]]
        .iter()
        .map(|m| m.email.as_str())
        .collect();
    assert_eq!(emails, [ALICE.email, BOB.email], "ordered by email");
}

#[tokio::test]
async fn a_demotion_takes_effect_on_the_next_request_and_survives_the_next_sign_in() {
    let app = TestApp::spawn().await;
    let alice = app.sign_in(&ALICE).await;
    let bob = app.sign_in(&BOB).await;
    let bob_id = member(&alice, BOB.email).await.id;

    let (status, body) = patch_member(&alice, &bob_id, json!({"role": "viewer"})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["role"], "viewer");
    assert_eq!(body["role_source"], "admin");

    // Bob's session still holds a token with the write scope; the role read on this request removes it.
    let response = bob
        .send(
            Method::POST,
            "/api/v1/reports",
            Some(json!({"title": "Blocked", "body": ""})),
        )
        .await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        code(&response.json().await.unwrap()),
        ErrorCode::InsufficientScope
    );
    assert_eq!(bob.me().await.role, Role::Viewer);

    // Bob's IdP group still maps to member, but an admin's choice wins at the next sign-in.
    let bob_again = app.sign_in(&BOB).await;
    assert_eq!(bob_again.me().await.role, Role::Viewer);

    // Handed back to the identity provider, the group mapping applies again at the next sign-in.
    let (status, body) =
        patch_member(&alice, &bob_id, json!({"role_source": "identity_provider"})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let bob_third = app.sign_in(&BOB).await;
    assert_eq!(bob_third.me().await.role, Role::Member);
}

#[tokio::test]
async fn deactivation_refuses_the_next_request_and_sign_in_and_reactivation_restores_both() {
    let app = TestApp::spawn().await;
    let alice = app.sign_in(&ALICE).await;
    let bob = app.sign_in(&BOB).await;
    let bob_id = member(&alice, BOB.email).await.id;

    let (status, _) = patch_member(&alice, &bob_id, json!({"status": "deactivated"})).await;
    assert_eq!(status, StatusCode::OK);
    let response = bob.me_response().await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        code(&response.json().await.unwrap()),
        ErrorCode::MemberInactive
    );
    assert_eq!(
        app.sign_in_landing(&BOB).await,
        "/?error=membership_deactivated"
    );

    let (status, _) = patch_member(&alice, &bob_id, json!({"status": "active"})).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(app.sign_in_landing(&BOB).await, "/");
}

#[tokio::test]
async fn the_last_active_admin_can_be_neither_demoted_nor_deactivated() {
    let app = TestApp::spawn().await;
    let alice = app.sign_in(&ALICE).await;
    app.sign_in(&BOB).await;
    let alice_id = member(&alice, ALICE.email).await.id;
    let bob_id = member(&alice, BOB.email).await.id;

    for body in [
        json!({"role": "member"}),
        json!({"status": "deactivated"}),
        json!({"role": "viewer", "status": "deactivated"}),
    ] {
        let (status, answer) = patch_member(&alice, &alice_id, body.clone()).await;
        assert_eq!(status, StatusCode::CONFLICT, "{body}");
        assert_eq!(code(&answer), ErrorCode::LastAdmin, "{body}");
    }
    assert_eq!(member(&alice, ALICE.email).await.role, Role::Admin);

    // With a second admin, either may step down, but not both.
    let (status, _) = patch_member(&alice, &bob_id, json!({"role": "admin"})).await;
    assert_eq!(status, StatusCode::OK);
    let bob = app.sign_in(&BOB).await;
    let (first, second) = tokio::join!(
        patch_member(&alice, &bob_id, json!({"role": "member"})),
        patch_member(&bob, &alice_id, json!({"role": "member"})),
    );
    let statuses = [first.0, second.0];
    assert!(
        statuses.contains(&StatusCode::OK),
        "one demotion succeeds: {statuses:?}"
    );
    let admins = alice_and_bob_admins(&app).await;
    assert_eq!(admins, 1, "exactly one active admin remains: {statuses:?}");
}

/// `PUT /api/v1/tenant/settings` with Acme's Entra mapping: the status and the JSON answer.
async fn put_acme_mapping(admin: &SignedIn, groups: Value) -> (StatusCode, Value) {
    let response = admin
        .send(
            Method::PUT,
            "/api/v1/tenant/settings",
            Some(json!({
                "just_in_time": true,
                "group_mappings": [{"provider": "acme-entra", "group_mapping": groups}]
            })),
        )
        .await;
    (response.status(), response.json().await.unwrap())
}

/// A mapping of Acme's provider in which no group yields admin.
fn no_admin_group() -> Value {
    json!([
        {"group": "SaaS-Admins", "role": "member"},
        {"group": "SaaS-Users", "role": "member"}
    ])
}

#[tokio::test]
async fn a_group_mapping_that_would_leave_no_admin_who_keeps_the_role_is_refused_and_changes_nothing()
 {
    let app = TestApp::spawn().await;
    let alice = app.sign_in(&ALICE).await;
    let before: TenantSettings = alice.get_json("/api/v1/tenant/settings").await;

    // Alice's role comes from her group SaaS-Admins; remapping or dropping it would cost the tenant its admin.
    for groups in [
        no_admin_group(),
        json!([{"group": "SaaS-Users", "role": "member"}]),
    ] {
        let (status, body) = put_acme_mapping(&alice, groups.clone()).await;
        assert_eq!(status, StatusCode::CONFLICT, "{groups}");
        assert_eq!(code(&body), ErrorCode::LastAdmin);
        assert!(
            body["message"].as_str().unwrap().contains("Members page"),
            "{body}"
        );
    }
    let after: TenantSettings = alice.get_json("/api/v1/tenant/settings").await;
    assert_eq!(after, before, "nothing changed");

    // With an admin whose role an admin set, the same mapping is accepted.
    app.sign_in(&BOB).await;
    let bob_id = member(&alice, BOB.email).await.id;
    let (status, _) = patch_member(&alice, &bob_id, json!({"role": "admin"})).await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = put_acme_mapping(&alice, no_admin_group()).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

#[tokio::test]
async fn handing_the_last_admins_role_back_to_the_identity_provider_is_refused_when_their_groups_do_not_map_to_admin()
 {
    let app = TestApp::spawn().await;
    let alice = app.sign_in(&ALICE).await;
    let alice_id = member(&alice, ALICE.email).await.id;
    let (status, _) = patch_member(&alice, &alice_id, json!({"role": "admin"})).await;
    assert_eq!(
        status,
        StatusCode::OK,
        "Alice's admin role is now admin-set"
    );
    // The directory moves Alice to SaaS-Users; her admin-set role stays, and her groups are recorded.
    assert!(app.aws.update_entra_user(ALICE.email, |alice| {
        alice.app_roles = vec!["SaaS-Users".to_owned()];
    }));
    let alice = app.sign_in(&ALICE).await;
    assert_eq!(alice.me().await.role, Role::Admin);

    let (status, body) = patch_member(
        &alice,
        &alice_id,
        json!({"role_source": "identity_provider"}),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(code(&body), ErrorCode::LastAdmin);
    let unchanged = member(&alice, ALICE.email).await;
    assert_eq!(
        (unchanged.role, unchanged.role_source),
        (Role::Admin, RoleSource::Admin)
    );

    // With Bob made admin, Alice may hand her role back, and her next sign-in maps it from her groups.
    app.sign_in(&BOB).await;
    let bob_id = member(&alice, BOB.email).await.id;
    let (status, _) = patch_member(&alice, &bob_id, json!({"role": "admin"})).await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = patch_member(
        &alice,
        &alice_id,
        json!({"role_source": "identity_provider"}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(app.sign_in(&ALICE).await.me().await.role, Role::Member);
}

#[tokio::test]
async fn the_last_admin_keeps_the_role_at_sign_in_when_the_directory_drops_their_admin_group() {
    let app = TestApp::spawn().await;
    app.sign_in(&ALICE).await;
    assert!(app.aws.update_entra_user(ALICE.email, |alice| {
        alice.app_roles = vec!["SaaS-Users".to_owned()];
    }));
    let alice = app.sign_in(&ALICE).await;
    assert_eq!(alice.me().await.role, Role::Admin, "kept, not refused");
    let page = audit(&alice, "action=member_role_kept").await;
    assert_eq!(page.items.len(), 1);
    assert_eq!(page.items[0].details["mapped_role"], "member");
    assert_eq!(alice_and_bob_admins(&app).await, 1);
}

#[tokio::test]
async fn a_mapping_change_and_a_demotion_racing_cannot_both_pass_and_leave_no_admin_who_keeps_the_role()
 {
    let app = TestApp::spawn().await;
    let alice = app.sign_in(&ALICE).await;
    app.sign_in(&BOB).await;
    let bob_id = member(&alice, BOB.email).await.id;
    let (status, _) = patch_member(&alice, &bob_id, json!({"role": "admin"})).await;
    assert_eq!(status, StatusCode::OK);

    // Either change alone is fine: Bob's admin-set role, or Alice's SaaS-Admins group, keeps an admin.
    let (demotion, remapping) = tokio::join!(
        patch_member(&alice, &bob_id, json!({"role": "member"})),
        put_acme_mapping(&alice, no_admin_group()),
    );
    let mut statuses = [demotion.0, remapping.0];
    statuses.sort();
    assert_eq!(
        statuses,
        [StatusCode::OK, StatusCode::CONFLICT],
        "exactly one passes: {demotion:?} {remapping:?}"
    );
}

#[tokio::test]
async fn a_sign_in_demoting_one_admin_racing_an_admin_demoting_the_other_leaves_exactly_one_admin()
{
    let app = TestApp::spawn().await;
    let alice = app.sign_in(&ALICE).await;
    app.sign_in(&BOB).await;
    let bob_id = member(&alice, BOB.email).await.id;
    let (status, _) = patch_member(&alice, &bob_id, json!({"role": "admin"})).await;
    assert_eq!(status, StatusCode::OK);
    // Alice's admin role comes from her group, which the directory now takes away.
    assert!(app.aws.update_entra_user(ALICE.email, |alice| {
        alice.app_roles = vec!["SaaS-Users".to_owned()];
    }));

    let (demotion, signed_in) = tokio::join!(
        patch_member(&alice, &bob_id, json!({"role": "member"})),
        app.sign_in(&ALICE),
    );
    let role = signed_in.me().await.role;
    assert_eq!(
        alice_and_bob_admins(&app).await,
        1,
        "demotion {:?}, Alice signed in as {role:?}",
        demotion.0
    );
}

/// How many of Acme's members are active admins, read as the database owner.
async fn alice_and_bob_admins(app: &TestApp) -> i64 {
    sqlx::query_scalar(
        "SELECT count(*) FROM members m JOIN tenants t ON t.id = m.tenant_id \
         WHERE t.slug = 'acme' AND m.role = 'admin' AND m.status = 'active'",
    )
    .fetch_one(&app.db.owner)
    .await
    .unwrap()
}

#[tokio::test]
async fn member_changes_are_validated_and_unknown_members_are_not_found() {
    let app = TestApp::spawn().await;
    let alice = app.sign_in(&ALICE).await;
    let alice_id = member(&alice, ALICE.email).await.id;
    for (body, expected) in [
        (json!({}), StatusCode::UNPROCESSABLE_ENTITY),
        (
            json!({"role": "admin", "role_source": "identity_provider"}),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (json!({"role": "root"}), StatusCode::UNPROCESSABLE_ENTITY),
        (
            json!({"status": "banned"}),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
    ] {
        let (status, answer) = patch_member(&alice, &alice_id, body.clone()).await;
        assert_eq!(status, expected, "{body}: {answer}");
        // The message names the offending field.
        let field = body.as_object().unwrap().keys().next_back().cloned();
        if let Some(field) = field {
            let message = answer["message"].as_str().unwrap();
            assert!(message.contains(&field), "{body}: {message}");
        }
    }
    for id in ["00000000-0000-0000-0000-000000000000", "not-a-uuid"] {
        let (status, answer) = patch_member(&alice, id, json!({"role": "viewer"})).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{id}");
        assert_eq!(code(&answer), ErrorCode::NotFound);
    }
}

#[tokio::test]
async fn invitations_are_created_listed_validated_and_withdrawn() {
    let app = TestApp::spawn().await;
    let alice = app.sign_in(&ALICE).await;

    let invitation = invite(&alice, "  Dana@ACME.example ", Role::Member).await;
    assert_eq!(invitation.email, "dana@acme.example");
    assert_eq!(invitation.role, Role::Member);
    let invited_by = invitation.invited_by.as_ref().unwrap();
    assert_eq!(invited_by.name, ALICE.name);
    assert_eq!(invited_by.id, alice.me().await.user.id);
    let list: InvitationList = alice.get_json("/api/v1/invitations").await;
    assert_eq!(list.items, vec![invitation.clone()]);

    for (body, expected, expected_code) in [
        (
            json!({"email": "dana@acme.example", "role": "admin"}),
            StatusCode::CONFLICT,
            ErrorCode::Conflict,
        ),
        (
            json!({"email": ALICE.email, "role": "admin"}),
            StatusCode::CONFLICT,
            ErrorCode::Conflict,
        ),
        (
            json!({"email": "not an email", "role": "member"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            ErrorCode::InvalidRequest,
        ),
        (
            json!({"email": "eve@acme.example", "role": "owner"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            ErrorCode::InvalidRequest,
        ),
    ] {
        let response = alice
            .send(Method::POST, "/api/v1/invitations", Some(body.clone()))
            .await;
        assert_eq!(response.status(), expected, "{body}");
        assert_eq!(
            code(&response.json().await.unwrap()),
            expected_code,
            "{body}"
        );
    }

    let path = format!("/api/v1/invitations/{}", invitation.id);
    let response = alice.send(Method::DELETE, &path, None).await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    let response = alice.send(Method::DELETE, &path, None).await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    let list: InvitationList = alice.get_json("/api/v1/invitations").await;
    assert!(list.items.is_empty());
}

#[tokio::test]
async fn with_just_in_time_off_only_invited_people_join_and_with_the_invitations_role() {
    let app = TestApp::spawn().await;
    let carol = app.sign_in(&CAROL).await;
    set_just_in_time(&carol, false).await;

    assert_eq!(app.sign_in_landing(&DAVE).await, "/?error=not_invited");
    let invitation = invite(&carol, DAVE.email, Role::Member).await;
    assert_eq!(app.sign_in_landing(&DAVE).await, "/");

    let dave = member(&carol, DAVE.email).await;
    assert_eq!(
        (dave.role, dave.role_source),
        (Role::Member, RoleSource::Admin),
        "Dave's IdP group maps to viewer, but the invitation said member"
    );
    let list: InvitationList = carol.get_json("/api/v1/invitations").await;
    assert!(
        list.items.iter().all(|i| i.id != invitation.id),
        "a used invitation is no longer open"
    );

    // Members who joined before keep signing in.
    assert_eq!(app.sign_in_landing(&CAROL).await, "/");
    set_just_in_time(&carol, true).await;
}

/// Whether the invitation with `id` is still open.
async fn is_open(admin: &SignedIn, id: &str) -> bool {
    let list: InvitationList = admin.get_json("/api/v1/invitations").await;
    list.items.iter().any(|i| i.id == id)
}

#[tokio::test]
async fn an_okta_email_marked_unverified_never_claims_an_admin_invitation() {
    let app = TestApp::spawn().await;
    let carol = app.sign_in(&CAROL).await;
    let invitation = invite(&carol, DAVE.email, Role::Admin).await;
    assert!(app.aws.update_okta_user(DAVE.email, |dave| {
        dave.email_verified = false;
    }));

    // Invited people only: the unverified address is as good as uninvited.
    set_just_in_time(&carol, false).await;
    assert_eq!(app.sign_in_landing(&DAVE).await, "/?error=not_invited");
    // Just-in-time: Dave joins with his group's role, and the invitation stays open.
    set_just_in_time(&carol, true).await;
    let dave = app.sign_in(&DAVE).await.me().await;
    assert_eq!(dave.role, Role::Viewer);
    assert!(is_open(&carol, &invitation.id).await);
}

#[tokio::test]
async fn an_entra_email_outside_the_directorys_verified_domains_never_claims_an_admin_invitation() {
    let app = TestApp::spawn().await;
    let alice = app.sign_in(&ALICE).await;
    // Entra sends no email_verified: its mail attribute is whatever the directory holds. Erin's is now in a
    // domain the directory has not verified, so xms_edov is false.
    assert!(app.aws.update_entra_user(ERIN.email, |erin| {
        erin.email = "erin@contractor.example".into();
    }));
    // The API refuses such an invitation (below); one made before that rule, written straight to the
    // database, shows the trigger's own defence.
    let invitation = invite_directly(&app, &alice, "erin@contractor.example", Role::Admin).await;
    let erin = app.sign_in(&ERIN).await.me().await;
    assert_eq!(
        erin.role,
        Role::Viewer,
        "just-in-time, with her groups' role"
    );
    assert!(is_open(&alice, &invitation.id).await);
}

/// Writes an open invitation straight to the database, past the API's checks.
async fn invite_directly(app: &TestApp, admin: &SignedIn, email: &str, role: Role) -> Invitation {
    let me = admin.me().await;
    let tenant = backend::db::TenantId(me.tenant.id.parse().unwrap());
    let inviter = backend::db::MemberId(me.user.id.parse().unwrap());
    let mut tx = backend::db::tenant_tx(&app.db.owner, tenant).await.unwrap();
    let expires_at = time::OffsetDateTime::now_utc() + time::Duration::days(14);
    let created = backend::db::invitations::create(&mut tx, email, role, Some(inviter), expires_at)
        .await
        .unwrap()
        .unwrap();
    tx.commit().await.unwrap();
    let list: InvitationList = admin.get_json("/api/v1/invitations").await;
    list.items
        .into_iter()
        .find(|invitation| invitation.id == created.id.to_string())
        .unwrap()
}

#[tokio::test]
async fn invitations_are_only_for_addresses_in_the_organisations_verified_domains() {
    let app = TestApp::spawn().await;
    let alice = app.sign_in(&ALICE).await;
    for email in [
        "dana@gmail.com",
        "dana@globex.example",
        "dana@acme.example.evil.example",
    ] {
        let response = alice
            .send(
                Method::POST,
                "/api/v1/invitations",
                Some(json!({"email": email, "role": "member"})),
            )
            .await;
        assert_eq!(
            response.status(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "{email}"
        );
        let error: ErrorBody = response.json().await.unwrap();
        assert_eq!(error.code, ErrorCode::InvalidRequest);
        assert!(
            error.message.starts_with("email: ") && error.message.contains("acme.example"),
            "{error:?}"
        );
    }
    let list: InvitationList = alice.get_json("/api/v1/invitations").await;
    assert!(list.items.is_empty(), "nothing was written");
    invite(&alice, "Dana@ACME.example", Role::Member).await;
}

#[tokio::test]
async fn an_entra_email_in_a_verified_domain_claims_its_admin_invitation() {
    let app = TestApp::spawn().await;
    let alice = app.sign_in(&ALICE).await;
    let invitation = invite(&alice, ERIN.email, Role::Admin).await;
    let erin = app.sign_in(&ERIN).await.me().await;
    assert_eq!(
        erin.role,
        Role::Admin,
        "Erin has no group; the invitation made her admin"
    );
    assert!(!is_open(&alice, &invitation.id).await);
}

#[tokio::test]
async fn an_invitation_in_one_tenant_never_admits_another_tenants_user_with_that_email() {
    let app = TestApp::spawn().await;
    let alice = app.sign_in(&ALICE).await;
    let carol = app.sign_in(&CAROL).await;
    // Acme invites the address Globex's directory asserts for Mallory; Globex admits only invited people.
    invite(&alice, MALLORY.email, Role::Admin).await;
    set_just_in_time(&carol, false).await;

    assert_eq!(
        app.sign_in_landing_with_query("org=globex", &MALLORY).await,
        "/?error=not_invited"
    );
    let acme_members: MemberPage = alice.get_json("/api/v1/members?limit=100").await;
    assert!(
        acme_members.items.iter().all(|m| m.email != MALLORY.email),
        "Mallory never lands in Acme"
    );
    let list: InvitationList = alice.get_json("/api/v1/invitations").await;
    assert_eq!(list.items.len(), 1, "Acme's invitation is still open");
}

#[tokio::test]
async fn a_changed_group_mapping_applies_at_the_next_sign_in() {
    let app = TestApp::spawn().await;
    let alice = app.sign_in(&ALICE).await;
    let settings: TenantSettings = alice.get_json("/api/v1/tenant/settings").await;
    assert!(settings.just_in_time);
    let entra = &settings.identity_providers[0];
    assert_eq!(entra.name, "acme-entra");
    assert_eq!(entra.verified_domains, vec!["acme.example"]);
    assert!(
        entra
            .group_mapping
            .iter()
            .any(|m| m.group == "SaaS-Users" && m.role == Role::Member)
    );

    let response = alice
        .send(
            Method::PUT,
            "/api/v1/tenant/settings",
            Some(json!({
                "just_in_time": true,
                "group_mappings": [{"provider": "acme-entra", "group_mapping": [
                    {"group": "SaaS-Admins", "role": "admin"},
                    {"group": "SaaS-Users", "role": "viewer"}
                ]}]
            })),
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let bob = app.sign_in(&BOB).await;
    assert_eq!(bob.me().await.role, Role::Viewer);

    // Another tenant's provider, or a malformed mapping, is refused naming the field, and nothing changes.
    for body in [
        json!({"just_in_time": false, "group_mappings": [{"provider": "globex-okta", "group_mapping": []}]}),
        json!({"just_in_time": false, "group_mappings": [{"provider": "acme-entra", "group_mapping": [
            {"group": "", "role": "admin"}]}]}),
    ] {
        let response = alice
            .send(Method::PUT, "/api/v1/tenant/settings", Some(body.clone()))
            .await;
        assert_eq!(
            response.status(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "{body}"
        );
        let error: ErrorBody = response.json().await.unwrap();
        assert!(error.message.contains("group_mappings[0]"), "{error:?}");
    }
    let after: TenantSettings = alice.get_json("/api/v1/tenant/settings").await;
    assert!(after.just_in_time, "a refused update changes nothing");
}

/// The emails of one `GET /api/v1/members` page for `query`, and its next cursor.
async fn member_emails(admin: &SignedIn, query: &str) -> (Vec<String>, Option<String>) {
    let page: MemberPage = admin.get_json(&format!("/api/v1/members?{query}")).await;
    (
        page.items.into_iter().map(|member| member.email).collect(),
        page.next_cursor,
    )
}

#[tokio::test]
async fn members_are_searched_filtered_sorted_and_paged_on_the_server() {
    let app = TestApp::spawn().await;
    let alice = app.sign_in(&ALICE).await;
    app.sign_in(&BOB).await;
    app.sign_in(&ERIN).await;
    let erin_id = member(&alice, ERIN.email).await.id;
    patch_member(&alice, &erin_id, json!({"status": "deactivated"})).await;

    assert_eq!(member_emails(&alice, "q=ALI").await.0, [ALICE.email]);
    assert_eq!(member_emails(&alice, "role=member").await.0, [BOB.email]);
    assert_eq!(
        member_emails(&alice, "status=deactivated").await.0,
        [ERIN.email]
    );
    assert_eq!(
        member_emails(&alice, "q=acme.example&status=active")
            .await
            .0,
        [ALICE.email, BOB.email]
    );
    // LIKE's own wildcards are searched for as text.
    for wildcard in ["%25", "_", "%5C"] {
        assert!(
            member_emails(&alice, &format!("q={wildcard}"))
                .await
                .0
                .is_empty(),
            "{wildcard}"
        );
    }

    // By name, one at a time: each page continues where the last one ended.
    let mut names = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let query = match &cursor {
            Some(cursor) => format!("sort=name&limit=1&cursor={cursor}"),
            None => "sort=name&limit=1".to_owned(),
        };
        let page: MemberPage = alice.get_json(&format!("/api/v1/members?{query}")).await;
        names.extend(page.items.into_iter().map(|member| member.name));
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => break,
        }
        // The same cursor under another sort is refused rather than misread.
        if let Some(cursor) = &cursor {
            let response = alice
                .send(
                    Method::GET,
                    &format!("/api/v1/members?sort=email&cursor={cursor}"),
                    None,
                )
                .await;
            assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
        }
    }
    let mut sorted = names.clone();
    sorted.sort();
    assert_eq!(names.len(), 3);
    assert_eq!(names, sorted);

    for bad in [
        "role=owner",
        "status=gone",
        "sort=age",
        &format!("q={}", "x".repeat(101)),
    ] {
        let response = alice
            .send(Method::GET, &format!("/api/v1/members?{bad}"), None)
            .await;
        assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
        let error: ErrorBody = response.json().await.unwrap();
        assert_eq!(error.code, ErrorCode::InvalidRequest);
    }
}

#[tokio::test]
async fn the_audit_log_is_filtered_by_target_and_exported_as_csv_or_json_with_the_same_filters() {
    let app = TestApp::spawn().await;
    let alice = app.sign_in(&ALICE).await;
    invite(&alice, "dana@acme.example", Role::Member).await;
    invite(&alice, "=cmd@acme.example", Role::Viewer).await;

    let dana = audit(&alice, "target=DANA").await;
    assert_eq!(dana.items.len(), 1);
    assert_eq!(
        dana.items[0].target.as_ref().unwrap().label,
        "dana@acme.example"
    );

    let csv = alice
        .send(
            Method::GET,
            "/api/v1/audit/export?action=invitation_created",
            None,
        )
        .await;
    assert_eq!(csv.status(), StatusCode::OK);
    assert!(
        csv.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    let disposition = csv.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        disposition.starts_with("attachment; filename=\"audit-acme-")
            && disposition.ends_with(".csv\""),
        "{disposition}"
    );
    let text = csv.text().await.unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3, "a header and two invitations: {text}");
    assert!(lines[0].starts_with("\"id\",\"at\",\"action\""), "{text}");
    assert!(
        text.contains("\"'=cmd@acme.example\""),
        "a formula start is defused: {text}"
    );

    let json = alice
        .send(
            Method::GET,
            "/api/v1/audit/export?format=json&target=dana",
            None,
        )
        .await;
    assert_eq!(json.status(), StatusCode::OK);
    let events: Vec<shared::api::AuditEvent> = json.json().await.unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].action, AuditAction::InvitationCreated);

    for bad in [
        "format=xml",
        "limit=5",
        &("target=".to_owned() + &"x".repeat(201)),
    ] {
        let response = alice
            .send(Method::GET, &format!("/api/v1/audit/export?{bad}"), None)
            .await;
        assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
    }
}

#[tokio::test]
async fn writing_and_editing_reports_are_audited_and_a_change_of_role_source_alone_is_not_a_role_change()
 {
    let app = TestApp::spawn().await;
    let alice = app.sign_in(&ALICE).await;
    app.sign_in(&BOB).await;
    let bob_id = member(&alice, BOB.email).await.id;

    let created = alice
        .send(
            Method::POST,
            "/api/v1/reports",
            Some(json!({"title": "Q3", "body": "Numbers."})),
        )
        .await;
    assert_eq!(created.status(), StatusCode::CREATED);
    let report: Value = created.json().await.unwrap();
    let path = format!("/api/v1/reports/{}", report["id"].as_str().unwrap());
    for patch in [
        json!({"title": "Q3 results"}),
        json!({"body": "Better numbers."}),
        json!({"title": "Q3 results", "body": "Better numbers."}),
    ] {
        let response = alice.send(Method::PATCH, &path, Some(patch)).await;
        assert_eq!(response.status(), StatusCode::OK);
    }
    let written = audit(&alice, "action=report_created").await;
    assert_eq!(written.items.len(), 1);
    assert_eq!(written.items[0].target.as_ref().unwrap().label, "Q3");
    let edited = audit(&alice, "action=report_edited").await;
    assert_eq!(
        edited
            .items
            .iter()
            .map(|event| event.details.clone())
            .collect::<Vec<_>>(),
        [
            json!({"text": "edited"}),
            json!({"title": {"from": "Q3", "to": "Q3 results"}}),
        ],
        "newest first, and an edit that changes nothing is not recorded"
    );

    // Bob's role set by an admin to what it already was, then handed back to the groups: two changes of
    // where the role comes from, recorded as such, never as "member → member".
    patch_member(&alice, &bob_id, json!({"role": "member"})).await;
    patch_member(&alice, &bob_id, json!({"role_source": "identity_provider"})).await;
    let changes = audit(&alice, "action=member_role_changed").await;
    assert_eq!(
        changes
            .items
            .iter()
            .map(|event| event.details.clone())
            .collect::<Vec<_>>(),
        [
            json!({"role": "member", "role_source": {"from": "admin", "to": "identity_provider"}}),
            json!({"role": "member", "role_source": {"from": "identity_provider", "to": "admin"}}),
        ]
    );
}

#[tokio::test]
async fn the_audit_log_records_sign_ins_and_changes_with_who_what_target_and_where() {
    let app = TestApp::spawn().await;
    let alice = app.sign_in(&ALICE).await;
    app.sign_in(&BOB).await;
    let bob_id = member(&alice, BOB.email).await.id;
    patch_member(&alice, &bob_id, json!({"role": "viewer"})).await;
    invite(&alice, "dana@acme.example", Role::Member).await;

    let page = audit(&alice, "").await;
    let actions: Vec<AuditAction> = page.items.iter().map(|e| e.action).collect();
    for expected in [
        AuditAction::SignIn,
        AuditAction::MemberJoined,
        AuditAction::MemberRoleChanged,
        AuditAction::InvitationCreated,
    ] {
        assert!(actions.contains(&expected), "{expected:?} in {actions:?}");
    }
    let change = page
        .items
        .iter()
        .find(|e| e.action == AuditAction::MemberRoleChanged)
        .unwrap();
    let actor = change.actor.as_ref().unwrap();
    assert_eq!(
        (actor.email.as_str(), actor.name.as_str()),
        (ALICE.email, ALICE.name)
    );
    let target = change.target.as_ref().unwrap();
    assert_eq!(
        (
            target.kind.as_str(),
            target.id.as_str(),
            target.label.as_str()
        ),
        ("member", bob_id.as_str(), BOB.email)
    );
    assert_eq!(change.details["from"], "member");
    assert_eq!(change.details["to"], "viewer");
    assert_eq!(change.source_ip.as_deref(), Some("127.0.0.1"));
    let sign_in = page
        .items
        .iter()
        .find(|e| e.action == AuditAction::SignIn)
        .unwrap();
    assert_eq!(sign_in.source_ip.as_deref(), Some("127.0.0.1"));

    // Newest first, filterable, paged.
    assert_eq!(page.items[0].action, AuditAction::InvitationCreated);
    let only: AuditPage = audit(&alice, "action=sign_in").await;
    assert_eq!(only.items.len(), 2, "alice's and bob's sign-ins");
    assert!(only.items.iter().all(|e| e.action == AuditAction::SignIn));
    let by_bob = audit(&alice, &format!("actor={bob_id}")).await;
    assert!(
        by_bob
            .items
            .iter()
            .all(|e| e.actor.as_ref().unwrap().id == bob_id)
    );
    assert!(!by_bob.items.is_empty());
    let mut seen = Vec::new();
    let mut query = "limit=2".to_owned();
    loop {
        let page = audit(&alice, &query).await;
        seen.extend(page.items.iter().map(|e| e.id.clone()));
        match page.next_cursor {
            Some(cursor) => query = format!("limit=2&cursor={cursor}"),
            None => break,
        }
    }
    let all: Vec<String> = audit(&alice, "limit=100")
        .await
        .items
        .into_iter()
        .map(|e| e.id)
        .collect();
    assert_eq!(seen, all, "paging visits every entry once, in order");
    let future = audit(&alice, "since=2999-01-01T00:00:00Z").await;
    assert!(future.items.is_empty());

    for bad in [
        "action=hacked",
        "actor=nobody",
        "since=yesterday",
        "limit=0",
        "cursor=xyz",
    ] {
        let response = alice
            .send(Method::GET, &format!("/api/v1/audit?{bad}"), None)
            .await;
        assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
    }

    // Globex's admin sees none of it.
    let carol = app.sign_in(&CAROL).await;
    let globex = audit(&carol, "limit=100").await;
    assert!(globex.items.iter().all(|e| {
        e.actor
            .as_ref()
            .is_none_or(|a| a.email.ends_with("@globex.example"))
    }));
}

#[tokio::test]
async fn a_refused_sign_in_is_audited_without_anything_else_being_written() {
    let app = TestApp::spawn().await;
    let carol = app.sign_in(&CAROL).await;
    set_just_in_time(&carol, false).await;
    assert_eq!(app.sign_in_landing(&DAVE).await, "/?error=not_invited");
    let refused = audit(&carol, "action=sign_in_refused").await;
    assert_eq!(refused.items.len(), 1);
    assert_eq!(refused.items[0].details["reason"], "not_invited");
    assert_eq!(refused.items[0].details["email"], DAVE.email);
    let members: MemberPage = carol.get_json("/api/v1/members").await;
    assert_eq!(members.items.len(), 1, "no member was created for Dave");
}

#[tokio::test]
async fn the_dashboard_counts_the_tenants_reports_and_shows_the_plans_limits() {
    let app = TestApp::spawn().await;
    let alice = app.sign_in(&ALICE).await;
    let bob = app.sign_in(&BOB).await;
    for (user, title) in [(&alice, "Q1"), (&bob, "Q2"), (&bob, "Q3")] {
        let response = user
            .send(
                Method::POST,
                "/api/v1/reports",
                Some(json!({"title": title, "body": ""})),
            )
            .await;
        assert_eq!(response.status(), StatusCode::CREATED);
    }
    let dashboard: Dashboard = bob.get_json("/api/v1/dashboard").await;
    assert_eq!(
        (
            dashboard.reports,
            dashboard.my_reports,
            dashboard.active_members
        ),
        (3, 2, 2)
    );
    assert_eq!(dashboard.report_limit, None);
    assert!(dashboard.csv_export);
    let titles: Vec<&str> = dashboard
        .recent_activity
        .iter()
        .map(|a| a.report_title.as_str())
        .collect();
    assert_eq!(titles, ["Q3", "Q2", "Q1"]);

    let carol = app.sign_in(&CAROL).await;
    let globex: Dashboard = carol.get_json("/api/v1/dashboard").await;
    assert_eq!((globex.reports, globex.report_limit), (0, Some(10)));
    assert!(!globex.csv_export);
    assert!(globex.recent_activity.is_empty());
}

#[tokio::test]
async fn pro_tenants_export_reports_as_spreadsheet_safe_csv_and_basic_tenants_cannot() {
    let app = TestApp::spawn().await;
    let alice = app.sign_in(&ALICE).await;
    let response = alice
        .send(
            Method::POST,
            "/api/v1/reports",
            Some(json!({"title": "=cmd|' /C calc'!A0", "body": "Line one,\nline \"two\""})),
        )
        .await;
    let report: Report = response.json().await.unwrap();
    let erin = app.sign_in(&ERIN).await;
    let response = erin
        .send(Method::GET, "/api/v1/reports/export.csv", None)
        .await;
    assert_eq!(response.status(), StatusCode::OK, "viewers may export");
    assert_eq!(
        response.headers()["content-type"],
        "text/csv; charset=utf-8"
    );
    let disposition = response.headers()["content-disposition"].to_str().unwrap();
    assert!(
        disposition.starts_with("attachment; filename=\"reports-acme-"),
        "{disposition}"
    );
    let body = response.text().await.unwrap();
    let mut reader = csv::Reader::from_reader(body.as_bytes());
    assert_eq!(
        reader.headers().unwrap(),
        vec!["id", "title", "body", "author", "created_at", "updated_at"]
    );
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 1);
    assert_eq!(&rows[0][0], report.id);
    assert_eq!(
        &rows[0][1], "'=cmd|' /C calc'!A0",
        "formulas are neutralised"
    );
    assert_eq!(&rows[0][2], "Line one,\nline \"two\"");
    assert_eq!(&rows[0][3], ALICE.name);

    let carol = app.sign_in(&CAROL).await;
    let response = carol
        .send(Method::GET, "/api/v1/reports/export.csv", None)
        .await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        code(&response.json().await.unwrap()),
        ErrorCode::PlanFeatureUnavailable
    );
}

#[tokio::test]
async fn re_seeding_the_demo_world_keeps_what_tenant_admins_changed() {
    let app = TestApp::spawn().await;
    let alice = app.sign_in(&ALICE).await;
    let response = alice
        .send(
            Method::PUT,
            "/api/v1/tenant/settings",
            Some(json!({
                "just_in_time": false,
                "group_mappings": [{"provider": "acme-entra", "group_mapping": [
                    {"group": "SaaS-Admins", "role": "admin"}
                ]}]
            })),
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let changed: TenantSettings = response.json().await.unwrap();

    backend::seed::demo_world(
        &app.db.owner,
        &backend::seed::DemoWorld::load(&testkit::infra_dir()).unwrap(),
        &app.demo_issuers(),
    )
    .await
    .unwrap();
    let after: TenantSettings = alice.get_json("/api/v1/tenant/settings").await;
    assert_eq!(after, changed);
}
