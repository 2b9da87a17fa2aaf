package feeds_test

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwk"

	"github.com/openbanking-insights/insights"
	"github.com/openbanking-insights/insights/internal/aspsp"
	"github.com/openbanking-insights/insights/internal/bank"
	"github.com/openbanking-insights/insights/internal/derive"
	"github.com/openbanking-insights/insights/internal/feeds"
	"github.com/openbanking-insights/insights/internal/ingest"
	"github.com/openbanking-insights/insights/internal/store"
	"github.com/openbanking-insights/insights/internal/store/storetest"
)

// deriveBirthDates is feeds.BirthDates backed by package derive, as the
// service wires it.
type deriveBirthDates struct{ d *derive.Deriver }

func (a deriveBirthDates) VerifyIDTokenBirthDate(ctx context.Context, token string, keys jwk.Set, issuer, audience string) (insights.Date, error) {
	return derive.VerifyIDTokenBirthDate(ctx, token, keys, derive.IDTokenOptions{Issuer: issuer, Audience: audience, Skew: time.Minute})
}

func (a deriveBirthDates) StoreIDTokenBirthDate(ctx context.Context, customerID string, birth insights.Date, issuer string) error {
	return a.d.StoreBirthDate(ctx, customerID, birth, derive.IDTokenSource, issuer)
}

// lockedBuffer collects log output written from the service's goroutines.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

type idTokenEnv struct {
	t       *testing.T
	bankURL string
	svc     *feeds.Service
	deriver *derive.Deriver
	logs    *lockedBuffer
}

// newIDTokenEnv starts the local bank on 127.0.0.1 and a Service with
// ID token verification. The consents leave out ReadParty and
// ReadPartyPSU, so the bank's party records store no birth date and only
// the ID token can provide one.
func newIDTokenEnv(t *testing.T) *idTokenEnv {
	t.Helper()
	const clientID, secret, financialID = "insights-test", "test-secret", "0015800001041RHAAY"
	b, err := bank.New(bank.Options{DataDir: "../../testdata/sample", ClientID: clientID, ClientSecret: secret,
		FinancialID: financialID, Admin: true})
	if err != nil {
		t.Fatalf("bank.New: %v", err)
	}
	srv := httptest.NewServer(b)
	t.Cleanup(srv.Close)

	engine := storetest.New(t)
	logs := &lockedBuffer{}
	logger := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	d := &derive.Deriver{Engine: engine, Logger: logger}
	svc := &feeds.Service{
		Engine: engine,
		Loader: &ingest.Loader{Engine: engine, Logger: logger},
		Banks: map[string]aspsp.Bank{"local": {ID: "local", Name: "Local Bank", BaseURL: srv.URL,
			ClientID: clientID, ClientSecret: secret, FinancialID: financialID,
			RedirectURI: "http://127.0.0.1:8080/banks/callback"}},
		TokenKey:    bytes.Repeat([]byte{9}, 32),
		Logger:      logger,
		Permissions: []string{"ReadAccountsDetail", "ReadBalances", "ReadTransactionsDetail", "ReadTransactionsCredits", "ReadTransactionsDebits"},
		BirthDates:  deriveBirthDates{d},
	}
	return &idTokenEnv{t: t, bankURL: srv.URL, svc: svc, deriver: d, logs: logs}
}

// link links bankCustomer for customerID, approving at the bank with
// prompt=none, and returns the error of Callback.
func (e *idTokenEnv) link(customerID, bankCustomer string) error {
	e.t.Helper()
	ctx := context.Background()
	authURL, err := e.svc.Link(ctx, customerID, "local")
	if err != nil {
		e.t.Fatalf("Link: %v", err)
	}
	u, err := url.Parse(authURL)
	if err != nil {
		e.t.Fatalf("parse authorization URL: %v", err)
	}
	if len(u.Query().Get("nonce")) < 22 {
		e.t.Fatalf("authorization URL nonce %q: want at least 128 bits", u.Query().Get("nonce"))
	}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Get(authURL + "&" + url.Values{"login_hint": {bankCustomer}, "prompt": {"none"}}.Encode())
	if err != nil {
		e.t.Fatalf("GET authorize: %v", err)
	}
	resp.Body.Close()
	loc, err := url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusFound || err != nil {
		e.t.Fatalf("authorize: status %d, want a 302 redirect", resp.StatusCode)
	}
	q := loc.Query()
	_, err = e.svc.Callback(ctx, q.Get("state"), q.Get("code"), q.Get("error"))
	return err
}

