-- The tenant-row lock belongs to the tenants, not to one resource: every count-then-insert under a plan limit
-- (reports, stored bytes, and whatever comes next) takes the same lock.
--
-- Row locks need UPDATE rights on the table, which the application role deliberately lacks on `tenants`; this
-- function holds them instead and can lock nothing but the tenant of the calling transaction (the argument
-- must name that same tenant, else it locks nothing and answers false).
CREATE FUNCTION lock_tenant(tenant uuid) RETURNS boolean
LANGUAGE sql VOLATILE STRICT SECURITY DEFINER
SET search_path = pg_catalog, public
AS $$
    SELECT EXISTS (
        SELECT 1
        FROM public.tenants AS t
        WHERE t.id = tenant AND t.id = current_setting('app.tenant_id')::uuid
        FOR UPDATE
    )
$$;

REVOKE ALL ON FUNCTION lock_tenant(uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION lock_tenant(uuid) TO saas_app;

DROP FUNCTION reports_lock_tenant(uuid);
