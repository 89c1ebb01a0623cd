-- The server-side session store (`backend::auth::session::SessionStore`, a tower-sessions store), created here
-- by the owner so that the application role never needs DDL rights.
--
-- Rows are keyed by the SHA-256 of the session id (32 bytes), never by the id itself: the table, a replica or
-- a backup holds no cookie that would sign anyone in. `data` is the session's key-value map as JSON; the
-- tokens inside it are encrypted by the backend.
--
-- Sessions are not tenant-owned (a session exists before sign-in, when no tenant is known), so the table has
-- no row-level security; only the backend reads it.
CREATE SCHEMA IF NOT EXISTS tower_sessions;

CREATE TABLE tower_sessions.session
(
    id          bytea       PRIMARY KEY CONSTRAINT session_id_is_sha256 CHECK (octet_length(id) = 32),
    data        jsonb       NOT NULL CONSTRAINT session_data_is_object CHECK (jsonb_typeof(data) = 'object'),
    expiry_date timestamptz NOT NULL
);

CREATE INDEX session_expiry_date_idx ON tower_sessions.session (expiry_date);

GRANT USAGE ON SCHEMA tower_sessions TO saas_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON tower_sessions.session TO saas_app;
