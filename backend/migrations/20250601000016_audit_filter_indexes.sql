-- The audit log filtered by action or by person pages with the same keyset as the whole log, (at, id) newest
-- first. With the id in these indexes too, the keyset position is an index condition and the page comes off
-- the index in order; without it, a page deep in a busy action read every event of that action down to the
-- position and sorted the last second's ties.
DROP INDEX audit_events_tenant_action_idx;
DROP INDEX audit_events_tenant_actor_idx;
CREATE INDEX audit_events_tenant_action_idx ON audit_events (tenant_id, action, at DESC, id DESC);
CREATE INDEX audit_events_tenant_actor_idx ON audit_events (tenant_id, actor_id, at DESC, id DESC);
