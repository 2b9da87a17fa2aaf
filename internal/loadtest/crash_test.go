package loadtest

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/openbanking-insights/insights/internal/store"
	"github.com/openbanking-insights/insights/internal/store/chdb"
)

// buildService builds cmd/insights into dir.
func buildService(t *testing.T, dir string) string {
	t.Helper()
	bin := filepath.Join(dir, "insights")
	goTool, err := exec.LookPath("go")
	if err != nil {
		goTool = filepath.Join(os.Getenv("GOROOT"), "bin", "go")
	}
	if out, err := exec.Command(goTool, "build", "-o", bin, "../../cmd/insights").CombinedOutput(); err != nil {
		t.Fatalf("build insights: %v\n%s", err, out)
	}
	return bin
}

// prepareSmall generates a small data set and registers the load client.
func prepareSmall(t *testing.T, bin, dataDir string) string {
	t.Helper()
	ctx := context.Background()
	if err := Generate(ctx, dataDir, chdb.DefaultLibrary(), Spec{Customers: 40, TransactionsPerCustomer: 50}, quiet()); err != nil {
		t.Fatal(err)
	}
	keyFile := filepath.Join(dataDir, "load.key")
	cmd := exec.Command(bin, "clients", "add", "-data", dataDir, "-name", "Crash test merchant", "-key-file", keyFile)
	cmd.Env = append(os.Environ(), "INSIGHTS_CHDB_LIB="+chdb.DefaultLibrary())
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("clients add: %v\n%s", err, out)
	}
	key, err := os.ReadFile(keyFile)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(key))
}

// issuedToken is a token the service returned to the merchant.
type issuedToken struct{ requestID, jti, token string }

// issueUntilKilled runs flows from workers goroutines until the server
// is killed, killing it with SIGKILL once at least killAfter tokens were
// returned, and returns every token returned before the kill.
func issueUntilKilled(t *testing.T, srv *Server, d *Driver, sessions []*Session, workers, killAfter int) []issuedToken {
	t.Helper()
	var mu sync.Mutex
	var tokens []issuedToken
	killed := make(chan struct{})
	var once sync.Once
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-killed:
					return
				default:
				}
				res := d.Flow(context.Background(), sessions[(w+i*workers)%len(sessions)])
				if res.FailedStep != "" {
					select {
					case <-killed:
						return
					default:
						t.Errorf("flow failed before the kill at %s: %v", res.FailedStep, res.Err)
						return
					}
				}
				mu.Lock()
				tokens = append(tokens, issuedToken{res.RequestID, res.JTI, res.Token})
				n := len(tokens)
				mu.Unlock()
				if n >= killAfter {
					// Kill while the other workers are mid-flow, so some
					// issuances are cut between their inserts.
					once.Do(func() {
						close(killed)
						srv.Kill()
					})
				}
			}
		}()
	}
	wg.Wait()
	mu.Lock()
	defer mu.Unlock()
	return tokens
}

func TestSIGKILLDuringIssuance_noTokenLost(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the service and kills it; skipped with -short")
	}
	dir := t.TempDir()
	bin := buildService(t, dir)
	dataDir := filepath.Join(dir, "data")
	apiKey := prepareSmall(t, bin, dataDir)
	addr, err := freeAddr()
	if err != nil {
		t.Fatal(err)
	}
	var serverLog bytes.Buffer
	cfg := ServerConfig{Binary: bin, DataDir: dataDir, Library: chdb.DefaultLibrary(), Addr: addr, Log: &lockedWriter{w: &serverLog}}

	srv, err := StartServer(context.Background(), cfg)
	if err != nil {
		t.Fatalf("%v\n%s", err, serverLog.String())
	}
	d := NewDriver(srv.Base, apiKey, 30*time.Second)
	sessions := signInAll(t, d, 8)
	tokens := issueUntilKilled(t, srv, d, sessions, 6, 25)
	if len(tokens) < 25 {
		t.Fatalf("only %d tokens returned before the kill", len(tokens))
	}
	t.Logf("%d tokens returned before SIGKILL", len(tokens))

	// Restart on the same address, so the tokens' issuer and status list
	// URIs stay valid, and issue more.
	srv, err = StartServer(context.Background(), cfg)
	if err != nil {
		t.Fatalf("restart after SIGKILL: %v\n%s", err, serverLog.String())
	}
	d = NewDriver(srv.Base, apiKey, 30*time.Second)
	sessions = signInAll(t, d, 4)
	for i := 0; i < 5; i++ {
		res := d.Flow(context.Background(), sessions[i%len(sessions)])
		if res.FailedStep != "" {
			t.Fatalf("flow after restart failed at %s: %v", res.FailedStep, res.Err)
		}
		tokens = append(tokens, issuedToken{res.RequestID, res.JTI, res.Token})
	}

	// Each returned token is served again and verifies, with its status
	// list entry, against the restarted service.
	for _, tok := range tokens {
		var got struct {
			AttestationRequest struct {
				Status      string
				Attestation *struct{ Token, JTI string }
			}
		}
		if err := d.graphql(context.Background(), fetchQuery, map[string]any{"id": tok.requestID}, &got); err != nil {
			t.Fatalf("fetch %s after restart: %v", tok.requestID, err)
		}
		if a := got.AttestationRequest.Attestation; got.AttestationRequest.Status != "ISSUED" || a == nil || a.Token != tok.token {
			t.Errorf("request %s after restart: status %s, same token %v", tok.requestID, got.AttestationRequest.Status, a != nil && a.Token == tok.token)
		}
		var verified struct {
			VerifyAttestation struct {
				Valid  bool
				Reason *string
			}
		}
		if err := d.graphql(context.Background(), `query($t: String!) { verifyAttestation(token: $t) { valid reason } }`,
			map[string]any{"t": tok.token}, &verified); err != nil {
			t.Fatalf("verify %s: %v", tok.jti, err)
		}
		if !verified.VerifyAttestation.Valid {
			t.Errorf("token %s does not verify after restart: reason %v", tok.jti, verified.VerifyAttestation.Reason)
		}
	}
	if err := srv.Stop(); err != nil {
		t.Logf("stop: %v", err)
	}

	checkStoredTokens(t, dataDir, tokens)
}

