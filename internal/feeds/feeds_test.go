package feeds

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/openbanking-insights/insights/internal/aspsp"
	"github.com/openbanking-insights/insights/internal/bank"
	"github.com/openbanking-insights/insights/internal/ingest"
	"github.com/openbanking-insights/insights/internal/store"
	"github.com/openbanking-insights/insights/internal/store/storetest"
	"github.com/robfig/cron/v3"
)

func TestMain(m *testing.M) { storetest.Main(m) }

const (
	testClientID    = "insights-test"
	testSecret      = "test-secret"
	testFinancialID = "0015800001041RHAAY"
)

// env is a local bank on 127.0.0.1 and a Service pulling from it into a
// fresh database.
type env struct {
	t       *testing.T
	engine  store.Engine
	bankSrv *httptest.Server
	// reads counts the requests the bank received outside /admin.
	reads atomic.Int64
	svc   *Service
	now   atomic.Pointer[time.Time]
}

func newEnv(t *testing.T) *env {
	t.Helper()
	return newEnvData(t, "../../testdata/sample")
}

// newEnvData is newEnv with the bank's demo customers read from dataDir.
func newEnvData(t *testing.T, dataDir string) *env {
	t.Helper()
	e := &env{t: t, engine: storetest.New(t)}
	b, err := bank.New(bank.Options{DataDir: dataDir, ClientID: testClientID, ClientSecret: testSecret,
		FinancialID: testFinancialID, PageSize: 50, Admin: true})
	if err != nil {
		t.Fatalf("bank.New: %v", err)
	}
	e.bankSrv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasPrefix(r.URL.Path, "/admin/") {
			e.reads.Add(1)
		}
		b.ServeHTTP(w, r)
	}))
	t.Cleanup(e.bankSrv.Close)

	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	e.svc = &Service{
		Engine: e.engine,
		Loader: &ingest.Loader{Engine: e.engine, Logger: logger},
		Banks: map[string]aspsp.Bank{"local": {ID: "local", Name: "Local Bank", BaseURL: e.bankSrv.URL,
			ClientID: testClientID, ClientSecret: testSecret, FinancialID: testFinancialID,
			RedirectURI: "http://127.0.0.1:8080/banks/callback"}},
		TokenKey: bytes.Repeat([]byte{7}, 32),
		Logger:   logger,
		Now:      e.clock,
		Retry:    aspsp.RetryPolicy{MaxAttempts: 4, BaseDelay: time.Millisecond, MaxDelay: 5 * time.Second},
	}
	return e
}

// clock returns the real time, or the time set with setNow.
func (e *env) clock() time.Time {
	if p := e.now.Load(); p != nil {
		return *p
	}
	return time.Now()
}

func (e *env) setNow(t time.Time) { e.now.Store(&t) }

// link runs Link and approves the consent at the bank for customer with
// prompt=none, then delivers the redirect to Callback.
func (e *env) link(customer string) (string, error) {
	e.t.Helper()
	ctx := context.Background()
	authURL, err := e.svc.Link(ctx, customer, "local")
	if err != nil {
		e.t.Fatalf("Link: %v", err)
	}
	q := e.redirect(authURL + "&" + url.Values{"login_hint": {customer}, "prompt": {"none"}}.Encode())
	return e.svc.Callback(ctx, q.Get("state"), q.Get("code"), q.Get("error"))
}

// redirect follows the bank's authorisation URL and returns the query of
// the redirect back to us.
func (e *env) redirect(authURL string) url.Values {
	e.t.Helper()
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Get(authURL)
	if err != nil {
		e.t.Fatalf("GET authorize: %v", err)
	}
	resp.Body.Close()
	loc, err := url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusFound || err != nil {
		e.t.Fatalf("authorize: status %d, Location %q, want a 302 redirect", resp.StatusCode, resp.Header.Get("Location"))
	}
	return loc.Query()
}

