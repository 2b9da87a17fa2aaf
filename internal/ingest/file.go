package ingest

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
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
	// (with its decoded records, about three times its size). OBIE asks
	// ASPSPs for pages of 25 to 1,000 records, about 1 MiB; larger inputs
	// belong in NDJSON, which is streamed line by line.
	MaxPageSize = 64 << 20
)

// fileSHA256 returns the hex SHA-256 of the file at path, read in a stream.
func fileSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("load: %w", err)
	}
	defer f.Close()

	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("load %s: read: %w", path, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// stageFile validates the file and stages its records in ld. The error
// wraps an *obie.ErrorList when the file holds problems.
func (l *Loader) stageFile(ctx context.Context, ld *Load, path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()

	dec := obie.Decoder{Local: ld.zone, Now: l.Now}
	if strings.EqualFold(filepath.Ext(path), ".ndjson") {
		return stageNDJSON(ctx, ld, dec, path, f)
	}
	return stageEnvelope(ctx, ld, dec, path, f)
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

// addEvery is the number of NDJSON lines decoded between calls to Add.
// Add stages rows in batches of its own, so this only spreads Add's fixed
// cost.
const addEvery = 256

// stageNDJSON reads NDJSON line by line, validating each line and staging
// its record, so memory stays bounded whatever the file's size. After the
// first problem it stops staging but goes on validating, so the error lists
// the problems of the whole file.
func stageNDJSON(ctx context.Context, ld *Load, dec obie.Decoder, path string, r io.Reader) error {
	lines := dec.NewLineDecoder(path)
	scanner := bufio.NewScanner(r)
	scanner.Buffer(make([]byte, 64<<10), MaxLineSize)
	p := &obie.Payload{}
	lineNo, waiting := 0, 0

	for scanner.Scan() {
		lineNo++
		if !lines.Decode(lineNo, scanner.Bytes(), p) || lines.Errors.Len() > 0 {
			continue
		}
		if waiting++; waiting < addEvery {
			continue
		}
		if err := addAndReset(ctx, ld, p); err != nil {
			return err
		}
		waiting = 0
	}
	if err := scanner.Err(); err != nil {
		if !errors.Is(err, bufio.ErrTooLong) {
			return fmt.Errorf("read line %d: %w", lineNo+1, err)
		}
		// The scanner cannot go on after a line it cannot hold.
		lines.Errors.Add(&obie.ValidationError{Source: path, Line: lineNo + 1,
			Reason: fmt.Sprintf("line longer than %d bytes, the NDJSON line limit; the rest of the file was not read", MaxLineSize)})
	}
	if err := lines.Errors.Err(); err != nil {
		return err
	}
	return addAndReset(ctx, ld, p)
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
