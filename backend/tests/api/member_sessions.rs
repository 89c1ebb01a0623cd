//! A member's browser sessions: listed for the member and the tenant's admins (device, address, times, which
//! one is this one), ended by either at once (the browser's next request is signed out, and no token of the
//! sign-in works any more), gone from the list at sign-out and expiry, and audited.

use std::time::Duration;

use backend::auth::session::SessionStore;
use reqwest::{Method, StatusCode};
use shared::api::{AuditAction, AuditPage, SessionList, SessionsEnded};
use shared::{ErrorBody, ErrorCode};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use tower_sessions::session_store::ExpiredDeletion as _;

use crate::helpers::{ALICE, BOB, CAROL, ERIN, SignedIn, TestApp};
use crate::revocation::session_access_token;

const MY_SESSIONS: &str = "/api/v1/me/sessions";
const CHROME: &str = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) \
                      Chrome/131.0.0.0 Safari/537.36";

/// The id of the browser's own session, as its list marks it.
async fn own_session_id(signed_in: &SignedIn) -> String {
    let list: SessionList = signed_in.get_json(MY_SESSIONS).await;
    let current: Vec<_> = list.sessions.iter().filter(|s| s.current).collect();
    assert_eq!(
        current.len(),
        1,
        "exactly one session is this one: {list:?}"
    );
    current[0].id.clone()
}

/// The member id of the signed-in member.
async fn member_id(signed_in: &SignedIn) -> String {
    signed_in.me().await.user.id
}

/// The status and error code of `GET /api/v1/me` through the browser's session.
async fn me_status(signed_in: &SignedIn) -> StatusCode {
    signed_in.me_response().await.status()
}

/// The tenant's `sessions_ended` events, newest first, as `admin` reads them.
async fn sessions_ended_events(admin: &SignedIn) -> AuditPage {
    admin.get_json("/api/v1/audit?action=sessions_ended").await
}

#[tokio::test]
async fn a_member_sees_each_of_their_sessions_with_device_address_and_times_and_which_one_is_this_one()
 {
    let app = TestApp::spawn().await;
    let before = OffsetDateTime::now_utc() - time::Duration::seconds(1);
    let laptop = app.sign_in_from(&BOB, CHROME).await;
    let script = app.sign_in(&BOB).await;
    // Someone else's sessions are not Bob's.
    let _alice = app.sign_in(&ALICE).await;

    let list: SessionList = laptop.get_json(MY_SESSIONS).await;
    assert_eq!(list.member.email, BOB.email);
    assert_eq!(list.sessions.len(), 2, "{list:?}");
    assert!(list.sessions[0].current, "the session asking comes first");
    let this = &list.sessions[0];
    assert_eq!(this.device, "Chrome 131 on Linux");
    assert_eq!(this.user_agent, CHROME);
    assert_eq!(this.address.as_deref(), Some("127.0.0.1"));
    for session in &list.sessions {
        let signed_in_at = OffsetDateTime::parse(&session.signed_in_at, &Rfc3339).unwrap();
        let last_seen_at = OffsetDateTime::parse(&session.last_seen_at, &Rfc3339).unwrap();
        assert!(
            signed_in_at > before && last_seen_at >= signed_in_at,
            "{session:?}"
        );
    }
    let other = list.sessions.iter().find(|s| !s.current).unwrap();
    assert_eq!(other.device, "Unknown browser", "no User-Agent was sent");
    assert_eq!(other.user_agent, "");

    // The other browser sees the same two sessions, with itself as the current one.
    let seen_there: SessionList = script.get_json(MY_SESSIONS).await;
    let there = seen_there.sessions.iter().find(|s| s.current).unwrap();
    assert_eq!(there.id, other.id);
    // An admin sees them too, none of them as their own.
    let alice = app.sign_in(&ALICE).await;
    let by_admin: SessionList = alice
        .get_json(&format!(
            "/api/v1/members/{}/sessions",
            member_id(&laptop).await
        ))
        .await;
    assert_eq!(by_admin.sessions.len(), 2);
    assert!(by_admin.sessions.iter().all(|s| !s.current));
}

#[tokio::test]
async fn a_session_in_use_shows_when_it_was_last_seen() {
    let app = TestApp::spawn_with(Box::new(|config, _| {
        config.session_idle = time::Duration::seconds(4)
    }))
    .await;
    let bob = app.sign_in(&BOB).await;
    let list: SessionList = bob.get_json(MY_SESSIONS).await;
    let first = list.sessions[0].last_seen_at.clone();

    // With a 4 s idle timeout the session is touched at most once a second.
    tokio::time::sleep(Duration::from_millis(1_200)).await;
    assert_eq!(me_status(&bob).await, StatusCode::OK);
    let list: SessionList = bob.get_json(MY_SESSIONS).await;
    assert!(
        list.sessions[0].last_seen_at > first,
        "{} after {first}",
        list.sessions[0].last_seen_at
    );
}

