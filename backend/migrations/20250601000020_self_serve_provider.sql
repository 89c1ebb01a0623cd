-- Self-serve SSO, second part: the identity provider a customer's IT admin configures, tested before it routes
-- anything, then activated.
--
-- A provider the set-up saves is `testing`: it exists in the user pool (so that a test sign-in can go through
-- it) but routes nothing, and a sign-in through it creates no member and carries no tenant and no API scope
-- (the trigger's test mode). Activation makes it `active`: from then on the tenant's proven domains route to it.

ALTER TABLE tenant_identity_providers ADD COLUMN status text NOT NULL DEFAULT 'active'
    CONSTRAINT tenant_identity_providers_status_known CHECK (status IN ('testing', 'active'));

-- The last test sign-in of a set-up: what the provider sent (subject, email, whether it is verified, groups).
-- Only the set-up session that ran it reads it.
ALTER TABLE sso_setup_links
    ADD COLUMN test_result jsonb CONSTRAINT sso_setup_links_test_result_object
        CHECK (test_result IS NULL OR jsonb_typeof(test_result) = 'object'),
    ADD COLUMN tested_at timestamptz;
GRANT UPDATE (test_result, tested_at) ON sso_setup_links TO saas_app;

-- Only active providers route: by domain (which also needs the tenant's proof) and by tenant slug.
CREATE OR REPLACE FUNCTION routing_provider_for_domain(domain_name text) RETURNS text
LANGUAGE sql STABLE STRICT SECURITY DEFINER
SET search_path = pg_catalog, public
AS $$
    SELECT CASE WHEN count(*) = 1 THEN min(p.provider_name) END
    FROM public.tenant_identity_providers AS p
    JOIN public.tenant_domains AS d
      ON d.tenant_id = p.tenant_id AND d.domain = lower(domain_name) AND d.status = 'verified'
    WHERE lower(domain_name) = ANY (p.verified_domains) AND p.status = 'active'
$$;

CREATE OR REPLACE FUNCTION routing_provider_for_tenant_slug(tenant_slug text) RETURNS text
LANGUAGE sql STABLE STRICT SECURITY DEFINER
SET search_path = pg_catalog, public
AS $$
    SELECT CASE WHEN count(*) = 1 THEN min(p.provider_name) END
    FROM public.tenants AS t
    JOIN public.tenant_identity_providers AS p ON p.tenant_id = t.id
    WHERE t.slug = tenant_slug AND p.status = 'active'
$$;

-- The trigger learns whether the provider a user came through is being tested.
DROP FUNCTION routing_tenant_for_provider(text);
CREATE FUNCTION routing_tenant_for_provider(provider text)
RETURNS TABLE (tenant_id uuid, provider_name text, status text)
LANGUAGE sql STABLE STRICT SECURITY DEFINER
SET search_path = pg_catalog, public
AS $$
    SELECT p.tenant_id, p.provider_name, p.status
    FROM public.tenant_identity_providers AS p
    WHERE p.provider_name = provider
$$;
REVOKE ALL ON FUNCTION routing_tenant_for_provider(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION routing_tenant_for_provider(text) TO saas_app;

-- The application role still cannot write identity providers (no table grant beyond the group mapping); the
-- set-up changes them only through these functions, for the transaction's own tenant and by the set-up's rules.
--
-- Saves the provider under test: a new one, or new settings for the tenant's provider still under test. An
-- active provider keeps its issuer and client (its secret changes in the user pool only); a name another tenant
-- holds is refused. The tenant's other provider under test, if any, is replaced (one set-up at a time).
CREATE FUNCTION sso_save_provider(
    p_name text, p_kind text, p_issuer text, p_client_id text, p_scopes text, p_mapping jsonb
) RETURNS void
LANGUAGE plpgsql VOLATILE STRICT SECURITY DEFINER
SET search_path = pg_catalog, public
AS $$
DECLARE
    tenant uuid := current_setting('app.tenant_id')::uuid;
    existing record;
BEGIN
    SELECT p.tenant_id, p.status INTO existing
    FROM tenant_identity_providers AS p WHERE p.provider_name = p_name;
    IF FOUND AND existing.tenant_id <> tenant THEN
        RAISE EXCEPTION 'identity provider name % is taken', p_name USING ERRCODE = 'unique_violation',
            CONSTRAINT = 'tenant_identity_providers_provider_name_key';
    END IF;
    IF FOUND AND existing.status = 'active' THEN
        RAISE EXCEPTION 'identity provider % is active', p_name USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;
    DELETE FROM tenant_identity_providers
        WHERE tenant_id = tenant AND status = 'testing' AND provider_name <> p_name;
    INSERT INTO tenant_identity_providers
        (id, tenant_id, provider_name, kind, issuer, client_id, authorize_scopes, attribute_mapping, status)
    VALUES (gen_random_uuid(), tenant, p_name, p_kind, p_issuer, p_client_id, p_scopes, p_mapping, 'testing')
    ON CONFLICT (provider_name) DO UPDATE SET
        kind = excluded.kind, issuer = excluded.issuer, client_id = excluded.client_id,
        authorize_scopes = excluded.authorize_scopes, attribute_mapping = excluded.attribute_mapping;
END
$$;

-- Activates the tenant's provider under test with its group → role mapping: it routes the tenant's proven
-- domains from now on. Answers the domains it routes.
CREATE FUNCTION sso_activate_provider(p_name text, p_mapping jsonb) RETURNS text[]
LANGUAGE plpgsql VOLATILE STRICT SECURITY DEFINER
SET search_path = pg_catalog, public
AS $$
DECLARE
    tenant uuid := current_setting('app.tenant_id')::uuid;
    routed text[];
BEGIN
    UPDATE tenant_identity_providers SET
        status = 'active',
        group_role_mapping = p_mapping,
        verified_domains = ARRAY(
            SELECT d.domain FROM tenant_domains AS d
            WHERE d.tenant_id = tenant AND d.status = 'verified' ORDER BY d.domain)
    WHERE tenant_id = tenant AND provider_name = p_name AND status = 'testing'
    RETURNING verified_domains INTO routed;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'no identity provider % under test', p_name USING ERRCODE = 'no_data_found';
    END IF;
    RETURN routed;
END
$$;

-- Keeps what the tenant's one active provider routes equal to the tenant's proven domains, after a domain is
-- proven, lapses or is removed. A tenant with several active providers (set up by operators) keeps the
-- operators' assignment of domains to providers.
CREATE FUNCTION sso_route_proven_domains() RETURNS void
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, public
AS $$
DECLARE
    tenant uuid := current_setting('app.tenant_id')::uuid;
BEGIN
    UPDATE tenant_identity_providers AS p SET verified_domains = ARRAY(
        SELECT d.domain FROM tenant_domains AS d
        WHERE d.tenant_id = tenant AND d.status = 'verified' ORDER BY d.domain)
    WHERE p.tenant_id = tenant AND p.status = 'active'
      AND (SELECT count(*) FROM tenant_identity_providers AS q
           WHERE q.tenant_id = tenant AND q.status = 'active') = 1;
END
$$;

REVOKE ALL ON FUNCTION sso_save_provider(text, text, text, text, text, jsonb) FROM PUBLIC;
REVOKE ALL ON FUNCTION sso_activate_provider(text, jsonb) FROM PUBLIC;
REVOKE ALL ON FUNCTION sso_route_proven_domains() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION sso_save_provider(text, text, text, text, text, jsonb) TO saas_app;
GRANT EXECUTE ON FUNCTION sso_activate_provider(text, jsonb) TO saas_app;
GRANT EXECUTE ON FUNCTION sso_route_proven_domains() TO saas_app;

-- The audit logs learn the provider's steps.
ALTER TABLE platform_audit_events DROP CONSTRAINT platform_audit_events_action_known;
ALTER TABLE platform_audit_events ADD CONSTRAINT platform_audit_events_action_known CHECK (action IN (
    'operator_signed_in', 'tenant_created', 'tenant_plan_changed', 'tenant_suspended', 'tenant_resumed',
    'tenant_exported', 'tenant_deletion_started', 'tenant_deleted', 'setup_link_created', 'setup_link_revoked',
    'setup_link_opened', 'domain_claimed', 'domain_verified', 'domain_removed', 'domain_lapsed',
    'sso_provider_saved', 'sso_test_sign_in', 'sso_activated'));

ALTER TABLE audit_events DROP CONSTRAINT audit_events_action_known;
ALTER TABLE audit_events ADD CONSTRAINT audit_events_action_known CHECK (action IN (
    'sign_in', 'sign_in_refused', 'member_joined', 'member_role_changed', 'member_deactivated',
    'member_reactivated', 'invitation_created', 'invitation_revoked', 'settings_changed', 'report_created',
    'report_edited', 'report_deleted', 'file_uploaded', 'file_deleted', 'member_role_kept', 'sessions_ended',
    'setup_link_created', 'setup_link_revoked', 'setup_link_opened', 'domain_claimed', 'domain_verified',
    'domain_removed', 'domain_lapsed', 'sso_provider_saved', 'sso_test_sign_in', 'sso_activated'));

-- The periodic re-check of proven domains acts as the platform itself.
ALTER TABLE platform_audit_events DROP CONSTRAINT platform_audit_events_actor_kind_known;
ALTER TABLE platform_audit_events ADD CONSTRAINT platform_audit_events_actor_kind_known
    CHECK (actor_kind IN ('operator', 'setup_link', 'tenant_admin', 'system'));
