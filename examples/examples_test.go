// Package examples holds the end-to-end test of the merchant examples. It
// starts a real `insights serve` on 127.0.0.1 with a temporary data
// directory and drives each example through a whole flow. The test approves
// each request as the customer would, with the development sign-in.
package examples

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// service is a running `insights serve` and the binary it runs from.
type service struct {
	bin     string
	dataDir string
	baseURL string
}

// buildInsights builds bin/insights of this repository into dir.
func buildInsights(t *testing.T, dir string) string {
	t.Helper()
	bin := filepath.Join(dir, "insights")
	cmd := exec.Command("go", "build", "-o", bin, "./cmd/insights")
	cmd.Dir = ".."
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/insights: %v\n%s", err, out)
	}
	return bin
}

// cli runs an insights command against the data directory; args[0] is
// the command, and -data DIR is added after it.
func (s *service) cli(t *testing.T, args ...string) string {
	t.Helper()
	var full []string
	if args[0] == "clients" {
		full = append([]string{"clients", args[1], "-data", s.dataDir}, args[2:]...)
	} else {
		full = append([]string{args[0], "-data", s.dataDir}, args[1:]...)
	}
	out, err := exec.Command(s.bin, full...).CombinedOutput()
	if err != nil {
		t.Fatalf("insights %s: %v\n%s", strings.Join(full, " "), err, out)
	}
	return string(out)
}

// freePort returns a port on 127.0.0.1 that was free a moment ago.
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// startServe starts `insights serve` with the development sign-in on a
// free port and returns once it listens. It stops when the test ends.
func (s *service) startServe(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, s.bin, "serve", "-data", s.dataDir, "-addr", "127.0.0.1:0", "-dev-signin", "-key-rotation", "off")
	cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) }
	cmd.WaitDelay = 15 * time.Second
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cancel()
		_ = cmd.Wait()
	})

	serving := regexp.MustCompile(`msg=serving addr=(127\.0\.0\.1:\d+)`)
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			if m := serving.FindStringSubmatch(sc.Text()); m != nil {
				found <- m[1]
			}
		}
	}()
	select {
	case addr := <-found:
		s.baseURL = "http://" + addr
	case <-time.After(60 * time.Second):
		t.Fatal("insights serve did not log its address within 60s")
	}
}

// registerMerchant registers a sandbox merchant whose redirect URI is on a
// free port, and returns its API key and redirect URI.
func (s *service) registerMerchant(t *testing.T, name string) (apiKey, redirectURI string) {
	t.Helper()
	redirectURI = fmt.Sprintf("http://127.0.0.1:%d/callback", freePort(t))
	keyFile := filepath.Join(s.dataDir, strings.ReplaceAll(name, " ", "-")+".key")
	s.cli(t, "clients", "add", "-name", name, "-env", "sandbox", "-claims", "age_over",
		"-redirect-uris", redirectURI, "-contact", "ops@shop.example", "-key-file", keyFile)
	key, err := os.ReadFile(keyFile)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(key)), redirectURI
}

