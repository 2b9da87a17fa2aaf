-- Records set aside from a pulled page instead of being stored: today only
-- an OBIE record with a minus sign on its Amount beside CreditDebitIndicator
-- "Debit". OBIE amounts are unsigned, and flipping the sign could turn a
-- debit into income, so the record is kept here as sent while the rest of
-- its page is stored.
--
-- source is the load's source label (such as "pull:<pull id>" and the page's
-- URL path), path the JSON path of the record in its page, reason the
-- problems found (JSON paths and format reasons, no personal value), and
-- record the raw JSON of that one record. record holds the bank's data as
-- sent, so it is personal data and is never logged.
CREATE TABLE IF NOT EXISTS quarantine
(
    customer_id    String,
    source         String,
    path           String,
    reason         String,
    record         String,
    quarantined_at DateTime64(3, 'UTC')
)
ENGINE = MergeTree
ORDER BY (customer_id, quarantined_at);
