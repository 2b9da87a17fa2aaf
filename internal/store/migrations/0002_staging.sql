-- Staged loads and pending-entry history.
--
-- A load (one file, or one pull from an ASPSP) first writes its rows to the
-- *_staging tables under its own load_id, one partition per load, so that a
-- load that fails or is abandoned is removed with one cheap
-- ALTER TABLE ... DROP PARTITION. Only commit copies the rows into the main
-- tables, with INSERT ... SELECT on the server that leaves out rows already
-- stored with the same content_hash. A process killed at any point leaves
-- either staged rows (dropped by the next load of the same source) or rows
-- that the rerun recognises by content_hash and does not insert again.
--
-- transactions.state is the life of an entry:
--   current     the entry counts (every booked entry, and pending entries
--               not yet reconciled);
--   superseded  a pending entry whose booked version arrived, under another
--               TransactionId; superseded_by holds that booked entry's
--               transaction_key;
--   vanished    a pending entry that a complete refresh window no longer
--               listed and that no booked entry matched.
-- A state change inserts a new version of the row (ReplacingMergeTree keeps
-- the newest by ingested_at), so the entry's content stays stored. Current
-- views read FINAL and filter state = 'current'.
--
-- transaction_history keeps the stored version of a pending entry that a
-- load replaces under the same transaction_key (the bank booked it and kept
-- its TransactionId), because ReplacingMergeTree would otherwise merge the
-- pending version away.

ALTER TABLE transactions ADD COLUMN IF NOT EXISTS state LowCardinality(String) DEFAULT 'current';
ALTER TABLE transactions ADD COLUMN IF NOT EXISTS superseded_by String DEFAULT '';

-- The load that inserted each row; staging rows and main rows share it.
ALTER TABLE transactions ADD COLUMN IF NOT EXISTS load_id String DEFAULT '';
ALTER TABLE accounts ADD COLUMN IF NOT EXISTS load_id String DEFAULT '';
ALTER TABLE balances ADD COLUMN IF NOT EXISTS load_id String DEFAULT '';
ALTER TABLE parties ADD COLUMN IF NOT EXISTS load_id String DEFAULT '';

-- seq numbers the rows of one load in input order: of several rows with
-- one identity in a load, commit keeps the last, as the input meant.
CREATE TABLE IF NOT EXISTS transactions_staging
(
    load_id            String,
    seq                UInt64,
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
    content_hash       String,
    source             String,
    ingested_at        DateTime64(3, 'UTC')
)
ENGINE = MergeTree
PARTITION BY load_id
ORDER BY (customer_id, account_id, transaction_key, seq);

CREATE TABLE IF NOT EXISTS accounts_staging
(
    load_id          String,
    seq              UInt64,
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
ENGINE = MergeTree
PARTITION BY load_id
ORDER BY (customer_id, account_id, seq);

CREATE TABLE IF NOT EXISTS balances_staging
(
    load_id              String,
    seq                  UInt64,
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
ENGINE = MergeTree
PARTITION BY load_id
ORDER BY (customer_id, account_id, type, currency, as_of, seq);

CREATE TABLE IF NOT EXISTS parties_staging
(
    load_id       String,
    seq           UInt64,
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
ENGINE = MergeTree
PARTITION BY load_id
ORDER BY (customer_id, party_id, seq);

-- Append-only: replaced_at is when the pending version stopped being
-- current, replaced_by_load the load that replaced it.
CREATE TABLE IF NOT EXISTS transaction_history
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
    content_hash       String,
    source             String,
    ingested_at        DateTime64(3, 'UTC'),
    load_id            String,
    replaced_at        DateTime64(3, 'UTC'),
    replaced_by_load   String
)
ENGINE = ReplacingMergeTree(replaced_at)
ORDER BY (customer_id, account_id, transaction_key, content_hash);
