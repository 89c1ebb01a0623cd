//! The workspace's pages, one module each, named for what the member sees.

mod audit;
mod dashboard;
mod files;
mod invitations;
pub(crate) mod members;
mod not_found;
mod profile;
mod report;
mod report_editor;
mod reports;
mod sessions;
mod sign_in_settings;
pub(crate) mod sso_settings;

pub use audit::AuditPage;
pub use dashboard::DashboardPage;
pub use files::FilesPage;
pub use invitations::InvitationsPage;
pub use members::MembersPage;
pub use not_found::NotFoundPage;
pub use profile::ProfilePage;
pub use report::ReportPage;
pub use report_editor::{EditReportPage, NewReportPage};
pub use reports::ReportsPage;
pub use sessions::MemberSessionsPage;
pub use sign_in_settings::SignInSettingsPage;