func (e *idTokenEnv) fault(kind string) {
	e.t.Helper()
	resp, err := http.Post(e.bankURL+"/admin/faults", "application/json", strings.NewReader(`{"kind":"`+kind+`"}`))
	if err != nil {
		e.t.Fatalf("POST /admin/faults: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		e.t.Fatalf("POST /admin/faults %s: status %d", kind, resp.StatusCode)
	}
}

// birthDates returns the stored birth dates of customerID by source.
func (e *idTokenEnv) birthDates(customerID string) map[string]string {
	e.t.Helper()
	rows, err := e.svc.Engine.Query(context.Background(), `SELECT source, toString(assumeNotNull(birth_date))
FROM parties FINAL WHERE customer_id = {c:String} AND birth_date IS NOT NULL`, store.P("c", customerID))
	if err != nil {
		e.t.Fatalf("query parties: %v", err)
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var source, birth string
		if err := rows.Scan(&source, &birth); err != nil {
			e.t.Fatalf("scan parties: %v", err)
		}
		out[source] = birth
	}
	if err := rows.Err(); err != nil {
		e.t.Fatalf("read parties: %v", err)
	}
	return out
}

func (e *idTokenEnv) ageOver18(customerID string) insights.ClaimResult {
	e.t.Helper()
	req := insights.ClaimRequest{Kind: insights.ClaimAgeOver, MinimumAge: 18}
	res, err := e.deriver.Derive(context.Background(), customerID, []insights.ClaimRequest{req}, time.Now())
	if err != nil || len(res) != 1 {
		e.t.Fatalf("Derive = %d results, %v; want one", len(res), err)
	}
	return res[0]
}

func (e *idTokenEnv) authorised(customerID string) bool {
	e.t.Helper()
	links, err := e.svc.Consents(context.Background(), customerID)
	if err != nil || len(links) != 1 {
		e.t.Fatalf("Consents = %d, %v; want one", len(links), err)
	}
	return links[0].Status == feeds.StatusAuthorised && links[0].LastOutcome == feeds.OutcomeComplete
}

func TestLinkIDToken_storesBirthDate(t *testing.T) {
	e := newIDTokenEnv(t)
	if err := e.link("cust-alice", "alice"); err != nil {
		t.Fatalf("link: %v", err)
	}
	got := e.birthDates("cust-alice")
	if len(got) != 1 || got[derive.IDTokenSource] != "1991-03-02" {
		t.Errorf("stored birth dates = %v; want 1991-03-02 from %s alone", got, derive.IDTokenSource)
	}
	if res := e.ageOver18("cust-alice"); !res.Available || !res.Holds {
		t.Errorf("age over 18 = available %v, holds %v; want true, true", res.Available, res.Holds)
	}
	if !e.authorised("cust-alice") {
		t.Error("link is not authorised with a complete first pull")
	}
	if strings.Contains(e.logs.String(), "1991-03-02") {
		t.Error("the logs contain the birth date")
	}
}

func TestLinkIDToken_noBirthDateClaim(t *testing.T) {
	e := newIDTokenEnv(t)
	if err := e.link("cust-eve", "eve"); err != nil {
		t.Fatalf("link: %v", err)
	}
	if got := e.birthDates("cust-eve"); len(got) != 0 {
		t.Errorf("stored birth dates = %v; want none", got)
	}
	if res := e.ageOver18("cust-eve"); res.Available {
		t.Error("age over 18 is available without a birth date")
	}
	if !strings.Contains(e.logs.String(), "no birthdate claim") {
		t.Errorf("logs lack the missing birthdate note:\n%s", e.logs)
	}
}

func TestLinkIDToken_rejected(t *testing.T) {
	tests := []struct {
		fault      string
		wantReason string
	}{
		{"id-token-foreign-key", "signature does not verify"},
		{"id-token-wrong-nonce", "nonce does not match"},
	}
	for _, tt := range tests {
		t.Run(tt.fault, func(t *testing.T) {
			e := newIDTokenEnv(t)
			e.fault(tt.fault)
			if err := e.link("cust-alice", "alice"); err != nil {
				t.Fatalf("link: %v; want the link to complete despite the ID token", err)
			}
			if got := e.birthDates("cust-alice"); len(got) != 0 {
				t.Errorf("stored birth dates = %v; want none from a rejected ID token", got)
			}
			if res := e.ageOver18("cust-alice"); res.Available {
				t.Error("age over 18 is available from a rejected ID token")
			}
			if !e.authorised("cust-alice") {
				t.Error("link is not authorised with a complete first pull")
			}
			logs := e.logs.String()
			if !strings.Contains(logs, "ID token rejected") || !strings.Contains(logs, tt.wantReason) || !strings.Contains(logs, "bank=local") {
				t.Errorf("logs lack the rejection with reason %q and the bank id:\n%s", tt.wantReason, logs)
			}
			if strings.Contains(logs, "1991-03-02") || strings.Contains(logs, "eyJ") {
				t.Error("the logs contain the birth date or a JWS")
			}
		})
	}
}

func TestLinkIDToken_wrongIssuer(t *testing.T) {
	e := newIDTokenEnv(t)
	// The keys are the bank's, but the configured issuer differs from the
	// token's iss.
	e.svc.OpenIDProviders = map[string]feeds.OpenIDProvider{"local": {Issuer: "https://other.bank.invalid", JWKSURL: e.bankURL + "/jwks"}}
	if err := e.link("cust-alice", "alice"); err != nil {
		t.Fatalf("link: %v", err)
	}
	if got := e.birthDates("cust-alice"); len(got) != 0 {
		t.Errorf("stored birth dates = %v; want none when iss differs", got)
	}
	if !strings.Contains(e.logs.String(), "ID token rejected") {
		t.Errorf("logs lack the rejection:\n%s", e.logs)
	}
}
