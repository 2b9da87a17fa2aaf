-- The content_hash of transactions changes from SHA-256 to XXH3 (64 bits,
-- 16 hex digits): SHA-256 took about a tenth of the CPU time of a file load.
-- Ingest compares a content hash only with the stored hash of the same
-- identity, so every stored transaction needs the new hash, or a resent
-- transaction would count as changed. This rewrites the stored SHA-256
-- hashes (64 hex digits) in place. The input is the one transactionHash in
-- internal/ingest/keys.go builds: each field as its length in bytes (an
-- unsigned varint) and its bytes, times as 2006-01-02T15:04:05.000Z in UTC,
-- a missing value time as an empty field, the amount with five decimals.
-- TestMigration0020_sameHashAsGo checks the two against each other.
--
-- Other tables keep SHA-256. transaction_history keeps the hashes of the
-- versions it archived: content_hash is in its sorting key, and no load
-- compares with it.
ALTER TABLE transactions UPDATE content_hash = lower(leftPad(hex(xxh3(arrayStringConcat(arrayMap(
    f -> concat(multiIf(length(f) < 128, char(length(f)),
                        length(f) < 16384, char(length(f) % 128 + 128, intDiv(length(f), 128)),
                        char(length(f) % 128 + 128, intDiv(length(f), 128) % 128 + 128, intDiv(length(f), 16384))), f),
    [account_id, transaction_key, transaction_id, toString(status),
     concat(formatDateTime(booking_time, '%Y-%m-%dT%H:%i:%S', 'UTC'), '.',
            leftPad(toString(positiveModulo(toUnixTimestamp64Milli(booking_time), 1000)), 3, '0'), 'Z'),
     if(value_time IS NULL, '',
        concat(formatDateTime(assumeNotNull(value_time), '%Y-%m-%dT%H:%i:%S', 'UTC'), '.',
               leftPad(toString(positiveModulo(toUnixTimestamp64Milli(assumeNotNull(value_time)), 1000)), 3, '0'), 'Z')),
     toString(booking_date), toDecimalString(amount, 5),
     toString(currency), description, counterparty, toString(mcc), toString(bank_tx_code), toString(bank_tx_subcode),
     toString(proprietary_code), toString(proprietary_issuer), toString(category), toString(category_rule)])))), 16, '0'))
WHERE length(content_hash) = 64
SETTINGS mutations_sync = 2;
