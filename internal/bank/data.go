package bank

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math"
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
// filtering, ordering and booking need. The Transaction object itself stays
// on disk: offset and size locate its line, and serving a page reads and
// decodes only the lines of that page. Keeping the JSON text in memory
// took about 690 MiB per million transactions. The fields take 64 bytes.
// With its TransactionId text and its places in the index slices, an entry
// took 125 bytes of heap in a load of 1 million.
type transaction struct {
	accountID   string // shared with the other entries of the account
	id          string
	offset      int64 // byte offset of the line in transactions.ndjson
	bookingSec  int64 // BookingDateTime as Unix seconds
	bookingNsec int32 // and nanoseconds within that second
	seq         int32 // position in the data file, the last sort key
	size        int32 // length of the line in bytes, without its line break
	pending     bool  // Status is Pending (PDNG in v4.0)
	credit      bool
}

// booking returns BookingDateTime in UTC.
func (t *transaction) booking() time.Time {
	return time.Unix(t.bookingSec, int64(t.bookingNsec)).UTC()
}

func (t *transaction) setBooking(at time.Time) {
	t.bookingSec, t.bookingNsec = at.Unix(), int32(at.Nanosecond())
}

// transactionFile is a customer's transactions.ndjson, held open for the
// bank's lifetime so that pages are read from the file that was loaded.
type transactionFile struct {
	path    string
	file    *os.File
	size    int64
	modTime time.Time
}

// checkUnchanged returns an error when the file's size or modification
// time differs from when it was loaded, because the stored offsets would
// then point into other lines.
func (f *transactionFile) checkUnchanged() error {
	info, err := f.file.Stat()
	if err != nil {
		return fmt.Errorf("stat %s: %w", f.path, err)
	}
	if info.Size() != f.size || !info.ModTime().Equal(f.modTime) {
		return fmt.Errorf("%s changed after the bank loaded it: restart the bank to serve the new file", f.path)
	}
	return nil
}

// fields decodes the Transaction object of t into a new map that the
// caller may change: its booked version when handleAdvance has booked it,
// or else its line of transactions.ndjson. The line was validated when
// loading, so it is one object whose only member is the Transaction.
func (c *customer) fields(t *transaction) (map[string]json.RawMessage, error) {
	var fields map[string]json.RawMessage
	if raw, ok := c.rebooked[t.seq]; ok {
		if err := json.Unmarshal(raw, &fields); err != nil {
			return nil, fmt.Errorf("decode rebooked transaction %d: %w", t.seq, err)
		}
		return fields, nil
	}

	line := make([]byte, t.size)
	if _, err := c.file.file.ReadAt(line, t.offset); err != nil {
		return nil, fmt.Errorf("read %s at byte %d: %w", c.file.path, t.offset, err)
	}
	var obj struct {
		Transaction map[string]json.RawMessage `json:"Transaction"`
	}
	if err := json.Unmarshal(line, &obj); err != nil {
		return nil, fmt.Errorf("decode %s at byte %d: %w", c.file.path, t.offset, err)
	}
	if obj.Transaction == nil {
		return nil, fmt.Errorf("decode %s at byte %d: $.Transaction: missing required field", c.file.path, t.offset)
	}
	return obj.Transaction, nil
}

// customer holds one demo customer's data, read from DataDir/<id>/.
type customer struct {
	id           string
	accounts     []record
	balances     []record
	parties      []record
	transactions []*transaction // ordered by booking time, TransactionId, seq
	file         *transactionFile
	// rebooked holds, by seq, the Transaction objects of entries that
	// handleAdvance has booked, which differ from their lines in file.
	rebooked map[int32]json.RawMessage
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

func loadCustomer(dir, id string, now func() time.Time) (_ *customer, err error) {
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
	var orphanLine int
	if c.transactions, c.file, orphanLine, err = readTransactions(dec, filepath.Join(dir, fileTransactions), known); err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			c.file.file.Close()
		}
	}()

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

	if err := checkAccountIDs(dir, c, known, orphanLine); err != nil {
		return nil, err
	}
	sortTransactions(c.transactions)
	c.indexTransactions()
	return c, nil
}

