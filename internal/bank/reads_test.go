package bank

import (
	"bufio"
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/openbanking-insights/insights/internal/obie"
)

const (
	ivyCurrent = "11111111-1111-4111-8111-111111111111"
	ivyCard    = "22222222-2222-4222-8222-222222222222"
)

func TestRead_permissionRefusals(t *testing.T) {
	h := newHarness(t, edgeDir, nil)
	acct := "/accounts/" + ivyCurrent
	tests := []struct {
		name  string
		perms []string
		path  string
		want  int
	}{
		{"accounts basic", []string{permAccountsBasic}, "/accounts", http.StatusOK},
		{"balances without ReadBalances", []string{permAccountsBasic}, acct + "/balances", http.StatusForbidden},
		{"balances granted", []string{permAccountsBasic, permBalances}, acct + "/balances", http.StatusOK},
		{"transactions without permission", []string{permAccountsBasic, permBalances}, acct + "/transactions", http.StatusForbidden},
		{"transactions basic credits", []string{permAccountsBasic, permTransactionsBasic, permTransactionsCredits}, acct + "/transactions", http.StatusOK},
		{"party without ReadParty", []string{permAccountsBasic, permPartyPSU}, acct + "/party", http.StatusForbidden},
		{"parties without ReadParty", []string{permAccountsBasic, permPartyPSU}, acct + "/parties", http.StatusForbidden},
		{"psu party without ReadPartyPSU", []string{permAccountsBasic, permParty}, "/party", http.StatusForbidden},
		{"psu party granted", []string{permAccountsBasic, permPartyPSU}, "/party", http.StatusOK},
		{"account party granted", []string{permAccountsBasic, permParty}, acct + "/party", http.StatusOK},
		{"direct debits refused", []string{permAccountsBasic}, acct + "/direct-debits", http.StatusForbidden},
		{"standing orders refused", []string{permAccountsBasic}, acct + "/standing-orders", http.StatusForbidden},
		{"scheduled payments refused", []string{permAccountsBasic, permStandingOrdersBasic}, acct + "/scheduled-payments", http.StatusForbidden},
		{"unknown account", []string{permAccountsBasic}, "/accounts/33333333-3333-4333-8333-333333333333", http.StatusNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			access, _, _ := h.link("ivy", tt.perms, "")
			resp, body := h.get(access, tt.path)
			if resp.StatusCode != tt.want {
				t.Fatalf("status = %d, want %d; body %.300s", resp.StatusCode, tt.want, body)
			}
			if tt.want == http.StatusForbidden {
				e := decodeError(t, body)
				if e.Code != "403 Forbidden" || len(e.Errors) != 1 {
					t.Errorf("error body = %+v, want 403 Forbidden with one error", e)
				}
			}
		})
	}
}

func TestRead_clientTokenRefused(t *testing.T) {
	h := newHarness(t, edgeDir, nil)
	resp, _ := h.get(h.clientToken(), "/accounts")
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("status = %d, want 403 for a client-credentials token", resp.StatusCode)
	}
}

func TestTransactions_basicAndDirection(t *testing.T) {
	h := newHarness(t, edgeDir, nil)
	path := "/accounts/" + ivyCurrent + "/transactions"
	tests := []struct {
		name       string
		perms      []string
		wantIDs    []string
		wantDetail bool
	}{
		{"basic credits", []string{permAccountsBasic, permTransactionsBasic, permTransactionsCredits}, []string{"T01", "T03", "T06"}, false},
		{"basic debits", []string{permAccountsBasic, permTransactionsBasic, permTransactionsDebits}, []string{"T02", "T04", "T05", "P01", "P03"}, false},
		{"detail both", []string{permAccountsBasic, permTransactionsDetail, permTransactionsCredits, permTransactionsDebits}, []string{"T01", "T02", "T03", "T04", "T05", "T06", "P01", "P03"}, true},
		{"basic and detail", []string{permAccountsBasic, permTransactionsBasic, permTransactionsDetail, permTransactionsCredits}, []string{"T01", "T03", "T06"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			access, _, _ := h.link("ivy", tt.perms, "")
			resp, body := h.get(access, path)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("status = %d", resp.StatusCode)
			}
			p := decodePage(t, body)
			if got := transactionIDs(p); !slices.Equal(got, tt.wantIDs) {
				t.Errorf("ids = %v, want %v", got, tt.wantIDs)
			}
			for _, tx := range p.Data["Transaction"] {
				for _, field := range []string{"TransactionInformation", "Balance", "DebtorAccount"} {
					if _, ok := tx[field]; ok != tt.wantDetail {
						t.Errorf("%v: field %s present = %v, want %v", tx["TransactionId"], field, ok, tt.wantDetail)
					}
				}
				for _, field := range []string{"Amount", "CreditDebitIndicator", "Status", "BookingDateTime"} {
					if _, ok := tx[field]; !ok {
						t.Errorf("%v: required field %s missing", tx["TransactionId"], field)
					}
				}
			}
		})
	}
}

