-- Usage aggregated as events arrive, as in the SQLite journal (schema 4,
-- recommender/storage/events.py): a snapshot reads these and the events that are not
-- impressions, never the whole journal.
--   usage_daily: events per (UTC day, partner, asset, type); day = ts / 86400000000
--     (truncated division, as SQLite's), asset_id '' for an event without an asset.
--   impression_totals: impressions per (partner, asset, stage, position), with the first and
--     last time; stage '' for an impression without one.
-- One trigger per INSERT statement reads the rows it really inserted (the transition table:
-- ON CONFLICT DO NOTHING leaves the duplicates out), in the same transaction, so an
-- aggregate is never ahead of or behind the events. Rows are upserted in key order: two
-- writers lock shared rows in the same order and cannot deadlock on them.
CREATE TABLE usage_daily (
    day        integer NOT NULL,
    partner_id text NOT NULL,
    asset_id   text NOT NULL,
    type       text NOT NULL,
    events     bigint NOT NULL,
    PRIMARY KEY (day, partner_id, asset_id, type)
);
CREATE TABLE impression_totals (
    partner_id text NOT NULL,
    asset_id   text NOT NULL,
    stage      text NOT NULL,
    position   integer NOT NULL,
    events     bigint NOT NULL,
    first_ts   bigint NOT NULL,
    last_ts    bigint NOT NULL,
    PRIMARY KEY (partner_id, asset_id, stage, position)
);
-- everything but impressions, in write order at equal times (usage reads these raw)
CREATE INDEX events_engaged ON events (ts, seq) WHERE type != 'impression';

INSERT INTO usage_daily
SELECT (ts / 86400000000)::integer, partner_id, coalesce(asset_id, ''), type, count(*)
FROM events GROUP BY 1, 2, 3, 4;
INSERT INTO impression_totals
SELECT partner_id, asset_id, coalesce(stage, ''), coalesce(position, -1), count(*), min(ts), max(ts)
FROM events WHERE type = 'impression' AND asset_id IS NOT NULL GROUP BY 1, 2, 3, 4;

CREATE FUNCTION events_aggregate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO usage_daily AS u
    SELECT (ts / 86400000000)::integer, partner_id, coalesce(asset_id, ''), type, count(*)
    FROM new_events GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4
    ON CONFLICT (day, partner_id, asset_id, type) DO UPDATE SET events = u.events + EXCLUDED.events;
    INSERT INTO impression_totals AS t
    SELECT partner_id, asset_id, coalesce(stage, ''), coalesce(position, -1), count(*),
           min(ts), max(ts)
    FROM new_events WHERE type = 'impression' AND asset_id IS NOT NULL
    GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4
    ON CONFLICT (partner_id, asset_id, stage, position) DO UPDATE SET
        events = t.events + EXCLUDED.events,
        first_ts = least(t.first_ts, EXCLUDED.first_ts),
        last_ts = greatest(t.last_ts, EXCLUDED.last_ts);
    RETURN NULL;
END
$$;
CREATE TRIGGER events_aggregate AFTER INSERT ON events REFERENCING NEW TABLE AS new_events
    FOR EACH STATEMENT EXECUTE FUNCTION events_aggregate();
