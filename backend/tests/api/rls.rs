//! Data isolation: row-level security on every tenant-owned table, the application role's limits, and the
//! routing functions that run before a tenant is known.

use std::collections::BTreeSet;

use backend::db::{self, MemberId, TenantId, routing};
use sqlx::{Connection, PgConnection, Row};
use testkit::{APP_LOGIN, TestDatabase, fresh_database};
use uuid::Uuid;

/// Every tenant-owned table with the column naming its tenant. A test below checks this list against the
/// catalog, so a new tenant-owned table cannot be forgotten here.
const TENANT_OWNED: [(&str, &str); 11] = [
    ("tenants", "id"),
    ("tenant_identity_providers", "tenant_id"),
    ("members", "tenant_id"),
    ("reports", "tenant_id"),
    ("invitations", "tenant_id"),
    ("audit_events", "tenant_id"),
    ("files", "tenant_id"),
    ("revoked_sign_ins", "tenant_id"),
    ("member_sessions", "tenant_id"),
    ("tenant_domains", "tenant_id"),
    ("sso_setup_links", "tenant_id"),
];

/// The tables whose isolation policy is split into a read policy and an append policy (no updates, no
/// deletes), instead of one `tenant_isolation` policy for every command.
const APPEND_ONLY: [&str; 1] = ["audit_events"];

/// The demo world plus one member in each tenant.
struct World {
    db: TestDatabase,
    acme: TenantId,
    globex: TenantId,
    globex_member: MemberId,
}

async fn world() -> World {
    let db = fresh_database().await;
    db.seed_demo_world().await;
    let acme = db.tenant_id("acme").await;
    let globex = db.tenant_id("globex").await;
    let acme_member =
        insert_member(&db, acme, "acme-entra", "alice-oid", "alice@acme.example").await;
    let globex_member = insert_member(
        &db,
        globex,
        "globex-okta",
        "carol-sub",
        "carol@globex.example",
    )
    .await;
    // Every tenant-owned table holds a row of each tenant, so that the isolation tests see something to hide.
    for (tenant, author) in [(acme, acme_member), (globex, globex_member)] {
        sqlx::query(
            "INSERT INTO reports (id, tenant_id, author_id, title) VALUES (gen_random_uuid(), $1, $2, 'Seeded')",
        )
        .bind(tenant.0)
        .bind(author.0)
        .execute(&db.owner)
        .await
        .unwrap();
        sqlx::query(
            "INSERT INTO invitations (id, tenant_id, email, role, invited_by, expires_at) \
             VALUES (gen_random_uuid(), $1, 'invited@example.org', 'member', $2, now() + INTERVAL '1 day')",
        )
        .bind(tenant.0)
        .bind(author.0)
        .execute(&db.owner)
        .await
        .unwrap();
        sqlx::query(
            "INSERT INTO audit_events (id, tenant_id, action, actor_id, actor_name) \
             VALUES (gen_random_uuid(), $1, 'sign_in', $2, 'Seeded')",
        )
        .bind(tenant.0)
        .bind(author.0)
        .execute(&db.owner)
        .await
        .unwrap();
        sqlx::query(
            "INSERT INTO files (id, tenant_id, uploader_id, object_key, upload_key, name, size_bytes) \
             VALUES (gen_random_uuid(), $1, $2, $1::text || '/seeded', $1::text || '/u/uploads/seeded.pdf', \
             'seeded.pdf', 1)",
        )
        .bind(tenant.0)
        .bind(author.0)
        .execute(&db.owner)
        .await
        .unwrap();
        sqlx::query(
            "INSERT INTO revoked_sign_ins (tenant_id, origin_jti, expires_at) \
             VALUES ($1, gen_random_uuid()::text, now() + INTERVAL '1 day')",
        )
        .bind(tenant.0)
        .execute(&db.owner)
        .await
        .unwrap();
        sqlx::query(
            "WITH session AS ( \
                 INSERT INTO tower_sessions.session (id, data, expiry_date) \
                 VALUES (sha256(gen_random_uuid()::text::bytea), '{}', now() + INTERVAL '1 day') \
                 RETURNING id) \
             INSERT INTO member_sessions (tenant_id, member_id, session_key, origin_jti) \
             SELECT $1, $2, id, gen_random_uuid()::text FROM session",
        )
        .bind(tenant.0)
        .bind(author.0)
        .execute(&db.owner)
        .await
        .unwrap();
        sqlx::query(
            "INSERT INTO sso_setup_links (id, tenant_id, token_hash, expires_at, created_by_kind, created_by_id) \
             VALUES (gen_random_uuid(), $1, sha256(gen_random_uuid()::text::bytea), now() + INTERVAL '1 day', \
             'operator', 'seeded')",
        )
        .bind(tenant.0)
        .execute(&db.owner)
        .await
        .unwrap();
    }
    World {
        db,
        acme,
        globex,
        globex_member,
    }
}

/// Inserts a member as the owner (the container's superuser, which is not subject to row-level security).
async fn insert_member(
    db: &TestDatabase,
    tenant: TenantId,
    provider: &str,
    subject: &str,
    email: &str,
) -> MemberId {
    let id = Uuid::new_v4();
    sqlx::query(
        "INSERT INTO members (id, tenant_id, provider, subject, email, name, role) \
         VALUES ($1, $2, $3, $4, $5, $5, 'member')",
    )
    .bind(id)
    .bind(tenant.0)
    .bind(provider)
    .bind(subject)
    .bind(email)
    .execute(&db.owner)
    .await
    .unwrap();
    MemberId(id)
}

fn sqlstate(error: &sqlx::Error) -> String {
    error
        .as_database_error()
        .and_then(|e| e.code())
        .map(|c| c.into_owned())
        .unwrap_or_default()
}

