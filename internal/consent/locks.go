package consent

import (
	"hash/maphash"
	"sync"
)

// requestLockStripes is the number of mutexes request IDs are spread over.
// Two requests share a mutex with probability 1/requestLockStripes, which
// only makes one wait for the other.
const requestLockStripes = 1024

// requestLocks serialises the state changes of one request (open, decide,
// revoke, reissue, expire), so that two of them cannot both read the same
// state and both append an event, or claim the same sequence number.
// Changes to different requests run concurrently. It is package-wide so
// that several Services in one process, as tests build them, also exclude
// each other.
//
// NOTE: this guards one process. Replicas sharing a ClickHouse cluster need
// a distributed lock or a conditional insert before they may decide on one
// request concurrently.
var requestLocks struct {
	seed    maphash.Seed
	stripes [requestLockStripes]sync.Mutex
}

func init() { requestLocks.seed = maphash.MakeSeed() }

// lockRequest locks the mutex of requestID and returns its unlock function.
// A caller holds at most one request lock at a time, so stripes cannot
// deadlock.
func lockRequest(requestID string) (unlock func()) {
	mu := &requestLocks.stripes[maphash.String(requestLocks.seed, requestID)%requestLockStripes]
	mu.Lock()
	return mu.Unlock
}
