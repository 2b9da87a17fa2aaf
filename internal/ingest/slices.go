package ingest

import (
	"context"
	"fmt"
	"strconv"

	"github.com/openbanking-insights/insights/internal/store"
)

// defaultSliceRows is about the largest number of staged transactions that
// one INSERT ... SELECT of a commit moves into transactions. The memory of
// that statement grows with its rows: LIMIT 1 BY keeps the set of
// identities it has passed, and when the customer has stored rows, the
// statement builds the set of stored keys and hashes it compares with. So
// a load of more rows is moved in several slices of the transaction key.
// With moveSettings, one slice of the benchmark feed peaked at 116 MiB in
// chDB 26.7.3 (docs/benchmarks.md).
//
// NOTE: the size was measured only for first loads of that feed; a slice
// that is compared with many stored rows was not profiled.
const defaultSliceRows = 250000

// sliceSamplesPerSlice is the number of sampled keys transactionSlices
// expects per slice. The keys are sampled by hash, so the row count of a
// slice varies by an estimated one over its square root, about 6 % at 256.
const sliceSamplesPerSlice = 256

// rowKey is the identity of a transaction row after customer_id, the
// leading columns of the sorting key of transactions and of the table a
// load stages its transactions in.
type rowKey struct {
	account, key string
}

// keyRange is a range of rowKeys: from is included, to is not, and a nil
// bound leaves that side open.
type keyRange struct {
	from, to *rowKey
}

// filter returns the range as SQL conditions, each starting with AND, on
// the account_id and transaction_key columns, and their query parameters.
// With the conditions written out column by column, EXPLAIN indexes = 1
// shows chDB 26.7.3 reading only the granules of the range, selected by the
// primary key of either table.
func (r keyRange) filter() (string, []store.Param) {
	var conditions string
	var params []store.Param
	if r.from != nil {
		conditions += `
      AND (account_id > {from_account:String}
           OR (account_id = {from_account:String} AND transaction_key >= {from_key:String}))`
		params = append(params, store.P("from_account", r.from.account), store.P("from_key", r.from.key))
	}
	if r.to != nil {
		conditions += `
      AND (account_id < {to_account:String}
           OR (account_id = {to_account:String} AND transaction_key < {to_key:String}))`
		params = append(params, store.P("to_account", r.to.account), store.P("to_key", r.to.key))
	}
	return conditions, params
}

// transactionSlices splits the load's staged transactions into ranges of
// (account_id, transaction_key) of about sliceRows staged rows each, in key
// order. All staged rows of one identity fall into one range, so each range
// can be deduplicated and moved on its own. A load of at most sliceRows
// staged rows gets one unbounded range and costs no query.
//
// The boundaries come from a sample of the staged keys, those whose
// cityHash64 is divisible by a modulus, read in key order: every
// sliceSamplesPerSlice-th sampled key starts a new range. The sample query
// reads the two key columns of the staged rows once.
func (ld *Load) transactionSlices(ctx context.Context, sliceRows int) ([]keyRange, error) {
	staged := ld.transactions.staged
	if sliceRows <= 0 || staged <= sliceRows {
		return []keyRange{{}}, nil
	}
	modulus := max(1, sliceRows/sliceSamplesPerSlice)
	perSlice := max(1, sliceRows/modulus)

	rows, err := ld.loader.Engine.Query(ctx, `SELECT account_id, transaction_key FROM `+ld.txTable+`
WHERE load_id = {load:String} AND cityHash64(account_id, transaction_key) % {modulus:UInt64} = 0
ORDER BY account_id, transaction_key`,
		store.P("load", ld.id), store.P("modulus", strconv.Itoa(modulus)))
	if err != nil {
		return nil, fmt.Errorf("sample staged transaction keys: %w", err)
	}
	defer rows.Close()

	var bounds []rowKey
	for i := 0; rows.Next(); i++ {
		var k rowKey
		if err := rows.Scan(&k.account, &k.key); err != nil {
			return nil, fmt.Errorf("sample staged transaction keys: %w", err)
		}
		// Rows of one identity hash alike, so a sampled key can repeat. A
		// boundary equal to the previous one would make an empty range.
		if i > 0 && i%perSlice == 0 && (len(bounds) == 0 || bounds[len(bounds)-1] != k) {
			bounds = append(bounds, k)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sample staged transaction keys: %w", err)
	}

	slices := make([]keyRange, 0, len(bounds)+1)
	var from *rowKey
	for i := range bounds {
		slices = append(slices, keyRange{from: from, to: &bounds[i]})
		from = &bounds[i]
	}
	return append(slices, keyRange{from: from}), nil
}