func (e *env) fault(body string) {
	e.t.Helper()
	resp, err := http.Post(e.bankSrv.URL+"/admin/faults", "application/json", strings.NewReader(body))
	if err != nil {
		e.t.Fatalf("POST /admin/faults: %v", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		msg, _ := io.ReadAll(resp.Body)
		e.t.Fatalf("POST /admin/faults %s: status %d: %s", body, resp.StatusCode, msg)
	}
}

func (e *env) only(customer string) *consentRow {
	e.t.Helper()
	rows, err := e.svc.readConsents(context.Background(), "customer_id = {c:String}", store.P("c", customer))
	if err != nil || len(rows) != 1 {
		e.t.Fatalf("consents of %s = %d, %v; want one", customer, len(rows), err)
	}
	return rows[0]
}

func (e *env) counts(customer string) ingest.Counts {
	e.t.Helper()
	c, err := ingest.CountRows(context.Background(), e.engine, customer)
	if err != nil {
		e.t.Fatalf("CountRows: %v", err)
	}
	return c
}

// physical counts the stored transaction rows, versions included.
func (e *env) physical(customer string) uint64 {
	e.t.Helper()
	rows, err := e.engine.Query(context.Background(), "SELECT count() FROM transactions WHERE customer_id = {c:String}", store.P("c", customer))
	if err != nil {
		e.t.Fatalf("count transactions: %v", err)
	}
	defer rows.Close()
	var n uint64
	if rows.Next() {
		if err := rows.Scan(&n); err != nil {
			e.t.Fatalf("count transactions: %v", err)
		}
	}
	return n
}

func (e *env) pulls(consentID string) []pullRow {
	e.t.Helper()
	rows, err := e.engine.Query(context.Background(), `SELECT pull_id, outcome, toInt64(pages), toInt64(transactions), problems
FROM pulls WHERE consent_id = {c:String} ORDER BY started_at`, store.P("c", consentID))
	if err != nil {
		e.t.Fatalf("read pulls: %v", err)
	}
	defer rows.Close()
	var out []pullRow
	for rows.Next() {
		var p pullRow
		var pages, txs int64
		if err := rows.Scan(&p.PullID, &p.Outcome, &pages, &txs, &p.Problems); err != nil {
			e.t.Fatalf("read pulls: %v", err)
		}
		p.Pages, p.Transactions = int(pages), int(txs)
		out = append(out, p)
	}
	return out
}

func TestLink_firstPullStoresRows(t *testing.T) {
	e := newEnv(t)
	customer, err := e.link("alice")
	if err != nil {
		t.Fatalf("link: %v", err)
	}
	if customer != "alice" {
		t.Errorf("Callback customer = %q, want alice", customer)
	}

	c := e.counts("alice")
	if c.Accounts == 0 || c.Balances == 0 || c.Parties == 0 || c.Transactions < 100 {
		t.Errorf("stored %+v, want alice's accounts, balances, parties and transactions", c)
	}
	if other := e.counts("bob"); other.Transactions != 0 {
		t.Errorf("bob has %d transactions, want none", other.Transactions)
	}
	row := e.only("alice")
	if row.Status != StatusAuthorised || row.LastBookingTime.IsZero() || row.AuthDate.IsZero() || row.StateHash != "" {
		t.Errorf("consent = status %s, last booking %v, auth date %v, state hash %q; want authorised with both times and no state",
			row.Status, row.LastBookingTime, row.AuthDate, row.StateHash)
	}
	pulls := e.pulls(row.ConsentID)
	if len(pulls) != 1 || pulls[0].Outcome != OutcomeComplete || pulls[0].Pages < 3 || pulls[0].Transactions < 100 {
		t.Errorf("pulls = %+v, want one complete pull of several pages", pulls)
	}

	infos, err := e.svc.Consents(context.Background(), "alice")
	if err != nil || len(infos) != 1 {
		t.Fatalf("Consents = %+v, %v", infos, err)
	}
	if infos[0].BankName != "Local Bank" || infos[0].Status != StatusAuthorised || infos[0].LastOutcome != OutcomeComplete || infos[0].LastRefresh.IsZero() {
		t.Errorf("Consents = %+v", infos[0])
	}
}

func TestRefresh_overlapStoresNothingNew(t *testing.T) {
	e := newEnv(t)
	if _, err := e.link("alice"); err != nil {
		t.Fatalf("link: %v", err)
	}
	before, physicalBefore := e.counts("alice"), e.physical("alice")
	row := e.only("alice")

	res, err := e.svc.Refresh(context.Background(), row.ConsentID)
	if err != nil {
		t.Fatalf("Refresh: %v", err)
	}
	if res.Outcome != OutcomeComplete {
		t.Errorf("Outcome = %s (%v), want complete", res.Outcome, res.Problems)
	}
	if res.Transactions == 0 {
		t.Errorf("second pull read no transactions, want the overlap's")
	}
	for _, w := range res.Windows {
		if want := row.LastBookingTime.Add(-DefaultOverlap); !w.From.Equal(want) {
			t.Errorf("window %s From = %v, want last booking minus overlap %v", w.AccountID, w.From, want)
		}
	}
	if after := e.counts("alice"); after.Transactions != before.Transactions {
		t.Errorf("transactions %d after the second pull, want %d", after.Transactions, before.Transactions)
	}
	if got := e.physical("alice"); got != physicalBefore {
		t.Errorf("physical transaction rows %d after the second pull, want %d: nothing new stored", got, physicalBefore)
	}
}

func TestRefresh_retries(t *testing.T) {
	tests := []struct {
		name    string
		fault   string
		minWait time.Duration
	}{
		{"429 with Retry-After", `{"kind":"429","path":"/transactions","count":1,"retryAfter":1}`, time.Second},
		{"503 twice", `{"kind":"503","path":"/balances","count":2,"retryAfter":0}`, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			if _, err := e.link("bob"); err != nil {
				t.Fatalf("link: %v", err)
			}
			e.fault(tt.fault)
			if tt.minWait == 0 {
				e.svc.Retry.MaxDelay = 20 * time.Millisecond
			}

			start := time.Now()
			res, err := e.svc.Refresh(context.Background(), e.only("bob").ConsentID)
			if err != nil {
				t.Fatalf("Refresh: %v", err)
			}
			if elapsed := time.Since(start); elapsed < tt.minWait {
				t.Errorf("Refresh took %v, want at least the Retry-After of %v", elapsed, tt.minWait)
			}
			if res.Outcome != OutcomeComplete {
				t.Errorf("Outcome = %s (%v), want complete after retries", res.Outcome, res.Problems)
			}
		})
	}
}

