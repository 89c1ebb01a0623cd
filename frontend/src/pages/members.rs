//! The members page (admins): everyone in the organisation with their role, where it comes from, their
//! status and last sign-in; admins change roles, hand a role back to the identity provider's groups, and
//! deactivate or reactivate members. The server refuses any change that would leave no active admin, and
//! its message is shown above the table.

use leptos::html;
use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_router::components::A;
use shared::api::{Member, MemberPage, MemberPatch, RoleSource};
use shared::{MemberStatus, Role};

use crate::access::use_me;
use crate::api::{Api, MEMBERS, PAGE_SIZE, item_path, use_api};
use crate::components::{
    ActionTableHead, AdminOnly, ConfirmDialog, Confirmation, LoadMore, PageHeader, ProblemAlert,
    Timestamp,
};
use crate::format::role_source_label;
use crate::paging::Pages;
use crate::session::Problem;

/// `/members`.
#[component]
pub fn MembersPage() -> impl IntoView {
    view! {
        <AdminOnly title="Members">
            <MembersAdmin />
        </AdminOnly>
    }
}

/// What the rows share: the list, and the outcome of the last change shown above the table.
#[derive(Debug, Clone, Copy)]
struct Outcome {
    pages: Pages<Member>,
    error: RwSignal<Option<Problem>>,
    done: RwSignal<Option<String>>,
}

/// The members table with its paging and messages.
#[component]
fn MembersAdmin() -> impl IntoView {
    let api = use_api();
    let me = use_me();
    let pages = Pages::<Member>::new();
    let outcome = Outcome {
        pages,
        error: RwSignal::new(None),
        done: RwSignal::new(None),
    };
    let filters = RwSignal::new(MemberFilters::default());
    let on_reload = Callback::new(move |()| {
        let shown = filters.get_untracked();
        pages.reload(move |cursor| fetch(api, cursor, shown))
    });
    let on_load_more = Callback::new(move |()| {
        let shown = filters.get_untracked();
        pages.load_more(move |cursor| fetch(api, cursor, shown))
    });
    // The list loads now, and again whenever the search, a filter or the order changes.
    Effect::new(move |_| {
        filters.track();
        on_reload.run(());
    });
    let my_id = me.user.id.clone();

    view! {
        <PageHeader title="Members">
            <A href="/invitations" attr:id="invite-from-members" attr:class="button button-primary">
                "Invite people"
            </A>
        </PageHeader>
        <p class="lead">
            "Roles come from your identity provider's groups until you set one here. "
            "Deactivated members cannot sign in or use a session they already have."
        </p>
        <RoleHelp />
        <MemberToolbar filters=filters />
        {move || {
            outcome.error.get().map(|problem| view! { <ProblemAlert problem=problem id="members-error" /> })
        }}
        {move || {
            outcome
                .done
                .get()
                .map(|text| {
                    view! {
                        <div id="members-notice" class="banner banner-success" role="status">
                            {text}
                        </div>
                    }
                })
        }}
        <section class="card table-card">
            <table id="member-table" class="table">
                <ActionTableHead columns=&[
                    "Email",
                    "Name",
                    "Role",
                    "Role source",
                    "Status",
                    "Last sign-in",
                ] />
                <tbody>
                    <For each=move || pages.items.get() key=row_key let:member>
                        <MemberRow member=member is_me=my_id.clone() outcome=outcome />
                    </For>
                </tbody>
            </table>
            <LoadMore
                pages=pages
                on_load_more=on_load_more
                on_reload=on_reload
                loading_label="Loading members…"
            />
        </section>
    }
}

/// The search, filters and order of the members list (empty: everyone, by email).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct MemberFilters {
    text: String,
    role: String,
    status: String,
    sort: String,
}

impl MemberFilters {
    /// The query parameters these stand for (nothing for what is not set).
    fn query(&self) -> Vec<(&'static str, String)> {
        [
            ("q", self.text.trim()),
            ("role", self.role.as_str()),
            ("status", self.status.as_str()),
            ("sort", self.sort.as_str()),
        ]
        .into_iter()
        .filter(|(_, value)| !value.is_empty())
        .map(|(name, value)| (name, value.to_owned()))
        .collect()
    }
}

