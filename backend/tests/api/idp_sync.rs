//! The reconciler keeps the user pool's tenant identity providers and the web client's provider list in step
//! with the database, through the Cognito user-pool API of the stand-in (SigV4, the backend's IAM policy).

use std::collections::BTreeSet;
use std::time::Duration;

use aws_sdk_cognitoidentityprovider::types::{IdentityProviderTypeType, UserPoolClientType};
use backend::idp_sync::{self, DatabaseProviders, Reconciler, Report};

use crate::helpers::*;

/// The demo world's providers.
const DEMO_PROVIDERS: [&str; 2] = ["acme-entra", "globex-okta"];

fn names(list: &[String]) -> BTreeSet<&str> {
    list.iter().map(String::as_str).collect()
}

async fn reconciler(app: &TestApp) -> Reconciler {
    Reconciler::new(&app.config).await.unwrap()
}

async fn run(app: &TestApp) -> Report {
    reconciler(app)
        .await
        .run(&app.db.app, &idp_sync::no_secrets)
        .await
        .unwrap()
}

async fn run_with_demo_secrets(app: &TestApp) -> Report {
    let secrets = app.demo_world().client_secrets();
    reconciler(app)
        .await
        .run(&app.db.app, &|name| secrets.get(name).cloned())
        .await
        .unwrap()
}

/// The web client as the pool describes it.
async fn web_client(app: &TestApp) -> UserPoolClientType {
    app.cognito()
        .describe_user_pool_client()
        .user_pool_id(app.aws.user_pool_id())
        .client_id(&app.config.cognito_client_id)
        .send()
        .await
        .unwrap()
        .user_pool_client()
        .cloned()
        .unwrap()
}

/// The web client's supported identity providers, as the pool describes them.
async fn client_providers(app: &TestApp) -> BTreeSet<String> {
    web_client(app)
        .await
        .supported_identity_providers()
        .iter()
        .cloned()
        .collect()
}

/// What a CloudFormation update of the web client does: `UpdateUserPoolClient` with the template's settings
/// (the ones the client has) and no tenant identity providers (the template does not own them).
async fn reset_client_as_a_deployment_would(app: &TestApp) {
    let client = web_client(app).await;
    app.cognito()
        .update_user_pool_client()
        .user_pool_id(app.aws.user_pool_id())
        .client_id(&app.config.cognito_client_id)
        .set_callback_urls(Some(client.callback_urls().to_vec()))
        .set_logout_urls(Some(client.logout_urls().to_vec()))
        .set_allowed_o_auth_flows(Some(client.allowed_o_auth_flows().to_vec()))
        .set_allowed_o_auth_scopes(Some(client.allowed_o_auth_scopes().to_vec()))
        .allowed_o_auth_flows_user_pool_client(true)
        .set_read_attributes(Some(client.read_attributes().to_vec()))
        .set_write_attributes(Some(client.write_attributes().to_vec()))
        .set_explicit_auth_flows(Some(client.explicit_auth_flows().to_vec()))
        .set_prevent_user_existence_errors(client.prevent_user_existence_errors().cloned())
        .set_enable_token_revocation(client.enable_token_revocation())
        .set_access_token_validity(client.access_token_validity())
        .set_id_token_validity(client.id_token_validity())
        .refresh_token_validity(client.refresh_token_validity())
        .set_token_validity_units(client.token_validity_units().cloned())
        .supported_identity_providers("COGNITO")
        .send()
        .await
        .unwrap();
}

#[tokio::test]
async fn the_demo_providers_were_created_through_the_cognito_api_and_the_web_client_supports_them()
{
    let app = TestApp::spawn().await;
    let pool_providers = reconciler(&app).await.list_providers().await.unwrap();
    assert_eq!(
        pool_providers
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>(),
        DEMO_PROVIDERS
    );
    let described = app
        .cognito()
        .describe_identity_provider()
        .user_pool_id(app.aws.user_pool_id())
        .provider_name("acme-entra")
        .send()
        .await
        .unwrap();
    let provider = described.identity_provider().unwrap();
    assert_eq!(
        provider.provider_type(),
        Some(&IdentityProviderTypeType::Oidc)
    );
    let details = provider.provider_details().unwrap();
    assert_eq!(
        details["oidc_issuer"],
        format!(
            "{}/6f1c2a3e-0acb-4d5e-9f10-ac3e00000001/v2.0",
            app.aws.entra_base()
        )
    );
    assert_eq!(details["client_id"], "9a1b2c3d-4e5f-4a6b-8c7d-ac3e0000c11e");
    assert_eq!(details["authorize_scopes"], "openid email profile");
    assert_eq!(
        provider.attribute_mapping().unwrap()["custom:idp_groups"],
        "roles"
    );
    assert_eq!(
        client_providers(&app).await,
        DEMO_PROVIDERS.iter().map(|p| (*p).to_owned()).collect()
    );
    // Nothing of the secret reached the database.
    let stored: Vec<String> =
        sqlx::query_scalar("SELECT row_to_json(p)::text FROM tenant_identity_providers p")
            .fetch_all(&app.db.owner)
            .await
            .unwrap();
    assert!(
        stored
            .iter()
            .all(|row| !row.contains("local-demo-acme-entra-secret")),
        "{stored:?}"
    );
}

