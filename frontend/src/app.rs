//! The root component: loads the session once and shows the screen that matches it.

use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::api::provide_api;
use crate::session::{Session, load_session};
use crate::shell::AppShell;
use crate::sign_in::{SignInPage, forget_sign_in_attempt};
use crate::status::{LoadingScreen, ProblemScreen};

/// The whole app.
#[component]
pub fn App() -> impl IntoView {
    let session = RwSignal::new(Session::Loading);
    // Every API call can end the session (401, deactivation); the client reports that here.
    provide_api(session);
    reload(session);
    let on_retry = Callback::new(move |()| reload(session));

    move || match session.get() {
        Session::Loading => view! { <LoadingScreen /> }.into_any(),
        Session::SignedOut => view! { <SignInPage /> }.into_any(),
        Session::Expired => view! { <SignInPage expired=true /> }.into_any(),
        Session::SignedIn(me) => view! { <AppShell me=me /> }.into_any(),
        Session::Unavailable(problem) => {
            view! { <ProblemScreen problem=problem on_retry=on_retry /> }.into_any()
        }
    }
}

/// Shows the loading screen and asks the server again who is signed in.
fn reload(session: RwSignal<Session>) {
    session.set(Session::Loading);
    spawn_local(async move {
        let loaded = load_session().await;
        if matches!(loaded, Session::SignedIn(_)) {
            forget_sign_in_attempt();
        }
        session.set(loaded);
    });
}