func TestRefresh_unauthorizedRefreshesToken(t *testing.T) {
	e := newEnv(t)
	if _, err := e.link("bob"); err != nil {
		t.Fatalf("link: %v", err)
	}
	before := e.only("bob")
	e.fault(`{"kind":"401","path":"/accounts","count":1}`)

	res, err := e.svc.Refresh(context.Background(), before.ConsentID)
	if err != nil {
		t.Fatalf("Refresh: %v", err)
	}
	if res.Outcome != OutcomeComplete {
		t.Errorf("Outcome = %s (%v), want complete", res.Outcome, res.Problems)
	}
	after := e.only("bob")
	if after.AccessToken == before.AccessToken || after.RefreshToken == before.RefreshToken {
		t.Errorf("stored tokens unchanged after a refresh")
	}
	// The new tokens work for the next pull.
	if res, err := e.svc.Refresh(context.Background(), before.ConsentID); err != nil || res.Outcome != OutcomeComplete {
		t.Errorf("Refresh with the new tokens = %s, %v", res.Outcome, err)
	}
}

func TestRefresh_brokenPagesKeepStoredData(t *testing.T) {
	tests := []struct {
		name    string
		fault   string
		problem string
	}{
		{"malformed page", `{"kind":"malformed","path":"/transactions","count":1}`, "is not an OBIE JSON envelope"},
		{"next loop", `{"kind":"next-loop","path":"/transactions","count":1}`, "page loop at http://127.0.0.1"},
		{"bad record", `{"kind":"bad-record","path":"/transactions","count":1}`, "Amount.Amount"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			if _, err := e.link("alice"); err != nil {
				t.Fatalf("link: %v", err)
			}
			before, physicalBefore := e.counts("alice"), e.physical("alice")
			row := e.only("alice")
			e.fault(tt.fault)

			res, err := e.svc.Refresh(context.Background(), row.ConsentID)
			if err != nil {
				t.Fatalf("Refresh: %v", err)
			}
			if res.Outcome != OutcomeIncomplete {
				t.Errorf("Outcome = %s, want incomplete", res.Outcome)
			}
			if !strings.Contains(strings.Join(res.Problems, "\n"), tt.problem) {
				t.Errorf("Problems = %q, want one containing %q", res.Problems, tt.problem)
			}
			incomplete := 0
			for _, w := range res.Windows {
				if !w.Complete {
					incomplete++
				}
			}
			if incomplete != 1 {
				t.Errorf("windows %+v, want exactly one incomplete", res.Windows)
			}
			if after := e.counts("alice"); after.Transactions != before.Transactions || after.Accounts != before.Accounts {
				t.Errorf("stored %+v after the broken pull, want %+v", after, before)
			}
			if got := e.physical("alice"); got != physicalBefore {
				t.Errorf("physical transaction rows %d, want %d", got, physicalBefore)
			}
			pulls := e.pulls(row.ConsentID)
			last := pulls[len(pulls)-1]
			if last.Outcome != OutcomeIncomplete || !strings.Contains(strings.Join(last.Problems, "\n"), tt.problem) {
				t.Errorf("pull row = %+v, want incomplete with the problem", last)
			}
			// An incomplete pull does not move the starting point on.
			if got := e.only("alice").LastBookingTime; !got.Equal(row.LastBookingTime) {
				t.Errorf("last booking time moved from %v to %v after an incomplete pull", row.LastBookingTime, got)
			}
		})
	}
}

