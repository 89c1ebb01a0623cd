//! The paged lists read their pages off their indexes in every plan. Each test prepares the statement from
//! the very file the backend compiles it from (`backend/src/db/queries/`), runs it with `EXPLAIN ANALYZE` as
//! the application role inside a tenant transaction begun as the backend begins one, and reads the plan: the
//! page comes from an index scan whose index condition holds the keyset position, nothing is sorted, and the
//! scan reads no row it then throws away, on the first page and on a page deep in a large tenant. A tenant
//! transaction runs generic plans (parameters unknown to the planner, the plan made once per connection); the
//! filtered audit log asks for plans made for its arguments, and its test does the same. The last test checks
//! that the lists are planned once per connection, not at every request.

use backend::db::TenantId;
use serde_json::Value;
use sqlx::PgPool;
use sqlx::postgres::PgPoolOptions;
use testkit::{TestDatabase, fresh_database};
use uuid::Uuid;

const REPORTS_LIST: &str = include_str!("../../src/db/queries/reports_list.sql");
const FILES_LIST: &str = include_str!("../../src/db/queries/files_list.sql");
const AUDIT_LIST: &str = include_str!("../../src/db/queries/audit_list.sql");
const AUDIT_SEARCH: &str = include_str!("../../src/db/queries/audit_search.sql");

/// Rows of each kind per tenant: enough that the planner prefers the index over reading the table.
const ROWS: i32 = 20_000;
/// A page's size, as the API asks for it (one more than it shows, to know whether there is a next page).
const PAGE: i64 = 21;

/// Two tenants with [`ROWS`] reports, present files and audit events each, one per second going back from
/// now, and statistics gathered. Returns the database and the first tenant.
async fn large_tenants() -> (TestDatabase, Uuid) {
    let db = fresh_database().await;
    db.seed_demo_world().await;
    let mut first = None;
    for (slug, provider) in [("acme", "acme-entra"), ("globex", "globex-okta")] {
        let tenant = db.tenant_id(slug).await.0;
        first.get_or_insert(tenant);
        let member = Uuid::new_v4();
        sqlx::query(
            "INSERT INTO members (id, tenant_id, provider, subject, email, name, role)
             VALUES ($1, $2, $3, $1::text, $1::text || '@bulk.example', 'Bulk', 'member')",
        )
        .bind(member)
        .bind(tenant)
        .bind(provider)
        .execute(&db.owner)
        .await
        .unwrap();
        for insert in [
            "INSERT INTO reports (id, tenant_id, author_id, title, created_at)
             SELECT gen_random_uuid(), $1, $2, 'Report ' || g, now() - g * interval '1 second'
             FROM generate_series(1, $3) AS g",
            "INSERT INTO files (id, tenant_id, uploader_id, object_key, upload_key, name, size_bytes, created_at)
             SELECT gen_random_uuid(), $1, $2, $1 || '/' || g, $1 || '/' || $2 || '/uploads/' || g,
                    'file-' || g, 1, now() - g * interval '1 second'
             FROM generate_series(1, $3) AS g",
            // Four actions in turn, every other one by the bulk member.
            "INSERT INTO audit_events (id, tenant_id, at, action, actor_id, actor_name, actor_email)
             SELECT gen_random_uuid(), $1, now() - g * interval '1 second',
                    (ARRAY['sign_in', 'report_created', 'report_edited', 'file_uploaded'])[g % 4 + 1],
                    CASE WHEN g % 2 = 0 THEN $2 END, CASE WHEN g % 2 = 0 THEN 'Bulk' END,
                    CASE WHEN g % 2 = 0 THEN 'bulk@bulk.example' END
             FROM generate_series(1, $3) AS g",
        ] {
            sqlx::query(insert)
                .bind(tenant)
                .bind(member)
                .bind(ROWS)
                .execute(&db.owner)
                .await
                .unwrap();
        }
    }
    sqlx::query("ANALYZE").execute(&db.owner).await.unwrap();
    (db, first.unwrap())
}

/// A position deep in `table` of `tenant`: its `column` and id at `depth` rows from the newest.
async fn position_at(
    db: &TestDatabase,
    table: &str,
    column: &str,
    tenant: Uuid,
    depth: i64,
) -> (String, Uuid) {
    sqlx::query_as(&format!(
        "SELECT {column}::text, id FROM {table} WHERE tenant_id = $1
         ORDER BY {column} DESC, id DESC OFFSET $2 LIMIT 1"
    ))
    .bind(tenant)
    .bind(depth)
    .fetch_one(&db.owner)
    .await
    .unwrap()
}

/// The executed plan of `statement` with `arguments` (SQL literals), in a tenant transaction of `tenant` as the
/// backend begins one (whose statements run their generic plans).
async fn generic_plan(db: &TestDatabase, tenant: Uuid, statement: &str, arguments: &str) -> Value {
    executed_plan(db, tenant, None, statement, arguments).await
}

