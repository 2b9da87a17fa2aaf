package ingest

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"log/slog"
	"regexp"
	"strings"
	"time"

	insights "github.com/openbanking-insights/insights"
	"github.com/openbanking-insights/insights/internal/obie"
	"github.com/openbanking-insights/insights/internal/store"
)

// ErrLoadFinished reports a call on a Load after Commit or Abort.
var ErrLoadFinished = errors.New("load already committed or aborted")

// Load is one load in progress: records added to it wait in the staging
// tables until Commit. A Load is not safe for concurrent use, and one
// source should be loaded by one Load at a time: Begin removes the staged
// rows that an earlier, unfinished load of the same source left behind.
type Load struct {
	loader     *Loader
	id         string // load_id: 32 hex digits
	customerID string
	source     string
	ingestedAt time.Time
	zone       *time.Location
	today      insights.Date
	keys       *keyer
	seq        uint64
	// categorize categorises a transaction, or is nil when the load has no
	// categoriser (Loader.Categorizer, or what Loader.CategorizerFor
	// returned). It is the function the categoriser made for this load
	// when it offers one (see loadCategorizer), else its Categorize.
	categorize func(t *insights.Transaction)

	// digest is the SHA-256 recorded in loads when fileDigest is not set.
	// It covers the source and the content hashes of the records in input
	// order, so a rerun of a pull collapses into one loads row with its
	// first run. LoadFile sets it to nil and fileDigest to the file's
	// digest (fileDigestPrefix).
	digest     hash.Hash
	fileDigest string
	hashBuf    [2 * sha256.Size]byte // hashBytes's buffer

	accounts     *stager[insights.Account]
	balances     *stager[insights.Balance]
	parties      *stager[insights.Party]
	transactions *stager[insights.Transaction]
	records      Result // record counts, filled by Add
	span         txSpan // range of the staged transactions
	inserts      *inserter
	finished     bool

	// sliceRows is about the largest number of staged transactions that
	// Commit moves with one statement; see transactionSlices.
	sliceRows int

	// txTable is the table the load stages its transactions in: its own
	// table (loadTableName), or transactions_staging on a cluster; see
	// attach.go.
	txTable string
	// mayAttach is true when Commit may attach the parts of txTable to
	// transactions: txTable is the load's own table.
	mayAttach bool
	// txParts counts the inserts into txTable when mayAttach; only the
	// goroutine of inserts uses it. See unmergedLoadParts.
	txParts int
	// hashCheckRows is the largest number of staged transactions that
	// Commit checks for repeated identities with a hash set; see
	// mayRepeatIdentity.
	hashCheckRows int
}

// Window is a booking-time range of one account that a pull read. Complete
// is true when every page of the range was read; only then may Commit
// conclude that a pending entry the range no longer lists has vanished.
// From and To are inclusive; a zero From or To leaves that side open.
type Window struct {
	AccountID string
	From, To  time.Time
	Complete  bool
}

// Begin starts a load of one source (a file path, or "pull:<id>"): records
// added to it are staged and become visible together on Commit; Abort or a
// crash leaves stored data as it was. Every Load must end with Commit or
// Abort, which stop the goroutine that inserts its staged batches.
func (l *Loader) Begin(ctx context.Context, customerID, source string) (*Load, error) {
	if customerID == "" {
		return nil, fmt.Errorf("begin load of %s: customer ID is empty", source)
	}
	categorizer := l.Categorizer
	if l.CategorizerFor != nil {
		c, err := l.CategorizerFor(ctx, customerID)
		if err != nil {
			return nil, fmt.Errorf("begin load of %s: %w", source, err)
		}
		categorizer = c
	}
	if err := l.dropStaleStaging(ctx, customerID, source); err != nil {
		return nil, fmt.Errorf("begin load of %s: %w", source, err)
	}

	var id [16]byte
	if _, err := rand.Read(id[:]); err != nil {
		return nil, fmt.Errorf("begin load of %s: load ID: %w", source, err)
	}
	loadID := hex.EncodeToString(id[:])
	zone := l.zone()
	now := l.now()
	ingestedAt := now.UTC().Truncate(time.Millisecond)
	txTable, ownTable := "transactions_staging", !isCluster(l.Engine)
	if ownTable {
		txTable = loadTableName(loadID)
		if err := l.createLoadTable(ctx, loadID, loadOwner(customerID, source), ingestedAt, source); err != nil {
			return nil, fmt.Errorf("begin load of %s: %w", source, err)
		}
	}
	digest := sha256.New()
	digest.Write([]byte(hashFields(source)))
	ld := &Load{
		loader:        l,
		id:            loadID,
		customerID:    customerID,
		source:        source,
		ingestedAt:    ingestedAt,
		zone:          zone,
		today:         insights.DateOf(now.In(zone)),
		keys:          newKeyer(),
		categorize:    categorizeFunc(categorizer),
		digest:        digest,
		accounts:      newStager(accountsTable, "accounts_staging", false),
		balances:      newStager(balancesTable, "balances_staging", false),
		parties:       newStager(partiesTable, "parties_staging", false),
		transactions:  newStager(transactionsTable, txTable, ownTable),
		txTable:       txTable,
		mayAttach:     ownTable,
		records:       Result{Source: source},
		sliceRows:     defaultSliceRows,
		hashCheckRows: hashCheckRows,
	}
	ld.inserts = newInserter(ld)
	return ld, nil
}

