-- Like audit_list.sql, with the filters: action $2, actor $3, at or after $4, before $5, strictly after the
-- keyset position ($6, $7), target label containing $9; at most $8 events. With optional filters in one
-- statement a generic plan cannot know which are set, so the backend plans each execution for its arguments
-- (`CUSTOM_PLANS` in backend/src/db/audit.rs): the unset filters fold away, and a page filtered by action or
-- by person is read off that filter's index with the keyset position as its condition
-- (backend/tests/api/query_plans.rs). The unfiltered log, the common case, has audit_list.sql.
SELECT id, at, action, actor_id AS "actor_id: MemberId", actor_name, actor_email, target_kind,
       target_id, target_label, details, host(source_ip) AS source_ip
FROM audit_events
WHERE tenant_id = $1
  AND ($2::text IS NULL OR action = $2)
  AND ($3::uuid IS NULL OR actor_id = $3)
  AND at >= CASE WHEN $4::timestamptz IS NULL THEN '-infinity' ELSE $4 END
  AND (at, id) < (CASE WHEN $5::timestamptz IS NULL THEN 'infinity' ELSE $5 END,
                  '00000000-0000-0000-0000-000000000000'::uuid)
  AND (at, id) < (CASE WHEN $6::timestamptz IS NULL THEN 'infinity' ELSE $6 END,
                  CASE WHEN $7::uuid IS NULL THEN 'ffffffff-ffff-ffff-ffff-ffffffffffff' ELSE $7 END)
  AND ($9::text IS NULL OR target_label ILIKE $9)
ORDER BY at DESC, id DESC
LIMIT $8
