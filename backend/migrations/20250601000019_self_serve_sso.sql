-- Self-serve SSO: a customer's IT admin sets up their organisation's sign-in from a one-time set-up link, proves
-- ownership of their email domains by DNS, and only verified domains route sign-ins.
--
-- The tenant of every row here comes from the link (or the admin's session) that the request proved, never from
-- the request's content; each change runs in a transaction of that tenant, so row-level security confines it.

-- Email domains a tenant claims, and the DNS proof of each. A claim starts `pending` with a random token the
-- tenant publishes as a TXT record; a lookup that finds it makes the domain `verified`. A verified domain whose
-- record has been missing at every periodic re-check for the grace period becomes `lapsed`: it routes nothing,
-- and the claim stays the tenant's until its admin or an operator removes it (or the record is back).
CREATE TABLE tenant_domains (
    tenant_id           uuid        NOT NULL REFERENCES tenants (id),
    domain              text        NOT NULL
                                    CONSTRAINT tenant_domains_domain_valid
                                    CHECK (verified_domains_are_valid(ARRAY[domain]) AND length(domain) <= 253
                                           AND strpos(domain, '.') > 0),
    verification_token  text        NOT NULL
                                    CONSTRAINT tenant_domains_token_format
                                    CHECK (verification_token ~ '^[A-Za-z0-9_-]{32,64}$'),
    status              text        NOT NULL DEFAULT 'pending'
                                    CONSTRAINT tenant_domains_status_known
                                    CHECK (status IN ('pending', 'verified', 'lapsed')),
    created_at          timestamptz NOT NULL DEFAULT now(),
    -- When the proof was first found (kept when the domain lapses).
    verified_at         timestamptz,
    -- The last lookup, and since when the record has been missing at every re-check of a verified domain.
    last_checked_at     timestamptz,
    failing_since       timestamptz,
    PRIMARY KEY (tenant_id, domain),
    CONSTRAINT tenant_domains_verified_when CHECK ((status = 'pending') = (verified_at IS NULL))
);

-- A domain is proven by one tenant at most, ever: once verified (or lapsed) by a tenant, no other tenant can
-- verify it, so it can never route to another tenant's identity provider. Unique indexes are not subject to
-- row-level security, so this holds across tenants that cannot see each other's rows.
CREATE UNIQUE INDEX tenant_domains_proven_once ON tenant_domains (domain) WHERE status IN ('verified', 'lapsed');
-- The periodic re-check reads the verified domains by their last check.
CREATE INDEX tenant_domains_recheck_idx ON tenant_domains (last_checked_at) WHERE status IN ('verified', 'lapsed');

ALTER TABLE tenant_domains ENABLE ROW LEVEL SECURITY;
ALTER TABLE tenant_domains FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON tenant_domains
    USING (tenant_id = current_setting('app.tenant_id')::uuid)
    WITH CHECK (tenant_id = current_setting('app.tenant_id')::uuid);

GRANT SELECT, INSERT, DELETE ON tenant_domains TO saas_app;
GRANT UPDATE (status, verified_at, last_checked_at, failing_since) ON tenant_domains TO saas_app;

-- One-time set-up links. The link's token is shown once and stored only as its SHA-256 (a 256-bit random token
-- needs no slow hash); opening the link spends it and starts a set-up session whose cookie is likewise stored
-- hashed. A tenant has at most one link that is neither revoked nor completed: creating a link revokes the
-- previous one in the same transaction.
CREATE TABLE sso_setup_links (
    id                  uuid        PRIMARY KEY,
    tenant_id           uuid        NOT NULL REFERENCES tenants (id),
    token_hash          bytea       NOT NULL UNIQUE CONSTRAINT sso_setup_links_token_hash_length
                                    CHECK (length(token_hash) = 32),
    created_at          timestamptz NOT NULL DEFAULT now(),
    expires_at          timestamptz NOT NULL,
    created_by_kind     text        NOT NULL CONSTRAINT sso_setup_links_creator_kind_known
                                    CHECK (created_by_kind IN ('operator', 'member')),
    created_by_id       text        NOT NULL CONSTRAINT sso_setup_links_creator_not_empty
                                    CHECK (created_by_id <> ''),
    created_by_email    text        NOT NULL DEFAULT '',
    opened_at           timestamptz,
    session_hash        bytea       UNIQUE CONSTRAINT sso_setup_links_session_hash_length
                                    CHECK (length(session_hash) = 32),
    revoked_at          timestamptz,
    completed_at        timestamptz,
    CONSTRAINT sso_setup_links_expiry_after_creation CHECK (expires_at > created_at),
    CONSTRAINT sso_setup_links_opened_with_session CHECK ((opened_at IS NULL) = (session_hash IS NULL))
);

CREATE UNIQUE INDEX sso_setup_links_one_open ON sso_setup_links (tenant_id)
    WHERE revoked_at IS NULL AND completed_at IS NULL;

