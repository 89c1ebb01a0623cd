-- Revoked sign-ins: what makes an access token refused at once although its signature and expiry are fine.
--
-- Cognito puts the same `origin_jti` into every access and ID token of one sign-in, refreshed ones included, and
-- records no revocation anywhere a JWT-verifying API could see it. The backend therefore keeps its own list,
-- checked after verification on every request (in the same query as the live membership check):
--
-- * `revoked_sign_ins`: one sign-in (sign-out through the backend, `POST /auth/revoke`), by `origin_jti`. A row
--   is needed only while a token of that sign-in could still be presented: until its refresh token has expired
--   (`expires_at`); expired rows are purged whenever the tenant records a revocation.
-- * `tenants.sign_ins_revoked_before`: every sign-in of a whole tenant that began before that instant, for the
--   tenant suspension an operator will perform (nothing sets it yet). Tokens carry their sign-in time
--   (`auth_time`) in whole seconds, so a sign-in is refused when its second began before the cut-off: sign-ins of
--   the same second as the cut-off are refused too (fail closed).
--
-- A deactivated member needs no entry: the membership check refuses every token of theirs at once, and a
-- reactivation deliberately lets their existing sign-ins work again.

CREATE TABLE revoked_sign_ins (
    tenant_id   uuid        NOT NULL REFERENCES tenants (id),
    origin_jti  text        NOT NULL CONSTRAINT revoked_sign_ins_origin_jti_not_empty CHECK (origin_jti <> ''),
    revoked_at  timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, origin_jti)
);

CREATE INDEX revoked_sign_ins_expires_at_idx ON revoked_sign_ins (tenant_id, expires_at);

ALTER TABLE revoked_sign_ins ENABLE ROW LEVEL SECURITY;
ALTER TABLE revoked_sign_ins FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON revoked_sign_ins
    USING (tenant_id = current_setting('app.tenant_id')::uuid)
    WITH CHECK (tenant_id = current_setting('app.tenant_id')::uuid);

-- The application records revocations, refreshes one (a second sign-out of the same sign-in) and purges expired
-- ones; it never edits them otherwise.
GRANT SELECT, INSERT, DELETE ON revoked_sign_ins TO saas_app;
GRANT UPDATE (expires_at) ON revoked_sign_ins TO saas_app;

ALTER TABLE tenants ADD COLUMN sign_ins_revoked_before timestamptz;
