package aspsp

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeBank is a minimal ASPSP: two accounts, paged transactions, and hooks
// that let a test change any response.
type fakeBank struct {
	t   *testing.T
	srv *httptest.Server

	mu       sync.Mutex
	requests []*http.Request
	// override, when set, handles a request before the default handler and
	// returns false to pass it on.
	override func(w http.ResponseWriter, r *http.Request, n int) bool
	access   string // the access token resource reads accept
	refresh  string
	refreshN int
}

func newFakeBank(t *testing.T) *fakeBank {
	t.Helper()
	b := &fakeBank{t: t, access: "access-1", refresh: "refresh-1"}
	b.srv = httptest.NewServer(http.HandlerFunc(b.serve))
	t.Cleanup(b.srv.Close)
	return b
}

func (b *fakeBank) client() *Client {
	return &Client{
		Bank: Bank{ID: "fake", BaseURL: b.srv.URL, ClientID: "client", ClientSecret: "secret",
			FinancialID: "0015800001041RHAAY", RedirectURI: "http://127.0.0.1/banks/callback"},
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Retry:  RetryPolicy{MaxAttempts: 3, BaseDelay: time.Millisecond, MaxDelay: 5 * time.Second},
	}
}

func (b *fakeBank) paths() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []string
	for _, r := range b.requests {
		out = append(out, r.URL.Path)
	}
	return out
}

func (b *fakeBank) serve(w http.ResponseWriter, r *http.Request) {
	b.mu.Lock()
	b.requests = append(b.requests, r)
	n := len(b.requests)
	override := b.override
	b.mu.Unlock()

	if id := r.Header.Get("x-fapi-interaction-id"); id != "" {
		w.Header().Set("x-fapi-interaction-id", id)
	}
	if override != nil && override(w, r, n) {
		return
	}
	switch {
	case r.URL.Path == "/token":
		b.token(w, r)
	case r.Method == http.MethodDelete:
		w.WriteHeader(http.StatusNoContent)
	case strings.HasPrefix(r.URL.Path, APIPath+"/account-access-consents"):
		w.WriteHeader(http.StatusCreated)
		fmt.Fprint(w, `{"Data":{"ConsentId":"c-1","Status":"AwaitingAuthorisation"},"Risk":{},"Links":{"Self":"x"},"Meta":{}}`)
	default:
		b.resource(w, r)
	}
}

func (b *fakeBank) token(w http.ResponseWriter, r *http.Request) {
	id, secret, ok := r.BasicAuth()
	if !ok || id != "client" || secret != "secret" {
		w.WriteHeader(http.StatusUnauthorized)
		fmt.Fprint(w, `{"error":"invalid_client"}`)
		return
	}
	_ = r.ParseForm()
	b.mu.Lock()
	defer b.mu.Unlock()
	switch r.PostForm.Get("grant_type") {
	case "client_credentials":
		fmt.Fprint(w, `{"access_token":"cc","token_type":"Bearer","expires_in":300}`)
	case "authorization_code":
		fmt.Fprintf(w, `{"access_token":%q,"refresh_token":%q,"token_type":"Bearer","expires_in":300}`, b.access, b.refresh)
	case "refresh_token":
		if r.PostForm.Get("refresh_token") != b.refresh {
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprint(w, `{"error":"invalid_grant"}`)
			return
		}
		b.refreshN++
		b.access = fmt.Sprintf("access-%d", b.refreshN+1)
		b.refresh = fmt.Sprintf("refresh-%d", b.refreshN+1)
		fmt.Fprintf(w, `{"access_token":%q,"refresh_token":%q,"token_type":"Bearer","expires_in":300}`, b.access, b.refresh)
	default:
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprint(w, `{"error":"unsupported_grant_type"}`)
	}
}

var accountPath = regexp.MustCompile(`^` + APIPath + `/accounts/([^/]+)/([a-z-]+)$`)