/// What each role may do, where roles are chosen.
#[component]
pub fn RoleHelp() -> impl IntoView {
    view! {
        <details class="role-help" id="role-help">
            <summary>"What each role may do"</summary>
            <dl class="facts">
                <dt>"viewer"</dt>
                <dd>"Sees the organisation's reports and files, and downloads them."</dd>
                <dt>"member"</dt>
                <dd>"Also writes reports and uploads files, and changes or deletes their own."</dd>
                <dt>"admin"</dt>
                <dd>
                    "Also manages members, invitations and sign-in settings, reads the audit log, and "
                    "changes or deletes anyone's reports and files."
                </dd>
            </dl>
        </details>
    }
}

/// Search, filters and order of the members list; each change reloads it.
#[component]
fn MemberToolbar(filters: RwSignal<MemberFilters>) -> impl IntoView {
    let select = |options: &'static [(&'static str, &'static str)],
                  id: &'static str,
                  label: &'static str,
                  set: fn(&mut MemberFilters, String)| {
        view! {
            <div class="field">
                <label for=id>{label}</label>
                <select
                    id=id
                    on:change=move |event| {
                        let value = event_target_value(&event);
                        filters.update(|filters| set(filters, value));
                    }
                >
                    {options
                        .iter()
                        .map(|(value, text)| view! { <option value=*value>{*text}</option> })
                        .collect_view()}
                </select>
            </div>
        }
    };
    view! {
        <form class="card filters member-filters" role="search" on:submit=|event| event.prevent_default()>
            <div class="field field-grow">
                <label for="member-search">"Search"</label>
                <input
                    id="member-search"
                    type="search"
                    placeholder="Name or email"
                    maxlength="100"
                    autocomplete="off"
                    on:input=move |event| {
                        let text = event_target_value(&event);
                        filters.update(|filters| filters.text = text);
                    }
                    on:change=move |event| {
                        let text = event_target_value(&event);
                        if filters.with_untracked(|filters| filters.text != text) {
                            filters.update(|filters| filters.text = text);
                        }
                    }
                />
            </div>
            {select(
                &[("", "All roles"), ("viewer", "viewer"), ("member", "member"), ("admin", "admin")],
                "member-role-filter",
                "Role",
                |filters, value| filters.role = value,
            )}
            {select(
                &[("", "Any status"), ("active", "active"), ("deactivated", "deactivated")],
                "member-status-filter",
                "Status",
                |filters, value| filters.status = value,
            )}
            {select(
                &[("", "Email"), ("name", "Name")],
                "member-sort",
                "Sort by",
                |filters, value| filters.sort = value,
            )}
        </form>
    }
}

/// One page of members from the API, as rows and the next cursor.
async fn fetch(
    api: Api,
    cursor: Option<String>,
    filters: MemberFilters,
) -> Result<(Vec<Member>, Option<String>), Problem> {
    let mut query = vec![("limit", PAGE_SIZE.to_owned())];
    query.extend(filters.query());
    if let Some(cursor) = cursor {
        query.push(("cursor", cursor));
    }
    let page = api
        .get_with::<MemberPage>(MEMBERS.to_owned(), query)
        .await?;
    Ok((page.items, page.next_cursor))
}

/// A row is drawn again whenever what it shows changes on the server.
fn row_key(member: &Member) -> String {
    format!(
        "{}:{}:{:?}:{}",
        member.id,
        member.role.as_str(),
        member.role_source,
        member.status.as_str()
    )
}