func TestTransactions_bounds(t *testing.T) {
	h := newHarness(t, edgeDir, nil)
	access, _, _ := h.link("ivy", []string{permAccountsBasic, permTransactionsBasic, permTransactionsCredits, permTransactionsDebits}, "")
	tests := []struct {
		name     string
		from, to string
		want     []string
	}{
		// 2026-07-01T00:00:00 London (BST) is 2026-06-30T23:00:00Z.
		{"local midnight in summer", "2026-07-01T00:00:00", "", []string{"T02", "T03", "T04", "T05", "T06", "P01", "P03"}},
		{"inclusive bounds", "2026-07-01T00:00:00", "2026-07-01T23:59:59", []string{"T02", "T03", "T04", "T05"}},
		{"to equals a booking", "", "2026-07-01T00:00:00", []string{"T01", "T02"}},
		{"date alone covers the day", "2026-07-01", "2026-07-01", []string{"T02", "T03", "T04", "T05"}},
		{"zone honoured", "2026-07-01T00:00:00Z", "2026-07-01T00:00:00Z", []string{"T03"}},
		{"offset honoured", "2026-07-01T12:00:00+01:00", "2026-07-01T11:00:00Z", []string{"T04"}},
		{"fractional seconds", "2026-07-01T23:59:59.5", "", []string{"T06", "P01", "P03"}},
		{"empty window", "2026-08-01T00:00:00", "2026-08-02T00:00:00", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q := url.Values{}
			if tt.from != "" {
				q.Set("fromBookingDateTime", tt.from)
			}
			if tt.to != "" {
				q.Set("toBookingDateTime", tt.to)
			}
			resp, body := h.get(access, "/accounts/"+ivyCurrent+"/transactions?"+q.Encode())
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("status = %d; body %s", resp.StatusCode, body)
			}
			p := decodePage(t, body)
			if got := transactionIDs(p); !slices.Equal(got, tt.want) {
				t.Errorf("ids = %v, want %v", got, tt.want)
			}
			if p.Meta.FirstAvailableDateTime != "2026-06-30T22:59:59.000Z" || p.Meta.LastAvailableDateTime != "2026-07-02T09:00:00.000Z" {
				t.Errorf("Meta available range = %s..%s, want the whole account's", p.Meta.FirstAvailableDateTime, p.Meta.LastAvailableDateTime)
			}
		})
	}

	for _, bad := range []string{"fromBookingDateTime=01-07-2026", "toBookingDateTime=2026-07-01+00:00", "fromBookingDateTime=2026-07-02&toBookingDateTime=2026-07-01", "page=0", "page=2", "page=x"} {
		t.Run("invalid "+bad, func(t *testing.T) {
			resp, body := h.get(access, "/accounts/"+ivyCurrent+"/transactions?"+bad)
			if resp.StatusCode != http.StatusBadRequest {
				t.Fatalf("status = %d, want 400", resp.StatusCode)
			}
			if e := decodeError(t, body); e.Errors[0].ErrorCode != codeFieldInvalid || e.Errors[0].Path == "" {
				t.Errorf("error = %+v, want %s with the parameter as Path", e.Errors, codeFieldInvalid)
			}
		})
	}
}

func TestTransactions_consentWindow(t *testing.T) {
	h := newHarness(t, edgeDir, nil)
	access, _, _ := h.link("ivy", []string{permAccountsBasic, permTransactionsBasic, permTransactionsCredits, permTransactionsDebits},
		`,"TransactionFromDateTime":"2026-07-01T00:00:00Z","TransactionToDateTime":"2026-07-01T22:59:59Z"`)

	resp, body := h.get(access, "/accounts/"+ivyCurrent+"/transactions?fromBookingDateTime=2026-06-01")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status = %d", resp.StatusCode)
	}
	if got, want := transactionIDs(decodePage(t, body)), []string{"T03", "T04", "T05"}; !slices.Equal(got, want) {
		t.Errorf("ids = %v, want %v (the consent's window)", got, want)
	}
}

// sampleBookings returns the booking times of a sample customer's
// transactions, read straight from the file.
func sampleBookings(t *testing.T, customer string) []time.Time {
	t.Helper()
	f, err := os.Open(sampleDir + "/" + customer + "/transactions.ndjson")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []time.Time
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var line struct {
			Transaction struct{ BookingDateTime string }
		}
		if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
			t.Fatal(err)
		}
		bt, err := time.Parse(time.RFC3339, line.Transaction.BookingDateTime)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, bt)
	}
	return out
}