/// The executed plan of `statement` with `arguments` (SQL literals), as the application role in a tenant
/// transaction of `tenant` as the backend begins one, after `setting` when there is one.
async fn executed_plan(
    db: &TestDatabase,
    tenant: Uuid,
    setting: Option<&str>,
    statement: &str,
    arguments: &str,
) -> Value {
    let pool = app_pool(db).await;
    let mut tx = backend::db::tenant_tx(&pool, TenantId(tenant))
        .await
        .unwrap();
    if let Some(setting) = setting {
        sqlx::query(setting).execute(tx.conn()).await.unwrap();
    }
    sqlx::raw_sql(&format!("PREPARE page AS {statement}"))
        .execute(tx.conn())
        .await
        .unwrap();
    let (plan,): (Value,) = sqlx::query_as(&format!(
        "EXPLAIN (ANALYZE, FORMAT JSON) EXECUTE page({arguments})"
    ))
    .fetch_one(tx.conn())
    .await
    .unwrap();
    tx.rollback().await.unwrap();
    pool.close().await;
    plan[0]["Plan"].clone()
}

/// A pool of one connection as the application role, so that consecutive transactions share a session.
async fn app_pool(db: &TestDatabase) -> PgPool {
    PgPoolOptions::new()
        .max_connections(1)
        .connect(&db.app_url)
        .await
        .unwrap()
}

/// Every node of a plan, depth first.
fn nodes(plan: &Value) -> Vec<&Value> {
    let mut all = vec![plan];
    if let Some(children) = plan["Plans"].as_array() {
        all.extend(children.iter().flat_map(nodes));
    }
    all
}

/// Checks that `plan` reads `table` with an index scan on `index` whose condition holds the keyset column
/// `column`, sorts nothing, reads no row of `table` it then filters out, and returns `rows` rows.
fn assert_keyset_scan(plan: &Value, table: &str, index: &str, column: &str, rows: i64) {
    let all = nodes(plan);
    let shown = serde_json::to_string_pretty(plan).unwrap();
    assert!(
        all.iter().all(|node| node["Node Type"] != "Sort"),
        "the page is read in index order, not sorted:\n{shown}"
    );
    let scans: Vec<&&Value> = all
        .iter()
        .filter(|node| node["Relation Name"] == table)
        .collect();
    assert_eq!(scans.len(), 1, "{table} is read once:\n{shown}");
    let scan = scans[0];
    assert_eq!(scan["Node Type"], "Index Scan", "{shown}");
    assert_eq!(scan["Index Name"], index, "{shown}");
    let condition = scan["Index Cond"].as_str().unwrap_or_default();
    assert!(
        condition.contains(&format!("{column}, ")),
        "the keyset position is an index condition, not a filter: {condition:?}\n{shown}"
    );
    // Row counts are numbers with decimals from Postgres 18 on, integers before.
    assert_eq!(
        scan["Rows Removed by Filter"].as_f64().unwrap_or(0.0),
        0.0,
        "no row is read only to be thrown away:\n{shown}"
    );
    let expected = Some(rows as f64);
    assert_eq!(scan["Actual Rows"].as_f64(), expected, "{shown}");
    assert_eq!(plan["Actual Rows"].as_f64(), expected, "{shown}");
    // Nothing else (a join's other side, say) reads more than a page's worth of rows either.
    for node in &all {
        let read = node["Actual Rows"].as_f64().unwrap_or(0.0)
            * node["Actual Loops"].as_f64().unwrap_or(1.0);
        assert!(
            read <= rows as f64,
            "a {} node reads {read} rows for a page of {rows}:\n{shown}",
            node["Node Type"]
        );
    }
}

#[tokio::test]
async fn the_reports_list_pages_on_its_index_in_the_generic_plan() {
    let (db, tenant) = large_tenants().await;
    let first = generic_plan(
        &db,
        tenant,
        REPORTS_LIST,
        &format!("'{tenant}', NULL, NULL, {PAGE}"),
    )
    .await;
    assert_keyset_scan(
        &first,
        "reports",
        "reports_tenant_created_idx",
        "created_at",
        PAGE,
    );

    let (at, id) = position_at(&db, "reports", "created_at", tenant, 15_000).await;
    let deep = generic_plan(
        &db,
        tenant,
        REPORTS_LIST,
        &format!("'{tenant}', '{at}', '{id}', {PAGE}"),
    )
    .await;
    assert_keyset_scan(
        &deep,
        "reports",
        "reports_tenant_created_idx",
        "created_at",
        PAGE,
    );
}

#[tokio::test]
async fn the_files_list_pages_on_its_index_in_the_generic_plan() {
    let (db, tenant) = large_tenants().await;
    let first = generic_plan(
        &db,
        tenant,
        FILES_LIST,
        &format!("'{tenant}', NULL, NULL, {PAGE}"),
    )
    .await;
    assert_keyset_scan(
        &first,
        "files",
        "files_tenant_created_idx",
        "created_at",
        PAGE,
    );

    let (at, id) = position_at(&db, "files", "created_at", tenant, 15_000).await;
    let deep = generic_plan(
        &db,
        tenant,
        FILES_LIST,
        &format!("'{tenant}', '{at}', '{id}', {PAGE}"),
    )
    .await;
    assert_keyset_scan(
        &deep,
        "files",
        "files_tenant_created_idx",
        "created_at",
        PAGE,
    );
}

