package consent

import (
	"context"
	"fmt"
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

// allocateStatus returns a status list entry that no other token has: the
// next free index of the current list, or index 0 of a new list when the
// current one is full. The counter is stored before the entry is returned,
// so a restart never hands out an entry twice.
// NOTE: the counter is guarded by a mutex of this process. Replicas sharing
// storage would allocate the same entries; they need a lock in storage or
// one list range per replica first.
func (s *Service) allocateStatus(ctx context.Context) (listID, idx uint64, err error) {
	a := &s.status
	a.mu.Lock()
	defer a.mu.Unlock()

	if !a.loaded {
		if err := s.loadStatusCounter(ctx); err != nil {
			return 0, 0, err
		}
	}
	listID, size, idx := a.listID, a.size, a.next
	if listID == 0 || idx >= size {
		listID, size, idx = listID+1, s.statusListSize(), 0
	}

	err = s.Engine.Exec(ctx, `INSERT INTO status_lists (list_id, size, next_idx, updated_at)
VALUES ({list:UInt64}, {size:UInt64}, {next:UInt64}, fromUnixTimestamp64Milli({at:Int64}, 'UTC'))`,
		store.P("list", strconv.FormatUint(listID, 10)), store.P("size", strconv.FormatUint(size, 10)),
		store.P("next", strconv.FormatUint(idx+1, 10)), store.P("at", millis(s.now())))
	if err != nil {
		return 0, 0, fmt.Errorf("store status list counter of list %d: %w", listID, err)
	}
	a.listID, a.size, a.next = listID, size, idx+1
	return listID, idx, nil
}

// loadStatusCounter reads the newest list and its next free entry. The
// caller holds s.status.mu.
func (s *Service) loadStatusCounter(ctx context.Context) error {
	rows, err := s.Engine.Query(ctx, `SELECT toInt64(list_id), toInt64(size), toInt64(next_idx)
FROM status_lists FINAL ORDER BY list_id DESC LIMIT 1`)
	if err != nil {
		return fmt.Errorf("read status list counter: %w", err)
	}
	defer rows.Close()

	a := &s.status
	if rows.Next() {
		var list, size, next int64
		if err := rows.Scan(&list, &size, &next); err != nil {
			return fmt.Errorf("read status list counter: %w", err)
		}
		a.listID, a.size, a.next = uint64(list), uint64(size), uint64(next)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read status list counter: %w", err)
	}
	a.loaded = true
	return nil
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
