package ingest

import (
	"context"
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
)

// inserter inserts the record batches of one load into the staging tables
// on a goroutine of its own, so the next batch is decoded and built while
// chDB inserts the last one. It holds at most insertQueue batches waiting
// besides the one being inserted. The first failed insert stops it: later
// batches are released without being inserted, and the error is returned
// by the next submit and by wait.
type inserter struct {
	ld   *Load
	jobs chan insertJob
	done chan struct{}
	err  error // set by the goroutine before it closes done
}

type insertJob struct {
	ctx   context.Context
	table string
	rec   arrow.RecordBatch
}

// insertQueue is the number of built batches that may wait for the insert
// goroutine. One keeps decoding and inserting busy at the same time; more
// would only hold more memory.
const insertQueue = 1

func newInserter(ld *Load) *inserter {
	ins := &inserter{ld: ld, jobs: make(chan insertJob, insertQueue), done: make(chan struct{})}
	go ins.run()
	return ins
}

func (ins *inserter) run() {
	defer close(ins.done)
	for job := range ins.jobs {
		if ins.err == nil {
			ins.err = ins.insert(job)
		}
		job.rec.Release()
	}
}

func (ins *inserter) insert(job insertJob) error {
	ld := ins.ld
	rows := job.rec.NumRows()
	if err := ld.loader.Engine.InsertArrow(job.ctx, job.table, job.rec); err != nil {
		return fmt.Errorf("insert %d rows into %s: %w", rows, job.table, err)
	}
	ld.loader.logger().Debug("staged batch", "table", job.table, "rows", rows,
		"load_id", ld.id, "customer_id", ld.customerID)
	if ld.mayAttach && job.table == ld.txTable {
		// Each insert of a batch is one part of the load table.
		if ld.txParts++; ld.txParts == unmergedLoadParts {
			ld.loader.setLoadTableMerges(job.ctx, job.table, true)
		}
	}
	return nil
}

// submit queues rec for insertion into table and takes over the caller's
// reference to it. It returns the error of an earlier insert, if any.
func (ins *inserter) submit(ctx context.Context, table string, rec arrow.RecordBatch) error {
	select {
	case <-ins.done:
		rec.Release()
		return ins.err
	default:
	}
	select {
	case ins.jobs <- insertJob{ctx: ctx, table: table, rec: rec}:
		return nil
	case <-ins.done:
		rec.Release()
		return ins.err
	case <-ctx.Done():
		rec.Release()
		return ctx.Err()
	}
}

// wait waits until every submitted batch was inserted or released, and
// returns the first insert error. No batch may be submitted after wait.
func (ins *inserter) wait() error {
	close(ins.jobs)
	<-ins.done
	return ins.err
}
