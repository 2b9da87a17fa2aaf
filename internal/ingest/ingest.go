// Package ingest loads OBIE records into storage exactly once: it validates
// and converts them, categorises transactions, stages them in Arrow record
// batches, and on commit moves into the main tables only the rows not
// already stored with the same content. A load that fails, is aborted or is
// killed leaves stored data as it was; running it again stores what one
// uninterrupted run would have stored.
//
// LoadFile streams a file through Begin, Add and Commit; pulls from an
// ASPSP call those directly, page by page.
package ingest

import (
	"context"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"time"

	"lukechampine.com/blake3"

	insights "github.com/openbanking-insights/insights"
	"github.com/openbanking-insights/insights/internal/obie"
	"github.com/openbanking-insights/insights/internal/store"
)

// DefaultBatchSize is the number of rows per Arrow record batch when
// Loader.BatchSize is 0. Large batches suit ClickHouse, which handles few
// large inserts far better than many small ones.
const DefaultBatchSize = 50000

// Categorizer sets Category and CategoryRule of a transaction.
type Categorizer interface {
	Categorize(t *insights.Transaction)
}

// Loader loads OBIE records for customers into a storage engine. It is
// safe for concurrent use when its fields are not changed.
type Loader struct {
	Engine store.Engine
	// Categorizer categorises each transaction; nil leaves every
	// transaction uncategorized.
	Categorizer Categorizer
	// CategorizerFor, when set, returns the categorizer for one customer
	// (for example one with the customer's category overrides). Begin
	// calls it once per load and uses the result in place of Categorizer.
	// An error fails Begin, so no row is stored with the wrong category.
	CategorizerFor func(ctx context.Context, customerID string) (Categorizer, error)
	// BankZone is the ASPSP's zone. It reads date-times sent without an
	// offset and decides BookingDate. nil means Europe/London.
	BankZone *time.Location
	// BatchSize is the number of rows per Arrow record batch; 0 means
	// DefaultBatchSize.
	BatchSize int
	// Logger receives one record per load, and one debug record per staged
	// batch; nil means slog.Default().
	Logger *slog.Logger
	// Now returns the current time, which becomes ingested_at; nil means
	// time.Now.
	Now func() time.Time

	// hashWhileStaging is the file size in bytes from which LoadFile
	// hashes a file while staging it; 0 means hashWhileStagingFrom.
	hashWhileStaging int64
}

// Result reports one load.
type Result struct {
	Source string
	// Skipped is true when a file with the same bytes (by their BLAKE3
	// digest) had been loaded for the customer before; nothing was stored.
	Skipped bool
	// Empty is true when a file held no records, such as an empty NDJSON
	// file or a page whose Data is empty. Nothing was stored and no load
	// was recorded, so a later load of the file reads it again.
	Empty bool
	// Accounts, Balances, Parties and Transactions count the records of the
	// load.
	Accounts, Balances, Parties, Transactions int
	// Unchanged counts records not inserted because a row with the same key
	// and content was already stored (or came later in the same load).
	Unchanged int
	// Superseded and Vanished count the stored pending entries that Commit
	// took out of current views in complete windows.
	Superseded, Vanished int
}

