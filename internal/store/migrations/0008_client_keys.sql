-- The public JWK set (RFC 7517) of a client that authenticates with client
-- assertions (RFC 7523 JWTs signed by its own key) instead of an API key.
-- It holds public keys only, each with "kid" and "alg" ES256 or EdDSA, as
-- JSON; '' for a client that uses an API key. Such a client has an empty
-- api_key_hash.
ALTER TABLE clients ADD COLUMN IF NOT EXISTS jwks String DEFAULT '';
