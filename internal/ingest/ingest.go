// Package ingest loads OBIE files into storage: it validates a whole file,
// converts its records to domain types, categorises transactions, and
// inserts Arrow record batches. Loading is idempotent: a file already loaded
// is skipped, and a row stored with the same content is not stored again.
package ingest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	insights "github.com/openbanking-insights/insights"
	"github.com/openbanking-insights/insights/internal/obie"
	"github.com/openbanking-insights/insights/internal/store"
)

// DefaultBatchSize is the number of rows per Arrow record batch when
// Loader.BatchSize is 0. Large batches suit ClickHouse, which handles few
// large inserts far better than many small ones.
const DefaultBatchSize = 10000

// MaxFileSize is the largest file LoadFile reads, in bytes. A file is held
// in memory whole while it is validated.
const MaxFileSize = 512 << 20

// Categorizer sets Category and CategoryRule of a transaction.
type Categorizer interface {
	Categorize(t *insights.Transaction)
}

// Loader loads OBIE files for customers into a storage engine.
type Loader struct {
	Engine store.Engine
	// Categorizer categorises each transaction; nil leaves every
	// transaction uncategorized.
	Categorizer Categorizer
	// BankZone is the ASPSP's zone. It reads date-times sent without an
	// offset and decides BookingDate. nil means Europe/London.
	BankZone *time.Location
	// BatchSize is the number of rows per Arrow record batch; 0 means
	// DefaultBatchSize.
	BatchSize int
	// Logger receives one record per load; nil means slog.Default().
	Logger *slog.Logger
	// Now returns the current time, which becomes ingested_at; nil means
	// time.Now.
	Now func() time.Time
}

// Result reports one LoadFile call.
type Result struct {
	Source string
	// Skipped is true when a file with the same SHA-256 had been loaded for
	// the customer before; nothing was read into storage.
	Skipped bool
	// Accounts, Balances, Parties and Transactions count the records of the
	// file.
	Accounts, Balances, Parties, Transactions int
	// Unchanged counts records not inserted because a row with the same key
	// and content was already stored (or came earlier in the file).
	Unchanged int
}

// LoadFile validates the file at path and stores its records for the
// customer. It stores nothing when the file holds any problem: the error
// then wraps an *obie.ErrorList locating every problem.
//
// The file is an OBIE response envelope, or NDJSON when its name ends in
// ".ndjson". A row goes into the table `loads` after all records were
// stored, so a load cut short is done again in full on the next call.
func (l *Loader) LoadFile(ctx context.Context, customerID, path string) (Result, error) {
	res := Result{Source: path}
	if customerID == "" {
		return res, fmt.Errorf("load %s: customer ID is empty", path)
	}
	data, err := readFile(path)
	if err != nil {
		return res, err
	}

	// Step 1: skip a file already loaded for this customer.
	sum := sha256.Sum256(data)
	digest := hex.EncodeToString(sum[:])
	loaded, err := l.isLoaded(ctx, customerID, digest)
	if err != nil {
		return res, fmt.Errorf("load %s: %w", path, err)
	}
	if loaded {
		res.Skipped = true
		l.logger().Info("file already loaded", "source", path, "customer_id", customerID, "sha256", digest)
		return res, nil
	}

	// Step 2: validate the whole file before storing anything.
	zone := l.zone()
	dec := obie.Decoder{Local: zone, Now: l.Now}
	payload, err := dec.Decode(path, data)
	if err != nil {
		return res, fmt.Errorf("load %s: %w", path, err)
	}

	// Step 3: convert, categorise and store.
	today := insights.DateOf(l.now().In(zone))
	recs, err := convert(payload, customerID, zone, today)
	if err != nil {
		return res, fmt.Errorf("load %s: %w", path, err)
	}
	l.categorize(recs.transactions)
	res.Accounts, res.Balances = len(recs.accounts), len(recs.balances)
	res.Parties, res.Transactions = len(recs.parties), len(recs.transactions)

	ld := load{customerID: customerID, source: path, ingestedAt: l.now().UTC().Truncate(time.Millisecond), batchSize: l.batchSize()}
	unchanged, err := l.store(ctx, ld, recs)
	if err != nil {
		return res, fmt.Errorf("load %s: %w", path, err)
	}
	res.Unchanged = unchanged

	if err := l.recordLoad(ctx, ld, digest, res); err != nil {
		return res, fmt.Errorf("load %s: %w", path, err)
	}
	l.logger().Info("file loaded", "source", path, "customer_id", customerID, "sha256", digest,
		"accounts", res.Accounts, "balances", res.Balances, "parties", res.Parties,
		"transactions", res.Transactions, "unchanged", res.Unchanged)
	return res, nil
}

func readFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("load: %w", err)
	}
	defer f.Close()

	data, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("load %s: read: %w", path, err)
	}
	if len(data) > MaxFileSize {
		return nil, fmt.Errorf("load %s: file larger than %d bytes; split it", path, MaxFileSize)
	}
	return data, nil
}

// records holds the domain records of one file.
type records struct {
	accounts     []insights.Account
	balances     []insights.Balance
	parties      []insights.Party
	transactions []insights.Transaction
}

func convert(p *obie.Payload, customerID string, zone *time.Location, today insights.Date) (*records, error) {
	out := &records{}
	for i := range p.Accounts {
		out.accounts = append(out.accounts, p.Accounts[i].ToDomain(customerID))
	}
	for i := range p.Balances {
		b, err := p.Balances[i].ToDomain(customerID, zone)
		if err != nil {
			return nil, fmt.Errorf("balance %d: %w", i, err)
		}
		out.balances = append(out.balances, b)
	}
	for i := range p.Parties {
		party, err := p.Parties[i].ToDomain(customerID, today)
		if err != nil {
			return nil, fmt.Errorf("party %d: %w", i, err)
		}
		out.parties = append(out.parties, party)
	}
	for i := range p.Transactions {
		t, err := p.Transactions[i].ToDomain(customerID, zone)
		if err != nil {
			return nil, fmt.Errorf("transaction %d: %w", i, err)
		}
		out.transactions = append(out.transactions, t)
	}
	setTransactionKeys(out.transactions)
	return out, nil
}

func (l *Loader) categorize(txs []insights.Transaction) {
	for i := range txs {
		if l.Categorizer != nil {
			l.Categorizer.Categorize(&txs[i])
		}
		if txs[i].Category == "" {
			txs[i].Category = insights.CategoryUncategorized
		}
	}
}

// store inserts the records that are not already stored with the same
// content, and returns how many it left out.
func (l *Loader) store(ctx context.Context, ld load, recs *records) (int, error) {
	unchanged := 0
	n, err := storeTable(ctx, l.Engine, accountsTable, ld, recs.accounts, accountHash)
	unchanged += n
	if err != nil {
		return unchanged, err
	}
	n, err = storeTable(ctx, l.Engine, partiesTable, ld, recs.parties, partyHash)
	unchanged += n
	if err != nil {
		return unchanged, err
	}
	n, err = storeTable(ctx, l.Engine, balancesTable, ld, recs.balances, balanceHash)
	unchanged += n
	if err != nil {
		return unchanged, err
	}
	n, err = storeTable(ctx, l.Engine, transactionsTable, ld, recs.transactions, transactionHash)
	unchanged += n
	return unchanged, err
}

func (l *Loader) logger() *slog.Logger {
	if l.Logger != nil {
		return l.Logger
	}
	return slog.Default()
}

func (l *Loader) now() time.Time {
	if l.Now != nil {
		return l.Now()
	}
	return time.Now()
}

func (l *Loader) zone() *time.Location {
	if l.BankZone != nil {
		return l.BankZone
	}
	return obie.London
}

func (l *Loader) batchSize() int {
	if l.BatchSize > 0 {
		return l.BatchSize
	}
	return DefaultBatchSize
}
