package main

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/openbanking-insights/insights"
	"github.com/openbanking-insights/insights/internal/store"
	"github.com/openbanking-insights/insights/internal/store/chdb"
	"github.com/openbanking-insights/insights/internal/store/storetest"
)

// TestServe_storageErrorsAtStart checks that serve fails at start with a
// message naming the path or address at fault and the cause.
func TestServe_storageErrorsAtStart(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "plain-file")
	if err := os.WriteFile(file, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	// A port that was free a moment ago: nothing listens there.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closedAddr := ln.Addr().String()
	ln.Close()

	tests := []struct {
		name string
		args []string
		want []string
	}{
		{"data directory is a file", []string{"-data", file}, []string{file, "is not a directory"}},
		{"data directory below a file", []string{"-data", filepath.Join(file, "data")}, []string{filepath.Join(file, "data"), "cannot be created", "not a directory"}},
		{"engine library missing", []string{"-data", filepath.Join(dir, "d1"), "-chdb-lib", filepath.Join(dir, "missing", "libchdb.so")},
			[]string{filepath.Join(dir, "missing", "libchdb.so"), "not found", "make engine"}},
		{"server unreachable", []string{"-data", filepath.Join(dir, "d2"), "-storage", "clickhouse://user:s3cret-pw@" + closedAddr + "/insights"},
			[]string{closedAddr, "connection refused"}},
		{"HTTP server unreachable", []string{"-data", filepath.Join(dir, "d3"), "-storage", "http://user:s3cret-pw@" + closedAddr + "/insights"},
			[]string{closedAddr, "connection refused"}},
		{"DSN scheme unknown", []string{"-data", filepath.Join(dir, "d4"), "-storage", "tcp://user:s3cret-pw@" + closedAddr + "/insights"},
			[]string{"-storage", "must start with clickhouse://, http:// or https://"}},
	}
	// The cases run the built binary, because the embedded engine loads its
	// library once per process and a failed load would stay for later tests.
	bin := insightsBinary(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append([]string{"serve", "-addr", "127.0.0.1:0"}, tt.args...)
			var stderr strings.Builder
			cmd := exec.Command(bin, args...)
			cmd.Stderr = &stderr
			err := cmd.Run()
			var exit *exec.ExitError
			if !errors.As(err, &exit) || exit.ExitCode() != 1 {
				t.Fatalf("serve: %v, want exit status 1\n%s", err, stderr.String())
			}
			for _, want := range tt.want {
				if !strings.Contains(stderr.String(), want) {
					t.Errorf("stderr %q does not contain %q", stderr.String(), want)
				}
			}
			if strings.Contains(stderr.String(), "s3cret-pw") {
				t.Errorf("stderr %q shows the DSN password", stderr.String())
			}
		})
	}
}

// faultEngine wraps an engine and fails every call with store.ErrUnavailable
// while down is set, as the ClickHouse server engine does when it loses its
// connection.
type faultEngine struct {
	store.Engine
	down atomic.Bool
}

var errInjected = errors.New("connection reset by peer (injected)")

func (e *faultEngine) fail() error {
	if e.down.Load() {
		return errors.Join(store.ErrUnavailable, errInjected)
	}
	return nil
}

func (e *faultEngine) Exec(ctx context.Context, query string, params ...store.Param) error {
	if err := e.fail(); err != nil {
		return err
	}
	return e.Engine.Exec(ctx, query, params...)
}

func (e *faultEngine) Query(ctx context.Context, query string, params ...store.Param) (store.Rows, error) {
	if err := e.fail(); err != nil {
		return nil, err
	}
	return e.Engine.Query(ctx, query, params...)
}

func (e *faultEngine) InsertArrow(ctx context.Context, table string, rec arrow.RecordBatch) error {
	if err := e.fail(); err != nil {
		return err
	}
	return e.Engine.InsertArrow(ctx, table, rec)
}

// TestServe_storageOutageAndRecovery runs the service over the real
// embedded engine behind faultEngine: during the outage GraphQL requests
// get 503 with Retry-After and /healthz reports unavailable, the log holds
// the cause, and once the engine answers again the same process serves
// without a restart.
func TestServe_storageOutageAndRecovery(t *testing.T) {
	engine := &faultEngine{Engine: storetest.New(t)}
	logs := &lockedBuffer{}
	logger := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	m := &Main{Logger: logger, Engine: engine, Config: serveConfig{
		Storage:         storageConfig{DataDir: t.TempDir(), Library: chdb.DefaultLibrary(), Database: engine.Database()},
		Addr:            "127.0.0.1:0",
		RequestTTL:      15 * time.Minute,
		TokenLifetime:   10 * time.Minute,
		SessionTTL:      15 * time.Minute,
		RefreshSchedule: "0 3 * * *",
	}}
	if err := m.Open(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	_, apiKey, err := m.Consent.RegisterClient(context.Background(), "Outage Shop", []insights.ClaimKind{insights.ClaimAgeOver})
	if err != nil {
		t.Fatal(err)
	}

	viewer := func() (*http.Response, string) {
		req, err := http.NewRequest(http.MethodPost, m.BaseURL()+"/graphql", strings.NewReader(`{"query":"{ viewer { id } }"}`))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+apiKey)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp, string(body)
	}
	health := func() int {
		resp, err := http.Get(m.BaseURL() + "/healthz")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}

	if resp, body := viewer(); resp.StatusCode != http.StatusOK {
		t.Fatalf("before the outage: %d %s", resp.StatusCode, body)
	}

	engine.down.Store(true)
	resp, body := viewer()
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" {
		t.Errorf("during the outage: status %d, Retry-After %q; want 503 with Retry-After: %s", resp.StatusCode, resp.Header.Get("Retry-After"), body)
	}
	var decoded struct {
		Errors []struct {
			Extensions map[string]any `json:"extensions"`
		} `json:"errors"`
	}
	if err := json.Unmarshal([]byte(body), &decoded); err != nil || len(decoded.Errors) != 1 || decoded.Errors[0].Extensions["code"] != "UNAVAILABLE" {
		t.Errorf("during the outage: body %s, want one UNAVAILABLE error", body)
	}
	if strings.Contains(body, "injected") {
		t.Errorf("response shows the cause: %s", body)
	}
	if code := health(); code != http.StatusServiceUnavailable {
		t.Errorf("/healthz during the outage: %d, want 503", code)
	}
	if !strings.Contains(logs.String(), "injected") {
		t.Errorf("log lacks the cause of the outage:\n%s", logs.String())
	}

	engine.down.Store(false)
	if resp, body := viewer(); resp.StatusCode != http.StatusOK {
		t.Errorf("after the outage: %d %s, want 200 without a restart", resp.StatusCode, body)
	}
	if code := health(); code != http.StatusOK {
		t.Errorf("/healthz after the outage: %d, want 200", code)
	}
}
