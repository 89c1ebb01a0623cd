-- The application's database role. The backend logs in with a LOGIN role that is a member of `saas_app`
-- (see `backend::db::ensure_app_login`); the role is neither owner nor superuser and never bypasses
-- row-level security, so every query on a tenant-owned table is filtered by the policies below.
--
-- Roles are cluster-wide while migrations run per database, so several databases in one cluster (tests create
-- many at once) may try to create the role concurrently: the loser of that race sees a unique violation or
-- duplicate_object, which only means the role now exists.
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = 'saas_app') THEN
        BEGIN
            CREATE ROLE saas_app NOLOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS;
        EXCEPTION WHEN duplicate_object OR unique_violation THEN
            NULL;
        END;
    END IF;
END
$$;