// checkAccountIDs rejects a record whose AccountId is not in accounts.json,
// as such a record could never be served. orphanLine is the first line of
// transactions.ndjson with such an AccountId, or 0.
func checkAccountIDs(dir string, c *customer, known map[string]bool, orphanLine int) error {
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
	if orphanLine > 0 {
		return fmt.Errorf("%s:%d: $.Transaction.AccountId is not an account of %s", filepath.Join(dir, fileTransactions), orphanLine, fileAccounts)
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
// and returns its transactions with the file, which it leaves open. It
// reads line by line and keeps the offset of each line instead of its
// text. Every problem of the file is returned, each with its line number.
// Account IDs are interned through known, whose keys are the customer's
// accounts, so that entries of one account share one string. orphanLine
// is the first line whose AccountId is not in known, or 0.
func readTransactions(dec obie.Decoder, path string, known map[string]bool) (_ []*transaction, _ *transactionFile, orphanLine int, _ error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, 0, fmt.Errorf("read %s: %w", path, err)
	}
	info, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, nil, 0, fmt.Errorf("stat %s: %w", path, err)
	}
	out, orphanLine, err := scanTransactions(dec, f, path, known)
	if err != nil {
		f.Close()
		return nil, nil, 0, err
	}
	return out, &transactionFile{path: path, file: f, size: info.Size(), modTime: info.ModTime()}, orphanLine, nil
}

// scanTransactions reads the lines of f; see readTransactions.
func scanTransactions(dec obie.Decoder, f *os.File, path string, known map[string]bool) (_ []*transaction, orphanLine int, _ error) {
	accountIDs := make(map[string]string, len(known))
	for id := range known {
		accountIDs[id] = id
	}

	lines := dec.NewLineDecoder(path)
	scanner := bufio.NewScanner(f)
	scanner.Buffer(make([]byte, 64<<10), maxLineSize)
	// The split function records how many bytes each token consumed, line
	// break included, which gives the offset of the next line.
	var advance int
	scanner.Split(func(data []byte, atEOF bool) (int, []byte, error) {
		n, token, err := bufio.ScanLines(data, atEOF)
		if token != nil {
			advance = n
		}
		return n, token, err
	})

	var out []*transaction
	var payload obie.Payload
	var offset int64
	otherResource := false
	for lineNo := 1; scanner.Scan(); lineNo++ {
		start := offset
		offset += int64(advance)
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

		if len(out) == math.MaxInt32 {
			return nil, 0, fmt.Errorf("%s:%d: too many transactions: a customer may have at most %d", path, lineNo, math.MaxInt32)
		}
		t, err := newTransaction(payload.Transactions[0], int32(len(out)))
		if err != nil {
			return nil, 0, fmt.Errorf("%s:%d: %w", path, lineNo, err)
		}
		if id, ok := accountIDs[t.accountID]; ok {
			t.accountID = id
		} else {
			t.accountID = strings.Clone(t.accountID)
			if orphanLine == 0 {
				orphanLine = lineNo
			}
		}
		t.offset = start
		t.size = int32(len(scanner.Bytes()))
		out = append(out, t)
	}
	if err := scanner.Err(); err != nil {
		return nil, 0, fmt.Errorf("read %s: %w (lines may hold at most %d bytes)", path, err, maxLineSize)
	}
	if err := lines.Errors.Err(); err != nil {
		return nil, 0, err
	}
	if otherResource {
		return nil, 0, fmt.Errorf("%s: invalid record: want only {\"Transaction\": ...} lines", path)
	}
	return out, orphanLine, nil
}

func newTransaction(typed obie.Transaction, seq int32) (*transaction, error) {
	booking, err := obie.ParseDateTime(typed.BookingDateTime, obie.London)
	if err != nil {
		return nil, fmt.Errorf("$.Transaction.BookingDateTime: %w", err)
	}
	status, ok := obie.TransactionStatus(typed.Status)
	if !ok {
		return nil, fmt.Errorf("$.Transaction.Status: unknown code")
	}
	// The decoded strings share one copy of the whole line, so the ID is
	// copied: the bank keeps it for every transaction of the file.
	t := &transaction{
		accountID: typed.AccountID,
		id:        strings.Clone(typed.TransactionID),
		seq:       seq,
		pending:   status == insights.StatusPending,
		credit:    typed.CreditDebitIndicator == obie.Credit,
	}
	t.setBooking(booking)
	return t, nil
}

// sortTransactions orders by BookingDateTime, then TransactionId, then
// position in the file, so that pages are stable between requests.
func sortTransactions(ts []*transaction) {
	sort.SliceStable(ts, func(i, j int) bool {
		a, b := ts[i], ts[j]
		if a.bookingSec != b.bookingSec || a.bookingNsec != b.bookingNsec {
			return a.bookingSec < b.bookingSec || (a.bookingSec == b.bookingSec && a.bookingNsec < b.bookingNsec)
		}
		if a.id != b.id {
			return a.id < b.id
		}
		return a.seq < b.seq
	})
}
