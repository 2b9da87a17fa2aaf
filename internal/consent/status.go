package consent

import (
	"context"
	"fmt"
	mathrand "math/rand/v2"
	"strconv"
	"strings"
	"time"

	"github.com/openbanking-insights/insights"
	"github.com/openbanking-insights/insights/internal/attest"
	"github.com/openbanking-insights/insights/internal/store"
)

const (
	// defaultStatusListSize is 2^20 entries: 128 KiB as a bit array, a few
	// hundred bytes compressed while few entries are set.
	defaultStatusListSize = 1 << 20
	defaultStatusListTTL  = 5 * time.Minute
	// minStatusListLifetime is the least time from iat to exp of a Status
	// List Token. The lifetime is twice the ttl when that is longer, so a
	// verifier that caches for ttl never holds an expired token.
	minStatusListLifetime = 10 * time.Minute

	// StatusListPath is the path under the issuer URL where Status List
	// Tokens are served, followed by the list ID.
	StatusListPath = "/statuslists/"
)

func (s *Service) statusListSize() uint64 {
	if s.StatusListSize > 0 {
		return s.StatusListSize
	}
	return defaultStatusListSize
}

func (s *Service) statusListTTL() time.Duration {
	if s.StatusListTTL > 0 {
		return s.StatusListTTL
	}
	return defaultStatusListTTL
}

// statusListURI returns the uri of list listID: <iss>/statuslists/<id>.
func (s *Service) statusListURI(listID uint64) string {
	return strings.TrimRight(s.Issuer.Issuer, "/") + StatusListPath + strconv.FormatUint(listID, 10)
}

// statusReservationSize is the number of status list entries a process
// reserves at once. Entries of a reservation left unused when the process
// stops are never handed out; at 2^20 entries a list loses little.
const statusReservationSize = 64

// allocateStatus returns a status list entry that no other token has, in
// this process or any other sharing the storage: the next entry of the
// range this process reserved, or the first of a newly reserved range.
func (s *Service) allocateStatus(ctx context.Context) (listID, idx uint64, err error) {
	a := &s.status
	a.mu.Lock()
	defer a.mu.Unlock()

	if a.listID == 0 || a.next >= a.end {
		if err := s.reserveStatusRange(ctx); err != nil {
			return 0, 0, err
		}
	}
	listID, idx = a.listID, a.next
	a.next++
	return listID, idx, nil
}

// reserveStatusRange reserves the next free range of entries, starting a
// new list when the newest one is full. The caller holds s.status.mu.
//
// It stores the range with a random holder ID and reads back every range
// of the list that overlaps it: the range is kept only when no other
// process reserved an overlapping one. A process that loses (or ties) a
// race tries the next range. See used_assertion_ids for the same check
// and its NOTE on replicated clusters.
func (s *Service) reserveStatusRange(ctx context.Context) error {
	holder, err := randomID("holder_", 12)
	if err != nil {
		return err
	}
	const attempts = 16
	for attempt := range attempts {
		listID, size, next, err := s.newestStatusRange(ctx)
		if err != nil {
			return err
		}
		// After a tie, processes that read the same highest end would
		// propose the same range again, so each skips a random number of
		// ranges, more the longer it has waited.
		next += uint64(mathrand.IntN(attempt+1)) * statusReservationSize
		if listID == 0 || next >= size {
			listID, size, next = listID+1, s.statusListSize(), 0
		}
		end := min(next+statusReservationSize, size)

		won, err := s.tryStatusRange(ctx, holder, listID, size, next, end)
		if err != nil {
			return err
		}
		if won {
			a := &s.status
			a.listID, a.size, a.next, a.end = listID, size, next, end
			s.logger().Debug("status list range reserved", "status_list", listID, "first_idx", next, "end_idx", end)
			return nil
		}

		// A random pause lets one of the processes that tied go first.
		s.logger().Info("status list range taken by another process; retrying", "status_list", listID, "first_idx", next)
		pause := time.Duration(1+mathrand.IntN(25)) * time.Millisecond
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(pause):
		}
	}
	return fmt.Errorf("reserve status list entries: another process took each of %d ranges tried", attempts)
}

// tryStatusRange stores the reservation of entries first to end-1 of
// listID and reports whether it is the only reservation overlapping them.
func (s *Service) tryStatusRange(ctx context.Context, holder string, listID, size, first, end uint64) (bool, error) {
	list, from, to := strconv.FormatUint(listID, 10), strconv.FormatUint(first, 10), strconv.FormatUint(end, 10)
	err := s.Engine.Exec(ctx, `INSERT INTO status_reservations (list_id, first_idx, end_idx, holder, reserved_at)
VALUES ({list:UInt64}, {first:UInt64}, {end:UInt64}, {holder:String}, fromUnixTimestamp64Milli({at:Int64}, 'UTC'))`,
		store.P("list", list), store.P("first", from), store.P("end", to), store.P("holder", holder), store.P("at", millis(s.now())))
	if err != nil {
		return false, fmt.Errorf("reserve entries %d to %d of status list %d: %w", first, end-1, listID, err)
	}
	// The list's size and highest reserved end, read by StatusList and by
	// services that predate reservations.
	err = s.Engine.Exec(ctx, `INSERT INTO status_lists (list_id, size, next_idx, updated_at)
VALUES ({list:UInt64}, {size:UInt64}, {next:UInt64}, fromUnixTimestamp64Milli({at:Int64}, 'UTC'))`,
		store.P("list", list), store.P("size", strconv.FormatUint(size, 10)), store.P("next", to), store.P("at", millis(s.now())))
	if err != nil {
		return false, fmt.Errorf("store status list counter of list %d: %w", listID, err)
	}

	rows, err := s.Engine.Query(ctx, `SELECT toInt64(count()), toInt64(countIf(holder = {holder:String}))
FROM status_reservations
WHERE list_id = {list:UInt64} AND first_idx < {end:UInt64} AND end_idx > {first:UInt64}`,
		store.P("list", list), store.P("first", from), store.P("end", to), store.P("holder", holder))
	if err != nil {
		return false, fmt.Errorf("read reservations of status list %d: %w", listID, err)
	}
	defer rows.Close()
	var all, own int64
	if rows.Next() {
		if err := rows.Scan(&all, &own); err != nil {
			return false, fmt.Errorf("read reservations of status list %d: %w", listID, err)
		}
	}
	if err := rows.Err(); err != nil {
		return false, fmt.Errorf("read reservations of status list %d: %w", listID, err)
	}
	if own < 1 {
		return false, fmt.Errorf("reservation of status list %d was not read back", listID)
	}
	return all == own, nil
}

