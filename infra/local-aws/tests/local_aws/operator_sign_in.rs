//! The managed login of the operators' pool over HTTP, as a browser goes through it: the first sign-in with the
//! emailed temporary password (new password, authenticator app set-up), later sign-ins with password and code,
//! every failure with Cognito's message, and the forgotten password.

use std::time::{Duration, SystemTime};

use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::*;

const OPS: &str = "ops@example.com";
const NEW_PASSWORD: &str = "Correct-Horse-Battery-9";
const CALLBACK: &str = "http://localhost:3000/operator/auth/callback";

/// A browser signing in to the operators' console through the operators' pool.
struct Console<'w> {
    world: &'w World,
    attempt: Attempt,
    http: reqwest::Client,
}

/// A page of the managed login: its status and text.
struct Page {
    status: StatusCode,
    html: String,
}

impl Page {
    fn form(&self) -> Form {
        form(&self.html)
    }

    /// The page's error message, if it shows one.
    fn error(&self) -> Option<String> {
        let start = self.html.find("role=\"alert\">")? + "role=\"alert\">".len();
        let end = self.html[start..].find("</p>")? + start;
        Some(html_escape::decode_html_entities(&self.html[start..end]).into_owned())
    }

    fn title(&self) -> String {
        let start = self.html.find("<h1>").map_or(0, |at| at + 4);
        let end = self.html[start..]
            .find("</h1>")
            .map_or(start, |at| at + start);
        self.html[start..end].to_owned()
    }

    /// The secret key shown on the authenticator set-up page.
    fn secret(&self) -> String {
        let start = self.html.find("id=\"totp-secret\">").unwrap() + "id=\"totp-secret\">".len();
        let end = self.html[start..].find("</code>").unwrap() + start;
        self.html[start..end].to_owned()
    }
}

/// What a form post led to: a page, or a redirect.
enum Outcome {
    Page(Page),
    Redirect(String),
}

impl Outcome {
    fn page(self) -> Page {
        match self {
            Outcome::Page(page) => page,
            Outcome::Redirect(to) => panic!("a redirect to {to}, not a page"),
        }
    }

    fn redirect(self) -> String {
        match self {
            Outcome::Redirect(to) => to,
            Outcome::Page(page) => panic!(
                "a page ({}: {:?}), not a redirect",
                page.title(),
                page.error()
            ),
        }
    }
}

impl<'w> Console<'w> {
    fn new(world: &'w World) -> Console<'w> {
        Console {
            world,
            attempt: Attempt::new(),
            http: browser(),
        }
    }

    fn pool(&self) -> local_aws::UserPool<'w> {
        self.world.aws.user_pool("operators").unwrap()
    }

    /// The console's authorize request, followed to the login page.
    async fn login_page(&self) -> Page {
        let challenge = self.attempt.challenge();
        let console = self.pool().client("console").unwrap();
        let url = url::Url::parse_with_params(
            &format!("{}/oauth2/authorize", self.pool().auth_domain()),
            [
                ("client_id", console.client_id.as_str()),
                ("redirect_uri", CALLBACK),
                ("response_type", "code"),
                ("scope", "openid email saas-operator-api/operate"),
                ("state", &self.attempt.state),
                ("nonce", &self.attempt.nonce),
                ("code_challenge", &challenge),
                ("code_challenge_method", "S256"),
            ],
        )
        .unwrap();
        let to_login = self.http.get(url.as_str()).send().await.unwrap();
        self.get(&location(&to_login)).await
    }

    async fn get(&self, url: &str) -> Page {
        let response = self.http.get(url).send().await.unwrap();
        Page {
            status: response.status(),
            html: response.text().await.unwrap(),
        }
    }

    /// Posts `page`'s form with its hidden fields and `fields`.
    async fn submit(&self, page: &Page, fields: &[(&str, &str)]) -> Outcome {
        let form = page.form();
        let mut body: Vec<(String, String)> = form.hidden.clone();
        body.extend(
            fields
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
        );
        let response = self
            .http
            .post(format!("{}{}", self.pool().auth_domain(), form.action))
            .form(&body)
            .send()
            .await
            .unwrap();
        if response.status().is_redirection() {
            return Outcome::Redirect(location(&response));
        }
        Outcome::Page(Page {
            status: response.status(),
            html: response.text().await.unwrap(),
        })
    }

