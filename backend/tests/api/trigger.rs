//! The pre-token-generation trigger against a seeded database: tenant binding by identity provider, members
//! keyed by (provider, subject), roles from IdP groups, scope suppression and deactivation.

use backend::db::{self, MemberId, TenantId};
use backend::trigger::event::{AccessTokenGeneration, IdTokenGeneration, PreTokenGenerationEvent};
use backend::trigger::{TriggerError, pre_token_generation};
use serde_json::{Value, json};
use shared::ErrorCode;
use testkit::{TestDatabase, fresh_database};
use uuid::Uuid;

const RESOURCE_SERVER: &str = "saas-api";
const REQUESTED_SCOPES: [&str; 6] = [
    "openid",
    "email",
    "profile",
    "saas-api/read",
    "saas-api/write",
    "saas-api/admin",
];

/// The demo directories' users (`infra/local-aws/directories.json`): Entra subjects are `oid`s, Okta's `sub`s.
const ALICE: User = User {
    provider: "acme-entra",
    subject: "0b6c4c0e-3f6a-4c5d-9a11-a11ce0000001",
    email: "alice@acme.example",
    name: "Alice Anderson",
    groups: Some(r#"["SaaS-Admins"]"#),
};
const BOB: User = User {
    provider: "acme-entra",
    subject: "1c7d5d1f-4a7b-4d6e-8b22-b0b000000002",
    email: "bob@acme.example",
    name: "Bob Brown",
    groups: Some(r#"["SaaS-Users"]"#),
};
const ERIN: User = User {
    provider: "acme-entra",
    subject: "2d8e6e2a-5b8c-4e7f-9c33-e1e100000003",
    email: "erin@acme.example",
    name: "Erin Evans",
    groups: None,
};
const MALLORY: User = User {
    provider: "globex-okta",
    subject: "00u3mallory0globex03",
    email: "mallory@acme.example",
    name: "Mallory Moss",
    groups: Some(r#"["saas-admin"]"#),
};

#[derive(Clone, Copy)]
struct User {
    provider: &'static str,
    subject: &'static str,
    email: &'static str,
    name: &'static str,
    groups: Option<&'static str>,
}

impl User {
    /// The event the user pool sends when this user signs in through the hosted UI.
    fn sign_in(self) -> PreTokenGenerationEvent {
        self.event("TokenGeneration_HostedAuth")
    }

    /// The event the user pool sends when this user's refresh token is used.
    fn refresh(self) -> PreTokenGenerationEvent {
        self.event("TokenGeneration_RefreshTokens")
    }

    fn event(self, trigger_source: &str) -> PreTokenGenerationEvent {
        let identities = json!([{
            "userId": self.subject,
            "providerName": self.provider,
            "providerType": "OIDC",
            "issuer": null,
            "primary": "true",
            "dateCreated": "1700000000000"
        }]);
        let mut attributes = json!({
            "sub": Uuid::new_v4().to_string(),
            "cognito:user_status": "EXTERNAL_PROVIDER",
            "email": self.email,
            "email_verified": "true",
            "name": self.name,
            "identities": identities.to_string(),
        });
        if let Some(groups) = self.groups {
            attributes["custom:idp_groups"] = json!(groups);
        }
        serde_json::from_value(json!({
            "version": "2",
            "triggerSource": trigger_source,
            "region": "eu-west-1",
            "userPoolId": "eu-west-1_L0caLP00l",
            "userName": format!("{}_{}", self.provider, self.subject),
            "callerContext": {"awsSdkVersion": "aws-sdk-unknown-unknown", "clientId": "3n4k1ocal0web0c1ient0id00"},
            "request": {
                "userAttributes": attributes,
                "groupConfiguration": {"groupsToOverride": [], "iamRolesToOverride": [], "preferredRole": null},
                "scopes": REQUESTED_SCOPES,
            },
            "response": {"claimsAndScopeOverrideDetails": null}
        }))
        .unwrap()
    }
}

async fn seeded() -> TestDatabase {
    let db = fresh_database().await;
    db.seed_demo_world().await;
    db
}

async fn run(
    db: &TestDatabase,
    event: PreTokenGenerationEvent,
) -> Result<PreTokenGenerationEvent, TriggerError> {
    pre_token_generation(&db.app, RESOURCE_SERVER, event).await
}

/// What the trigger answered for each token.
struct Answer {
    id_token: IdTokenGeneration,
    access_token: AccessTokenGeneration,
}

impl Answer {
    fn of(event: PreTokenGenerationEvent) -> Answer {
        let details = event
            .response
            .claims_and_scope_override_details
            .expect("the response is filled in");
        Answer {
            id_token: details.id_token_generation.expect("ID token changes"),
            access_token: details
                .access_token_generation
                .expect("access token changes"),
        }
    }

    fn claim(&self, name: &str) -> &str {
        let id = self
            .id_token
            .claims_to_add_or_override
            .get(name)
            .and_then(Value::as_str);
        let access = self
            .access_token
            .claims_to_add_or_override
            .get(name)
            .and_then(Value::as_str);
        assert_eq!(id, access, "{name} must be the same in both tokens");
        id.unwrap_or_else(|| panic!("claim {name} missing"))
    }

    fn member_id(&self) -> MemberId {
        MemberId(self.claim("member_id").parse().unwrap())
    }

    fn suppressed(&self) -> Vec<&str> {
        self.access_token
            .scopes_to_suppress
            .iter()
            .map(String::as_str)
            .collect()
    }
}

async fn sign_in(db: &TestDatabase, user: User) -> Answer {
    Answer::of(run(db, user.sign_in()).await.unwrap())
}

async fn members_with_identity(db: &TestDatabase, user: User) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM members WHERE provider = $1 AND subject = $2")
        .bind(user.provider)
        .bind(user.subject)
        .fetch_one(&db.owner)
        .await
        .unwrap()
}

async fn set_status(
    db: &TestDatabase,
    tenant: TenantId,
    member: MemberId,
    status: db::members::MemberStatus,
) {
    let mut tx = db::tenant_tx(&db.app, tenant).await.unwrap();
    assert!(
        db::members::set_status(&mut tx, member, status)
            .await
            .unwrap()
    );
    tx.commit().await.unwrap();
}

async fn member(db: &TestDatabase, tenant: TenantId, id: MemberId) -> db::members::Member {
    let mut tx = db::tenant_tx(&db.app, tenant).await.unwrap();
    db::members::get(&mut tx, id)
        .await
        .unwrap()
        .expect("the member exists in its tenant")
}

#[tokio::test]
async fn alice_a_saas_admin_is_admin_keeps_every_scope_and_both_tokens_carry_the_tenant_claims() {
    let db = seeded().await;
    let acme = db.tenant_id("acme").await;
    let answer = sign_in(&db, ALICE).await;

    assert_eq!(answer.claim("tenant_id"), acme.to_string());
    assert_eq!(answer.claim("tenant_role"), "admin");
    assert_eq!(answer.claim("tenant_plan"), "pro");
    assert!(answer.suppressed().is_empty());
    assert!(answer.access_token.scopes_to_add.is_empty());

    let alice = member(&db, acme, answer.member_id()).await;
    assert_eq!(
        (alice.provider.as_str(), alice.subject.as_str()),
        (ALICE.provider, ALICE.subject)
    );
    assert_eq!(
        (alice.email.as_str(), alice.name.as_str()),
        (ALICE.email, ALICE.name)
    );
    assert_eq!(alice.role, shared::Role::Admin);
    assert!(alice.last_sign_in_at.is_some());
}

#[tokio::test]
async fn bob_a_saas_user_is_a_member_and_loses_the_admin_scope() {
    let db = seeded().await;
    let answer = sign_in(&db, BOB).await;
    assert_eq!(answer.claim("tenant_role"), "member");
    assert_eq!(answer.suppressed(), ["saas-api/admin"]);
    assert!(answer.access_token.scopes_to_add.is_empty());
}

#[tokio::test]
async fn erin_without_groups_is_a_viewer_and_loses_write_and_admin() {
    let db = seeded().await;
    let answer = sign_in(&db, ERIN).await;
    assert_eq!(answer.claim("tenant_role"), "viewer");
    assert_eq!(answer.suppressed(), ["saas-api/write", "saas-api/admin"]);
}

#[tokio::test]
async fn the_highest_mapped_group_wins_and_only_exact_names_in_a_json_array_count() {
    let db = seeded().await;
    let both = User {
        groups: Some(r#"["SaaS-Users","SaaS-Admins"]"#),
        ..BOB
    };
    assert_eq!(sign_in(&db, both).await.claim("tenant_role"), "admin");
    let unmapped = User {
        groups: Some(r#"["Everyone","saas-admin"]"#),
        ..ERIN
    };
    assert_eq!(sign_in(&db, unmapped).await.claim("tenant_role"), "viewer");
}

#[tokio::test]
async fn a_group_named_with_a_comma_and_an_admin_group_or_an_ambiguous_list_never_makes_an_admin() {
    let db = seeded().await;
    for groups in [
        r#"["x, SaaS-Admins"]"#,
        "[x, SaaS-Admins]",
        "x, SaaS-Admins",
        "SaaS-Admins",
    ] {
        let user = User {
            groups: Some(groups),
            ..ERIN
        };
        assert_eq!(
            sign_in(&db, user).await.claim("tenant_role"),
            "viewer",
            "{groups}"
        );
    }
}

#[tokio::test]
async fn mallory_from_globex_okta_with_an_acme_email_lands_in_globex_never_in_acme() {
    let db = seeded().await;
    let globex = db.tenant_id("globex").await;
    let acme = db.tenant_id("acme").await;
    let answer = sign_in(&db, MALLORY).await;

    assert_eq!(answer.claim("tenant_id"), globex.to_string());
    assert_eq!(answer.claim("tenant_plan"), "basic");
    assert_eq!(answer.claim("tenant_role"), "admin");
    let in_acme: i64 = sqlx::query_scalar("SELECT count(*) FROM members WHERE tenant_id = $1")
        .bind(acme.0)
        .fetch_one(&db.owner)
        .await
        .unwrap();
    assert_eq!(in_acme, 0);
    assert_eq!(
        member(&db, globex, answer.member_id()).await.email,
        "mallory@acme.example"
    );
}

#[tokio::test]
async fn a_provider_no_tenant_owns_and_a_native_pool_user_are_refused() {
    let db = seeded().await;
    let stranger = User {
        provider: "evil-okta",
        subject: "00u-evil",
        email: "alice@acme.example",
        ..ALICE
    };
    let error = run(&db, stranger.sign_in()).await.unwrap_err();
    assert!(
        matches!(
            error,
            TriggerError::Refused(ErrorCode::UnknownIdentityProvider)
        ),
        "{error:?}"
    );

    let mut native = ALICE.sign_in();
    native.user_name = "alice".into();
    native.request.user_attributes.remove("identities");
    let error = run(&db, native).await.unwrap_err();
    assert!(
        matches!(
            error,
            TriggerError::Refused(ErrorCode::UnknownIdentityProvider)
        ),
        "{error:?}"
    );

    let members: i64 = sqlx::query_scalar("SELECT count(*) FROM members")
        .fetch_one(&db.owner)
        .await
        .unwrap();
    assert_eq!(members, 0);
}

#[tokio::test]
async fn an_identity_whose_provider_disagrees_with_the_user_name_is_an_invalid_event() {
    let db = seeded().await;
    let mut event = MALLORY.sign_in();
    event.user_name = format!("acme-entra_{}", MALLORY.subject);
    let error = run(&db, event).await.unwrap_err();
    assert!(matches!(error, TriggerError::InvalidEvent(_)), "{error:?}");
    assert_eq!(members_with_identity(&db, MALLORY).await, 0);
}

#[tokio::test]
async fn a_deactivated_member_is_refused_at_sign_in_and_at_refresh_and_nothing_is_updated() {
    let db = seeded().await;
    let acme = db.tenant_id("acme").await;
    let bob = sign_in(&db, BOB).await.member_id();
    set_status(&db, acme, bob, db::members::MemberStatus::Deactivated).await;
    let before = member(&db, acme, bob).await;

    let renamed = User {
        name: "Robert Brown",
        groups: Some(r#"["SaaS-Admins"]"#),
        ..BOB
    };
    for event in [renamed.sign_in(), renamed.refresh()] {
        let error = run(&db, event).await.unwrap_err();
        assert!(
            matches!(
                error,
                TriggerError::Refused(ErrorCode::MembershipDeactivated)
            ),
            "{error:?}"
        );
    }
    assert_eq!(member(&db, acme, bob).await, before);
    assert_eq!(members_with_identity(&db, BOB).await, 1);

    set_status(&db, acme, bob, db::members::MemberStatus::Active).await;
    assert_eq!(
        Answer::of(run(&db, BOB.refresh()).await.unwrap()).member_id(),
        bob
    );
}

#[tokio::test]
async fn the_same_identity_signing_in_twice_is_one_member_with_the_latest_profile_and_role() {
    let db = seeded().await;
    let acme = db.tenant_id("acme").await;
    let first = sign_in(&db, BOB).await.member_id();
    let first_seen = member(&db, acme, first).await.last_sign_in_at;

    let changed = User {
        email: "bob.brown@acme.example",
        name: "Bob B.",
        groups: None,
        ..BOB
    };
    let second = sign_in(&db, changed).await;
    assert_eq!(second.member_id(), first);
    assert_eq!(
        second.claim("tenant_role"),
        "viewer",
        "the role follows the IdP's groups at every sign-in"
    );
    assert_eq!(members_with_identity(&db, BOB).await, 1);
    let bob = member(&db, acme, first).await;
    assert_eq!(
        (bob.email.as_str(), bob.name.as_str()),
        ("bob.brown@acme.example", "Bob B.")
    );
    assert!(bob.last_sign_in_at > first_seen);

    let refreshed = Answer::of(run(&db, BOB.refresh()).await.unwrap());
    assert_eq!(refreshed.member_id(), first);
    assert_eq!(
        member(&db, acme, first).await.last_sign_in_at,
        bob.last_sign_in_at,
        "a refresh is not a sign-in"
    );
}

/// Alice or Bob with only the group that maps to member.
fn as_saas_user(user: User) -> User {
    User {
        groups: Some(r#"["SaaS-Users"]"#),
        ..user
    }
}

/// Bob in the group that maps to admin.
const BOB_AS_ADMIN: User = User {
    groups: Some(r#"["SaaS-Admins"]"#),
    ..BOB
};

/// The `member_role_kept` audit entries of `tenant`: (target id, details).
async fn roles_kept(db: &TestDatabase, tenant: TenantId) -> Vec<(String, Value)> {
    sqlx::query_as(
        "SELECT target_id, details FROM audit_events WHERE tenant_id = $1 AND action = 'member_role_kept' \
         ORDER BY at",
    )
    .bind(tenant.0)
    .fetch_all(&db.owner)
    .await
    .unwrap()
}

async fn active_admins(db: &TestDatabase, tenant: TenantId) -> i64 {
    sqlx::query_scalar(
        "SELECT count(*) FROM members WHERE tenant_id = $1 AND role = 'admin' AND status = 'active'",
    )
    .bind(tenant.0)
    .fetch_one(&db.owner)
    .await
    .unwrap()
}

#[tokio::test]
async fn the_last_active_admin_whose_groups_no_longer_map_to_admin_keeps_the_role_and_it_is_audited()
 {
    let db = seeded().await;
    let acme = db.tenant_id("acme").await;
    let alice = sign_in(&db, ALICE).await.member_id();

    for event in [as_saas_user(ALICE).sign_in(), as_saas_user(ALICE).refresh()] {
        let answer = Answer::of(run(&db, event).await.unwrap());
        assert_eq!(
            answer.claim("tenant_role"),
            "admin",
            "never a refusal, never a demotion"
        );
        assert!(answer.suppressed().is_empty());
    }
    let recorded = member(&db, acme, alice).await;
    assert_eq!(recorded.role, shared::Role::Admin);
    assert_eq!(recorded.idp_groups, Some(vec!["SaaS-Users".to_owned()]));
    let kept = roles_kept(&db, acme).await;
    assert_eq!(kept.len(), 2);
    assert_eq!(kept[0].0, alice.to_string());
    assert_eq!(kept[0].1["reason"], "last_admin");
    assert_eq!(kept[0].1["mapped_role"], "member");
    assert_eq!(kept[0].1["groups"], json!(["SaaS-Users"]));

    // Once another active admin exists, the mapping applies.
    sign_in(&db, BOB_AS_ADMIN).await;
    let answer = sign_in(&db, as_saas_user(ALICE)).await;
    assert_eq!(answer.claim("tenant_role"), "member");
    assert_eq!(roles_kept(&db, acme).await.len(), 2);
}

#[tokio::test]
async fn concurrent_sign_ins_demoting_the_two_remaining_admins_leave_exactly_one() {
    let db = seeded().await;
    let acme = db.tenant_id("acme").await;
    sign_in(&db, ALICE).await;
    sign_in(&db, BOB_AS_ADMIN).await;
    assert_eq!(active_admins(&db, acme).await, 2);

    let (alice, bob) = tokio::join!(
        run(&db, as_saas_user(ALICE).sign_in()),
        run(&db, as_saas_user(BOB).sign_in()),
    );
    let mut roles = [
        Answer::of(alice.unwrap()).claim("tenant_role").to_owned(),
        Answer::of(bob.unwrap()).claim("tenant_role").to_owned(),
    ];
    roles.sort();
    assert_eq!(roles, ["admin", "member"], "one demoted, one kept");
    assert_eq!(active_admins(&db, acme).await, 1);
    assert_eq!(roles_kept(&db, acme).await.len(), 1);
}

#[tokio::test]
async fn concurrent_first_sign_ins_of_one_identity_create_one_member() {
    let db = seeded().await;
    let (a, b) = tokio::join!(run(&db, ERIN.sign_in()), run(&db, ERIN.sign_in()));
    assert_eq!(
        Answer::of(a.unwrap()).member_id(),
        Answer::of(b.unwrap()).member_id()
    );
    assert_eq!(members_with_identity(&db, ERIN).await, 1);
}

#[tokio::test]
async fn the_same_email_through_two_providers_is_two_members_never_linked_by_email() {
    let db = seeded().await;
    let acme = db.tenant_id("acme").await;
    // A second identity provider for Acme, so that both sign-ins land in the same tenant.
    sqlx::query(
        "INSERT INTO tenant_identity_providers (id, tenant_id, provider_name, kind, group_role_mapping) \
         VALUES (gen_random_uuid(), $1, 'acme-okta', 'okta', '{\"admins\": \"admin\"}')",
    )
    .bind(acme.0)
    .execute(&db.owner)
    .await
    .unwrap();

    let via_okta = User {
        provider: "acme-okta",
        subject: "00u-alice-at-okta",
        groups: None,
        ..ALICE
    };
    let via_globex = User {
        provider: "globex-okta",
        subject: "00u-alice-at-globex",
        groups: None,
        ..ALICE
    };
    let entra = sign_in(&db, ALICE).await;
    let okta = sign_in(&db, via_okta).await;
    let globex = sign_in(&db, via_globex).await;

    assert_ne!(entra.member_id(), okta.member_id());
    assert_eq!(okta.claim("tenant_id"), acme.to_string());
    assert_eq!(
        okta.claim("tenant_role"),
        "viewer",
        "the Entra identity's admin role is not inherited by email"
    );
    assert_eq!(
        globex.claim("tenant_id"),
        db.tenant_id("globex").await.to_string()
    );
    let with_email: i64 = sqlx::query_scalar("SELECT count(*) FROM members WHERE email = $1")
        .bind(ALICE.email)
        .fetch_one(&db.owner)
        .await
        .unwrap();
    assert_eq!(with_email, 3);
}
