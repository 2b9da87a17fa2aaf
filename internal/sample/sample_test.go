package sample_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	insights "github.com/openbanking-insights/insights"
	"github.com/openbanking-insights/insights/internal/calendar"
	"github.com/openbanking-insights/insights/internal/sample"
)

// committed is the sample checked into the repository.
const committed = "../../testdata/sample"

// generated is a fresh copy of the default sample, written once by TestMain.
var generated string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "sample")
	if err != nil {
		fmt.Fprintln(os.Stderr, "create temp folder:", err)
		os.Exit(1)
	}
	generated = dir
	if err := sample.Write(dir, sample.DefaultConfig()); err != nil {
		fmt.Fprintln(os.Stderr, "write sample:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

var london = func() *time.Location {
	loc, err := time.LoadLocation("Europe/London")
	if err != nil {
		panic(err)
	}
	return loc
}()

// transaction is the part of an OBIE transaction the tests read, decoded
// with the field names of the OBIE schema independently of the writer.
type transaction struct {
	AccountID              string `json:"AccountId"`
	TransactionID          string `json:"TransactionId"`
	CreditDebitIndicator   string
	Status                 string
	BookingDateTime        string
	ValueDateTime          string
	TransactionInformation string
	Amount                 struct{ Amount, Currency string }
	Balance                *struct {
		Amount               struct{ Amount, Currency string }
		CreditDebitIndicator string
		Type                 string
	}
	MerchantDetails *struct{ MerchantName, MerchantCategoryCode string }
	DebtorAccount   *struct{ SchemeName, Identification, Name string }
	CreditorAccount *struct{ SchemeName, Identification, Name string }
}

type labels struct {
	CustomerID string `json:"customer_id"`
	End        string `json:"end"`
	BirthDate  string `json:"birth_date"`
	Accounts   []struct {
		AccountID      string `json:"account_id"`
		OpeningBalance string `json:"opening_balance"`
		ClosingBooked  string `json:"closing_booked"`
		Booked         int    `json:"booked"`
		Pending        int    `json:"pending"`
	} `json:"accounts"`
	IncomeStreams []struct {
		Payer        string `json:"payer"`
		Category     string `json:"category"`
		Cadence      string `json:"cadence"`
		Payments     int    `json:"payments"`
		NextExpected string `json:"next_expected"`
		Active       bool   `json:"active"`
	} `json:"income_streams"`
	Categories map[string]string `json:"categories"`
}

func readTransactions(t *testing.T, customer string) []transaction {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(generated, customer, sample.TransactionsFile))
	if err != nil {
		t.Fatal(err)
	}
	var out []transaction
	scanner := bufio.NewScanner(bytes.NewReader(data))
	scanner.Buffer(nil, 1<<20)
	for line := 1; scanner.Scan(); line++ {
		var wrapped struct{ Transaction transaction }
		if err := json.Unmarshal(scanner.Bytes(), &wrapped); err != nil {
			t.Fatalf("%s line %d: %v", customer, line, err)
		}
		out = append(out, wrapped.Transaction)
	}
	return out
}

func readJSON(t *testing.T, customer, name string, v any) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(generated, customer, name))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, v); err != nil {
		t.Fatalf("%s/%s: %v", customer, name, err)
	}
}

func readLabels(t *testing.T, customer string) labels {
	t.Helper()
	var l labels
	readJSON(t, customer, sample.LabelsFile, &l)
	return l
}

// pence parses a two-decimal OBIE amount, signed by its indicator.
func pence(t *testing.T, amount, indicator string) int64 {
	t.Helper()
	a, err := insights.ParseAmount(amount)
	if err != nil {
		t.Fatalf("amount %q: %v", amount, err)
	}
	p := int64(a) / 1000
	if indicator == "Debit" {
		p = -p
	}
	return p
}

func signedPence(t *testing.T, s string) int64 {
	t.Helper()
	a, err := insights.ParseSignedAmount(s)
	if err != nil {
		t.Fatalf("amount %q: %v", s, err)
	}
	return int64(a) / 1000
}

