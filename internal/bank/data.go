package bank

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	insights "github.com/openbanking-insights/insights"
	"github.com/openbanking-insights/insights/internal/obie"
)

// Files of one customer folder. The first four are required; the others
// are optional OBIE envelopes whose Data holds DirectDebit, StandingOrder or
// ScheduledPayment arrays.
const (
	fileAccounts          = "accounts.json"
	fileBalances          = "balances.json"
	fileParty             = "party.json"
	fileTransactions      = "transactions.ndjson"
	fileDirectDebits      = "direct-debits.json"
	fileStandingOrders    = "standing-orders.json"
	fileScheduledPayments = "scheduled-payments.json"
)

// record is one resource entry as the data file holds it, field by field,
// so that the bank can serve every field (the obie types decode only what
// the service reads) and leave out the Detail-only ones.
type record struct {
	accountID string
	fields    map[string]json.RawMessage
}

// transaction is a record with the values that filtering, ordering and
// booking need.
type transaction struct {
	record
	id      string
	status  insights.TransactionStatus
	credit  bool
	booking time.Time // BookingDateTime in UTC
	seq     int       // position in the data file, the last sort key
	line    int       // 1-based line in transactions.ndjson, for load errors
}

// customer holds one demo customer's data, read from DataDir/<id>/.
type customer struct {
	id                string
	accounts          []record
	balances          []record
	parties           []record
	transactions      []*transaction // ordered by booking time, TransactionId, seq
	directDebits      []record
	standingOrders    []record
	scheduledPayments []record
}

// loadCustomers reads every folder of dir as one customer.
func loadCustomers(dir string, now func() time.Time) (map[string]*customer, []string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, nil, fmt.Errorf("read data directory: %w", err)
	}

	customers := map[string]*customer{}
	var names []string
	for _, e := range entries {
		if !e.IsDir() || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		c, err := loadCustomer(filepath.Join(dir, e.Name()), e.Name(), now)
		if err != nil {
			return nil, nil, err
		}
		customers[c.id] = c
		names = append(names, c.id)
	}
	if len(names) == 0 {
		return nil, nil, fmt.Errorf("data directory %s contains no customer folders: want one folder per customer", dir)
	}
	sort.Strings(names)
	return customers, names, nil
}

func loadCustomer(dir, id string, now func() time.Time) (*customer, error) {
	c := &customer{id: id}
	dec := obie.Decoder{Local: obie.London, Now: now}

	// Validate each required file with the obie decoder, then keep its
	// records field by field.
	accounts, err := readRecords(dec, filepath.Join(dir, fileAccounts), obie.ResourceAccount, true)
	if err != nil {
		return nil, err
	}
	c.accounts = accounts
	known := map[string]bool{}
	for _, a := range accounts {
		known[a.accountID] = true
	}

	if c.balances, err = readRecords(dec, filepath.Join(dir, fileBalances), obie.ResourceBalance, true); err != nil {
		return nil, err
	}
	if c.parties, err = readRecords(dec, filepath.Join(dir, fileParty), obie.ResourceParty, true); err != nil {
		return nil, err
	}
	if c.transactions, err = readTransactions(dec, filepath.Join(dir, fileTransactions)); err != nil {
		return nil, err
	}

	// The optional envelopes have no obie decoder; they are checked for
	// JSON syntax and an AccountId on every record.
	optional := []struct {
		file, resource string
		into           *[]record
	}{
		{fileDirectDebits, "DirectDebit", &c.directDebits},
		{fileStandingOrders, "StandingOrder", &c.standingOrders},
		{fileScheduledPayments, "ScheduledPayment", &c.scheduledPayments},
	}
	for _, o := range optional {
		recs, err := readRawRecords(filepath.Join(dir, o.file), o.resource, false)
		if err != nil {
			return nil, err
		}
		*o.into = recs
	}

	if err := checkAccountIDs(dir, c, known); err != nil {
		return nil, err
	}
	sortTransactions(c.transactions)
	return c, nil
}

// checkAccountIDs rejects a record whose AccountId is not in accounts.json,
// as such a record could never be served.
func checkAccountIDs(dir string, c *customer, known map[string]bool) error {
	groups := []struct {
		file string
		recs []record
	}{
		{fileBalances, c.balances},
		{fileDirectDebits, c.directDebits},
		{fileStandingOrders, c.standingOrders},
		{fileScheduledPayments, c.scheduledPayments},
	}
	for _, g := range groups {
		for i, r := range g.recs {
			if !known[r.accountID] {
				return fmt.Errorf("%s: record %d: AccountId is not an account of %s", filepath.Join(dir, g.file), i, fileAccounts)
			}
		}
	}
	for _, t := range c.transactions {
		if !known[t.accountID] {
			return fmt.Errorf("%s:%d: $.Transaction.AccountId is not an account of %s", filepath.Join(dir, fileTransactions), t.line, fileAccounts)
		}
	}
	return nil
}

