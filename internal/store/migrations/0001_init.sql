-- Initial schema. Tables that hold a customer's data are ReplacingMergeTree
-- keyed by the entity's identity, so loading the same data twice stores it
-- once; read them with FINAL (or argMax) where exactness matters. They are
-- ordered by customer first and not partitioned by month: small inserts and
-- per-customer point reads both suffer from many parts.
-- Event tables (consent_events, attestations, audit_log) are append-only: the
-- state of a request is its latest event, and nothing is updated in place.

CREATE TABLE IF NOT EXISTS accounts
(
    customer_id      String,
    account_id       String,
    currency         LowCardinality(String),
    account_type     LowCardinality(String),
    account_sub_type LowCardinality(String),
    nickname         String,
    status           LowCardinality(String),
    content_hash     String,
    source           String,
    ingested_at      DateTime64(3, 'UTC')
)
ENGINE = ReplacingMergeTree(ingested_at)
ORDER BY (customer_id, account_id);

CREATE TABLE IF NOT EXISTS balances
(
    customer_id          String,
    account_id           String,
    type                 LowCardinality(String),
    amount               Decimal64(5),
    currency             LowCardinality(String),
    as_of                DateTime64(3, 'UTC'),
    credit_line_included Bool,
    credit_line          Decimal64(5),
    content_hash         String,
    source               String,
    ingested_at          DateTime64(3, 'UTC')
)
ENGINE = ReplacingMergeTree(ingested_at)
ORDER BY (customer_id, account_id, type, currency, as_of);

CREATE TABLE IF NOT EXISTS parties
(
    customer_id   String,
    party_id      String,
    name          String,
    birth_date    Nullable(Date32),
    address_lines Array(String),
    town          String,
    post_code     String,
    country       LowCardinality(String),
    content_hash  String,
    source        String,
    ingested_at   DateTime64(3, 'UTC')
)
ENGINE = ReplacingMergeTree(ingested_at)
ORDER BY (customer_id, party_id);

CREATE TABLE IF NOT EXISTS transactions
(
    customer_id        String,
    account_id         String,
    transaction_key    String,
    transaction_id     String,
    status             LowCardinality(String),
    booking_time       DateTime64(3, 'UTC'),
    value_time         Nullable(DateTime64(3, 'UTC')),
    booking_date       Date32,
    amount             Decimal64(5),
    currency           LowCardinality(String),
    description        String,
    counterparty       String,
    mcc                LowCardinality(String),
    bank_tx_code       LowCardinality(String),
    bank_tx_subcode    LowCardinality(String),
    proprietary_code   LowCardinality(String),
    proprietary_issuer LowCardinality(String),
    category           LowCardinality(String),
    category_rule      LowCardinality(String),
    -- SHA-256 of the row's content columns, in every table ingest writes
    -- (XXH3 in this table since migration 0020): a row whose key is
    -- stored with the same hash is not inserted again.
    content_hash       String,
    source             String,
    ingested_at        DateTime64(3, 'UTC')
)
ENGINE = ReplacingMergeTree(ingested_at)
ORDER BY (customer_id, account_id, transaction_key)
SETTINGS non_replicated_deduplication_window = 1000;

-- One row per file (or pull) whose content was stored completely. Ingest
-- writes it last, so a file is skipped on a later load only when all of its
-- rows were stored.
CREATE TABLE IF NOT EXISTS loads
(
    customer_id String,
    sha256      String,
    source      String,
    accounts    UInt64,
    balances    UInt64,
    parties     UInt64,
    transactions UInt64,
    loaded_at   DateTime64(3, 'UTC')
)
ENGINE = ReplacingMergeTree(loaded_at)
ORDER BY (customer_id, sha256);

-- Income streams as the salary detector last derived them. Each derivation
-- writes a whole new set for the customer under a new derived_at; readers
-- take the newest set.
CREATE TABLE IF NOT EXISTS income_streams
(
    customer_id    String,
    derived_at     DateTime64(3, 'UTC'),
    payer          String,
    category       LowCardinality(String),
    cadence        LowCardinality(String),
    payments       UInt32,
    last_paid      Date32,
    next_expected  Nullable(Date32),
    typical_amount Decimal64(5),
    currency       LowCardinality(String),
    rule           LowCardinality(String)
)
ENGINE = ReplacingMergeTree
ORDER BY (customer_id, derived_at, payer, currency);

-- Registered merchants and lenders. api_key_hash is the SHA-256 of the
-- client's API key; the key itself is shown once and never stored.
CREATE TABLE IF NOT EXISTS clients
(
    client_id      String,
    name           String,
    api_key_hash   String,
    allowed_claims Array(LowCardinality(String)),
    status         LowCardinality(String),
    updated_at     DateTime64(3, 'UTC')
)
ENGINE = ReplacingMergeTree(updated_at)
ORDER BY client_id;

-- Every step of an attestation request: requested, approved, denied,
-- issued, expired, revoked. claims holds the request's claim specification
-- as the client sent it (kinds and thresholds), never derived values.
CREATE TABLE IF NOT EXISTS consent_events
(
    request_id  String,
    seq         UInt32,
    event       LowCardinality(String),
    client_id   String,
    customer_id String,
    purpose     String,
    claims      String,
    actor       String,
    at          DateTime64(3, 'UTC'),
    expires_at  DateTime64(3, 'UTC')
)
ENGINE = ReplacingMergeTree
ORDER BY (request_id, seq);

-- Issued tokens. The token carries only derived claims; it is kept so the
-- client that asked can fetch it once the customer approved.
CREATE TABLE IF NOT EXISTS attestations
(
    jti         String,
    request_id  String,
    client_id   String,
    customer_id String,
    subject     String,
    claim_names Array(LowCardinality(String)),
    token       String,
    issued_at   DateTime64(3, 'UTC'),
    expires_at  DateTime64(3, 'UTC')
)
ENGINE = ReplacingMergeTree
ORDER BY (request_id, jti);

-- Who did what to which request, with claim names and never claim values.
CREATE TABLE IF NOT EXISTS audit_log
(
    at          DateTime64(3, 'UTC'),
    actor       String,
    action      LowCardinality(String),
    request_id  String,
    client_id   String,
    claim_names Array(LowCardinality(String))
)
ENGINE = MergeTree
ORDER BY (at, request_id);