// ID returns the load's load_id, the staging partition and the value of
// the load_id column of every row the load inserts.
func (ld *Load) ID() string { return ld.id }

// hashBytes returns a content hash (hex digits) as bytes for digest
// without allocating them. The bytes are valid until the next call.
func (ld *Load) hashBytes(hash string) []byte {
	if len(hash) > len(ld.hashBuf) {
		return []byte(hash)
	}
	return ld.hashBuf[:copy(ld.hashBuf[:], hash)]
}

// loadCategorizer is a Categorizer that makes a function for the
// transactions of one load. One goroutine at a time calls the function,
// in input order, so it may keep state across them, as
// categorize.Categorizer does with normalised counterparty names.
type loadCategorizer interface {
	ForLoad() func(t *insights.Transaction)
}

// categorizeFunc returns the function a load categorises with.
func categorizeFunc(c Categorizer) func(t *insights.Transaction) {
	switch c := c.(type) {
	case nil:
		return nil
	case loadCategorizer:
		return c.ForLoad()
	default:
		return c.Categorize
	}
}

func (ld *Load) nextSeq() uint64 {
	ld.seq++
	return ld.seq
}

// Add converts, categorises and stages a validated payload (obie.Payload
// from obie.Decoder.Decode). Memory stays bounded: rows go to storage in
// Arrow record batches of Loader.BatchSize.
func (ld *Load) Add(ctx context.Context, p *obie.Payload) error {
	if ld.finished {
		return ErrLoadFinished
	}
	for i := range p.Accounts {
		a := p.Accounts[i].ToDomain(ld.customerID)
		if err := ld.accounts.add(ctx, ld, &a); err != nil {
			return err
		}
	}
	for i := range p.Balances {
		b, err := p.Balances[i].ToDomain(ld.customerID, ld.zone)
		if err != nil {
			return fmt.Errorf("balance %d: %w", ld.records.Balances+1, err)
		}
		if err := ld.balances.add(ctx, ld, &b); err != nil {
			return err
		}
		ld.records.Balances++
	}
	for i := range p.Parties {
		party, err := p.Parties[i].ToDomain(ld.customerID, ld.today)
		if err != nil {
			return fmt.Errorf("party %d: %w", ld.records.Parties+1, err)
		}
		if err := ld.parties.add(ctx, ld, &party); err != nil {
			return err
		}
		ld.records.Parties++
	}
	for i := range p.Transactions {
		var t insights.Transaction
		if err := ld.convertTransaction(&t, &p.Transactions[i], ld.records.Transactions+1); err != nil {
			return err
		}
		if err := ld.stageTransaction(ctx, &t); err != nil {
			return err
		}
	}
	ld.records.Accounts += len(p.Accounts)
	return nil
}

// convertTransaction converts and categorises wire, the n-th transaction
// of the load, into t. It reads no state that staging changes, so
// stageNDJSON runs it on a goroutine of its own while the load's goroutine
// stages earlier records. Converting into the caller's t, which a file
// load keeps in a reused slice, saves allocating a transaction: passed to
// the categoriser, a local one would escape to the heap.
func (ld *Load) convertTransaction(t *insights.Transaction, wire *obie.Transaction, n int) error {
	var err error
	if *t, err = wire.ToDomain(ld.customerID, ld.zone); err != nil {
		return fmt.Errorf("transaction %d: %w", n, err)
	}
	if ld.categorize != nil {
		ld.categorize(t)
	}
	if t.Category == "" {
		t.Category = insights.CategoryUncategorized
	}
	return nil
}

// stageTransaction keys and stages a converted transaction, in input
// order.
func (ld *Load) stageTransaction(ctx context.Context, t *insights.Transaction) error {
	ld.keys.setKey(t)
	return ld.stagePrepared(ctx, t, transactionsTable.hash(t))
}

// stagePrepared stages a keyed transaction whose content hash is hash.
func (ld *Load) stagePrepared(ctx context.Context, t *insights.Transaction, hash string) error {
	if err := ld.transactions.addHashed(ctx, ld, t, hash); err != nil {
		return err
	}
	ld.span.add(t)
	ld.records.Transactions++
	return nil
}

// txSpan is the accounts and booking times of the transactions a load
// staged. The commit counts the customer's stored transactions in that
// range (storedTransactions). Knowing the range from staging saves
// reading every staged row three times to find it.
type txSpan struct {
	accounts    map[string]bool
	lastAccount string
	tooMany     bool  // more than maxSpanAccounts accounts: not kept
	first, last int64 // booking times as stored, Unix milliseconds
}

// maxSpanAccounts bounds txSpan.accounts. A load of more accounts has its
// range read from the staged rows.
const maxSpanAccounts = 1000

