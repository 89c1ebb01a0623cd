//! Postgres access: pools, migrations, the application role, and tenant transactions under row-level security.
//!
//! Every query on a tenant-owned table runs inside [`tenant_tx`], which sets `app.tenant_id` for that
//! transaction only. The row-level security policies read that setting without the missing-ok flag, so a query
//! that forgets the tenant fails instead of leaking another tenant's rows. Lookups that must run before a
//! tenant is known go through [`routing`], which only ever returns routing data.

pub mod identity_providers;
pub mod members;
pub mod routing;
pub mod tenants;

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use sqlx::postgres::PgPoolOptions;
use sqlx::{PgConnection, PgPool, Postgres, Transaction};
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

/// The identifier of a member within its tenant (the `members.id` column and the `member_id` token claim).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, sqlx::Type)]
#[sqlx(transparent)]
pub struct MemberId(pub Uuid);

impl fmt::Display for MemberId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// The NOLOGIN role the migrations create and grant the application's privileges to.
pub const APP_ROLE: &str = "saas_app";

/// How long a request waits for a pooled connection before it gives up; short, so that a database outage
/// turns into a prompt 503 instead of requests piling up.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(3);

/// Creates a connection pool without connecting: the backend must start, answer `/readyz` with 503 and
/// recover on its own when Postgres is down at start-up. Only a malformed URL is an error here.
pub async fn connect(url: &str, max_connections: u32) -> Result<PgPool, sqlx::Error> {
    PgPoolOptions::new()
        .max_connections(max_connections)
        .acquire_timeout(ACQUIRE_TIMEOUT)
        .idle_timeout(Duration::from_secs(300))
        .connect_lazy(url)
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
/// that name that is a superuser or may bypass row-level security is refused (with
/// [`sqlx::Error::Configuration`]) and left unchanged, because the application must never run with either.
pub async fn ensure_app_login(
    owner: &PgPool,
    user: &str,
    password: &str,
) -> Result<(), sqlx::Error> {
    const ATTEMPTS: u32 = 10;
    let mut attempt = 1;
    loop {
        match try_ensure_app_login(owner, user, password).await {
            Err(error) if attempt < ATTEMPTS && is_concurrent_catalog_change(&error) => {
                tokio::time::sleep(Duration::from_millis(20 * u64::from(attempt))).await;
                attempt += 1;
            }
            result => return result,
        }
    }
}

/// One attempt of [`ensure_app_login`]. The statements are built by Postgres' own `format()` with `%I` and `%L`
/// so that the role name and the password are quoted by the server, never by string concatenation here.
async fn try_ensure_app_login(
    owner: &PgPool,
    user: &str,
    password: &str,
) -> Result<(), sqlx::Error> {
    let mut pooled = owner.acquire().await?;
    let conn: &mut PgConnection = &mut pooled;
    // A role of that name that is a superuser or may bypass row-level security is refused before anything
    // about it changes.
    let existing: Option<(bool, bool)> =
        sqlx::query_as("select rolsuper, rolbypassrls from pg_catalog.pg_roles where rolname = $1")
            .bind(user)
            .fetch_optional(&mut *conn)
            .await?;
    if let Some((superuser, bypass_rls)) = existing
        && (superuser || bypass_rls)
    {
        return Err(sqlx::Error::Configuration(
            format!(
                "the application login role {user:?} is a superuser or bypasses row-level security"
            )
            .into(),
        ));
    }
    let statement: String = if existing.is_some() {
        sqlx::query_scalar("select format('ALTER ROLE %I WITH LOGIN PASSWORD %L', $1::text, $2::text)")
    } else {
        sqlx::query_scalar(
            "select format('CREATE ROLE %I WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION \
             NOBYPASSRLS INHERIT PASSWORD %L', $1::text, $2::text)",
        )
    }
    .bind(user)
    .bind(password)
    .fetch_one(&mut *conn)
    .await?;
    sqlx::query(&statement)
        .persistent(false)
        .execute(&mut *conn)
        .await?;

    let is_member: bool = sqlx::query_scalar(
        "select exists(select 1 from pg_catalog.pg_auth_members m \
         join pg_catalog.pg_roles g on g.oid = m.roleid \
         join pg_catalog.pg_roles u on u.oid = m.member \
         where g.rolname = $1 and u.rolname = $2)",
    )
    .bind(APP_ROLE)
    .bind(user)
    .fetch_one(&mut *conn)
    .await?;
    if !is_member {
        let grant: String =
            sqlx::query_scalar("select format('GRANT %I TO %I', $1::text, $2::text)")
                .bind(APP_ROLE)
                .bind(user)
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
    sqlx::query("select 1").execute(pool).await.map(|_| ())
}

/// Begins a transaction bound to `tenant`: `set_config('app.tenant_id', $1, true)` makes the row-level
/// security policies admit only that tenant's rows until commit or rollback. An error setting the tenant is
/// returned, never swallowed: continuing without it would be a query with no tenant at all.
pub async fn tenant_tx(
    pool: &PgPool,
    tenant: TenantId,
) -> Result<Transaction<'static, Postgres>, sqlx::Error> {
    let mut tx = pool.begin().await?;
    sqlx::query("select set_config('app.tenant_id', $1, true)")
        .bind(tenant.0.to_string())
        .execute(&mut *tx)
        .await?;
    Ok(tx)
}

/// Decodes a text column holding one of a fixed set of names (role, plan, status) into its Rust type.
fn decode_name<T: std::str::FromStr>(column: &str, value: &str) -> Result<T, sqlx::Error> {
    value.parse().map_err(|_| sqlx::Error::ColumnDecode {
        index: column.to_owned(),
        source: format!("unexpected value {value:?}").into(),
    })
}