// ukDate returns the UK calendar day of an OBIE date-time.
func ukDate(t *testing.T, s string) insights.Date {
	t.Helper()
	ts, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatalf("date-time %q: %v", s, err)
	}
	return insights.DateOf(ts.In(london))
}

func TestWrite_matchesCommitted(t *testing.T) {
	want := listFiles(t, committed)
	got := listFiles(t, generated)
	if !slices.Equal(want, got) {
		t.Fatalf("files differ: committed %v, generated %v; regenerate with: make sample", want, got)
	}
	for _, name := range got {
		a, err := os.ReadFile(filepath.Join(committed, name))
		if err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(filepath.Join(generated, name))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(a, b) {
			t.Errorf("%s is stale; regenerate with: make sample", name)
		}
	}
}

func listFiles(t *testing.T, root string) []string {
	t.Helper()
	var names []string
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, err := filepath.Rel(root, path)
		names = append(names, rel)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return names
}

func TestWrite_deterministic(t *testing.T) {
	cfg := sample.Config{Seed: 7, End: insights.Date{Year: 2026, Month: time.March, Day: 15}, Months: 4}
	first, second := t.TempDir(), t.TempDir()
	if err := sample.Write(first, cfg); err != nil {
		t.Fatal(err)
	}
	if err := sample.Write(second, cfg); err != nil {
		t.Fatal(err)
	}
	for _, name := range listFiles(t, first) {
		a, _ := os.ReadFile(filepath.Join(first, name))
		b, _ := os.ReadFile(filepath.Join(second, name))
		if !bytes.Equal(a, b) {
			t.Errorf("%s differs between two runs of the same Config", name)
		}
	}

	cfg.Seed = 8
	third := t.TempDir()
	if err := sample.Write(third, cfg); err != nil {
		t.Fatal(err)
	}
	a, _ := os.ReadFile(filepath.Join(first, "alice", sample.TransactionsFile))
	b, _ := os.ReadFile(filepath.Join(third, "alice", sample.TransactionsFile))
	if bytes.Equal(a, b) {
		t.Error("seeds 7 and 8 wrote the same transactions")
	}
}

func TestWrite_invalidConfig(t *testing.T) {
	end := insights.Date{Year: 2026, Month: time.November, Day: 30}
	tests := []struct {
		name string
		cfg  sample.Config
		want string
	}{
		{"no end", sample.Config{Seed: 1, Months: 3}, "End is missing"},
		{"impossible end", sample.Config{Seed: 1, End: insights.Date{Year: 2026, Month: time.February, Day: 30}}, "End is not a calendar date"},
		{"negative months", sample.Config{Seed: 1, End: end, Months: -1}, "Months is -1"},
		{"too many months", sample.Config{Seed: 1, End: end, Months: 500}, "Months is 500"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := sample.Write(t.TempDir(), tt.cfg)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Write error = %v, want one containing %q", err, tt.want)
			}
		})
	}
}

func TestCustomers_folders(t *testing.T) {
	ids := sample.Customers()
	if len(ids) < 5 {
		t.Fatalf("Customers() = %v, want at least 5", ids)
	}
	for _, id := range ids {
		for _, name := range []string{sample.AccountsFile, sample.BalancesFile, sample.PartyFile, sample.TransactionsFile, sample.LabelsFile} {
			if _, err := os.Stat(filepath.Join(generated, id, name)); err != nil {
				t.Errorf("customer %s: %v", id, err)
			}
		}
	}
}

