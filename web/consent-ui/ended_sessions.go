package consentui

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/openbanking-insights/insights/internal/store"
)

// EndedSessions records the sessions that customers ended by signing out.
// Session cookies are signed, not stored, so without this record a copy of
// the cookie taken before sign-out would keep working until it expires.
// Every replica of the service must share one record.
type EndedSessions interface {
	// EndSession records that the session with this ID ended. expires is
	// the session's own expiry, after which the record may go.
	EndSession(ctx context.Context, id string, expires time.Time) error
	// SessionEnded reports whether EndSession recorded the ID.
	SessionEnded(ctx context.Context, id string) (bool, error)
}

// maxCachedEndedSessions bounds the in-process cache of ended session IDs.
// Past it, lookups of IDs not cached go to storage, which stays correct.
const maxCachedEndedSessions = 10000

// StoreEndedSessions is EndedSessions on the ended_sessions table. Ended
// IDs this process has seen are cached until their session expires, so a
// replayed cookie costs no storage round trip. The cache holds ended IDs
// only: an ID not in it is looked up in the table on every call, so a
// sign-out on another replica takes effect at once.
type StoreEndedSessions struct {
	engine store.Engine
	now    func() time.Time

	mu    sync.Mutex
	ended map[string]time.Time // session ID -> session expiry
}

// NewStoreEndedSessions returns the ended-session record on engine.
func NewStoreEndedSessions(engine store.Engine) *StoreEndedSessions {
	return &StoreEndedSessions{engine: engine, now: time.Now, ended: map[string]time.Time{}}
}

// EndSession stores the ID with its expiry.
func (e *StoreEndedSessions) EndSession(ctx context.Context, id string, expires time.Time) error {
	err := e.engine.Exec(ctx, `INSERT INTO ended_sessions (session_id, expires_at, ended_at)
VALUES ({id:String}, fromUnixTimestamp64Milli({expires:Int64}, 'UTC'), fromUnixTimestamp64Milli({now:Int64}, 'UTC'))`,
		store.P("id", id), store.P("expires", fmt.Sprint(expires.UnixMilli())), store.P("now", fmt.Sprint(e.now().UnixMilli())))
	if err != nil {
		return fmt.Errorf("record ended session: %w", err)
	}
	e.remember(id, expires)
	return nil
}

// SessionEnded looks the ID up in the cache and then by primary key in the
// table.
func (e *StoreEndedSessions) SessionEnded(ctx context.Context, id string) (bool, error) {
	e.mu.Lock()
	_, cached := e.ended[id]
	e.mu.Unlock()
	if cached {
		return true, nil
	}

	rows, err := e.engine.Query(ctx, `SELECT toInt64(toUnixTimestamp64Milli(expires_at))
FROM ended_sessions WHERE session_id = {id:String} LIMIT 1`, store.P("id", id))
	if err != nil {
		return false, fmt.Errorf("read ended session: %w", err)
	}
	defer rows.Close()
	found := false
	var expiresMillis int64
	if rows.Next() {
		if err := rows.Scan(&expiresMillis); err != nil {
			return false, fmt.Errorf("read ended session: %w", err)
		}
		found = true
	}
	if err := rows.Err(); err != nil {
		return false, fmt.Errorf("read ended session: %w", err)
	}
	if found {
		e.remember(id, time.UnixMilli(expiresMillis))
	}
	return found, nil
}

// remember caches an ended ID, first dropping the entries of sessions that
// have expired since, when the cache is full.
func (e *StoreEndedSessions) remember(id string, expires time.Time) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if len(e.ended) >= maxCachedEndedSessions {
		now := e.now()
		for k, exp := range e.ended {
			if !now.Before(exp) {
				delete(e.ended, k)
			}
		}
	}
	if len(e.ended) < maxCachedEndedSessions {
		e.ended[id] = expires
	}
}

// sessionMemoKey is the context key of a request's *sessionMemo.
type sessionMemoKey struct{}

// sessionMemo holds the result of reading one request's session, so the
// ended-session lookup runs at most once per request however many times
// the handlers ask.
type sessionMemo struct {
	once    sync.Once
	session session
	ok      bool
}

// withSessionMemo gives each request an empty sessionMemo. Requests that
// never read the session, such as those for static files, cost no lookup.
func withSessionMemo(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := context.WithValue(r.Context(), sessionMemoKey{}, &sessionMemo{})
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// readSession decodes the request's session cookie and rejects a session
// that was signed out. A failed lookup also rejects it, so an outage of
// the record cannot revive a signed-out cookie.
func (h *handler) readSession(r *http.Request) (session, bool) {
	cookie, err := r.Cookie(sessionCookie)
	if err != nil {
		return session{}, false
	}
	s, err := h.sessions.decode(cookie.Value, h.now())
	if err != nil {
		return session{}, false
	}
	if h.ended == nil {
		return s, true
	}
	ended, err := h.ended.SessionEnded(r.Context(), s.ID)
	if err != nil {
		h.logger.Error("ended-session lookup failed, so the request is treated as signed out", "error", err)
		return session{}, false
	}
	if ended {
		h.logger.Debug("request carries the cookie of a signed-out session")
		return session{}, false
	}
	return s, true
}
