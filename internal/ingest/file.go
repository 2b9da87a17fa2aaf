package ingest

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	insights "github.com/openbanking-insights/insights"
	"github.com/openbanking-insights/insights/internal/obie"
)

// Input size limits, in bytes.
const (
	// MaxLineSize is the longest NDJSON line LoadFile reads. One OBIE
	// record with every optional field filled stays under 10 KiB, so a
	// longer line is a broken file, not a large record.
	MaxLineSize = 1 << 20
	// MaxPageSize is the largest .json file LoadFile reads. Such a file is
	// one OBIE response page and is decoded whole, so it is held in memory
	// (with its decoded records, an estimated three times its size). The
	// OBIE profile says a page SHOULD hold 25 to 1,000 records, under 1 MiB
	// at about 700 bytes a transaction, so larger inputs belong in NDJSON,
	// which is streamed line by line.
	MaxPageSize = 64 << 20
)

// stageFile validates the file read from r and stages its records in ld.
// The error wraps an *obie.ErrorList when the file holds problems.
func (l *Loader) stageFile(ctx context.Context, ld *Load, path string, r io.Reader) error {
	dec := obie.Decoder{Local: ld.zone, Now: l.Now}
	if strings.EqualFold(filepath.Ext(path), ".ndjson") {
		return stageNDJSON(ctx, ld, dec, path, r)
	}
	return stageEnvelope(ctx, ld, dec, path, r)
}

// stageEnvelope reads one OBIE response page of at most MaxPageSize bytes,
// validates it whole, and stages its records.
func stageEnvelope(ctx context.Context, ld *Load, dec obie.Decoder, path string, r io.Reader) error {
	data, err := io.ReadAll(io.LimitReader(r, MaxPageSize+1))
	if err != nil {
		return fmt.Errorf("read: %w", err)
	}
	if len(data) > MaxPageSize {
		return fmt.Errorf("file larger than %d bytes, the limit for one OBIE response page: split it into pages or convert it to NDJSON", MaxPageSize)
	}
	p, err := dec.Decode(path, data)
	if err != nil {
		return err
	}
	return ld.Add(ctx, p)
}

// chunkLines is the number of NDJSON lines decoded into one chunk before
// it is handed on. Add stages rows in batches of its own, so this only
// spreads the cost of handing a chunk between goroutines.
const chunkLines = 1024

// chunk is a run of decoded NDJSON lines: their records, and once
// prepared, the transactions among them converted, categorised, keyed and
// hashed, or the error that stopped their preparation.
type chunk struct {
	obie.Payload
	txs    []insights.Transaction
	hashes []string // content hashes of txs
	err    error
}

// stageNDJSON reads NDJSON line by line, validating each line and staging
// its record, so memory stays bounded whatever the file's size. The work
// of a transaction runs on three goroutines, each on one chunk of lines
// while the next works on the chunk before. The first reads, decodes and
// validates lines. The second converts, categorises, keys and hashes
// their transactions. The caller's builds the staged batches, which the
// load's inserter hands to chDB. After the first problem it stops staging
// but goes on validating, so the error lists the problems of the whole
// file.
func stageNDJSON(ctx context.Context, ld *Load, dec obie.Decoder, path string, r io.Reader) error {
	lines := dec.NewLineDecoder(path)
	decoded := make(chan *chunk, 1)
	prepared := make(chan *chunk, 1)
	// Each of the three goroutines holds one chunk and each channel one
	// more. The free list has room for all five, so returning a chunk
	// never blocks.
	free := make(chan *chunk, 5)
	for range cap(free) {
		free <- &chunk{}
	}
	stop := make(chan struct{})
	readErr := make(chan error, 1)
	go func() {
		defer close(decoded)
		readErr <- decodeLines(r, path, lines, decoded, free, stop)
	}()
	go prepareChunks(ld, decoded, prepared, free, stop)

	// Stage every chunk while the file has no problem. After a problem, or
	// a failed stage, only wait for the other goroutines to finish.
	var addErr error
	for c := range prepared {
		if addErr == nil {
			addErr = addChunk(ctx, ld, c)
			if addErr != nil {
				close(stop)
			}
		}
		c.reset()
		free <- c
	}
	if err := <-readErr; err != nil {
		return err
	}
	if err := lines.Errors.Err(); err != nil {
		return err
	}
	return addErr
}

