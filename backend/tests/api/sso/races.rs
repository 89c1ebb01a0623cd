//! The set-up's steps against what happens at the same time: a revocation of the link while a domain step is in
//! flight, and two verifications of one domain at once. Each test holds a row lock from its own connection,
//! waits until the step under test is queued behind it (seen in `pg_stat_activity`), then lets go, so the
//! interleaving is the one named, not a matter of timing.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::json;
use shared::ErrorCode;
use shared::api::{DomainStatus, DomainVerification};
use sqlx::PgPool;

use super::{claim_and_publish, create_initech, opened_link, opened_wizard};
use crate::console::error_body;
use crate::helpers::TestApp;
use crate::tenant_lifecycle::{console, json};

/// Waits until `count` other sessions of the database wait for a lock; panics after 30 s, which means the
/// steps under test never queued behind the lock held.
async fn await_lock_waiters(db: &PgPool, count: i64) {
    for _ in 0..300 {
        let waiting: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() \
             AND pid <> pg_backend_pid() AND wait_event_type = 'Lock'",
        )
        .fetch_one(db)
        .await
        .unwrap();
        if waiting >= count {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{count} step(s) should have waited for the lock held by the test");
}

/// Sends `request` while the test holds the link `link_id`'s row, and revokes the link once the step waits
/// for it: the step must find the link closed and write nothing.
async fn revoked_in_flight(
    app: &TestApp,
    link_id: &str,
    request: impl Future<Output = reqwest::Response>,
) -> reqwest::Response {
    let link_id = uuid::Uuid::parse_str(link_id).unwrap();
    let mut lock = app.db.owner.begin().await.unwrap();
    sqlx::query("SELECT id FROM sso_setup_links WHERE id = $1 FOR UPDATE")
        .bind(link_id)
        .execute(&mut *lock)
        .await
        .unwrap();
    let revoke = async {
        await_lock_waiters(&app.db.owner, 1).await;
        sqlx::query("UPDATE sso_setup_links SET revoked_at = now() WHERE id = $1")
            .bind(link_id)
            .execute(&mut *lock)
            .await
            .unwrap();
        lock.commit().await.unwrap();
    };
    let (response, ()) = tokio::join!(request, revoke);
    response
}

/// How many `domain_verified` entries the tenant's audit log and the platform log hold for `tenant`.
async fn verifications_audited(app: &TestApp, tenant: &str) -> (i64, i64) {
    sqlx::query_as(
        "SELECT (SELECT count(*) FROM audit_events WHERE tenant_id = $1 AND action = 'domain_verified'), \
                (SELECT count(*) FROM platform_audit_events \
                 WHERE target_tenant_id = $1 AND action = 'domain_verified')",
    )
    .bind(uuid::Uuid::parse_str(tenant).unwrap())
    .fetch_one(&app.db.owner)
    .await
    .unwrap()
}

async fn domain_rows(app: &TestApp, tenant: &str) -> Vec<(String, String)> {
    sqlx::query_as("SELECT domain, status FROM tenant_domains WHERE tenant_id = $1 ORDER BY domain")
        .bind(uuid::Uuid::parse_str(tenant).unwrap())
        .fetch_all(&app.db.owner)
        .await
        .unwrap()
}

#[tokio::test]
async fn a_revocation_is_never_outrun_by_a_domain_step_already_under_way() {
    let app = TestApp::spawn().await;
    let console = console(&app).await;
    let initech = create_initech(&console).await;

    // A claim in flight when the link is revoked: refused, nothing claimed.
    let (wizard, link) = opened_link(&app, &console, &initech).await;
    let claimed = revoked_in_flight(
        &app,
        &link,
        wizard.send(
            Method::POST,
            "/setup/api/v1/domains",
            Some(json!({ "domain": "initech.example" })),
        ),
    )
    .await;
    assert_eq!(claimed.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(error_body(claimed).await.code, ErrorCode::SetupLinkInvalid);
    assert!(domain_rows(&app, &initech).await.is_empty());

    // A verification in flight, its record published: refused, the domain still pending and unaudited.
    let (wizard, link) = opened_link(&app, &console, &initech).await;
    claim_and_publish(&app, &wizard, "initech.example").await;
    let verified = revoked_in_flight(
        &app,
        &link,
        wizard.send(
            Method::POST,
            "/setup/api/v1/domains/initech.example/verify",
            None,
        ),
    )
    .await;
    assert_eq!(verified.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(error_body(verified).await.code, ErrorCode::SetupLinkInvalid);
    assert_eq!(
        domain_rows(&app, &initech).await,
        [("initech.example".to_owned(), "pending".to_owned())]
    );
    assert_eq!(verifications_audited(&app, &initech).await, (0, 0));

    // A removal in flight: refused, the domain still listed.
    let (wizard, link) = opened_link(&app, &console, &initech).await;
    let removed = revoked_in_flight(
        &app,
        &link,
        wizard.send(
            Method::DELETE,
            "/setup/api/v1/domains/initech.example",
            None,
        ),
    )
    .await;
    assert_eq!(removed.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(error_body(removed).await.code, ErrorCode::SetupLinkInvalid);
    assert_eq!(domain_rows(&app, &initech).await.len(), 1);
}

#[tokio::test]
async fn two_verifications_at_once_verify_the_domain_once_in_each_log() {
    let app = TestApp::spawn().await;
    let console = console(&app).await;
    let initech = create_initech(&console).await;
    let wizard = opened_wizard(&app, &console, &initech).await;
    claim_and_publish(&app, &wizard, "initech.example").await;

    // Both look the record up while the domain's row is held, so both read it pending before either writes.
    let mut lock = app.db.owner.begin().await.unwrap();
    sqlx::query("SELECT domain FROM tenant_domains WHERE tenant_id = $1 FOR UPDATE")
        .bind(uuid::Uuid::parse_str(&initech).unwrap())
        .execute(&mut *lock)
        .await
        .unwrap();
    let verify = "/setup/api/v1/domains/initech.example/verify";
    let release = async {
        await_lock_waiters(&app.db.owner, 2).await;
        lock.commit().await.unwrap();
    };
    let (first, second, ()) = tokio::join!(
        wizard.send(Method::POST, verify, None),
        wizard.send(Method::POST, verify, None),
        release
    );
    for response in [first, second] {
        let verification: DomainVerification = json(response).await;
        assert!(verification.verified);
        assert_eq!(verification.domain.status, DomainStatus::Verified);
    }
    assert_eq!(verifications_audited(&app, &initech).await, (1, 1));
}
