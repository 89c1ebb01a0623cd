-- The control plane's part of the schema: platform operators create tenants, change their plan, suspend,
-- resume, export and delete them from the console, and each of those actions is written to the platform audit
-- log.
--
-- Operators act through the backend's application role (the backend serves the console), each change to a tenant
-- in a transaction of that tenant, so row-level security's WITH CHECK confines the write to it exactly as for the
-- tenant's own requests. The grants below are column by column: what the console changes, nothing else.

-- `deleting`: an operator started the tenant's deletion; it is refused like a suspended tenant until the sweep
-- has removed it (a sweep cut short by a crash is finished by running the deletion again).
ALTER TABLE tenants ADD COLUMN status text NOT NULL DEFAULT 'active'
    CONSTRAINT tenants_status_known CHECK (status IN ('active', 'suspended', 'deleting'));
-- When the status last changed (NULL: never).
ALTER TABLE tenants ADD COLUMN status_changed_at timestamptz;

GRANT INSERT (id, slug, name, plan) ON tenants TO saas_app;
GRANT UPDATE (plan, status, status_changed_at, sign_ins_revoked_before) ON tenants TO saas_app;

-- A tenant's first admin is invited by the platform's operators when the tenant is created: no member of the
-- tenant invited them, so `invited_by` is NULL for such an invitation (and only for such).
ALTER TABLE invitations ALTER COLUMN invited_by DROP NOT NULL;

-- The platform audit log: every operator action, append-only like the tenants' audit log. It belongs to no
-- tenant (no row-level security) and outlives the tenants it names, so the target tenant is a plain id with its
-- slug and name as they were, not a foreign key.
CREATE TABLE platform_audit_events (
    id                  uuid        PRIMARY KEY,
    at                  timestamptz NOT NULL DEFAULT clock_timestamp(),
    action              text        NOT NULL CONSTRAINT platform_audit_events_action_known CHECK (action IN (
                                        'operator_signed_in', 'tenant_created', 'tenant_plan_changed',
                                        'tenant_suspended', 'tenant_resumed', 'tenant_exported',
                                        'tenant_deletion_started', 'tenant_deleted')),
    operator_id         text        NOT NULL CONSTRAINT platform_audit_events_operator_not_empty
                                    CHECK (operator_id <> ''),
    operator_email      text        NOT NULL DEFAULT '',
    target_tenant_id    uuid,
    target_tenant_slug  text,
    target_tenant_name  text,
    details             jsonb       NOT NULL DEFAULT '{}'
                                    CONSTRAINT platform_audit_events_details_object CHECK (jsonb_typeof(details) = 'object'),
    source_ip           inet,
    CONSTRAINT platform_audit_events_target_together
        CHECK ((target_tenant_id IS NULL) = (target_tenant_slug IS NULL))
);

-- Read newest first with (at, id) as the keyset cursor.
CREATE INDEX platform_audit_events_at_idx ON platform_audit_events (at DESC, id DESC);

GRANT SELECT, INSERT ON platform_audit_events TO saas_app;

CREATE TRIGGER platform_audit_events_append_only
    BEFORE UPDATE OR DELETE ON platform_audit_events
    FOR EACH ROW EXECUTE FUNCTION audit_events_are_append_only();
CREATE TRIGGER platform_audit_events_no_truncate
    BEFORE TRUNCATE ON platform_audit_events
    FOR EACH STATEMENT EXECUTE FUNCTION audit_events_are_append_only();

-- The console's list of tenants: each tenant with its active members, the bytes its recorded files hold and how
-- far its sign-in is set up. It reads across tenants, which no tenant transaction can, so it is a SECURITY
-- DEFINER function owned by the owner returning counts only, never a tenant's rows. Like the routing functions
-- it needs read-only owner policies on the tables it counts (FORCE applies RLS to the owner too).
DO $$
BEGIN
    EXECUTE format('CREATE POLICY owner_platform_read ON members FOR SELECT TO %I USING (true)', current_user);
    EXECUTE format('CREATE POLICY owner_platform_read ON files FOR SELECT TO %I USING (true)', current_user);
END
$$;

CREATE FUNCTION platform_tenant_summaries()
RETURNS TABLE (
    id                  uuid,
    slug                text,
    name                text,
    plan                text,
    status              text,
    created_at          timestamptz,
    status_changed_at   timestamptz,
    active_members      bigint,
    storage_bytes       bigint,
    identity_providers  bigint,
    verified_domains    bigint
)
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, public
AS $$
    SELECT t.id, t.slug, t.name, t.plan, t.status, t.created_at, t.status_changed_at,
           (SELECT count(*) FROM members AS m WHERE m.tenant_id = t.id AND m.status = 'active'),
           (SELECT coalesce(sum(f.size_bytes), 0)::bigint FROM files AS f WHERE f.tenant_id = t.id),
           (SELECT count(*) FROM tenant_identity_providers AS p WHERE p.tenant_id = t.id),
           (SELECT coalesce(sum(cardinality(p.verified_domains)), 0)::bigint
              FROM tenant_identity_providers AS p WHERE p.tenant_id = t.id)
    FROM tenants AS t
