//! The steps a person takes in the signed-in workspace: its navigation, the dashboard, reports, members,
//! invitations, sign-in settings and the audit log.
//!
//! Each step waits for what it leads to, so a test reads as the sequence of things a person does and sees.

use anyhow::Context;

use crate::browser::Browser;

/// A link of the workspace's navigation, and what shows once its page has loaded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Nav {
    /// `/`.
    Dashboard,
    /// `/reports`.
    Reports,
    /// `/files`.
    Files,
    /// `/members` (admins).
    Members,
    /// `/invitations` (admins).
    Invitations,
    /// `/settings` (admins).
    SignInSettings,
    /// `/audit` (admins).
    AuditLog,
}

impl Nav {
    /// The link's id.
    fn link(self) -> &'static str {
        match self {
            Nav::Dashboard => "#nav-dashboard",
            Nav::Reports => "#nav-reports",
            Nav::Files => "#nav-files",
            Nav::Members => "#nav-members",
            Nav::Invitations => "#nav-invitations",
            Nav::SignInSettings => "#nav-settings",
            Nav::AuditLog => "#nav-audit",
        }
    }

    /// An element the page shows once its data has arrived.
    fn loaded(self) -> &'static str {
        match self {
            Nav::Dashboard => "#plan-usage",
            Nav::Reports => "#report-list .report-item, #no-reports",
            Nav::Files => "#file-list .file-item, #no-files",
            Nav::Members => "#member-table .member-row",
            Nav::Invitations => "#invitation-table, #no-invitations",
            Nav::SignInSettings => "#just-in-time",
            Nav::AuditLog => "#audit-table .audit-event, #no-events",
        }
    }
}

/// What the dashboard shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DashboardView {
    /// `#stat-reports`: how many reports the organisation holds.
    pub reports: String,
    /// `#dashboard-plan`.
    pub plan: String,
    /// `#plan-usage` ("7 of 10 reports").
    pub usage: String,
    /// The titles in the recent activity list, newest first.
    pub recent_titles: Vec<String>,
    /// Whether the quick links offer the CSV export.
    pub offers_csv_export: bool,
    /// Whether the quick links offer writing a report.
    pub offers_new_report: bool,
}

/// One row of the members table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberRow {
    /// The member's email.
    pub email: String,
    /// The role the row's select shows.
    pub role: String,
    /// The role source column.
    pub role_source: String,
    /// The status badge.
    pub status: String,
}

/// One row of the audit log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditRow {
    /// The action's wire name (`member_role_changed`).
    pub action: String,
    /// The actor column.
    pub actor: String,
    /// The target column.
    pub target: String,
    /// The details column.
    pub details: String,
}

impl Browser {
    /// Opens a page from the navigation and waits for its data.
    pub async fn go_to(&self, nav: Nav) -> anyhow::Result<()> {
        self.click(nav.link()).await?;
        self.wait_for_element(nav.loaded())
            .await
            .with_context(|| format!("waiting for the {nav:?} page"))
    }

    /// Waits for the page `nav` names to show its data (after opening its address directly).
    pub async fn wait_for_page(&self, nav: Nav) -> anyhow::Result<()> {
        self.wait_for_element(nav.loaded())
            .await
            .with_context(|| format!("waiting for the {nav:?} page"))
    }

    /// Whether the navigation offers the administration pages.
    pub async fn offers_administration(&self) -> anyhow::Result<bool> {
        self.has("#nav-admin, #nav-members, #nav-invitations, #nav-settings, #nav-audit")
            .await
    }

    /// Waits for the dashboard's data and reads it.
    pub async fn wait_for_dashboard(&self) -> anyhow::Result<DashboardView> {
        self.wait_for_page(Nav::Dashboard).await?;
        Ok(DashboardView {
            reports: self.text_of("#stat-reports").await?,
            plan: self.text_of("#dashboard-plan").await?,
            usage: self.text_of("#plan-usage").await?,
            recent_titles: self.texts_of("#recent-activity .activity-item a").await?,
            offers_csv_export: self.has("#quick-export-csv").await?,
            offers_new_report: self.has("#quick-new-report").await?,
        })
    }

    /// The titles of the reports listed on the reports page, once the list has loaded.
    pub async fn report_titles(&self) -> anyhow::Result<Vec<String>> {
        self.wait_for_page(Nav::Reports).await?;
        self.wait_until_gone(".list-card [data-loading]").await?;
        self.texts_of("#report-list .report-link").await
    }