func TestBalances_agreeWithTransactions(t *testing.T) {
	for _, customer := range sample.Customers() {
		t.Run(customer, func(t *testing.T) {
			l := readLabels(t, customer)
			var balances struct {
				Data struct {
					Balance []struct {
						AccountID            string `json:"AccountId"`
						Amount               struct{ Amount string }
						CreditDebitIndicator string
						Type                 string
						CreditLine           []struct {
							Included bool
							Amount   struct{ Amount string }
						}
					}
				}
			}
			readJSON(t, customer, sample.BalancesFile, &balances)

			running := map[string]int64{}
			pendingDebits := map[string]int64{}
			for _, a := range l.Accounts {
				running[a.AccountID] = signedPence(t, a.OpeningBalance)
			}
			for _, tx := range readTransactions(t, customer) {
				signed := pence(t, tx.Amount.Amount, tx.CreditDebitIndicator)
				if tx.Status == "Pending" {
					if tx.Balance != nil {
						t.Errorf("pending %s carries a running balance", tx.TransactionID)
					}
					if signed < 0 {
						pendingDebits[tx.AccountID] -= signed
					}
					continue
				}
				running[tx.AccountID] += signed
				if tx.Balance == nil {
					t.Fatalf("booked %s has no running balance", tx.TransactionID)
				}
				if got := pence(t, tx.Balance.Amount.Amount, tx.Balance.CreditDebitIndicator); got != running[tx.AccountID] {
					t.Fatalf("running balance after %s = %d pence, want %d", tx.TransactionID, got, running[tx.AccountID])
				}
			}

			for _, a := range l.Accounts {
				if got := signedPence(t, a.ClosingBooked); got != running[a.AccountID] {
					t.Errorf("labels closing_booked = %d pence, opening plus booked entries = %d", got, running[a.AccountID])
				}
			}
			seen := 0
			for _, b := range balances.Data.Balance {
				got := pence(t, b.Amount.Amount, b.CreditDebitIndicator)
				want := running[b.AccountID]
				switch b.Type {
				case "ClosingBooked":
				case "InterimAvailable":
					want -= pendingDebits[b.AccountID]
					for _, line := range b.CreditLine {
						if line.Included {
							want += pence(t, line.Amount.Amount, "Credit")
						}
					}
				default:
					t.Errorf("unexpected balance type %q", b.Type)
				}
				if got != want {
					t.Errorf("%s of account %s = %d pence, want %d", b.Type, b.AccountID, got, want)
				}
				seen++
			}
			if seen != 2*len(l.Accounts) {
				t.Errorf("got %d balances for %d accounts, want two each", seen, len(l.Accounts))
			}
		})
	}
}

// salaryDates returns the UK booking days of the booked credits labelled
// with category from payer.
func salaryDates(t *testing.T, customer, payer, category string) []insights.Date {
	t.Helper()
	l := readLabels(t, customer)
	var dates []insights.Date
	for _, tx := range readTransactions(t, customer) {
		if tx.Status != "Booked" || l.Categories[tx.TransactionID] != category || tx.DebtorAccount == nil || tx.DebtorAccount.Name != payer {
			continue
		}
		dates = append(dates, ukDate(t, tx.BookingDateTime))
	}
	return dates
}