#[tokio::test]
async fn every_tenant_owned_table_forces_row_level_security_with_fail_closed_policies() {
    let db = fresh_database().await;
    let tables: Vec<(String, bool, bool)> = sqlx::query_as(
        "SELECT c.relname::text, c.relrowsecurity, c.relforcerowsecurity FROM pg_class c \
         JOIN pg_namespace n ON n.oid = c.relnamespace \
         WHERE n.nspname = 'public' AND c.relkind = 'r' \
           AND (c.relname = 'tenants' OR EXISTS (SELECT 1 FROM pg_attribute a \
                WHERE a.attrelid = c.oid AND a.attname = 'tenant_id' AND NOT a.attisdropped))",
    )
    .fetch_all(&db.owner)
    .await
    .unwrap();
    let found: BTreeSet<&str> = tables.iter().map(|(name, _, _)| name.as_str()).collect();
    let expected: BTreeSet<&str> = TENANT_OWNED.iter().map(|(table, _)| *table).collect();
    assert_eq!(
        found, expected,
        "every table with a tenant_id column must be listed and tested"
    );
    let exported_and_purged: BTreeSet<(&str, &str)> =
        backend::db::platform::TENANT_TABLES.into_iter().collect();
    assert_eq!(
        exported_and_purged,
        TENANT_OWNED.into_iter().collect(),
        "a tenant's export and deletion cover every tenant-owned table"
    );
    for (table, enabled, forced) in &tables {
        assert!(
            *enabled && *forced,
            "{table} must ENABLE and FORCE row level security"
        );
    }

    for (table, column) in TENANT_OWNED {
        // Without the missing_ok argument the setting is printed as current_setting('app.tenant_id'::text).
        let expected = format!("({column} = (current_setting('app.tenant_id'::text))::uuid)");
        if APPEND_ONLY.contains(&table) {
            // The owner's purge policy serves only `platform_purge_tenant` (a deleted tenant's entries); the
            // application role has no DELETE privilege, and the append-only trigger refuses every other delete.
            let (purge_roles, purge_using): (Vec<String>, Option<String>) = sqlx::query_as(
                "SELECT roles::text[], qual FROM pg_policies \
                 WHERE schemaname = 'public' AND tablename = $1 AND policyname = 'owner_purge' AND cmd = 'DELETE'",
            )
            .bind(table)
            .fetch_one(&db.owner)
            .await
            .unwrap();
            assert!(
                !purge_roles
                    .iter()
                    .any(|role| role == "saas_app" || role == "public"),
                "{table}: the purge policy is the owner's alone: {purge_roles:?}"
            );
            assert_eq!(
                purge_using.as_deref(),
                Some("((tenant_id)::text = current_setting('app.purging_tenant'::text, true))")
            );
            let policies: Vec<(String, String, Option<String>, Option<String>)> = sqlx::query_as(
                "SELECT policyname::text, cmd, qual, with_check FROM pg_policies \
                 WHERE schemaname = 'public' AND tablename = $1 AND policyname <> 'owner_purge' \
                 ORDER BY policyname",
            )
            .bind(table)
            .fetch_all(&db.owner)
            .await
            .unwrap();
            assert_eq!(
                policies,
                vec![
                    (
                        "tenant_append".to_owned(),
                        "INSERT".to_owned(),
                        None,
                        Some(expected.clone())
                    ),
                    (
                        "tenant_read".to_owned(),
                        "SELECT".to_owned(),
                        Some(expected.clone()),
                        None
                    ),
                ],
                "{table}: reads and appends are confined to the tenant, and nothing else is allowed"
            );
            continue;
        }
        let (using, check): (String, Option<String>) = sqlx::query_as(
            "SELECT qual, with_check FROM pg_policies \
             WHERE schemaname = 'public' AND tablename = $1 AND policyname = 'tenant_isolation'",
        )
        .bind(table)
        .fetch_one(&db.owner)
        .await
        .unwrap();
        assert_eq!(using, expected, "{table} USING");
        assert_eq!(
            check.as_deref(),
            Some(expected.as_str()),
            "{table} WITH CHECK"
        );
    }
}

#[tokio::test]
async fn a_tenant_transaction_sees_only_its_own_rows_in_every_tenant_owned_table() {
    let w = world().await;
    for (tenant, other) in [(w.acme, w.globex), (w.globex, w.acme)] {
        let mut tx = db::tenant_tx(&w.db.app, tenant).await.unwrap();
        for (table, column) in TENANT_OWNED {
            // Deliberately no tenant filter: row-level security alone must hide the other tenant.
            let owners: Vec<Uuid> = sqlx::query_scalar(&format!("SELECT {column} FROM {table}"))
                .fetch_all(tx.conn())
                .await
                .unwrap();
            assert!(
                !owners.is_empty(),
                "{table}: the tenant's own rows are visible"
            );
            assert!(
                owners.iter().all(|id| *id == tenant.0),
                "{table}: no row of {other:?} leaks"
            );
        }
        tx.commit().await.unwrap();
    }
}

#[tokio::test]
async fn a_query_without_a_tenant_fails_on_a_fresh_connection() {
    let w = world().await;
    let mut conn = PgConnection::connect(&w.db.app_url).await.unwrap();
    for (table, _) in TENANT_OWNED {
        let error = sqlx::query(&format!("SELECT count(*) FROM {table}"))
            .fetch_one(&mut conn)
            .await
            .expect_err(table);
        // 42704: unrecognized configuration parameter "app.tenant_id".
        assert_eq!(sqlstate(&error), "42704", "{table}: {error}");
    }
}

#[tokio::test]
async fn a_query_without_a_tenant_fails_on_a_pooled_connection_that_served_a_tenant_before() {
    let w = world().await;
    let pool = db::connect(&w.db.app_url, 1).await.unwrap();
    let mut tx = db::tenant_tx(&pool, w.acme).await.unwrap();
    let pid: i32 = sqlx::query_scalar("SELECT pg_backend_pid()")
        .fetch_one(tx.conn())
        .await
        .unwrap();
    let visible: i64 = sqlx::query_scalar("SELECT count(*) FROM members")
        .fetch_one(tx.conn())
        .await
        .unwrap();
    assert_eq!(visible, 1);
    tx.commit().await.unwrap();

    let mut conn = pool.acquire().await.unwrap();
    let same_pid: i32 = sqlx::query_scalar("SELECT pg_backend_pid()")
        .fetch_one(&mut *conn)
        .await
        .unwrap();
    assert_eq!(
        same_pid, pid,
        "the pool of one must hand out the same connection"
    );
    let leftover: String = sqlx::query_scalar("SELECT current_setting('app.tenant_id')")
        .fetch_one(&mut *conn)
        .await
        .unwrap();
    assert_eq!(
        leftover, "",
        "after the transaction the setting exists but is empty"
    );
    for (table, _) in TENANT_OWNED {
        let error = sqlx::query(&format!("SELECT count(*) FROM {table}"))
            .fetch_one(&mut *conn)
            .await
            .expect_err(table);
        // 22P02: invalid input syntax for type uuid: "".
        assert_eq!(sqlstate(&error), "22P02", "{table}: {error}");
    }
}

