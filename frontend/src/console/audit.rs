//! `/operator/audit`: the platform audit log, newest first: every operator sign-in and every change an
//! operator made to a tenant.

use leptos::prelude::*;
use shared::api::{PlatformAuditAction, PlatformAuditEvent, PlatformAuditPage};

use super::AUDIT;
use crate::api::{Api, PAGE_SIZE, use_api};
use crate::components::{LoadMore, PageHeader, Timestamp};
use crate::paging::Pages;
use crate::session::Problem;

/// `/operator/audit`.
#[component]
pub fn PlatformAuditPage() -> impl IntoView {
    let api = use_api();
    let pages = Pages::<PlatformAuditEvent>::new();
    let on_reload = Callback::new(move |()| pages.reload(move |cursor| fetch(api, cursor)));
    let on_load_more = Callback::new(move |()| pages.load_more(move |cursor| fetch(api, cursor)));
    on_reload.run(());
    view! {
        <PageHeader title="Platform audit log" />
        <section class="card table-card" aria-labelledby="platform-audit-title">
            <h2 id="platform-audit-title" class="card-title">"What operators did"</h2>
            <table id="platform-audit" class="table">
                <thead>
                    <tr>
                        <th scope="col">"When"</th>
                        <th scope="col">"Operator"</th>
                        <th scope="col">"What"</th>
                        <th scope="col">"Tenant"</th>
                        <th scope="col">"Details"</th>
                    </tr>
                </thead>
                <tbody>
                    <For
                        each=move || pages.items.get()
                        key=|event| event.id.clone()
                        children=|event| view! { <EventRow event=event /> }
                    />
                </tbody>
            </table>
            <LoadMore
                pages=pages
                on_load_more=on_load_more
                on_reload=on_reload
                loading_label="Loading the audit log…"
            />
        </section>
    }
}

async fn fetch(
    api: Api,
    cursor: Option<String>,
) -> Result<(Vec<PlatformAuditEvent>, Option<String>), Problem> {
    let mut query = vec![("limit", PAGE_SIZE.to_owned())];
    if let Some(cursor) = cursor {
        query.push(("cursor", cursor));
    }
    let page = api
        .get_with::<PlatformAuditPage>(AUDIT.to_owned(), query)
        .await?;
    Ok((page.items, page.next_cursor))
}

/// One entry.
#[component]
fn EventRow(event: PlatformAuditEvent) -> impl IntoView {
    // The actor: an operator, a tenant's admin, or the customer's IT admin behind a set-up link (no account).
    let operator = match event.actor_kind.as_str() {
        "setup_link" => "IT admin (set-up link)".to_owned(),
        _ => event
            .operator
            .email
            .clone()
            .unwrap_or(event.operator.id.clone()),
    };
    let tenant = event
        .tenant
        .as_ref()
        .map(|tenant| format!("{} ({})", tenant.name, tenant.slug))
        .unwrap_or_default();
    let details = details_text(&event.details);
    view! {
        <tr class="platform-audit-row" data-action=event.action.as_str()>
            <td>
                <Timestamp at=event.at.clone() seconds=true />
            </td>
            <td>{operator}</td>
            <td>{action_label(event.action)}</td>
            <td>{tenant}</td>
            <td class="muted">{details}</td>
        </tr>
    }
}

/// What an action is called on the page.
pub fn action_label(action: PlatformAuditAction) -> &'static str {
    match action {
        PlatformAuditAction::OperatorSignedIn => "Signed in",
        PlatformAuditAction::TenantCreated => "Created the tenant",
        PlatformAuditAction::TenantPlanChanged => "Changed the plan",
        PlatformAuditAction::TenantSuspended => "Suspended the tenant",
        PlatformAuditAction::TenantResumed => "Resumed the tenant",
        PlatformAuditAction::TenantExported => "Exported the tenant",
        PlatformAuditAction::TenantDeletionStarted => "Started deleting the tenant",
        PlatformAuditAction::TenantDeleted => "Deleted the tenant",
        PlatformAuditAction::SetupLinkCreated => "Created a set-up link",
        PlatformAuditAction::SetupLinkRevoked => "Revoked a set-up link",
        PlatformAuditAction::SetupLinkOpened => "Opened the set-up link",
        PlatformAuditAction::DomainClaimed => "Claimed a domain",
        PlatformAuditAction::DomainVerified => "Verified a domain",
        PlatformAuditAction::DomainRemoved => "Removed a domain",
        PlatformAuditAction::DomainLapsed => "Domain proof lapsed",
        PlatformAuditAction::SsoProviderSaved => "Saved an identity provider for a test",
        PlatformAuditAction::SsoTestSignIn => "Ran a test sign-in",
        PlatformAuditAction::SsoActivated => "Activated single sign-on",
        PlatformAuditAction::SsoSecretRotated => "Rotated the identity provider's client secret",
    }
}

/// An entry's details as `key: value` pairs, in the order the server gave them.
fn details_text(details: &serde_json::Value) -> String {
    details
        .as_object()
        .map(|fields| {
            fields
                .iter()
                .map(|(key, value)| match value {
                    serde_json::Value::String(text) => format!("{key}: {text}"),
                    other => format!("{key}: {other}"),
                })
                .collect::<Vec<_>>()
                .join(", ")
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn details_read_as_pairs() {
        let details = serde_json::json!({"from": "basic", "to": "pro"});
        assert_eq!(details_text(&details), "from: basic, to: pro");
        assert_eq!(details_text(&serde_json::json!({})), "");
    }

    #[test]
    fn every_action_has_a_label() {
        for action in PlatformAuditAction::ALL {
            assert!(!action_label(action).is_empty());
        }
    }
}
