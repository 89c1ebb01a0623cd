//! The whole application for one test: Postgres, the local AWS stand-ins and the backend serving the web app,
//! started by the test kit.

use std::path::PathBuf;

use anyhow::{Context, bail, ensure};
use backend::db::members::MemberStatus;
use backend::db::{MemberId, TenantId};
use local_aws::config::LocalAwsConfig;
use testkit::Postgres;
use uuid::Uuid;

use crate::{init_logging, repo_dir};

/// A running application. Everything stops when the value is dropped.
pub struct Stack {
    // Dropped in this order: the backend and the stand-ins, then the container.
    stack: testkit::Stack,
    _postgres: Postgres,
}

impl Stack {
    /// Starts Postgres (a container of this test's own, with a migrated database holding the application role
    /// and the demo world), the stand-ins on ephemeral ports of 127.0.0.1, and the backend on `127.0.0.1:0`
    /// published as `http://localhost:<port>`: the app and the stand-ins are different hosts for the browser,
    /// as in production.
    pub async fn start() -> anyhow::Result<Stack> {
        Stack::start_with(|_| {}).await
    }

    /// Like [`Stack::start`], with the stand-ins' configuration changed by `change` before they start.
    pub async fn start_with(change: impl FnOnce(&mut LocalAwsConfig)) -> anyhow::Result<Stack> {
        Stack::start_serving(web_dist_dir()?, change).await
    }

    /// Like [`Stack::start_with`], serving the built web app from `web_dist_dir` (a copy a test may change,
    /// see [`copy_of_the_web_app`]).
    pub async fn start_serving(
        web_dist_dir: PathBuf,
        change: impl FnOnce(&mut LocalAwsConfig),
    ) -> anyhow::Result<Stack> {
        init_logging();
        let postgres = Postgres::start().await?;
        let db = postgres.database().await?;
        // Without TRIGGER_BOOTSTRAP, the debug binary next to this test's own directory.
        let trigger_bootstrap = testkit::stack::trigger_bootstrap(None)?;
        let stack =
            testkit::Stack::start(db, web_dist_dir, trigger_bootstrap, |_, aws| change(aws))
                .await?;
        Ok(Stack {
            stack,
            _postgres: postgres,
        })
    }

    /// Invites `email` as a platform operator, as `backend operators add` does (the operator administrators'
    /// key against the operators' pool), and returns the temporary password the pool emailed.
    pub async fn invite_operator(&self, email: &str) -> anyhow::Result<String> {
        let aws = &self.stack.aws;
        let (key, secret) = aws.operator_admin_key();
        let settings = backend::operators::OperatorAdminSettings {
            user_pool_id: aws
                .user_pool("operators")
                .context("the stand-ins have no operators' pool")?
                .user_pool_id()
                .to_owned(),
            endpoint: Some(url::Url::parse(&aws.user_pool_endpoint())?),
            credentials: Some(backend::config::AwsKey::long_term(key, secret)),
        };
        backend::operators::OperatorAccounts::new(&settings)
            .await
            .add(email)
            .await?;
        let invitation = aws
            .outbox()
            .messages_to(email)
            .pop()
            .context("the pool sent no invitation")?;
        invitation
            .body
            .split("temporary password is ")
            .nth(1)
            .and_then(|rest| rest.split(". ").next())
            .map(str::to_owned)
            .context("the invitation names no temporary password")
    }

    /// How many rows of any table, and objects of either bucket, still mention `needle` (a tenant's id),
    /// the platform audit log aside.
    pub async fn traces_of(&self, needle: &str) -> anyhow::Result<usize> {
        let owner = &self.stack.db.owner;
        let tables: Vec<(String, String)> = sqlx::query_as(
            "SELECT table_schema::text, table_name::text FROM information_schema.tables \
             WHERE table_type = 'BASE TABLE' AND table_schema IN ('public', 'tower_sessions') \
               AND table_name NOT IN ('_sqlx_migrations', 'platform_audit_events')",
        )
        .fetch_all(owner)
        .await?;
        let mut traces = 0;
        for (schema, table) in tables {
            let count: i64 = sqlx::query_scalar(&format!(
                "SELECT count(*) FROM \"{schema}\".\"{table}\" AS t WHERE t::text LIKE '%' || $1 || '%'"
            ))
            .bind(needle)
            .fetch_one(owner)
            .await?;
            traces += usize::try_from(count).unwrap_or(usize::MAX);
        }
        let storage = backend::storage::Storage::new(&self.stack.config).await?;
        for bucket in [
            backend::storage::Bucket::Uploads,
            backend::storage::Bucket::Files,
        ] {
            traces += storage
                .list(bucket, "")
                .await?
                .iter()
                .filter(|object| object.key.contains(needle))
                .count();
        }
        Ok(traces)
    }

    /// The web app's URL as a browser sees it: `http://localhost:<port>` (no trailing slash).
    pub fn app_url(&self) -> String {
        self.stack.address.clone()
    }

