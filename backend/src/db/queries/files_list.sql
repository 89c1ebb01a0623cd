-- Up to $4 present files of tenant $1, newest first, strictly after the keyset position ($2, $3) when it is
-- given: one row comparison with sentinels chosen by CASE, an index condition of files_tenant_created_idx in
-- every plan (see reports_list.sql). backend/tests/api/query_plans.rs checks the plan.
-- The uploader's name is a subquery per row, not a join, for the reason reports_list.sql gives.
SELECT f.id, f.uploader_id AS "uploader_id: MemberId",
       (SELECT m.name FROM members AS m WHERE m.tenant_id = f.tenant_id AND m.id = f.uploader_id)
           AS "uploader_name!",
       f.object_key AS key, f.name, f.size_bytes AS size, f.content_type, f.created_at,
       f.state = 'deleting' AS "deleting!"
FROM files AS f
WHERE f.tenant_id = $1 AND f.state = 'present'
  AND (f.created_at, f.id) < (CASE WHEN $2::timestamptz IS NULL THEN 'infinity' ELSE $2 END,
                              CASE WHEN $3::uuid IS NULL THEN 'ffffffff-ffff-ffff-ffff-ffffffffffff' ELSE $3 END)
ORDER BY f.created_at DESC, f.id DESC
LIMIT $4
