package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/openbanking-insights/insights"
	"github.com/openbanking-insights/insights/internal/bank"
	"github.com/openbanking-insights/insights/internal/store/chdb"
)

// seededValues replaces the personal values of the demo customer alice
// with values that occur nowhere else, so that finding one in the logs
// can only mean the log shows customer data.
var seededValues = []struct{ from, to, kind string }{
	{"Miss Alice Jane Hartley", "Miss Zerelda Quistmoor Vantlebury", "legal name"},
	{"Alice Hartley", "Zerelda Vantlebury", "name"},
	{"MISS A J HARTLEY", "MISS Z Q VANTLEBURY", "account holder name"},
	{"1991-03-02", "1988-07-19", "birth date"},
	{"14 Larchfield Road", "61 Quoddle Crescent", "address line"},
	{"Larchfield Road", "Quoddle Crescent", "street"},
	{"LS6 2QT", "LS7 9QX", "postcode"},
	{"30941266626209", "40728815539917", "account number"},
	{"SO HOLBECK LETTINGS LTD FLAT 3 RENT", "SO WIMBERLEY QUODDLE LETTINGS RENT", "description"},
	{"20553170334189", "40627359918834", "counterparty account number"},
}

// tokenRecorder records the bearer and refresh tokens that cross the
// bank's HTTP interface, so the scan knows their values.
type tokenRecorder struct {
	mu     sync.Mutex
	tokens map[string]bool
}

var tokenField = regexp.MustCompile(`"(?:access_token|refresh_token)"\s*:\s*"([^"]+)"`)

func (rec *tokenRecorder) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, token, ok := strings.Cut(r.Header.Get("Authorization"), "Bearer "); ok {
			rec.add(token)
		}
		tee := &teeWriter{ResponseWriter: w}
		next.ServeHTTP(tee, r)
		for _, m := range tokenField.FindAllSubmatch(tee.body.Bytes(), -1) {
			rec.add(string(m[1]))
		}
	})
}

func (rec *tokenRecorder) add(token string) {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	rec.tokens[token] = true
}

type teeWriter struct {
	http.ResponseWriter
	body bytes.Buffer
}

func (w *teeWriter) Write(p []byte) (int, error) {
	w.body.Write(p)
	return w.ResponseWriter.Write(p)
}