#[tokio::test]
async fn writing_a_row_for_another_tenant_fails_the_with_check_policy() {
    let w = world().await;
    let mut tx = db::tenant_tx(&w.db.app, w.acme).await.unwrap();
    let error = sqlx::query(
        "INSERT INTO members (id, tenant_id, provider, subject, email, name, role) \
         VALUES ($1, $2, 'globex-okta', 'planted', 'x@globex.example', 'Planted', 'admin')",
    )
    .bind(Uuid::new_v4())
    .bind(w.globex.0)
    .execute(tx.conn())
    .await
    .unwrap_err();
    assert_eq!(sqlstate(&error), "42501");
    assert!(error.to_string().contains("row-level security"), "{error}");
    tx.rollback().await.unwrap();

    // Moving one of Acme's own members into Globex is the same violation.
    let mut tx = db::tenant_tx(&w.db.app, w.acme).await.unwrap();
    let error = sqlx::query("UPDATE members SET tenant_id = $1, provider = 'globex-okta'")
        .bind(w.globex.0)
        .execute(tx.conn())
        .await
        .unwrap_err();
    assert!(error.to_string().contains("row-level security"), "{error}");
}

#[tokio::test]
async fn updating_or_deleting_another_tenants_rows_affects_nothing() {
    let w = world().await;
    let mut tx = db::tenant_tx(&w.db.app, w.acme).await.unwrap();
    let updated = sqlx::query("UPDATE members SET name = 'Pwned', role = 'admin' WHERE id = $1")
        .bind(w.globex_member.0)
        .execute(tx.conn())
        .await
        .unwrap();
    assert_eq!(updated.rows_affected(), 0);
    let updated_all = sqlx::query("UPDATE members SET name = 'Pwned' WHERE tenant_id = $1")
        .bind(w.globex.0)
        .execute(tx.conn())
        .await
        .unwrap();
    assert_eq!(updated_all.rows_affected(), 0);
    let deleted = sqlx::query("DELETE FROM members WHERE id = $1")
        .bind(w.globex_member.0)
        .execute(tx.conn())
        .await
        .unwrap();
    assert_eq!(deleted.rows_affected(), 0);
    assert!(
        !db::members::set_status(
            &mut tx,
            w.globex_member,
            db::members::MemberStatus::Deactivated
        )
        .await
        .unwrap()
    );
    assert_eq!(
        db::members::get(&mut tx, w.globex_member).await.unwrap(),
        None
    );
    // Row-level security alone hides the other tenant's row from a query that does not filter by tenant.
    let globex_rows: Vec<(Uuid,)> = sqlx::query_as("SELECT id FROM tenants WHERE id = $1")
        .bind(w.globex.0)
        .fetch_all(tx.conn())
        .await
        .unwrap();
    assert!(globex_rows.is_empty());
    tx.commit().await.unwrap();

    let row = sqlx::query("SELECT name, status FROM members WHERE id = $1")
        .bind(w.globex_member.0)
        .fetch_one(&w.db.owner)
        .await
        .unwrap();
    assert_eq!(row.get::<String, _>("name"), "carol@globex.example");
    assert_eq!(row.get::<String, _>("status"), "active");
}

/// The application's own wall: every data-access function filters by the tenant of its `TenantTx`, so even on
/// a connection that row-level security does not restrict (the superuser's), another tenant's rows stay out of
/// reach. Row-level security is the second wall, tested above on its own.
#[tokio::test]
async fn the_data_layer_filters_by_the_transactions_tenant_even_where_row_level_security_does_not_apply()
 {
    let w = world().await;
    let globex_id = |table: &'static str| {
        let owner = w.db.owner.clone();
        let globex = w.globex;
        async move {
            sqlx::query_scalar::<_, Uuid>(&format!(
                "SELECT id FROM {table} WHERE tenant_id = $1 LIMIT 1"
            ))
            .bind(globex.0)
            .fetch_one(&owner)
            .await
            .unwrap()
        }
    };
    let report = globex_id("reports").await;
    let file = globex_id("files").await;
    let invitation = globex_id("invitations").await;
    let profile = db::members::SignInProfile {
        email: "pwned@acme.example",
        email_verified: Some("true"),
        name: "Pwned",
        role: shared::Role::Admin,
        groups: &[],
        is_sign_in: true,
    };

    // The superuser sees every row: only the functions' own filter stands between Acme and Globex.
    let mut tx = db::tenant_tx(&w.db.owner, w.acme).await.unwrap();
    let visible: i64 = sqlx::query_scalar("SELECT count(*) FROM members WHERE id = $1")
        .bind(w.globex_member.0)
        .fetch_one(tx.conn())
        .await
        .unwrap();
    assert_eq!(
        visible, 1,
        "the premise: row-level security does not restrict this connection"
    );
    assert_eq!(
        db::members::get(&mut tx, w.globex_member).await.unwrap(),
        None
    );
    assert!(
        !db::members::set_status(
            &mut tx,
            w.globex_member,
            db::members::MemberStatus::Deactivated
        )
        .await
        .unwrap()
    );
    assert_eq!(
        db::members::record_sign_in(&mut tx, w.globex_member, &profile)
            .await
            .unwrap(),
        None
    );
    assert_eq!(db::reports::get(&mut tx, report).await.unwrap(), None);
    assert_eq!(db::reports::delete(&mut tx, report).await.unwrap(), None);
    assert_eq!(db::files::get(&mut tx, file).await.unwrap(), None);
    db::invitations::accept(&mut tx, invitation, w.globex_member)
        .await
        .unwrap();
    assert_eq!(
        db::invitations::delete_open(&mut tx, invitation)
            .await
            .unwrap(),
        None
    );
    tx.commit().await.unwrap();

    let untouched = sqlx::query(
        "SELECT m.name, m.status, i.accepted_at IS NULL AS open, \
                EXISTS (SELECT 1 FROM reports WHERE id = $3) AS report_kept \
         FROM members AS m, invitations AS i WHERE m.id = $1 AND i.id = $2",
    )
    .bind(w.globex_member.0)
    .bind(invitation)
    .bind(report)
    .fetch_one(&w.db.owner)
    .await
    .unwrap();
    assert_eq!(untouched.get::<String, _>("name"), "carol@globex.example");
    assert_eq!(untouched.get::<String, _>("status"), "active");
    assert!(untouched.get::<bool, _>("open"));
    assert!(untouched.get::<bool, _>("report_kept"));

    // The same calls in Globex's own transaction reach the rows, so the refusals above are the filter's.
    let mut tx = db::tenant_tx(&w.db.owner, w.globex).await.unwrap();
    assert!(
        db::members::get(&mut tx, w.globex_member)
            .await
            .unwrap()
            .is_some()
    );
    assert!(db::reports::get(&mut tx, report).await.unwrap().is_some());
    assert!(db::files::get(&mut tx, file).await.unwrap().is_some());
    tx.rollback().await.unwrap();
}