func (b *fakeBank) resource(w http.ResponseWriter, r *http.Request) {
	b.mu.Lock()
	access := b.access
	b.mu.Unlock()
	if r.Header.Get("Authorization") != "Bearer "+access {
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	if r.Header.Get("x-fapi-financial-id") == "" {
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	self := b.srv.URL + r.URL.RequestURI()
	switch m := accountPath.FindStringSubmatch(r.URL.Path); {
	case r.URL.Path == APIPath+"/accounts":
		writeEnvelope(w, `{"Account":[{"AccountId":"A1"},{"AccountId":"A2"}]}`, self, "")
	case r.URL.Path == APIPath+"/party":
		writeEnvelope(w, `{"Party":{"PartyId":"P1"}}`, self, "")
	case m != nil && m[2] == "transactions":
		// Two pages: the first links to ?page=2.
		if r.URL.Query().Get("page") == "" {
			q := r.URL.Query()
			q.Set("page", "2")
			next := b.srv.URL + r.URL.Path + "?" + q.Encode()
			writeEnvelope(w, `{"Transaction":[{"AccountId":"`+m[1]+`","TransactionId":"t1"}]}`, self, next)
			return
		}
		writeEnvelope(w, `{"Transaction":[{"AccountId":"`+m[1]+`","TransactionId":"t2"}]}`, self, "")
	case m != nil:
		writeEnvelope(w, `{}`, self, "")
	default:
		w.WriteHeader(http.StatusNotFound)
	}
}

func writeEnvelope(w http.ResponseWriter, data, self, next string) {
	links := map[string]string{"Self": self}
	if next != "" {
		links["Next"] = next
	}
	linkJSON, _ := json.Marshal(links)
	w.Header().Set("Content-Type", "application/json")
	fmt.Fprintf(w, `{"Data":%s,"Links":%s,"Meta":{}}`, data, linkJSON)
}

var allPermissions = []string{"ReadAccountsDetail", "ReadBalances", "ReadTransactionsDetail",
	"ReadTransactionsCredits", "ReadTransactionsDebits", "ReadParty", "ReadPartyPSU",
	"ReadDirectDebits", "ReadStandingOrdersDetail", "ReadScheduledPaymentsDetail"}

type collected struct {
	mu    sync.Mutex
	pages []Page
}

func (c *collected) sink(_ context.Context, p Page) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.pages = append(c.pages, p)
	return nil
}

func (c *collected) resources() []string {
	var out []string
	for _, p := range c.pages {
		out = append(out, p.Resource+":"+p.AccountID)
	}
	return out
}

var (
	pullFrom = time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	pullTo   = time.Date(2026, 7, 1, 12, 30, 0, 0, time.UTC)
)

func TestPull_readsAllowedResources(t *testing.T) {
	tests := []struct {
		name        string
		permissions []string
		want        []string
	}{
		{"all", allPermissions, []string{
			"accounts:", "balances:A1", "transactions:A1", "transactions:A1", "parties:A1", "direct-debits:A1",
			"standing-orders:A1", "scheduled-payments:A1", "balances:A2", "transactions:A2", "transactions:A2",
			"parties:A2", "direct-debits:A2", "standing-orders:A2", "scheduled-payments:A2", "party:"}},
		{"balances only", []string{"ReadAccountsBasic", "ReadBalances"}, []string{"accounts:", "balances:A1", "balances:A2"}},
		{"transactions need a direction", []string{"ReadAccountsBasic", "ReadTransactionsBasic"}, []string{"accounts:"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			bank := newFakeBank(t)
			var got collected
			out, err := bank.client().Pull(context.Background(), Tokens{Access: "access-1"},
				Consent{ID: "c-1", Permissions: tt.permissions}, pullFrom, pullTo, got.sink)
			if err != nil {
				t.Fatalf("Pull: %v", err)
			}
			if fmt.Sprint(got.resources()) != fmt.Sprint(tt.want) {
				t.Errorf("pages = %v\nwant %v", got.resources(), tt.want)
			}
			if out.Pages != len(tt.want) {
				t.Errorf("Outcome.Pages = %d, want %d", out.Pages, len(tt.want))
			}
			if len(out.Problems) != 0 {
				t.Errorf("Problems = %v, want none", out.Problems)
			}
		})
	}
}

func TestPull_windowsAndQuery(t *testing.T) {
	bank := newFakeBank(t)
	var got collected
	consent := Consent{ID: "c-1", Permissions: allPermissions, TransactionFrom: pullFrom.Add(24 * time.Hour)}
	out, err := bank.client().Pull(context.Background(), Tokens{Access: "access-1"}, consent, pullFrom, pullTo, got.sink)
	if err != nil {
		t.Fatalf("Pull: %v", err)
	}

	want := Window{AccountID: "A1", From: consent.TransactionFrom, To: pullTo, Complete: true}
	if len(out.Windows) != 2 || out.Windows[0] != want || out.Windows[1].AccountID != "A2" {
		t.Errorf("Windows = %+v, want A1 %+v and A2", out.Windows, want)
	}
	var query url.Values
	for _, p := range got.pages {
		if p.Resource == ResourceTransactions {
			u, _ := url.Parse(p.URL)
			query = u.Query()
			break
		}
	}
	// 2026-06-02T00:00Z is 01:00 in London (BST); 2026-07-01T12:30Z is 13:30.
	if g := query.Get("fromBookingDateTime"); g != "2026-06-02T01:00:00" {
		t.Errorf("fromBookingDateTime = %q, want 2026-06-02T01:00:00", g)
	}
	if g := query.Get("toBookingDateTime"); g != "2026-07-01T13:30:00" {
		t.Errorf("toBookingDateTime = %q, want 2026-07-01T13:30:00", g)
	}
}

func TestPull_fapiHeaders(t *testing.T) {
	bank := newFakeBank(t)
	authDate := time.Date(2026, 7, 1, 9, 0, 0, 0, time.UTC)
	consent := Consent{ID: "c-1", Permissions: []string{"ReadAccountsBasic"}, AuthDate: authDate, CustomerIP: "192.0.2.10"}
	if _, err := bank.client().Pull(context.Background(), Tokens{Access: "access-1"}, consent, pullFrom, pullTo, (&collected{}).sink); err != nil {
		t.Fatalf("Pull: %v", err)
	}

	r := bank.requests[0]
	uuidV4 := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	if id := r.Header.Get("x-fapi-interaction-id"); !uuidV4.MatchString(id) {
		t.Errorf("x-fapi-interaction-id = %q, want a version 4 UUID", id)
	}
	if g := r.Header.Get("x-fapi-financial-id"); g != "0015800001041RHAAY" {
		t.Errorf("x-fapi-financial-id = %q", g)
	}
	if g := r.Header.Get("x-fapi-auth-date"); g != "Wed, 01 Jul 2026 09:00:00 GMT" {
		t.Errorf("x-fapi-auth-date = %q, want Wed, 01 Jul 2026 09:00:00 GMT", g)
	}
	if g := r.Header.Get("x-fapi-customer-ip-address"); g != "192.0.2.10" {
		t.Errorf("x-fapi-customer-ip-address = %q", g)
	}
}

func TestPull_interactionIDMismatchLogged(t *testing.T) {
	bank := newFakeBank(t)
	bank.override = func(w http.ResponseWriter, r *http.Request, n int) bool {
		w.Header().Set("x-fapi-interaction-id", "00000000-0000-4000-8000-000000000000")
		return false
	}
	var logs bytes.Buffer
	c := bank.client()
	c.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	if _, err := c.Pull(context.Background(), Tokens{Access: "access-1"}, Consent{Permissions: []string{"ReadAccountsBasic"}}, pullFrom, pullTo, (&collected{}).sink); err != nil {
		t.Fatalf("Pull: %v", err)
	}
	if !strings.Contains(logs.String(), "different x-fapi-interaction-id") {
		t.Errorf("log = %q, want a mismatch warning", logs.String())
	}
}

// transactionsOverride handles the n-th transactions request (counting
// from 1) with respond, and lets every other request through.
func transactionsOverride(respond func(w http.ResponseWriter, r *http.Request, call int) bool) func(http.ResponseWriter, *http.Request, int) bool {
	var mu sync.Mutex
	calls := 0
	return func(w http.ResponseWriter, r *http.Request, _ int) bool {
		if !strings.HasSuffix(r.URL.Path, "/transactions") {
			return false
		}
		mu.Lock()
		calls++
		call := calls
		mu.Unlock()
		return respond(w, r, call)
	}
}

func TestPull_pageGuards(t *testing.T) {
	tests := []struct {
		name    string
		respond func(bank *fakeBank) func(w http.ResponseWriter, r *http.Request, call int) bool
		client  func(c *Client)
		problem string
	}{
		{"next equals self", func(bank *fakeBank) func(http.ResponseWriter, *http.Request, int) bool {
			return func(w http.ResponseWriter, r *http.Request, call int) bool {
				self := bank.srv.URL + r.URL.RequestURI()
				writeEnvelope(w, `{"Transaction":[]}`, self, self)
				return true
			}
		}, nil, "page loop at "},
		{"next returns to earlier page", func(bank *fakeBank) func(http.ResponseWriter, *http.Request, int) bool {
			return func(w http.ResponseWriter, r *http.Request, call int) bool {
				self := bank.srv.URL + r.URL.RequestURI()
				first := bank.srv.URL + r.URL.Path + "?page=1"
				if r.URL.Query().Get("page") == "" {
					writeEnvelope(w, `{"Transaction":[]}`, self, first)
				} else if r.URL.Query().Get("page") == "1" {
					writeEnvelope(w, `{"Transaction":[]}`, self, bank.srv.URL+r.URL.Path+"?page=2")
				} else {
					writeEnvelope(w, `{"Transaction":[]}`, self, first)
				}
				return true
			}
		}, nil, "page loop at "},
		{"next on another host", func(bank *fakeBank) func(http.ResponseWriter, *http.Request, int) bool {
			return func(w http.ResponseWriter, r *http.Request, call int) bool {
				writeEnvelope(w, `{"Transaction":[]}`, bank.srv.URL+r.URL.RequestURI(), "http://127.0.0.2:1"+r.URL.Path+"?page=2")
				return true
			}
		}, nil, "scheme or host differs"},
		{"next on another account", func(bank *fakeBank) func(http.ResponseWriter, *http.Request, int) bool {
			return func(w http.ResponseWriter, r *http.Request, call int) bool {
				writeEnvelope(w, `{"Transaction":[]}`, bank.srv.URL+r.URL.RequestURI(), bank.srv.URL+APIPath+"/accounts/other/transactions?page=2")
				return true
			}
		}, nil, "path is not under"},
		{"relative next", func(bank *fakeBank) func(http.ResponseWriter, *http.Request, int) bool {
			return func(w http.ResponseWriter, r *http.Request, call int) bool {
				writeEnvelope(w, `{"Transaction":[]}`, bank.srv.URL+r.URL.RequestURI(), "null/transactions?page=2")
				return true
			}
		}, nil, "not an absolute URL"},
		{"not JSON", func(bank *fakeBank) func(http.ResponseWriter, *http.Request, int) bool {
			return func(w http.ResponseWriter, r *http.Request, call int) bool {
				fmt.Fprint(w, `<html>maintenance</html>`)
				return true
			}
		}, nil, "is not an OBIE JSON envelope"},
		{"page too large", func(bank *fakeBank) func(http.ResponseWriter, *http.Request, int) bool {
			return func(w http.ResponseWriter, r *http.Request, call int) bool {
				writeEnvelope(w, `{"Transaction":[],"Padding":"`+strings.Repeat("x", 2048)+`"}`, bank.srv.URL+r.URL.RequestURI(), "")
				return true
			}
		}, func(c *Client) { c.MaxPageBytes = 1024 }, "larger than 1024 bytes"},
		{"page limit", func(bank *fakeBank) func(http.ResponseWriter, *http.Request, int) bool {
			return func(w http.ResponseWriter, r *http.Request, call int) bool {
				writeEnvelope(w, `{"Transaction":[]}`, bank.srv.URL+r.URL.RequestURI(), bank.srv.URL+r.URL.Path+fmt.Sprintf("?page=%d", call+1))
				return true
			}
		}, func(c *Client) { c.MaxPages = 3 }, "page limit of 3 reached"},
		{"not found", func(bank *fakeBank) func(http.ResponseWriter, *http.Request, int) bool {
			return func(w http.ResponseWriter, r *http.Request, call int) bool {
				w.WriteHeader(http.StatusNotFound)
				return true
			}
		}, nil, "status 404"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			bank := newFakeBank(t)
			bank.override = transactionsOverride(tt.respond(bank))
			c := bank.client()
			if tt.client != nil {
				tt.client(c)
			}
			var got collected
			out, err := c.Pull(context.Background(), Tokens{Access: "access-1"}, Consent{Permissions: allPermissions}, pullFrom, pullTo, got.sink)
			if err != nil {
				t.Fatalf("Pull: %v", err)
			}
			if len(out.Windows) != 2 {
				t.Fatalf("Windows = %+v, want two", out.Windows)
			}
			for _, w := range out.Windows {
				if w.Complete {
					t.Errorf("window of %s complete, want incomplete", w.AccountID)
				}
			}
			if len(out.Problems) == 0 || !strings.Contains(out.Problems[0], tt.problem) {
				t.Errorf("Problems = %q, want one containing %q", out.Problems, tt.problem)
			}
			// The other resources are still read.
			if !strings.Contains(fmt.Sprint(got.resources()), "party:") {
				t.Errorf("pages = %v, want the party read after the transactions", got.resources())
			}
		})
	}
}

