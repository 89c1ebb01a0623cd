-- Recorded files are immutable: recording copies the upload server-side into the files bucket, which only the
-- backend can write, under `<tenant_id>/<file_id>`, and removes the upload. `object_key` is now the key in the
-- files bucket; `upload_key` is where the browser put the bytes (unique in the tenant, so that one upload is
-- recorded once even when two requests race), and `etag` is the ETag S3 gave the copy (the MD5 of the
-- bytes, or S3's multipart form), so that the size and checksum recorded are those of the bytes kept.
--
-- Rows recorded before this migration keep their key in the upload bucket; no deployment predates it, so they
-- exist only in local development databases, where `cargo xtask dev` recreates the demo world.

ALTER TABLE files ADD COLUMN upload_key text
    CONSTRAINT files_upload_key_length CHECK (char_length(upload_key) BETWEEN 1 AND 1024);
-- The owner is subject to FORCE ROW LEVEL SECURITY (on managed Postgres it is no superuser), and this update
-- spans every tenant, so FORCE is lifted for it alone, inside the migration's transaction.
ALTER TABLE files NO FORCE ROW LEVEL SECURITY;
UPDATE files SET upload_key = object_key;
ALTER TABLE files FORCE ROW LEVEL SECURITY;
ALTER TABLE files ALTER COLUMN upload_key SET NOT NULL;
ALTER TABLE files ADD CONSTRAINT files_upload_key_unique UNIQUE (tenant_id, upload_key);

ALTER TABLE files ADD COLUMN etag text
    CONSTRAINT files_etag_length CHECK (char_length(etag) BETWEEN 1 AND 128);
