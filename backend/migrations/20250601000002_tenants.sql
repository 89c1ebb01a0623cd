-- Tenants, their identity providers and their members, each isolated by row-level security.
--
-- Every tenant-owned table has ENABLE + FORCE ROW LEVEL SECURITY and a policy comparing the row's tenant with
-- `current_setting('app.tenant_id')`. The setting is read WITHOUT the missing_ok flag: a query outside a
-- tenant transaction fails ("unrecognized configuration parameter") instead of returning rows, and on a
-- pooled connection that once ran a tenant transaction the setting is '' and the ::uuid cast fails. Either
-- way an unset tenant fails closed.

CREATE TABLE tenants (
    id          uuid        PRIMARY KEY,
    slug        text        NOT NULL UNIQUE CONSTRAINT tenants_slug_format CHECK (slug ~ '^[a-z][a-z0-9-]{1,62}$'),
    name        text        NOT NULL CONSTRAINT tenants_name_not_blank CHECK (btrim(name) <> ''),
    plan        text        NOT NULL CONSTRAINT tenants_plan_known CHECK (plan IN ('basic', 'pro')),
    created_at  timestamptz NOT NULL DEFAULT now()
);

-- A group → role mapping is a JSON object whose values are role names; anything else would make sign-in
-- fail later, so it is refused when written.
CREATE FUNCTION group_role_mapping_is_valid(mapping jsonb) RETURNS boolean
LANGUAGE sql IMMUTABLE STRICT
SET search_path = pg_catalog, public
AS $$
    SELECT jsonb_typeof(mapping) = 'object'
       AND NOT EXISTS (
           SELECT 1 FROM jsonb_each(mapping) AS e(grp, role)
           WHERE jsonb_typeof(e.role) <> 'string' OR e.role #>> '{}' NOT IN ('viewer', 'member', 'admin')
       )
$$;

-- Verified domains are stored lower-case so that routing compares them exactly; the check also refuses empty
-- entries and NULLs, which would never match anything and only hide a configuration mistake.
CREATE FUNCTION verified_domains_are_valid(domains text[]) RETURNS boolean
LANGUAGE sql IMMUTABLE STRICT
SET search_path = pg_catalog, public
AS $$
    SELECT NOT EXISTS (
        SELECT 1 FROM unnest(domains) AS d(domain)
        WHERE d.domain IS NULL OR d.domain <> lower(d.domain) OR d.domain !~ '^[a-z0-9]([a-z0-9.-]*[a-z0-9])?$'
    )
$$;

-- `provider_name` is the user pool's identity-provider name. It is unique across the platform because it is
-- what binds a signed-in user to exactly one tenant. It never contains '_', so that the federated user name
-- `<provider>_<subject>` splits unambiguously.
CREATE TABLE tenant_identity_providers (
    id                  uuid        PRIMARY KEY,
    tenant_id           uuid        NOT NULL REFERENCES tenants (id),
    provider_name       text        NOT NULL UNIQUE
                                    CONSTRAINT tenant_identity_providers_name_format
                                    CHECK (provider_name ~ '^[a-z0-9][a-z0-9.-]{0,31}$'),
    kind                text        NOT NULL CONSTRAINT tenant_identity_providers_kind_known
                                    CHECK (kind IN ('entra', 'okta', 'oidc')),
    issuer              text,
    verified_domains    text[]      NOT NULL DEFAULT '{}'
                                    CONSTRAINT tenant_identity_providers_domains_valid
                                    CHECK (verified_domains_are_valid(verified_domains)),
    group_role_mapping  jsonb       NOT NULL DEFAULT '{}'
                                    CONSTRAINT tenant_identity_providers_mapping_valid
                                    CHECK (group_role_mapping_is_valid(group_role_mapping)),
    created_at          timestamptz NOT NULL DEFAULT now(),
    -- The target of the members' foreign key: a member's provider must belong to the member's own tenant.
    UNIQUE (tenant_id, provider_name)
);

-- Members are keyed by the identity they signed in with, (provider, subject), never by email: email claims can
-- be unverified or asserted by another tenant's IdP, so there is deliberately no unique constraint on email.
CREATE TABLE members (
    id               uuid        PRIMARY KEY,
    tenant_id        uuid        NOT NULL REFERENCES tenants (id),
    provider         text        NOT NULL,
    subject          text        NOT NULL CONSTRAINT members_subject_not_empty CHECK (subject <> ''),
    email            text        NOT NULL DEFAULT '',
    name             text        NOT NULL DEFAULT '',
    role             text        NOT NULL CONSTRAINT members_role_known CHECK (role IN ('viewer', 'member', 'admin')),
    status           text        NOT NULL DEFAULT 'active'
                                 CONSTRAINT members_status_known CHECK (status IN ('active', 'deactivated')),
    created_at       timestamptz NOT NULL DEFAULT now(),
    last_sign_in_at  timestamptz,
    UNIQUE (tenant_id, provider, subject),
    FOREIGN KEY (tenant_id, provider) REFERENCES tenant_identity_providers (tenant_id, provider_name)
);

CREATE INDEX members_tenant_id_idx ON members (tenant_id);

ALTER TABLE tenants ENABLE ROW LEVEL SECURITY;
ALTER TABLE tenants FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON tenants
    USING (id = current_setting('app.tenant_id')::uuid)
    WITH CHECK (id = current_setting('app.tenant_id')::uuid);

ALTER TABLE tenant_identity_providers ENABLE ROW LEVEL SECURITY;
ALTER TABLE tenant_identity_providers FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON tenant_identity_providers
    USING (tenant_id = current_setting('app.tenant_id')::uuid)
    WITH CHECK (tenant_id = current_setting('app.tenant_id')::uuid);

ALTER TABLE members ENABLE ROW LEVEL SECURITY;
ALTER TABLE members FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON members
    USING (tenant_id = current_setting('app.tenant_id')::uuid)
    WITH CHECK (tenant_id = current_setting('app.tenant_id')::uuid);

-- The routing functions (next migration) run as the owner before any tenant is known. FORCE makes RLS apply
-- to the owner too, and on managed Postgres (Amazon RDS) the owner is not a superuser, so without this
-- read-only policy those functions would see nothing. It grants the owner nothing it could not already do: an
-- owner can always disable RLS on its own tables. The application role is not the owner and gains nothing.
DO $$
BEGIN
    EXECUTE format('CREATE POLICY owner_routing_read ON tenants FOR SELECT TO %I USING (true)', current_user);
    EXECUTE format(
        'CREATE POLICY owner_routing_read ON tenant_identity_providers FOR SELECT TO %I USING (true)',
        current_user
    );
END
$$;

-- What the application needs and nothing more: it reads its tenant and the tenant's sign-in configuration
-- (tenants and identity providers are onboarded by platform operators, as the owner), and manages members.
-- Nobody but the owner creates objects in the public schema (the default since Postgres 15, stated here so
-- that it holds whatever the cluster's history).
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
GRANT USAGE ON SCHEMA public TO saas_app;
GRANT SELECT ON tenants TO saas_app;
GRANT SELECT ON tenant_identity_providers TO saas_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON members TO saas_app;
