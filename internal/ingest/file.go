package ingest

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"

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

// chunkLines is the number of NDJSON lines decoded into one Payload
// before it is handed to Add. Add stages rows in batches of its own, so
// this only spreads the cost of handing a chunk between goroutines.
const chunkLines = 1024

// stageNDJSON reads NDJSON line by line, validating each line and staging
// its record, so memory stays bounded whatever the file's size. One
// goroutine reads and decodes lines while the caller's converts and stages
// the records decoded before. After the first problem it stops staging but
// goes on validating, so the error lists the problems of the whole file.
func stageNDJSON(ctx context.Context, ld *Load, dec obie.Decoder, path string, r io.Reader) error {
	lines := dec.NewLineDecoder(path)
	decoded := make(chan *obie.Payload, 1)
	free := make(chan *obie.Payload, 3)
	for range cap(free) {
		free <- &obie.Payload{}
	}
	stop := make(chan struct{})
	readErr := make(chan error, 1)
	go func() {
		defer close(decoded)
		readErr <- decodeLines(r, path, lines, decoded, free, stop)
	}()

	// Add every chunk while the file holds no problem; after a problem,
	// or a failed Add, only wait for the reader to finish.
	var addErr error
	for p := range decoded {
		if addErr == nil {
			addErr = addAndReset(ctx, ld, p)
			if addErr != nil {
				close(stop)
			}
		}
		free <- p
	}
	if err := <-readErr; err != nil {
		return err
	}
	if err := lines.Errors.Err(); err != nil {
		return err
	}
	return addErr
}

// decodeLines decodes the lines of r into payloads taken from free and
// sends each full one on decoded, until r ends or stop is closed. After
// the first problem it sends nothing more but decodes to the end, so that
// lines.Errors lists every problem.
func decodeLines(r io.Reader, path string, lines *obie.LineDecoder, decoded, free chan *obie.Payload, stop chan struct{}) error {
	scanner := bufio.NewScanner(r)
	scanner.Buffer(make([]byte, 1<<20), MaxLineSize)
	p := <-free
	lineNo, waiting := 0, 0

	for scanner.Scan() {
		lineNo++
		if !lines.Decode(lineNo, scanner.Bytes(), p) || lines.Errors.Len() > 0 {
			continue
		}
		if waiting++; waiting < chunkLines {
			continue
		}
		select {
		case decoded <- p:
		case <-stop:
			return nil
		}
		p, waiting = <-free, 0
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
		select {
		case decoded <- p:
		case <-stop:
		}
	}
	return nil
}

// addAndReset stages the records of p and empties p for reuse.
func addAndReset(ctx context.Context, ld *Load, p *obie.Payload) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := ld.Add(ctx, p); err != nil {
		return err
	}
	p.Accounts, p.Balances = p.Accounts[:0], p.Balances[:0]
	p.Parties, p.Transactions = p.Parties[:0], p.Transactions[:0]
	return nil
}