// newestStatusRange returns the newest list, its size and the entry after
// the highest one reserved or counted in it, or a zero listID before the
// first list.
func (s *Service) newestStatusRange(ctx context.Context) (listID, size, next uint64, err error) {
	rows, err := s.Engine.Query(ctx, `SELECT toInt64(l.list_id), toInt64(l.size), toInt64(greatest(l.next_idx, ifNull(r.end_idx, 0)))
FROM (SELECT list_id, max(size) AS size, max(next_idx) AS next_idx FROM status_lists GROUP BY list_id ORDER BY list_id DESC LIMIT 1) AS l
LEFT JOIN (SELECT list_id, max(end_idx) AS end_idx FROM status_reservations GROUP BY list_id) AS r ON r.list_id = l.list_id
SETTINGS join_use_nulls = 1`)
	if err != nil {
		return 0, 0, 0, fmt.Errorf("read status list counter: %w", err)
	}
	defer rows.Close()
	if rows.Next() {
		var l, sz, n int64
		if err := rows.Scan(&l, &sz, &n); err != nil {
			return 0, 0, 0, fmt.Errorf("read status list counter: %w", err)
		}
		listID, size, next = uint64(l), uint64(sz), uint64(n)
	}
	if err := rows.Err(); err != nil {
		return 0, 0, 0, fmt.Errorf("read status list counter: %w", err)
	}
	return listID, size, next, nil
}

// parseListID reads a list ID from a URL path: a decimal number from 1,
// without sign or leading zeros, so each list has one URL.
func parseListID(id string) (uint64, bool) {
	if id == "" || id[0] == '0' || len(id) > 19 {
		return 0, false
	}
	n, err := strconv.ParseUint(id, 10, 64)
	return n, err == nil
}

// StatusList returns status list id with a bit set for every revoked token.
// An ID that names no allocated list is not_found.
func (s *Service) StatusList(ctx context.Context, id string) (*attest.StatusList, error) {
	listID, ok := parseListID(id)
	if !ok {
		return nil, insights.Errorf(insights.ErrNotFound, "status list %q not found", id)
	}
	size, err := s.statusListSizeOf(ctx, listID)
	if err != nil {
		return nil, err
	}
	list, err := attest.NewStatusList(size, 1)
	if err != nil {
		return nil, fmt.Errorf("status list %d: %w", listID, err)
	}

	rows, err := s.Engine.Query(ctx, `SELECT DISTINCT toInt64(idx) FROM status_revocations WHERE list_id = {list:UInt64}`,
		store.P("list", strconv.FormatUint(listID, 10)))
	if err != nil {
		return nil, fmt.Errorf("read revocations of status list %d: %w", listID, err)
	}
	defer rows.Close()
	for rows.Next() {
		var idx int64
		if err := rows.Scan(&idx); err != nil {
			return nil, fmt.Errorf("read revocations of status list %d: %w", listID, err)
		}
		if err := list.Set(uint64(idx), attest.StatusInvalid); err != nil {
			return nil, fmt.Errorf("status list %d: %w", listID, err)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read revocations of status list %d: %w", listID, err)
	}
	return list, nil
}

func (s *Service) statusListSizeOf(ctx context.Context, listID uint64) (uint64, error) {
	rows, err := s.Engine.Query(ctx, `SELECT toInt64(max(size)) FROM status_lists WHERE list_id = {list:UInt64} HAVING count() > 0`,
		store.P("list", strconv.FormatUint(listID, 10)))
	if err != nil {
		return 0, fmt.Errorf("read size of status list %d: %w", listID, err)
	}
	defer rows.Close()
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return 0, fmt.Errorf("read size of status list %d: %w", listID, err)
		}
		return 0, insights.Errorf(insights.ErrNotFound, "status list %d not found", listID)
	}
	var size int64
	if err := rows.Scan(&size); err != nil {
		return 0, fmt.Errorf("read size of status list %d: %w", listID, err)
	}
	return uint64(size), rows.Err()
}

// StatusListToken returns the signed Status List Token of list id, as
// served at <iss>/statuslists/<id>, and the ttl a verifier may cache it for.
// Each call reads storage and signs anew, so a revocation shows in the next
// token.
// NOTE: nothing caches the token; at many requests per second a cache
// cleared by Revoke would spare the storage read and the signature.
func (s *Service) StatusListToken(ctx context.Context, id string) (string, time.Duration, error) {
	list, err := s.StatusList(ctx, id)
	if err != nil {
		return "", 0, err
	}
	listID, _ := parseListID(id)
	ttl := s.statusListTTL()
	lifetime := max(minStatusListLifetime, 2*ttl)
	token, err := s.Issuer.IssueStatusList(s.statusListURI(listID), list, lifetime, ttl)
	if err != nil {
		return "", 0, fmt.Errorf("sign status list %d: %w", listID, err)
	}
	return token, ttl, nil
}
