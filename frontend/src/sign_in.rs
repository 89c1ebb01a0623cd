//! The sign-in page: one email field that sends the visitor to their organisation's identity provider.

use leptos::prelude::*;
use shared::ErrorCode;
use web_sys::UrlSearchParams;

use crate::drafts::storage;

/// Where the sign-in page keeps, for this tab, the email typed last (until a sign-in succeeds).
const TYPED_EMAIL_KEY: &str = "sign-in:email";
/// Where the sign-in page keeps, for this tab, the page to come back to after signing in.
const RETURN_TO_KEY: &str = "sign-in:return-to";

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

/// The page to come back to after signing in: the address the sign-in page is shown at (a deep link, or the
/// page whose session ended), or, back from a failed attempt at `/?error=…`, the one the attempt started
/// from. The backend accepts only same-site relative paths, whatever is sent.
fn return_to(error_shown: bool) -> Option<String> {
    let location = window().location();
    let path = location.pathname().ok()?;
    if path != "/" {
        return Some(format!("{path}{}", location.search().unwrap_or_default()));
    }
    if error_shown {
        return storage()?.get_item(RETURN_TO_KEY).ok()?;
    }
    None
}

/// Forgets what the sign-in page kept for this tab, once someone is signed in.
pub fn forget_sign_in_attempt() {
    if let Some(storage) = storage() {
        let _ = storage.remove_item(TYPED_EMAIL_KEY);
        let _ = storage.remove_item(RETURN_TO_KEY);
    }
}

/// The page a signed-out visitor sees. `expired`: the session ended while the workspace was open.
#[component]
pub fn SignInPage(#[prop(optional)] expired: bool) -> impl IntoView {
    crate::components::set_page_title("Sign in");
    let error = error_code_in_url().map(|code| sign_in_error_message(&code));
    let return_to = return_to(error.is_some());
    view! {
        <main class="sign-in" id="main">
            <section class="card sign-in-card" aria-labelledby="sign-in-title">
                <Brand />
                <h1 id="sign-in-title">"Sign in"</h1>
                <p class="lead">
                    "Enter your work email. We will take you to your organisation's sign-in page, "
                    "where you sign in with your organisation's account."
                </p>
                {expired.then(|| view! { <SessionEndedBanner /> })}
                {error.map(|message| view! { <ErrorBanner message=message /> })}
                <SignInForm return_to=return_to />
            </section>
        </main>
    }
}

/// Why a signed-in member suddenly sees the sign-in page.
#[component]
fn SessionEndedBanner() -> impl IntoView {
    view! {
        <div id="session-ended" class="banner banner-info" role="status">
            "Your session has ended. Sign in again to continue where you left off; "
            "what you were writing is kept in this tab."
        </div>
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

/// The email form. A plain GET form, so it works before (or without) the wasm app. The email typed last in
/// this tab is filled in again, so a mistyped domain is corrected rather than typed anew.
#[component]
fn SignInForm(return_to: Option<String>) -> impl IntoView {
    let typed = storage()
        .and_then(|storage| storage.get_item(TYPED_EMAIL_KEY).ok().flatten())
        .unwrap_or_default();
    let email = RwSignal::new(typed);
    let kept_return_to = return_to.clone();
    let on_submit = move |_| {
        if let Some(storage) = storage() {
            let _ = storage.set_item(TYPED_EMAIL_KEY, email.get_untracked().trim());
            let _ = match &kept_return_to {
                Some(path) => storage.set_item(RETURN_TO_KEY, path),
                None => storage.remove_item(RETURN_TO_KEY),
            };
        }
    };
    view! {
        <form class="sign-in-form" method="get" action="/auth/login" on:submit=on_submit>
            <label for="email">"Work email"</label>
            <input
                id="email"
                name="email"
                type="email"
                autocomplete="username"
                placeholder="you@company.example"
                required=true
                autofocus=true
                prop:value=move || email.get()
                on:input=move |event| email.set(event_target_value(&event))
            />
            {return_to.map(|path| view! { <input type="hidden" name="return_to" value=path /> })}
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
        // The backend sends a browser here when the user pool or the database cannot be reached.
        assert_eq!(
            sign_in_error_message("service_unavailable"),
            "A service this application depends on is unavailable. Please try again shortly."
        );
    }

    #[test]
    fn unknown_codes_show_a_generic_message_and_never_the_query_text() {
        let crafted = "<img src=x onerror=alert(1)> Call +1-555-0100 to unlock your account";
        assert_eq!(sign_in_error_message(crafted), UNKNOWN_ERROR_MESSAGE);
        assert_eq!(sign_in_error_message(""), UNKNOWN_ERROR_MESSAGE);
    }
}
