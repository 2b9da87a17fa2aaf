package chhttptest

import (
	"fmt"
	"log/slog"
	"os"
	"sync"

	"github.com/openbanking-insights/insights/internal/store/chdb"
)

// EmbeddedDSN is the value of INSIGHTS_TEST_CLICKHOUSE_DSN that selects the
// process's shared server instead of an external ClickHouse server.
const EmbeddedDSN = "embedded-http"

// The process-wide server and its data directory. chDB allows one data
// directory per process, so the embedded engine of internal/store/storetest
// and this server share SharedDataDir.
var shared struct {
	mu        sync.Mutex
	dir       string
	server    *Server
	serverErr error
	started   bool
}

// SharedDataDir returns the process's temporary chDB data directory,
// creating it on first use. CloseShared removes it.
func SharedDataDir() (string, error) {
	shared.mu.Lock()
	defer shared.mu.Unlock()
	return sharedDataDirLocked()
}

func sharedDataDirLocked() (string, error) {
	if shared.dir != "" {
		return shared.dir, nil
	}
	dir, err := os.MkdirTemp("", "insights-chdb-test-")
	if err != nil {
		return "", fmt.Errorf("create chDB test data directory: %w", err)
	}
	shared.dir = dir
	return dir, nil
}

// Shared returns the process's server on SharedDataDir, started on first
// use with the library chdb.DefaultLibrary names. Later calls return the
// same server, or the same error.
func Shared() (*Server, error) {
	shared.mu.Lock()
	defer shared.mu.Unlock()
	if shared.started {
		return shared.server, shared.serverErr
	}
	shared.started = true
	dir, err := sharedDataDirLocked()
	if err != nil {
		shared.serverErr = err
		return nil, err
	}
	shared.server, shared.serverErr = Start(Config{
		Library: chdb.DefaultLibrary(),
		Path:    dir,
		Logger:  slog.New(slog.DiscardHandler),
	})
	return shared.server, shared.serverErr
}

// CloseShared stops the shared server and removes SharedDataDir. Call it
// from TestMain after m.Run, once every engine on that directory is closed.
func CloseShared() {
	shared.mu.Lock()
	defer shared.mu.Unlock()
	if shared.server != nil {
		if err := shared.server.Close(); err != nil {
			fmt.Fprintf(os.Stderr, "chhttptest: %v\n", err)
		}
		shared.server = nil
	}
	if shared.dir != "" {
		os.RemoveAll(shared.dir)
		shared.dir = ""
	}
}
