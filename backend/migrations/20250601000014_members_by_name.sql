-- The member list can be sorted by name as well as by email: keyset paging on (tenant_id, name, id).
CREATE INDEX members_tenant_name_idx ON members (tenant_id, name, id);