    /// On the report form: types the title and text and presses the save button.
    pub async fn submit_report(&self, title: &str, body: &str) -> anyhow::Result<()> {
        self.fill("#report-title", title).await?;
        self.fill("#report-body", body).await?;
        self.click("#save-report").await
    }

    /// Waits for the report page showing `title` and returns the report's text.
    pub async fn wait_for_report(&self, title: &str) -> anyhow::Result<String> {
        self.wait_for_text("#report-title-text", title).await?;
        self.text_of("#report-body-text").await
    }

    /// Opens the report titled `title` from the reports page.
    pub async fn open_report(&self, title: &str) -> anyhow::Result<String> {
        let link = format!(
            "#report-list .report-item[data-report-id='{}'] .report-link",
            self.report_id(title).await?
        );
        self.click(&link).await?;
        self.wait_for_report(title).await
    }

    /// The id of the listed report titled `title`.
    async fn report_id(&self, title: &str) -> anyhow::Result<String> {
        self.report_titles().await?;
        for row in self.texts_and_ids().await? {
            if row.0 == title {
                return Ok(row.1);
            }
        }
        anyhow::bail!("no report titled {title:?} is listed")
    }

    async fn texts_and_ids(&self) -> anyhow::Result<Vec<(String, String)>> {
        let titles = self.texts_of("#report-list .report-link").await?;
        let ids = self
            .attrs_of("#report-list .report-item", "data-report-id")
            .await?;
        Ok(titles.into_iter().zip(ids).collect())
    }

    /// The rows of the members table.
    pub async fn member_rows(&self) -> anyhow::Result<Vec<MemberRow>> {
        self.wait_for_page(Nav::Members).await?;
        let emails = self.texts_of("#member-table .member-email").await?;
        let roles = self
            .attrs_of("#member-table .member-row", "data-role")
            .await?;
        let sources = self
            .texts_of("#member-table .member-role-source > span")
            .await?;
        let statuses = self.texts_of("#member-table .member-status").await?;
        Ok(emails
            .into_iter()
            .zip(roles)
            .zip(sources)
            .zip(statuses)
            .map(|(((email, role), role_source), status)| MemberRow {
                email,
                role,
                role_source,
                status,
            })
            .collect())
    }

    /// The row of the member with `email`.
    pub async fn member_row(&self, email: &str) -> anyhow::Result<MemberRow> {
        self.member_rows()
            .await?
            .into_iter()
            .find(|row| row.email == email)
            .with_context(|| format!("{email} is not in the members table"))
    }

    /// Picks `role` in the role select of the member with `email`, confirming when the app asks (granting
    /// admin).
    pub async fn change_role(&self, email: &str, role: &str) -> anyhow::Result<()> {
        self.choose(&member_cell(email, ".member-role"), role)
            .await?;
        if role == "admin" {
            self.confirm().await?;
        }
        Ok(())
    }

    /// Waits for the confirmation dialog and returns its question.
    pub async fn confirmation_asked(&self) -> anyhow::Result<String> {
        self.wait_for_element("#confirm-action").await?;
        self.text_of("#confirm-title").await
    }

    /// Confirms what the open dialog asks.
    pub async fn confirm(&self) -> anyhow::Result<()> {
        self.click("#confirm-action").await?;
        self.wait_until_gone("#confirm-action").await
    }

    /// Dismisses the open dialog with Cancel.
    pub async fn cancel_confirmation(&self) -> anyhow::Result<()> {
        self.click("#cancel-action").await?;
        self.wait_until_gone("#cancel-action").await
    }

    /// Presses Deactivate on the row of the member with `email` (the app then asks to confirm).
    pub async fn press_deactivate(&self, email: &str) -> anyhow::Result<()> {
        self.click(&member_cell(email, ".deactivate-member")).await
    }

    /// Waits until the members table shows `role` for `email` (the server confirmed the change).
    pub async fn wait_for_member_role(&self, email: &str, role: &str) -> anyhow::Result<()> {
        self.wait_for_element(&format!(
            "#member-table .member-row[data-member-email='{email}'][data-role='{role}']"
        ))
        .await
    }

    /// The role the select of the member with `email` shows right now.
    pub async fn shown_role(&self, email: &str) -> anyhow::Result<String> {
        self.value_of(&member_cell(email, ".member-role")).await
    }

    /// On the invitations page: invites `email` with `role`.
    pub async fn invite(&self, email: &str, role: &str) -> anyhow::Result<()> {
        self.fill("#invite-email", email).await?;
        self.choose("#invite-role", role).await?;
        self.click("#send-invitation").await
    }

