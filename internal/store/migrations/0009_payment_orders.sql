-- Direct debits, standing orders and scheduled payments of each account.
--
-- A bank lists an account's payment orders whole, and a cancelled mandate
-- simply drops out of the list, so they are stored as snapshots: each
-- complete read of one kind of order for one account (a pull, or a file
-- loaded with insights ingest) adds one payment_order_snapshots row and one
-- payment_orders row per order, under the same snapshot_id. Nothing is
-- updated or deleted, so the history stays. The current orders of an
-- account and kind are those of its latest snapshot (greatest taken_at,
-- then snapshot_id), which may hold none.
--
-- The snapshot row is written after its orders, so orders whose snapshot
-- row is missing (a process killed between the two inserts) are never
-- current. A read whose orders have the same content_hash as the current
-- snapshot adds nothing.
CREATE TABLE IF NOT EXISTS payment_order_snapshots
(
    customer_id  String,
    account_id   String,
    -- direct_debit, standing_order or scheduled_payment
    kind         LowCardinality(String),
    snapshot_id  String,
    -- "pull:<pull id>" or the file name
    source       String,
    orders       UInt32,
    -- SHA-256 of the snapshot's orders, in order_id order
    content_hash String,
    taken_at     DateTime64(3, 'UTC')
)
ENGINE = MergeTree
ORDER BY (customer_id, account_id, kind, taken_at);

-- One order of one snapshot. Amounts are positive: the size of the debit.
-- A date or amount the bank did not send is NULL. payee is the direct
-- debit's Name, or the creditor account's Name of a standing order or
-- scheduled payment (the Reference when there is none); it is personal
-- data of a third party and is never logged. status is active, inactive,
-- cancelled, completed, expired, pending or suspended.
CREATE TABLE IF NOT EXISTS payment_orders
(
    customer_id     String,
    account_id      String,
    kind            LowCardinality(String),
    snapshot_id     String,
    order_id        String,
    status          LowCardinality(String),
    payee           String,
    reference       String,
    -- the bank's frequency code as sent: a v3.1 code such as
    -- IntrvlMnthDay:01:15, or a v4.0 Frequency6Code such as MNTH with
    -- ":<count per period>" when the count is not 1
    frequency       String,
    cadence         LowCardinality(String),
    first_payment   Nullable(DateTime64(3, 'UTC')),
    next_payment    Nullable(DateTime64(3, 'UTC')),
    last_payment    Nullable(DateTime64(3, 'UTC')),
    final_payment   Nullable(DateTime64(3, 'UTC')),
    next_amount     Nullable(Decimal64(5)),
    last_amount     Nullable(Decimal64(5)),
    currency        LowCardinality(String)
)
ENGINE = MergeTree
ORDER BY (customer_id, account_id, kind, snapshot_id, order_id);

-- Quarantined records an operator dismissed with `insights quarantine
-- dismiss`: reviewed, and needing no further action. record_key is the
-- record's TransactionId, or its quarantine source and JSON path joined by a
-- space when it has none, so dismissing a TransactionId covers every pull
-- that quarantined it. Rows are only added.
CREATE TABLE IF NOT EXISTS quarantine_dismissals
(
    customer_id  String,
    record_key   String,
    actor        String,
    note         String,
    dismissed_at DateTime64(3, 'UTC')
)
ENGINE = MergeTree
ORDER BY (customer_id, record_key);
