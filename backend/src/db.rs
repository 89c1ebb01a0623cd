//! Postgres access: pools, migrations, the application role, and tenant transactions under row-level security.
//!
//! Every query on a tenant-owned table runs inside [`tenant_tx`], which sets `app.tenant_id` for that
//! transaction only. The row-level security policies read that setting without the missing-ok flag, so a query
//! that forgets the tenant fails instead of leaking another tenant's rows. Lookups that must run before a
//! tenant is known go through [`routing`], which only ever returns routing data.

pub mod audit;
pub mod domains;
pub mod files;
pub mod iam_auth;
pub mod identity_providers;
pub mod invitations;
pub mod members;
pub mod operator_revocations;
pub mod platform;
pub mod reports;
pub mod revocations;
pub mod routing;
pub mod sessions;
pub mod setup_links;
pub mod tenants;

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{Connection as _, PgConnection, PgPool, Postgres, Transaction};
use time::OffsetDateTime;
use uuid::Uuid;

/// The identifier of a tenant (the `tenants.id` column and the `tenant_id` token claim).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, sqlx::Type)]
#[sqlx(transparent)]
pub struct TenantId(pub Uuid);

impl fmt::Display for TenantId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl From<Uuid> for TenantId {
    fn from(id: Uuid) -> TenantId {
        TenantId(id)
    }
}

/// The identifier of a member within its tenant (the `members.id` column and the `member_id` token claim).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, sqlx::Type)]
#[sqlx(transparent)]
pub struct MemberId(pub Uuid);

impl fmt::Display for MemberId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl From<Uuid> for MemberId {
    fn from(id: Uuid) -> MemberId {
        MemberId(id)
    }
}

/// A position in a list ordered by a time and then an id (newest first, or oldest first): the last row of
/// the previous page. The id breaks ties between rows of the same instant. The API hands it out as an
/// opaque cursor; the time is kept in microseconds, the database's precision, so it round-trips exactly.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Keyset {
    /// The time of the last row seen.
    #[serde(with = "time::serde::timestamp::microseconds")]
    pub at: OffsetDateTime,
    /// The id of the last row seen.
    pub id: Uuid,
}

/// The NOLOGIN role the migrations create and grant the application's privileges to.
pub const APP_ROLE: &str = "saas_app";

/// How long a request waits for a pooled connection before it gives up; short, so that a database outage
/// turns into a prompt 503 instead of requests piling up.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(3);

/// Creates a connection pool without connecting: the backend must start, answer `/readyz` with 503 and
/// recover on its own when Postgres is down at start-up. Only a malformed URL is an error here.
///
/// Every new connection first runs [`check_app_role`]: a pool whose login role could see past row-level
/// security (a superuser, a role with BYPASSRLS, or a member of the tables' owner) never hands out a
/// connection, so the backend answers 503 instead of serving without its second wall.
pub async fn connect(url: &str, max_connections: u32) -> Result<PgPool, sqlx::Error> {
    let options: PgConnectOptions = url.parse()?;
    Ok(connect_with(options, max_connections))
}

/// Like [`connect`], from parsed options (the trigger Lambda changes the password of future connections
/// when it signs a new IAM token).
pub fn connect_with(options: PgConnectOptions, max_connections: u32) -> PgPool {
    pool_options(max_connections)
        .after_connect(|conn, _meta| {
            Box::pin(async move {
                check_app_role(conn).await.map_err(|err| match err {
                    RoleCheckError::Unsafe(unsafe_role) => {
                        sqlx::Error::Configuration(Box::new(unsafe_role))
                    }
                    RoleCheckError::Database(err) => err,
                })
            })
        })
        .connect_lazy_with(options)
}

/// Creates a pool for the database owner (`backend migrate`, `backend seed-demo`): no role check, since
/// the owner is exactly what the application pool must not be.
pub async fn connect_owner(url: &str, max_connections: u32) -> Result<PgPool, sqlx::Error> {
    let options: PgConnectOptions = url.parse()?;
    Ok(pool_options(max_connections).connect_lazy_with(options))
}

fn pool_options(max_connections: u32) -> PgPoolOptions {
    PgPoolOptions::new()
        .max_connections(max_connections)
        .acquire_timeout(ACQUIRE_TIMEOUT)
        .idle_timeout(Duration::from_secs(300))
}

