-- Reports: documents written by a tenant's members, isolated by row-level security like every tenant-owned
-- table (ENABLE + FORCE, a policy on `current_setting('app.tenant_id')` without the missing_ok flag, USING and
-- WITH CHECK), plus the lock that lets the application enforce a plan's report limit under concurrency.

-- The target of the reports' author foreign key: an author must be a member of the report's own tenant.
ALTER TABLE members ADD CONSTRAINT members_tenant_id_id_key UNIQUE (tenant_id, id);

CREATE TABLE reports (
    id          uuid        PRIMARY KEY,
    tenant_id   uuid        NOT NULL REFERENCES tenants (id),
    author_id   uuid        NOT NULL,
    title       text        NOT NULL CONSTRAINT reports_title_length CHECK (char_length(title) BETWEEN 1 AND 200),
    body        text        NOT NULL DEFAULT '' CONSTRAINT reports_body_length CHECK (char_length(body) <= 20000),
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    FOREIGN KEY (tenant_id, author_id) REFERENCES members (tenant_id, id)
);

-- The listing reads a tenant's reports newest first, with (created_at, id) as the keyset cursor.
CREATE INDEX reports_tenant_created_idx ON reports (tenant_id, created_at DESC, id DESC);
CREATE INDEX reports_author_idx ON reports (tenant_id, author_id);

ALTER TABLE reports ENABLE ROW LEVEL SECURITY;
ALTER TABLE reports FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON reports
    USING (tenant_id = current_setting('app.tenant_id')::uuid)
    WITH CHECK (tenant_id = current_setting('app.tenant_id')::uuid);

GRANT SELECT, INSERT, UPDATE, DELETE ON reports TO saas_app;

-- Locks the current tenant's row until the transaction ends and returns its plan, so that concurrent report
-- creations of one tenant count and insert one after the other. Row locks need UPDATE rights on the table,
-- which the application role deliberately lacks on `tenants`; this function holds them instead and can lock
-- nothing but the tenant of the calling transaction (the argument must name that same tenant, else NULL).
CREATE FUNCTION reports_lock_tenant(tenant uuid) RETURNS text
LANGUAGE sql VOLATILE STRICT SECURITY DEFINER
SET search_path = pg_catalog, public
AS $$
    SELECT t.plan
    FROM public.tenants AS t
    WHERE t.id = tenant AND t.id = current_setting('app.tenant_id')::uuid
    FOR UPDATE
$$;

REVOKE ALL ON FUNCTION reports_lock_tenant(uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION reports_lock_tenant(uuid) TO saas_app;
