-- Where the consent page sends the customer after a decision: one of the
-- client's registered redirect_uris, and the opaque state value the client
-- passed with the request, returned unchanged.
CREATE TABLE IF NOT EXISTS request_redirects
(
    request_id   String,
    client_id    String,
    redirect_uri String,
    state        String,
    created_at   DateTime64(3, 'UTC')
)
ENGINE = ReplacingMergeTree(created_at)
ORDER BY request_id;
