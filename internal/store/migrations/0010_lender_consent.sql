-- A lender's consent that lasts beyond one token. consent_seconds is set on
-- the "requested" event of a request that allows repeated issuance: the
-- client may fetch a fresh token until consent_seconds after the customer
-- approved, unless the customer revokes first. 0 means one token only.
-- Each further token adds an "issued" event and an attestations row, so
-- revoking the request flips the status entry of every token it issued.
ALTER TABLE consent_events ADD COLUMN IF NOT EXISTS consent_seconds UInt32 DEFAULT 0;