func TestPull_retries(t *testing.T) {
	tests := []struct {
		name     string
		status   int
		header   string
		minWait  time.Duration
		attempts int
	}{
		{"429 with Retry-After seconds", http.StatusTooManyRequests, "1", time.Second, 2},
		{"503 with Retry-After date", http.StatusServiceUnavailable, time.Now().Add(time.Second).UTC().Format(http.TimeFormat), 0, 2},
		{"500", http.StatusInternalServerError, "", 0, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			bank := newFakeBank(t)
			bank.override = transactionsOverride(func(w http.ResponseWriter, r *http.Request, call int) bool {
				if call > 1 {
					return false
				}
				if tt.header != "" {
					w.Header().Set("Retry-After", tt.header)
				}
				w.WriteHeader(tt.status)
				return true
			})
			start := time.Now()
			out, err := bank.client().Pull(context.Background(), Tokens{Access: "access-1"},
				Consent{Permissions: []string{"ReadAccountsBasic", "ReadTransactionsBasic", "ReadTransactionsCredits", "ReadTransactionsDebits"}},
				pullFrom, pullTo, (&collected{}).sink)
			elapsed := time.Since(start)
			if err != nil {
				t.Fatalf("Pull: %v", err)
			}
			if len(out.Problems) != 0 || !out.Windows[0].Complete {
				t.Errorf("Problems = %v, windows %+v: want none and complete", out.Problems, out.Windows)
			}
			if elapsed < tt.minWait {
				t.Errorf("Pull took %v, want at least the Retry-After of %v", elapsed, tt.minWait)
			}
			first := 0
			for _, p := range bank.paths() {
				if p == APIPath+"/accounts/A1/transactions" {
					first++
				}
			}
			// Two pages, the first of them sent twice.
			if first != tt.attempts+1 {
				t.Errorf("A1 transactions requests = %d, want %d", first, tt.attempts+1)
			}
		})
	}
}

