-- The schema of the reference server. Ids are 32 lowercase hex characters
-- and timestamps are RFC 3339 UTC text, as the API returns them.
CREATE TABLE organizations (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    created_at TEXT NOT NULL
);

-- A project of an organization; the API calls its id `env_id`.
CREATE TABLE projects (
    id TEXT PRIMARY KEY,
    org_id TEXT NOT NULL REFERENCES organizations (id),
    name TEXT NOT NULL,
    created_at TEXT NOT NULL
);

CREATE TABLE sources (
    id TEXT PRIMARY KEY,
    org_id TEXT NOT NULL REFERENCES organizations (id),
    env_id TEXT NOT NULL REFERENCES projects (id),
    name TEXT NOT NULL,
    created_at TEXT NOT NULL
);

CREATE TABLE destinations (
    id TEXT PRIMARY KEY,
    org_id TEXT NOT NULL REFERENCES organizations (id),
    env_id TEXT NOT NULL REFERENCES projects (id),
    name TEXT NOT NULL,
    url TEXT NOT NULL,
    created_at TEXT NOT NULL
);

CREATE TABLE connections (
    id TEXT PRIMARY KEY,
    org_id TEXT NOT NULL REFERENCES organizations (id),
    env_id TEXT NOT NULL REFERENCES projects (id),
    source_id TEXT NOT NULL REFERENCES sources (id),
    destination_id TEXT NOT NULL REFERENCES destinations (id),
    name TEXT NOT NULL,
    description TEXT,
    enabled INTEGER NOT NULL DEFAULT 1 CHECK (enabled IN (0, 1)),
    filter_rules TEXT,
    status TEXT NOT NULL DEFAULT 'active'
        CHECK (status IN ('active', 'paused', 'disabled')),
    event_count INTEGER NOT NULL DEFAULT 0,
    last_event_at TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    transform_enabled INTEGER NOT NULL DEFAULT 0 CHECK (transform_enabled IN (0, 1)),
    transform_expression TEXT,
    CHECK ((status = 'disabled') = (enabled = 0))
);

CREATE INDEX connections_by_tenant ON connections (org_id, env_id, id);

-- API keys are stored as a SHA-256 hash; `prefix` is the visible start of
-- the key, used to find the row before the hash is compared.
CREATE TABLE api_keys (
    id TEXT PRIMARY KEY,
    org_id TEXT NOT NULL REFERENCES organizations (id),
    env_id TEXT NOT NULL REFERENCES projects (id),
    prefix TEXT NOT NULL UNIQUE,
    key_hash BLOB NOT NULL,
    created_at TEXT NOT NULL,
    revoked_at TEXT
);

-- Sessions for the `better-auth.session_token` cookie, stored as a
-- SHA-256 hash of the token.
CREATE TABLE sessions (
    id TEXT PRIMARY KEY,
    org_id TEXT NOT NULL REFERENCES organizations (id),
    env_id TEXT NOT NULL REFERENCES projects (id),
    token_hash BLOB NOT NULL UNIQUE,
    expires_at TEXT NOT NULL,
    created_at TEXT NOT NULL
);
