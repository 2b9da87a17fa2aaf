// Package demolink_test links the committed demo customers through the
// local OBIE bank, as `make run` does, and checks that the payment orders
// of the demo feed reach the store and the derived commitments.
package demolink_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	insights "github.com/openbanking-insights/insights"
	"github.com/openbanking-insights/insights/internal/aspsp"
	"github.com/openbanking-insights/insights/internal/bank"
	"github.com/openbanking-insights/insights/internal/categorize"
	"github.com/openbanking-insights/insights/internal/derive"
	"github.com/openbanking-insights/insights/internal/feeds"
	"github.com/openbanking-insights/insights/internal/feeds/orders"
	"github.com/openbanking-insights/insights/internal/ingest"
	"github.com/openbanking-insights/insights/internal/sample"
	"github.com/openbanking-insights/insights/internal/store"
	"github.com/openbanking-insights/insights/internal/store/storetest"
)

func TestMain(m *testing.M) { storetest.Main(m) }

const (
	sampleDir    = "../../../testdata/sample"
	clientID     = "insights-demo-test"
	clientSecret = "demo-secret"
	financialID  = "0015800001041RHAAY"
)

// listed is the part of a payment order file the test compares with the
// stored orders.
type listed struct {
	Data struct {
		DirectDebit []struct {
			DirectDebitID         string `json:"DirectDebitId"`
			MandateIdentification string
			Name                  string
		}
		StandingOrder []struct {
			StandingOrderID     string `json:"StandingOrderId"`
			Reference           string
			NextPaymentDateTime string
			NextPaymentAmount   struct{ Amount string }
			CreditorAccount     struct{ Name string }
		}
	}
}

func readListed(t *testing.T, customer string) listed {
	t.Helper()
	var out listed
	for _, name := range []string{sample.DirectDebitsFile, sample.StandingOrdersFile} {
		data, err := os.ReadFile(filepath.Join(sampleDir, customer, name))
		if errors.Is(err, fs.ErrNotExist) {
			continue // no orders of this kind
		}
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(data, &out); err != nil {
			t.Fatalf("%s/%s: %v", customer, name, err)
		}
	}
	return out
}

// linkDemo starts the local bank on the committed demo feed, links
// customer with a consent approved at the bank, and returns the database
// the first pull wrote to.
func linkDemo(t *testing.T, customer string) store.Engine {
	t.Helper()
	ctx := context.Background()
	engine := storetest.New(t)
	b, err := bank.New(bank.Options{DataDir: sampleDir, ClientID: clientID, ClientSecret: clientSecret,
		FinancialID: financialID, PageSize: 200})
	if err != nil {
		t.Fatalf("bank.New: %v", err)
	}
	srv := httptest.NewServer(b)
	t.Cleanup(srv.Close)

	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	svc := &feeds.Service{
		Engine: engine,
		Loader: &ingest.Loader{Engine: engine, Categorizer: categorize.New(), Logger: logger},
		Banks: map[string]aspsp.Bank{"local": {ID: "local", Name: "Local Bank", BaseURL: srv.URL,
			ClientID: clientID, ClientSecret: clientSecret, FinancialID: financialID,
			RedirectURI: "http://127.0.0.1:8080/banks/callback"}},
		TokenKey: bytes.Repeat([]byte{9}, 32),
		Logger:   logger,
		Retry:    aspsp.RetryPolicy{MaxAttempts: 2, BaseDelay: time.Millisecond, MaxDelay: time.Second},
	}
	authURL, err := svc.Link(ctx, customer, "local")
	if err != nil {
		t.Fatalf("Link: %v", err)
	}

	// The bank approves at once for a login_hint with prompt=none and
	// redirects back with the code.
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Get(authURL + "&" + url.Values{"login_hint": {customer}, "prompt": {"none"}}.Encode())
	if err != nil {
		t.Fatalf("GET authorize: %v", err)
	}
	resp.Body.Close()
	loc, err := url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusFound || err != nil {
		t.Fatalf("authorize: status %d, Location %q, want a 302 redirect", resp.StatusCode, resp.Header.Get("Location"))
	}
	q := loc.Query()
	got, err := svc.Callback(ctx, q.Get("state"), q.Get("code"), q.Get("error"))
	if err != nil {
		t.Fatalf("Callback: %v", err)
	}
	if got != customer {
		t.Fatalf("Callback customer = %q, want %q", got, customer)
	}
	return engine
}