func TestPull_retriesExhausted(t *testing.T) {
	bank := newFakeBank(t)
	bank.override = transactionsOverride(func(w http.ResponseWriter, r *http.Request, call int) bool {
		w.WriteHeader(http.StatusServiceUnavailable)
		return true
	})
	out, err := bank.client().Pull(context.Background(), Tokens{Access: "access-1"}, Consent{Permissions: allPermissions}, pullFrom, pullTo, (&collected{}).sink)
	if err != nil {
		t.Fatalf("Pull: %v", err)
	}
	if len(out.Problems) != 2 || !strings.Contains(out.Problems[0], "status 503") {
		t.Errorf("Problems = %q, want a 503 per account", out.Problems)
	}
}

func TestPull_unauthorized(t *testing.T) {
	t.Run("refresh once then succeed", func(t *testing.T) {
		bank := newFakeBank(t)
		bank.access = "access-2" // the token the client holds is already stale
		out, err := bank.client().Pull(context.Background(), Tokens{Access: "access-1", Refresh: "refresh-1"},
			Consent{Permissions: []string{"ReadAccountsBasic"}}, pullFrom, pullTo, (&collected{}).sink)
		if err != nil {
			t.Fatalf("Pull: %v", err)
		}
		if !out.Refreshed() || out.Tokens.Access != "access-2" || out.Tokens.Refresh != "refresh-2" {
			t.Errorf("Outcome.Tokens = %+v, want the refreshed pair", out.Tokens)
		}
	})
	t.Run("still rejected after refresh", func(t *testing.T) {
		bank := newFakeBank(t)
		bank.override = func(w http.ResponseWriter, r *http.Request, n int) bool {
			if r.URL.Path == "/token" {
				return false
			}
			w.WriteHeader(http.StatusUnauthorized)
			return true
		}
		_, err := bank.client().Pull(context.Background(), Tokens{Access: "access-1", Refresh: "refresh-1"},
			Consent{Permissions: []string{"ReadAccountsBasic"}}, pullFrom, pullTo, (&collected{}).sink)
		if !errors.Is(err, ErrTokenExpired) {
			t.Fatalf("Pull error = %v, want ErrTokenExpired", err)
		}
		if strings.Contains(err.Error(), "access-") {
			t.Errorf("error %q contains a token", err)
		}
		if bank.refreshN != 1 {
			t.Errorf("refreshes = %d, want 1", bank.refreshN)
		}
	})
	t.Run("refresh token rejected", func(t *testing.T) {
		bank := newFakeBank(t)
		bank.access = "access-9"
		_, err := bank.client().Pull(context.Background(), Tokens{Access: "access-1", Refresh: "stale"},
			Consent{Permissions: []string{"ReadAccountsBasic"}}, pullFrom, pullTo, (&collected{}).sink)
		if !errors.Is(err, ErrTokenExpired) {
			t.Fatalf("Pull error = %v, want ErrTokenExpired", err)
		}
	})
}

