//! The sign-in page: one email field that sends the visitor to their organisation's identity provider.

use leptos::prelude::*;
use shared::ErrorCode;
use web_sys::UrlSearchParams;

/// The message for an error code the app does not know (a newer server, or a hand-edited URL).
const UNKNOWN_ERROR_MESSAGE: &str = "Sign-in did not complete. Please try again.";

/// The sentence to show for the `error` query parameter the sign-in flow came back with.
///
/// Only known codes map to their own text; anything else gets one generic sentence, so whatever is in
/// the URL is never rendered on the page.
pub fn sign_in_error_message(code: &str) -> &'static str {
    ErrorCode::parse(code)
        .map(ErrorCode::default_message)
        .unwrap_or(UNKNOWN_ERROR_MESSAGE)
}

/// The `error` query parameter of the current page, if there is one.
fn error_code_in_url() -> Option<String> {
    let search = window().location().search().ok()?;
    UrlSearchParams::new_with_str(&search).ok()?.get("error")
}

/// The page a signed-out visitor sees.
#[component]
pub fn SignInPage() -> impl IntoView {
    let error = error_code_in_url().map(|code| sign_in_error_message(&code));
    view! {
        <main class="sign-in">
            <section class="card sign-in-card" aria-labelledby="sign-in-title">
                <Brand />
                <h1 id="sign-in-title">"Sign in"</h1>
                <p class="lead">
                    "Enter your work email. We will take you to your organisation's sign-in page, "
                    "where you sign in with your organisation's account."
                </p>
                {error.map(|message| view! { <ErrorBanner message=message /> })}
                <SignInForm />
            </section>
        </main>
    }
}

/// The product's name and mark.
#[component]
pub fn Brand() -> impl IntoView {
    view! {
        <div class="brand">
            <span class="brand-mark" aria-hidden="true">"S"</span>
            <span class="brand-name">"SaaS Reference"</span>
        </div>
    }
}

/// Why the last sign-in attempt did not work.
#[component]
fn ErrorBanner(message: &'static str) -> impl IntoView {
    view! {
        <div id="error-banner" class="banner banner-error" role="alert">
            {message}
        </div>
    }
}

/// The email form. A plain GET form, so it works before (or without) the wasm app.
#[component]
fn SignInForm() -> impl IntoView {
    view! {
        <form class="sign-in-form" method="get" action="/auth/login">
            <label for="email">"Work email"</label>
            <input
                id="email"
                name="email"
                type="email"
                autocomplete="username"
                placeholder="you@company.example"
                required=true
                autofocus=true
            />
            <button id="continue" class="button button-primary" type="submit">
                "Continue"
            </button>
        </form>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_codes_show_their_own_message() {
        assert_eq!(
            sign_in_error_message("no_sign_in_for_domain"),
            ErrorCode::NoSignInForDomain.default_message()
        );
        assert_eq!(
            sign_in_error_message("sign_in_expired"),
            ErrorCode::SignInExpired.default_message()
        );
    }

    #[test]
    fn unknown_codes_show_a_generic_message_and_never_the_query_text() {
        let crafted = "<img src=x onerror=alert(1)> Call +1-555-0100 to unlock your account";
        assert_eq!(sign_in_error_message(crafted), UNKNOWN_ERROR_MESSAGE);
        assert_eq!(sign_in_error_message(""), UNKNOWN_ERROR_MESSAGE);
    }
}