    async fn password(&self, username: &str, password: &str) -> Outcome {
        let login = self.login_page().await;
        assert_eq!(login.status, StatusCode::OK);
        self.submit(&login, &[("username", username), ("password", password)])
            .await
    }

    /// Posts a new password (and its confirmation) on the change-password page.
    async fn new_password(&self, page: &Page, password: &str, confirmation: &str) -> Outcome {
        self.submit(
            page,
            &[
                ("password", password),
                ("password_confirmation", confirmation),
            ],
        )
        .await
    }

    /// Posts a reset code and a new password on the reset page.
    async fn reset(&self, page: &Page, code: &str, password: &str) -> Outcome {
        self.submit(
            page,
            &[
                ("code", code),
                ("password", password),
                ("password_confirmation", password),
            ],
        )
        .await
    }

    /// A request to the operators' token endpoint as the console client.
    async fn token_request(&self, form: &[(&str, &str)]) -> reqwest::Response {
        let console = self.pool().client("console").unwrap();
        self.http
            .post(format!("{}/oauth2/token", self.pool().auth_domain()))
            .basic_auth(&console.client_id, Some(&console.client_secret))
            .form(form)
            .send()
            .await
            .unwrap()
    }

    /// The first sign-in with the temporary password: new password, then the authenticator set-up. Returns
    /// the secret and the redirect to the console.
    async fn first_sign_in(&self, temporary: &str) -> (String, String) {
        let change = self.password(OPS, temporary).await.page();
        assert_eq!(change.title(), "Change password");
        let setup = self
            .new_password(&change, NEW_PASSWORD, NEW_PASSWORD)
            .await
            .page();
        assert_eq!(setup.title(), "Set up your authenticator app");
        assert!(setup.html.contains("<svg"), "a QR code");
        let secret = setup.secret();
        let code = local_aws::totp_code(&secret, SystemTime::now()).unwrap();
        let done = self.submit(&setup, &[("code", &code)]).await.redirect();
        (secret, done)
    }

    /// Exchanges the callback's code at the operators' token endpoint.
    async fn tokens(&self, callback: &str) -> Value {
        assert!(callback.starts_with(CALLBACK), "{callback}");
        let params = query(callback);
        assert_eq!(params["state"], self.attempt.state);
        let response = self
            .token_request(&[
                ("grant_type", "authorization_code"),
                ("code", params["code"].as_str()),
                ("redirect_uri", CALLBACK),
                ("code_verifier", &self.attempt.verifier),
            ])
            .await;
        assert_eq!(response.status(), StatusCode::OK);
        response.json().await.unwrap()
    }
}

/// The code of the step after the current one: accepted (one step of tolerance) and never used yet.
fn next_code(secret: &str) -> String {
    local_aws::totp_code(secret, SystemTime::now() + Duration::from_secs(30)).unwrap()
}

