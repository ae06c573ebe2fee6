-- The events of an asset, impressions left out, as in the SQLite journal (schema 5,
-- recommender/storage/events.py): impressions are ten rows per recommendation, each for a
-- different asset, and their counts per asset are in usage_daily and impression_totals; no
-- query reads impressions by asset. Indexing them cost one index entry in a random place per
-- impression written.
DROP INDEX events_asset;
CREATE INDEX events_asset ON events (asset_id) WHERE type != 'impression';