func TestTransactions_paging(t *testing.T) {
	h := newHarness(t, sampleDir, func(o *Options) { o.PageSize = 50 })
	access, _, _ := h.link("alice", []string{permAccountsBasic, permTransactionsDetail, permTransactionsCredits, permTransactionsDebits}, "")

	from := time.Date(2026, 1, 1, 0, 0, 0, 0, obie.London)
	to := time.Date(2026, 6, 30, 23, 59, 59, 0, obie.London)
	want := 0
	for _, bt := range sampleBookings(t, "alice") {
		if !bt.Before(from) && !bt.After(to) {
			want++
		}
	}
	wantPages := (want + 49) / 50
	if wantPages < 3 {
		t.Fatalf("test window holds %d transactions, want at least 3 pages of 50", want)
	}

	next := h.srv.URL + aispPrefix + "/accounts/9f29d8af-a4b3-358c-405a-82ba632b6855/transactions?fromBookingDateTime=2026-01-01T00:00:00&toBookingDateTime=2026-06-30T23:59:59"
	var ids []string
	var lastBooking time.Time
	pages := 0
	for next != "" {
		if !strings.HasPrefix(next, "http://127.0.0.1:") {
			t.Fatalf("Links.Next = %q, want an absolute URL on 127.0.0.1", next)
		}
		resp, body := h.do(http.MethodGet, next, nil, fapiHeader(access))
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: status %d", next, resp.StatusCode)
		}
		p := decodePage(t, body)
		pages++
		if p.Meta.TotalPages != wantPages {
			t.Errorf("page %d: TotalPages = %d, want %d", pages, p.Meta.TotalPages, wantPages)
		}
		if p.Links.Self != next {
			t.Errorf("page %d: Self = %q, want the requested URL", pages, p.Links.Self)
		}
		if !strings.Contains(p.Links.Self, "fromBookingDateTime=") && pages > 1 {
			t.Errorf("page %d: Self %q lost the filter", pages, p.Links.Self)
		}
		for _, tx := range p.Data["Transaction"] {
			bt, err := time.Parse(time.RFC3339, tx["BookingDateTime"].(string))
			if err != nil {
				t.Fatal(err)
			}
			if bt.Before(lastBooking) {
				t.Errorf("page %d: %v booked before the previous entry", pages, tx["TransactionId"])
			}
			lastBooking = bt
			ids = append(ids, tx["TransactionId"].(string))
		}
		next = p.Links.Next
		if pages > wantPages {
			t.Fatalf("more than %d pages", wantPages)
		}
	}
	if pages != wantPages || len(ids) != want {
		t.Errorf("got %d transactions on %d pages, want %d on %d", len(ids), pages, want, wantPages)
	}
	sorted := slices.Clone(ids)
	slices.Sort(sorted)
	if len(slices.Compact(sorted)) != len(ids) {
		t.Errorf("a transaction appears on two pages")
	}
}

func TestAccounts_basicAndDetail(t *testing.T) {
	h := newHarness(t, edgeDir, nil)
	tests := []struct {
		name      string
		perms     []string
		wantIdent string // Identification of the card account, "" when absent
	}{
		{"basic omits identifiers", []string{permAccountsBasic}, ""},
		{"detail masks PAN", []string{permAccountsDetail}, "************1234"},
		{"detail with ReadPAN", []string{permAccountsDetail, permPAN}, "4000000000001234"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			access, _, _ := h.link("ivy", tt.perms, "")
			resp, body := h.get(access, "/accounts/"+ivyCard)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("status = %d", resp.StatusCode)
			}
			var env struct {
				Data struct {
					Account []struct {
						AccountID string `json:"AccountId"`
						Account   []struct{ Identification string }
					}
				}
			}
			if err := json.Unmarshal(body, &env); err != nil {
				t.Fatal(err)
			}
			if len(env.Data.Account) != 1 || env.Data.Account[0].AccountID != ivyCard {
				t.Fatalf("accounts = %+v, want the card account alone", env.Data.Account)
			}
			got := ""
			if ids := env.Data.Account[0].Account; len(ids) > 0 {
				got = ids[0].Identification
			}
			if got != tt.wantIdent {
				t.Errorf("Identification = %q, want %q", got, tt.wantIdent)
			}
		})
	}
}

func TestStandingOrders_basicOmitsCreditor(t *testing.T) {
	h := newHarness(t, edgeDir, nil)
	for _, tt := range []struct {
		perm string
		want bool
	}{{permStandingOrdersBasic, false}, {permStandingOrdersDetail, true}} {
		t.Run(tt.perm, func(t *testing.T) {
			access, _, _ := h.link("ivy", []string{permAccountsBasic, tt.perm}, "")
			resp, body := h.get(access, "/accounts/"+ivyCurrent+"/standing-orders")
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("status = %d", resp.StatusCode)
			}
			orders := decodePage(t, body).Data["StandingOrder"]
			if len(orders) != 1 {
				t.Fatalf("standing orders = %d, want 1", len(orders))
			}
			if _, ok := orders[0]["CreditorAccount"]; ok != tt.want {
				t.Errorf("CreditorAccount present = %v, want %v", ok, tt.want)
			}
		})
	}
}