func TestRefresh_badRecordLocated(t *testing.T) {
	e := newEnv(t)
	e.fault(`{"kind":"bad-record","path":"/transactions","count":1}`)
	customer, err := e.link("alice")
	if err != nil {
		t.Fatalf("link: %v", err)
	}
	row := e.only(customer)
	pulls := e.pulls(row.ConsentID)
	if len(pulls) != 1 || pulls[0].Outcome != OutcomeIncomplete {
		t.Fatalf("pulls = %+v, want one incomplete", pulls)
	}
	problems := strings.Join(pulls[0].Problems, "\n")
	want := "pull:" + pulls[0].PullID + " " + aspsp.APIPath + "/accounts/"
	if !strings.Contains(problems, want) || !strings.Contains(problems, "$.Data.Transaction[0].Amount.Amount") {
		t.Errorf("problems = %q, want the source %q and the JSON path of the amount", problems, want)
	}
	if strings.Count(problems, "rejected") != 1 {
		t.Errorf("problems = %q, want the page called rejected once", problems)
	}
	// The good pages of the first pull are kept.
	if c := e.counts("alice"); c.Transactions < 100 {
		t.Errorf("stored %d transactions, want the good pages kept", c.Transactions)
	}
}

func TestRefreshAll_expiredConsentNeedsRenewal(t *testing.T) {
	e := newEnv(t)
	if _, err := e.link("bob"); err != nil {
		t.Fatalf("link: %v", err)
	}
	row := e.only("bob")
	e.setNow(row.ExpiresAt.Add(time.Minute))
	reads := e.reads.Load()

	if err := e.svc.RefreshAll(context.Background()); err != nil {
		t.Fatalf("RefreshAll: %v", err)
	}
	if got := e.only("bob").Status; got != StatusNeedsRenewal {
		t.Errorf("status = %s, want needs_renewal", got)
	}
	if _, err := e.svc.Refresh(context.Background(), row.ConsentID); !errors.Is(err, ErrNotAuthorised) {
		t.Errorf("Refresh of an expired consent error = %v, want ErrNotAuthorised", err)
	}
	if err := e.svc.RefreshAll(context.Background()); err != nil {
		t.Fatalf("second RefreshAll: %v", err)
	}
	if got := e.reads.Load(); got != reads {
		t.Errorf("bank saw %d requests after expiry, want none", got-reads)
	}
}

