-- Consent page sessions that the customer ended by signing out. Sessions
-- are signed cookies, so a copy of the cookie taken before sign-out would
-- verify until it expires; every replica rejects a session whose ID is
-- listed here. A row matters only until the session's own expiry, so the
-- TTL drops it a day later: the day covers a service clock that runs
-- behind the server's.
CREATE TABLE IF NOT EXISTS ended_sessions
(
    session_id String,
    expires_at DateTime64(3, 'UTC'),
    ended_at   DateTime64(3, 'UTC')
)
ENGINE = ReplacingMergeTree(ended_at)
ORDER BY session_id
TTL toDateTime(expires_at) + INTERVAL 1 DAY;
