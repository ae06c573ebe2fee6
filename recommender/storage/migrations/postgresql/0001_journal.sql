-- The event journal: the EVENTS contract's columns (features.schema), as in the SQLite
-- journal (recommender/storage/events.py). Times are bigint UTC epoch microseconds.
-- seq is the order events were written in (SQLite's rowid): reads order by (ts, seq).
CREATE TABLE events (
    event_id         text PRIMARY KEY,
    ts               bigint NOT NULL,
    type             text NOT NULL,
    partner_id       text NOT NULL,
    asset_id         text,
    deal_id          text,
    request_id       text,
    position         integer,
    stage            text,
    value            double precision,
    outcome          text,
    amount           double precision,
    propensity       double precision,
    propensity_shown double precision,
    experiment       text,
    arm              text,
    ingested_at      bigint NOT NULL,
    seq              bigint GENERATED ALWAYS AS IDENTITY
);
CREATE UNIQUE INDEX events_seq ON events (seq);
CREATE INDEX events_ts ON events (ts, seq);
CREATE INDEX events_partner_ts ON events (partner_id, ts);
CREATE INDEX events_asset ON events (asset_id);
-- the assets a partner has seen (SEEN_ASSETS_SQL's WHERE, word for word)
CREATE INDEX events_seen ON events (partner_id, asset_id)
    WHERE type IN ('open', 'download', 'share') AND asset_id IS NOT NULL;
CREATE INDEX events_experiment ON events (experiment, ts) WHERE experiment IS NOT NULL;

CREATE FUNCTION events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the event journal is append-only';
END
$$;
CREATE TRIGGER events_no_change BEFORE UPDATE OR DELETE ON events
    FOR EACH ROW EXECUTE FUNCTION events_append_only();
CREATE TRIGGER events_no_truncate BEFORE TRUNCATE ON events
    FOR EACH STATEMENT EXECUTE FUNCTION events_append_only();
