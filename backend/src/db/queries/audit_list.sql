-- Up to $6 audit events of tenant $1, newest first, at or after $2 and before $3 (each when given), strictly
-- after the keyset position ($4, $5) when it is given: the log as an admin pages through it, without the
-- filters of audit_search.sql. The bounds and the position are comparisons against the index's own columns
-- with sentinels (chosen by CASE) for "no bound", so that they are index conditions of
-- audit_events_tenant_at_idx in every plan, the generic plan of a prepared statement included (see
-- reports_list.sql). "Before $3" is (at, id) < ($3, the smallest uuid), which no event at $3 itself satisfies.
-- backend/tests/api/query_plans.rs checks the plan.
SELECT id, at, action, actor_id AS "actor_id: MemberId", actor_name, actor_email, target_kind,
       target_id, target_label, details, host(source_ip) AS source_ip
FROM audit_events
WHERE tenant_id = $1
  AND at >= CASE WHEN $2::timestamptz IS NULL THEN '-infinity' ELSE $2 END
  AND (at, id) < (CASE WHEN $3::timestamptz IS NULL THEN 'infinity' ELSE $3 END,
                  '00000000-0000-0000-0000-000000000000'::uuid)
  AND (at, id) < (CASE WHEN $4::timestamptz IS NULL THEN 'infinity' ELSE $4 END,
                  CASE WHEN $5::uuid IS NULL THEN 'ffffffff-ffff-ffff-ffff-ffffffffffff' ELSE $5 END)
ORDER BY at DESC, id DESC
LIMIT $6
