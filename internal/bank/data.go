package bank

import (
	"bufio"
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

// transaction is one entry of transactions.ndjson with the values that
// filtering, ordering and booking need. It keeps the Transaction object as
// JSON text, not decoded field by field: at 1M transactions the field maps
// took 1,450 MiB and the text takes 690 MiB. Serving a page decodes only
// the entries of that page.
type transaction struct {
	accountID string
	raw       json.RawMessage // the Transaction object
	id        string
	status    insights.TransactionStatus
	credit    bool
	booking   time.Time // BookingDateTime in UTC
	seq       int       // position in the data file, the last sort key
	line      int       // 1-based line in transactions.ndjson, for load errors
}

// fields decodes the Transaction object into a new map that the caller
// may change.
func (t *transaction) fields() (map[string]json.RawMessage, error) {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(t.raw, &fields); err != nil {
		return nil, fmt.Errorf("decode stored transaction %d: %w", t.seq, err)
	}
	return fields, nil
}

// customer holds one demo customer's data, read from DataDir/<id>/.
type customer struct {
	id           string
	accounts     []record
	balances     []record
	parties      []record
	transactions []*transaction // ordered by booking time, TransactionId, seq
	// byAccount indexes transactions by AccountId, "" for all accounts;
	// indexTransactions rebuilds it whenever transactions change.
	byAccount         map[string]*transactionIndex
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

	// The optional envelopes are checked only for JSON syntax and an
	// AccountId on every record, not with obie.Decoder.DecodeOrders, so
	// that tests can serve invalid payment orders to a client.
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
	c.indexTransactions()
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

// maxLineSize is the longest line transactions.ndjson may hold, in bytes.
// A transaction with every optional OBIE field is a few kilobytes.
const maxLineSize = 16 << 20

// readTransactions validates an NDJSON file of {"Transaction": {...}} lines
// and returns its transactions. It reads line by line, so loading holds
// one line at a time besides the transactions kept. Every problem of the
// file is returned, each with its line number.
func readTransactions(dec obie.Decoder, path string) ([]*transaction, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	defer f.Close()

	lines := dec.NewLineDecoder(path)
	scanner := bufio.NewScanner(f)
	scanner.Buffer(make([]byte, 64<<10), maxLineSize)
	var out []*transaction
	var payload obie.Payload
	otherResource := false
	for lineNo := 1; scanner.Scan(); lineNo++ {
		payload = obie.Payload{Transactions: payload.Transactions[:0]}
		if !lines.Decode(lineNo, scanner.Bytes(), &payload) || lines.Errors.Len() > 0 {
			continue
		}
		if len(payload.Accounts)+len(payload.Balances)+len(payload.Parties) > 0 {
			otherResource = true
			continue
		}
		if len(payload.Transactions) == 0 {
			continue // a blank line
		}

		// The decoder has validated the line, so it is one object whose
		// only member is the Transaction.
		var obj struct {
			Transaction json.RawMessage `json:"Transaction"`
		}
		if err := json.Unmarshal(scanner.Bytes(), &obj); err != nil {
			return nil, fmt.Errorf("%s:%d: %w", path, lineNo, err)
		}
		t, err := newTransaction(obj.Transaction, payload.Transactions[0], len(out))
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %w", path, lineNo, err)
		}
		t.line = lineNo
		out = append(out, t)
	}
	if err := scanner.Err(); err != nil {
		return nil, fmt.Errorf("read %s: %w (lines may hold at most %d bytes)", path, err, maxLineSize)
	}
	if err := lines.Errors.Err(); err != nil {
		return nil, err
	}
	if otherResource {
		return nil, fmt.Errorf("%s: invalid record: want only {\"Transaction\": ...} lines", path)
	}
	return out, nil
}

func newTransaction(raw json.RawMessage, typed obie.Transaction, seq int) (*transaction, error) {
	booking, err := obie.ParseDateTime(typed.BookingDateTime, obie.London)
	if err != nil {
		return nil, fmt.Errorf("$.Transaction.BookingDateTime: %w", err)
	}
	status, ok := obie.TransactionStatus(typed.Status)
	if !ok {
		return nil, fmt.Errorf("$.Transaction.Status: unknown code")
	}
	return &transaction{
		accountID: typed.AccountID,
		raw:       raw,
		id:        typed.TransactionID,
		status:    status,
		credit:    typed.CreditDebitIndicator == obie.Credit,
		booking:   booking,
		seq:       seq,
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
