//! The page for an address the workspace has no page for.

use leptos::prelude::*;
use leptos_router::components::A;

use crate::components::set_page_title;

/// Any path no route matches.
#[component]
pub fn NotFoundPage() -> impl IntoView {
    set_page_title("Page not found");
    view! {
        <section id="not-found" class="card empty-state">
            <h1 class="page-title">"Page not found"</h1>
            <p>"There is no page at this address. It may have moved, or the link may be mistyped."</p>
            <A href="/" attr:class="button button-secondary">
                "Back to the dashboard"
            </A>
        </section>
    }
}
