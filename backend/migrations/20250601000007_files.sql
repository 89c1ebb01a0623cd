-- Files uploaded straight from browsers to S3 under `<tenant_id>/<user_id>/uploads/`, recorded here once the
-- backend has seen the object. Tenant-owned like every such table (ENABLE + FORCE, fail-closed policy on
-- `current_setting('app.tenant_id')`, USING and WITH CHECK).

CREATE TABLE files (
    id            uuid        PRIMARY KEY,
    tenant_id     uuid        NOT NULL REFERENCES tenants (id),
    uploader_id   uuid        NOT NULL,
    -- The object key, unique in the tenant; it always starts with `<tenant_id>/` (checked by the application,
    -- which also checks the uploader's own prefix).
    object_key    text        NOT NULL CONSTRAINT files_key_length CHECK (char_length(object_key) BETWEEN 1 AND 1024),
    name          text        NOT NULL CONSTRAINT files_name_length CHECK (char_length(name) BETWEEN 1 AND 1024),
    size_bytes    bigint      NOT NULL CONSTRAINT files_size_not_negative CHECK (size_bytes >= 0),
    content_type  text        NOT NULL DEFAULT 'application/octet-stream',
    -- 'present' while the object exists; 'deleting' once a deletion has begun, until the object is gone and
    -- the row removed, so that a failure between the two steps leaves a row to finish, never an orphan.
    state         text        NOT NULL DEFAULT 'present' CONSTRAINT files_state_known CHECK (state IN ('present', 'deleting')),
    created_at    timestamptz NOT NULL DEFAULT now(),
    UNIQUE (tenant_id, object_key),
    FOREIGN KEY (tenant_id, uploader_id) REFERENCES members (tenant_id, id)
);

CREATE INDEX files_tenant_created_idx ON files (tenant_id, created_at DESC, id DESC);

ALTER TABLE files ENABLE ROW LEVEL SECURITY;
ALTER TABLE files FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON files
    USING (tenant_id = current_setting('app.tenant_id')::uuid)
    WITH CHECK (tenant_id = current_setting('app.tenant_id')::uuid);

GRANT SELECT, INSERT, UPDATE, DELETE ON files TO saas_app;

-- Uploads and deletions are audited like administrative changes.
ALTER TABLE audit_events DROP CONSTRAINT audit_events_action_known;
ALTER TABLE audit_events ADD CONSTRAINT audit_events_action_known CHECK (action IN (
    'sign_in', 'sign_in_refused', 'member_joined', 'member_role_changed', 'member_deactivated',
    'member_reactivated', 'invitation_created', 'invitation_revoked', 'settings_changed', 'report_deleted',
    'file_uploaded', 'file_deleted'));
ALTER TABLE audit_events DROP CONSTRAINT audit_events_target_kind_known;
ALTER TABLE audit_events ADD CONSTRAINT audit_events_target_kind_known
    CHECK (target_kind IN ('member', 'invitation', 'report', 'tenant', 'file'));
