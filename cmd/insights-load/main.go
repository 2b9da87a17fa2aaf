// Command insights-load is the attestation issuance load benchmark. It
// generates (once, then reuses from a cache directory) a data set of
// customers and transactions, copies it to a scratch directory, starts
// `insights serve` on it at 127.0.0.1, signs customers in through the
// development sign-in and runs issuance flows at rising fixed rates, then
// a soak at one rate. Each flow is the merchant's requestAttestation
// (API key), the customer's consent page and approval, and the merchant's
// query for the token. It prints throughput, p50/p99 latency per step,
// errors, the service's RSS and /proc/loadavg as a Markdown table.
//
//	make build && go run ./cmd/insights-load                 # full run
//	go run ./cmd/insights-load -step 10s -duration 30s        # quick check
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/openbanking-insights/insights/internal/loadtest"
	"github.com/openbanking-insights/insights/internal/store/chdb"
)

type config struct {
	binary      string
	library     string
	cacheDir    string
	customers   int
	perCustomer int
	rates       string
	step        time.Duration
	soakRate    int
	duration    time.Duration
	sessions    int
	maxInFlight int
	timeout     time.Duration
	keep        bool
	serverLog   string
	stopErrors  float64
	drain       time.Duration
	serveFlags  string
}

func main() {
	var cfg config
	cache, err := os.UserCacheDir()
	if err != nil {
		cache = os.TempDir()
	}
	flag.StringVar(&cfg.binary, "bin", "bin/insights", "the insights binary to start (make build)")
	flag.StringVar(&cfg.library, "chdb-lib", chdb.DefaultLibrary(), "path of libchdb.so (env INSIGHTS_CHDB_LIB)")
	flag.StringVar(&cfg.cacheDir, "cache", filepath.Join(cache, "insights", "loadbench"), "directory of generated data sets, reused between runs")
	flag.IntVar(&cfg.customers, "customers", 10000, "customers in the data set")
	flag.IntVar(&cfg.perCustomer, "tx-per-customer", 1000, "transactions per customer")
	flag.StringVar(&cfg.rates, "rates", "100,250,500,1000", "comma-separated flows per second of the rising phases")
	flag.DurationVar(&cfg.step, "step", time.Minute, "duration of each rising phase")
	flag.IntVar(&cfg.soakRate, "soak-rate", 0, "flows per second of the soak; 0 means the highest rate whose phase had no errors, or the lowest rate")
	flag.DurationVar(&cfg.duration, "duration", 10*time.Minute, "duration of the soak; 0 skips it")
	flag.IntVar(&cfg.sessions, "sessions", 200, "customers signed in before the run; each flow picks one at random")
	flag.IntVar(&cfg.maxInFlight, "max-in-flight", 2000, "concurrent flows at most; a flow due beyond that counts as an overload error")
	flag.DurationVar(&cfg.timeout, "timeout", 10*time.Second, "timeout of each HTTP request")
	flag.BoolVar(&cfg.keep, "keep", false, "keep the run's copy of the data directory")
	flag.StringVar(&cfg.serverLog, "server-log", "", "append the service's log to this file; empty discards it")
	flag.Float64Var(&cfg.stopErrors, "stop-errors", 0.5,
		"skip the remaining rising phases after one in which more than this share of flows failed; 0 runs them all")
	flag.DurationVar(&cfg.drain, "drain", time.Minute,
		"pause before the soak, so the service finishes requests that clients abandoned during the rising phases")
	flag.StringVar(&cfg.serveFlags, "serve-flags", "",
		"further flags of insights serve, separated by spaces, such as \"-max-in-flight 0\" to turn admission control off")
	flag.Parse()

	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, cfg, logger); err != nil {
		fmt.Fprintln(os.Stderr, "insights-load:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, cfg config, logger *slog.Logger) error {
	rates, err := parseRates(cfg.rates)
	if err != nil {
		return err
	}
	if cfg.customers < 1 || cfg.perCustomer < 1 || cfg.sessions < 1 {
		return errors.New("-customers, -tx-per-customer and -sessions must be at least 1")
	}
	if _, err := os.Stat(cfg.binary); err != nil {
		return fmt.Errorf("-bin %s: %w (run make build)", cfg.binary, err)
	}
	spec := loadtest.Spec{Customers: cfg.customers, TransactionsPerCustomer: cfg.perCustomer}

	prepared, err := prepare(ctx, cfg, spec, logger)
	if err != nil {
		return err
	}
	work, err := os.MkdirTemp("", "insights-load-")
	if err != nil {
		return err
	}
	if !cfg.keep {
		defer os.RemoveAll(work)
	}
	start := time.Now()
	if out, err := exec.Command("cp", "-a", "--reflink=auto", prepared+"/.", work).CombinedOutput(); err != nil {
		return fmt.Errorf("copy %s to %s: %v: %s", prepared, work, err, out)
	}
	logger.Info("data set copied", "from", prepared, "to", work, "seconds", time.Since(start).Seconds())
	apiKey, err := os.ReadFile(filepath.Join(work, "load.key"))
	if err != nil {
		return fmt.Errorf("read the load client's API key: %w", err)
	}

	serverCfg := loadtest.ServerConfig{Binary: cfg.binary, DataDir: work, Library: cfg.library, Args: strings.Fields(cfg.serveFlags)}
	if cfg.serverLog != "" {
		f, err := os.OpenFile(cfg.serverLog, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
		if err != nil {
			return err
		}
		defer f.Close()
		serverCfg.Log = f
	}
	srv, err := loadtest.StartServer(ctx, serverCfg)
	if err != nil {
		return err
	}
	defer srv.Stop()
	logger.Info("service started", "base", srv.Base, "pid", srv.PID())

	d := loadtest.NewDriver(srv.Base, strings.TrimSpace(string(apiKey)), cfg.timeout)
	sessions, err := signIn(ctx, d, cfg, logger)
	if err != nil {
		return err
	}

	phases := make([]loadtest.Phase, 0, len(rates)+1)
	for _, r := range rates {
		phases = append(phases, loadtest.Phase{Name: fmt.Sprintf("ramp %d/s", r), Rate: r, Duration: cfg.step})
	}
	opts := loadtest.Options{MaxInFlight: cfg.maxInFlight, RSS: srv.RSS, CPU: srv.CPU, Progress: os.Stderr, StopErrorRate: cfg.stopErrors}
	opts.Phases = phases
	reports := loadtest.Run(ctx, d, sessions, opts)
	if cfg.duration > 0 && ctx.Err() == nil {
		logger.Info("draining before the soak", "seconds", cfg.drain.Seconds())
		select {
		case <-ctx.Done():
		case <-time.After(cfg.drain):
		}
		opts.StopErrorRate = 0
		soak := cfg.soakRate
		if soak == 0 {
			soak = soakRate(reports, rates)
		}
		opts.Phases = []loadtest.Phase{{Name: fmt.Sprintf("soak %d/s", soak), Rate: soak, Duration: cfg.duration}}
		reports = append(reports, loadtest.Run(ctx, d, sessions, opts)...)
	}

	fmt.Printf("\n%d customers, %d transactions, %d signed-in sessions, %d CPUs, Go %s\n\n",
		spec.Customers, spec.Transactions(), len(sessions), numCPU(), goVersion())
	if cfg.serveFlags != "" {
		fmt.Printf("insights serve flags: %s\n\n", cfg.serveFlags)
	}
	loadtest.WriteTable(os.Stdout, reports)
	return ctx.Err()
}

// prepare returns the cached data set for spec, generating it first when
// the cache lacks it. A data set is complete once its "ready" file exists.
func prepare(ctx context.Context, cfg config, spec loadtest.Spec, logger *slog.Logger) (string, error) {
	dir := filepath.Join(cfg.cacheDir, fmt.Sprintf("c%d-t%d", spec.Customers, spec.TransactionsPerCustomer))
	if _, err := os.Stat(filepath.Join(dir, "ready")); err == nil {
		logger.Info("using cached data set", "dir", dir)
		return dir, nil
	}
	if err := os.RemoveAll(dir); err != nil {
		return "", err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", err
	}
	logger.Info("generating data set", "dir", dir, "customers", spec.Customers, "transactions", spec.Transactions())
	start := time.Now()
	if err := loadtest.Generate(ctx, dir, cfg.library, spec, logger); err != nil {
		return "", err
	}
	cmd := exec.CommandContext(ctx, cfg.binary, "clients", "add", "-data", dir, "-name", "Load test merchant",
		"-key-file", filepath.Join(dir, "load.key"))
	cmd.Env = append(os.Environ(), "INSIGHTS_CHDB_LIB="+cfg.library)
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("register the load client: %v: %s", err, out)
	}
	if err := os.WriteFile(filepath.Join(dir, "ready"), []byte(time.Now().UTC().Format(time.RFC3339)+"\n"), 0o600); err != nil {
		return "", err
	}
	logger.Info("data set generated", "dir", dir, "seconds", time.Since(start).Seconds())
	return dir, nil
}

// signIn signs in cfg.sessions customers, spread over the data set.
func signIn(ctx context.Context, d *loadtest.Driver, cfg config, logger *slog.Logger) ([]*loadtest.Session, error) {
	n := min(cfg.sessions, cfg.customers)
	start := time.Now()
	sessions := make([]*loadtest.Session, 0, n)
	for i := 0; i < n; i++ {
		s, err := d.SignIn(ctx, loadtest.CustomerID(i*cfg.customers/n))
		if err != nil {
			return nil, err
		}
		sessions = append(sessions, s)
	}
	logger.Info("customers signed in", "sessions", n, "seconds", time.Since(start).Seconds())
	return sessions, nil
}

func parseRates(s string) ([]int, error) {
	var rates []int
	for _, f := range strings.Split(s, ",") {
		r, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || r < 1 || r > 100000 {
			return nil, fmt.Errorf("-rates %q: want comma-separated whole numbers from 1 to 100000", s)
		}
		rates = append(rates, r)
	}
	return rates, nil
}

// soakRate returns the highest rate whose ramp phase had no errors, or
// the lowest rate when every phase had some.
func soakRate(reports []loadtest.PhaseReport, rates []int) int {
	best := rates[0]
	for _, r := range reports {
		if r.ErrorCount() == 0 && r.Rate > best {
			best = r.Rate
		}
	}
	return best
}
