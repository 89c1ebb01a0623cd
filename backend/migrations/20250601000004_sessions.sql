-- The server-side session store of tower-sessions (tower-sessions-sqlx-store 0.15, `PostgresStore` with its
-- default schema and table names). This is exactly the DDL of `PostgresStore::migrate`, created here by the
-- owner so that the application role never needs DDL rights: the backend must not call `migrate()`.
--
-- Sessions are not tenant-owned (a session exists before sign-in, when no tenant is known), so the table has
-- no row-level security; session ids are unguessable and only the backend reads them.
create schema if not exists "tower_sessions";

create table if not exists "tower_sessions"."session"
(
    id text primary key not null,
    data bytea not null,
    expiry_date timestamptz not null
);

GRANT USAGE ON SCHEMA tower_sessions TO saas_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON tower_sessions.session TO saas_app;
