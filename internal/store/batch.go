package store

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Batcher is an Engine that groups one-row inserts from concurrent
// callers into multi-row inserts. Each ClickHouse insert creates a part, so
// one-row inserts cap out at a few hundred per second on one engine, while
// one insert of a hundred rows costs about the same as one of a single row.
//
// An Exec of the form
//
//	INSERT INTO table (columns) VALUES (one tuple of {name:Type} placeholders and constants)
//
// waits until Window has passed since the first such insert of the same
// text arrived, or until MaxRows of them are waiting, and then all are
// written as one INSERT with one tuple per caller. Each caller returns only
// after that insert returned, with its error: the rows of one insert are
// one block, stored all together or not at all, so a caller never returns
// success for a row that is not stored. Every other statement, and every
// Query and InsertArrow, goes to the wrapped engine directly.
//
// A caller whose context ends while it waits still has its row written
// with the batch, and gets the batch's result, so that it never reports a
// failure for a row that was stored.
type Batcher struct {
	Engine
	// Window is how long the first row of a batch waits for others; 0
	// means 2ms.
	Window time.Duration
	// MaxRows flushes a batch early; 0 means 256.
	MaxRows int

	mu      sync.Mutex
	pending map[string]*batch // batches taking rows, by insert text
	last    map[string]*batch // newest batch of each insert text, not yet written

	pingMu   sync.Mutex
	nextPing *pingRound // the round new Ping callers join, not yet started
	pinging  bool       // whether runPings is running
}

// batch is the rows waiting for one insert text.
type batch struct {
	table, head, tuple string
	rows               [][]Param
	prev               *batch        // the batch of the same text before this one, or nil
	full               chan struct{} // closed when MaxRows is reached
	done               chan struct{} // closed after the insert returned
	err                error         // the batch's error, for every row
	rowErrs            []error       // set instead when the rows were retried one by one
}

// NewBatcher returns a Batcher over e with the default window and size.
func NewBatcher(e Engine) *Batcher { return &Batcher{Engine: e} }

var singleRowInsert = regexp.MustCompile(`(?is)^\s*(INSERT\s+INTO\s+([A-Za-z_][A-Za-z0-9_]*)\s*\([^()]*\)\s*VALUES)\s*(\(.*\))\s*$`)

var placeholder = regexp.MustCompile(`\{([A-Za-z_][A-Za-z0-9_]*):`)

func (b *Batcher) window() time.Duration {
	if b.Window > 0 {
		return b.Window
	}
	return 2 * time.Millisecond
}

func (b *Batcher) maxRows() int {
	if b.MaxRows > 0 {
		return b.MaxRows
	}
	return 256
}