$$;

REVOKE ALL ON FUNCTION platform_tenant_summaries() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION platform_tenant_summaries() TO saas_app;

-- Deleting a tenant removes every row of it: `platform_purge_tenant` deletes them all in one statement per
-- table, in the order the foreign keys need, for a tenant whose deletion was started (status `deleting`), and
-- returns how many rows of each table it removed. It runs as the owner: the application role deletes no tenant,
-- no identity provider and no audit entry itself. The tenant's policies apply to the owner too (FORCE), so it
-- sets the transaction's tenant to the one it purges; the audit log's rows additionally need the owner's purge
-- policy and the append-only trigger's one exception below, both keyed to the tenant being purged.
DO $$
BEGIN
    EXECUTE format(
        'CREATE POLICY owner_purge ON audit_events FOR DELETE TO %I '
        'USING (tenant_id::text = current_setting(''app.purging_tenant'', true))',
        current_user
    );
END
$$;

-- The audit log stays append-only for everyone, with one exception: the rows of the tenant that
-- `platform_purge_tenant` is purging in this transaction. Setting `app.purging_tenant` alone gives nothing to
-- the application role, which has no DELETE privilege on the table.
CREATE FUNCTION audit_events_are_append_only_but_purged() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, public
AS $$
BEGIN
    IF TG_OP = 'DELETE' AND OLD.tenant_id::text = current_setting('app.purging_tenant', true) THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION 'audit events are append-only' USING ERRCODE = 'insufficient_privilege';
END
$$;

DROP TRIGGER audit_events_append_only ON audit_events;
CREATE TRIGGER audit_events_append_only
    BEFORE UPDATE OR DELETE ON audit_events
    FOR EACH ROW EXECUTE FUNCTION audit_events_are_append_only_but_purged();

CREATE FUNCTION platform_purge_tenant(tenant uuid) RETURNS jsonb
LANGUAGE plpgsql VOLATILE STRICT SECURITY DEFINER
SET search_path = pg_catalog, public
AS $$
DECLARE
    removed jsonb := '{}';
    n bigint;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM tenants WHERE id = tenant AND status = 'deleting') THEN
        RAISE EXCEPTION 'tenant % is not being deleted', tenant USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;
    PERFORM set_config('app.tenant_id', tenant::text, true);
    PERFORM set_config('app.purging_tenant', tenant::text, true);
    -- Browser sessions first: deleting them from the store removes their `member_sessions` rows (cascade).
    DELETE FROM tower_sessions.session
        WHERE id IN (SELECT session_key FROM member_sessions WHERE tenant_id = tenant);
    GET DIAGNOSTICS n = ROW_COUNT; removed := removed || jsonb_build_object('sessions', n);
    DELETE FROM member_sessions WHERE tenant_id = tenant;
    GET DIAGNOSTICS n = ROW_COUNT; removed := removed || jsonb_build_object('member_sessions', n);
    DELETE FROM revoked_sign_ins WHERE tenant_id = tenant;
    GET DIAGNOSTICS n = ROW_COUNT; removed := removed || jsonb_build_object('revoked_sign_ins', n);
    DELETE FROM audit_events WHERE tenant_id = tenant;
    GET DIAGNOSTICS n = ROW_COUNT; removed := removed || jsonb_build_object('audit_events', n);
    DELETE FROM invitations WHERE tenant_id = tenant;
    GET DIAGNOSTICS n = ROW_COUNT; removed := removed || jsonb_build_object('invitations', n);
    DELETE FROM files WHERE tenant_id = tenant;
    GET DIAGNOSTICS n = ROW_COUNT; removed := removed || jsonb_build_object('files', n);
    DELETE FROM reports WHERE tenant_id = tenant;
    GET DIAGNOSTICS n = ROW_COUNT; removed := removed || jsonb_build_object('reports', n);
    DELETE FROM members WHERE tenant_id = tenant;
    GET DIAGNOSTICS n = ROW_COUNT; removed := removed || jsonb_build_object('members', n);
    DELETE FROM tenant_identity_providers WHERE tenant_id = tenant;
    GET DIAGNOSTICS n = ROW_COUNT; removed := removed || jsonb_build_object('tenant_identity_providers', n);
    DELETE FROM tenants WHERE id = tenant;
    GET DIAGNOSTICS n = ROW_COUNT; removed := removed || jsonb_build_object('tenants', n);
    RETURN removed;
END
$$;

REVOKE ALL ON FUNCTION platform_purge_tenant(uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION platform_purge_tenant(uuid) TO saas_app;