// TestSchedule_stopEndsWaits stops a scheduled refresh while its pull
// waits out the random delay: the run ends without pulling, so a shutdown
// that waits for running jobs is not held up by the delay.
func TestSchedule_stopEndsWaits(t *testing.T) {
	e := newEnv(t)
	if _, err := e.link("alice"); err != nil {
		t.Fatalf("link: %v", err)
	}
	consentID := e.only("alice").ConsentID
	pulls := len(e.pulls(consentID))
	e.svc.Jitter = time.Hour

	stop, stopPulls := context.WithCancel(context.Background())
	defer stopPulls()
	c := cron.New()
	if err := e.svc.Schedule(stop, c, "@every 1s"); err != nil {
		t.Fatal(err)
	}
	c.Start()
	for deadline := time.Now().Add(30 * time.Second); !e.svc.running.Load(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the scheduled run did not start within 30 s")
		}
	}

	stopPulls()
	select {
	case <-c.Stop().Done():
	case <-time.After(30 * time.Second):
		t.Fatal("the scheduled run still waits 30 s after stop")
	}
	if got := len(e.pulls(consentID)); got != pulls {
		t.Errorf("pulls after stop = %d, want %d", got, pulls)
	}
}

func TestRefreshAll_pullsEveryAuthorisedConsent(t *testing.T) {
	e := newEnv(t)
	for _, c := range []string{"alice", "bob", "chen"} {
		if _, err := e.link(c); err != nil {
			t.Fatalf("link %s: %v", c, err)
		}
	}
	e.svc.Jitter = 20 * time.Millisecond
	var after []string
	e.svc.AfterPull = func(_ context.Context, customer string) { after = append(after, customer) }
	e.svc.Concurrency = 1 // AfterPull appends without a lock

	if err := e.svc.RefreshAll(context.Background()); err != nil {
		t.Fatalf("RefreshAll: %v", err)
	}
	for _, c := range []string{"alice", "bob", "chen"} {
		if n := len(e.pulls(e.only(c).ConsentID)); n != 2 {
			t.Errorf("%s has %d pulls, want 2", c, n)
		}
	}
	if len(after) != 3 {
		t.Errorf("AfterPull ran for %v, want the three customers", after)
	}
}

func TestRefresh_revokedAtBank(t *testing.T) {
	e := newEnv(t)
	if _, err := e.link("bob"); err != nil {
		t.Fatalf("link: %v", err)
	}
	row := e.only("bob")
	client, _ := e.svc.client("local")
	if err := client.RevokeConsent(context.Background(), row.ASPSPConsentID); err != nil {
		t.Fatalf("RevokeConsent: %v", err)
	}

	res, err := e.svc.Refresh(context.Background(), row.ConsentID)
	if !errors.Is(err, aspsp.ErrConsentInactive) {
		t.Fatalf("Refresh error = %v, want ErrConsentInactive", err)
	}
	if res.Outcome != OutcomeFailed {
		t.Errorf("Outcome = %s, want failed", res.Outcome)
	}
	if got := e.only("bob").Status; got != StatusRevoked {
		t.Errorf("status = %s, want revoked", got)
	}
}

func TestRevoke_marksRevokedAndErasesTokens(t *testing.T) {
	e := newEnv(t)
	if _, err := e.link("bob"); err != nil {
		t.Fatalf("link: %v", err)
	}
	row := e.only("bob")
	if err := e.svc.Revoke(context.Background(), row.ConsentID); err != nil {
		t.Fatalf("Revoke: %v", err)
	}
	after := e.only("bob")
	if after.Status != StatusRevoked || after.AccessToken != "" || after.RefreshToken != "" {
		t.Errorf("after Revoke: status %s, tokens erased %v", after.Status, after.AccessToken == "" && after.RefreshToken == "")
	}
	client, _ := e.svc.client("local")
	status, err := client.GetConsent(context.Background(), row.ASPSPConsentID)
	if err != nil || status.Status != aspsp.StatusRevoked {
		t.Errorf("bank consent status = %+v, %v; want Revoked", status, err)
	}
}

