package main

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sync"
	"testing"
	"time"
)

// The process tests run the real binary, built once per test run, so that
// signals, exit codes and everything the process writes to stderr are the
// ones an operator sees.

var (
	buildOnce sync.Once
	binDir    string
	binPath   string
	buildErr  error
)

// TestMain removes the binary that the process tests built.
func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// insightsBinary builds cmd/insights into a temporary directory on first
// use and returns its path.
func insightsBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "insights-process-test-")
		if err != nil {
			buildErr = err
			return
		}
		binDir = dir
		binPath = filepath.Join(dir, "insights")
		out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

// lockedBuffer collects a process's stderr while the test reads it.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// serveProcess is a running `insights serve`.
type serveProcess struct {
	cmd    *exec.Cmd
	addr   string
	stderr *lockedBuffer
	done   chan struct{}
	err    error // the result of Wait, set before done closes
}

var servingAddr = regexp.MustCompile(`msg=serving addr=(127\.0\.0\.1:\d+)`)

// startServe starts the binary's serve command on a free port of
// 127.0.0.1 with debug logging, and waits until it logs its address.
func startServe(t *testing.T, dataDir string, args ...string) *serveProcess {
	t.Helper()
	bin := insightsBinary(t)
	cmd := exec.Command(bin, append([]string{"serve", "-addr", "127.0.0.1:0", "-data", dataDir}, args...)...)
	cmd.Env = append(os.Environ(), "INSIGHTS_LOG_LEVEL=debug")
	p := &serveProcess{cmd: cmd, stderr: &lockedBuffer{}, done: make(chan struct{})}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout = p.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := make(chan string, 64)
	go func() {
		sc := bufio.NewScanner(io.TeeReader(stderr, p.stderr))
		sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
		for sc.Scan() {
			select {
			case lines <- sc.Text():
			default:
			}
		}
		p.err = p.cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			_ = p.cmd.Process.Kill()
			<-p.done
		}
	})

	deadline := time.After(2 * time.Minute)
	for {
		select {
		case line := <-lines:
			if m := servingAddr.FindStringSubmatch(line); m != nil {
				p.addr = m[1]
				return p
			}
		case <-p.done:
			t.Fatalf("insights serve exited before serving: %v\n%s", p.err, p.stderr.String())
		case <-deadline:
			t.Fatalf("insights serve did not log its address within 2 minutes\n%s", p.stderr.String())
		}
	}
}

// wait waits for the process to exit and returns its exit code.
func (p *serveProcess) wait(t *testing.T, timeout time.Duration) int {
	t.Helper()
	select {
	case <-p.done:
	case <-time.After(timeout):
		t.Fatalf("process still running %s after the signal\n%s", timeout, p.stderr.String())
	}
	if p.cmd.ProcessState == nil {
		t.Fatalf("no exit status: %v", p.err)
	}
	return p.cmd.ProcessState.ExitCode()
}
