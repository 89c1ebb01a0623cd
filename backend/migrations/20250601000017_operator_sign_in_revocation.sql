-- Revoked operator sign-ins: the operators' console counterpart of `revoked_sign_ins`.
--
-- Operators belong to no tenant: they sign in through their own user pool, and their sign-ins are a platform
-- matter, so this table has no tenant column and no row-level security (nothing in it is any tenant's data).
-- Operator sign-out records the sign-in's `origin_jti` here, and every operator request checks it after the
-- access token verifies, so no token of an ended sign-in works any more, on any backend instance. A row is
-- needed only while a token of that sign-in could still be presented (`expires_at`); expired rows are purged
-- whenever a revocation is recorded.

CREATE TABLE operator_revoked_sign_ins (
    origin_jti  text        PRIMARY KEY
                            CONSTRAINT operator_revoked_sign_ins_origin_jti_not_empty CHECK (origin_jti <> ''),
    revoked_at  timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL
);

CREATE INDEX operator_revoked_sign_ins_expires_at_idx ON operator_revoked_sign_ins (expires_at);

GRANT SELECT, INSERT, DELETE ON operator_revoked_sign_ins TO saas_app;
GRANT UPDATE (expires_at) ON operator_revoked_sign_ins TO saas_app;
