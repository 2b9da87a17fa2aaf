package ingest

import (
	"context"

	"github.com/apache/arrow-go/v18/arrow/array"
)

// stager collects the rows of one table for a load in an Arrow record
// builder and hands them to the load's inserter whenever batchSize rows
// are waiting, so a load holds at most one batch per table besides those
// the inserter holds.
type stager[T any] struct {
	t    *table[T]
	into string // the table the batches are inserted into
	// loadConstants is true when into is a load table, whose column
	// defaults give source, ingested_at and load_id; the batches leave
	// them out. A batch of 50,000 transactions then carries about 5 MB
	// less for Go to build and chDB to parse.
	loadConstants bool
	builder       *rowBuilder
	pending       int // rows in builder
	staged        int // rows inserted into staging so far
}

func newStager[T any](t *table[T], into string, loadConstants bool) *stager[T] {
	return &stager[T]{t: t, into: into, loadConstants: loadConstants,
		builder: newRowBuilder(t.schema(loadConstants))}
}

// add appends v to the batch and inserts the batch when it is full.
func (s *stager[T]) add(ctx context.Context, ld *Load, v *T) error {
	return s.addHashed(ctx, ld, v, s.t.hash(v))
}

// addHashed is add for a row whose content hash is known.
func (s *stager[T]) addHashed(ctx context.Context, ld *Load, v *T, hash string) error {
	b := s.builder
	if ld.digest != nil {
		ld.digest.Write(ld.hashBytes(hash))
	}

	n := len(s.t.fields)
	b.Field(0).(*array.StringBuilder).Append(ld.customerID)
	s.t.appendRow(b, v)
	appendString(b, n+1, hash)
	if !s.loadConstants {
		appendString(b, n+2, ld.source)
		b.Field(n + 3).(*array.TimestampBuilder).Append(timestamp(ld.ingestedAt))
		appendString(b, n+4, ld.id)
	}
	b.Field(b.Schema().NumFields() - 1).(*array.Uint64Builder).Append(ld.nextSeq())
	s.pending++

	if s.pending >= ld.loader.batchSize() {
		dataLens := s.stringDataLens()
		if err := s.flush(ctx, ld); err != nil {
			return err
		}
		s.reserve(ld.loader.batchSize(), dataLens)
	}
	return nil
}

// stringDataLens returns the bytes of string data in each column of the
// batch being built, 0 for columns of other types.
func (s *stager[T]) stringDataLens() []int {
	lens := make([]int, s.builder.Schema().NumFields())
	for i, f := range s.builder.Fields() {
		if b, ok := f.(*array.StringBuilder); ok {
			lens[i] = b.DataLen()
		}
	}
	return lens
}

// reserve sizes the builder's buffers for a batch of rows like the last
// full one, so that they are allocated once per batch instead of doubling
// (copying and zeroing) as rows are appended.
func (s *stager[T]) reserve(rows int, dataLens []int) {
	s.builder.Reserve(rows)
	for i, f := range s.builder.Fields() {
		if b, ok := f.(*array.StringBuilder); ok && dataLens[i] > 0 {
			b.ReserveData(dataLens[i])
		}
	}
}

// flush hands the waiting rows to the load's inserter, which inserts them
// into the staging table while the next batch is built.
func (s *stager[T]) flush(ctx context.Context, ld *Load) error {
	if s.pending == 0 {
		return nil
	}
	rec := s.builder.newBatch()
	if err := ld.inserts.submit(ctx, s.into, rec); err != nil {
		return err
	}
	s.staged += s.pending
	s.pending = 0
	return nil
}

func (s *stager[T]) release() { s.builder.Release() }