    /// The URL of `path` (starting with `/`) on the app.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.stack.address)
    }

    /// The mock Entra ID's base URL (`login.microsoftonline.com`'s stand-in).
    pub fn entra_base(&self) -> String {
        self.stack.aws.entra_base()
    }

    /// The S3 stand-in's endpoint (`http://127.0.0.1:<port>`), where download links lead.
    pub fn s3_endpoint(&self) -> String {
        self.stack.aws.s3_endpoint()
    }

    /// The mock Okta's base URL (`<org>.okta.com`'s stand-in).
    pub fn okta_base(&self) -> String {
        self.stack.aws.okta_base()
    }

    /// The base URL of the mock Okta org `org` (each org is a host of its own).
    pub fn okta_org_base(&self, org: &str) -> Option<String> {
        self.stack.aws.okta_org_base(org)
    }

    /// Publishes a TXT record in the DNS stand-in, as a customer does at their DNS provider.
    pub async fn publish_txt(&self, name: &str, value: &str) -> anyhow::Result<()> {
        self.stack
            .aws
            .dns()
            .set_txt(name, vec![value.to_owned()])
            .await
            .map_err(|error| anyhow::anyhow!("publishing {name}: {error}"))?;
        Ok(())
    }

    /// Deactivates or reactivates a member (ids as `GET /api/v1/me` shows them), the way a tenant admin's
    /// change lands in the database: inside a transaction bound to the member's tenant.
    pub async fn set_member_status(
        &self,
        tenant_id: &str,
        member_id: &str,
        status: MemberStatus,
    ) -> anyhow::Result<()> {
        let tenant = TenantId(Uuid::parse_str(tenant_id).context("the tenant id")?);
        let member = MemberId(Uuid::parse_str(member_id).context("the member id")?);
        self.stack
            .db
            .set_member_status(tenant, member, status)
            .await
    }

    /// Takes the identity pool away from the backend, as an outage of Cognito Identity would (`true`), or
    /// brings it back (`false`).
    pub async fn set_identity_pool_down(&self, down: bool) -> anyhow::Result<()> {
        if down {
            self.stack.identity_pool.close().await;
            Ok(())
        } else {
            self.stack.identity_pool.reopen().await
        }
    }

    /// Ends every session on the server, as the idle or absolute expiry does: the browser keeps its cookie,
    /// which no longer signs anyone in. The rows go, and the backend forgets the copies it keeps in memory,
    /// which would have expired with them.
    pub async fn end_all_sessions(&self) -> anyhow::Result<()> {
        let keys: Vec<Vec<u8>> =
            sqlx::query_scalar("DELETE FROM tower_sessions.session RETURNING id")
                .fetch_all(&self.stack.db.owner)
                .await
                .context("deleting the sessions")?;
        self.stack.backend.state().sessions.forget(&keys);
        Ok(())
    }

    /// Records a file of `size` bytes uploaded earlier by a member (ids as `GET /api/v1/me` shows them), as
    /// `POST /api/v1/files` records one: only the row (no copy in the files bucket), which is what the storage
    /// quota counts.
    pub async fn record_earlier_upload(
        &self,
        tenant_id: &str,
        member_id: &str,
        name: &str,
        size: i64,
    ) -> anyhow::Result<()> {
        let tenant = TenantId(Uuid::parse_str(tenant_id).context("the tenant id")?);
        let member = MemberId(Uuid::parse_str(member_id).context("the member id")?);
        let upload_key = format!(
            "{tenant_id}/{member_id}/uploads/{}/{name}",
            Uuid::new_v4().simple()
        );
        let id = Uuid::new_v4();
        let key = format!("{tenant_id}/{id}");
        let mut tx = backend::db::tenant_tx(&self.stack.db.owner, tenant).await?;
        let recorded = backend::db::files::create(
            &mut tx,
            &backend::db::files::NewFile {
                id,
                uploader_id: member,
                key: &key,
                upload_key: &upload_key,
                etag: "\"00000000000000000000000000000000\"",
                name,
                size,
                content_type: "application/octet-stream",
            },
        )
        .await?;
        tx.commit().await?;
        ensure!(recorded.is_some(), "the file {key} was recorded already");
        Ok(())
    }
}

/// A copy of the built web app in a fresh directory under the system's temporary directory, named after
/// `test_name`, for a test that changes the files the app is served from.
pub fn copy_of_the_web_app(test_name: &str) -> anyhow::Result<PathBuf> {
    let copy =
        std::env::temp_dir().join(format!("web-app-{test_name}-{}", Uuid::new_v4().simple()));
    copy_dir(&web_dist_dir()?, &copy)?;
    Ok(copy)
}

fn copy_dir(from: &std::path::Path, to: &std::path::Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(to).with_context(|| format!("creating {}", to.display()))?;
    for entry in std::fs::read_dir(from).with_context(|| format!("listing {}", from.display()))? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_dir(&entry.path(), &target)?;
        } else {
            std::fs::copy(entry.path(), &target)
                .with_context(|| format!("copying {}", entry.path().display()))?;
        }
    }
    Ok(())
}

/// The built web app: `WEB_DIST_DIR`, or `<repo>/frontend/dist`.
fn web_dist_dir() -> anyhow::Result<PathBuf> {
    let dir = std::env::var_os("WEB_DIST_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_dir().join("frontend").join("dist"));
    if !dir.join("index.html").is_file() {
        bail!(
            "the web app is not built ({} has no index.html): run `cargo xtask build-web` first",
            dir.display()
        );
    }
    Ok(dir)
}