func TestSalary_shiftRule(t *testing.T) {
	cal := calendar.EnglandAndWales()
	monthlyOn := func(day int) func(d insights.Date) insights.Date {
		return func(d insights.Date) insights.Date {
			return cal.OnOrBeforeWorkingDay(insights.Date{Year: d.Year, Month: d.Month, Day: day})
		}
	}
	lastWorkingDay := func(d insights.Date) insights.Date { return cal.LastWorkingDayOfMonth(d.Year, d.Month) }
	tests := []struct {
		customer, payer, category string
		// scheduled returns the date the rule pays on in the month of d.
		scheduled func(d insights.Date) insights.Date
		// shifted are pay dates the bank holiday or weekend rule moved.
		shifted []string
		count   int
	}{
		{"alice", "ACME LOGISTICS LTD", string(insights.CategorySalary), monthlyOn(25), []string{"2025-12-24", "2026-01-23", "2026-04-24", "2026-05-22", "2026-07-24", "2026-10-23"}, 13},
		{"chen", "BRIGHTWATER ANALYTICS LTD", string(insights.CategorySalary), lastWorkingDay, []string{"2026-01-30", "2026-02-27"}, 6},
		{"chen", "NORTHCODE SYSTEMS LTD", string(insights.CategorySalary), monthlyOn(28), []string{"2026-06-26", "2026-11-27"}, 7},
		{"eve", "DWP UC", string(insights.CategoryBenefits), monthlyOn(9), []string{"2025-11-07", "2026-05-08", "2026-08-07"}, 13},
	}
	for _, tt := range tests {
		t.Run(tt.customer+" "+tt.payer, func(t *testing.T) {
			dates := salaryDates(t, tt.customer, tt.payer, tt.category)
			if len(dates) != tt.count {
				t.Fatalf("got %d payments, want %d", len(dates), tt.count)
			}
			for _, d := range dates {
				if want := tt.scheduled(d); d != want {
					t.Errorf("paid on %s, the rule gives %s", d, want)
				}
			}
			for _, s := range tt.shifted {
				if !slices.ContainsFunc(dates, func(d insights.Date) bool { return d.String() == s }) {
					t.Errorf("no payment on %s", s)
				}
			}
		})
	}
}

func TestSalary_periodicShiftRule(t *testing.T) {
	cal := calendar.EnglandAndWales()
	tests := []struct {
		customer, payer string
		days            int
		shifted         []string
	}{
		{"bob", "PEAK RAIL ENGINEERING LTD", 28, []string{"2026-04-02"}},
		{"dana", "GREENLEAF CAFE LTD", 7, []string{"2025-12-24", "2026-04-02"}},
	}
	for _, tt := range tests {
		t.Run(tt.customer, func(t *testing.T) {
			dates := salaryDates(t, tt.customer, tt.payer, string(insights.CategorySalary))
			if len(dates) < 2 {
				t.Fatalf("got %d payments", len(dates))
			}
			friday := dates[0]
			if calendar.Weekday(friday) != time.Friday {
				t.Fatalf("first payment on %s, a %s", friday, calendar.Weekday(friday))
			}
			for i, d := range dates {
				want := cal.OnOrBeforeWorkingDay(friday.AddDays(i * tt.days))
				if d != want {
					t.Errorf("payment %d on %s, want %s", i, d, want)
				}
			}
			for _, s := range tt.shifted {
				if !slices.ContainsFunc(dates, func(d insights.Date) bool { return d.String() == s }) {
					t.Errorf("no payment on %s", s)
				}
			}
		})
	}
}

func TestLabels_nextExpected(t *testing.T) {
	tests := []struct {
		customer, payer, cadence, next string
		active                         bool
	}{
		{"alice", "ACME LOGISTICS LTD", "monthly", "2026-12-24", true}, // 25 December is Christmas Day
		{"bob", "PEAK RAIL ENGINEERING LTD", "four_weekly", "2026-12-11", true},
		{"chen", "BRIGHTWATER ANALYTICS LTD", "monthly", "", false},
		{"chen", "NORTHCODE SYSTEMS LTD", "monthly", "2026-12-24", true}, // 28 December 2026 is the Boxing Day substitute
		{"dana", "GREENLEAF CAFE LTD", "weekly", "2026-12-04", true},
		{"dana", "M WHITFIELD", "monthly", "2026-12-01", true},
		{"eve", "DWP UC", "monthly", "2026-12-09", true},
		{"eve", "ROOFRIDE UK LTD", "irregular", "", true},
		{"eve", "PARCELDASH LTD", "irregular", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.customer+" "+tt.payer, func(t *testing.T) {
			l := readLabels(t, tt.customer)
			i := slices.IndexFunc(l.IncomeStreams, func(s struct {
				Payer        string `json:"payer"`
				Category     string `json:"category"`
				Cadence      string `json:"cadence"`
				Payments     int    `json:"payments"`
				NextExpected string `json:"next_expected"`
				Active       bool   `json:"active"`
			}) bool {
				return s.Payer == tt.payer
			})
			if i < 0 {
				t.Fatalf("no income stream from %s", tt.payer)
			}
			s := l.IncomeStreams[i]
			if s.Cadence != tt.cadence {
				t.Errorf("cadence = %q, want %q", s.Cadence, tt.cadence)
			}
			if s.NextExpected != tt.next {
				t.Errorf("next_expected = %q, want %q", s.NextExpected, tt.next)
			}
			if s.Active != tt.active {
				t.Errorf("active = %t, want %t", s.Active, tt.active)
			}
			if s.Payments == 0 {
				t.Error("no payments counted")
			}
		})
	}
}