/// One member, with the controls that change them.
#[component]
fn MemberRow(member: Member, is_me: String, outcome: Outcome) -> impl IntoView {
    let api = use_api();
    let is_me = member.id == is_me;
    let busy = RwSignal::new(false);
    let role_select = NodeRef::<html::Select>::new();
    let shown_role = member.role;
    let path = item_path(MEMBERS, &member.id);
    let current = member.clone();

    let change = Callback::new(move |patch: MemberPatch| {
        let Some(path) = path.clone() else {
            return;
        };
        let before = current.clone();
        busy.set(true);
        outcome.error.set(None);
        outcome.done.set(None);
        spawn_local(async move {
            match api.patch::<_, Member>(path, &patch).await {
                Ok(updated) => {
                    outcome.done.set(Some(change_summary(&before, &updated)));
                    let id = updated.id.clone();
                    outcome.pages.replace(|row| row.id == id, updated);
                }
                Err(problem) => {
                    busy.set(false);
                    // The select already shows the refused role; put the member's real one back.
                    if let Some(select) = role_select.get_untracked() {
                        select.set_value(shown_role.as_str());
                    }
                    outcome.error.set(Some(problem));
                }
            }
        });
    });

    // Granting admin and deactivating take effect at once and matter: they are asked about first.
    let asked = RwSignal::new(None::<Confirmation>);
    let confirmed = RwSignal::new(None::<MemberPatch>);
    let on_confirm = Callback::new(move |()| {
        if let Some(patch) = confirmed.get_untracked() {
            change.run(patch);
        }
    });
    let on_cancel = Callback::new(move |()| {
        confirmed.set(None);
        // The select shows the role that was not granted; put the member's real one back.
        if let Some(select) = role_select.get_untracked() {
            select.set_value(shown_role.as_str());
        }
    });
    let ask = move |question: Confirmation, patch: MemberPatch| {
        confirmed.set(Some(patch));
        asked.set(Some(question));
    };
    let name = member.name.clone();
    let on_role = {
        let name = name.clone();
        move |event: leptos::ev::Event| {
            let Ok(role) = event_target_value(&event).parse::<Role>() else {
                return;
            };
            let patch = MemberPatch {
                role: Some(role),
                ..MemberPatch::default()
            };
            if role == Role::Admin {
                ask(
                    Confirmation {
                        title: format!("Make {name} an admin?"),
                        message: "Admins manage members, invitations and sign-in settings, and see the \
                                  audit log. The role is set here until you hand it back to the identity \
                                  provider's groups."
                            .to_owned(),
                        confirm: "Make admin",
                        danger: false,
                    },
                    patch,
                );
            } else {
                change.run(patch);
            }
        }
    };
    let deactivation = {
        let name = name.clone();
        move || Confirmation {
            title: format!("Deactivate {name}?"),
            message: format!(
                "{name} is signed out at once and cannot sign in until reactivated. Their reports and \
                 files stay."
            ),
            confirm: "Deactivate",
            danger: true,
        }
    };
    let admin_set = member.role_source == RoleSource::Admin;
    let active = member.status == MemberStatus::Active;

    view! {
        <tr
            class="member-row"
            data-member-email=member.email.clone()
            data-member-id=member.id.clone()
            data-role=member.role.as_str()
            data-status=member.status.as_str()
        >
            <td class="member-email">{member.email.clone()}</td>
            <td class="member-name">
                {member.name.clone()} {is_me.then(|| view! { <span class="muted">" (you)"</span> })}
            </td>
            <td>
                <select
                    class="member-role"
                    aria-label=format!("Role of {name}")
                    node_ref=role_select
                    disabled=move || busy.get()
                    on:change=on_role
                >
                    {Role::ALL
                        .into_iter()
                        .map(|role| {
                            view! {
                                <option value=role.as_str() selected=role == shown_role>
                                    {role.as_str()}
                                </option>
                            }
                        })
                        .collect_view()}
                </select>
            </td>
            <td class="member-role-source">
                <span>{role_source_label(member.role_source)}</span>
                {admin_set
                    .then(|| {
                        view! {
                            <button
                                class="button button-link use-idp-role"
                                type="button"
                                disabled=move || busy.get()
                                title="From the next sign-in, the role follows the identity provider's groups again"
                                on:click=move |_| {
                                    change
                                        .run(MemberPatch {
                                            role_source: Some(RoleSource::IdentityProvider),
                                            ..MemberPatch::default()
                                        })
                                }
                            >
                                "Use groups"
                            </button>
                        }
                    })}
            </td>
            <td>
                <span class=if active {
                    "badge badge-active member-status"
                } else {
                    "badge badge-inactive member-status"
                }>{member.status.as_str()}</span>
            </td>
            <td class="member-last-sign-in">
                {match member.last_sign_in_at.clone() {
                    Some(at) => view! { <Timestamp at=at /> }.into_any(),
                    None => view! { <span class="muted">"Never"</span> }.into_any(),
                }}
            </td>
            <td class="row-actions">
                <A
                    href=format!("/members/{}/sessions", member.id)
                    attr:class="button button-secondary button-small member-sessions"
                    attr:aria-label=format!("Sessions of {name}")
                >
                    "Sessions"
                </A>
                {(!is_me)
                    .then(|| {
                        let (class, label, status) = if active {
                            ("button button-danger-outline button-small deactivate-member", "Deactivate", MemberStatus::Deactivated)
                        } else {
                            ("button button-secondary button-small reactivate-member", "Reactivate", MemberStatus::Active)
                        };
                        view! {
                            <button
                                class=class
                                type="button"
                                disabled=move || busy.get()
                                on:click=move |_| {
                                    let patch = MemberPatch {
                                        status: Some(status),
                                        ..MemberPatch::default()
                                    };
                                    if status == MemberStatus::Deactivated {
                                        ask(deactivation(), patch);
                                    } else {
                                        change.run(patch);
                                    }
                                }
                            >
                                {label}
                            </button>
                        }
                    })}
                <ConfirmDialog request=asked on_confirm=on_confirm on_cancel=on_cancel />
            </td>
        </tr>
    }
}

