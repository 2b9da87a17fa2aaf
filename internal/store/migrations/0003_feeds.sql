-- Bank links and scheduled pulls.
--
-- bank_consents holds one row per account-access consent a customer gave us
-- at an ASPSP. Every change writes a whole new row with a later updated_at,
-- so read it with FINAL. Tokens are stored only as AES-256-GCM ciphertexts
-- (base64), never in plain text. state_hash is the SHA-256 of the OAuth
-- state sent with the authorisation request; it is cleared once used.
-- A zero date-time (1970-01-01) means "not known" or "none".
CREATE TABLE IF NOT EXISTS bank_consents
(
    consent_id               String,
    customer_id              String,
    bank_id                  LowCardinality(String),
    aspsp_consent_id         String,
    permissions              Array(String),
    -- awaiting_authorisation, authorised, rejected, revoked, expired or
    -- needs_renewal
    status                   LowCardinality(String),
    state_hash               String,
    expires_at               DateTime64(3, 'UTC'),
    transaction_from         DateTime64(3, 'UTC'),
    -- the latest BookingDateTime of a booked transaction stored by a
    -- complete pull; the next pull starts an overlap before it
    last_booking_time        DateTime64(3, 'UTC'),
    access_token_ciphertext  String,
    refresh_token_ciphertext String,
    token_expiry             DateTime64(3, 'UTC'),
    -- when the customer last logged in with the bank (x-fapi-auth-date)
    auth_date                DateTime64(3, 'UTC'),
    created_at               DateTime64(3, 'UTC'),
    updated_at               DateTime64(3, 'UTC')
)
ENGINE = ReplacingMergeTree(updated_at)
ORDER BY (customer_id, consent_id);

-- One row per pull of a consent, written when the pull ends. outcome is
-- complete (every page read and accepted), incomplete (some pages missing
-- or rejected, the rest stored) or failed (nothing stored).
CREATE TABLE IF NOT EXISTS pulls
(
    pull_id      String,
    consent_id   String,
    customer_id  String,
    started_at   DateTime64(3, 'UTC'),
    finished_at  DateTime64(3, 'UTC'),
    outcome      LowCardinality(String),
    pages        UInt32,
    transactions UInt64,
    problems     Array(String)
)
ENGINE = MergeTree
ORDER BY (customer_id, consent_id, started_at);