// readRecords validates an OBIE envelope file with the obie decoder and
// returns the records of resource in it.
func readRecords(dec obie.Decoder, path, resource string, required bool) ([]record, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	if _, err := dec.DecodeEnvelope(path, data); err != nil {
		return nil, err
	}
	return splitEnvelope(path, data, resource, required)
}

// readRawRecords reads an optional envelope file; a missing file yields no
// records.
func readRawRecords(path, resource string, required bool) ([]record, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	return splitEnvelope(path, data, resource, required)
}

// splitEnvelope returns the records of Data.<resource>, an array or a
// single object, each with its AccountId. Party records carry none.
func splitEnvelope(path string, data []byte, resource string, required bool) ([]record, error) {
	var envelope struct {
		Data map[string]json.RawMessage `json:"Data"`
	}
	if err := json.Unmarshal(data, &envelope); err != nil {
		return nil, fmt.Errorf("%s: invalid JSON envelope: %w", path, err)
	}
	raw, ok := envelope.Data[resource]
	if !ok {
		if required {
			return nil, fmt.Errorf("%s: $.Data.%s: missing required field", path, resource)
		}
		return nil, nil
	}
	var items obie.OneOrMany[map[string]json.RawMessage]
	if err := json.Unmarshal(raw, &items); err != nil {
		return nil, fmt.Errorf("%s: $.Data.%s: want an array of objects", path, resource)
	}

	recs := make([]record, 0, len(items))
	for i, fields := range items {
		var accountID string
		if v, ok := fields["AccountId"]; ok {
			_ = json.Unmarshal(v, &accountID)
		}
		if accountID == "" && resource != obie.ResourceParty {
			return nil, fmt.Errorf("%s: $.Data.%s[%d].AccountId: missing required field", path, resource, i)
		}
		recs = append(recs, record{accountID: accountID, fields: fields})
	}
	return recs, nil
}

// readTransactions validates an NDJSON file of {"Transaction": {...}} lines
// and returns its transactions.
func readTransactions(dec obie.Decoder, path string) ([]*transaction, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	payload, err := dec.DecodeNDJSON(path, data)
	if err != nil {
		return nil, err
	}
	if len(payload.Accounts)+len(payload.Balances)+len(payload.Parties) > 0 {
		return nil, fmt.Errorf("%s: invalid record: want only {\"Transaction\": ...} lines", path)
	}

	// The decoder has validated every line, so each non-blank line is one
	// valid transaction, in the order of payload.Transactions.
	var out []*transaction
	for i, line := range bytes.Split(data, []byte("\n")) {
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		var obj struct {
			Transaction map[string]json.RawMessage `json:"Transaction"`
		}
		if err := json.Unmarshal(line, &obj); err != nil {
			return nil, fmt.Errorf("%s:%d: %w", path, i+1, err)
		}
		typed := payload.Transactions[len(out)]
		t, err := newTransaction(obj.Transaction, typed, len(out))
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %w", path, i+1, err)
		}
		t.line = i + 1
		out = append(out, t)
	}
	return out, nil
}

func newTransaction(fields map[string]json.RawMessage, typed obie.Transaction, seq int) (*transaction, error) {
	booking, err := obie.ParseDateTime(typed.BookingDateTime, obie.London)
	if err != nil {
		return nil, fmt.Errorf("$.Transaction.BookingDateTime: %w", err)
	}
	status, ok := obie.TransactionStatus(typed.Status)
	if !ok {
		return nil, fmt.Errorf("$.Transaction.Status: unknown code")
	}
	return &transaction{
		record:  record{accountID: typed.AccountID, fields: fields},
		id:      typed.TransactionID,
		status:  status,
		credit:  typed.CreditDebitIndicator == obie.Credit,
		booking: booking,
		seq:     seq,
	}, nil
}

// sortTransactions orders by BookingDateTime, then TransactionId, then
// position in the file, so that pages are stable between requests.
func sortTransactions(ts []*transaction) {
	sort.SliceStable(ts, func(i, j int) bool {
		a, b := ts[i], ts[j]
		if !a.booking.Equal(b.booking) {
			return a.booking.Before(b.booking)
		}
		if a.id != b.id {
			return a.id < b.id
		}
		return a.seq < b.seq
	})
}
