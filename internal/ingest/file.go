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
// it is handed to the load's goroutine. Add stages rows in batches of its
// own, so this only spreads the cost of handing a chunk between
// goroutines.
const chunkLines = 1024

// chunk is a run of decoded NDJSON lines: their records, with the
// transactions among them converted and categorised as well, or the error
// that stopped their conversion.
type chunk struct {
	obie.Payload
	txs []insights.Transaction
	err error
}

// stageNDJSON reads NDJSON line by line, validating each line and staging
// its record, so memory stays bounded whatever the file's size. One
// goroutine reads, decodes, converts and categorises lines while the
// caller's keys, hashes and stages the records of the chunk before, so the
// work of a transaction splits about evenly between them. After the first
// problem it stops staging but goes on validating, so the error lists the
// problems of the whole file.
func stageNDJSON(ctx context.Context, ld *Load, dec obie.Decoder, path string, r io.Reader) error {
	lines := dec.NewLineDecoder(path)
	decoded := make(chan *chunk, 1)
	free := make(chan *chunk, 3)
	for range cap(free) {
		free <- &chunk{}
	}
	stop := make(chan struct{})
	readErr := make(chan error, 1)
	converted := 0 // transactions converted, read by the reader's goroutine only
	convert := func(c *chunk) { converted = c.convert(ld, converted) }
	go func() {
		defer close(decoded)
		readErr <- decodeLines(r, path, lines, convert, decoded, free, stop)
	}()

	// Stage every chunk while the file holds no problem; after a problem,
	// or a failed stage, only wait for the reader to finish.
	var addErr error
	for c := range decoded {
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

// decodeLines decodes the lines of r into chunks taken from free, passes
// each full one to convert (when not nil) and sends it on decoded, until r
// ends or stop is closed. After the first problem it sends nothing more
// but decodes to the end, so that lines.Errors lists every problem.
func decodeLines(r io.Reader, path string, lines *obie.LineDecoder, convert func(*chunk), decoded, free chan *chunk, stop chan struct{}) error {
	scanner := bufio.NewScanner(r)
	scanner.Buffer(make([]byte, 1<<20), MaxLineSize)
	c := <-free
	lineNo, waiting := 0, 0
	send := func() bool {
		if convert != nil {
			convert(c)
		}
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

// convert converts and categorises the transactions of c for ld, given the
// number of the load's transactions before them, and returns the number
// after them. It stops at the first that fails, leaving the error in c.
func (c *chunk) convert(ld *Load, before int) int {
	for i := range c.Transactions {
		t, err := ld.convertTransaction(&c.Transactions[i], before+i+1)
		if err != nil {
			c.err = err
			break
		}
		c.txs = append(c.txs, t)
	}
	return before + len(c.Transactions)
}

// reset empties c for reuse.
func (c *chunk) reset() {
	c.Accounts, c.Balances = c.Accounts[:0], c.Balances[:0]
	c.Parties, c.Transactions = c.Parties[:0], c.Transactions[:0]
	clear(c.txs) // drop the strings they hold
	c.txs, c.err = c.txs[:0], nil
}

// addChunk stages the records of c: as Add would stage its payload, with
// the transactions that the reader converted.
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
		if err := ld.stageTransaction(ctx, &c.txs[i]); err != nil {
			return err
		}
	}
	return c.err
}