func TestLabels_coverEveryTransaction(t *testing.T) {
	known := map[string]bool{}
	for _, c := range []insights.Category{
		insights.CategorySalary, insights.CategoryBenefits, insights.CategoryPension, insights.CategoryInterest,
		insights.CategoryRefund, insights.CategoryOtherIncome, insights.CategoryTransfer, insights.CategoryRent,
		insights.CategoryMortgage, insights.CategoryCouncilTax, insights.CategoryUtilities, insights.CategoryLoan,
		insights.CategoryCreditCard, insights.CategoryInsurance, insights.CategoryGroceries, insights.CategoryEatingOut,
		insights.CategoryTransport, insights.CategoryGambling, insights.CategoryCash, insights.CategoryBankFees,
		insights.CategoryReturned, insights.CategorySubscriptions, insights.CategoryShopping, insights.CategoryOther,
	} {
		known[string(c)] = true
	}
	for _, customer := range sample.Customers() {
		t.Run(customer, func(t *testing.T) {
			l := readLabels(t, customer)
			txs := readTransactions(t, customer)
			ids := map[string]bool{}
			for _, tx := range txs {
				if ids[tx.TransactionID] {
					t.Errorf("TransactionId %s repeats", tx.TransactionID)
				}
				ids[tx.TransactionID] = true
				if c, ok := l.Categories[tx.TransactionID]; !ok || !known[c] {
					t.Errorf("TransactionId %s has label %q", tx.TransactionID, c)
				}
			}
			if len(l.Categories) != len(txs) {
				t.Errorf("%d labels for %d transactions", len(l.Categories), len(txs))
			}
		})
	}
}

// TestLabels_traps pins the cases a categoriser gets wrong on names alone.
func TestLabels_traps(t *testing.T) {
	tests := []struct {
		customer, narrative, category string
	}{
		{"chen", "R MCDONALD RENT", string(insights.CategoryRent)},
		{"chen", "MCDONALDS 0463", string(insights.CategoryEatingOut)},
		{"bob", "RETURNED DD ADMIRAL INSURANCE", string(insights.CategoryReturned)},
		{"bob", "UNPAID DD FEE", string(insights.CategoryBankFees)},
		{"bob", "DD PENNINE BS MORTGAGE", string(insights.CategoryMortgage)},
		{"alice", "CARD REFUND FROM ASOS.COM", string(insights.CategoryRefund)},
		{"alice", "DD COUNCIL TAX LEEDS CC", string(insights.CategoryCouncilTax)},
		{"chen", "INTEREST EARNED", string(insights.CategoryInterest)},
		{"chen", "MR W CHEN SAVINGS", string(insights.CategoryTransfer)},
		{"eve", "POS", string(insights.CategoryGambling)}, // card stakes at MCC 7995
		{"eve", "OVERDRAFT INTEREST", string(insights.CategoryBankFees)},
	}
	for _, tt := range tests {
		t.Run(tt.customer+" "+tt.narrative, func(t *testing.T) {
			l := readLabels(t, tt.customer)
			found := false
			for _, tx := range readTransactions(t, tt.customer) {
				if strings.HasPrefix(tx.TransactionInformation, tt.narrative) && l.Categories[tx.TransactionID] == tt.category {
					found = true
					break
				}
			}
			if !found {
				t.Errorf("no transaction starting %q labelled %s", tt.narrative, tt.category)
			}
		})
	}
}

