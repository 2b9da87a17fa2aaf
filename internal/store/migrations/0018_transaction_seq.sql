-- seq is the position of a stored transaction in the input of the load that
-- stored it (load_id), as in transactions_staging. A load stages its
-- transactions in a table of its own with the columns and sorting key of
-- transactions, so that commit can attach that table's parts instead of
-- copying its rows (ALTER TABLE ... ATTACH PARTITION ... FROM needs equal
-- structures), and the staged rows still need seq, because of several rows
-- with one identity a load stores the last in input order. Rows stored
-- before this migration have seq 0.
ALTER TABLE transactions ADD COLUMN IF NOT EXISTS seq UInt64 DEFAULT 0;