/// The application's database role could bypass row-level security; the backend refuses to use it.
#[derive(Debug, thiserror::Error)]
#[error(
    "the application's database role {role:?} must not be used: {reason} (DATABASE_URL must name a login \
     role that is only a member of saas_app; `backend migrate` creates one)"
)]
pub struct UnsafeAppRole {
    /// The role the connection logged in as.
    pub role: String,
    /// What is wrong with it.
    pub reason: &'static str,
}

/// Why [`check_app_role`] failed.
#[derive(Debug, thiserror::Error)]
pub enum RoleCheckError {
    /// The role is unsafe: the backend must not serve with it.
    #[error(transparent)]
    Unsafe(#[from] UnsafeAppRole),
    /// The check itself could not run.
    #[error("could not check the application's database role: {0}")]
    Database(#[from] sqlx::Error),
}

/// Checks that the connection's role is not a superuser, has no BYPASSRLS and is not a member of (so
/// cannot `SET ROLE` to, or inherit from) the owner of any table with row-level security. Any of those would
/// let the application read every tenant's rows.
pub async fn check_app_role(conn: &mut PgConnection) -> Result<(), RoleCheckError> {
    let row = sqlx::query!(
        r#"SELECT r.rolname::text AS "role!", r.rolsuper AS "superuser!", r.rolbypassrls AS "bypass_rls!",
                  EXISTS (SELECT 1 FROM pg_catalog.pg_class AS c
                          WHERE c.relkind IN ('r', 'p') AND c.relrowsecurity
                            AND pg_catalog.pg_has_role(r.oid, c.relowner, 'MEMBER')) AS "owner_member!"
           FROM pg_catalog.pg_roles AS r WHERE r.rolname = current_user"#
    )
    .fetch_one(&mut *conn)
    .await?;
    let (role, superuser, bypass_rls, owner_member) =
        (row.role, row.superuser, row.bypass_rls, row.owner_member);
    let reason = if superuser {
        "it is a superuser"
    } else if bypass_rls {
        "it has BYPASSRLS"
    } else if owner_member {
        "it owns, or is a member of the owner of, the tables under row-level security"
    } else {
        return Ok(());
    };
    Err(UnsafeAppRole { role, reason }.into())
}

/// Applies the embedded migrations (`backend/migrations`). Run as the database owner, never as the
/// application role: the migrations create the tables, the policies and the `saas_app` role's grants.
pub async fn migrate(owner: &PgPool) -> Result<(), sqlx::migrate::MigrateError> {
    sqlx::migrate!("./migrations").run(owner).await
}

/// Makes sure a LOGIN role `user` with `password` exists and is a member of [`APP_ROLE`], run as the owner.
///
/// Roles are cluster-wide, so several databases in one cluster may call this at once: a lost race on the
/// role catalog is retried, and the call is idempotent (an existing role gets the password again). A role of
/// that name that is a superuser, may bypass row-level security, is the owner itself or a member of the owner
/// is refused (with [`sqlx::Error::Configuration`]) and left unchanged, because the application must never
/// run with any of those.
///
/// The password never reaches the server in clear: a SCRAM-SHA-256 verifier is computed here and only the
/// verifier is sent, on a connection whose statement logging is switched off where the owner may do so.
pub async fn ensure_app_login(
    owner: &PgPool,
    user: &str,
    password: &str,
) -> Result<(), sqlx::Error> {
    const ATTEMPTS: u32 = 10;
    let verifier = postgres_protocol::password::scram_sha_256(password.as_bytes());
    let mut attempt = 1;
    loop {
        match try_ensure_app_login(owner, user, &verifier).await {
            Err(error) if attempt < ATTEMPTS && is_concurrent_catalog_change(&error) => {
                tokio::time::sleep(Duration::from_millis(20 * u64::from(attempt))).await;
                attempt += 1;
            }
            result => return result,
        }
    }
}

/// Server settings that would write the statements of this connection, with their parameters, to the log.
/// They can only be changed by a superuser (or a role granted `SET` on them); elsewhere the verifier may be
/// logged, which reveals no password.
const STATEMENT_LOGGING_OFF: [(&str, &str); 3] = [
    ("log_statement", "none"),
    ("log_min_duration_statement", "-1"),
    ("log_min_error_statement", "panic"),
];

/// One attempt of [`ensure_app_login`], on a connection of its own that is closed afterwards (so that its
/// logging settings never return to the pool). The statements are built by Postgres' own `format()` with
/// `%I` and `%L` so that the role name and the verifier are quoted by the server, never by string
/// concatenation here.
async fn try_ensure_app_login(
    owner: &PgPool,
    user: &str,
    verifier: &str,
) -> Result<(), sqlx::Error> {
    let mut conn = owner.acquire().await?.detach();
    let result = ensure_app_login_on(&mut conn, user, verifier).await;
    // The connection is not reused; failing to close it politely changes nothing.
    let _ = conn.close().await;
    result
}

async fn ensure_app_login_on(
    conn: &mut PgConnection,
    user: &str,
    verifier: &str,
) -> Result<(), sqlx::Error> {
    for (setting, value) in STATEMENT_LOGGING_OFF {
        let changed = sqlx::query_scalar!("SELECT set_config($1, $2, false)", setting, value)
            .fetch_one(&mut *conn)
            .await;
        match changed {
            Ok(_) => {}
            // 42501 insufficient_privilege: a managed database's owner is no superuser.
            Err(err)
                if err.as_database_error().and_then(|db| db.code()).as_deref() == Some("42501") =>
            {
                tracing::debug!(setting, "not allowed to switch statement logging off");
            }
            Err(err) => return Err(err),
        }
    }

    // A role of that name that could see past row-level security is refused before anything about it
    // changes: a superuser, BYPASSRLS, the owner running this, or a member of the owner.
    let existing = sqlx::query!(
        r#"SELECT rolsuper AS "superuser!", rolbypassrls AS "bypass_rls!", rolname = current_user AS "is_owner!",
                  pg_catalog.pg_has_role(oid, current_user, 'MEMBER') AS "owner_member!"
           FROM pg_catalog.pg_roles WHERE rolname = $1"#,
        user
    )
    .fetch_optional(&mut *conn)
    .await?;
    if let Some(role) = &existing {
        let reason = if role.superuser || role.bypass_rls {
            Some("is a superuser or bypasses row-level security")
        } else if role.is_owner || role.owner_member {
            Some("is the database owner or a member of the owner")
        } else {
            None
        };
        if let Some(reason) = reason {
            return Err(sqlx::Error::Configuration(
                format!("the application login role {user:?} {reason}").into(),
            ));
        }
    }
    // Role statements take no parameters, so the server quotes the name and the verifier into the statement
    // text; that text is known only at run time, the one kind of query here that is not compile-checked.
    let statement = if existing.is_some() {
        sqlx::query_scalar!(
            r#"SELECT format('ALTER ROLE %I WITH LOGIN PASSWORD %L', $1::text, $2::text) AS "statement!""#,
            user,
            verifier
        )
        .fetch_one(&mut *conn)
        .await?
    } else {
        sqlx::query_scalar!(
            r#"SELECT format('CREATE ROLE %I WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION
                              NOBYPASSRLS INHERIT PASSWORD %L', $1::text, $2::text) AS "statement!""#,
            user,
            verifier
        )
        .fetch_one(&mut *conn)
        .await?
    };
    sqlx::query(&statement)
        .persistent(false)
        .execute(&mut *conn)
        .await?;

    let is_member = sqlx::query_scalar!(
        r#"SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_auth_members AS m
                          JOIN pg_catalog.pg_roles AS g ON g.oid = m.roleid
                          JOIN pg_catalog.pg_roles AS u ON u.oid = m.member
                          WHERE g.rolname = $1 AND u.rolname = $2) AS "is_member!""#,
        APP_ROLE,
        user
    )
    .fetch_one(&mut *conn)
    .await?;
    if !is_member {
        let grant = sqlx::query_scalar!(
            r#"SELECT format('GRANT %I TO %I', $1::text, $2::text) AS "statement!""#,
            APP_ROLE,
            user
        )
        .fetch_one(&mut *conn)
        .await?;
        sqlx::query(&grant)
            .persistent(false)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

/// Whether an error is another session changing the same role at the same time: a duplicate role created
/// concurrently (`42710`, `23505`) or an `ALTER ROLE` racing another (`XX000` "tuple concurrently updated").
fn is_concurrent_catalog_change(error: &sqlx::Error) -> bool {
    let Some(db) = error.as_database_error() else {
        return false;
    };
    match db.code().as_deref() {
        Some("42710") | Some("23505") => true,
        Some("XX000") => db.message().contains("concurrently"),
        _ => false,
    }
}

/// Checks that the database answers (`/readyz`).
pub async fn ping(pool: &PgPool) -> Result<(), sqlx::Error> {
    sqlx::query_scalar!("SELECT 1 AS one")
        .fetch_one(pool)
        .await
        .map(|_| ())
}

/// A transaction bound to one tenant: `app.tenant_id` is set for its lifetime, and it carries the
/// [`TenantId`] it was begun for.
///
/// Every data-access function on a tenant-owned table takes a `&mut TenantTx` and filters by
/// [`TenantTx::tenant_id`] in its SQL as well: the application's filter and row-level security are two
/// walls, and neither is trusted alone. Because the tenant travels with the transaction, no caller passes it
/// a second time and no function can be handed a tenant that differs from the one the database enforces.
/// Dropped without [`TenantTx::commit`], the transaction rolls back.
#[derive(Debug)]
pub struct TenantTx {
    tenant: TenantId,
    tx: Transaction<'static, Postgres>,
}

impl TenantTx {
    /// The tenant this transaction is bound to.
    pub fn tenant_id(&self) -> TenantId {
        self.tenant
    }

    /// The connection to run statements on. Data-access functions use it; handlers call those functions.
    pub fn conn(&mut self) -> &mut PgConnection {
        &mut self.tx
    }

    /// Commits the transaction.
    pub async fn commit(self) -> Result<(), sqlx::Error> {
        self.tx.commit().await
    }

    /// Rolls the transaction back now (dropping it does too, without waiting for the server).
    pub async fn rollback(self) -> Result<(), sqlx::Error> {
        self.tx.rollback().await
    }
}

/// Begins a transaction bound to `tenant`: `app.tenant_id` is set for this transaction only (`SET LOCAL`), so
/// the row-level security policies admit only that tenant's rows until commit or rollback. An error setting
/// the tenant is returned, never swallowed: continuing without it would be a query with no tenant at all.
///
/// The transaction's statements run their generic plans (`plan_cache_mode = force_generic_plan`): each
/// prepared statement is planned once per connection, not at every execution. Left to itself, Postgres plans
/// each execution anew whenever the generic plan's estimated cost exceeds that of the plans made for the
/// arguments, and with a `LIMIT $n` it always does once a tenant holds thousands of rows (a generic plan
/// assumes a tenth of the matching rows are read, a custom one the page): the page then costs the same, but
/// planning it (about a fifth of a millisecond of Postgres' time for the reports list, as the load benchmark
/// measured) is paid on every request. The statements are written so that their generic plans read their pages off an index
/// (`backend/tests/api/query_plans.rs`); a statement that needs plans for its arguments sets
/// `plan_cache_mode` itself (the filtered audit log, [`audit::CUSTOM_PLANS`]).
///
/// `BEGIN` and the settings travel in one simple-query message, one round trip instead of two. A `SET`
/// statement takes no bind parameters, so the value is written into the statement; it is the hyphenated form
/// of a [`Uuid`] (hex digits and hyphens only), which cannot end the quoted literal.
pub async fn tenant_tx(pool: &PgPool, tenant: TenantId) -> Result<TenantTx, sqlx::Error> {
    let tx = pool.begin_with(begin_for(tenant)).await?;
    Ok(TenantTx { tenant, tx })
}

/// The statement that begins a transaction bound to `tenant`.
fn begin_for(tenant: TenantId) -> String {
    format!(
        "BEGIN; SET LOCAL app.tenant_id = '{}'; SET LOCAL plan_cache_mode = force_generic_plan",
        tenant.0.as_hyphenated()
    )
}

/// Decodes a text column holding one of a fixed set of names (role, plan, status) into its Rust type.
fn decode_name<T: std::str::FromStr>(column: &str, value: &str) -> Result<T, sqlx::Error> {
    value.parse().map_err(|_| sqlx::Error::ColumnDecode {
        index: column.to_owned(),
        source: format!("unexpected value {value:?}").into(),
    })
}

/// `text` as a `LIKE` pattern that matches it anywhere (searches: `ILIKE`). Its own `%`, `_` and `\` match only
/// themselves: a search for `50%` finds "50%", not everything starting with "50".
pub(crate) fn contains_pattern(text: &str) -> String {
    let escaped = text
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    format!("%{escaped}%")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tenant_transaction_begins_with_its_settings_in_the_same_message() {
        let tenant = TenantId(Uuid::from_u128(0x0123_4567_89ab_cdef_0123_4567_89ab_cdef));
        assert_eq!(
            begin_for(tenant),
            "BEGIN; SET LOCAL app.tenant_id = '01234567-89ab-cdef-0123-456789abcdef'; \
             SET LOCAL plan_cache_mode = force_generic_plan"
        );
    }
}
