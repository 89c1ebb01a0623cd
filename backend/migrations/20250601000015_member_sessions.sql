-- A member's browser sessions, as the member and the tenant's admins see them: which device, from which
-- address, signed in when and last seen when; and what ending one needs.
--
-- One row per signed-in browser session, written at sign-in next to the session itself. `session_key` is the
-- key of the session's row in `tower_sessions.session` (the SHA-256 of the session id, never the id: the row
-- holds nothing a browser could present), and the row goes with that session: at sign-out, at expiry (the
-- expired-session sweep), or when the session is ended from here. `origin_jti` names the sign-in, so that
-- ending a session also records it in `revoked_sign_ins`: every token of it is refused at once, however it is
-- presented.
--
-- Sessions themselves are not tenant-owned (one exists before sign-in); this table is, under the same
-- row-level security as every other tenant table. The cascade from `tower_sessions.session` is a referential
-- action, which Postgres runs past row-level security, so the sweep needs no tenant.
CREATE TABLE member_sessions (
    id            uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id     uuid        NOT NULL REFERENCES tenants (id),
    member_id     uuid        NOT NULL REFERENCES members (id),
    session_key   bytea       NOT NULL UNIQUE REFERENCES tower_sessions.session (id) ON DELETE CASCADE,
    origin_jti    text        NOT NULL CONSTRAINT member_sessions_origin_jti_not_empty CHECK (origin_jti <> ''),
    user_agent    text        NOT NULL DEFAULT ''
                              CONSTRAINT member_sessions_user_agent_bounded CHECK (length(user_agent) <= 512),
    source_ip     inet,
    signed_in_at  timestamptz NOT NULL DEFAULT now(),
    last_seen_at  timestamptz NOT NULL DEFAULT now()
);

-- A member's sessions are listed most recently seen first.
CREATE INDEX member_sessions_member_idx ON member_sessions (tenant_id, member_id, last_seen_at DESC);

ALTER TABLE member_sessions ENABLE ROW LEVEL SECURITY;
ALTER TABLE member_sessions FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON member_sessions
    USING (tenant_id = current_setting('app.tenant_id')::uuid)
    WITH CHECK (tenant_id = current_setting('app.tenant_id')::uuid);

-- The application records a session at sign-in, notes activity (at most about once a minute per session) and
-- ends sessions; it never rewrites who or which sign-in a row is.
GRANT SELECT, INSERT, DELETE ON member_sessions TO saas_app;
GRANT UPDATE (last_seen_at, source_ip) ON member_sessions TO saas_app;

-- Ending sessions is audited (`sessions_ended`: a member's own "sign out everywhere", or an admin's revoke).
ALTER TABLE audit_events DROP CONSTRAINT audit_events_action_known;
ALTER TABLE audit_events ADD CONSTRAINT audit_events_action_known CHECK (action IN (
    'sign_in', 'sign_in_refused', 'member_joined', 'member_role_changed', 'member_deactivated',
    'member_reactivated', 'invitation_created', 'invitation_revoked', 'settings_changed', 'report_created',
    'report_edited', 'report_deleted', 'file_uploaded', 'file_deleted', 'member_role_kept', 'sessions_ended'));