func TestCallback_declinedAndUnknownState(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	authURL, err := e.svc.Link(ctx, "dana", "local")
	if err != nil {
		t.Fatalf("Link: %v", err)
	}
	state := mustQuery(t, authURL).Get("state")

	customer, err := e.svc.Callback(ctx, state, "", "access_denied")
	if !errors.Is(err, ErrLinkDenied) || customer != "dana" {
		t.Errorf("Callback(denied) = %q, %v; want dana, ErrLinkDenied", customer, err)
	}
	if got := e.only("dana").Status; got != StatusRejected {
		t.Errorf("status = %s, want rejected", got)
	}
	if _, err := e.svc.Callback(ctx, state, "code", ""); !errors.Is(err, ErrUnknownState) {
		t.Errorf("Callback with a used state error = %v, want ErrUnknownState", err)
	}
	if _, err := e.svc.Callback(ctx, "forged", "code", ""); !errors.Is(err, ErrUnknownState) {
		t.Errorf("Callback with a forged state error = %v, want ErrUnknownState", err)
	}
}

func TestCallback_linkTimeout(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	authURL, err := e.svc.Link(ctx, "dana", "local")
	if err != nil {
		t.Fatalf("Link: %v", err)
	}
	q := e.redirect(authURL + "&login_hint=dana&prompt=none")
	e.setNow(time.Now().Add(linkTimeout + time.Minute))
	if _, err := e.svc.Callback(ctx, q.Get("state"), q.Get("code"), ""); !errors.Is(err, ErrLinkExpired) {
		t.Errorf("late Callback error = %v, want ErrLinkExpired", err)
	}
}

func TestStorage_tokensEncrypted(t *testing.T) {
	e := newEnv(t)
	if _, err := e.link("bob"); err != nil {
		t.Fatalf("link: %v", err)
	}
	row := e.only("bob")
	tok, err := e.svc.tokens(row)
	if err != nil {
		t.Fatalf("decrypt tokens: %v", err)
	}
	if tok.Access == "" || tok.Refresh == "" {
		t.Fatalf("tokens = empty, want both")
	}

	rows, err := e.engine.Query(context.Background(), "SELECT toString(tuple(*)) FROM bank_consents")
	if err != nil {
		t.Fatalf("read bank_consents: %v", err)
	}
	defer rows.Close()
	for rows.Next() {
		var raw string
		if err := rows.Scan(&raw); err != nil {
			t.Fatalf("scan: %v", err)
		}
		if strings.Contains(raw, tok.Access) || strings.Contains(raw, tok.Refresh) {
			t.Errorf("bank_consents row contains a token in plain text")
		}
	}

	e.svc.TokenKey = bytes.Repeat([]byte{8}, 32)
	if _, err := e.svc.tokens(row); err == nil {
		t.Errorf("tokens decrypted under another key")
	}
}

func TestRefresh_advanceBooksPending(t *testing.T) {
	e := newEnv(t)
	if _, err := e.link("alice"); err != nil {
		t.Fatalf("link: %v", err)
	}
	resp, err := http.Post(e.bankSrv.URL+"/admin/advance", "application/json", strings.NewReader(`{"customer":"alice"}`))
	if err != nil {
		t.Fatalf("POST /admin/advance: %v", err)
	}
	var advanced map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&advanced)
	resp.Body.Close()

	res, err := e.svc.Refresh(context.Background(), e.only("alice").ConsentID)
	if err != nil {
		t.Fatalf("Refresh: %v", err)
	}
	if res.Outcome != OutcomeComplete {
		t.Errorf("Outcome = %s (%v)", res.Outcome, res.Problems)
	}
	if got := res.Ingest.Superseded + res.Ingest.Vanished; got == 0 {
		t.Errorf("Ingest = %+v after advance %v, want pending entries superseded or vanished", res.Ingest, advanced)
	}
}

func mustQuery(t *testing.T, raw string) url.Values {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatalf("parse %q: %v", raw, err)
	}
	return u.Query()
}
