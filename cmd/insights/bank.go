package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/openbanking-insights/insights/internal/bank"
)

// bankConfig configures the local OBIE bank and how the service reaches it.
type bankConfig struct {
	ClientID         string
	ClientSecretFile string
	FinancialID      string
}

func (c *bankConfig) register(fs *flag.FlagSet) {
	fs.StringVar(&c.ClientID, "bank-client-id", envOr("INSIGHTS_BANK_CLIENT_ID", "insights-demo"),
		"client ID the service is registered under at the bank (env INSIGHTS_BANK_CLIENT_ID)")
	fs.StringVar(&c.ClientSecretFile, "bank-client-secret-file", envOr("INSIGHTS_BANK_CLIENT_SECRET_FILE", ".data/bank-client.secret"),
		"file holding the client secret at the bank; created with a random secret when missing (env INSIGHTS_BANK_CLIENT_SECRET_FILE)")
	fs.StringVar(&c.FinancialID, "bank-financial-id", envOr("INSIGHTS_BANK_FINANCIAL_ID", "0015800001041RDEMO"),
		"the bank's x-fapi-financial-id (env INSIGHTS_BANK_FINANCIAL_ID)")
}

// secret reads the client secret, creating the file on first use.
func (c *bankConfig) secret() (string, error) {
	b, err := loadOrCreateSecret(c.ClientSecretFile)
	if err != nil {
		return "", fmt.Errorf("-bank-client-secret-file %s: %w", c.ClientSecretFile, err)
	}
	return fmt.Sprintf("%x", b), nil
}

func runBank(ctx context.Context, args []string, logger *slog.Logger) error {
	var cfg bankConfig
	var addr, dataDir string
	var admin bool
	var pageSize int
	fs := flag.NewFlagSet("bank", flag.ContinueOnError)
	cfg.register(fs)
	fs.StringVar(&addr, "addr", "127.0.0.1:8081", "address to listen on")
	fs.StringVar(&dataDir, "feed", "testdata/sample", "folder of demo customers, one folder each with accounts.json, balances.json, party.json, transactions.ndjson")
	fs.BoolVar(&admin, "admin", false, "serve /admin/faults, /admin/advance and /admin/cancel-order for fault injection and bank-side changes (demos and tests only)")
	fs.IntVar(&pageSize, "page-size", 100, "transactions per page")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "Usage: insights bank [flags]\n\nServes a local OBIE v3.1 bank (ASPSP) for demos and tests: consents, authorisation,\ntokens and paged account reads over the demo customers' data. Never a real bank.")
		fs.PrintDefaults()
	}
	if err := parseFlagsOnly(fs, args); err != nil {
		return err
	}
	if !strings.HasPrefix(addr, "127.") && !strings.HasPrefix(addr, "localhost:") && !strings.HasPrefix(addr, "[::1]:") {
		return exitError{code: 2, msg: fmt.Sprintf("insights bank: -addr %s: the demo bank serves loopback addresses only", addr)}
	}
	secret, err := cfg.secret()
	if err != nil {
		return err
	}

	b, err := bank.New(bank.Options{
		DataDir: dataDir, ClientID: cfg.ClientID, ClientSecret: secret, FinancialID: cfg.FinancialID,
		Admin: admin, PageSize: pageSize, Logger: logger.With("component", "bank"),
	})
	if err != nil {
		return fmt.Errorf("start bank: %w", err)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", addr, err)
	}
	srv := &http.Server{Handler: b, ReadHeaderTimeout: 5 * time.Second, IdleTimeout: time.Minute}
	logger.Info("local bank serving", "addr", ln.Addr().String(), "customers", len(b.Customers()), "admin", admin)

	// Serve returns as soon as Shutdown starts, so the command waits for
	// Shutdown to let the requests in flight finish.
	stopped := make(chan error, 1)
	go func() {
		<-ctx.Done()
		logger.Info("local bank shutting down")
		shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		stopped <- srv.Shutdown(shutdown)
	}()
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve bank: %w", err)
	}
	if err := <-stopped; err != nil {
		return fmt.Errorf("shut down bank: timed out after 5 s waiting for requests in flight: %w", err)
	}
	logger.Info("local bank stopped")
	return nil
}