#[tokio::test]
async fn a_second_reconciliation_changes_nothing() {
    let app = TestApp::spawn().await;
    let report = run(&app).await;
    assert_eq!(names(&report.unchanged), DEMO_PROVIDERS.into());
    assert!(report.created.is_empty() && report.updated.is_empty() && report.deleted.is_empty());
    assert!(!report.client_updated);
    assert!(report.is_complete());
    // With the secrets at hand too: the secrets Cognito holds are the same.
    let report = run_with_demo_secrets(&app).await;
    assert_eq!(
        names(&report.unchanged),
        DEMO_PROVIDERS.into(),
        "{report:?}"
    );
}

#[tokio::test]
async fn a_deployment_that_resets_the_web_client_is_repaired_by_the_next_reconciliation() {
    let app = TestApp::spawn().await;
    let before = web_client(&app).await;
    reset_client_as_a_deployment_would(&app).await;
    assert!(
        app.sign_in_landing(&ALICE).await.starts_with("/?error="),
        "WITH the providers gone FROM the client, nobody can sign IN"
    );

    let report = run(&app).await;
    assert!(report.client_updated);
    assert!(report.is_complete());
    let after = web_client(&app).await;
    assert_eq!(
        names(after.supported_identity_providers()),
        DEMO_PROVIDERS.into()
    );
    // Everything else the update would reset is as it was.
    assert_eq!(after.callback_urls(), before.callback_urls());
    assert_eq!(after.logout_urls(), before.logout_urls());
    assert_eq!(after.allowed_o_auth_flows(), before.allowed_o_auth_flows());
    assert_eq!(
        after.allowed_o_auth_scopes(),
        before.allowed_o_auth_scopes()
    );
    assert_eq!(after.read_attributes(), before.read_attributes());
    assert_eq!(after.write_attributes(), before.write_attributes());
    assert_eq!(
        after.enable_token_revocation(),
        before.enable_token_revocation()
    );
    assert_eq!(
        after.prevent_user_existence_errors(),
        before.prevent_user_existence_errors()
    );
    assert_eq!(
        after.access_token_validity(),
        before.access_token_validity()
    );
    assert_eq!(
        after.refresh_token_validity(),
        before.refresh_token_validity()
    );
    assert_eq!(app.sign_in_landing(&ALICE).await, "/");
}