#[tokio::test]
async fn the_app_role_is_neither_owner_nor_superuser_and_cannot_bypass_or_disable_rls() {
    let w = world().await;
    let mut conn = PgConnection::connect(&w.db.app_url).await.unwrap();
    let (user, superuser, bypass, in_app_role): (String, bool, bool, bool) = sqlx::query_as(
        "SELECT rolname::text, rolsuper, rolbypassrls, pg_has_role(current_user, 'saas_app', 'member') \
         FROM pg_roles WHERE rolname = current_user",
    )
    .fetch_one(&mut conn)
    .await
    .unwrap();
    assert_eq!(user, APP_LOGIN);
    assert!(!superuser && !bypass && in_app_role);
    let (app_superuser, app_bypass, app_login): (bool, bool, bool) = sqlx::query_as(
        "SELECT rolsuper, rolbypassrls, rolcanlogin FROM pg_roles WHERE rolname = 'saas_app'",
    )
    .fetch_one(&mut conn)
    .await
    .unwrap();
    assert!(!app_superuser && !app_bypass && !app_login);

    for (table, _) in TENANT_OWNED {
        let owns: bool = sqlx::query_scalar(
            "SELECT pg_has_role(current_user, tableowner, 'member') FROM pg_tables \
             WHERE schemaname = 'public' AND tablename = $1",
        )
        .bind(table)
        .fetch_one(&mut conn)
        .await
        .unwrap();
        assert!(!owns, "{table} must not be owned by the app role");
        let policy = if APPEND_ONLY.contains(&table) {
            "tenant_read"
        } else {
            "tenant_isolation"
        };
        for ddl in [
            format!("ALTER TABLE {table} DISABLE ROW LEVEL SECURITY"),
            format!("ALTER TABLE {table} NO FORCE ROW LEVEL SECURITY"),
            format!("DROP POLICY {policy} ON {table}"),
            format!("ALTER TABLE {table} ADD COLUMN planted text"),
        ] {
            let error = sqlx::raw_sql(&ddl)
                .execute(&mut conn)
                .await
                .expect_err(&ddl);
            assert_eq!(sqlstate(&error), "42501", "{ddl}: {error}");
        }
    }
    let error = sqlx::raw_sql("CREATE TABLE planted (id int)")
        .execute(&mut conn)
        .await
        .unwrap_err();
    assert_eq!(sqlstate(&error), "42501", "{error}");

    // Turning row security off does not turn it off for a role without BYPASSRLS: the query fails instead.
    sqlx::raw_sql("set row_security = off")
        .execute(&mut conn)
        .await
        .unwrap();
    let mut tx = conn.begin().await.unwrap();
    sqlx::query("SELECT set_config('app.tenant_id', $1, TRUE)")
        .bind(w.acme.to_string())
        .execute(&mut *tx)
        .await
        .unwrap();
    let error = sqlx::query("SELECT count(*) FROM members")
        .fetch_one(&mut *tx)
        .await
        .unwrap_err();
    assert!(error.to_string().contains("row-level security"), "{error}");
}

#[tokio::test]
async fn the_app_role_cannot_write_tenants_or_their_identity_providers() {
    let w = world().await;
    // Beyond what the operators' console changes (a new tenant's row; a tenant's plan and status) and the
    // tenant admins' settings, nothing of a tenant or its identity providers is writable.
    let attempts = [
        "UPDATE tenants SET slug = 'renamed'",
        "UPDATE tenants SET name = 'Renamed'",
        "UPDATE tenants SET created_at = now()",
        "DELETE FROM tenants",
        "UPDATE tenant_identity_providers SET verified_domains = '{globex.example}'",
        "DELETE FROM tenant_identity_providers",
        "INSERT INTO tenant_identity_providers (id, tenant_id, provider_name, kind) \
         VALUES (gen_random_uuid(), current_setting('app.tenant_id')::uuid, 'planted', 'oidc')",
    ];
    for statement in attempts {
        let mut tx = db::tenant_tx(&w.db.app, w.acme).await.unwrap();
        let error = sqlx::query(statement)
            .execute(tx.conn())
            .await
            .expect_err(statement);
        assert_eq!(sqlstate(&error), "42501", "{statement}: {error}");
        assert!(
            error.to_string().contains("permission denied"),
            "{statement}: {error}"
        );
    }
    // What the console may change, it may change only for the transaction's own tenant: another tenant's row
    // is invisible, and a new row must be the transaction's tenant.
    for statement in [
        "UPDATE tenants SET plan = 'pro', status = 'suspended' WHERE id = $1",
        "UPDATE tenants SET sign_ins_revoked_before = now() WHERE id = $1",
    ] {
        let mut tx = db::tenant_tx(&w.db.app, w.acme).await.unwrap();
        let done = sqlx::query(statement)
            .bind(w.globex.0)
            .execute(tx.conn())
            .await
            .unwrap();
        assert_eq!(done.rows_affected(), 0, "{statement}");
    }
    let mut tx = db::tenant_tx(&w.db.app, w.acme).await.unwrap();
    let error = sqlx::query(
        "INSERT INTO tenants (id, slug, name, plan) VALUES (gen_random_uuid(), 'planted', 'Planted', 'pro')",
    )
    .execute(tx.conn())
    .await
    .expect_err("a tenant other than the transaction's");
    assert_eq!(sqlstate(&error), "42501", "{error}");
    assert!(error.to_string().contains("row-level security"), "{error}");
}