func TestParty_birthDates(t *testing.T) {
	end := sample.DefaultConfig().End
	tests := []struct {
		customer string
		// minAge and maxAge bound the age at End. -1 means no BirthDate.
		minAge, maxAge int
	}{
		{"alice", 18, 120},
		{"bob", 18, 120},
		{"chen", 18, 120},
		{"dana", 0, 17},
		{"eve", -1, -1},
	}
	for _, tt := range tests {
		t.Run(tt.customer, func(t *testing.T) {
			var party map[string]any
			readJSON(t, tt.customer, sample.PartyFile, &party)
			p := party["Data"].(map[string]any)["Party"].(map[string]any)
			raw, ok := p["BirthDate"]
			if tt.minAge < 0 {
				if ok {
					t.Errorf("BirthDate present, want none")
				}
				return
			}
			birth, err := insights.ParseDate(fmt.Sprint(raw))
			if err != nil {
				t.Fatal(err)
			}
			age := end.Year - birth.Year
			if end.Month < birth.Month || (end.Month == birth.Month && end.Day < birth.Day) {
				age--
			}
			if age < tt.minAge || age > tt.maxAge {
				t.Errorf("age at %s = %d, want %d to %d", end, age, tt.minAge, tt.maxAge)
			}
		})
	}
}

func TestFeed_bookingTimeStyles(t *testing.T) {
	tests := []struct {
		customer string
		// summer is the suffix of every booked date-time in July, in BST.
		summer string
	}{
		{"alice", "T23:00:00Z"},    // UK midnight in UTC: the day before
		{"eve", "T00:00:00+00:00"}, // the UK date at 00:00 UTC
		{"chen", "+01:00"},         // local time with the BST offset
	}
	for _, tt := range tests {
		t.Run(tt.customer, func(t *testing.T) {
			july := 0
			for _, tx := range readTransactions(t, tt.customer) {
				if tx.Status != "Booked" || ukDate(t, tx.BookingDateTime).Month != time.July {
					continue
				}
				july++
				if !strings.HasSuffix(tx.BookingDateTime, tt.summer) {
					t.Errorf("%s: BookingDateTime %s does not end in %q", tx.TransactionID, tx.BookingDateTime, tt.summer)
				}
				if tx.ValueDateTime != tx.BookingDateTime {
					t.Errorf("%s: ValueDateTime %s differs from BookingDateTime %s", tx.TransactionID, tx.ValueDateTime, tx.BookingDateTime)
				}
			}
			if july == 0 {
				t.Error("no booked entries in July")
			}
		})
	}
}

func TestFeed_pendingAtEnd(t *testing.T) {
	end := sample.DefaultConfig().End
	for _, customer := range sample.Customers() {
		t.Run(customer, func(t *testing.T) {
			for _, tx := range readTransactions(t, customer) {
				if tx.Status != "Pending" {
					continue
				}
				if tx.MerchantDetails == nil {
					t.Errorf("pending %s is not a card entry", tx.TransactionID)
				}
				if d := ukDate(t, tx.BookingDateTime); d.Before(end.AddDays(-1)) {
					t.Errorf("pending %s booked %s, more than two days before End", tx.TransactionID, d)
				}
				if tx.ValueDateTime != "" {
					t.Errorf("pending %s has a ValueDateTime", tx.TransactionID)
				}
			}
		})
	}
	l := readLabels(t, "bob")
	if l.Accounts[0].Pending == 0 {
		t.Error("bob has no pending card entries")
	}
}

func TestSample_size(t *testing.T) {
	var total int64
	err := filepath.WalkDir(committed, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		info, err := d.Info()
		total += info.Size()
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if total > 8<<20 {
		t.Errorf("committed sample is %s bytes, want at most 8 MiB", strconv.FormatInt(total, 10))
	}
}
