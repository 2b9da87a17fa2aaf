package ingest

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/openbanking-insights/insights/internal/store"
	"github.com/openbanking-insights/insights/internal/store/chdb"
)

// The variables that make the test binary run TestSlicedCommitProcess as
// the process that TestCommit_exactlyOnceAfterSIGKILLBetweenSlices kills:
// the data directory and the feed to load.
const (
	slicedProcessDataVariable = "INSIGHTS_TEST_SLICED_COMMIT_DATA"
	slicedProcessFeedVariable = "INSIGHTS_TEST_SLICED_COMMIT_FEED"
)

// The crash test of sliced commits loads slicedCrashFeedSize transactions
// in slices of about slicedCrashRows, so its commit runs about six
// INSERT ... SELECT statements into transactions.
const (
	slicedCrashFeedSize = 50000
	slicedCrashRows     = 8000
)

// TestSlicedCommitProcess loads a feed in slices of slicedCrashRows into
// the embedded engine, when the test binary runs as a process of
// TestCommit_exactlyOnceAfterSIGKILLBetweenSlices. It stages and commits as
// LoadFile does, with the small slice size that LoadFile cannot set, and
// logs at debug level to standard error.
func TestSlicedCommitProcess(t *testing.T) {
	dataDir, feed := os.Getenv(slicedProcessDataVariable), os.Getenv(slicedProcessFeedVariable)
	if dataDir == "" || feed == "" {
		t.Skip("runs only as a process started by TestCommit_exactlyOnceAfterSIGKILLBetweenSlices")
	}
	ctx := context.Background()
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	// The database and customer are those that the crashtest command's dump
	// reads.
	engine, err := chdb.Open(ctx, chdb.Config{Path: dataDir, Database: "insights", Library: chdb.DefaultLibrary(), Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	defer engine.Close()
	if err := store.Migrate(ctx, engine, logger); err != nil {
		t.Fatal(err)
	}
	l := &Loader{Engine: engine, BatchSize: 5000, Logger: logger}
	if _, err := stageForCommit(t, l, "c1", feed, slicedCrashRows).Commit(ctx, nil); err != nil {
		t.Fatalf("Commit: %v", err)
	}
}

// appendLines appends NDJSON lines to the file at path.
func appendLines(t *testing.T, path string, lines ...string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString(strings.Join(lines, "\n") + "\n"); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

// slicedCommitCommand returns the command that runs TestSlicedCommitProcess
// on dataDir and feed in a new process of this test binary.
func slicedCommitCommand(dataDir, feed string) *exec.Cmd {
	cmd := exec.Command(os.Args[0], "-test.run=^TestSlicedCommitProcess$", "-test.count=1")
	cmd.Env = append(os.Environ(), slicedProcessDataVariable+"="+dataDir, slicedProcessFeedVariable+"="+feed)
	return cmd
}

func TestCommit_exactlyOnceAfterSIGKILLBetweenSlices(t *testing.T) {
	if testing.Short() {
		t.Skip("runs several processes on a 50,000-transaction feed")
	}
	dir := t.TempDir()
	bin := buildCrashHelper(t, dir)
	feed := filepath.Join(dir, "feed.ndjson")
	writeFeed(t, feed, slicedCrashFeedSize)
	// A second version of an entry of the file makes the first load move
	// its rows instead of attaching them.
	appendLines(t, feed, txLine("T10", "Booked", "Debit", "99.99", "2024-01-01T00:10:30.000Z"))

	// The reference is an uninterrupted load that moves all rows with one
	// statement.
	cleanDir := filepath.Join(dir, "clean")
	runHelper(t, bin, "load", "-data", cleanDir, "-batch", "5000", feed)
	want := runHelper(t, bin, "dump", "-data", cleanDir)
	if !strings.Contains(want, "current_rows ") || strings.Contains(want, "current_rows 0\n") {
		t.Fatalf("clean run stored nothing:\n%s", want)
	}

	// An uninterrupted sliced load must store the same.
	slicedDir := filepath.Join(dir, "sliced")
	if out, err := slicedCommitCommand(slicedDir, feed).CombinedOutput(); err != nil {
		t.Fatalf("sliced load: %v\n%s", err, tail(string(out)))
	} else if n := strings.Count(string(out), `"slice moved"`); n < 3 {
		t.Fatalf("sliced load moved %d slices, want at least 3:\n%s", n, tail(string(out)))
	}
	if got := runHelper(t, bin, "dump", "-data", slicedDir); got != want {
		t.Fatalf("sliced load stored:\n%s\nwant, as a load in one statement:\n%s", got, want)
	}

	for _, nth := range []int{1, 3} {
		t.Run(fmt.Sprintf("after slice %d", nth), func(t *testing.T) {
			dataDir := filepath.Join(dir, fmt.Sprintf("killed-%d", nth))
			killCommandAt(t, slicedCommitCommand(dataDir, feed), `msg="slice moved"`, nth)
			if killed := runHelper(t, bin, "dump", "-data", dataDir); strings.Contains(killed, "current_rows 0\n") || killed == want {
				t.Fatalf("killed load left no moved slice or every row stored, want part of the rows:\n%s", killed)
			}
			if out, err := slicedCommitCommand(dataDir, feed).CombinedOutput(); err != nil {
				t.Fatalf("rerun: %v\n%s", err, tail(string(out)))
			}
			if got := runHelper(t, bin, "dump", "-data", dataDir); got != want {
				t.Errorf("after SIGKILL after slice %d and a rerun:\n%s\nwant, as an uninterrupted run:\n%s", nth, got, want)
			}
		})
	}
}
