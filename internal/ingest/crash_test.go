package ingest

import (
	"bufio"
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// crashFeedSize is the number of transactions of the crash test's feed:
// enough for many staged batches and a commit that runs for a while.
const crashFeedSize = 200000

// buildCrashHelper builds the crashtest command into dir.
func buildCrashHelper(t *testing.T, dir string) string {
	t.Helper()
	bin := filepath.Join(dir, "crashtest")
	// The go command that runs this test is on PATH or in GOROOT/bin of
	// the environment `go test` sets.
	goTool, err := exec.LookPath("go")
	if err != nil {
		goTool = filepath.Join(os.Getenv("GOROOT"), "bin", "go")
	}
	out, err := exec.Command(goTool, "build", "-o", bin, "./internal/crashtest").CombinedOutput()
	if err != nil {
		t.Fatalf("build crashtest: %v\n%s", err, out)
	}
	return bin
}

// runHelper runs the helper to completion and returns its standard output.
func runHelper(t *testing.T, bin string, args ...string) string {
	t.Helper()
	cmd := exec.Command(bin, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("crashtest %s: %v\n%s", strings.Join(args, " "), err, tail(stderr.String()))
	}
	return stdout.String()
}

// killAt starts a load and kills it with SIGKILL when its log has printed
// the nth line containing marker. It fails the test when the load ends
// before that.
func killAt(t *testing.T, bin, dataDir, feed, marker string, nth int) {
	t.Helper()
	killCommandAt(t, exec.Command(bin, "load", "-data", dataDir, "-batch", "5000", feed), marker, nth)
}

// killCommandAt starts cmd and kills it with SIGKILL when its standard
// error has printed the nth line containing marker. It fails the test when
// cmd ends before that.
func killCommandAt(t *testing.T, cmd *exec.Cmd, marker string, nth int) {
	t.Helper()
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}

	seen := 0
	killed := false
	var log strings.Builder
	scanner := bufio.NewScanner(stderr)
	for scanner.Scan() {
		log.WriteString(scanner.Text() + "\n")
		if killed || !strings.Contains(scanner.Text(), marker) {
			continue
		}
		if seen++; seen == nth {
			if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
				t.Fatalf("SIGKILL: %v", err)
			}
			killed = true
		}
	}
	err = cmd.Wait()
	if !killed {
		t.Fatalf("load ended (%v) before log line %d containing %q:\n%s", err, nth, marker, tail(log.String()))
	}
	status, ok := err.(*exec.ExitError)
	if !ok || status.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Fatalf("load ended with %v, want killed by SIGKILL", err)
	}
}

func tail(s string) string {
	if len(s) > 4000 {
		return "..." + s[len(s)-4000:]
	}
	return s
}

func TestLoadFile_exactlyOnceAfterSIGKILL(t *testing.T) {
	if testing.Short() {
		t.Skip("runs several processes on a 200,000-transaction feed")
	}
	dir := t.TempDir()
	bin := buildCrashHelper(t, dir)
	feed := filepath.Join(dir, "feed.ndjson")
	writeFeed(t, feed, crashFeedSize)

	// A clean run in its own data directory is the reference.
	cleanDir := filepath.Join(dir, "clean")
	begin := time.Now()
	runHelper(t, bin, "load", "-data", cleanDir, "-batch", "5000", feed)
	t.Logf("clean load of %d transactions: %v", crashFeedSize, time.Since(begin))
	want := runHelper(t, bin, "dump", "-data", cleanDir)
	if !strings.Contains(want, "current_rows ") || strings.Contains(want, "current_rows 0\n") {
		t.Fatalf("clean run stored nothing:\n%s", want)
	}

	crashes := []struct {
		name   string
		marker string
		nth    int
	}{
		{"while staging", "staged batch", 10},
		{"when commit starts", "commit started", 1},
		{"when transactions commit", "committing staged transactions", 1},
		{"before attach", "attaching staged transactions", 1},
		{"after attach", "staged transactions attached", 1},
		{"after rows moved", "rows moved", 1},
	}
	for _, c := range crashes {
		t.Run(c.name, func(t *testing.T) {
			dataDir := filepath.Join(dir, strings.ReplaceAll(c.name, " ", "-"))
			killAt(t, bin, dataDir, feed, c.marker, c.nth)
			runHelper(t, bin, "load", "-data", dataDir, "-batch", "5000", feed)
			got := runHelper(t, bin, "dump", "-data", dataDir)
			if got != want {
				t.Errorf("after SIGKILL %s and a rerun:\n%s\nwant, as an uninterrupted run:\n%s", c.name, got, want)
			}
		})
	}
	if err := os.RemoveAll(dir); err != nil {
		t.Log(err)
	}
}
