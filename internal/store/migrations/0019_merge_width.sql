-- A merge holds read buffers for each of its source parts, so the number of
-- parts one merge of transactions may take bounds its memory. A file load
-- attaches all parts of its load table at once, up to 240 of them, and
-- ClickHouse's default of 100 parts a merge took the embedded engine above
-- 1 GiB after a 10M-row load. With 50, the merges stay under 1 GiB and a
-- row is still merged about once. See "Sixth round" in docs/benchmarks.md.
ALTER TABLE transactions MODIFY SETTING max_parts_to_merge_at_once = 50;
