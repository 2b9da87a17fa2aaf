package derive

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/openbanking-insights/insights"
	"github.com/openbanking-insights/insights/internal/categorize"
	"github.com/openbanking-insights/insights/internal/store"
)

// Parts of sideQuery, the first column of each of its rows.
const (
	sidePartAnchor    = "anchor"
	sidePartSnapshots = "payment_order_snapshots"
)

// sideStampSQL selects the derived_at and row count of the newest stored
// set of the set table %[1]s as one row, or no row when none is stored.
const sideStampSQL = `SELECT * FROM (
    SELECT '%[1]s', '', '', '', toInt64(toUnixTimestamp64Milli(derived_at)), toUInt64(count())
    FROM %[1]s
    WHERE customer_id = {customer:String}
    GROUP BY derived_at
    ORDER BY derived_at DESC
    LIMIT 1)`

// sideSnapshotsSQL counts the customer's payment order snapshots that list
// any order. When it is zero the customer has no current order, and the
// payment orders query is not run.
const sideSnapshotsSQL = `SELECT '` + sidePartSnapshots + `', '', '', '', toInt64(0), toUInt64(count())
FROM payment_order_snapshots
WHERE customer_id = {customer:String} AND orders > 0`

// sideAnchorsSQL selects the rows of anchorsQuery in sideQuery's columns.
const sideAnchorsSQL = `SELECT '` + sidePartAnchor + `', account_id, toString(day), toString(argMax(amount, as_of)),
    toInt64(0), toUInt64(0)
FROM (` + anchorBalancesSQL + `)
GROUP BY account_id, day`

// sideQuery returns the one statement that reads what a refresh needs
// besides the transactions: the stamp of each stored set (see
// sideStampSQL), whether payment orders may exist (sideSnapshotsSQL) and,
// when anchors is true, the balance anchors. Each row has six columns:
// part, account, day, balance, derived_at in Unix milliseconds and a count.
//
// Each table a chDB query reads costs 1 to 2 ms however few rows it
// returns, and a whole stored set costs about 3 ms to read. Reading these
// small facts in one statement, and a stored set only when the stamp does
// not match the one cached (see setCache), saves two to three statements
// per refresh.
func sideQuery(anchors bool) string {
	parts := []string{
		fmt.Sprintf(sideStampSQL, incomeTable.name),
		fmt.Sprintf(sideStampSQL, commitmentsTable.name),
		sideSnapshotsSQL,
	}
	if anchors {
		parts = append(parts, sideAnchorsSQL)
	}
	return strings.Join(parts, "\nUNION ALL\n") + "\n" + querySettings
}

// setStamp identifies the newest stored set of one table: its derived_at
// and its number of stored rows, duplicates from a retried insert included.
type setStamp struct {
	derivedAt time.Time
	rows      int
}

// sideRows holds the rows of sideQuery.
type sideRows struct {
	// stamps holds the stamp of each set table that has a stored set, by
	// table name.
	stamps map[string]setStamp
	// orderSnapshots is the number of payment order snapshots that list
	// any order.
	orderSnapshots uint64
	anchors        []anchor
}

// readSide runs sideQuery.
func (d *Deriver) readSide(ctx context.Context, customerID string, anchors bool) (sideRows, error) {
	side := sideRows{stamps: map[string]setStamp{}}
	rows, err := d.Engine.Query(ctx, sideQuery(anchors), store.P("customer", customerID),
		store.P("currency", AffordabilityCurrency))
	if err != nil {
		return side, fmt.Errorf("read stored set stamps and balances: %w", err)
	}
	defer rows.Close()
	for n := 0; rows.Next(); n++ {
		var part, account, day, balance string
		var derivedMs int64
		var count uint64
		if err := rows.Scan(&part, &account, &day, &balance, &derivedMs, &count); err != nil {
			return side, fmt.Errorf("read stored set stamps and balances: row %d: %w", n, err)
		}
		switch part {
		case incomeTable.name, commitmentsTable.name:
			side.stamps[part] = setStamp{derivedAt: time.UnixMilli(derivedMs).UTC(), rows: int(count)}
		case sidePartSnapshots:
			side.orderSnapshots = count
		case sidePartAnchor:
			a, err := parseAnchor(account, day, balance)
			if err != nil {
				return side, fmt.Errorf("read balances: row %d: %w", n, err)
			}
			side.anchors = append(side.anchors, a)
		default:
			return side, fmt.Errorf("read stored set stamps and balances: row %d: unknown part %q", n, part)
		}
	}
	if err := rows.Err(); err != nil {
		return side, fmt.Errorf("read stored set stamps and balances: %w", err)
	}
	return side, nil
}

// readStored reads, on one connection, what refresh compares the detected
// sets with and adds to them: sideQuery, then the active payment orders
// when a snapshot lists any, then each stored set whose stamp differs from
// the one in d's setCache.
func (d *Deriver) readStored(ctx context.Context, customerID string, today insights.Date, anchors bool) (sideRows, storedSets, []categorize.PaymentOrder, error) {
	side, err := d.readSide(ctx, customerID, anchors)
	if err != nil {
		return side, storedSets{}, nil, err
	}

	var active []categorize.PaymentOrder
	if side.orderSnapshots > 0 {
		if active, err = d.activeOrders(ctx, customerID, today); err != nil {
			return side, storedSets{}, nil, fmt.Errorf("read payment orders: %w", err)
		}
	}

	sets := map[string]setRows{}
	for _, t := range []setTable{incomeTable, commitmentsTable} {
		stamp, ok := side.stamps[t.name]
		if !ok {
			continue // none stored
		}
		if cached, ok := d.setCache.get(t, customerID, stamp); ok {
			sets[t.name] = cached
			continue
		}
		read, err := d.storedSet(ctx, customerID, t)
		if err != nil {
			return side, storedSets{}, nil, err
		}
		d.setCache.put(t, customerID, read)
		sets[t.name] = read
	}
	return side, newStoredSets(sets), active, nil
}

// setCacheSize is the number of stored sets a setCache keeps. A set not
// kept costs one read of its table at the next refresh of its customer.
//
// NOTE: that is two sets for each of 10,000 customers. A process that
// refreshes more customers in turn misses on most of them, and then costs
// what a refresh cost before the cache.
const setCacheSize = 20_000

// setCache keeps the newest stored sets that a Deriver read or wrote, by
// table and customer. An entry is used only when sideQuery shows that the
// newest stored set still has its derived_at and number of rows, so a set
// that another process stored since then is read again. Its zero value is
// ready to use.
type setCache struct {
	mu      sync.Mutex
	entries map[setCacheKey]setRows
}

type setCacheKey struct {
	table, customer string
}

// get returns the cached set of t for the customer when its stamp is
// stamp.
func (c *setCache) get(t setTable, customerID string, stamp setStamp) (setRows, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	set, ok := c.entries[setCacheKey{t.name, customerID}]
	if !ok || !set.derivedAt.Equal(stamp.derivedAt) || set.stored != stamp.rows {
		return setRows{}, false
	}
	return set, true
}

// put records set as the newest stored set of t for the customer. When
// the cache is full it drops an arbitrary entry first.
func (c *setCache) put(t setTable, customerID string, set setRows) {
	c.mu.Lock()
	defer c.mu.Unlock()
	key := setCacheKey{t.name, customerID}
	if c.entries == nil {
		c.entries = map[setCacheKey]setRows{}
	}
	if _, ok := c.entries[key]; !ok && len(c.entries) >= setCacheSize {
		for other := range c.entries {
			delete(c.entries, other)
			break
		}
	}
	c.entries[key] = set
}
