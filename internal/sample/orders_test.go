package sample_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"testing"
	"time"

	insights "github.com/openbanking-insights/insights"
	"github.com/openbanking-insights/insights/internal/calendar"
	"github.com/openbanking-insights/insights/internal/obie"
	"github.com/openbanking-insights/insights/internal/sample"
)

// orderFiles maps each payment order file to the resource its Data holds.
var orderFiles = []struct{ name, resource string }{
	{sample.DirectDebitsFile, obie.ResourceDirectDebit},
	{sample.StandingOrdersFile, obie.ResourceStandingOrder},
	{sample.ScheduledPaymentsFile, obie.ResourceScheduledPayment},
}

// feed is one customer's generated feed as the service's OBIE decoder
// reads it: the payment orders pass its validation.
type feed struct {
	end          insights.Date
	from         insights.Date
	accounts     map[string]bool
	transactions []orderTransaction
	orders       obie.Orders
	// creditors is each standing order's CreditorAccount.Identification,
	// which obie.CashAccount does not decode, by StandingOrderId.
	creditors map[string]string
}

// orderTransaction is the part of a transaction that a payment order
// explains.
type orderTransaction struct {
	AccountID            string `json:"AccountId"`
	TransactionReference string
	CreditDebitIndicator string
	Status               string
	BookingDateTime      string
	Amount               struct{ Amount, Currency string }
	BankTransactionCode  struct{ Code, SubCode string }
	CreditorAccount      *struct{ SchemeName, Identification, Name string }
}

func readFeed(t *testing.T, dir, customer string) feed {
	t.Helper()
	folder := filepath.Join(dir, customer)
	dec := obie.Decoder{Local: obie.London}
	f := feed{accounts: map[string]bool{}, creditors: map[string]string{}}

	var l struct{ From, End string }
	readFile(t, folder, sample.LabelsFile, &l)
	f.from, f.end = mustDate(t, l.From), mustDate(t, l.End)

	var accounts struct {
		Data struct {
			Account []struct {
				AccountID string `json:"AccountId"`
			}
		}
	}
	readFile(t, folder, sample.AccountsFile, &accounts)
	for _, a := range accounts.Data.Account {
		f.accounts[a.AccountID] = true
	}

	data, err := os.ReadFile(filepath.Join(folder, sample.TransactionsFile))
	if err != nil {
		t.Fatal(err)
	}
	for i, line := range bytes.Split(bytes.TrimSpace(data), []byte("\n")) {
		var wrapped struct{ Transaction orderTransaction }
		if err := json.Unmarshal(line, &wrapped); err != nil {
			t.Fatalf("%s line %d: %v", customer, i+1, err)
		}
		f.transactions = append(f.transactions, wrapped.Transaction)
	}

	for _, file := range orderFiles {
		data, err := os.ReadFile(filepath.Join(folder, file.name))
		if errors.Is(err, fs.ErrNotExist) {
			continue // the customer has no orders of this kind
		}
		if err != nil {
			t.Fatal(err)
		}
		got, err := dec.DecodeOrders(customer+"/"+file.name, file.resource, data)
		if err != nil {
			t.Fatalf("%s/%s is invalid: %v", customer, file.name, err)
		}
		f.orders.DirectDebits = append(f.orders.DirectDebits, got.DirectDebits...)
		f.orders.StandingOrders = append(f.orders.StandingOrders, got.StandingOrders...)
		f.orders.ScheduledPayments = append(f.orders.ScheduledPayments, got.ScheduledPayments...)
	}

	var standing struct {
		Data struct {
			StandingOrder []struct {
				StandingOrderID string `json:"StandingOrderId"`
				CreditorAccount struct{ Identification string }
			}
		}
	}
	if _, err := os.Stat(filepath.Join(folder, sample.StandingOrdersFile)); err == nil {
		readFile(t, folder, sample.StandingOrdersFile, &standing)
	}
	for _, so := range standing.Data.StandingOrder {
		f.creditors[so.StandingOrderID] = so.CreditorAccount.Identification
	}
	return f
}

func readFile(t *testing.T, folder, name string, v any) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(folder, name))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, v); err != nil {
		t.Fatalf("%s/%s: %v", folder, name, err)
	}
}

func mustDate(t *testing.T, s string) insights.Date {
	t.Helper()
	d, err := insights.ParseDate(s)
	if err != nil {
		t.Fatalf("date %q: %v", s, err)
	}
	return d
}