#[tokio::test]
async fn ending_one_of_ones_own_sessions_signs_that_browser_out_at_once_and_leaves_the_others() {
    let app = TestApp::spawn().await;
    let kept = app.sign_in(&BOB).await;
    let ended = app.sign_in(&BOB).await;
    let ended_id = own_session_id(&ended).await;
    let ended_token = session_access_token(&app, &ended).await;
    assert_eq!(
        app.get_with_bearer("/api/v1/me", &ended_token)
            .await
            .status(),
        StatusCode::OK
    );

    let response = kept
        .send(Method::DELETE, &format!("{MY_SESSIONS}/{ended_id}"), None)
        .await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);

    assert_eq!(me_status(&ended).await, StatusCode::UNAUTHORIZED);
    assert_eq!(
        app.get_with_bearer("/api/v1/me", &ended_token)
            .await
            .status(),
        StatusCode::UNAUTHORIZED,
        "the ended session's token, wherever it is presented"
    );
    assert_eq!(me_status(&kept).await, StatusCode::OK);
    let list: SessionList = kept.get_json(MY_SESSIONS).await;
    assert_eq!(list.sessions.len(), 1);
    assert!(list.sessions[0].current);

    // Ending it again: there is no such session any more.
    let again = kept
        .send(Method::DELETE, &format!("{MY_SESSIONS}/{ended_id}"), None)
        .await;
    assert_eq!(again.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn sign_out_everywhere_ends_every_session_and_the_callers_own_sign_in_even_as_a_bearer_client()
 {
    let app = TestApp::spawn().await;
    let laptop = app.sign_in(&BOB).await;
    let phone = app.sign_in(&BOB).await;
    let script = app.pool_tokens(&BOB).await;
    let alice = app.sign_in(&ALICE).await;

    let response = reqwest::Client::new()
        .delete(app.url(MY_SESSIONS))
        .bearer_auth(&script.access_token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let ended: SessionsEnded = response.json().await.unwrap();
    assert_eq!(ended.ended, 2, "both browser sessions");

    for browser in [&laptop, &phone] {
        assert_eq!(me_status(browser).await, StatusCode::UNAUTHORIZED);
    }
    assert_eq!(
        app.get_with_bearer("/api/v1/me", &script.access_token)
            .await
            .status(),
        StatusCode::UNAUTHORIZED,
        "the caller's own bearer sign-in"
    );
    assert_eq!(me_status(&alice).await, StatusCode::OK, "other members");

    // From a browser, "everywhere" includes the browser asking.
    let browser = app.sign_in(&BOB).await;
    let response = browser.send(Method::DELETE, MY_SESSIONS, None).await;
    assert_eq!(response.status(), StatusCode::OK);
    let ended: SessionsEnded = response.json().await.unwrap();
    assert_eq!(ended.ended, 1);
    assert_eq!(me_status(&browser).await, StatusCode::UNAUTHORIZED);

    let events = sessions_ended_events(&alice).await;
    assert_eq!(events.items.len(), 2);
    for event in &events.items {
        assert_eq!(event.action, AuditAction::SessionsEnded);
        assert_eq!(event.actor.as_ref().unwrap().email, BOB.email);
        assert_eq!(event.target.as_ref().unwrap().label, BOB.email);
        assert_eq!(event.details["everywhere"], true);
    }
    assert_eq!(events.items[1].details["sessions"], 2);
}

#[tokio::test]
async fn an_admin_ends_one_or_all_of_a_members_sessions_at_once_and_it_is_audited() {
    let app = TestApp::spawn().await;
    let alice = app.sign_in(&ALICE).await;
    let laptop = app.sign_in_from(&BOB, CHROME).await;
    let phone = app.sign_in(&BOB).await;
    let bob_id = member_id(&laptop).await;
    let laptop_session = own_session_id(&laptop).await;
    let sessions = format!("/api/v1/members/{bob_id}/sessions");

    let response = alice
        .send(
            Method::DELETE,
            &format!("{sessions}/{laptop_session}"),
            None,
        )
        .await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    assert_eq!(me_status(&laptop).await, StatusCode::UNAUTHORIZED);
    assert_eq!(me_status(&phone).await, StatusCode::OK);
    let list: SessionList = alice.get_json(&sessions).await;
    assert_eq!(list.sessions.len(), 1);

    let response = alice.send(Method::DELETE, &sessions, None).await;
    assert_eq!(response.status(), StatusCode::OK);
    let ended: SessionsEnded = response.json().await.unwrap();
    assert_eq!(ended.ended, 1);
    assert_eq!(me_status(&phone).await, StatusCode::UNAUTHORIZED);
    assert_eq!(me_status(&alice).await, StatusCode::OK);
    let list: SessionList = alice.get_json(&sessions).await;
    assert!(list.sessions.is_empty());

    let events = sessions_ended_events(&alice).await;
    assert_eq!(events.items.len(), 2);
    let (all, one) = (&events.items[0], &events.items[1]);
    for event in [all, one] {
        assert_eq!(event.actor.as_ref().unwrap().email, ALICE.email);
        let target = event.target.as_ref().unwrap();
        assert_eq!(
            (target.kind.as_str(), target.id.as_str()),
            ("member", bob_id.as_str())
        );
        assert!(event.details.get("everywhere").is_none());
    }
    assert_eq!(one.details["sessions"], 1);
    assert_eq!(one.details["device"], "Chrome 131 on Linux");
    assert_eq!(all.details["sessions"], 1);
}

#[tokio::test]
async fn sessions_of_another_member_or_tenant_are_not_found_and_nothing_ends() {
    let app = TestApp::spawn().await;
    let alice = app.sign_in(&ALICE).await;
    let bob = app.sign_in(&BOB).await;
    let erin = app.sign_in(&ERIN).await;
    let carol = app.sign_in(&CAROL).await;
    let bob_id = member_id(&bob).await;
    let alice_id = member_id(&alice).await;
    let bob_session = own_session_id(&bob).await;

    let not_found = |response: reqwest::Response| async move {
        assert_eq!(response.status(), StatusCode::NOT_FOUND);
        let body: ErrorBody = response.json().await.unwrap();
        assert_eq!(body.code, ErrorCode::NotFound);
    };
    // Another member's session through one's own list.
    not_found(
        erin.send(
            Method::DELETE,
            &format!("{MY_SESSIONS}/{bob_session}"),
            None,
        )
        .await,
    )
    .await;
    // Bob's session named as Alice's.
    not_found(
        alice
            .send(
                Method::DELETE,
                &format!("/api/v1/members/{alice_id}/sessions/{bob_session}"),
                None,
            )
            .await,
    )
    .await;
    // Globex's admin, for Acme's member.
    for method in [Method::GET, Method::DELETE] {
        not_found(
            carol
                .send(method, &format!("/api/v1/members/{bob_id}/sessions"), None)
                .await,
        )
        .await;
    }
    not_found(
        carol
            .send(
                Method::DELETE,
                &format!("/api/v1/members/{bob_id}/sessions/{bob_session}"),
                None,
            )
            .await,
    )
    .await;

    assert_eq!(me_status(&bob).await, StatusCode::OK);
    let events = sessions_ended_events(&alice).await;
    assert!(events.items.is_empty(), "{events:?}");
}

/// How many sessions the browser's own list shows.
async fn listed(signed_in: &SignedIn) -> usize {
    let list: SessionList = signed_in.get_json(MY_SESSIONS).await;
    list.sessions.len()
}

#[tokio::test]
async fn signing_out_and_expiry_take_a_session_off_the_list() {
    let app = TestApp::spawn().await;
    let kept = app.sign_in(&BOB).await;
    let signed_out = app.sign_in(&BOB).await;
    let expired = app.sign_in(&BOB).await;
    assert_eq!(listed(&kept).await, 3);

    let response = signed_out.send(Method::POST, "/auth/logout", None).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(listed(&kept).await, 2, "signed out");

    // Expired in the store: no longer listed, and the sweep (run by the application role, with no
    // tenant set) removes its row too.
    let cookie = expired.session_cookie().unwrap();
    sqlx::query(
        "UPDATE tower_sessions.session SET expiry_date = now() - interval '1 second'
         WHERE id = sha256(convert_to($1, 'UTF8'))",
    )
    .bind(&cookie)
    .execute(&app.db.owner)
    .await
    .unwrap();
    assert_eq!(listed(&kept).await, 1, "expired");
    SessionStore::new(app.db.app.clone())
        .delete_expired()
        .await
        .unwrap();
    let rows: i64 = sqlx::query_scalar("SELECT count(*) FROM member_sessions")
        .fetch_one(&app.db.owner)
        .await
        .unwrap();
    assert_eq!(rows, 1, "only the live session's row is left");
}