ALTER TABLE sso_setup_links ENABLE ROW LEVEL SECURITY;
ALTER TABLE sso_setup_links FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON sso_setup_links
    USING (tenant_id = current_setting('app.tenant_id')::uuid)
    WITH CHECK (tenant_id = current_setting('app.tenant_id')::uuid);

GRANT SELECT ON sso_setup_links TO saas_app;
GRANT INSERT (id, tenant_id, token_hash, expires_at, created_by_kind, created_by_id, created_by_email)
    ON sso_setup_links TO saas_app;
GRANT UPDATE (opened_at, session_hash, revoked_at, completed_at) ON sso_setup_links TO saas_app;

-- The owner's lookups below run before any tenant is known (FORCE applies row-level security to the owner too).
DO $$
BEGIN
    EXECUTE format('CREATE POLICY owner_routing_read ON tenant_domains FOR SELECT TO %I USING (true)', current_user);
    EXECUTE format('CREATE POLICY owner_routing_read ON sso_setup_links FOR SELECT TO %I USING (true)', current_user);
END
$$;

-- The link a token opens: its id and tenant, when the link is neither opened, revoked, completed nor expired.
-- Like the routing functions it answers identifiers only.
CREATE FUNCTION setup_link_for_token(hash bytea)
RETURNS TABLE (link_id uuid, tenant_id uuid)
LANGUAGE sql STABLE STRICT SECURITY DEFINER
SET search_path = pg_catalog, public
AS $$
    SELECT l.id, l.tenant_id FROM public.sso_setup_links AS l
    WHERE l.token_hash = hash AND l.opened_at IS NULL AND l.revoked_at IS NULL AND l.completed_at IS NULL
      AND l.expires_at > now()
$$;

-- The link a set-up session belongs to, while the link is open (opened, not revoked, completed or expired).
CREATE FUNCTION setup_link_for_session(hash bytea)
RETURNS TABLE (link_id uuid, tenant_id uuid)
LANGUAGE sql STABLE STRICT SECURITY DEFINER
SET search_path = pg_catalog, public
AS $$
    SELECT l.id, l.tenant_id FROM public.sso_setup_links AS l
    WHERE l.session_hash = hash AND l.revoked_at IS NULL AND l.completed_at IS NULL AND l.expires_at > now()
$$;

-- Whether a tenant other than `tenant` has proven `domain_name` (verified or lapsed). A claim for such a domain
-- is refused at once rather than left pending forever; the answer says nothing about who holds it.
CREATE FUNCTION domain_proven_by_another_tenant(domain_name text, tenant uuid) RETURNS boolean
LANGUAGE sql STABLE STRICT SECURITY DEFINER
SET search_path = pg_catalog, public
AS $$
    SELECT EXISTS (
        SELECT 1 FROM public.tenant_domains AS d
        WHERE d.domain = lower(domain_name) AND d.tenant_id <> tenant AND d.status IN ('verified', 'lapsed')
    )
$$;

-- The proven domains due for their periodic re-check (last checked before `checked_before`), oldest first.
CREATE FUNCTION domains_due_for_recheck(checked_before timestamptz, max_rows integer)
RETURNS TABLE (tenant_id uuid, domain text)
LANGUAGE sql STABLE STRICT SECURITY DEFINER
SET search_path = pg_catalog, public
AS $$
    SELECT d.tenant_id, d.domain FROM public.tenant_domains AS d
    WHERE d.status IN ('verified', 'lapsed') AND coalesce(d.last_checked_at, '-infinity') < checked_before
    ORDER BY d.last_checked_at NULLS FIRST, d.domain
    LIMIT max_rows
$$;

