package main

import (
	"bufio"
	"context"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// TestServe_sigtermDrainsSlowRequest starts the real binary, begins a
// request whose body arrives slowly, sends SIGTERM in the middle of it,
// and checks that the server stops accepting connections, still answers
// the request in flight, and exits with status 0.
func TestServe_sigtermDrainsSlowRequest(t *testing.T) {
	p := startServe(t, t.TempDir())

	body := `{"query":"{ __typename }"}`
	conn, err := net.Dial("tcp", p.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	head := "POST /graphql HTTP/1.1\r\nHost: " + p.addr + "\r\nContent-Type: application/json\r\n" +
		"Content-Length: " + strconv.Itoa(len(body)) + "\r\nConnection: close\r\n\r\n"
	if _, err := conn.Write([]byte(head + body[:10])); err != nil {
		t.Fatal(err)
	}
	// Give the server time to read the headers, which makes the
	// connection active, so that shutdown waits for it.
	time.Sleep(300 * time.Millisecond)

	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}

	// New connections are refused once the listener is closed.
	refused := false
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		c, err := net.DialTimeout("tcp", p.addr, time.Second)
		if err != nil {
			refused = true
			break
		}
		c.Close()
	}
	if !refused {
		t.Error("server still accepts connections 5s after SIGTERM")
	}

	// The request in flight completes.
	time.Sleep(500 * time.Millisecond)
	if _, err := conn.Write([]byte(body[10:])); err != nil {
		t.Fatalf("write the rest of the body after SIGTERM: %v", err)
	}
	if err := conn.SetReadDeadline(time.Now().Add(30 * time.Second)); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("read the response of the request in flight: %v\n%s", err, p.stderr.String())
	}
	defer resp.Body.Close()
	var got strings.Builder
	if _, err := bufio.NewReader(resp.Body).WriteTo(&got); err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK || !strings.Contains(got.String(), `"__typename":"Query"`) {
		t.Errorf("request in flight: status %d body %s, want 200 with __typename", resp.StatusCode, got.String())
	}

	if code := p.wait(t, 60*time.Second); code != 0 {
		t.Errorf("exit status %d after SIGTERM, want 0\n%s", code, p.stderr.String())
	}
	logs := p.stderr.String()
	for _, want := range []string{"msg=\"shutting down\"", "msg=\"in-flight requests drained\""} {
		if !strings.Contains(logs, want) {
			t.Errorf("stderr lacks %s\n%s", want, logs)
		}
	}
}

// TestServe_shutdownDeadline checks that a request still in flight at
// -shutdown-timeout makes the process exit non-zero with the reason
// logged, instead of hanging.
func TestServe_shutdownDeadline(t *testing.T) {
	p := startServe(t, t.TempDir(), "-shutdown-timeout", "1s")

	conn, err := net.Dial("tcp", p.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	head := "POST /graphql HTTP/1.1\r\nHost: " + p.addr + "\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"
	if _, err := conn.Write([]byte(head)); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond)
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	code := p.wait(t, 60*time.Second)
	if code == 0 {
		t.Errorf("exit status 0 with a request cut off at the deadline, want non-zero")
	}
	if elapsed := time.Since(start); elapsed > 20*time.Second {
		t.Errorf("exit took %s with -shutdown-timeout 1s", elapsed)
	}
	if logs := p.stderr.String(); !strings.Contains(logs, "in-flight requests still running at the shutdown deadline") {
		t.Errorf("stderr does not state the cut-off request\n%s", logs)
	}
}

// TestClose_waitsForRunningJob checks that Close lets a scheduled job that
// is running finish before it closes storage, and that it returns no error.
func TestClose_waitsForRunningJob(t *testing.T) {
	m := startServer(t, t.TempDir())

	started := make(chan struct{})
	var finished atomic.Bool
	var once sync.Once
	if _, err := m.jobs.AddFunc("@every 1s", func() {
		once.Do(func() {
			close(started)
			time.Sleep(2 * time.Second)
			// The job still reads storage at its end, as an ingest load
			// committing its last batch would.
			rows, err := m.Engine.Query(context.Background(), "SELECT 1")
			if err == nil {
				rows.Close()
				finished.Store(true)
			}
		})
	}); err != nil {
		t.Fatal(err)
	}
	select {
	case <-started:
	case <-time.After(10 * time.Second):
		t.Fatal("the job did not start")
	}

	if err := m.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	if !finished.Load() {
		t.Error("Close returned before the running job finished its storage query")
	}
}
