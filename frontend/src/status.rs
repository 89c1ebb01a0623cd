//! The screens shown while the session loads and when it cannot be loaded.

use leptos::prelude::*;

use crate::session::Problem;
use crate::shell::SignOutButton;
use crate::sign_in::Brand;

/// Shown until `GET /api/v1/me` answers.
#[component]
pub fn LoadingScreen() -> impl IntoView {
    view! {
        <main class="centered" aria-busy="true">
            <div id="loading" class="loading" role="status">
                <span class="spinner" aria-hidden="true"></span>
                <span>"Loading your workspace…"</span>
            </div>
        </main>
    }
}

/// Says why the workspace cannot be shown and offers to try again.
#[component]
pub fn ProblemScreen(problem: Problem, on_retry: Callback<()>) -> impl IntoView {
    let offer_sign_out = problem.suggests_sign_out();
    view! {
        <main class="centered">
            <section id="load-error" class="card problem-card" role="alert" aria-labelledby="problem-title">
                <Brand />
                <h1 id="problem-title">"We can't show your workspace"</h1>
                <p id="problem-message">{problem.message}</p>
                <div class="actions">
                    <button
                        id="retry"
                        class="button button-primary"
                        type="button"
                        on:click=move |_| on_retry.run(())
                    >
                        "Try again"
                    </button>
                    {offer_sign_out.then(|| view! { <SignOutButton /> })}
                </div>
            </section>
        </main>
    }
}