// decodeLines decodes the lines of r into chunks taken from free and sends
// each full one on decoded, until r ends or stop is closed. After the
// first problem it sends nothing more but decodes to the end, so that
// lines.Errors lists every problem.
func decodeLines(r io.Reader, path string, lines *obie.LineDecoder, decoded, free chan *chunk, stop chan struct{}) error {
	scanner := bufio.NewScanner(r)
	scanner.Buffer(make([]byte, 1<<20), MaxLineSize)
	c := <-free
	lineNo, waiting := 0, 0
	send := func() bool {
		select {
		case decoded <- c:
			return true
		case <-stop:
			return false
		}
	}

	for scanner.Scan() {
		lineNo++
		if !lines.Decode(lineNo, scanner.Bytes(), &c.Payload) || lines.Errors.Len() > 0 {
			continue
		}
		if waiting++; waiting < chunkLines {
			continue
		}
		if !send() {
			return nil
		}
		c, waiting = <-free, 0
	}
	if err := scanner.Err(); err != nil {
		if !errors.Is(err, bufio.ErrTooLong) {
			return fmt.Errorf("read line %d: %w", lineNo+1, err)
		}
		// The scanner cannot go on after a line it cannot hold.
		lines.Errors.Add(&obie.ValidationError{Source: path, Line: lineNo + 1,
			Reason: fmt.Sprintf("line longer than %d bytes, the NDJSON line limit; the rest of the file was not read", MaxLineSize)})
	}
	if lines.Errors.Len() == 0 && waiting > 0 {
		send()
	}
	return nil
}

// prepareChunks prepares the transactions of each chunk from decoded, in
// the order of the file, and sends the chunk on prepared, until decoded
// is closed. It closes prepared when it returns. After stop is closed it
// returns chunks to free unprepared instead.
func prepareChunks(ld *Load, decoded <-chan *chunk, prepared, free chan<- *chunk, stop <-chan struct{}) {
	defer close(prepared)
	before := 0 // the load's transactions in earlier chunks
	for c := range decoded {
		select {
		case <-stop:
			c.reset()
			free <- c
			continue
		default:
		}

		before = c.prepare(ld, before)
		select {
		case prepared <- c:
		case <-stop:
			c.reset()
			free <- c
		}
	}
}

// prepare converts, categorises, keys and hashes the transactions of c
// for ld, given the number of the load's transactions before them, and
// returns the number after them. It stops at the first that fails,
// leaving the error in c. Keys depend on the transactions before
// (keyer), so chunks must be prepared in the order of the file.
func (c *chunk) prepare(ld *Load, before int) int {
	for i := range c.Transactions {
		c.txs = append(c.txs, insights.Transaction{})
		t := &c.txs[len(c.txs)-1]
		if err := ld.convertTransaction(t, &c.Transactions[i], before+i+1); err != nil {
			*t = insights.Transaction{}
			c.txs = c.txs[:len(c.txs)-1]
			c.err = err
			break
		}
		ld.keys.setKey(t)
		c.hashes = append(c.hashes, transactionsTable.hash(t))
	}
	return before + len(c.Transactions)
}

// reset empties c for reuse.
func (c *chunk) reset() {
	c.Payload.Reset()
	clear(c.txs) // drop the strings they hold
	clear(c.hashes)
	c.txs, c.hashes, c.err = c.txs[:0], c.hashes[:0], nil
}

// addChunk stages the records of c: as Add would stage its payload, with
// the transactions that prepareChunks prepared.
func addChunk(ctx context.Context, ld *Load, c *chunk) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	records := c.Payload
	records.Transactions = nil
	if err := ld.Add(ctx, &records); err != nil {
		return err
	}
	for i := range c.txs {
		if err := ld.stagePrepared(ctx, &c.txs[i], c.hashes[i]); err != nil {
			return err
		}
	}
	return c.err
}