/// An insert into each tenant-owned table, with `$1` the tenant the row claims and `$2` a member of the
/// tenant the transaction is bound to.
const INSERTS: [(&str, &str); 11] = [
    (
        "tenants",
        "INSERT INTO tenants (id, slug, name, plan) VALUES ($1, 'planted', 'Planted', 'pro')",
    ),
    (
        "tenant_identity_providers",
        "INSERT INTO tenant_identity_providers (id, tenant_id, provider_name, kind) \
         VALUES (gen_random_uuid(), $1, 'planted', 'oidc')",
    ),
    (
        "members",
        "INSERT INTO members (id, tenant_id, provider, subject, role) \
         VALUES (gen_random_uuid(), $1, 'globex-okta', 'planted', 'admin')",
    ),
    (
        "reports",
        "INSERT INTO reports (id, tenant_id, author_id, title) VALUES (gen_random_uuid(), $1, $2, 'Planted')",
    ),
    (
        "invitations",
        "INSERT INTO invitations (id, tenant_id, email, role, invited_by, expires_at) \
         VALUES (gen_random_uuid(), $1, 'planted@example.org', 'admin', $2, now() + INTERVAL '1 day')",
    ),
    (
        "audit_events",
        "INSERT INTO audit_events (id, tenant_id, action) VALUES (gen_random_uuid(), $1, 'sign_in')",
    ),
    (
        "files",
        "INSERT INTO files (id, tenant_id, uploader_id, object_key, upload_key, name, size_bytes) \
         VALUES (gen_random_uuid(), $1, $2, 'planted', 'planted', 'planted', 1)",
    ),
    (
        "revoked_sign_ins",
        "INSERT INTO revoked_sign_ins (tenant_id, origin_jti, expires_at) \
         VALUES ($1, 'planted', now() + INTERVAL '1 day')",
    ),
    (
        "member_sessions",
        "INSERT INTO member_sessions (tenant_id, member_id, session_key, origin_jti) \
         VALUES ($1, $2, sha256('planted'), 'planted')",
    ),
    (
        "tenant_domains",
        "INSERT INTO tenant_domains (tenant_id, domain, verification_token, status, verified_at) \
         VALUES ($1, 'planted.example', repeat('p', 43), 'verified', now())",
    ),
    (
        "sso_setup_links",
        "INSERT INTO sso_setup_links (id, tenant_id, token_hash, expires_at, created_by_kind, created_by_id) \
         VALUES (gen_random_uuid(), $1, sha256('planted'), now() + INTERVAL '1 day', 'member', $2::text)",
    ),
];

/// The number of rows of each tenant-owned table, as the owner sees them.
async fn row_counts(db: &TestDatabase) -> Vec<(&'static str, i64)> {
    let mut counts = Vec::new();
    for (table, _) in TENANT_OWNED {
        let count: i64 = sqlx::query_scalar(&format!("SELECT count(*) FROM {table}"))
            .fetch_one(&db.owner)
            .await
            .unwrap();
        counts.push((table, count));
    }
    counts
}

#[tokio::test]
async fn with_the_wrong_tenant_or_none_the_app_role_writes_nothing_to_any_tenant_owned_table() {
    let w = world().await;
    let acme_member: Uuid =
        sqlx::query_scalar("SELECT id FROM members WHERE tenant_id = $1 LIMIT 1")
            .bind(w.acme.0)
            .fetch_one(&w.db.owner)
            .await
            .unwrap();
    let before = row_counts(&w.db).await;
    let tables: BTreeSet<&str> = INSERTS.iter().map(|(table, _)| *table).collect();
    assert_eq!(
        tables,
        TENANT_OWNED.iter().map(|(table, _)| *table).collect(),
        "every tenant-owned table has an insert attempt"
    );
    for (table, insert) in INSERTS {
        // A row claiming Globex, written in Acme's transaction: refused (policy or missing grant).
        let mut tx = db::tenant_tx(&w.db.app, w.acme).await.unwrap();
        let error = sqlx::query(insert)
            .bind(w.globex.0)
            .bind(acme_member)
            .execute(tx.conn())
            .await
            .expect_err(table);
        assert_eq!(sqlstate(&error), "42501", "{table}: {error}");
        tx.rollback().await.unwrap();
        // The same row without any tenant set: refused as well.
        let mut conn = PgConnection::connect(&w.db.app_url).await.unwrap();
        let error = sqlx::query(insert)
            .bind(w.globex.0)
            .bind(acme_member)
            .execute(&mut conn)
            .await
            .expect_err(table);
        assert!(
            ["42704", "42501"].contains(&sqlstate(&error).as_str()),
            "{table} without a tenant: {error}"
        );
    }
    for (table, column) in TENANT_OWNED {
        for statement in [
            format!("UPDATE {table} SET {column} = {column} WHERE {column} = $1"),
            format!("DELETE FROM {table} WHERE {column} = $1"),
        ] {
            // Globex's rows through Acme's transaction: invisible, so nothing changes (or no grant at all).
            let mut tx = db::tenant_tx(&w.db.app, w.acme).await.unwrap();
            match sqlx::query(&statement)
                .bind(w.globex.0)
                .execute(tx.conn())
                .await
            {
                Ok(done) => assert_eq!(done.rows_affected(), 0, "{statement}"),
                Err(error) => assert_eq!(sqlstate(&error), "42501", "{statement}: {error}"),
            }
            tx.rollback().await.unwrap();
            // No tenant at all: the statement fails.
            let mut conn = PgConnection::connect(&w.db.app_url).await.unwrap();
            let error = sqlx::query(&statement)
                .bind(w.globex.0)
                .execute(&mut conn)
                .await
                .expect_err(&statement);
            assert!(
                ["42704", "42501"].contains(&sqlstate(&error).as_str()),
                "{statement}: {error}"
            );
        }
    }
    assert_eq!(row_counts(&w.db).await, before);
}

