-- What the user pool needs to federate with each tenant's identity provider, kept with the provider so that the
-- database is the one source of truth the backend reconciles Cognito from (`backend reconcile-idps`).
--
-- The client secret is deliberately absent: it is handed to Cognito when the provider is created and never
-- stored here. The issuer, client id, scopes and attribute mapping are not secret.
ALTER TABLE tenant_identity_providers
    ADD COLUMN client_id         text  NOT NULL DEFAULT ''
        CONSTRAINT tenant_identity_providers_client_id_length CHECK (length(client_id) <= 255),
    ADD COLUMN authorize_scopes  text  NOT NULL DEFAULT 'openid email profile'
        CONSTRAINT tenant_identity_providers_scopes_openid
        CHECK ('openid' = ANY (regexp_split_to_array(authorize_scopes, '\s+'))),
    ADD COLUMN attribute_mapping jsonb NOT NULL DEFAULT '{}'
        CONSTRAINT tenant_identity_providers_attribute_mapping_object
        CHECK (jsonb_typeof(attribute_mapping) = 'object');

-- Every provider's federation settings, across tenants, for the reconciler (which runs before and outside any
-- tenant). Like the routing functions it returns configuration only: no member, no tenant data.
CREATE FUNCTION cognito_identity_providers()
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
    SELECT p.provider_name, p.issuer, p.client_id, p.authorize_scopes, p.attribute_mapping, p.verified_domains
    FROM public.tenant_identity_providers AS p
    ORDER BY p.provider_name
$$;

REVOKE ALL ON FUNCTION cognito_identity_providers() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION cognito_identity_providers() TO saas_app;
