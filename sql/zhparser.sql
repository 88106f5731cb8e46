-- Chinese word segmentation for full-text search: the text search configuration `chinese`,
-- backed by the zhparser extension (SCWS). Run once per database, as a superuser, on a Postgres
-- that has zhparser installed (Immich's own image does not; README, "Chinese segmentation (sql/zhparser.sql)").
-- Without it the extension segments in the application (@node-rs/jieba) into a `simple` tsvector,
-- and queries behave the same.
CREATE EXTENSION IF NOT EXISTS zhparser;

DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_ts_config WHERE cfgname = 'chinese') THEN
    CREATE TEXT SEARCH CONFIGURATION chinese (PARSER = zhparser);
    -- Token types: n noun, v verb, a adjective, i idiom, e exclamation, l idiom-like phrase,
    -- j abbreviation, m numeral, q measure word, x unknown (English words, codes).
    ALTER TEXT SEARCH CONFIGURATION chinese ADD MAPPING FOR n, v, a, i, e, l, j, m, q, x WITH simple;
  END IF;
END
$$;