    /// The emails of the pending invitations, once the list has loaded.
    pub async fn pending_invitations(&self) -> anyhow::Result<Vec<String>> {
        self.wait_for_page(Nav::Invitations).await?;
        self.texts_of("#invitation-table .invitation-email").await
    }

    /// Withdraws the invitation of `email` and waits until it is gone from the list.
    pub async fn withdraw_invitation(&self, email: &str) -> anyhow::Result<()> {
        let row = format!("#invitation-table .invitation-row[data-invitation-email='{email}']");
        self.click(&format!("{row} .withdraw-invitation")).await?;
        self.confirm().await?;
        self.wait_until_gone(&row).await
    }

    /// The value of the option of the select matching `css` whose text names `email`.
    pub async fn member_option_value(&self, css: &str, email: &str) -> anyhow::Result<String> {
        let values = self.attrs_of(&format!("{css} option"), "value").await?;
        let texts = self.texts_of(&format!("{css} option")).await?;
        values
            .into_iter()
            .zip(texts)
            .find(|(_, text)| text.contains(email))
            .map(|(value, _)| value)
            .with_context(|| format!("no option of {css} names {email}"))
    }

    /// On the invitations page: the sign-in link shown for the invitation of `email`.
    pub async fn invitation_link(&self, email: &str) -> anyhow::Result<String> {
        self.value_of(&format!(
            "#invitation-table .invitation-row[data-invitation-email='{email}'] .invitation-link"
        ))
        .await
    }

    /// On the sign-in settings page: sets the just-in-time box to `on`, saves, and waits for the
    /// confirmation.
    pub async fn save_just_in_time(&self, on: bool) -> anyhow::Result<()> {
        if self.is_checked("#just-in-time").await? != on {
            self.click("#just-in-time").await?;
        }
        self.save_settings().await
    }

    /// On the sign-in settings page: presses Save and waits for the confirmation.
    pub async fn save_settings(&self) -> anyhow::Result<()> {
        self.click("#save-settings").await?;
        self.wait_for_element("#settings-saved").await
    }

    /// The mapped groups of the identity provider `provider`, in the order shown.
    pub async fn mapped_groups(&self, provider: &str) -> anyhow::Result<Vec<String>> {
        self.values_of(&provider_part(provider, ".mapping-row .mapping-group"))
            .await
    }

    /// Adds a row mapping `group` to `role` to the identity provider `provider` (not yet saved).
    pub async fn add_mapping(&self, provider: &str, group: &str, role: &str) -> anyhow::Result<()> {
        self.click(&provider_part(provider, ".add-mapping")).await?;
        let last_row = provider_part(provider, ".mapping-row:last-child");
        self.fill(&format!("{last_row} .mapping-group"), group)
            .await?;
        self.choose(&format!("{last_row} .mapping-role"), role)
            .await
    }

    /// Removes the row of `group` from the identity provider `provider` (not yet saved).
    pub async fn remove_mapping(&self, provider: &str, group: &str) -> anyhow::Result<()> {
        let groups = self.mapped_groups(provider).await?;
        let index = groups
            .iter()
            .position(|shown| shown == group)
            .with_context(|| format!("{provider} maps no group {group:?}: {groups:?}"))?;
        self.click(&provider_part(
            provider,
            &format!(".mapping-row:nth-child({}) .remove-mapping", index + 1),
        ))
        .await
    }

    /// The rows of the audit log loaded so far, once the log has loaded.
    pub async fn audit_rows(&self) -> anyhow::Result<Vec<AuditRow>> {
        self.wait_for_page(Nav::AuditLog).await?;
        self.wait_until_gone(".table-card [data-loading]").await?;
        let actions = self
            .attrs_of("#audit-table .audit-event", "data-action")
            .await?;
        let actors = self.texts_of("#audit-table .audit-actor").await?;
        let targets = self.texts_of("#audit-table .audit-target").await?;
        let details = self.texts_of("#audit-table .audit-details").await?;
        Ok(actions
            .into_iter()
            .zip(actors)
            .zip(targets)
            .zip(details)
            .map(|(((action, actor), target), details)| AuditRow {
                action,
                actor,
                target,
                details,
            })
            .collect())
    }
}

/// A part of the sign-in settings' section of the identity provider `provider`.
fn provider_part(provider: &str, part: &str) -> String {
    format!(".provider[data-provider='{provider}'] {part}")
}

/// A cell of the members table's row for `email`.
fn member_cell(email: &str, cell: &str) -> String {
    format!("#member-table .member-row[data-member-email='{email}'] {cell}")
}