/// What a successful change did, in one sentence.
fn change_summary(before: &Member, after: &Member) -> String {
    let name = &after.name;
    if before.status != after.status {
        return match after.status {
            MemberStatus::Deactivated => {
                format!("{name} was deactivated and can no longer sign in.")
            }
            MemberStatus::Active => format!("{name} was reactivated."),
        };
    }
    if before.role_source != after.role_source && after.role_source == RoleSource::IdentityProvider
    {
        return format!(
            "{name}'s role follows the identity provider's groups again from their next sign-in."
        );
    }
    if before.role != after.role {
        return format!("{name} is now {}.", article_role(after.role));
    }
    format!("{name} was updated.")
}

/// "an admin", "a member", "a viewer".
fn article_role(role: Role) -> String {
    match role {
        Role::Admin => "an admin".to_owned(),
        other => format!("a {}", other.as_str()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_send_only_what_is_set() {
        assert!(MemberFilters::default().query().is_empty());
        let filters = MemberFilters {
            text: "  bob ".into(),
            role: "member".into(),
            status: String::new(),
            sort: "name".into(),
        };
        assert_eq!(
            filters.query(),
            vec![
                ("q", "bob".to_owned()),
                ("role", "member".to_owned()),
                ("sort", "name".to_owned()),
            ]
        );
    }

    fn bob() -> Member {
        Member {
            id: "m2".into(),
            email: "bob@acme.example".into(),
            name: "Bob Brown".into(),
            role: Role::Member,
            role_source: RoleSource::IdentityProvider,
            status: MemberStatus::Active,
            provider: "acme-entra".into(),
            created_at: "2025-06-01T00:00:00Z".into(),
            last_sign_in_at: None,
        }
    }

    #[test]
    fn a_role_change_names_the_new_role() {
        let after = Member {
            role: Role::Admin,
            role_source: RoleSource::Admin,
            ..bob()
        };
        assert_eq!(change_summary(&bob(), &after), "Bob Brown is now an admin.");
        let viewer = Member {
            role: Role::Viewer,
            ..after
        };
        assert_eq!(
            change_summary(&bob(), &viewer),
            "Bob Brown is now a viewer."
        );
    }

    #[test]
    fn status_changes_say_what_they_mean_for_signing_in() {
        let deactivated = Member {
            status: MemberStatus::Deactivated,
            ..bob()
        };
        assert_eq!(
            change_summary(&bob(), &deactivated),
            "Bob Brown was deactivated and can no longer sign in."
        );
        assert_eq!(
            change_summary(&deactivated, &bob()),
            "Bob Brown was reactivated."
        );
    }

    #[test]
    fn handing_the_role_back_says_when_it_applies() {
        let admin_set = Member {
            role_source: RoleSource::Admin,
            ..bob()
        };
        assert!(change_summary(&admin_set, &bob()).contains("next sign-in"));
    }

    #[test]
    fn rows_are_redrawn_when_role_source_or_status_change() {
        let base = row_key(&bob());
        for changed in [
            Member {
                role: Role::Admin,
                ..bob()
            },
            Member {
                role_source: RoleSource::Admin,
                ..bob()
            },
            Member {
                status: MemberStatus::Deactivated,
                ..bob()
            },
        ] {
            assert_ne!(row_key(&changed), base);
        }
    }
}
