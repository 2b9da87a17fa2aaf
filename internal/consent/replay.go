package consent

import (
	"context"
	"fmt"
	"time"

	"github.com/openbanking-insights/insights/internal/store"
)

// claimAssertionID records that a client assertion with jti was accepted
// and reports whether it is the first use of that jti by the client across
// every replica that shares the storage. The in-process cache rejects a
// replay to this process without a storage round trip; used_assertion_ids
// decides between processes.
//
// The storage check inserts a row with a random claim ID and then counts
// the live rows of the client and jti. Only a count of 1 accepts, so when
// two replicas race on one jti each may see both rows and both reject:
// the client signs a fresh assertion, and no jti is ever accepted twice.
//
// NOTE: this relies on a read seeing every insert acknowledged before it,
// as a single ClickHouse server does. On a replicated cluster the inserts
// need insert_quorum and the read select_sequential_consistency.
func (s *Service) claimAssertionID(ctx context.Context, clientID, jti string, exp time.Time) (bool, error) {
	now := s.now()
	if !s.assertions.claim(clientID+"\x00"+jti, exp, now) {
		return false, nil
	}
	claimID, err := randomID("claim_", 12)
	if err != nil {
		return false, err
	}

	err = s.Engine.Exec(ctx, `INSERT INTO used_assertion_ids (client_id, jti, claim_id, expires_at, used_at)
VALUES ({client:String}, {jti:String}, {claim:String}, fromUnixTimestamp64Milli({exp:Int64}, 'UTC'),
    fromUnixTimestamp64Milli({now:Int64}, 'UTC'))`,
		store.P("client", clientID), store.P("jti", jti), store.P("claim", claimID),
		store.P("exp", millis(exp)), store.P("now", millis(now)))
	if err != nil {
		return false, fmt.Errorf("record client assertion jti of client %s: %w", clientID, err)
	}

	rows, err := s.Engine.Query(ctx, `SELECT toInt64(count()), toInt64(countIf(claim_id = {claim:String}))
FROM used_assertion_ids
WHERE client_id = {client:String} AND jti = {jti:String} AND expires_at > fromUnixTimestamp64Milli({now:Int64}, 'UTC')`,
		store.P("client", clientID), store.P("jti", jti), store.P("claim", claimID), store.P("now", millis(now)))
	if err != nil {
		return false, fmt.Errorf("read client assertion jti of client %s: %w", clientID, err)
	}
	defer rows.Close()
	var all, own int64
	if rows.Next() {
		if err := rows.Scan(&all, &own); err != nil {
			return false, fmt.Errorf("read client assertion jti of client %s: %w", clientID, err)
		}
	}
	if err := rows.Err(); err != nil {
		return false, fmt.Errorf("read client assertion jti of client %s: %w", clientID, err)
	}
	if own != 1 {
		return false, fmt.Errorf("client assertion jti of client %s: the row just stored was not read back", clientID)
	}
	return all == 1, nil
}
