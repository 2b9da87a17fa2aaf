-- Leases of scheduled jobs, so that replicas sharing one ClickHouse run each
-- job on one instance at a time. Every acquisition or renewal inserts the
-- next term of a job with insert_deduplication_token '<job>/<term>'; the
-- storage keeps the first insert of a token and drops the others, so exactly
-- one instance wins each term. Plain MergeTree deduplicates by token only
-- within non_replicated_deduplication_window inserts, and a replicated table
-- through ClickHouse Keeper. Old terms are kept (about 1,500 rows a day per
-- per-minute job): were they dropped, term numbers would start again at 1
-- and their tokens could still be in the deduplication window.
CREATE TABLE IF NOT EXISTS job_leases
(
    job         LowCardinality(String),
    term        UInt64,
    holder      String,
    acquired_at DateTime64(3, 'UTC'),
    expires_at  DateTime64(3, 'UTC')
)
ENGINE = MergeTree
ORDER BY (job, term)
SETTINGS non_replicated_deduplication_window = 10000;