// seedBankData copies alice's demo data to a customer named zed with the
// seeded values in place of hers.
func seedBankData(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "bank")
	customer := filepath.Join(dir, "zed")
	if err := os.MkdirAll(customer, 0o700); err != nil {
		t.Fatal(err)
	}
	files, err := filepath.Glob(filepath.Join(sampleDir, "alice", "*"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no demo data for alice: %v", err)
	}
	var all []byte
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		text := string(data)
		for _, v := range seededValues {
			text = strings.ReplaceAll(text, v.from, v.to)
		}
		all = append(all, text...)
		if err := os.WriteFile(filepath.Join(customer, filepath.Base(file)), []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	for _, v := range seededValues {
		if !bytes.Contains(all, []byte(v.to)) {
			t.Fatalf("seeded %s %q is not in the copied data: alice's demo data changed", v.kind, v.to)
		}
	}
	return dir
}

// TestLogs_noSecretsOrPersonalData drives every path that handles customer
// data or credentials, with debug logging of the service, the bank and the
// CLI captured in one buffer, then scans that output and the CLI output
// for each known secret and personal value: ingest of a good and a bad
// file, bank linking and pulls, client registration, attestation request,
// consent sign-in and approval, issuance, verification and failed calls.
func TestLogs_noSecretsOrPersonalData(t *testing.T) {
	output := &lockedBuffer{}
	logger := slog.New(slog.NewJSONHandler(output, &slog.HandlerOptions{Level: slog.LevelDebug}))
	ctx := context.Background()
	secrets := map[string]string{}

	bankDir := seedBankData(t)
	dataDir := t.TempDir()

	// Ingest from files, then a file whose bad record holds personal data.
	var cliOut bytes.Buffer
	zed := filepath.Join(bankDir, "zed")
	args := []string{"ingest", "-data", dataDir, "-customer", "yan",
		filepath.Join(zed, "accounts.json"), filepath.Join(zed, "balances.json"),
		filepath.Join(zed, "party.json"), filepath.Join(zed, "transactions.ndjson")}
	if err := run(ctx, args, &cliOut, logger); err != nil {
		t.Fatalf("ingest: %v", err)
	}
	bad := filepath.Join(t.TempDir(), "bad.ndjson")
	line := `{"Transaction":{"AccountId":"40728815539917","TransactionId":"t1","CreditDebitIndicator":"Debit","Status":"Booked",` +
		`"BookingDateTime":"2026-12-01T10:00:00Z","Amount":{"Amount":"12,50","Currency":"GBP"},` +
		`"TransactionInformation":"SO WIMBERLEY QUODDLE LETTINGS RENT Zerelda Vantlebury"}}`
	if err := os.WriteFile(bad, []byte(line+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	err := run(ctx, []string{"ingest", "-data", dataDir, "-customer", "yan", bad}, &cliOut, logger)
	if err == nil {
		t.Fatal("ingest of a bad file succeeded")
	}
	cliOut.WriteString(err.Error())

	// A bank whose token traffic is recorded, and the service linked to it.
	secretFile := filepath.Join(dataDir, "bank-client.secret")
	cfg := bankConfig{ClientID: "insights-logscan", ClientSecretFile: secretFile, FinancialID: "0015800001041RTEST"}
	bankSecret, err := cfg.secret()
	if err != nil {
		t.Fatal(err)
	}
	secrets["bank client secret"] = bankSecret
	b, err := bank.New(bank.Options{DataDir: bankDir, ClientID: cfg.ClientID, ClientSecret: bankSecret,
		FinancialID: cfg.FinancialID, PageSize: 50, Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	tokens := &tokenRecorder{tokens: map[string]bool{}}
	bankServer := httptest.NewServer(tokens.wrap(b))
	defer bankServer.Close()

	m := &Main{Logger: logger, Config: serveConfig{
		Storage:    storageConfig{DataDir: dataDir, Library: chdb.DefaultLibrary(), Database: "insights"},
		Addr:       "127.0.0.1:0",
		DevSignIn:  true,
		RequestTTL: 15 * time.Minute, TokenLifetime: 10 * time.Minute, SessionTTL: 15 * time.Minute,
		RefreshSchedule: "0 3 * * *",
		Feeds:           feedsConfig{Bank: cfg, DemoBank: bankServer.URL, Refresh: "@every 6h", DemoLink: "zed"},
	}}
	if err := m.Open(ctx); err != nil {
		t.Fatalf("start server: %v", err)
	}
	defer m.Close()
	links, err := m.Feeds.Consents(ctx, "zed")
	if err != nil || len(links) != 1 || links[0].LastOutcome != "complete" {
		t.Fatalf("zed's bank link = %+v, %v; the pull path did not run", links, err)
	}
	if _, err := m.Feeds.Refresh(ctx, links[0].ConsentID); err != nil {
		t.Fatalf("refresh zed's link: %v", err)
	}

	// A client requests claims, zed approves, and the token is issued.
	_, apiKey, err := m.Consent.RegisterClient(ctx, "Logscan Shop", []insights.ClaimKind{insights.ClaimAgeOver, insights.ClaimAddressMatches})
	if err != nil {
		t.Fatal(err)
	}
	secrets["API key"] = apiKey
	mc := merchant{t: t, base: m.BaseURL(), apiKey: apiKey}
	data := mc.graphql(requestMutation, map[string]any{"input": map[string]any{
		"purpose": "Age and address check",
		"claims": []any{
			map[string]any{"ageOver": map[string]any{"minimumAge": 18}},
			map[string]any{"addressMatches": map[string]any{"postCode": "LS7 9QX"}},
		},
	}})
	created := data["requestAttestation"].(map[string]any)["attestationRequest"].(map[string]any)
	id, consentURL := created["id"].(string), created["consentUrl"].(string)
	if code := decide(t, m.BaseURL(), "zed", consentURL, "approve", true); code != http.StatusOK && code != http.StatusSeeOther {
		t.Fatalf("approve: status %d", code)
	}
	status, token := mc.status(id)
	if status != "ISSUED" || token == "" {
		t.Fatalf("request status %s, token %q; want ISSUED", status, token)
	}
	secrets["issued token"] = token
	secrets["issued token signature"] = token[strings.LastIndex(token, ".")+1:]

	// Verification, through the API and the CLI, of the token and a
	// tampered copy.
	verify := `query($t: String!) { verifyAttestation(token: $t) { valid reason } }`
	mc.graphql(verify, map[string]any{"t": token})
	mc.graphql(verify, map[string]any{"t": tamper(token)})
	// The verify command prints the token's claims, which include the
	// postcode the client asked about, so its standard output is the
	// operator's reading of the token and not scanned; its logs are.
	_ = run(ctx, []string{"verify", "-jwks", m.BaseURL() + "/.well-known/jwks.json", token}, io.Discard, logger)
	err = run(ctx, []string{"verify", "-jwks", m.BaseURL() + "/.well-known/jwks.json", tamper(token)}, io.Discard, logger)
	if err == nil {
		t.Error("verify accepted a tampered token")
	} else {
		cliOut.WriteString(err.Error())
	}

	// Failed calls: a wrong API key that looks like a real one, and input
	// that carries personal data into a user error.
	wrongKey := "ik_live_" + strings.Repeat("q7", 16)
	secrets["rejected API key"] = wrongKey
	post := func(key, body string) {
		req, _ := http.NewRequest(http.MethodPost, m.BaseURL()+"/graphql", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+key)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	post(wrongKey, `{"query":"{ viewer { id } }"}`)
	badInput, _ := json.Marshal(map[string]any{"query": requestMutation, "variables": map[string]any{"input": map[string]any{
		"purpose": "Check", "claims": []any{map[string]any{"addressMatches": map[string]any{"postCode": "Zerelda Vantlebury 61 Quoddle Crescent"}}},
	}}})
	post(apiKey, string(badInput))
	post(apiKey, `{"query":"{ attestationRequest(id: \"req_unknown\") { id } }"}`)

	if err := m.Close(); err != nil {
		t.Errorf("close: %v", err)
	}

	tokens.mu.Lock()
	if len(tokens.tokens) == 0 {
		t.Error("no bank token crossed the bank's interface; the pull path did not run")
	}
	for tok := range tokens.tokens {
		secrets["bank token "+tok[:min(6, len(tok))]] = tok
	}
	tokens.mu.Unlock()

	all := output.String() + "\n" + cliOut.String()
	if !strings.Contains(all, `"customer_id":"zed"`) || !strings.Contains(all, "request_id") {
		t.Fatalf("captured output lacks the expected log lines; the scan would prove nothing:\n%.2000s", all)
	}
	for _, v := range seededValues {
		if line := lineWith(all, v.to); line != "" {
			t.Errorf("output contains the %s %q:\n%s", v.kind, v.to, line)
		}
	}
	for kind, secret := range secrets {
		if line := lineWith(all, secret); line != "" {
			t.Errorf("output contains the %s:\n%s", kind, line)
		}
	}
	t.Logf("scanned %d bytes of output for %d personal values and %d secrets", len(all), len(seededValues), len(secrets))
}

// lineWith returns the first line of text that contains value, or "".
func lineWith(text, value string) string {
	i := strings.Index(text, value)
	if i < 0 {
		return ""
	}
	start := strings.LastIndexByte(text[:i], '\n') + 1
	end := strings.IndexByte(text[i:], '\n')
	if end < 0 {
		return text[start:]
	}
	return text[start : i+end]
}
