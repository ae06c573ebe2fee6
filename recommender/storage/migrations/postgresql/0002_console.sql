-- The console database: API keys, the audit log, overrides, experiments and digests, as in
-- the SQLite console.sqlite (recommender/storage/keys.py, audit.py, steering/overrides.py,
-- experiments/store.py, outreach/store.py). Times are ISO 8601 text and JSON is text, as
-- there. seq is the order rows were written in (SQLite's rowid).
CREATE TABLE api_keys (
    key_id     text PRIMARY KEY,
    scope      text NOT NULL,
    name       text NOT NULL,
    salt       bytea NOT NULL,
    digest     bytea NOT NULL,
    created_at text NOT NULL,
    revoked_at text,
    seq        bigint GENERATED ALWAYS AS IDENTITY
);
CREATE TABLE audit (
    seq    bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at     text NOT NULL,
    actor  text NOT NULL,
    action text NOT NULL,
    target text NOT NULL,
    detail text NOT NULL
);
CREATE TABLE overrides (
    override_id text PRIMARY KEY,
    data        text NOT NULL,
    deleted     integer NOT NULL DEFAULT 0,
    seq         bigint GENERATED ALWAYS AS IDENTITY
);
CREATE TABLE experiments (
    name   text PRIMARY KEY,
    status text NOT NULL,
    data   text NOT NULL,
    seq    bigint GENERATED ALWAYS AS IDENTITY
);
CREATE TABLE digests (
    digest_id  text PRIMARY KEY,
    partner_id text NOT NULL,
    created_at text NOT NULL,
    created_by text NOT NULL,
    language   text NOT NULL,
    format     text NOT NULL,
    since      text,
    assets     text NOT NULL,
    seq        bigint GENERATED ALWAYS AS IDENTITY
);
CREATE INDEX digests_partner ON digests (partner_id, created_at);