#[tokio::test]
async fn an_invited_operator_sets_a_password_and_an_authenticator_then_signs_in_with_both() {
    let world = World::start_bare().await;
    let temporary = create_operator(&world, OPS).await;
    let console = Console::new(&world);
    let (secret, callback) = console.first_sign_in(&temporary).await;
    let tokens = console.tokens(&callback).await;

    let operators = world.aws.user_pool("operators").unwrap();
    let jwks: Value = world
        .get(&format!("{}/.well-known/jwks.json", operators.issuer()))
        .await
        .json()
        .await
        .unwrap();
    let console_id = operators.client("console").unwrap().client_id;
    let access = verify_with(
        tokens["access_token"].as_str().unwrap(),
        &jwks,
        operators.issuer(),
        &console_id,
    );
    assert_eq!(access["token_use"], "access");
    assert_eq!(access["client_id"], console_id.as_str());
    assert!(
        access["scope"]
            .as_str()
            .unwrap()
            .split(' ')
            .any(|s| s == "saas-operator-api/operate")
    );
    let id = verify_with(
        tokens["id_token"].as_str().unwrap(),
        &jwks,
        operators.issuer(),
        &console_id,
    );
    assert_eq!(id["email"], OPS);
    assert_eq!(id["cognito:username"], access["sub"], "named by its sub");
    assert!(id.get("identities").is_none(), "not a federated user");
    // Tokens of the operators' pool never verify with the tenants' keys.
    let tenant_jwks: Value = world
        .get(&format!("{}/.well-known/jwks.json", world.aws.issuer()))
        .await
        .json()
        .await
        .unwrap();
    let kid = jsonwebtoken::decode_header(tokens["access_token"].as_str().unwrap())
        .unwrap()
        .kid
        .unwrap();
    assert!(
        tenant_jwks["keys"]
            .as_array()
            .unwrap()
            .iter()
            .all(|key| key["kid"] != kid.as_str())
    );

    // The account is now confirmed with its factor.
    let got = operator_admin(&world)
        .admin_get_user()
        .user_pool_id(operators_pool_id(&world))
        .username(OPS)
        .send()
        .await
        .unwrap();
    assert_eq!(got.user_status().map(|s| s.as_str()), Some("CONFIRMED"));
    assert_eq!(
        got.user_mfa_setting_list(),
        ["SOFTWARE_TOKEN_MFA".to_owned()]
    );

    // Later: the temporary password no longer works; the new one asks for a code.
    let again = Console::new(&world);
    let refused = again.password(OPS, &temporary).await.page();
    assert_eq!(
        refused.error().as_deref(),
        Some("Incorrect username or password.")
    );
    let mfa = again.password("OPS@example.com", NEW_PASSWORD).await.page();
    assert_eq!(mfa.title(), "Enter your code");
    let callback = again
        .submit(&mfa, &[("code", &next_code(&secret))])
        .await
        .redirect();
    again.tokens(&callback).await;
}

#[tokio::test]
async fn wrong_passwords_and_unknown_users_get_the_same_answer_and_five_failures_lock_the_account()
{
    let world = World::start_bare().await;
    let temporary = create_operator(&world, OPS).await;
    let console = Console::new(&world);
    for (username, password) in [
        ("nobody@example.com", temporary.as_str()),
        (OPS, "Wrong-Password-123"),
    ] {
        let page = console.password(username, password).await.page();
        assert_eq!(page.status, StatusCode::OK);
        assert_eq!(
            page.error().as_deref(),
            Some("Incorrect username or password."),
            "{username}"
        );
    }
    for _ in 0..4 {
        console.password(OPS, "Wrong-Password-123").await;
    }
    // Five failures: locked, even with the right password.
    let locked = console.password(OPS, &temporary).await.page();
    assert_eq!(
        locked.error().as_deref(),
        Some("Password attempts exceeded")
    );
    // An unknown user is never "locked": that would tell the account exists.
    let unknown = console.password("nobody@example.com", "x").await.page();
    assert_eq!(
        unknown.error().as_deref(),
        Some("Incorrect username or password.")
    );
}