#[tokio::test]
async fn the_audit_log_pages_on_its_index_in_the_generic_plan() {
    let (db, tenant) = large_tenants().await;
    // Arguments: tenant, since, until, position (at, id), limit.
    let first = generic_plan(
        &db,
        tenant,
        AUDIT_LIST,
        &format!("'{tenant}', NULL, NULL, NULL, NULL, {PAGE}"),
    )
    .await;
    assert_keyset_scan(
        &first,
        "audit_events",
        "audit_events_tenant_at_idx",
        "at",
        PAGE,
    );

    let (at, id) = position_at(&db, "audit_events", "at", tenant, 15_000).await;
    let deep = generic_plan(
        &db,
        tenant,
        AUDIT_LIST,
        &format!("'{tenant}', NULL, NULL, '{at}', '{id}', {PAGE}"),
    )
    .await;
    assert_keyset_scan(
        &deep,
        "audit_events",
        "audit_events_tenant_at_idx",
        "at",
        PAGE,
    );

    // A time window far back: its upper bound is where the scan starts, not a filter it reads down to.
    let (until, _) = position_at(&db, "audit_events", "at", tenant, 12_000).await;
    let (since, _) = position_at(&db, "audit_events", "at", tenant, 12_010).await;
    let window = generic_plan(
        &db,
        tenant,
        AUDIT_LIST,
        &format!("'{tenant}', '{since}', '{until}', NULL, NULL, {PAGE}"),
    )
    .await;
    assert_keyset_scan(
        &window,
        "audit_events",
        "audit_events_tenant_at_idx",
        "at",
        10,
    );
}

#[tokio::test]
async fn the_audit_log_filtered_by_action_or_person_pages_on_that_filters_index() {
    let (db, tenant) = large_tenants().await;
    let member: (Uuid,) =
        sqlx::query_as("SELECT id FROM members WHERE tenant_id = $1 AND name = 'Bulk'")
            .bind(tenant)
            .fetch_one(&db.owner)
            .await
            .unwrap();
    let member = member.0;
    // Arguments: tenant, action, actor, since, until, position (at, id), limit, target text. The backend
    // plans the filtered statement for its arguments (`CUSTOM_PLANS`); the same setting is made here.
    let search = |filters: String, position: String| {
        format!("'{tenant}', {filters}, NULL, NULL, {position}, {PAGE}, NULL")
    };
    for (filters, index) in [
        (
            "'report_edited', NULL".to_owned(),
            "audit_events_tenant_action_idx",
        ),
        (format!("NULL, '{member}'"), "audit_events_tenant_actor_idx"),
    ] {
        let first = executed_plan(
            &db,
            tenant,
            Some(backend::db::audit::CUSTOM_PLANS),
            AUDIT_SEARCH,
            &search(filters.clone(), "NULL, NULL".into()),
        )
        .await;
        assert_keyset_scan(&first, "audit_events", index, "at", PAGE);

        let (at, id) = position_at(&db, "audit_events", "at", tenant, 15_000).await;
        let deep = executed_plan(
            &db,
            tenant,
            Some(backend::db::audit::CUSTOM_PLANS),
            AUDIT_SEARCH,
            &search(filters, format!("'{at}', '{id}'")),
        )
        .await;
        assert_keyset_scan(&deep, "audit_events", index, "at", PAGE);
    }
}

#[tokio::test]
async fn a_tenant_transaction_plans_the_lists_once_per_connection_not_at_every_request() {
    let (db, tenant) = large_tenants().await;
    let pool = app_pool(&db).await;
    const REQUESTS: i64 = 8;
    for _ in 0..REQUESTS {
        let mut tx = backend::db::tenant_tx(&pool, TenantId(tenant))
            .await
            .unwrap();
        let page = backend::db::reports::list(&mut tx, None, PAGE)
            .await
            .unwrap();
        assert_eq!(page.len(), usize::try_from(PAGE).unwrap());
        let filter = backend::db::audit::Filter::default();
        let events = backend::db::audit::list(&mut tx, &filter, PAGE)
            .await
            .unwrap();
        assert_eq!(events.len(), usize::try_from(PAGE).unwrap());
        tx.commit().await.unwrap();
    }

    // The session's prepared statements: the backend's are the ones sqlx prepared for the two lists.
    let plans: Vec<(String, i64, i64)> = sqlx::query_as(
        "SELECT statement, generic_plans, custom_plans FROM pg_prepared_statements
         WHERE (statement LIKE '%FROM reports AS r%' OR statement LIKE '%FROM audit_events%')
           AND statement NOT LIKE '%pg_prepared_statements%'",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(plans.len(), 2, "{plans:?}");
    for (statement, generic, custom) in plans {
        assert_eq!(
            (generic, custom),
            (REQUESTS, 0),
            "executions by generic and custom plan of {statement}"
        );
    }
}
