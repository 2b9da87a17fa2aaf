package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwk"

	"github.com/openbanking-insights/insights"
	"github.com/openbanking-insights/insights/internal/attest"
	"github.com/openbanking-insights/insights/internal/bank"
	"github.com/openbanking-insights/insights/internal/categorize"
	"github.com/openbanking-insights/insights/internal/ingest"
	"github.com/openbanking-insights/insights/internal/store"
	"github.com/openbanking-insights/insights/internal/store/chdb"
)

// The end-to-end tests drive the binary's own entry points: the CLI
// commands through run and the server through Main, on the real embedded
// engine and real HTTP on 127.0.0.1.

const sampleDir = "../../testdata/sample"

func quietLogger() *slog.Logger {
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// cli runs an insights command and returns its standard output.
func cli(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var out bytes.Buffer
	err := run(context.Background(), args, &out, quietLogger())
	return out.String(), err
}

// openTestStorage opens the embedded storage of dataDir, migrated, as the
// commands open it. The caller closes it before running a command on the
// same directory.
func openTestStorage(t *testing.T, dataDir string) store.Engine {
	t.Helper()
	storage := storageConfig{DataDir: dataDir, Database: "insights"}
	engine, err := storage.open(context.Background(), quietLogger())
	if err != nil {
		t.Fatal(err)
	}
	return engine
}

func mustCLI(t *testing.T, args ...string) string {
	t.Helper()
	out, err := cli(t, args...)
	if err != nil {
		t.Fatalf("insights %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

func sampleFiles(customer string) []string {
	var files []string
	for _, name := range []string{"accounts.json", "balances.json", "party.json", "transactions.ndjson"} {
		files = append(files, filepath.Join(sampleDir, customer, name))
	}
	return files
}

// storedRows returns the `insights stats` figures of a table: rows after
// deduplication and rows physically stored.
func storedRows(t *testing.T, dataDir, table string) string {
	t.Helper()
	out := mustCLI(t, "stats", "-data", dataDir)
	for _, line := range strings.Split(out, "\n") {
		fields := strings.Fields(line)
		if len(fields) == 3 && fields[0] == table {
			return fields[1] + "/" + fields[2]
		}
	}
	t.Fatalf("stats has no row for %s:\n%s", table, out)
	return ""
}

func startServer(t *testing.T, dataDir string) *Main {
	t.Helper()
	return startServerAt(t, dataDir, "127.0.0.1:0")
}

// startServerAt starts the service on addr. A restart on the address of the
// previous run keeps the base URL, which the tokens' iss and status list
// URIs name.
func startServerAt(t *testing.T, dataDir, addr string) *Main {
	t.Helper()
	m := &Main{Logger: quietLogger(), Config: serveConfig{
		Storage:         storageConfig{DataDir: dataDir, Library: chdb.DefaultLibrary(), Database: "insights"},
		Addr:            addr,
		DevSignIn:       true,
		RequestTTL:      15 * time.Minute,
		TokenLifetime:   10 * time.Minute,
		SessionTTL:      15 * time.Minute,
		RefreshSchedule: "0 3 * * *",
	}}
	if err := m.Open(context.Background()); err != nil {
		t.Fatalf("start server: %v", err)
	}
	return m
}

// merchant calls the GraphQL API with a client's API key.
type merchant struct {
	t      *testing.T
	base   string
	apiKey string
}

func (mc merchant) graphql(query string, vars map[string]any) map[string]any {
	mc.t.Helper()
	body, _ := json.Marshal(map[string]any{"query": query, "variables": vars})
	req, _ := http.NewRequest(http.MethodPost, mc.base+"/graphql", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+mc.apiKey)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		mc.t.Fatalf("POST /graphql: %v", err)
	}
	defer resp.Body.Close()
	var out struct {
		Data   map[string]any `json:"data"`
		Errors []any          `json:"errors"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		mc.t.Fatalf("decode GraphQL response: %v", err)
	}
	if len(out.Errors) > 0 {
		mc.t.Fatalf("GraphQL errors: %v", out.Errors)
	}
	return out.Data
}

const requestMutation = `mutation($input: RequestAttestationInput!) {
  requestAttestation(input: $input) { attestationRequest { id status consentUrl } userErrors { field message } }
}`

const requestQuery = `query($id: ID!) { attestationRequest(id: $id) { status attestation { token claimNames } } }`

func (mc merchant) requestClaims() (id, consentURL string) {
	mc.t.Helper()
	data := mc.graphql(requestMutation, map[string]any{"input": map[string]any{
		"purpose": "Age and deposit check for your order",
		"claims": []any{
			map[string]any{"ageOver": map[string]any{"minimumAge": 18}},
			map[string]any{"fundsAtLeast": map[string]any{"amount": "500.00", "currency": "GBP"}},
			map[string]any{"addressMatches": map[string]any{"postCode": "ls6 2qt"}},
			map[string]any{"nextSalaryDate": map[string]any{}},
		},
	}})
	payload := data["requestAttestation"].(map[string]any)
	if errs := payload["userErrors"].([]any); len(errs) > 0 {
		mc.t.Fatalf("userErrors: %v", errs)
	}
	req := payload["attestationRequest"].(map[string]any)
	return req["id"].(string), req["consentUrl"].(string)
}

func (mc merchant) status(id string) (status, token string) {
	mc.t.Helper()
	req := mc.graphql(requestQuery, map[string]any{"id": id})["attestationRequest"].(map[string]any)
	if att, ok := req["attestation"].(map[string]any); ok {
		token = att["token"].(string)
	}
	return req["status"].(string), token
}

var csrfPattern = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)

// customer signs in through the development sign-in and decides on a
// request, as a browser without JavaScript would.
func decide(t *testing.T, base, customer, consentURL, action string, withCSRF bool) int {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	client := &http.Client{Jar: jar}
	next := strings.TrimPrefix(consentURL, base)
	resp, err := client.PostForm(base+"/consent/signin", url.Values{"customer": {customer}, "next": {next}})
	if err != nil {
		t.Fatalf("sign in: %v", err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !bytes.Contains(page, []byte("Over 18: yes")) {
		t.Fatalf("request page after sign-in: status %d\n%s", resp.StatusCode, page)
	}

	form := url.Values{}
	if m := csrfPattern.FindSubmatch(page); withCSRF && m != nil {
		form.Set("csrf_token", string(m[1]))
	}
	resp, err = client.PostForm(consentURL+"/"+action, form)
	if err != nil {
		t.Fatalf("%s: %v", action, err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// tamper changes one byte of a token's payload.
func tamper(token string) string {
	parts := strings.Split(token, ".")
	payload, _ := base64.RawURLEncoding.DecodeString(parts[1])
	i := bytes.Index(payload, []byte(`"age_over_18":true`)) + len(`"age_over_18":tru`)
	payload[i] = 'E' // "true" becomes "truE"
	parts[1] = base64.RawURLEncoding.EncodeToString(payload)
	return strings.Join(parts, ".")
}

func TestEndToEnd_approveVerifyRestart(t *testing.T) {
	dataDir := t.TempDir()

	// Load a demo customer's feed and register a merchant.
	out := mustCLI(t, append([]string{"ingest", "-data", dataDir, "-customer", "alice"}, sampleFiles("alice")...)...)
	if !strings.Contains(out, "transactions") {
		t.Fatalf("ingest output: %s", out)
	}
	before := storedRows(t, dataDir, "transactions")
	streamsBefore := storedRows(t, dataDir, "income_streams")
	keyFile := filepath.Join(dataDir, "shop.key")
	mustCLI(t, "clients", "add", "-data", dataDir, "-name", "Demo Shop", "-key-file", keyFile)
	apiKey, err := os.ReadFile(keyFile)
	if err != nil {
		t.Fatal(err)
	}

	m := startServer(t, dataDir)
	mc := merchant{t: t, base: m.BaseURL(), apiKey: strings.TrimSpace(string(apiKey))}
	jwks := m.BaseURL() + "/.well-known/jwks.json"

	// The merchant requests claims, the customer approves, and the merchant
	// fetches the token.
	id, consentURL := mc.requestClaims()
	if status, token := mc.status(id); status != "REQUESTED" || token != "" {
		t.Fatalf("before approval: status %s, token %q", status, token)
	}
	if code := decide(t, m.BaseURL(), "alice", consentURL, "approve", true); code != http.StatusOK {
		t.Fatalf("approve: status %d", code)
	}
	status, token := mc.status(id)
	if status != "ISSUED" || token == "" {
		t.Fatalf("after approval: status %s, token %q", status, token)
	}

	// The CLI verifies it against the JWK set and prints the claims.
	out = mustCLI(t, "verify", "-jwks", jwks, token)
	for _, want := range []string{`"age_over_18": true`, `"post_code": "ls6 2qt"`, `"date": "2026-12-24"`, `"result": true`} {
		if !strings.Contains(out, want) {
			t.Errorf("verify output lacks %s:\n%s", want, out)
		}
	}
	for _, secret := range []string{"birth", "LS6 2QT", "balance", "alice"} {
		if strings.Contains(out, secret) {
			t.Errorf("token discloses %q:\n%s", secret, out)
		}
	}
	if _, err := cli(t, "verify", "-jwks", jwks, tamper(token)); err == nil {
		t.Error("a token with a changed payload byte verified")
	}
	var exit exitError
	if _, err := cli(t, "verify", "-jwks", jwks, tamper(token)); !errors.As(err, &exit) || exit.code != 1 {
		t.Errorf("tampered token: error %v, want exit status 1", err)
	}

	// A second request is denied: no token.
	id2, consentURL2 := mc.requestClaims()
	if code := decide(t, m.BaseURL(), "alice", consentURL2, "deny", true); code != http.StatusOK {
		t.Fatalf("deny: status %d", code)
	}
	if status, token := mc.status(id2); status != "DENIED" || token != "" {
		t.Errorf("after denial: status %s, token %q", status, token)
	}

	// An approval without the CSRF token is rejected and issues nothing.
	id3, consentURL3 := mc.requestClaims()
	if code := decide(t, m.BaseURL(), "alice", consentURL3, "approve", false); code != http.StatusForbidden {
		t.Errorf("approve without CSRF token: status %d, want 403", code)
	}
	if status, _ := mc.status(id3); status != "REQUESTED" {
		t.Errorf("after forged approval: status %s, want REQUESTED", status)
	}

	// Restart: the data, keys and issued token survive; loading the same
	// files again stores nothing new.
	addr := m.Addr()
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	out = mustCLI(t, append([]string{"ingest", "-data", dataDir, "-customer", "alice"}, sampleFiles("alice")...)...)
	if strings.Count(out, "already loaded") != 4 {
		t.Errorf("second ingest did not skip every file:\n%s", out)
	}
	if after := storedRows(t, dataDir, "transactions"); after != before {
		t.Errorf("transactions after reloading: %s, before: %s", after, before)
	}
	if after := storedRows(t, dataDir, "income_streams"); after != streamsBefore {
		t.Errorf("income_streams after reloading: %s, before: %s", after, streamsBefore)
	}
	m = startServerAt(t, dataDir, addr)
	defer m.Close()
	mc.base = m.BaseURL()
	if status, again := mc.status(id); status != "ISSUED" || again != token {
		t.Errorf("after restart: status %s, token changed: %v", status, again != token)
	}
	jwks = m.BaseURL() + "/.well-known/jwks.json"
	if out := mustCLI(t, "verify", "-jwks", jwks, token); !strings.Contains(out, `"status": "valid"`) {
		t.Errorf("verify before revocation lacks status valid:\n%s", out)
	}

	// The customer revokes the proof on the consent pages: a form without
	// the CSRF token changes nothing, and one with it revokes the token.
	if code := revoke(t, m.BaseURL(), "alice", id, false); code != http.StatusForbidden {
		t.Errorf("revoke without CSRF token: status %d, want 403", code)
	}
	if out := mustCLI(t, "verify", "-jwks", jwks, token); !strings.Contains(out, `"status": "valid"`) {
		t.Errorf("verify after a forged revocation lacks status valid:\n%s", out)
	}
	if code := revoke(t, m.BaseURL(), "alice", id, true); code != http.StatusOK {
		t.Fatalf("revoke: status %d", code)
	}
	_, err = cli(t, "verify", "-jwks", jwks, token)
	if !errors.As(err, &exit) || exit.code != 1 || !strings.Contains(exit.msg, "revoked") {
		t.Errorf("verify of a revoked token: error %v, want exit status 1 reporting revoked", err)
	}
	mustCLI(t, "verify", "-status=false", "-jwks", jwks, token)
	if status, again := mc.status(id); status != "REVOKED" || again != "" {
		t.Errorf("after revocation: status %s, token returned: %v", status, again != "")
	}
	result := mc.graphql(verifyQuery, map[string]any{"token": token})["verifyAttestation"].(map[string]any)
	if result["valid"] != false || result["reason"] != "REVOKED" {
		t.Errorf("verifyAttestation of the revoked token = %v, want valid false, reason REVOKED", result)
	}
}

const verifyQuery = `query($token: String!) { verifyAttestation(token: $token) { valid reason claimNames } }`

// revoke signs customer in and revokes the proof of requestID through the
// consent pages: the confirmation page, then its form.
func revoke(t *testing.T, base, customer, requestID string, withCSRF bool) int {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	client := &http.Client{Jar: jar}
	path := "/consent/shared/" + requestID + "/revoke"
	resp, err := client.PostForm(base+"/consent/signin", url.Values{"customer": {customer}, "next": {path}})
	if err != nil {
		t.Fatalf("sign in: %v", err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return resp.StatusCode // the confirmation page itself was refused
	}

	form := url.Values{}
	if m := csrfPattern.FindSubmatch(page); withCSRF && m != nil {
		form.Set("csrf_token", string(m[1]))
	}
	resp, err = client.PostForm(base+path, form)
	if err != nil {
		t.Fatalf("revoke: %v", err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func TestIngest_corruptFileStoresNothing(t *testing.T) {
	dataDir := t.TempDir()
	mustCLI(t, append([]string{"ingest", "-data", dataDir, "-customer", "bob"}, sampleFiles("bob")...)...)
	before := storedRows(t, dataDir, "transactions")
	streamsBefore := storedRows(t, dataDir, "income_streams")

	// A copy of the feed with one amount broken in the middle of the file.
	data, err := os.ReadFile(filepath.Join(sampleDir, "bob", "transactions.ndjson"))
	if err != nil {
		t.Fatal(err)
	}
	lines := bytes.Split(data, []byte("\n"))
	mid := len(lines) / 2
	lines[mid] = regexp.MustCompile(`"Amount":"[0-9.]+"`).ReplaceAll(lines[mid], []byte(`"Amount":"12,30"`))
	bad := filepath.Join(t.TempDir(), "transactions-more.ndjson")
	if err := os.WriteFile(bad, bytes.Join(lines, []byte("\n")), 0o600); err != nil {
		t.Fatal(err)
	}

	out, err := cli(t, "ingest", "-data", dataDir, "-customer", "bob", bad)
	var exit exitError
	if !errors.As(err, &exit) || exit.code == 0 {
		t.Fatalf("corrupt file: error %v, want a non-zero exit", err)
	}
	for _, want := range []string{"rejected", "Amount", "12,30"} {
		if !strings.Contains(out, want) {
			t.Errorf("rejection message lacks %q:\n%s", want, out)
		}
	}
	if after := storedRows(t, dataDir, "transactions"); after != before {
		t.Errorf("transactions after the rejected file: %s, before: %s", after, before)
	}
	if after := storedRows(t, dataDir, "income_streams"); after != streamsBefore {
		t.Errorf("income_streams after the rejected file: %s, before: %s", after, streamsBefore)
	}
}

// An empty feed file is reported as holding no records, exits zero and
// stores nothing, not even a load.
func TestIngest_emptyFile(t *testing.T) {
	dataDir := t.TempDir()
	empty := filepath.Join(t.TempDir(), "transactions.ndjson")
	if err := os.WriteFile(empty, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		out := mustCLI(t, "ingest", "-data", dataDir, "-customer", "bob", empty)
		if !strings.Contains(out, empty+": no records, nothing stored") {
			t.Errorf("output lacks the no-records line:\n%s", out)
		}
		if strings.Contains(out, "deriving") {
			t.Errorf("an empty file started a derivation:\n%s", out)
		}
	}
	for _, table := range []string{"loads", "transactions"} {
		if got := storedRows(t, dataDir, table); got != "0/0" {
			t.Errorf("%s after the empty file: %s, want none", table, got)
		}
	}
}

func TestRun_unknownCommand(t *testing.T) {
	_, err := cli(t, "frobnicate")
	var exit exitError
	if !errors.As(err, &exit) || exit.code != 2 || !strings.Contains(exit.msg, `unknown command "frobnicate"`) {
		t.Errorf("error = %v, want exit status 2 naming the command", err)
	}
}

func TestEndToEnd_linkThroughDemoBank(t *testing.T) {
	dataDir := t.TempDir()
	secretFile := filepath.Join(dataDir, "bank-client.secret")
	cfg := bankConfig{ClientID: "insights-test", ClientSecretFile: secretFile, FinancialID: "0015800001041RTEST"}
	secret, err := cfg.secret()
	if err != nil {
		t.Fatal(err)
	}
	b, err := bank.New(bank.Options{DataDir: sampleDir, ClientID: cfg.ClientID, ClientSecret: secret,
		FinancialID: cfg.FinancialID, PageSize: 50, Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	bankServer := httptest.NewServer(b)
	defer bankServer.Close()

	start := func() *Main {
		m := &Main{Logger: quietLogger(), Config: serveConfig{
			Storage:    storageConfig{DataDir: dataDir, Library: chdb.DefaultLibrary(), Database: "insights"},
			Addr:       "127.0.0.1:0",
			RequestTTL: 15 * time.Minute, TokenLifetime: 10 * time.Minute, SessionTTL: 15 * time.Minute,
			RefreshSchedule: "0 3 * * *",
			Feeds:           feedsConfig{Bank: cfg, DemoBank: bankServer.URL, Refresh: "@every 6h", DemoLink: "alice,bob"},
		}}
		if err := m.Open(context.Background()); err != nil {
			t.Fatalf("start server: %v", err)
		}
		return m
	}

	// The first start links both customers and pulls their data.
	m := start()
	links, err := m.Feeds.Consents(context.Background(), "alice")
	if err != nil || len(links) != 1 || links[0].Status != "authorised" || links[0].LastOutcome != "complete" {
		t.Fatalf("alice's bank links = %+v, %v", links, err)
	}
	results, err := m.Deriver.Derive(context.Background(), "alice",
		[]insights.ClaimRequest{{Kind: insights.ClaimNextSalaryDate}}, time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC))
	if err != nil || !results[0].Available || results[0].NextDate.String() != "2026-12-24" {
		t.Errorf("alice's next salary from pulled data = %+v, %v", results, err)
	}
	m.Close()
	before := storedRows(t, dataDir, "transactions")
	if before == "0/0" {
		t.Fatal("no transactions stored by the pulls")
	}

	// A restart refreshes the links; the overlap window returns rows
	// already stored, and none is stored twice.
	m = start()
	m.Close()
	if after := storedRows(t, dataDir, "transactions"); after != before {
		t.Errorf("transactions after a restart: %s, before: %s", after, before)
	}
}

func TestRun_badHolidayCalendar(t *testing.T) {
	_, err := cli(t, "ingest", "-data", t.TempDir(), "-holidays", "atlantis", "-customer", "alice", "feed.ndjson")
	var exit exitError
	if !errors.As(err, &exit) || exit.code != 2 || !strings.Contains(exit.msg, `-holidays (INSIGHTS_HOLIDAYS) "atlantis"`) {
		t.Errorf("error = %v, want exit status 2 naming -holidays and the value", err)
	}
}

const sdjwtRequestQuery = `query($id: ID!) { attestationRequest(id: $id) { status attestation { token format } } }`

func TestEndToEnd_sdjwtKeyBinding(t *testing.T) {
	dataDir := t.TempDir()
	mustCLI(t, append([]string{"ingest", "-data", dataDir, "-customer", "alice"}, sampleFiles("alice")...)...)
	keyFile := filepath.Join(dataDir, "shop.key")
	mustCLI(t, "clients", "add", "-data", dataDir, "-name", "Demo Shop", "-key-file", keyFile)
	apiKey, err := os.ReadFile(keyFile)
	if err != nil {
		t.Fatal(err)
	}
	m := startServer(t, dataDir)
	defer m.Close()
	mc := merchant{t: t, base: m.BaseURL(), apiKey: strings.TrimSpace(string(apiKey))}
	jwks := m.BaseURL() + "/.well-known/jwks.json"
	clientID := mc.graphql(`{ viewer { id } }`, nil)["viewer"].(map[string]any)["id"].(string)

	// The merchant requests an SD-JWT VC bound to its own key.
	holder, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	holderJWK, err := jwk.FromRaw(&holder.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	holderJSON, err := json.Marshal(holderJWK)
	if err != nil {
		t.Fatal(err)
	}
	data := mc.graphql(requestMutation, map[string]any{"input": map[string]any{
		"purpose":   "Age and deposit check for your order",
		"format":    "SD_JWT",
		"holderKey": string(holderJSON),
		"claims": []any{
			map[string]any{"ageOver": map[string]any{"minimumAge": 18}},
			map[string]any{"fundsAtLeast": map[string]any{"amount": "500.00", "currency": "GBP"}},
		},
	}})
	payload := data["requestAttestation"].(map[string]any)
	if errs := payload["userErrors"].([]any); len(errs) > 0 {
		t.Fatalf("userErrors: %v", errs)
	}
	created := payload["attestationRequest"].(map[string]any)
	id, consentURL := created["id"].(string), created["consentUrl"].(string)

	// The customer approves and the merchant fetches the token.
	if code := decide(t, m.BaseURL(), "alice", consentURL, "approve", true); code != http.StatusOK {
		t.Fatalf("approve: status %d", code)
	}
	req := mc.graphql(sdjwtRequestQuery, map[string]any{"id": id})["attestationRequest"].(map[string]any)
	att, ok := req["attestation"].(map[string]any)
	if req["status"] != "ISSUED" || !ok {
		t.Fatalf("after approval: %v", req)
	}
	if att["format"] != "SD_JWT" {
		t.Errorf("attestation format = %v, want SD_JWT", att["format"])
	}
	token := att["token"].(string)
	if !strings.HasSuffix(token, "~") || strings.Count(token, "~") != 3 {
		t.Fatalf("token is not an SD-JWT with two disclosures: %d separators", strings.Count(token, "~"))
	}

	// verifyAttestation checks the SD-JWT with every disclosure and no KB-JWT.
	result := mc.graphql(verifyQuery, map[string]any{"token": token})["verifyAttestation"].(map[string]any)
	names, _ := json.Marshal(result["claimNames"])
	if result["valid"] != true || string(names) != `["age_over_18","funds_at_least"]` {
		t.Errorf("verifyAttestation of an SD-JWT = %v, want valid with both claims", result)
	}

	// The holder presents the age claim alone, bound to the verifier's nonce.
	const nonce = "Zx3kQ9_nonce-of-the-checkout"
	presented, err := attest.Present(token, []string{"age_over_18"}, holder, clientID, nonce)
	if err != nil {
		t.Fatalf("Present: %v", err)
	}
	out := mustCLI(t, "verify", "-jwks", jwks, "-nonce", nonce, "-audience", clientID, presented)
	for _, want := range []string{`"format": "sd-jwt"`, `"age_over_18": true`, `"status": "valid"`, `"nonce": "` + nonce + `"`} {
		if !strings.Contains(out, want) {
			t.Errorf("verify output lacks %s:\n%s", want, out)
		}
	}
	if strings.Contains(out, "funds_at_least") {
		t.Errorf("verify output shows funds_at_least, which the presentation left out:\n%s", out)
	}

	// A KB-JWT over another nonce, and a presentation without one, are
	// rejected when the verifier gave a nonce.
	other, err := attest.Present(token, []string{"age_over_18"}, holder, clientID, "another-nonce")
	if err != nil {
		t.Fatal(err)
	}
	bearer, err := attest.Present(token, []string{"age_over_18"}, nil, "", "")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, presentation, audience string
		wantMsg                      string
	}{
		{"other nonce", other, clientID, "nonce"},
		{"other audience", presented, "cli_someone_else", "aud"},
		{"no KB-JWT", bearer, clientID, "no KB-JWT"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := cli(t, "verify", "-jwks", jwks, "-nonce", nonce, "-audience", tt.audience, tt.presentation)
			var exit exitError
			if !errors.As(err, &exit) || exit.code != 1 {
				t.Fatalf("error = %v, want exit status 1", err)
			}
			if !strings.Contains(exit.msg, tt.wantMsg) {
				t.Errorf("message = %q, want it to mention %q", exit.msg, tt.wantMsg)
			}
		})
	}
}

func TestLoadOrCreateSecret_rejectsReadableFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "session.key")
	if _, err := loadOrCreateSecret(path); err != nil {
		t.Fatalf("create: %v", err)
	}
	if _, err := loadOrCreateSecret(path); err != nil {
		t.Fatalf("reload: %v", err)
	}
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := loadOrCreateSecret(path); err == nil || !strings.Contains(err.Error(), "chmod 600") {
		t.Errorf("group-readable secret: error %v, want one naming chmod 600", err)
	}
}

// A run killed after its load committed but before it derived income is
// completed by running it again, although the file is then skipped.
func TestIngest_rerunOfSkippedFileDerives(t *testing.T) {
	dataDir := t.TempDir()
	files := sampleFiles("bob")
	ctx := context.Background()

	storage := storageConfig{DataDir: dataDir, Library: chdb.DefaultLibrary(), Database: "insights"}
	engine, err := storage.open(ctx, quietLogger())
	if err != nil {
		t.Fatal(err)
	}
	loader := &ingest.Loader{Engine: engine, Categorizer: categorize.New(), Logger: quietLogger()}
	for _, f := range files {
		if _, err := loader.LoadFile(ctx, "bob", f); err != nil {
			t.Fatalf("load %s: %v", f, err)
		}
	}
	engine.Close()
	if got := storedRows(t, dataDir, "income_streams"); got != "0/0" {
		t.Fatalf("income_streams before the rerun: %s, want none", got)
	}

	out := mustCLI(t, append([]string{"ingest", "-data", dataDir, "-customer", "bob"}, files...)...)
	if !strings.Contains(out, "already loaded, skipped") {
		t.Errorf("rerun did not skip the loaded files:\n%s", out)
	}
	if got := storedRows(t, dataDir, "income_streams"); got == "0/0" {
		t.Errorf("income_streams after the rerun: %s, want the derived streams", got)
	}

	// With derivations newer than every load, a further rerun derives nothing.
	derived := storedRows(t, dataDir, "income_streams")
	mustCLI(t, append([]string{"ingest", "-data", dataDir, "-customer", "bob"}, files...)...)
	if got := storedRows(t, dataDir, "income_streams"); got != derived {
		t.Errorf("income_streams after a second rerun: %s, want %s unchanged", got, derived)
	}
}

func TestRun_ingestSummary(t *testing.T) {
	dataDir := t.TempDir()
	feed := `{"Account":{"AccountId":"A1","Status":"Enabled","Currency":"GBP","AccountType":"Personal","AccountSubType":"CurrentAccount"}}
{"Transaction":{"AccountId":"A1","TransactionId":"T1","CreditDebitIndicator":"Debit","Status":"Booked","BookingDateTime":"2026-11-02T10:00:00Z","Amount":{"Amount":"4.20","Currency":"GBP"}}}
{"Transaction":{"AccountId":"A1","TransactionId":"T2","CreditDebitIndicator":"Credit","Status":"Booked","BookingDateTime":"2026-11-03T10:00:00Z","Amount":{"Amount":"10.00","Currency":"GBP"}}}
`
	first := filepath.Join(dataDir, "first.ndjson")
	// The same records in other bytes, so the file is read again.
	again := filepath.Join(dataDir, "again.ndjson")
	if err := os.WriteFile(first, []byte(feed), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(again, []byte(feed+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		file, want string
	}{
		{first, "read 1 account, 0 balances, 0 parties and 2 transactions, of which 3 new or changed and 0 already stored"},
		{again, "read 1 account, 0 balances, 0 parties and 2 transactions, of which 0 new or changed and 3 already stored"},
	}
	for _, tt := range tests {
		out := mustCLI(t, "ingest", "-data", dataDir, "-customer", "alice", tt.file)
		if !strings.Contains(out, tt.file+": "+tt.want) {
			t.Errorf("ingest %s printed:\n%s\nwant a line with %q", filepath.Base(tt.file), out, tt.want)
		}
	}
}

func TestCommands_rejectStrayArgument(t *testing.T) {
	dataDir := t.TempDir()
	for _, args := range [][]string{
		{"pulls", "-data", dataDir, "alice"},
		{"stats", "-data", dataDir, "extra"},
		{"migrate", "extra", "-data", dataDir},
		{"quarantine", "list", "-data", dataDir, "extra"},
		{"keys", "list", "-data", dataDir, "extra"},
		{"sample", "extra"},
		{"serve", "-data", dataDir, "extra"},
		{"bank", "extra"},
	} {
		stray := "extra"
		if args[0] == "pulls" {
			stray = "alice"
		}
		_, err := cli(t, args...)
		var exit exitError
		if !errors.As(err, &exit) || exit.code != 2 || !strings.Contains(exit.msg, `unexpected argument "`+stray+`"`) {
			t.Errorf("insights %s: %v, want exit 2 naming %q", strings.Join(args, " "), err, stray)
		}
	}
}
