package ingest_test

import (
	"bufio"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// bankProcess is `insights bank` running in its own process, so that the
// pulling process's peak memory and CPU time leave out the bank's.
type bankProcess struct {
	cmd    *exec.Cmd
	url    string
	exited chan struct{} // closed when the process has ended
	err    error         // the result of cmd.Wait, set before exited closes

	mu     sync.Mutex
	stderr []string // the last lines of the bank's log, for failure messages
}

// bankStartTimeout bounds how long the bank may take to read and index its
// data folder. Loading 10 million transactions takes minutes on 2 cores.
const bankStartTimeout = 30 * time.Minute

// buildInsights builds cmd/insights into dir and returns the binary's path.
func buildInsights(b *testing.B, dir string) string {
	b.Helper()
	bin := filepath.Join(dir, "insights")
	// The go command that runs this benchmark is on PATH or in GOROOT/bin
	// of the environment `go test` sets.
	goTool, err := exec.LookPath("go")
	if err != nil {
		goTool = filepath.Join(os.Getenv("GOROOT"), "bin", "go")
	}
	out, err := exec.Command(goTool, "build", "-o", bin, "github.com/openbanking-insights/insights/cmd/insights").CombinedOutput()
	if err != nil {
		b.Fatalf("build cmd/insights: %v\n%s", err, out)
	}
	return bin
}

// writeBankSecret writes a random client secret to a 0600 file, as
// `insights bank -bank-client-secret-file` expects, and returns the secret
// in the hexadecimal form the bank compares with the client's.
func writeBankSecret(b *testing.B, path string) string {
	b.Helper()
	secret := make([]byte, 32)
	if _, err := rand.Read(secret); err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(path, secret, 0o600); err != nil {
		b.Fatal(err)
	}
	return hex.EncodeToString(secret)
}

// startBankProcess runs `insights bank` on a free port of 127.0.0.1 over
// the customer folders of dataDir, with pages of pageSize transactions,
// and waits until it serves. The process is stopped when b ends.
func startBankProcess(b *testing.B, bin, dataDir, secretFile string, pageSize int) *bankProcess {
	b.Helper()
	cmd := exec.Command(bin, "bank", "-addr", "127.0.0.1:0", "-feed", dataDir,
		"-page-size", strconv.Itoa(pageSize), "-bank-client-id", pullClientID,
		"-bank-client-secret-file", secretFile, "-bank-financial-id", pullFinancialID)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		b.Fatalf("start insights bank: %v", err)
	}
	p := &bankProcess{cmd: cmd, exited: make(chan struct{})}
	b.Cleanup(p.stop)

	// The bank logs `msg="local bank serving" addr=127.0.0.1:PORT` once it
	// has loaded its data and listens.
	ready := make(chan string, 1)
	go func() {
		scanner := bufio.NewScanner(stderr)
		scanner.Buffer(make([]byte, 64<<10), 1<<20)
		for scanner.Scan() {
			line := scanner.Text()
			p.remember(line)
			if strings.Contains(line, `msg="local bank serving"`) {
				for _, field := range strings.Fields(line) {
					if addr, ok := strings.CutPrefix(field, "addr="); ok {
						ready <- addr
					}
				}
			}
		}
		p.err = cmd.Wait()
		close(p.exited)
	}()

	select {
	case addr := <-ready:
		p.url = "http://" + addr
	case <-p.exited:
		b.Fatalf("insights bank exited before serving: %v\n%s", p.err, p.log())
	case <-time.After(bankStartTimeout):
		b.Fatalf("insights bank did not serve within %s\n%s", bankStartTimeout, p.log())
	}
	return p
}

func (p *bankProcess) remember(line string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.stderr = append(p.stderr, line)
	if len(p.stderr) > 20 {
		p.stderr = p.stderr[len(p.stderr)-20:]
	}
}

// log returns the last lines the bank logged.
func (p *bankProcess) log() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return strings.Join(p.stderr, "\n")
}

// stop sends SIGTERM, which starts the bank's graceful shutdown, and
// kills the process if it has not ended after 10 seconds.
func (p *bankProcess) stop() {
	select {
	case <-p.exited:
		return
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
	case <-time.After(10 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.exited
	}
}

// status returns the value in bytes of one kB line of the bank's
// /proc/PID/status, such as "VmHWM:", or 0 where that is not available.
func (p *bankProcess) status(key string) uint64 {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", p.cmd.Process.Pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, key); ok {
			kb, _ := strconv.ParseUint(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			return kb << 10
		}
	}
	return 0
}

// userHZ is USER_HZ, the unit of the CPU times in /proc/PID/stat: 100 ticks
// per second on Linux for x86-64 and arm64 (`getconf CLK_TCK`).
const userHZ = 100

// cpuTime returns the user and system CPU time the bank has used so far,
// from /proc/PID/stat, or 0 where that is not available.
func (p *bankProcess) cpuTime() time.Duration {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", p.cmd.Process.Pid))
	if err != nil {
		return 0
	}
	// The command name, in brackets, may hold spaces. utime and stime are
	// the 12th and 13th fields after it.
	end := strings.LastIndexByte(string(data), ')')
	if end < 0 {
		return 0
	}
	fields := strings.Fields(string(data[end+1:]))
	if len(fields) < 13 {
		return 0
	}
	utime, err1 := strconv.ParseUint(fields[11], 10, 64)
	stime, err2 := strconv.ParseUint(fields[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0
	}
	return time.Duration(utime+stime) * time.Second / userHZ
}

// resetPeakRSS sets this process's VmHWM to its current resident set size
// (Linux 4.0 and later), so that a sub-benchmark reports its own peak. It
// returns false where the kernel does not allow that, and VmHWM is then the
// peak since the process started.
func resetPeakRSS() bool {
	return os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) == nil
}