REVOKE ALL ON FUNCTION setup_link_for_token(bytea) FROM PUBLIC;
REVOKE ALL ON FUNCTION setup_link_for_session(bytea) FROM PUBLIC;
REVOKE ALL ON FUNCTION domain_proven_by_another_tenant(text, uuid) FROM PUBLIC;
REVOKE ALL ON FUNCTION domains_due_for_recheck(timestamptz, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION setup_link_for_token(bytea) TO saas_app;
GRANT EXECUTE ON FUNCTION setup_link_for_session(bytea) TO saas_app;
GRANT EXECUTE ON FUNCTION domain_proven_by_another_tenant(text, uuid) TO saas_app;
GRANT EXECUTE ON FUNCTION domains_due_for_recheck(timestamptz, integer) TO saas_app;

-- Existing providers' domains were verified by the operators who onboarded them: they become proven claims, so
-- that routing, which from now on requires a verified claim, keeps routing them.
INSERT INTO tenant_domains (tenant_id, domain, verification_token, status, verified_at)
SELECT p.tenant_id, d.domain, replace(gen_random_uuid()::text || gen_random_uuid()::text, '-', ''), 'verified', now()
FROM tenant_identity_providers AS p, unnest(p.verified_domains) AS d(domain)
ON CONFLICT DO NOTHING;

-- Home-realm discovery routes a domain only when the provider lists it AND its tenant has proven it: a provider
-- row naming a domain its tenant has not verified (or whose proof lapsed) routes nothing.
CREATE OR REPLACE FUNCTION routing_provider_for_domain(domain_name text) RETURNS text
LANGUAGE sql STABLE STRICT SECURITY DEFINER
SET search_path = pg_catalog, public
AS $$
    SELECT CASE WHEN count(*) = 1 THEN min(p.provider_name) END
    FROM public.tenant_identity_providers AS p
    JOIN public.tenant_domains AS d
      ON d.tenant_id = p.tenant_id AND d.domain = lower(domain_name) AND d.status = 'verified'
    WHERE lower(domain_name) = ANY (p.verified_domains)
$$;

-- The user pool's `IdpIdentifiers` (what `idp_identifier=` routes at the pool) follow the same rule.
CREATE OR REPLACE FUNCTION cognito_identity_providers()
RETURNS TABLE (
    provider_name     text,
    issuer            text,
    client_id         text,
    authorize_scopes  text,
    attribute_mapping jsonb,
    verified_domains  text[]
)
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, public
AS $$
    SELECT p.provider_name, p.issuer, p.client_id, p.authorize_scopes, p.attribute_mapping,
           ARRAY(SELECT v.domain FROM unnest(p.verified_domains) AS v(domain)
                 JOIN public.tenant_domains AS d
                   ON d.tenant_id = p.tenant_id AND d.domain = v.domain AND d.status = 'verified'
                 ORDER BY v.domain)
    FROM public.tenant_identity_providers AS p
    ORDER BY p.provider_name
$$;

-- The console counts proven domains.
CREATE OR REPLACE FUNCTION platform_tenant_summaries()
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
           (SELECT count(*) FROM tenant_domains AS d WHERE d.tenant_id = t.id AND d.status = 'verified')
    FROM tenants AS t
$$;

-- Deleting a tenant removes its domains and set-up links too (before the tenant row they refer to).
CREATE OR REPLACE FUNCTION platform_purge_tenant(tenant uuid) RETURNS jsonb
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
    DELETE FROM tenant_domains WHERE tenant_id = tenant;
    GET DIAGNOSTICS n = ROW_COUNT; removed := removed || jsonb_build_object('tenant_domains', n);
    DELETE FROM sso_setup_links WHERE tenant_id = tenant;
    GET DIAGNOSTICS n = ROW_COUNT; removed := removed || jsonb_build_object('sso_setup_links', n);
    DELETE FROM tenants WHERE id = tenant;
    GET DIAGNOSTICS n = ROW_COUNT; removed := removed || jsonb_build_object('tenants', n);
    RETURN removed;
END
$$;

-- The audit logs learn the set-up's steps. In the platform log, an entry's actor is now an operator, the
-- holder of a set-up link (the customer's IT admin, who has no account) or a tenant admin; `operator_id` and
-- `operator_email` name that actor.
ALTER TABLE platform_audit_events ADD COLUMN actor_kind text NOT NULL DEFAULT 'operator'
    CONSTRAINT platform_audit_events_actor_kind_known CHECK (actor_kind IN ('operator', 'setup_link', 'tenant_admin'));
ALTER TABLE platform_audit_events DROP CONSTRAINT platform_audit_events_action_known;
ALTER TABLE platform_audit_events ADD CONSTRAINT platform_audit_events_action_known CHECK (action IN (
    'operator_signed_in', 'tenant_created', 'tenant_plan_changed', 'tenant_suspended', 'tenant_resumed',
    'tenant_exported', 'tenant_deletion_started', 'tenant_deleted', 'setup_link_created', 'setup_link_revoked',
    'setup_link_opened', 'domain_claimed', 'domain_verified', 'domain_removed', 'domain_lapsed'));

ALTER TABLE audit_events DROP CONSTRAINT audit_events_action_known;
ALTER TABLE audit_events ADD CONSTRAINT audit_events_action_known CHECK (action IN (
    'sign_in', 'sign_in_refused', 'member_joined', 'member_role_changed', 'member_deactivated',
    'member_reactivated', 'invitation_created', 'invitation_revoked', 'settings_changed', 'report_created',
    'report_edited', 'report_deleted', 'file_uploaded', 'file_deleted', 'member_role_kept', 'sessions_ended',
    'setup_link_created', 'setup_link_revoked', 'setup_link_opened', 'domain_claimed', 'domain_verified',
    'domain_removed', 'domain_lapsed'));
ALTER TABLE audit_events DROP CONSTRAINT audit_events_target_kind_known;
ALTER TABLE audit_events ADD CONSTRAINT audit_events_target_kind_known
    CHECK (target_kind IN ('member', 'invitation', 'report', 'tenant', 'file', 'setup_link', 'domain'));