#[tokio::test]
async fn tenant_admin_settings_are_the_only_tenant_columns_the_app_role_can_change_and_only_its_own()
 {
    let w = world().await;
    let mut tx = db::tenant_tx(&w.db.app, w.acme).await.unwrap();
    let own = sqlx::query("UPDATE tenants SET just_in_time = FALSE")
        .execute(tx.conn())
        .await
        .unwrap();
    assert_eq!(
        own.rows_affected(),
        1,
        "only Acme's row is visible and changed"
    );
    let mapping = sqlx::query(
        "UPDATE tenant_identity_providers SET group_role_mapping = '{\"Staff\": \"member\"}'",
    )
    .execute(tx.conn())
    .await
    .unwrap();
    assert_eq!(mapping.rows_affected(), 1);
    tx.commit().await.unwrap();
    let globex_jit: bool = sqlx::query_scalar("SELECT just_in_time FROM tenants WHERE id = $1")
        .bind(w.globex.0)
        .fetch_one(&w.db.owner)
        .await
        .unwrap();
    assert!(globex_jit, "Globex's setting is untouched");
    let globex_mapping: String = sqlx::query_scalar(
        "SELECT group_role_mapping::text FROM tenant_identity_providers WHERE tenant_id = $1",
    )
    .bind(w.globex.0)
    .fetch_one(&w.db.owner)
    .await
    .unwrap();
    assert!(globex_mapping.contains("saas-admin"), "{globex_mapping}");

    for statement in [
        "UPDATE tenants SET slug = 'renamed'",
        "UPDATE tenants SET name = 'Renamed'",
        "UPDATE tenant_identity_providers SET provider_name = 'stolen'",
        "UPDATE tenant_identity_providers SET issuer = 'https://evil.example'",
        "UPDATE tenant_identity_providers SET tenant_id = tenant_id",
    ] {
        let mut tx = db::tenant_tx(&w.db.app, w.acme).await.unwrap();
        let error = sqlx::query(statement)
            .execute(tx.conn())
            .await
            .expect_err(statement);
        assert_eq!(sqlstate(&error), "42501", "{statement}: {error}");
    }
}

#[tokio::test]
async fn the_app_role_can_append_to_the_audit_log_but_never_change_or_remove_an_entry() {
    let w = world().await;
    let mut tx = db::tenant_tx(&w.db.app, w.acme).await.unwrap();
    sqlx::query("INSERT INTO audit_events (id, tenant_id, action) VALUES (gen_random_uuid(), $1, 'settings_changed')")
        .bind(w.acme.0)
        .execute(tx.conn())
        .await
        .unwrap();
    tx.commit().await.unwrap();
    for statement in [
        "UPDATE audit_events SET action = 'sign_in'",
        "UPDATE audit_events SET details = '{}' WHERE tenant_id = current_setting('app.tenant_id')::uuid",
        "DELETE FROM audit_events",
        "TRUNCATE audit_events",
    ] {
        let mut tx = db::tenant_tx(&w.db.app, w.acme).await.unwrap();
        let error = sqlx::query(statement)
            .execute(tx.conn())
            .await
            .expect_err(statement);
        assert_eq!(sqlstate(&error), "42501", "{statement}: {error}");
    }
    // Even the owner, which row-level security does not bind here, meets the append-only trigger.
    for statement in [
        "UPDATE audit_events SET action = 'sign_in'",
        "DELETE FROM audit_events",
    ] {
        let error = sqlx::query(statement)
            .execute(&w.db.owner)
            .await
            .expect_err(statement);
        assert!(
            error.to_string().contains("append-only"),
            "{statement}: {error}"
        );
    }
    let count: i64 = sqlx::query_scalar("SELECT count(*) FROM audit_events")
        .fetch_one(&w.db.owner)
        .await
        .unwrap();
    assert_eq!(
        count, 3,
        "two seeded entries and the appended one, all still there"
    );
}

#[tokio::test]
async fn routing_returns_only_providers_of_verified_domains_and_grants_nothing() {
    let w = world().await;
    let app = &w.db.app;
    assert_eq!(
        routing::provider_for_domain(app, "acme.example")
            .await
            .unwrap()
            .as_deref(),
        Some("acme-entra")
    );
    assert_eq!(
        routing::provider_for_domain(app, "ACME.Example")
            .await
            .unwrap()
            .as_deref(),
        Some("acme-entra")
    );
    assert_eq!(
        routing::provider_for_domain(app, "globex.example")
            .await
            .unwrap()
            .as_deref(),
        Some("globex-okta")
    );
    for unknown in [
        "example",
        "evil.example",
        "sub.acme.example",
        "acme.example.evil",
        "",
    ] {
        assert_eq!(
            routing::provider_for_domain(app, unknown).await.unwrap(),
            None,
            "{unknown:?}"
        );
    }
    assert_eq!(
        routing::provider_for_tenant_slug(app, "acme")
            .await
            .unwrap()
            .as_deref(),
        Some("acme-entra")
    );
    assert_eq!(
        routing::provider_for_tenant_slug(app, "globex")
            .await
            .unwrap()
            .as_deref(),
        Some("globex-okta")
    );
    assert_eq!(
        routing::provider_for_tenant_slug(app, "initech")
            .await
            .unwrap(),
        None
    );
    let binding = routing::tenant_for_provider(app, "globex-okta")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(binding.tenant_id, w.globex);
    assert_eq!(binding.provider_name, "globex-okta");
    assert_eq!(
        routing::tenant_for_provider(app, "initech-okta")
            .await
            .unwrap(),
        None
    );

    // A tenant whose provider has verified no domain is reachable by slug, never by a domain.
    let initech = Uuid::new_v4();
    sqlx::query(
        "INSERT INTO tenants (id, slug, name, plan) VALUES ($1, 'initech', 'Initech', 'basic')",
    )
    .bind(initech)
    .execute(&w.db.owner)
    .await
    .unwrap();
    sqlx::query(
        "INSERT INTO tenant_identity_providers (id, tenant_id, provider_name, kind) \
         VALUES (gen_random_uuid(), $1, 'initech-oidc', 'oidc')",
    )
    .bind(initech)
    .execute(&w.db.owner)
    .await
    .unwrap();
    assert_eq!(
        routing::provider_for_domain(app, "initech.example")
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        routing::provider_for_tenant_slug(app, "initech")
            .await
            .unwrap()
            .as_deref(),
        Some("initech-oidc")
    );

    // A provider listing a domain its tenant has not proven neither routes it nor disturbs its routing: only a
    // verified claim of the provider's own tenant counts.
    sqlx::query("UPDATE tenant_identity_providers SET verified_domains = '{globex.example}' WHERE tenant_id = $1")
        .bind(initech)
        .execute(&w.db.owner)
        .await
        .unwrap();
    assert_eq!(
        routing::provider_for_domain(app, "globex.example")
            .await
            .unwrap()
            .as_deref(),
        Some("globex-okta")
    );

    // A domain two providers of one tenant both list is ambiguous and routes nowhere.
    sqlx::query(
        "INSERT INTO tenant_identity_providers (id, tenant_id, provider_name, kind, verified_domains) \
         VALUES (gen_random_uuid(), $1, 'globex-second', 'oidc', '{globex.example}')",
    )
    .bind(w.globex.0)
    .execute(&w.db.owner)
    .await
    .unwrap();
    assert_eq!(
        routing::provider_for_domain(app, "globex.example")
            .await
            .unwrap(),
        None
    );

    // Routing set no tenant: the tables are as closed as before.
    let mut conn = w.db.app.acquire().await.unwrap();
    let error = sqlx::query("SELECT count(*) FROM tenant_identity_providers")
        .fetch_one(&mut *conn)
        .await
        .unwrap_err();
    assert!(
        ["42704", "22P02"].contains(&sqlstate(&error).as_str()),
        "{error}"
    );
}