func TestPull_forbidden(t *testing.T) {
	tests := []struct {
		name         string
		body         string
		wantInactive bool
	}{
		{"consent revoked", `{"Code":"403","Errors":[{"ErrorCode":"UK.OBIE.Resource.InvalidConsentStatus","Message":"revoked"}]}`, true},
		{"reauthenticate", `{"Errors":[{"ErrorCode":"UK.OBIE.Reauthenticate"}]}`, true},
		{"no body", ``, false},
		{"other code", `{"Errors":[{"ErrorCode":"UK.OBIE.Resource.ConsentMismatch"}]}`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			bank := newFakeBank(t)
			bank.override = func(w http.ResponseWriter, r *http.Request, n int) bool {
				w.WriteHeader(http.StatusForbidden)
				fmt.Fprint(w, tt.body)
				return true
			}
			_, err := bank.client().Pull(context.Background(), Tokens{Access: "access-1"},
				Consent{Permissions: allPermissions}, pullFrom, pullTo, (&collected{}).sink)
			if !errors.Is(err, ErrForbidden) {
				t.Fatalf("Pull error = %v, want ErrForbidden", err)
			}
			if errors.Is(err, ErrConsentInactive) != tt.wantInactive {
				t.Errorf("errors.Is(%v, ErrConsentInactive) = %v, want %v", err, !tt.wantInactive, tt.wantInactive)
			}
			if !strings.Contains(err.Error(), APIPath+"/accounts") || strings.Contains(err.Error(), "revoked") {
				t.Errorf("error %q: want the path and no message text", err)
			}
		})
	}
}

