-- A customer's own categorisation rules: every payment to or from
-- counterparty (in direction, when not empty) gets category, and ingest
-- records the decision as rule "override:<override_id>". Adding an override
-- with an existing override_id replaces it. Removing one inserts a row with
-- deleted = 1 and a higher version, so readers take the latest version per
-- key and skip it when deleted.
CREATE TABLE IF NOT EXISTS category_overrides
(
    customer_id  String,
    override_id  String,
    counterparty String,
    direction    LowCardinality(String),
    category     LowCardinality(String),
    actor        String,
    updated_at   DateTime64(3, 'UTC'),
    version      UInt64,
    deleted      UInt8
)
ENGINE = ReplacingMergeTree(version)
ORDER BY (customer_id, override_id);
