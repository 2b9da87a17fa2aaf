-- Token Status List (IETF OAuth draft-ietf-oauth-status-list).
--
-- Every issued token names one entry (idx) of one status list. A list holds
-- a fixed number of entries, set when its first entry is allocated; when it
-- is full the next token starts list list_id + 1. Lists are numbered from 1,
-- so status_list_id 0 on an attestation means the token has no entry.

-- The allocation counter: one row per allocation, the newest per list having
-- the highest next_idx, which ReplacingMergeTree keeps. Read it with FINAL.
CREATE TABLE IF NOT EXISTS status_lists
(
    list_id    UInt64,
    size       UInt64,
    next_idx   UInt64,
    updated_at DateTime64(3, 'UTC')
)
ENGINE = ReplacingMergeTree(next_idx)
ORDER BY list_id;

-- The entry of each issued token: jti -> (status_list_id, status_idx).
ALTER TABLE attestations ADD COLUMN IF NOT EXISTS status_list_id UInt64 DEFAULT 0;
ALTER TABLE attestations ADD COLUMN IF NOT EXISTS status_idx UInt64 DEFAULT 0;

-- Entries set to INVALID (0x01). Append-only: a row is never removed, so a
-- revoked token stays revoked. Revoking twice may store a second row for
-- the same entry, which sets the same bit.
CREATE TABLE IF NOT EXISTS status_revocations
(
    list_id     UInt64,
    idx         UInt64,
    jti         String,
    request_id  String,
    actor       String,
    revoked_at  DateTime64(3, 'UTC')
)
ENGINE = MergeTree
ORDER BY (list_id, idx);