func TestPull_forbiddenResourceIsProblem(t *testing.T) {
	bank := newFakeBank(t)
	bank.override = func(w http.ResponseWriter, r *http.Request, n int) bool {
		if !strings.HasSuffix(r.URL.Path, "/direct-debits") {
			return false
		}
		w.WriteHeader(http.StatusForbidden)
		return true
	}
	out, err := bank.client().Pull(context.Background(), Tokens{Access: "access-1"}, Consent{Permissions: allPermissions}, pullFrom, pullTo, (&collected{}).sink)
	if err != nil {
		t.Fatalf("Pull: %v", err)
	}
	if len(out.Problems) != 2 || !strings.Contains(out.Problems[0], "direct-debits: status 403") {
		t.Errorf("Problems = %q, want a 403 per account", out.Problems)
	}
	if !out.Windows[0].Complete {
		t.Errorf("window %+v incomplete, want complete: direct debits do not affect it", out.Windows[0])
	}
}

func TestPull_consentExpiry(t *testing.T) {
	bank := newFakeBank(t)
	now := time.Date(2026, 7, 1, 12, 0, 0, 0, time.UTC)
	c := bank.client()
	c.Now = func() time.Time { return now }
	_, err := c.Pull(context.Background(), Tokens{Access: "access-1"},
		Consent{Permissions: allPermissions, Expires: now}, pullFrom, pullTo, (&collected{}).sink)
	if !errors.Is(err, ErrConsentExpired) {
		t.Fatalf("Pull error = %v, want ErrConsentExpired", err)
	}
	if p := bank.paths(); len(p) != 0 {
		t.Errorf("bank saw %v, want no request", p)
	}
}