#[tokio::test]
async fn routing_functions_are_security_definer_with_a_pinned_search_path_executable_only_by_the_app_role()
 {
    let db = fresh_database().await;
    let functions: Vec<(String, bool, Vec<String>, Vec<String>)> = sqlx::query_as(
        "SELECT p.proname::text, p.prosecdef, coalesce(p.proconfig, '{}'), \
         array(SELECT CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE pg_get_userbyid(a.grantee)::text END \
               FROM aclexplode(p.proacl) a WHERE a.privilege_type = 'EXECUTE' ORDER BY 1) \
         FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace \
         WHERE n.nspname = 'public' AND p.proname LIKE 'routing\\_%' ORDER BY 1",
    )
    .fetch_all(&db.owner)
    .await
    .unwrap();
    let names: Vec<&str> = functions.iter().map(|(name, ..)| name.as_str()).collect();
    assert_eq!(
        names,
        [
            "routing_provider_for_domain",
            "routing_provider_for_tenant_slug",
            "routing_tenant_for_provider"
        ]
    );
    for (name, security_definer, config, executors) in &functions {
        assert!(security_definer, "{name}");
        assert_eq!(config, &["search_path=pg_catalog, public"], "{name}");
        assert_eq!(
            executors,
            &["postgres", "saas_app"],
            "{name}: EXECUTE for the owner and saas_app only"
        );
    }
}

#[tokio::test]
async fn the_session_store_works_for_the_app_role_without_any_ddl() {
    use tower_sessions::session::{Id, Record};
    use tower_sessions::session_store::SessionStore as _;

    let db = fresh_database().await;
    let store = backend::auth::session::SessionStore::new(db.app.clone());
    // Postgres keeps microseconds.
    let expiry = time::OffsetDateTime::now_utc() + time::Duration::hours(1);
    let expiry_date = expiry
        .replace_nanosecond(expiry.nanosecond() / 1000 * 1000)
        .unwrap();
    let mut record = Record {
        id: Id::default(),
        data: [("k".to_owned(), serde_json::json!("v"))]
            .into_iter()
            .collect(),
        expiry_date,
    };
    store.create(&mut record).await.unwrap();
    assert_eq!(store.load(&record.id).await.unwrap(), Some(record.clone()));
    store.delete(&record.id).await.unwrap();
    assert_eq!(store.load(&record.id).await.unwrap(), None);
}