// orderDate returns the UK calendar day of a payment order's date-time.
func orderDate(t *testing.T, s string) insights.Date {
	t.Helper()
	ts, err := obie.ParseOrderDate(s, obie.London)
	if err != nil {
		t.Fatalf("payment date %q: %v", s, err)
	}
	return insights.DateOf(ts.In(london))
}

// orderConfigs are the histories the consistency tests run on: the
// committed default, and a short one that starts before eve's rent order
// began, ends before alice's tenancy began, and ends mid-month.
func orderConfigs(t *testing.T) map[string]string {
	t.Helper()
	early := t.TempDir()
	cfg := sample.Config{Seed: 11, End: insights.Date{Year: 2023, Month: time.June, Day: 14}, Months: 6}
	if err := sample.Write(early, cfg); err != nil {
		t.Fatalf("Write %+v: %v", cfg, err)
	}
	return map[string]string{"default": generated, "2023": early}
}

func TestOrders_validate(t *testing.T) {
	for name, dir := range map[string]string{"generated": generated, "committed": committed} {
		for _, customer := range sample.Customers() {
			t.Run(name+"/"+customer, func(t *testing.T) {
				f := readFeed(t, dir, customer)
				var ids []string
				for _, d := range f.orders.DirectDebits {
					ids = append(ids, d.AccountID)
				}
				for _, s := range f.orders.StandingOrders {
					ids = append(ids, s.AccountID)
				}
				for _, p := range f.orders.ScheduledPayments {
					ids = append(ids, p.AccountID)
				}
				for _, id := range ids {
					if !f.accounts[id] {
						t.Errorf("payment order on account %s, which accounts.json does not list", id)
					}
				}
			})
		}
	}
}

func TestOrders_countsPerPersona(t *testing.T) {
	want := map[string][3]int{ // direct debits, standing orders, scheduled payments
		"alice": {6, 1, 1},
		"bob":   {8, 0, 1},
		"chen":  {4, 2, 0},
		"dana":  {0, 0, 0},
		"eve":   {3, 1, 0},
	}
	for customer, counts := range want {
		f := readFeed(t, generated, customer)
		got := [3]int{len(f.orders.DirectDebits), len(f.orders.StandingOrders), len(f.orders.ScheduledPayments)}
		if got != counts {
			t.Errorf("%s lists %v direct debits, standing orders and scheduled payments, want %v", customer, got, counts)
		}
	}
}

var monthlyOnDay = regexp.MustCompile(`^IntrvlMnthDay:01:(\d\d)$`)