func TestPull_sinkRejectsPage(t *testing.T) {
	bank := newFakeBank(t)
	sink := func(_ context.Context, p Page) error {
		if p.Resource == ResourceTransactions && p.AccountID == "A2" && strings.Contains(p.URL, "page=2") {
			return fmt.Errorf("%w: $.Data.Transaction[0].Amount.Amount: invalid", ErrPageRejected)
		}
		return nil
	}
	out, err := bank.client().Pull(context.Background(), Tokens{Access: "access-1"}, Consent{Permissions: allPermissions}, pullFrom, pullTo, sink)
	if err != nil {
		t.Fatalf("Pull: %v", err)
	}
	if !out.Windows[0].Complete || out.Windows[1].Complete {
		t.Errorf("Windows = %+v, want A1 complete and A2 incomplete", out.Windows)
	}
	if len(out.Problems) != 1 || !strings.Contains(out.Problems[0], "Amount.Amount") {
		t.Errorf("Problems = %q, want the rejection", out.Problems)
	}

	failing := func(context.Context, Page) error { return errors.New("disk full") }
	if _, err := bank.client().Pull(context.Background(), Tokens{Access: "access-1"}, Consent{Permissions: allPermissions}, pullFrom, pullTo, failing); err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Errorf("Pull with failing sink error = %v, want disk full", err)
	}
}

func TestRetryAfter_parse(t *testing.T) {
	now := time.Date(2026, 7, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		value string
		want  time.Duration
		ok    bool
	}{
		{"2", 2 * time.Second, true},
		{"0", 0, true},
		{"Wed, 01 Jul 2026 12:00:05 GMT", 5 * time.Second, true},
		{"Wed, 01 Jul 2026 11:00:00 GMT", 0, true},
		{"", 0, false},
		{"-1", 0, false},
		{"soon", 0, false},
	}
	for _, tt := range tests {
		got, ok := retryAfter(tt.value, now)
		if got != tt.want || ok != tt.ok {
			t.Errorf("retryAfter(%q) = %v, %v; want %v, %v", tt.value, got, ok, tt.want, tt.ok)
		}
	}
}

