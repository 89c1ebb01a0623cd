-- Up to $4 reports of tenant $1, newest first, strictly after the keyset position ($2, $3) when it is given.
-- The position is one row comparison against the index's own columns, with sentinels standing for "from the
-- start" (every report is older than (infinity, the largest uuid)), so that it is an index condition of
-- reports_tenant_created_idx in every plan, the generic plan of a prepared statement included: the form
-- `$2 IS NULL OR (created_at, id) < ($2, $3)` is only a filter there, and a deep page would read every row
-- before it. The sentinels are chosen with CASE, not COALESCE: under row-level security only a condition
-- Postgres knows to be leakproof may run inside the index scan, and it counts COALESCE as possibly leaky.
-- The author's name is a subquery per row rather than a join, so that the plan has one table to page: with a
-- join, the generic plan may loop over the tenant's members and sort every one of their reports (seen at
-- 10 000 reports a tenant, 7 ms a page, where the index gives the page at once). Every report has its author
-- (a foreign key), so the name is never missing.
-- backend/tests/api/query_plans.rs checks the plan.
SELECT r.id, r.tenant_id AS "tenant_id: TenantId", r.author_id AS "author_id: MemberId",
       (SELECT m.name FROM members AS m WHERE m.tenant_id = r.tenant_id AND m.id = r.author_id)
           AS "author_name!",
       r.title, r.body, r.created_at, r.updated_at
FROM reports AS r
WHERE r.tenant_id = $1
  AND (r.created_at, r.id) < (CASE WHEN $2::timestamptz IS NULL THEN 'infinity' ELSE $2 END,
                              CASE WHEN $3::uuid IS NULL THEN 'ffffffff-ffff-ffff-ffff-ffffffffffff' ELSE $3 END)
ORDER BY r.created_at DESC, r.id DESC
LIMIT $4