#[tokio::test]
async fn a_disabled_operator_is_told_so_only_with_the_right_password_and_their_sign_ins_end() {
    let world = World::start_bare().await;
    let temporary = create_operator(&world, OPS).await;
    let console = Console::new(&world);
    let (_, callback) = console.first_sign_in(&temporary).await;
    let tokens = console.tokens(&callback).await;
    operator_admin(&world)
        .admin_disable_user()
        .user_pool_id(operators_pool_id(&world))
        .username(OPS)
        .send()
        .await
        .unwrap();
    let wrong = console.password(OPS, "Wrong-Password-123").await.page();
    assert_eq!(
        wrong.error().as_deref(),
        Some("Incorrect username or password.")
    );
    let right = console.password(OPS, NEW_PASSWORD).await.page();
    assert_eq!(right.error().as_deref(), Some("User is disabled."));
    // The sign-in it had cannot be refreshed.
    let refreshed = console
        .token_request(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", tokens["refresh_token"].as_str().unwrap()),
        ])
        .await;
    assert_eq!(refreshed.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn challenges_refuse_bad_answers_with_cognitos_messages_and_a_session_works_once() {
    let world = World::start_bare().await;
    let temporary = create_operator(&world, OPS).await;
    let console = Console::new(&world);
    let change = console.password(OPS, &temporary).await.page();
    for (password, confirmation, message) in [
        (
            "Correct-Horse-9",
            "Correct-Horse-8",
            "The passwords do not match.",
        ),
        (
            "short-1A!",
            "short-1A!",
            "Password does not conform to policy: Password not long enough",
        ),
    ] {
        let page = console
            .new_password(&change, password, confirmation)
            .await
            .page();
        assert_eq!(page.error().as_deref(), Some(message));
    }
    let setup = console
        .new_password(&change, NEW_PASSWORD, NEW_PASSWORD)
        .await
        .page();
    // The new-password step is done: its session cannot be used again.
    let replayed = console
        .new_password(&change, NEW_PASSWORD, NEW_PASSWORD)
        .await
        .page();
    assert_eq!(replayed.status, StatusCode::BAD_REQUEST);
    assert!(
        replayed
            .html
            .contains("Invalid session for the user, session is expired.")
    );

    let wrong = console.submit(&setup, &[("code", "000000")]).await.page();
    assert_eq!(
        wrong.error().as_deref(),
        Some("Code mismatch and fail enable Software Token MFA")
    );
    let secret = setup.secret();
    let now_code = local_aws::totp_code(&secret, SystemTime::now()).unwrap();
    console
        .submit(&setup, &[("code", &now_code)])
        .await
        .redirect();

    // A code works once: the set-up's code cannot sign in again.
    let again = Console::new(&world);
    let mfa = again.password(OPS, NEW_PASSWORD).await.page();
    let wrong = again.submit(&mfa, &[("code", "123456")]).await.page();
    assert!(
        matches!(
            wrong.error().as_deref(),
            Some("Invalid code received for user")
                | Some("Your software token has already been used once.")
        ),
        "{:?}",
        wrong.error()
    );
    let reused = again.submit(&mfa, &[("code", &now_code)]).await.page();
    assert_eq!(
        reused.error().as_deref(),
        Some("Your software token has already been used once.")
    );
    again
        .submit(&mfa, &[("code", &next_code(&secret))])
        .await
        .redirect();
}

#[tokio::test]
async fn a_forgotten_password_is_reset_with_an_emailed_code() {
    let world = World::start_bare().await;
    let temporary = create_operator(&world, OPS).await;
    let console = Console::new(&world);
    let (secret, _) = console.first_sign_in(&temporary).await;

    let login = console.login_page().await;
    let forgot_link = login
        .html
        .split("href=\"")
        .find_map(|rest| {
            rest.split('"')
                .next()
                .filter(|href| href.contains("/forgotPassword"))
        })
        .map(|href| html_escape::decode_html_entities(href).into_owned())
        .unwrap();
    let forgot = console.get(&forgot_link).await;
    assert_eq!(forgot.status, StatusCode::OK);
    // Asking for a code for nobody and for the operator look the same.
    let for_nobody = console
        .submit(&forgot, &[("username", "nobody@example.com")])
        .await
        .redirect();
    let for_ops = console
        .submit(&forgot, &[("username", OPS)])
        .await
        .redirect();
    assert_eq!(
        for_nobody.replace("nobody%40example.com", "X"),
        for_ops.replace("ops%40example.com", "X")
    );
    assert!(
        world
            .aws
            .outbox()
            .messages_to("nobody@example.com")
            .is_empty()
    );
    let email = world.aws.outbox().messages_to(OPS).pop().unwrap();
    assert_eq!(email.subject, "Your verification code");
    let code = email
        .body
        .trim_start_matches("Your password reset code is ")
        .trim()
        .to_owned();
    assert_eq!(code.len(), 6, "{}", email.body);

    let confirm = console.get(&for_ops).await;
    let reset = "Another-Long-Passw0rd";
    let wrong = console.reset(&confirm, "999999x", reset).await.page();
    assert_eq!(
        wrong.error().as_deref(),
        Some("Invalid verification code provided, please try again.")
    );
    let to_login = console.reset(&confirm, &code, reset).await.redirect();
    assert!(to_login.contains("/login?"), "{to_login}");
    // The code is spent, and the new password signs in (with the code of the app).
    let spent = console.reset(&confirm, &code, reset).await.page();
    assert_eq!(
        spent.error().as_deref(),
        Some("Invalid code provided, please request a code again.")
    );
    let again = Console::new(&world);
    let old = again.password(OPS, NEW_PASSWORD).await.page();
    assert_eq!(
        old.error().as_deref(),
        Some("Incorrect username or password.")
    );
    let mfa = again.password(OPS, reset).await.page();
    again
        .submit(&mfa, &[("code", &next_code(&secret))])
        .await
        .redirect();
}