func TestStandingOrders_matchPayments(t *testing.T) {
	cal := calendar.EnglandAndWales()
	for config, dir := range orderConfigs(t) {
		for _, customer := range sample.Customers() {
			t.Run(config+"/"+customer, func(t *testing.T) {
				f := readFeed(t, dir, customer)
				explained := map[int]bool{}
				for _, so := range f.orders.StandingOrders {
					m := monthlyOnDay.FindStringSubmatch(so.Frequency)
					if m == nil {
						t.Fatalf("standing order %s: Frequency %q, want IntrvlMnthDay:01:DD", so.StandingOrderID, so.Frequency)
					}
					day, _ := strconv.Atoi(m[1])
					if so.CreditorAccount == nil || so.CreditorAccount.Name == "" {
						t.Fatalf("standing order %s has no CreditorAccount.Name", so.StandingOrderID)
					}
					if so.NextPaymentAmount == nil || so.FirstPaymentAmount == nil {
						t.Fatalf("standing order %s lacks its first or next amount", so.StandingOrderID)
					}

					// The payments are the standing order debits on the account
					// to the same creditor with the same reference.
					var paid []insights.Date
					for i, tx := range f.transactions {
						if tx.AccountID != so.AccountID || tx.BankTransactionCode.SubCode != "StandingOrder" ||
							tx.CreditDebitIndicator != "Debit" || tx.CreditorAccount == nil ||
							tx.CreditorAccount.Name != so.CreditorAccount.Name || tx.TransactionReference != so.Reference {
							continue
						}
						explained[i] = true
						if want := f.creditors[so.StandingOrderID]; tx.CreditorAccount.Identification != want {
							t.Errorf("payment on %s to account %s, order pays %s", tx.BookingDateTime, tx.CreditorAccount.Identification, want)
						}
						if tx.Amount.Amount != so.NextPaymentAmount.Amount {
							t.Errorf("payment on %s of %s, order pays %s", tx.BookingDateTime, tx.Amount.Amount, so.NextPaymentAmount.Amount)
						}
						paid = append(paid, ukDate(t, tx.BookingDateTime))
					}
					slices.SortFunc(paid, func(a, b insights.Date) int { return a.In(time.UTC).Compare(b.In(time.UTC)) })

					// One payment each month from the first payment to End, on
					// the order's day or the next working day.
					first := orderDate(t, so.FirstPaymentDateTime)
					var want []insights.Date
					for month := dayOfMonth(f.from, 1); !f.end.Before(month); month = nextMonth(month) {
						due := cal.OnOrAfterWorkingDay(dayOfMonth(month, day))
						if !due.Before(first) && !f.end.Before(due) {
							want = append(want, due)
						}
					}
					if !slices.Equal(paid, want) {
						t.Errorf("standing order %s to %s paid on %v, want %v", so.StandingOrderID, so.CreditorAccount.Name, paid, want)
					}
					if so.FirstPaymentAmount.Amount != so.NextPaymentAmount.Amount {
						t.Errorf("standing order %s: first amount %s, next %s, want a fixed amount", so.StandingOrderID, so.FirstPaymentAmount.Amount, so.NextPaymentAmount.Amount)
					}

					if len(paid) == 0 {
						if so.LastPaymentDateTime != "" || so.LastPaymentAmount != nil {
							t.Errorf("standing order %s has a last payment but none in the history", so.StandingOrderID)
						}
					} else {
						last := paid[len(paid)-1]
						if so.LastPaymentDateTime == "" || orderDate(t, so.LastPaymentDateTime) != last {
							t.Errorf("standing order %s: LastPaymentDateTime %q, want %s", so.StandingOrderID, so.LastPaymentDateTime, last)
						}
						if so.LastPaymentAmount == nil || so.LastPaymentAmount.Amount != so.NextPaymentAmount.Amount {
							t.Errorf("standing order %s: LastPaymentAmount %+v, want %s", so.StandingOrderID, so.LastPaymentAmount, so.NextPaymentAmount.Amount)
						}
					}

					// The next payment is the first one after End.
					next := orderDate(t, so.NextPaymentDateTime)
					wantNext := insights.Date{}
					for month := dayOfMonth(f.end, 1); wantNext.IsZero(); month = nextMonth(month) {
						due := cal.OnOrAfterWorkingDay(dayOfMonth(month, day))
						if f.end.Before(due) && !due.Before(first) {
							wantNext = due
						}
					}
					if next != wantNext {
						t.Errorf("standing order %s: NextPaymentDateTime %s, want %s", so.StandingOrderID, next, wantNext)
					}
				}

				// Every standing order payment in the history belongs to a
				// listed order.
				for i, tx := range f.transactions {
					if tx.BankTransactionCode.SubCode == "StandingOrder" && tx.CreditDebitIndicator == "Debit" && !explained[i] {
						t.Errorf("standing order payment on %s of %s matches no listed standing order", tx.BookingDateTime, tx.Amount.Amount)
					}
				}
			})
		}
	}
}

func TestDirectDebits_matchCollections(t *testing.T) {
	for config, dir := range orderConfigs(t) {
		for _, customer := range sample.Customers() {
			t.Run(config+"/"+customer, func(t *testing.T) {
				f := readFeed(t, dir, customer)
				type collection struct {
					day    insights.Date
					amount string
				}
				latest := map[string]collection{} // by account and mandate
				for _, tx := range f.transactions {
					if tx.BankTransactionCode.SubCode != "DirectDebitPayment" || tx.Status != "Booked" {
						continue
					}
					key := tx.AccountID + "|" + tx.TransactionReference
					day := ukDate(t, tx.BookingDateTime)
					if c, ok := latest[key]; !ok || !day.Before(c.day) {
						latest[key] = collection{day, tx.Amount.Amount}
					}
				}

				listed := map[string]bool{}
				for _, dd := range f.orders.DirectDebits {
					key := dd.AccountID + "|" + dd.MandateIdentification
					listed[key] = true
					c, ok := latest[key]
					if !ok {
						if dd.PreviousPaymentDateTime != "" {
							t.Errorf("mandate %s of %s has a previous payment but no collection in the history", dd.MandateIdentification, dd.Name)
						}
						continue
					}
					if dd.PreviousPaymentDateTime == "" || orderDate(t, dd.PreviousPaymentDateTime) != c.day {
						t.Errorf("mandate %s of %s: PreviousPaymentDateTime %q, want %s", dd.MandateIdentification, dd.Name, dd.PreviousPaymentDateTime, c.day)
					}
					if dd.PreviousPaymentAmount == nil || dd.PreviousPaymentAmount.Amount != c.amount {
						t.Errorf("mandate %s of %s: PreviousPaymentAmount %+v, want %s", dd.MandateIdentification, dd.Name, dd.PreviousPaymentAmount, c.amount)
					}
					if dd.DirectDebitStatusCode != "Active" {
						t.Errorf("mandate %s: status %q, want Active", dd.MandateIdentification, dd.DirectDebitStatusCode)
					}
				}
				for key := range latest {
					if !listed[key] {
						t.Errorf("direct debit collections under %s have no listed mandate", key)
					}
				}
			})
		}
	}
}