#[tokio::test]
async fn the_backends_periodic_reconciliation_restores_a_reset_client_on_its_own() {
    let app = TestApp::spawn().await;
    let task = tokio::spawn(idp_sync::keep_in_step(
        reconciler(&app).await,
        app.db.app.clone(),
        Some(Duration::from_millis(200)),
    ));
    reset_client_as_a_deployment_would(&app).await;
    let mut restored = false;
    for _ in 0..50 {
        if client_providers(&app).await.len() == DEMO_PROVIDERS.len() {
            restored = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    task.abort();
    assert!(
        restored,
        "the client's providers are back within five seconds"
    );
    assert_eq!(app.sign_in_landing(&CAROL).await, "/");
}

#[tokio::test]
async fn a_provider_changed_in_the_database_is_updated_in_the_pool_and_keeps_its_secret() {
    let app = TestApp::spawn().await;
    set_globex_provider(
        &app,
        "attribute_mapping = attribute_mapping || '{\"name\": \"preferred_username\"}'::jsonb",
    )
    .await;

    let report = run(&app).await;
    assert_eq!(names(&report.updated), ["globex-okta"].into(), "{report:?}");
    assert_eq!(names(&report.unchanged), ["acme-entra"].into());
    let described = app
        .cognito()
        .describe_identity_provider()
        .user_pool_id(app.aws.user_pool_id())
        .provider_name("globex-okta")
        .send()
        .await
        .unwrap();
    assert_eq!(
        described
            .identity_provider()
            .unwrap()
            .attribute_mapping()
            .unwrap()["name"],
        "preferred_username"
    );
    // The pool still holds the client secret: Okta accepts the pool's token request.
    assert_eq!(app.sign_in_landing(&CAROL).await, "/");
    assert_eq!(names(&run(&app).await.unchanged), DEMO_PROVIDERS.into());
}

#[tokio::test]
async fn a_provider_missing_from_the_pool_is_reported_without_its_secret_and_created_with_it() {
    let app = TestApp::spawn().await;
    app.cognito()
        .delete_identity_provider()
        .user_pool_id(app.aws.user_pool_id())
        .provider_name("globex-okta")
        .send()
        .await
        .unwrap();

    let report = run(&app).await;
    assert_eq!(names(&report.missing_secret), ["globex-okta"].into());
    assert!(!report.is_complete());
    assert_eq!(
        client_providers(&app).await,
        ["acme-entra".to_owned()].into(),
        "the client lists only providers that exist"
    );
    assert!(app.sign_in_landing(&CAROL).await.starts_with("/?error="));

    let report = run_with_demo_secrets(&app).await;
    assert_eq!(names(&report.created), ["globex-okta"].into());
    assert!(report.client_updated && report.is_complete());
    assert_eq!(app.sign_in_landing(&CAROL).await, "/");
}

#[tokio::test]
async fn a_provider_removed_from_the_database_is_deleted_from_the_pool() {
    let app = TestApp::spawn().await;
    let mut listed = idp_sync::desired_providers(&app.db.app).await.unwrap();
    listed.ready.retain(|p| p.name == "acme-entra");
    let report = reconciler(&app)
        .await
        .reconcile(&listed, &idp_sync::no_secrets)
        .await
        .unwrap();
    assert_eq!(names(&report.deleted), ["globex-okta"].into());
    assert_eq!(
        reconciler(&app).await.list_providers().await.unwrap(),
        ["acme-entra".to_owned()].into()
    );
    assert_eq!(
        client_providers(&app).await,
        ["acme-entra".to_owned()].into()
    );
}

#[tokio::test]
async fn an_empty_provider_list_deletes_nothing() {
    let app = TestApp::spawn().await;
    let report = reconciler(&app)
        .await
        .reconcile(&DatabaseProviders::default(), &idp_sync::no_secrets)
        .await
        .unwrap();
    assert!(report.deleted.is_empty());
    assert_eq!(names(&report.kept_unlisted), DEMO_PROVIDERS.into());
    assert!(!report.is_complete());
    assert_eq!(
        reconciler(&app).await.list_providers().await.unwrap().len(),
        2
    );
}

/// Changes a column of globex-okta's row, as the owner within Globex's tenant.
async fn set_globex_provider(app: &TestApp, assignment: &str) {
    let globex = app.db.tenant_id("globex").await;
    let mut tx = app.db.owner.begin().await.unwrap();
    sqlx::query("SELECT set_config('app.tenant_id', $1, TRUE)")
        .bind(globex.to_string())
        .execute(&mut *tx)
        .await
        .unwrap();
    sqlx::query(&format!(
        "UPDATE tenant_identity_providers SET {assignment} WHERE provider_name = 'globex-okta'"
    ))
    .execute(&mut *tx)
    .await
    .unwrap();
    tx.commit().await.unwrap();
}

#[tokio::test]
async fn a_provider_the_database_lists_without_an_issuer_is_kept_in_the_pool_and_reported() {
    let app = TestApp::spawn().await;
    set_globex_provider(&app, "issuer = null").await;
    let report = run(&app).await;
    assert!(report.deleted.is_empty(), "{report:?}");
    assert_eq!(names(&report.incomplete), ["globex-okta"].into());
    assert!(!report.is_complete());
    assert_eq!(
        reconciler(&app).await.list_providers().await.unwrap().len(),
        2
    );
    assert_eq!(app.sign_in_landing(&CAROL).await, "/");
}

#[tokio::test]
async fn a_provider_that_cannot_be_brought_in_line_keeps_no_other_tenant_from_signing_in() {
    let app = TestApp::spawn().await;
    reset_client_as_a_deployment_would(&app).await;
    // An issuer whose discovery document cannot be fetched: Cognito refuses the update.
    let unreachable = format!("{}/oauth2/default", closed_port_url().await);
    set_globex_provider(&app, &format!("issuer = '{unreachable}'")).await;

    let report = run(&app).await;
    assert_eq!(
        report
            .failed
            .iter()
            .map(|f| f.provider.as_str())
            .collect::<Vec<_>>(),
        ["globex-okta"],
        "{report:?}"
    );
    assert!(
        report.failed[0]
            .error
            .starts_with("UpdateIdentityProvider failed")
    );
    assert!(!report.is_complete());
    assert!(
        report.client_updated,
        "the web client is restored all the same"
    );
    assert_eq!(
        client_providers(&app).await,
        DEMO_PROVIDERS.iter().map(|p| (*p).to_owned()).collect(),
        "globex-okta keeps the settings it had and stays usable"
    );
    assert_eq!(app.sign_in_landing(&ALICE).await, "/");
}

#[tokio::test]
async fn backend_reconcile_idps_prints_its_report_and_fails_while_a_provider_is_missing() {
    let app = TestApp::spawn().await;
    // The command runs off the test's runtime, which serves the stand-ins meanwhile.
    let run_command = || {
        let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_backend"));
        command.arg("reconcile-idps");
        app.backend_env(&mut command);
        async move {
            tokio::task::spawn_blocking(move || command.output().unwrap())
                .await
                .unwrap()
        }
    };
    let out = run_command().await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["unchanged"], serde_json::json!(DEMO_PROVIDERS));

    app.cognito()
        .delete_identity_provider()
        .user_pool_id(app.aws.user_pool_id())
        .provider_name("acme-entra")
        .send()
        .await
        .unwrap();
    let out = run_command().await;
    assert!(!out.status.success());
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["missing_secret"], serde_json::json!(["acme-entra"]));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("missing_secret"),
        "the error says what to do"
    );
}