func TestBackoff_bounds(t *testing.T) {
	p := RetryPolicy{MaxAttempts: 10, BaseDelay: 100 * time.Millisecond, MaxDelay: time.Second}
	tests := []struct {
		attempt  int
		min, max time.Duration
	}{
		{1, 50 * time.Millisecond, 100 * time.Millisecond},
		{2, 100 * time.Millisecond, 200 * time.Millisecond},
		{4, 400 * time.Millisecond, 800 * time.Millisecond},
		{9, 500 * time.Millisecond, time.Second},
	}
	for _, tt := range tests {
		for range 50 {
			if d := backoff(p, tt.attempt); d < tt.min || d > tt.max {
				t.Errorf("backoff(attempt %d) = %v, want within [%v, %v]", tt.attempt, d, tt.min, tt.max)
			}
		}
	}
}

func TestRetry_honoursMaxDelayCap(t *testing.T) {
	bank := newFakeBank(t)
	bank.override = func(w http.ResponseWriter, r *http.Request, n int) bool {
		if n > 1 {
			return false
		}
		w.Header().Set("Retry-After", "3600")
		w.WriteHeader(http.StatusTooManyRequests)
		return true
	}
	c := bank.client()
	c.Retry.MaxDelay = 10 * time.Millisecond
	start := time.Now()
	if _, err := c.Pull(context.Background(), Tokens{Access: "access-1"}, Consent{Permissions: []string{"ReadAccountsBasic"}}, pullFrom, pullTo, (&collected{}).sink); err != nil {
		t.Fatalf("Pull: %v", err)
	}
	if elapsed := time.Since(start); elapsed > 2*time.Second {
		t.Errorf("Pull took %v, want the wait capped at MaxDelay", elapsed)
	}
}

func TestConsentFlow_tokensAndConsent(t *testing.T) {
	bank := newFakeBank(t)
	c := bank.client()
	ctx := context.Background()
	expires := time.Date(2026, 9, 1, 0, 0, 0, 0, time.UTC)

	id, err := c.CreateConsent(ctx, allPermissions, expires, pullFrom, time.Time{})
	if err != nil || id != "c-1" {
		t.Fatalf("CreateConsent = %q, %v; want c-1", id, err)
	}
	var created *http.Request
	for _, r := range bank.requests {
		if r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/account-access-consents") {
			created = r
		}
	}
	if created == nil || created.Header.Get("Authorization") != "Bearer cc" {
		t.Errorf("consent request not sent with the client-credentials token")
	}

	authURL, err := url.Parse(c.AuthorizeURL("c-1", "state-xyz"))
	if err != nil {
		t.Fatalf("AuthorizeURL: %v", err)
	}
	q := authURL.Query()
	if authURL.Path != "/authorize" || q.Get("consent_id") != "c-1" || q.Get("state") != "state-xyz" ||
		q.Get("response_type") != "code" || q.Get("redirect_uri") != c.Bank.RedirectURI {
		t.Errorf("AuthorizeURL = %s", authURL)
	}

	tok, err := c.ExchangeCode(ctx, "code-1")
	if err != nil || tok.Access != "access-1" || tok.Refresh != "refresh-1" || tok.Expiry.IsZero() {
		t.Fatalf("ExchangeCode = %+v, %v", tok, err)
	}
	tok, err = c.Refresh(ctx, tok.Refresh)
	if err != nil || tok.Access != "access-2" {
		t.Fatalf("Refresh = %+v, %v", tok, err)
	}
	if _, err := c.Refresh(ctx, "refresh-1"); !errors.Is(err, ErrTokenExpired) {
		t.Errorf("Refresh with a spent token error = %v, want ErrTokenExpired", err)
	}
	if err := c.RevokeConsent(ctx, "c-1"); err != nil {
		t.Errorf("RevokeConsent: %v", err)
	}

	c.Bank.ClientSecret = "wrong"
	if _, err := c.ExchangeCode(ctx, "code-1"); err == nil || !strings.Contains(err.Error(), "status 401 (invalid_client)") {
		t.Errorf("ExchangeCode with a wrong secret error = %v, want status 401 (invalid_client)", err)
	}
}
