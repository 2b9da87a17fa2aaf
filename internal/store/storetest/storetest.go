// Package storetest gives tests a real ClickHouse and a fresh, migrated
// database per test. By default it is the embedded engine: one chDB engine
// per test binary (chDB allows one data directory per process). With
// INSIGHTS_TEST_CLICKHOUSE_DSN set, every test using New runs on that
// ClickHouse server through internal/store/chserver instead, and with
// INSIGHTS_TEST_CLICKHOUSE_CLUSTER also set, on that cluster in the cluster
// schema, so the same tests cover both engines. The DSN embedded-http
// selects a ClickHouse HTTP interface served on 127.0.0.1 by the embedded
// engine itself (internal/store/chhttptest), which needs no server:
//
//	go test ./...
//	INSIGHTS_TEST_CLICKHOUSE_DSN=embedded-http go test ./...
//	INSIGHTS_TEST_CLICKHOUSE_DSN=clickhouse://localhost:9000 go test ./...
package storetest

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/openbanking-insights/insights/internal/store"
	"github.com/openbanking-insights/insights/internal/store/chdb"
	"github.com/openbanking-insights/insights/internal/store/chhttptest"
)

var (
	once    sync.Once
	root    *chdb.Engine
	rootErr error
	counter atomic.Int64
)

var unsafeChars = regexp.MustCompile(`[^A-Za-z0-9_]+`)

// New returns an engine on a new database, with all migrations applied,
// dropped when the test ends. It fails the test when libchdb.so is missing.
func New(t testing.TB) store.Engine {
	t.Helper()
	if os.Getenv(ServerDSNVariable) != "" {
		return NewServer(t, os.Getenv(ClusterVariable))
	}
	return NewEmbedded(t)
}

// NewEmbedded returns an engine of the embedded engine on a new, migrated
// database, whatever the environment says.
func NewEmbedded(t testing.TB) store.Engine {
	t.Helper()
	ctx := context.Background()
	once.Do(openRoot)
	if rootErr != nil {
		t.Fatalf("embedded ClickHouse: %v", rootErr)
	}

	name := strings.ToLower(unsafeChars.ReplaceAllString(t.Name(), "_"))
	if len(name) > 40 {
		name = name[:40]
	}
	db := fmt.Sprintf("t%d_%s", counter.Add(1), name)
	e, err := root.WithDatabase(ctx, db)
	if err != nil {
		t.Fatalf("create test database: %v", err)
	}
	// Migrations are not logged: benchmarks make a test database per run,
	// and the records would bury their result lines.
	if err := store.Migrate(ctx, e, slog.New(slog.DiscardHandler)); err != nil {
		t.Fatalf("migrate test database: %v", err)
	}
	t.Cleanup(func() {
		if err := e.Exec(context.Background(), "DROP DATABASE IF EXISTS "+db); err != nil {
			t.Logf("drop test database %s: %v", db, err)
		}
		e.Close()
	})
	return e
}

// openRoot opens the embedded engine on the data directory the embedded
// HTTP server also uses, because chDB allows one per process.
func openRoot() {
	dataDir, err := chhttptest.SharedDataDir()
	if err != nil {
		rootErr = err
		return
	}
	root, rootErr = chdb.Open(context.Background(), chdb.Config{
		Path:     dataDir,
		Database: "insights_test",
		Library:  chdb.DefaultLibrary(),
	})
}

// Main runs the tests of a package, then stops the embedded HTTP server if
// a test started it and removes the engine's temporary data directory. Call
// it from TestMain.
func Main(m *testing.M) {
	code := m.Run()
	if root != nil {
		root.Close()
	}
	chhttptest.CloseShared()
	os.Exit(code)
}
