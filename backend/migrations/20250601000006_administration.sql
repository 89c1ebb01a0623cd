-- Tenant administration: admin-set roles, just-in-time joining, invitations and the audit log.
--
-- Every new tenant-owned table follows the rules of the earlier migrations: ENABLE + FORCE ROW LEVEL SECURITY,
-- a policy on `current_setting('app.tenant_id')` without the missing_ok flag (fail closed), WITH CHECK on
-- writes, and grants to the application role limited to what the application does.

-- Where a member's role comes from. 'identity_provider': the tenant's group mapping sets it at every sign-in.
-- 'admin': a tenant admin (directly or through an invitation) chose it, and sign-ins leave it alone.
ALTER TABLE members
    ADD COLUMN role_source text NOT NULL DEFAULT 'identity_provider'
        CONSTRAINT members_role_source_known CHECK (role_source IN ('identity_provider', 'admin'));

-- Admins list members by email; the listing is a keyset on (email, id).
CREATE INDEX members_tenant_email_idx ON members (tenant_id, email, id);

-- Whether people from the tenant's identity provider who were not invited join at their first sign-in.
ALTER TABLE tenants ADD COLUMN just_in_time boolean NOT NULL DEFAULT true;

-- Tenant admins change exactly these two settings through the application, and nothing else of the tenant or
-- its identity providers (plan, slug, domains and issuers are the platform operators'). Column grants keep it
-- so; the tenant_isolation policies (USING and WITH CHECK) keep each admin to their own tenant's rows.
GRANT UPDATE (just_in_time) ON tenants TO saas_app;
GRANT UPDATE (group_role_mapping) ON tenant_identity_providers TO saas_app;

-- An invitation admits one person, by the email their identity provider asserts, into the tenant with a role.
-- The email is matched only against sign-ins through the tenant's own identity provider (the trigger binds a
-- sign-in to a tenant by provider first), so another tenant's IdP asserting the same address gains nothing.
CREATE TABLE invitations (
    id           uuid        PRIMARY KEY,
    tenant_id    uuid        NOT NULL REFERENCES tenants (id),
    email        text        NOT NULL
                             CONSTRAINT invitations_email_format
                             CHECK (email = lower(email) AND char_length(email) <= 254 AND email ~ '^[^@[:space:]]+@[^@[:space:]]+$'),
    role         text        NOT NULL CONSTRAINT invitations_role_known CHECK (role IN ('viewer', 'member', 'admin')),
    invited_by   uuid        NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz NOT NULL,
    accepted_at  timestamptz,
    accepted_by  uuid,
    CONSTRAINT invitations_accepted_together CHECK ((accepted_at IS NULL) = (accepted_by IS NULL)),
    FOREIGN KEY (tenant_id, invited_by) REFERENCES members (tenant_id, id),
    FOREIGN KEY (tenant_id, accepted_by) REFERENCES members (tenant_id, id)
);

-- At most one open invitation per email and tenant (an expired one is deleted before a new one is made).
CREATE UNIQUE INDEX invitations_open_email_key ON invitations (tenant_id, email) WHERE accepted_at IS NULL;

ALTER TABLE invitations ENABLE ROW LEVEL SECURITY;
ALTER TABLE invitations FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON invitations
    USING (tenant_id = current_setting('app.tenant_id')::uuid)
    WITH CHECK (tenant_id = current_setting('app.tenant_id')::uuid);

GRANT SELECT, INSERT, UPDATE, DELETE ON invitations TO saas_app;

-- The audit log: sign-ins and every administrative change, append-only for the application. The actor's
-- name and email are copied at the time, so the log still reads right after a member's profile changes.
CREATE TABLE audit_events (
    id            uuid        PRIMARY KEY,
    tenant_id     uuid        NOT NULL REFERENCES tenants (id),
    at            timestamptz NOT NULL DEFAULT clock_timestamp(),
    action        text        NOT NULL CONSTRAINT audit_events_action_known CHECK (action IN (
                                  'sign_in', 'sign_in_refused', 'member_joined', 'member_role_changed',
                                  'member_deactivated', 'member_reactivated', 'invitation_created',
                                  'invitation_revoked', 'settings_changed', 'report_deleted')),
    actor_id      uuid,
    actor_name    text,
    actor_email   text,
    target_kind   text        CONSTRAINT audit_events_target_kind_known
                              CHECK (target_kind IN ('member', 'invitation', 'report', 'tenant')),
    target_id     text,
    target_label  text,
    details       jsonb       NOT NULL DEFAULT '{}' CONSTRAINT audit_events_details_object CHECK (jsonb_typeof(details) = 'object'),
    source_ip     inet,
    CONSTRAINT audit_events_actor_together CHECK ((actor_id IS NULL) = (actor_name IS NULL)),
    CONSTRAINT audit_events_target_together CHECK ((target_kind IS NULL) = (target_id IS NULL))
);

-- The log is read newest first, with (at, id) as the keyset cursor, optionally by action or actor.
CREATE INDEX audit_events_tenant_at_idx ON audit_events (tenant_id, at DESC, id DESC);
CREATE INDEX audit_events_tenant_action_idx ON audit_events (tenant_id, action, at DESC);
CREATE INDEX audit_events_tenant_actor_idx ON audit_events (tenant_id, actor_id, at DESC);

ALTER TABLE audit_events ENABLE ROW LEVEL SECURITY;
ALTER TABLE audit_events FORCE ROW LEVEL SECURITY;
-- Reading and appending only: without UPDATE and DELETE policies (and grants), the application role can
-- change or remove no row, even of its own tenant.
CREATE POLICY tenant_read ON audit_events FOR SELECT
    USING (tenant_id = current_setting('app.tenant_id')::uuid);
CREATE POLICY tenant_append ON audit_events FOR INSERT
    WITH CHECK (tenant_id = current_setting('app.tenant_id')::uuid);

GRANT SELECT, INSERT ON audit_events TO saas_app;

-- A second wall for the audit trail: rows cannot be updated or deleted through any role that does not first
-- drop this trigger (only the owner could), so a mistaken grant later does not silently make the log mutable.
CREATE FUNCTION audit_events_are_append_only() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, public
AS $$
BEGIN
    RAISE EXCEPTION 'audit events are append-only' USING ERRCODE = 'insufficient_privilege';
END
$$;

CREATE TRIGGER audit_events_append_only
    BEFORE UPDATE OR DELETE ON audit_events
    FOR EACH ROW EXECUTE FUNCTION audit_events_are_append_only();
CREATE TRIGGER audit_events_no_truncate
    BEFORE TRUNCATE ON audit_events
    FOR EACH STATEMENT EXECUTE FUNCTION audit_events_are_append_only();