#[tokio::test]
async fn migrations_seeding_and_routing_work_when_the_owner_is_not_a_superuser() {
    // Managed Postgres (Amazon RDS) has no true superuser: the owner is subject to FORCE ROW LEVEL SECURITY.
    let db = fresh_database().await;
    let suffix = Uuid::new_v4().simple().to_string();
    let owner_role = format!("owner_{suffix}");
    let database = format!("{}_rds", db.name);
    for statement in [
        format!("CREATE ROLE {owner_role} LOGIN CREATEROLE PASSWORD 'owner-password'"),
        format!(r#"CREATE DATABASE "{database}" OWNER {owner_role}"#),
    ] {
        sqlx::raw_sql(&statement).execute(&db.owner).await.unwrap();
    }
    let mut owner_url = url::Url::parse(&db.owner_url).unwrap();
    owner_url.set_username(&owner_role).unwrap();
    owner_url.set_password(Some("owner-password")).unwrap();
    owner_url.set_path(&database);
    let owner = sqlx::PgPool::connect(owner_url.as_str()).await.unwrap();
    db::migrate(&owner).await.unwrap();
    let world = backend::seed::DemoWorld::load(&testkit::infra_dir()).unwrap();
    backend::seed::demo_world(&owner, &world, &backend::seed::DemoIssuers::default())
        .await
        .unwrap();
    backend::seed::demo_world(&owner, &world, &backend::seed::DemoIssuers::default())
        .await
        .unwrap();

    let mut app_url = url::Url::parse(&db.app_url).unwrap();
    app_url.set_path(&database);
    let app = db::connect(app_url.as_str(), 1).await.unwrap();
    assert_eq!(
        routing::provider_for_domain(&app, "acme.example")
            .await
            .unwrap()
            .as_deref(),
        Some("acme-entra")
    );
    let binding = routing::tenant_for_provider(&app, "acme-entra")
        .await
        .unwrap()
        .unwrap();
    let mut tx = db::tenant_tx(&app, binding.tenant_id).await.unwrap();
    let tenant = db::tenants::current(&mut tx).await.unwrap().unwrap();
    assert_eq!(tenant.slug, "acme");
    let tenants: i64 = sqlx::query_scalar("SELECT count(*) FROM tenants")
        .fetch_one(tx.conn())
        .await
        .unwrap();
    assert_eq!(tenants, 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn migrations_run_side_by_side_on_the_empty_databases_of_a_fresh_cluster() {
    // Test databases are clones of one migrated template, so no other test migrates databases side by side.
    // Several databases of one cluster may still be migrated at once, and the `saas_app` role's creation races
    // only while that role does not exist yet: hence a cluster of this test's own.
    let postgres = testkit::Postgres::start().await.unwrap();
    let mut migrations = tokio::task::JoinSet::new();
    for _ in 0..4 {
        let url = postgres.owner_url(&postgres.empty_database().await.unwrap());
        migrations.spawn(async move {
            let owner = sqlx::PgPool::connect(&url).await.unwrap();
            db::migrate(&owner).await
        });
    }
    while let Some(migrated) = migrations.join_next().await {
        migrated.unwrap().unwrap();
    }
    let mut conn = PgConnection::connect(&postgres.owner_url("postgres"))
        .await
        .unwrap();
    let app_role: bool = sqlx::query_scalar(
        "SELECT EXISTS(SELECT 1 FROM pg_roles WHERE rolname = 'saas_app' AND NOT rolcanlogin)",
    )
    .fetch_one(&mut conn)
    .await
    .unwrap();
    assert!(app_role);
    conn.close().await.unwrap();
    postgres.remove().await.unwrap();
}

#[tokio::test]
async fn ensuring_the_app_login_is_idempotent_safe_concurrently_and_refuses_a_superuser() {
    let db = fresh_database().await;
    let user = format!("app_login_{}", Uuid::new_v4().simple());
    // Concurrent calls race on the cluster-wide role catalog, as tests creating many databases do.
    let mut calls = tokio::task::JoinSet::new();
    for _ in 0..6 {
        let (owner, user) = (db.owner.clone(), user.clone());
        calls.spawn(async move { db::ensure_app_login(&owner, &user, "secret-1").await });
    }
    while let Some(result) = calls.join_next().await {
        result.unwrap().unwrap();
    }
    db::ensure_app_login(&db.owner, &user, "secret-2")
        .await
        .unwrap();
    let mut url = url::Url::parse(&db.app_url).unwrap();
    url.set_username(&user).unwrap();
    url.set_password(Some("secret-2")).unwrap();
    let mut conn = PgConnection::connect(url.as_str()).await.unwrap();
    let in_app_role: bool =
        sqlx::query_scalar("SELECT pg_has_role(current_user, 'saas_app', 'member')")
            .fetch_one(&mut conn)
            .await
            .unwrap();
    assert!(in_app_role);

    // Only a SCRAM-SHA-256 verifier reached the server, never the password itself.
    let stored: String = sqlx::query_scalar("SELECT rolpassword FROM pg_authid WHERE rolname = $1")
        .bind(&user)
        .fetch_one(&db.owner)
        .await
        .unwrap();
    assert!(stored.starts_with("SCRAM-SHA-256$4096:"), "{stored}");
    assert!(!stored.contains("secret-2"));

    let superuser = format!("super_{}", Uuid::new_v4().simple());
    sqlx::raw_sql(&format!(
        "CREATE ROLE {superuser} SUPERUSER LOGIN PASSWORD 'original'"
    ))
    .execute(&db.owner)
    .await
    .unwrap();
    let error = db::ensure_app_login(&db.owner, &superuser, "changed")
        .await
        .unwrap_err();
    assert!(matches!(error, sqlx::Error::Configuration(_)), "{error}");
    url.set_username(&superuser).unwrap();
    url.set_password(Some("original")).unwrap();
    PgConnection::connect(url.as_str())
        .await
        .expect("the refused role is left unchanged");
}

#[tokio::test]
async fn ensuring_the_app_login_refuses_the_owner_itself_and_members_of_the_owner() {
    let db = fresh_database().await;
    let error = db::ensure_app_login(&db.owner, "postgres", "changed")
        .await
        .unwrap_err();
    assert!(matches!(error, sqlx::Error::Configuration(_)), "{error}");

    let member_of_owner = format!("owner_member_{}", Uuid::new_v4().simple());
    sqlx::raw_sql(&format!(
        "CREATE ROLE {member_of_owner} LOGIN PASSWORD 'original'; GRANT postgres TO {member_of_owner}"
    ))
    .execute(&db.owner)
    .await
    .unwrap();
    let error = db::ensure_app_login(&db.owner, &member_of_owner, "changed")
        .await
        .unwrap_err();
    assert!(matches!(error, sqlx::Error::Configuration(_)), "{error}");
    let in_app_role: bool = sqlx::query_scalar("SELECT pg_has_role($1, 'saas_app', 'member')")
        .bind(&member_of_owner)
        .fetch_one(&db.owner)
        .await
        .unwrap();
    assert!(!in_app_role, "the refused role is left unchanged");
}

#[tokio::test]
async fn the_role_check_accepts_the_app_login_and_refuses_roles_that_could_see_past_rls() {
    let db = fresh_database().await;
    let mut app = db.app.acquire().await.unwrap();
    db::check_app_role(&mut app).await.unwrap();

    let suffix = Uuid::new_v4().simple().to_string();
    let bypass = format!("bypass_{suffix}");
    let owner_member = format!("owner_member_{suffix}");
    sqlx::raw_sql(&format!(
        "CREATE ROLE {bypass} LOGIN BYPASSRLS PASSWORD 'p'; GRANT saas_app TO {bypass}; \
         CREATE ROLE {owner_member} LOGIN PASSWORD 'p'; GRANT saas_app TO {owner_member}; \
         GRANT postgres TO {owner_member}"
    ))
    .execute(&db.owner)
    .await
    .unwrap();
    let owner = db.owner.acquire().await.unwrap();
    let mut cases = vec![("postgres", owner.detach())];
    for role in [bypass.as_str(), owner_member.as_str()] {
        let mut url = url::Url::parse(&db.app_url).unwrap();
        url.set_username(role).unwrap();
        url.set_password(Some("p")).unwrap();
        cases.push((role, PgConnection::connect(url.as_str()).await.unwrap()));
    }
    for (role, mut conn) in cases {
        let error = db::check_app_role(&mut conn).await.unwrap_err();
        assert!(
            matches!(&error, db::RoleCheckError::Unsafe(unsafe_role) if unsafe_role.role == role),
            "{role}: {error}"
        );
    }
}
