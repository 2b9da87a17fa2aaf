package loadtest

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Server is a running `insights serve` process.
type Server struct {
	cmd  *exec.Cmd
	Base string // http://127.0.0.1:port
	done chan error
}

// ServerConfig starts a service.
type ServerConfig struct {
	Binary  string // the insights binary
	DataDir string
	Library string // libchdb.so
	// Addr is host:port to listen on; empty picks a free port on 127.0.0.1.
	Addr string
	// Log receives the service's standard error; nil discards it.
	Log io.Writer
	// Args are further flags of `insights serve`, after the ones
	// StartServer sets, such as -max-in-flight 0.
	Args []string
}

// StartServer starts the service with the development sign-in and waits
// until /healthz answers 200.
func StartServer(ctx context.Context, cfg ServerConfig) (*Server, error) {
	addr := cfg.Addr
	if addr == "" {
		var err error
		if addr, err = freeAddr(); err != nil {
			return nil, err
		}
	}
	// Every flow comes from 127.0.0.1 with one client, so the per-IP and
	// per-client rate limits are off: they would cap the run at their
	// rates and measure the limiter, not issuance.
	cmd := exec.Command(cfg.Binary, "serve", "-data", cfg.DataDir, "-addr", addr, "-dev-signin",
		"-session-ttl", "24h", "-request-ttl", "1h", "-key-rotation", "off",
		"-rate-limit-client", "0", "-rate-limit-ip", "0")
	cmd.Args = append(cmd.Args, cfg.Args...)
	cmd.Env = append(os.Environ(), "INSIGHTS_CHDB_LIB="+cfg.Library)
	stderr := cfg.Log
	if stderr == nil {
		stderr = io.Discard
	}
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s serve: %w", cfg.Binary, err)
	}
	s := &Server{cmd: cmd, Base: "http://" + addr, done: make(chan error, 1)}
	go func() { s.done <- cmd.Wait() }()

	deadline := time.Now().Add(2 * time.Minute)
	for {
		select {
		case err := <-s.done:
			return nil, fmt.Errorf("insights serve exited before it was ready: %v", err)
		case <-ctx.Done():
			s.Kill()
			return nil, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
		resp, err := http.Get(s.Base + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return s, nil
			}
		}
		if time.Now().After(deadline) {
			s.Kill()
			return nil, fmt.Errorf("insights serve on %s not ready after 2 minutes", addr)
		}
	}
}

// PID returns the service's process ID.
func (s *Server) PID() int { return s.cmd.Process.Pid }

// Kill sends SIGKILL and waits for the process to end.
func (s *Server) Kill() {
	_ = s.cmd.Process.Signal(syscall.SIGKILL)
	<-s.done
	s.done <- errors.New("killed")
}

// Stop sends SIGTERM and waits up to 30 seconds for a clean exit.
func (s *Server) Stop() error {
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		return fmt.Errorf("signal insights serve: %w", err)
	}
	select {
	case err := <-s.done:
		s.done <- err
		return err
	case <-time.After(30 * time.Second):
		s.Kill()
		return errors.New("insights serve did not stop within 30s of SIGTERM; killed")
	}
}

// RSS returns the resident set size of the service in bytes, from
// /proc/PID/status.
func (s *Server) RSS() (int64, error) {
	return processRSS(s.PID())
}

// CPU returns the user and system CPU time of the service so far, all
// threads (chDB's included), from /proc/PID/stat.
func (s *Server) CPU() (time.Duration, error) {
	return processCPU(s.PID())
}

// clockTicks is the unit of the CPU times in /proc/PID/stat, USER_HZ,
// which Linux fixes at 100 per second on the platforms it reports to
// user space.
const clockTicks = 100

func processCPU(pid int) (time.Duration, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, err
	}
	// The command name (field 2) is in parentheses and may hold spaces,
	// so fields are counted from the last ')': utime and stime are the
	// 14th and 15th fields of the line, the 12th and 13th after it.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, fmt.Errorf("parse /proc/%d/stat: no ')'", pid)
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0, fmt.Errorf("parse /proc/%d/stat: %d fields after the command name", pid, len(f))
	}
	var ticks int64
	for _, s := range f[11:13] {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("parse /proc/%d/stat: CPU time %q: %w", pid, s, err)
		}
		ticks += n
	}
	return time.Duration(ticks) * time.Second / clockTicks, nil
}

func processRSS(pid int) (int64, error) {
	f, err := os.Open("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			if err != nil {
				return 0, fmt.Errorf("parse VmRSS %q: %w", rest, err)
			}
			return kb * 1024, nil
		}
	}
	return 0, fmt.Errorf("no VmRSS in /proc/%d/status", pid)
}

// freeAddr returns a 127.0.0.1 address with a port free right now.
func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("find a free port: %w", err)
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}