func TestScheduledPayments_afterEnd(t *testing.T) {
	for config, dir := range orderConfigs(t) {
		for _, customer := range sample.Customers() {
			f := readFeed(t, dir, customer)
			for _, p := range f.orders.ScheduledPayments {
				if d := orderDate(t, p.ScheduledPaymentDateTime); !f.end.Before(d) {
					t.Errorf("%s/%s: scheduled payment %s on %s, want a day after End %s", config, customer, p.ScheduledPaymentID, d, f.end)
				}
				if p.CreditorAccount == nil || p.CreditorAccount.Name == "" {
					t.Errorf("%s/%s: scheduled payment %s has no CreditorAccount.Name", config, customer, p.ScheduledPaymentID)
				}
			}
		}
	}
}

func TestOrders_deterministic(t *testing.T) {
	cfg := sample.Config{Seed: 3, End: insights.Date{Year: 2026, Month: time.May, Day: 20}, Months: 5}
	first, second := t.TempDir(), t.TempDir()
	for _, dir := range []string{first, second} {
		if err := sample.Write(dir, cfg); err != nil {
			t.Fatal(err)
		}
	}
	for _, customer := range sample.Customers() {
		for _, file := range orderFiles {
			a, errA := os.ReadFile(filepath.Join(first, customer, file.name))
			b, errB := os.ReadFile(filepath.Join(second, customer, file.name))
			if (errA == nil) != (errB == nil) {
				t.Errorf("%s/%s: written by one of two runs of the same Config only: %v, %v", customer, file.name, errA, errB)
				continue
			}
			if !bytes.Equal(a, b) {
				t.Errorf("%s/%s differs between two runs of the same Config", customer, file.name)
			}
		}
	}

	// The seed varies amounts in the history, but chen's standing orders are
	// fixed, so their file is the same under another seed.
	cfg.Seed = 4
	third := t.TempDir()
	if err := sample.Write(third, cfg); err != nil {
		t.Fatal(err)
	}
	a, _ := os.ReadFile(filepath.Join(first, "chen", sample.StandingOrdersFile))
	b, _ := os.ReadFile(filepath.Join(third, "chen", sample.StandingOrdersFile))
	if !bytes.Equal(a, b) {
		t.Error("chen's standing orders differ between seeds 3 and 4, want the same fixed orders")
	}
}

func TestWrite_removesStaleOrderFile(t *testing.T) {
	dir := t.TempDir()
	if err := sample.Write(dir, sample.DefaultConfig()); err != nil {
		t.Fatal(err)
	}
	// dana has no standing orders, so a file left by another config goes.
	stale := filepath.Join(dir, "dana", sample.StandingOrdersFile)
	if err := os.WriteFile(stale, []byte(`{"Data":{"StandingOrder":[]}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := sample.Write(dir, sample.DefaultConfig()); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(stale); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("stat %s after Write: %v, want the file removed", stale, err)
	}
	if _, err := os.Stat(filepath.Join(dir, "chen", sample.StandingOrdersFile)); err != nil {
		t.Errorf("chen's standing orders: %v", err)
	}
}

func dayOfMonth(d insights.Date, day int) insights.Date {
	last := time.Date(d.Year, d.Month+1, 0, 0, 0, 0, 0, time.UTC).Day()
	return insights.Date{Year: d.Year, Month: d.Month, Day: min(day, last)}
}

func nextMonth(d insights.Date) insights.Date {
	return insights.DateOf(time.Date(d.Year, d.Month+1, 1, 0, 0, 0, 0, time.UTC))
}