func TestDemo_ordersStoredAndCounted(t *testing.T) {
	end := sample.DefaultConfig().End
	now := time.Date(end.Year, end.Month, end.Day, 12, 0, 0, 0, time.UTC)

	for _, customer := range []string{"alice", "chen", "eve"} {
		t.Run(customer, func(t *testing.T) {
			ctx := context.Background()
			want := readListed(t, customer)
			if len(want.Data.DirectDebit) == 0 || len(want.Data.StandingOrder) == 0 {
				t.Fatalf("demo feed of %s lists %d direct debits and %d standing orders, want some of each; regenerate with: make sample",
					customer, len(want.Data.DirectDebit), len(want.Data.StandingOrder))
			}
			engine := linkDemo(t, customer)

			stored, err := orders.Current(ctx, engine, customer)
			if err != nil {
				t.Fatalf("orders.Current: %v", err)
			}
			byID := map[string]orders.Order{}
			for _, o := range stored {
				byID[o.OrderID] = o
			}
			if n := len(want.Data.DirectDebit) + len(want.Data.StandingOrder); len(stored) != n {
				t.Errorf("stored %d orders, want the %d direct debits and standing orders of the demo feed", len(stored), n)
			}
			for _, dd := range want.Data.DirectDebit {
				o, ok := byID[dd.DirectDebitID]
				if !ok {
					t.Errorf("direct debit %s (%s) not stored", dd.DirectDebitID, dd.Name)
					continue
				}
				if o.Kind != orders.KindDirectDebit || o.Status != orders.StatusActive || o.Payee != dd.Name || o.Reference != dd.MandateIdentification {
					t.Errorf("stored direct debit %s = %+v, want active, payee %s, reference %s", dd.DirectDebitID, o, dd.Name, dd.MandateIdentification)
				}
			}
			for _, so := range want.Data.StandingOrder {
				o, ok := byID[so.StandingOrderID]
				if !ok {
					t.Errorf("standing order %s (%s) not stored", so.StandingOrderID, so.CreditorAccount.Name)
					continue
				}
				next, err := time.Parse(time.RFC3339, so.NextPaymentDateTime)
				if err != nil {
					t.Fatalf("NextPaymentDateTime %q: %v", so.NextPaymentDateTime, err)
				}
				if o.Kind != orders.KindStandingOrder || o.Payee != so.CreditorAccount.Name || o.Cadence != insights.CadenceMonthly ||
					!o.NextPayment.Equal(next) || o.NextAmount.Format(2) != so.NextPaymentAmount.Amount {
					t.Errorf("stored standing order %s = %+v, want payee %s, monthly, next %s of %s",
						so.StandingOrderID, o, so.CreditorAccount.Name, so.NextPaymentDateTime, so.NextPaymentAmount.Amount)
				}
			}

			d := &derive.Deriver{Engine: engine}
			derived, err := d.RefreshInsights(ctx, customer, now)
			if err != nil {
				t.Fatalf("RefreshInsights: %v", err)
			}
			commitments := map[string]categorize.Commitment{}
			for _, c := range derived.Commitments {
				commitments[c.Payee] = c
			}
			for _, so := range want.Data.StandingOrder {
				payee := categorize.NormalizeCounterparty(so.CreditorAccount.Name)
				if so.Reference == "SAVINGS" {
					// The transfer to the customer's own savings account is
					// not a commitment.
					if c, ok := commitments[payee]; ok {
						t.Errorf("savings standing order counted as commitment %+v", c)
					}
					continue
				}
				c, ok := commitments[payee]
				if !ok {
					t.Errorf("standing order to %s is not a commitment; commitments: %v", payee, derived.Commitments)
					continue
				}
				if c.Rule != "commitment:listed-standing-order" || c.PaymentType != categorize.OrderStandingOrder || c.Payments == 0 {
					t.Errorf("commitment %s = %+v, want payments seen and confirmed by the listed standing order", payee, c)
				}
			}
			for _, dd := range want.Data.DirectDebit {
				payee := categorize.NormalizeCounterparty(dd.Name)
				c, ok := commitments[payee]
				if !ok {
					// NOTE: a direct debit entry carries no CreditorAccount, so
					// its payee comes from the narrative, and Kestrel Bank's
					// "D/D " prefix stays in it as "D D ".
					c, ok = commitments["D D "+payee]
				}
				if !ok {
					t.Errorf("direct debit %s is not a commitment; commitments: %v", payee, derived.Commitments)
					continue
				}
				if c.Rule != "commitment:listed-direct-debit" || c.PaymentType != categorize.OrderDirectDebit || c.Payments == 0 {
					t.Errorf("commitment %s = %+v, want payments seen and confirmed by the listed mandate", payee, c)
				}
			}
		})
	}
}
