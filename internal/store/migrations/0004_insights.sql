-- Confidence and amount bands of income streams, and committed outgoings.
--
-- confidence (0 to 1) is the detector's heuristic score that the next
-- payment arrives on next_expected within [amount_low, amount_high]; it is
-- 0 for an irregular or lapsed stream. The bands are the 10th and 90th
-- percentiles of the regular run of payments. Sets stored before this
-- migration read as confidence 0 and empty bands until derived again.
ALTER TABLE income_streams ADD COLUMN IF NOT EXISTS confidence Float64 DEFAULT 0;
ALTER TABLE income_streams ADD COLUMN IF NOT EXISTS amount_low Decimal64(5) DEFAULT 0;
ALTER TABLE income_streams ADD COLUMN IF NOT EXISTS amount_high Decimal64(5) DEFAULT 0;

-- Committed outgoings (rent, mortgage, loans, bills, direct debits and
-- standing orders) as the commitment detector last derived them. As with
-- income_streams, each derivation writes a whole new set for the customer
-- under a new derived_at, and readers take the newest set. Amounts are
-- positive: the size of the debit. payment_type is how the latest payment
-- was made: direct_debit, standing_order, card, transfer or other.
CREATE TABLE IF NOT EXISTS commitments
(
    customer_id    String,
    derived_at     DateTime64(3, 'UTC'),
    payee          String,
    category       LowCardinality(String),
    payment_type   LowCardinality(String),
    cadence        LowCardinality(String),
    payments       UInt32,
    last_paid      Date32,
    next_expected  Nullable(Date32),
    typical_amount Decimal64(5),
    amount_low     Decimal64(5),
    amount_high    Decimal64(5),
    currency       LowCardinality(String),
    confidence     Float64,
    rule           LowCardinality(String)
)
ENGINE = ReplacingMergeTree
ORDER BY (customer_id, derived_at, payee, currency);