// checkStoredTokens opens the data directory after the service stopped
// and checks the rows of every returned token: one attestation row, one
// issued and one approved audit row, and a status list entry that was
// counted as allocated and that no other token has.
func checkStoredTokens(t *testing.T, dataDir string, tokens []issuedToken) {
	t.Helper()
	ctx := context.Background()
	e, err := chdb.Open(ctx, chdb.Config{Path: filepath.Join(dataDir, "chdb"), Database: "insights", Library: chdb.DefaultLibrary(), Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()

	for _, tok := range tokens {
		id, jti := store.P("id", tok.requestID), store.P("jti", tok.jti)
		if n := count(t, e, "SELECT toInt64(count()) FROM attestations WHERE jti = {jti:String}", jti); n != 1 {
			t.Errorf("token %s: %d attestation rows, want 1", tok.jti, n)
		}
		for _, action := range []string{"approved", "issued"} {
			n := count(t, e, "SELECT toInt64(count()) FROM audit_log WHERE request_id = {id:String} AND action = {a:String}", id, store.P("a", action))
			if n != 1 {
				t.Errorf("request %s: %d %q audit rows, want 1", tok.requestID, n, action)
			}
		}
		allocated := count(t, e, `SELECT toInt64(countIf(a.status_idx < l.next_idx)) FROM attestations AS a
INNER JOIN (SELECT list_id, max(next_idx) AS next_idx FROM status_lists GROUP BY list_id) AS l ON l.list_id = a.status_list_id
WHERE a.jti = {jti:String} AND a.status_list_id > 0`, jti)
		if allocated != 1 {
			t.Errorf("token %s: its status list entry is not below the list's stored counter", tok.jti)
		}
	}
	cut := count(t, e, `SELECT toInt64(count()) FROM (SELECT request_id FROM consent_events GROUP BY request_id
HAVING argMax(event, seq) IN ('opened', 'approved'))`)
	t.Logf("%d requests were opened or approved but not issued when the service was killed", cut)
	if n := count(t, e, "SELECT toInt64(count() - uniqExact(jti)) FROM attestations"); n != 0 {
		t.Errorf("%d attestation rows are doubled", n)
	}
	if n := count(t, e, "SELECT toInt64(count() - uniqExact(status_list_id, status_idx)) FROM attestations WHERE status_list_id > 0"); n != 0 {
		t.Errorf("%d attestations share a status list entry with another", n)
	}
	if n := count(t, e, "SELECT toInt64(count() - uniqExact(request_id, seq)) FROM consent_events"); n != 0 {
		t.Errorf("%d consent events are doubled", n)
	}
}

func count(t *testing.T, e store.Engine, query string, params ...store.Param) int64 {
	t.Helper()
	rows, err := e.Query(context.Background(), query, params...)
	if err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	defer rows.Close()
	var n int64
	if rows.Next() {
		if err := rows.Scan(&n); err != nil {
			t.Fatal(err)
		}
	}
	return n
}

func signInAll(t *testing.T, d *Driver, n int) []*Session {
	t.Helper()
	var out []*Session
	for i := 0; i < n; i++ {
		s, err := d.SignIn(context.Background(), CustomerID(i))
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, s)
	}
	return out
}

// lockedWriter serialises writes from the service's output goroutine and
// reads by the test.
type lockedWriter struct {
	mu sync.Mutex
	w  *bytes.Buffer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