func (s *txSpan) add(t *insights.Transaction) {
	at := int64(timestamp(t.BookingTime))
	if s.accounts == nil {
		s.accounts, s.first, s.last = map[string]bool{}, at, at
	}
	s.first, s.last = min(s.first, at), max(s.last, at)
	if t.AccountID == s.lastAccount || s.tooMany {
		return
	}
	// The ID may share memory with a whole decoded record.
	s.lastAccount = strings.Clone(t.AccountID)
	if !s.accounts[s.lastAccount] {
		s.accounts[s.lastAccount] = true
		s.tooMany = len(s.accounts) > maxSpanAccounts
	}
}

// Abort drops the staged rows. Stored data stays as it was.
func (ld *Load) Abort(ctx context.Context) error {
	return ld.abort(ctx, slog.LevelInfo, "load aborted")
}

// abort is Abort, logging message at level once the staged rows are
// dropped.
func (ld *Load) abort(ctx context.Context, level slog.Level, message string) error {
	if ld.finished {
		return nil
	}
	ld.finish()
	if err := ld.loader.dropStaging(ctx, ld.id); err != nil {
		return fmt.Errorf("abort load of %s: %w", ld.source, err)
	}
	ld.loader.logger().Log(ctx, level, message, "source", ld.source, "customer_id", ld.customerID, "load_id", ld.id)
	return nil
}

// waitInserts waits for the batches handed to the inserter and returns the
// first insert error.
func (ld *Load) waitInserts() error {
	if ld.inserts == nil {
		return nil
	}
	err := ld.inserts.wait()
	ld.inserts = nil
	return err
}

func (ld *Load) finish() {
	ld.finished = true
	if err := ld.waitInserts(); err != nil {
		ld.loader.logger().Debug("staging insert failed before the load ended", "load_id", ld.id, "err", err)
	}
	ld.accounts.release()
	ld.balances.release()
	ld.parties.release()
	ld.transactions.release()
}

// loadIDPattern is the form of every load_id Begin creates. Statements
// that cannot take a query parameter (ALTER TABLE ... DROP PARTITION) put a
// load_id into SQL text only after checking it against this pattern.
var loadIDPattern = regexp.MustCompile(`^[0-9a-f]{32}$`)

var stagingTables = []string{"accounts_staging", "balances_staging", "parties_staging", "transactions_staging"}

// dropStaging drops the staging partition of load id in every staging
// table, and the load's own table of transactions. Dropping a partition or
// table that does not exist is not an error.
func (l *Loader) dropStaging(ctx context.Context, id string) error {
	if !loadIDPattern.MatchString(id) {
		return fmt.Errorf("invalid load ID %q", id)
	}
	for _, t := range stagingTables {
		if err := l.Engine.Exec(ctx, "ALTER TABLE "+t+" DROP PARTITION '"+id+"'"); err != nil {
			return fmt.Errorf("drop staging partition of load %s in %s: %w", id, t, err)
		}
	}
	if isCluster(l.Engine) {
		return nil
	}
	return l.dropLoadTable(ctx, loadTableName(id))
}

// staleStagingAge is how long staged rows of other sources may wait. A
// load runs for minutes at most, so rows older than this belong to a
// process that died without rerunning its source.
const staleStagingAge = 24 * time.Hour

// dropStaleStaging drops the staged rows that an unfinished earlier load of
// the same customer and source left (a crash, or a process that returned
// without Commit or Abort), and those of any load older than
// staleStagingAge: their partitions of the staging tables and their own
// tables of transactions.
func (l *Loader) dropStaleStaging(ctx context.Context, customerID, source string) error {
	cutoff := l.now().Add(-staleStagingAge).UnixMilli()
	if !isCluster(l.Engine) {
		tables, err := l.staleLoadTables(ctx, loadOwner(customerID, source), cutoff)
		if err != nil {
			return err
		}
		for _, t := range tables {
			if err := l.dropLoadTable(ctx, t); err != nil {
				return err
			}
			l.logger().Info("staged rows of an unfinished load dropped", "load_id", strings.TrimPrefix(t, loadTablePrefix), "table", t)
		}
	}
	for _, t := range stagingTables {
		ids, err := l.staleLoads(ctx, t, customerID, source, cutoff)
		if err != nil {
			return err
		}
		for _, id := range ids {
			if err := l.dropStaging(ctx, id); err != nil {
				return err
			}
			l.logger().Info("staged rows of an unfinished load dropped", "load_id", id, "table", t)
		}
	}
	return nil
}

func (l *Loader) staleLoads(ctx context.Context, stagingTable, customerID, source string, cutoff int64) ([]string, error) {
	rows, err := l.Engine.Query(ctx, "SELECT load_id FROM "+stagingTable+`
WHERE (customer_id = {customer:String} AND source = {source:String})
   OR ingested_at < fromUnixTimestamp64Milli({cutoff:Int64}, 'UTC')
GROUP BY load_id`,
		store.P("customer", customerID), store.P("source", source), store.P("cutoff", fmt.Sprint(cutoff)))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", stagingTable, err)
	}
	defer rows.Close()

	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("read %s: %w", stagingTable, err)
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}