// LoadFile validates the file at path and stores its records for the
// customer. It stores nothing when the file holds any problem: the error
// then wraps an *obie.ErrorList locating every problem.
//
// The file is an OBIE response envelope, or NDJSON when its name ends in
// ".ndjson"; see readFile for the size limits. A file already loaded for
// the customer (by its BLAKE3 digest) is skipped. The file's records become visible
// together when all of them were stored, and a load cut short is done
// again in full on the next call.
func (l *Loader) LoadFile(ctx context.Context, customerID, path string) (Result, error) {
	res := Result{Source: path}
	if customerID == "" {
		return res, fmt.Errorf("load %s: customer ID is empty", path)
	}
	// A file is read twice, to hash it and to stage it, so it must be a
	// regular file. Opening a named pipe would block until a writer opens
	// it, so the type is checked first.
	info, err := os.Stat(path)
	if err != nil {
		return res, fmt.Errorf("load: %w", err)
	}
	switch {
	case info.IsDir():
		return res, fmt.Errorf("load %s: %s is a directory: name the feed files in it", path, path)
	case !info.Mode().IsRegular():
		return res, fmt.Errorf("load %s: %s is not a regular file: save the feed to a file first", path, path)
	}
	f, err := os.Open(path)
	if err != nil {
		return res, fmt.Errorf("load: %w", err)
	}
	defer f.Close()

	// Step 1: skip a file already loaded for this customer. A file of
	// hashWhileStagingBytes or more is hashed while it is staged instead
	// of before: hashing is one core's work, and the other core would
	// wait for it.
	checked := make(chan fileCheck, 1)
	early := info.Size() < l.hashWhileStagingBytes()
	if early {
		check := l.checkFile(ctx, customerID, path, f)
		if check.err != nil {
			return res, check.err
		}
		if check.loaded {
			return l.skip(res, customerID, check.digest), nil
		}
		checked <- check
	}

	// Step 2: validate the whole file while staging its records; any
	// problem drops what was staged.
	ld, err := l.Begin(ctx, customerID, path)
	if err != nil {
		return res, fmt.Errorf("load %s: %w", path, err)
	}
	ld.digest = nil
	stageCtx, stopStaging := context.WithCancel(ctx)
	defer stopStaging()
	if !early {
		go func() {
			check := l.checkFile(stageCtx, customerID, path, f)
			if check.err != nil || check.loaded {
				stopStaging()
			}
			checked <- check
		}()
	}
	stageErr := l.stageFile(stageCtx, ld, path, io.NewSectionReader(f, 0, math.MaxInt64))
	check := <-checked
	if check.err != nil || check.loaded || stageErr != nil {
		level, message := slog.LevelInfo, "load aborted"
		if check.err == nil && check.loaded {
			// Skipping a file loaded before is no failure.
			level, message = slog.LevelDebug, "staged rows of a file loaded before dropped"
		}
		if abortErr := ld.abort(context.WithoutCancel(ctx), level, message); abortErr != nil {
			l.logger().Error("abort load", "source", path, "load_id", ld.id, "err", abortErr)
		}
		switch {
		case check.err != nil:
			return res, check.err
		case check.loaded:
			return l.skip(res, customerID, check.digest), nil
		default:
			return res, fmt.Errorf("load %s: %w", path, stageErr)
		}
	}
	ld.fileDigest = check.digest

	// A file without records stores nothing. Recording it as a load would
	// only make a later load of the same bytes report it as loaded before.
	if r := ld.records; r.Accounts+r.Balances+r.Parties+r.Transactions == 0 {
		if err := ld.abort(context.WithoutCancel(ctx), slog.LevelDebug, "load of a file without records dropped"); err != nil {
			return res, fmt.Errorf("load %s: %w", path, err)
		}
		l.logger().Info("file holds no records", "source", path, "customer_id", customerID)
		res.Empty = true
		return res, nil
	}

	// Step 3: make the rows current.
	res, err = ld.Commit(ctx, nil)
	if err != nil {
		return res, fmt.Errorf("load %s: %w", path, err)
	}
	return res, nil
}

// hashWhileStagingFrom is the default of Loader.hashWhileStaging. Hashing
// a file below it takes an estimated 45 ms at most, because one core of
// the benchmark machine read and hashed the 525 MB feed of
// BenchmarkLoadFile at about 1.5 GB/s. So hashing such a file first costs
// little, and when it was loaded before, it costs no load table.
const hashWhileStagingFrom = 64 << 20

func (l *Loader) hashWhileStagingBytes() int64 {
	if l.hashWhileStaging > 0 {
		return l.hashWhileStaging
	}
	return hashWhileStagingFrom
}

// fileDigestPrefix starts the digest of a file in loads.sha256, which holds
// "blake3:" and the hex BLAKE3-256 of the file's bytes. The column's name
// is older: files were identified by SHA-256 before, and a pull's digest
// still is one (Load.digest). BLAKE3 hashed the 525 MB feed of
// BenchmarkLoadFile at about 4 GB/s on one core of the benchmark machine,
// SHA-256 at 1.7 GB/s, and hashing is a tenth of a large load's CPU time.
// Writing 1 MiB at a time on a 2-core Xeon with AVX-512, the
// lukechampine.com/blake3 in use hashed 3.2 to 3.5 GB/s, and
// github.com/zeebo/blake3, used before, 2.1 to 2.4 GB/s.
// A file loaded before the change is not recognised by its digest, so
// loading it again stages its rows, finds them all stored and stores
// nothing new.
const fileDigestPrefix = "blake3:"

// fileCheck is the result of checkFile.
type fileCheck struct {
	digest string // fileDigestPrefix and the file's BLAKE3
	loaded bool   // a load of the customer stored a file with that digest
	err    error
}

// checkFile hashes the file f, reading it with ReadAt so that the file can
// be staged at the same time, and looks the hash up among the customer's
// loads.
func (l *Loader) checkFile(ctx context.Context, customerID, path string, f *os.File) fileCheck {
	h := blake3.New(32, nil)
	if _, err := io.CopyBuffer(h, io.NewSectionReader(f, 0, math.MaxInt64), make([]byte, 1<<20)); err != nil {
		return fileCheck{err: fmt.Errorf("load %s: read: %w", path, err)}
	}
	digest := fileDigestPrefix + hex.EncodeToString(h.Sum(nil))
	loaded, err := l.isLoaded(ctx, customerID, digest)
	if err != nil {
		return fileCheck{err: fmt.Errorf("load %s: %w", path, err)}
	}
	return fileCheck{digest: digest, loaded: loaded}
}

// skip logs that the file of res was loaded before and returns res marked
// as skipped.
func (l *Loader) skip(res Result, customerID, digest string) Result {
	res.Skipped = true
	l.logger().Info("file already loaded", "source", res.Source, "customer_id", customerID, "digest", digest)
	return res
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
