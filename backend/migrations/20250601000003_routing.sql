-- Routing lookups that run before a tenant is known (home-realm discovery, the pre-token-generation trigger).
--
-- They are SECURITY DEFINER functions owned by the owner and return only routing data: a provider name, or a
-- tenant id for a provider. The tables keep row-level security for the application role; these functions are
-- the only way around it and they expose nothing else. Every name is schema-qualified and the search path is
-- pinned, so no object the caller creates (for example a temporary table) can stand in for ours.

-- The identity provider for a verified email domain. A domain claimed by more than one provider routes
-- nowhere: an ambiguous claim is a configuration error and must not pick a tenant by accident.
CREATE FUNCTION routing_provider_for_domain(domain_name text) RETURNS text
LANGUAGE sql STABLE STRICT SECURITY DEFINER
SET search_path = pg_catalog, public
AS $$
    SELECT CASE WHEN count(*) = 1 THEN min(p.provider_name) END
    FROM public.tenant_identity_providers AS p
    WHERE lower(domain_name) = ANY (p.verified_domains)
$$;

-- The identity provider of a tenant, by slug, when the tenant has exactly one.
CREATE FUNCTION routing_provider_for_tenant_slug(tenant_slug text) RETURNS text
LANGUAGE sql STABLE STRICT SECURITY DEFINER
SET search_path = pg_catalog, public
AS $$
    SELECT CASE WHEN count(*) = 1 THEN min(p.provider_name) END
    FROM public.tenants AS t
    JOIN public.tenant_identity_providers AS p ON p.tenant_id = t.id
    WHERE t.slug = tenant_slug
$$;

-- The tenant an identity provider is bound to.
CREATE FUNCTION routing_tenant_for_provider(provider text)
RETURNS TABLE (tenant_id uuid, provider_name text)
LANGUAGE sql STABLE STRICT SECURITY DEFINER
SET search_path = pg_catalog, public
AS $$
    SELECT p.tenant_id, p.provider_name
    FROM public.tenant_identity_providers AS p
    WHERE p.provider_name = provider
$$;

REVOKE ALL ON FUNCTION routing_provider_for_domain(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION routing_provider_for_tenant_slug(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION routing_tenant_for_provider(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION routing_provider_for_domain(text) TO saas_app;
GRANT EXECUTE ON FUNCTION routing_provider_for_tenant_slug(text) TO saas_app;
GRANT EXECUTE ON FUNCTION routing_tenant_for_provider(text) TO saas_app;
