package consentui

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/openbanking-insights/insights/internal/store/storetest"
)

func TestMain(m *testing.M) { storetest.Main(m) }

// withEndedSessions records sign-outs in ended and runs on the real clock,
// because the table's TTL drops rows by the server's clock.
func withEndedSessions(ended EndedSessions) func(*Options) {
	return func(o *Options) {
		o.EndedSessions = ended
		o.Now = time.Now
	}
}

// sessionCookieOf returns the consent session cookie that c's jar holds for
// env.
func sessionCookieOf(t *testing.T, env *testEnv, c *http.Client) *http.Cookie {
	t.Helper()
	u, err := url.Parse(env.server.URL + "/consent/")
	if err != nil {
		t.Fatal(err)
	}
	for _, cookie := range c.Jar.Cookies(u) {
		if cookie.Name == sessionCookie {
			return cookie
		}
	}
	t.Fatalf("no %s cookie after sign-in", sessionCookie)
	return nil
}

// getWithCookie requests path on env with only cookie, as a copy of the
// cookie in another browser would.
func getWithCookie(t *testing.T, env *testEnv, path string, cookie *http.Cookie) response {
	t.Helper()
	c := env.newClient(t)
	return env.do(t, c, http.MethodGet, path, nil, "Cookie", cookie.Name+"="+cookie.Value)
}

func TestSignOut_copiedCookieRejected(t *testing.T) {
	engine := storetest.New(t)
	first := newTestEnv(t, withEndedSessions(NewStoreEndedSessions(engine)))
	// A second replica: its own handler and cache, the same key and storage.
	second := newTestEnv(t, withEndedSessions(NewStoreEndedSessions(engine)))

	c := first.newClient(t)
	first.signIn(t, c, "alice")
	copied := sessionCookieOf(t, first, c)

	for name, env := range map[string]*testEnv{"first": first, "second": second} {
		if resp := getWithCookie(t, env, "/consent/", copied); resp.Status != http.StatusOK {
			t.Fatalf("%s replica before sign-out: status = %d, want 200", name, resp.Status)
		}
	}

	token := csrfTokenOf(t, first.do(t, c, http.MethodGet, "/consent/", nil).Body)
	resp := first.do(t, c, http.MethodPost, "/consent/signout", url.Values{"csrf_token": {token}})
	if resp.Status != http.StatusOK {
		t.Fatalf("sign-out status = %d, want 200; body:\n%s", resp.Status, resp.Body)
	}

	for name, env := range map[string]*testEnv{"first": first, "second": second} {
		resp := getWithCookie(t, env, "/consent/", copied)
		if resp.Status != http.StatusSeeOther {
			t.Errorf("%s replica after sign-out: status = %d, want 303", name, resp.Status)
		}
		if loc := resp.Header.Get("Location"); !strings.HasPrefix(loc, "/consent/signin?") {
			t.Errorf("%s replica after sign-out: Location = %q, want the sign-in page", name, loc)
		}
	}

	// A form posted with the copied cookie changes nothing.
	resp = second.do(t, second.newClient(t), http.MethodPost, "/consent/requests/req-shop/approve",
		url.Values{"csrf_token": {token}}, "Cookie", copied.Name+"="+copied.Value)
	if resp.Status != http.StatusSeeOther {
		t.Errorf("approve with signed-out cookie: status = %d, want 303 to the sign-in", resp.Status)
	}
	if got := second.service.Decisions(); len(got) != 0 {
		t.Errorf("decisions after approve with signed-out cookie = %v, want none", got)
	}
}

func TestSignOut_newSessionStillWorks(t *testing.T) {
	engine := storetest.New(t)
	env := newTestEnv(t, withEndedSessions(NewStoreEndedSessions(engine)))

	c := env.newClient(t)
	env.signIn(t, c, "alice")
	token := csrfTokenOf(t, env.do(t, c, http.MethodGet, "/consent/", nil).Body)
	if resp := env.do(t, c, http.MethodPost, "/consent/signout", url.Values{"csrf_token": {token}}); resp.Status != http.StatusOK {
		t.Fatalf("sign-out status = %d, want 200", resp.Status)
	}

	env.signIn(t, c, "alice")
	if resp := env.do(t, c, http.MethodGet, "/consent/", nil); resp.Status != http.StatusOK {
		t.Errorf("GET /consent/ after signing in again: status = %d, want 200", resp.Status)
	}
}

// failingEndedSessions is an EndedSessions whose storage is down.
type failingEndedSessions struct{}

var errStorageDown = errors.New("storage down")

func (failingEndedSessions) EndSession(context.Context, string, time.Time) error {
	return errStorageDown
}
func (failingEndedSessions) SessionEnded(context.Context, string) (bool, error) {
	return false, errStorageDown
}

func TestSession_lookupFailureSignsOut(t *testing.T) {
	env := newTestEnv(t, withEndedSessions(failingEndedSessions{}))
	c := env.newClient(t)
	env.signIn(t, c, "alice")

	resp := env.do(t, c, http.MethodGet, "/consent/", nil)
	if resp.Status != http.StatusSeeOther {
		t.Errorf("GET /consent/ with the record down: status = %d, want 303 to the sign-in", resp.Status)
	}
	if !strings.Contains(env.logs.String(), "ended-session lookup failed") {
		t.Errorf("failed lookup not logged; logs:\n%s", env.logs)
	}
}

func TestStoreEndedSessions_record(t *testing.T) {
	ctx := context.Background()
	engine := storetest.New(t)
	writer := NewStoreEndedSessions(engine)
	reader := NewStoreEndedSessions(engine)

	for _, id := range []string{"live-session", "ended-session"} {
		ended, err := reader.SessionEnded(ctx, id)
		if err != nil {
			t.Fatalf("SessionEnded(%s): %v", id, err)
		}
		if ended {
			t.Errorf("SessionEnded(%s) before any sign-out = true", id)
		}
	}

	if err := writer.EndSession(ctx, "ended-session", time.Now().Add(15*time.Minute)); err != nil {
		t.Fatalf("EndSession: %v", err)
	}
	tests := []struct {
		id   string
		want bool
	}{
		{"ended-session", true},
		{"live-session", false},
		{"ended-session-2", false},
	}
	for _, tt := range tests {
		ended, err := reader.SessionEnded(ctx, tt.id)
		if err != nil {
			t.Fatalf("SessionEnded(%s): %v", tt.id, err)
		}
		if ended != tt.want {
			t.Errorf("SessionEnded(%s) = %v, want %v", tt.id, ended, tt.want)
		}
	}
}
