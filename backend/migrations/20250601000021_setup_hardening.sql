-- A set-up link opens, and its session acts, only while its tenant is active: the link of a suspended tenant,
-- or of one whose deletion has begun, writes nothing more (domains, a provider) until the tenant is resumed.
-- (Replacing a function keeps its owner and privileges.)
CREATE OR REPLACE FUNCTION setup_link_for_token(hash bytea)
RETURNS TABLE (link_id uuid, tenant_id uuid)
LANGUAGE sql STABLE STRICT SECURITY DEFINER
SET search_path = pg_catalog, public
AS $$
    SELECT l.id, l.tenant_id FROM public.sso_setup_links AS l
    JOIN public.tenants AS t ON t.id = l.tenant_id AND t.status = 'active'
    WHERE l.token_hash = hash AND l.opened_at IS NULL AND l.revoked_at IS NULL AND l.completed_at IS NULL
      AND l.expires_at > now()
$$;

CREATE OR REPLACE FUNCTION setup_link_for_session(hash bytea)
RETURNS TABLE (link_id uuid, tenant_id uuid)
LANGUAGE sql STABLE STRICT SECURITY DEFINER
SET search_path = pg_catalog, public
AS $$
    SELECT l.id, l.tenant_id FROM public.sso_setup_links AS l
    JOIN public.tenants AS t ON t.id = l.tenant_id AND t.status = 'active'
    WHERE l.session_hash = hash AND l.revoked_at IS NULL AND l.completed_at IS NULL AND l.expires_at > now()
$$;

-- Rotating the active provider's client secret has an action of its own in both logs.
ALTER TABLE platform_audit_events DROP CONSTRAINT platform_audit_events_action_known;
ALTER TABLE platform_audit_events ADD CONSTRAINT platform_audit_events_action_known CHECK (action IN (
    'operator_signed_in', 'tenant_created', 'tenant_plan_changed', 'tenant_suspended', 'tenant_resumed',
    'tenant_exported', 'tenant_deletion_started', 'tenant_deleted', 'setup_link_created', 'setup_link_revoked',
    'setup_link_opened', 'domain_claimed', 'domain_verified', 'domain_removed', 'domain_lapsed',
    'sso_provider_saved', 'sso_test_sign_in', 'sso_activated', 'sso_secret_rotated'));

ALTER TABLE audit_events DROP CONSTRAINT audit_events_action_known;
ALTER TABLE audit_events ADD CONSTRAINT audit_events_action_known CHECK (action IN (
    'sign_in', 'sign_in_refused', 'member_joined', 'member_role_changed', 'member_deactivated',
    'member_reactivated', 'invitation_created', 'invitation_revoked', 'settings_changed', 'report_created',
    'report_edited', 'report_deleted', 'file_uploaded', 'file_deleted', 'member_role_kept', 'sessions_ended',
    'setup_link_created', 'setup_link_revoked', 'setup_link_opened', 'domain_claimed', 'domain_verified',
    'domain_removed', 'domain_lapsed', 'sso_provider_saved', 'sso_test_sign_in', 'sso_activated',
    'sso_secret_rotated'));