// approveAsCustomer signs in as alice, approves the request behind
// consentURL and follows the page's redirect back to the merchant, as a
// browser would. It returns the URL the customer was sent back to.
func approveAsCustomer(t *testing.T, consentURL string) string {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	browser := &http.Client{Jar: jar, Timeout: 30 * time.Second}
	u, err := url.Parse(consentURL)
	if err != nil {
		t.Fatal(err)
	}
	origin := u.Scheme + "://" + u.Host

	resp, err := browser.PostForm(origin+"/consent/signin", url.Values{"customer": {"alice"}, "next": {u.Path}})
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	m := regexp.MustCompile(`name="csrf_token" value="([^"]+)"`).FindSubmatch(page)
	if resp.StatusCode != http.StatusOK || m == nil {
		t.Fatalf("consent page after sign-in: status %d, no CSRF token:\n%s", resp.StatusCode, page)
	}

	resp, err = browser.PostForm(origin+u.Path+"/approve", url.Values{"csrf_token": {string(m[1])}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	refresh := resp.Header.Get("Refresh")
	target, ok := strings.CutPrefix(refresh, "0; url=")
	if resp.StatusCode != http.StatusOK || !ok {
		t.Fatalf("approve: status %d, Refresh %q; want 200 and a redirect back", resp.StatusCode, refresh)
	}

	resp, err = browser.Get(target)
	if err != nil {
		t.Fatalf("follow redirect back to %s: %v", target, err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("merchant callback %s: status %d: %s", target, resp.StatusCode, body)
	}
	return target
}

// lineWatcher collects a process's output and waits for lines.
type lineWatcher struct {
	mu    sync.Mutex
	lines []string
	added chan struct{}
}

func watchLines(r io.Reader) *lineWatcher {
	w := &lineWatcher{added: make(chan struct{}, 1)}
	go func() {
		sc := bufio.NewScanner(r)
		for sc.Scan() {
			w.mu.Lock()
			w.lines = append(w.lines, sc.Text())
			w.mu.Unlock()
			select {
			case w.added <- struct{}{}:
			default:
			}
		}
	}()
	return w
}

// wait returns the rest of the first line that starts with prefix.
func (w *lineWatcher) wait(t *testing.T, prefix string, timeout time.Duration) string {
	t.Helper()
	deadline := time.After(timeout)
	for {
		w.mu.Lock()
		for _, l := range w.lines {
			if rest, ok := strings.CutPrefix(l, prefix); ok {
				w.mu.Unlock()
				return rest
			}
		}
		w.mu.Unlock()
		select {
		case <-w.added:
		case <-deadline:
			t.Fatalf("no line starting with %q within %s; output:\n%s", prefix, timeout, w.text())
		}
	}
}

func (w *lineWatcher) text() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return strings.Join(w.lines, "\n")
}

// runMerchant runs one example against the service through a whole flow.
func runMerchant(t *testing.T, svc *service, cmd *exec.Cmd, apiKey, redirectURI string) {
	t.Helper()
	cmd.Env = append(os.Environ(), "INSIGHTS_API_KEY="+apiKey)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", cmd.Path, err)
	}
	out := watchLines(stdout)
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-exited
	})

	requestID := out.wait(t, "request_id: ", time.Minute)
	consentURL := out.wait(t, "consent_url: ", 10*time.Second)
	if consentURL != svc.baseURL+"/consent/requests/"+requestID {
		t.Errorf("consent_url = %q, want the service's page of %s", consentURL, requestID)
	}
	out.wait(t, "waiting for the customer at ", 10*time.Second)

	back := approveAsCustomer(t, consentURL)
	backURL, err := url.Parse(back)
	if err != nil {
		t.Fatal(err)
	}
	q := backURL.Query()
	if !strings.HasPrefix(back, redirectURI+"?") || q.Get("request_id") != requestID || q.Get("status") != "approved" || q.Get("state") == "" {
		t.Errorf("redirect back = %q, want %s with request_id, status approved and state", back, redirectURI)
	}

	select {
	case err := <-exited:
		exited <- err // for the cleanup
		if err != nil {
			t.Fatalf("merchant failed: %v\nstdout:\n%s\nstderr:\n%s", err, out.text(), stderr.String())
		}
	case <-time.After(2 * time.Minute):
		t.Fatalf("merchant did not finish within 2 minutes; stdout:\n%s", out.text())
	}
	// The scanner may still be reading the last lines after exit.
	claims := out.wait(t, "verified claims: ", 5*time.Second)
	for _, want := range []string{`"age_over_18":true`, `"env":"sandbox"`, `"iss":"` + svc.baseURL + `"`} {
		if !strings.Contains(claims, want) {
			t.Errorf("verified claims %s do not contain %s", claims, want)
		}
	}
	if !strings.Contains(out.text(), "status: VALID") {
		t.Errorf("output does not report the status list check:\n%s", out.text())
	}
}

// ensureNodeModules installs the Node example's pinned dependencies from
// package-lock.json when they are missing.
func ensureNodeModules(t *testing.T, dir string) {
	t.Helper()
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "jose", "package.json")); err == nil {
		return
	}
	cmd := exec.Command("npm", "ci", "--no-audit", "--no-fund")
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("npm ci in %s: %v\n%s", dir, err, out)
	}
}

func TestExamples_fullFlow(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the service and both examples")
	}
	for _, tool := range []string{"node", "npm", "go"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("the examples test needs %s on PATH: %v", tool, err)
		}
	}
	work := t.TempDir()
	svc := &service{bin: buildInsights(t, work), dataDir: filepath.Join(work, "data")}

	// Load the demo customer alice and register one sandbox merchant per
	// example, before serve opens the embedded engine.
	svc.cli(t, "migrate")
	var files []string
	for _, name := range []string{"accounts.json", "balances.json", "party.json", "transactions.ndjson"} {
		files = append(files, filepath.Join("..", "testdata", "sample", "alice", name))
	}
	svc.cli(t, append([]string{"ingest", "-customer", "alice"}, files...)...)
	svc.cli(t, "clients", "demo-customers", "alice")
	goKey, goRedirect := svc.registerMerchant(t, "Go Shop")
	nodeKey, nodeRedirect := svc.registerMerchant(t, "Node Shop")

	// Build the Go example as its own module, and install the Node one's
	// dependencies, before the service runs.
	goBin := filepath.Join(work, "go-merchant")
	build := exec.Command("go", "build", "-o", goBin, ".")
	build.Dir = "go-merchant"
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build examples/go-merchant: %v\n%s", err, out)
	}
	ensureNodeModules(t, "node-merchant")

	svc.startServe(t)

	t.Run("go", func(t *testing.T) {
		cmd := exec.Command(goBin, "-base-url", svc.baseURL, "-redirect-uri", goRedirect, "-timeout", "2m")
		runMerchant(t, svc, cmd, goKey, goRedirect)
	})
	t.Run("node", func(t *testing.T) {
		cmd := exec.Command("node", "merchant.mjs", "--base-url", svc.baseURL, "--redirect-uri", nodeRedirect, "--timeout", "120")
		cmd.Dir = "node-merchant"
		runMerchant(t, svc, cmd, nodeKey, nodeRedirect)
	})
}
