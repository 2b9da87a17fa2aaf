-- The token form a client asked for, stored on the "requested" event of
-- consent_events (later events leave both columns empty).
--
-- token_format is "jws" or "sd-jwt"; rows stored before this migration have
-- '' and were issued as JWS. holder_key is the holder's public key as JWK
-- JSON for an SD-JWT VC with key binding, or ''. It is a public key, so
-- storing it discloses nothing secret.
ALTER TABLE consent_events ADD COLUMN IF NOT EXISTS token_format LowCardinality(String) DEFAULT '';
ALTER TABLE consent_events ADD COLUMN IF NOT EXISTS holder_key String DEFAULT '';
