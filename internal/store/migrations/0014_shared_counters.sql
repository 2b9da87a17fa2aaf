-- State that replicas of the service share through ClickHouse instead of
-- process memory.

-- jti values of accepted client assertions (RFC 7523 section 3). A replica
-- inserts a row with a random claim ID, then reads the rows of the same
-- client and jti: it accepts the assertion only when its own row is the
-- only one, so two replicas racing on one jti both reject it rather than
-- both accept. An assertion expires at most 5 minutes after it is signed,
-- so a row matters only briefly; rows are dropped a day after the server
-- stored them. The TTL runs on the server's clock, not on expires_at, so
-- a service clock that differs from the server's cannot drop a row while
-- it still matters.
CREATE TABLE IF NOT EXISTS used_assertion_ids
(
    client_id  String,
    jti        String,
    claim_id   String,
    expires_at DateTime64(3, 'UTC'),
    used_at    DateTime64(3, 'UTC'),
    stored_at  DateTime DEFAULT now()
)
ENGINE = MergeTree
ORDER BY (client_id, jti)
TTL stored_at + INTERVAL 1 DAY;

-- Ranges of status list entries reserved by one process: entries first_idx
-- to end_idx - 1 of list list_id. A process reserves the range after the
-- highest reserved end, then reads back the ranges that overlap it and
-- keeps the range only when its own row is the only one; otherwise it
-- tries the next range. So no two processes hand out the same entry, and
-- a restart starts after every range reserved before it.
CREATE TABLE IF NOT EXISTS status_reservations
(
    list_id     UInt64,
    first_idx   UInt64,
    end_idx     UInt64,
    holder      String,
    reserved_at DateTime64(3, 'UTC')
)
ENGINE = MergeTree
ORDER BY (list_id, first_idx);