// Ping runs SELECT 1 and returns its error, joining callers that arrive
// together into one statement. A caller waits for a statement that starts
// after it arrived, so a nil error means storage responded after the call
// began. A cache in front of storage calls it instead of the read it
// skips, so that an outage still shows as errors.
func (b *Batcher) Ping(ctx context.Context) error {
	b.pingMu.Lock()
	round := b.nextPing
	if round == nil {
		round = &pingRound{done: make(chan struct{})}
		b.nextPing = round
		if !b.pinging {
			b.pinging = true
			go b.runPings()
		}
	}
	b.pingMu.Unlock()

	select {
	case <-round.done:
		return round.err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// pingRound is one SELECT 1 and the callers waiting for it.
type pingRound struct {
	done chan struct{} // closed once err is set
	err  error
}

// runPings runs the waiting ping rounds one after another until none is
// left.
func (b *Batcher) runPings() {
	b.pingMu.Lock()
	for b.nextPing != nil {
		round := b.nextPing
		b.nextPing = nil
		b.pingMu.Unlock()

		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		rows, err := b.Engine.Query(ctx, "SELECT 1")
		if err == nil {
			err = rows.Close()
		}
		cancel()
		if err != nil {
			round.err = fmt.Errorf("check storage: %w", err)
		}
		close(round.done)

		b.pingMu.Lock()
	}
	b.pinging = false
	b.pingMu.Unlock()
}

// Exec runs query, batching it with concurrent identical one-row inserts.
func (b *Batcher) Exec(ctx context.Context, query string, params ...Param) error {
	m := singleRowInsert.FindStringSubmatch(query)
	if m == nil || len(params) == 0 || !oneTuple(m[3]) {
		return b.Engine.Exec(ctx, query, params...)
	}

	b.mu.Lock()
	if b.pending == nil {
		b.pending, b.last = map[string]*batch{}, map[string]*batch{}
	}
	bt, ok := b.pending[query]
	if !ok {
		bt = &batch{table: m[2], head: m[1], tuple: m[3], prev: b.last[query], full: make(chan struct{}), done: make(chan struct{})}
		b.pending[query], b.last[query] = bt, bt
		go b.flush(query, bt)
	}
	bt.rows = append(bt.rows, params)
	row := len(bt.rows) - 1
	if len(bt.rows) == b.maxRows() {
		// Later callers start a new batch; this one is written now.
		delete(b.pending, query)
		close(bt.full)
	}
	b.mu.Unlock()

	<-bt.done
	if bt.rowErrs != nil {
		return bt.rowErrs[row]
	}
	return bt.err
}

// flush writes bt once its window has passed, or it is full, and the
// previous batch of the same text was written. Rows keep joining bt while
// the previous insert runs, so under load each insert carries the rows
// that arrived during the one before (group commit), and at most one
// insert per text is in flight.
func (b *Batcher) flush(query string, bt *batch) {
	timer := time.NewTimer(b.window())
	select {
	case <-timer.C:
	case <-bt.full:
		timer.Stop()
	}
	if bt.prev != nil {
		<-bt.prev.done
		bt.prev = nil
	}
	b.mu.Lock()
	if b.pending[query] == bt {
		delete(b.pending, query)
	}
	b.mu.Unlock()
	defer func() {
		b.mu.Lock()
		if b.last[query] == bt {
			delete(b.last, query)
		}
		b.mu.Unlock()
	}()

	// No caller can add rows any more: bt left pending under mu.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	stmt, params := bt.statement()
	err := b.Engine.Exec(ctx, stmt, params...)
	if err != nil && len(bt.rows) > 1 && !errors.Is(err, ErrUnavailable) {
		// One bad row (a value that does not parse as its type) fails the
		// whole insert before anything is stored, so each row is tried
		// alone and only its own caller sees its error.
		// NOTE: this relies on a failed insert storing nothing, which holds
		// for the unpartitioned tables the service batches; an insert
		// spanning several partitions can fail after storing some.
		bt.rowErrs = make([]error, len(bt.rows))
		for i, row := range bt.rows {
			if rowErr := b.Engine.Exec(ctx, bt.head+" "+bt.tuple, row...); rowErr != nil {
				bt.rowErrs[i] = fmt.Errorf("insert into %s: %w", bt.table, rowErr)
			}
		}
		err = nil
	}
	if err != nil {
		bt.err = fmt.Errorf("batched insert of %d rows into %s: %w", len(bt.rows), bt.table, err)
	}
	close(bt.done)
}

// statement returns the multi-row insert of bt: the tuple once per row,
// with row i's placeholders renamed to b<i>_<name>.
func (bt *batch) statement() (string, []Param) {
	if len(bt.rows) == 1 {
		return bt.head + " " + bt.tuple, bt.rows[0]
	}
	var sql strings.Builder
	sql.WriteString(bt.head)
	params := make([]Param, 0, len(bt.rows)*len(bt.rows[0]))
	for i, row := range bt.rows {
		prefix := "b" + strconv.Itoa(i) + "_"
		if i > 0 {
			sql.WriteString(",")
		}
		sql.WriteString(" ")
		sql.WriteString(placeholder.ReplaceAllString(bt.tuple, "{"+prefix+"$1:"))
		for _, p := range row {
			params = append(params, Param{Name: prefix + p.Name, Value: p.Value})
		}
	}
	return sql.String(), params
}

// oneTuple reports whether s is a single parenthesised tuple: its first
// bracket closes at its end. Brackets inside string literals are not
// expected in insert tuples of this service and make it false at worst.
func oneTuple(s string) bool {
	depth := 0
	for i, r := range s {
		switch r {
		case '(':
			depth++
		case ')':
			depth--
			if depth == 0 && i != len(s)-1 {
				return false
			}
		}
	}
	return depth == 0
}
