-- Registration metadata of a client beyond its name and credentials:
-- redirect_uris are the absolute URIs the consent page may send the
-- customer back to; contact is an e-mail address of the client's
-- operations team; jwks_uri is where the client publishes its public JWK
-- set, '' when the set is stored inline in jwks or the client uses an API
-- key; environment is 'sandbox' (sees demo customers only, tokens carry
-- "env":"sandbox") or 'live'; software_id is the software statement's
-- software_id for clients registered through POST /register, '' otherwise.
ALTER TABLE clients ADD COLUMN IF NOT EXISTS redirect_uris Array(String) DEFAULT [];
ALTER TABLE clients ADD COLUMN IF NOT EXISTS contact String DEFAULT '';
ALTER TABLE clients ADD COLUMN IF NOT EXISTS jwks_uri String DEFAULT '';
ALTER TABLE clients ADD COLUMN IF NOT EXISTS environment LowCardinality(String) DEFAULT 'live';
ALTER TABLE clients ADD COLUMN IF NOT EXISTS software_id String DEFAULT '';

-- Customers whose data is demo data (loaded by insights sample, the demo
-- bank or the published OBIE examples). Sandbox clients may only be
-- shown to these customers.
CREATE TABLE IF NOT EXISTS demo_customers
(
    customer_id String,
    marked_at   DateTime64(3, 'UTC')
)
ENGINE = ReplacingMergeTree(marked_at)
ORDER BY customer_id;
