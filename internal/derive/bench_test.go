package derive

import (
	"context"
	"os"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/openbanking-insights/insights/internal/store"
	"github.com/openbanking-insights/insights/internal/store/storetest"
)

// benchRowsPerCustomer is each benchmark customer's history: 1,000 booked
// entries spread evenly over the two years before December 2026.
const benchRowsPerCustomer = 1000

// benchCustomers returns how many customers the benchmark stores: 1,000
// (1 million entries), or 10,000 (10 million) with INSIGHTS_BENCH_10M=1.
func benchCustomers() int {
	if os.Getenv("INSIGHTS_BENCH_10M") == "1" {
		return 10_000
	}
	return 1_000
}

// BenchmarkInsights derives all insights of one customer with two years of
// history while every benchmark customer's entries are stored. The entries
// are inserted once, with INSERT ... SELECT FROM numbers(), and shared by
// the sub-benchmarks:
//
//   - all: RefreshAll (income streams, commitments and the 3, 6 and
//     12-month affordability figures from one read of the transactions) of
//     one customer whose stored sets are current, the scheduled case;
//   - all/uncached: the same on a new Deriver each time, which reads the
//     stored sets instead of finding them in its cache, as after a restart;
//   - refresh+affordability: RefreshInsights and a 12-month Affordability,
//     each reading the transactions;
//   - refresh and affordability alone;
//   - all/first and refresh+affordability/first: the same for customers not
//     derived before, so both sets are inserted. They run last because
//     their inserts leave parts that chDB merges in the background.
//
// Each sub-benchmark also reports cpu-ms/op, the process's user and system
// CPU time per derivation (chDB's threads included), which other
// processes on a shared machine inflate less than the wall time.
//
// NOTE: all runs two statements per derivation when the stored sets are
// cached and the customer has no payment orders: the history and sideQuery.
// all/uncached runs two more. On the 2-core test machine while idle (load
// average under 2), all took 13 to 16 ms of wall time with 10 million
// entries stored, all/uncached 20 to 22 ms and all/first 23 to 28 ms. Under
// load the wall times grow by the wait for a core (see docs/benchmarks.md).
func BenchmarkInsights(b *testing.B) {
	ctx := context.Background()
	customers := benchCustomers()
	e := benchSetup(b, customers)
	d := &Deriver{Engine: e}
	now := time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC)
	b.Logf("%d customers, %d entries stored", customers, customers*benchRowsPerCustomer)

	refresh := func(b *testing.B, customer string) {
		derived, err := d.RefreshInsights(ctx, customer, now)
		if err != nil || len(derived.Income) == 0 || len(derived.Commitments) == 0 {
			b.Fatalf("RefreshInsights: %v (%d streams, %d commitments)", err, len(derived.Income), len(derived.Commitments))
		}
	}
	affordability := func(b *testing.B, customer string) {
		f, ok, err := d.Affordability(ctx, customer, 12, now)
		if err != nil || !ok || !f.BalancesKnown {
			b.Fatalf("Affordability: %v (available %v, balances known %v)", err, ok, f.BalancesKnown)
		}
	}
	all := func(b *testing.B, customer string) {
		got, err := d.RefreshAll(ctx, customer, now)
		if err != nil || len(got.Income) == 0 || len(got.Commitments) == 0 || len(got.Affordability) != 3 {
			b.Fatalf("RefreshAll: %v (%d streams, %d commitments, %d affordability windows)",
				err, len(got.Income), len(got.Commitments), len(got.Affordability))
		}
	}
	var cpuStart time.Duration
	start := func(b *testing.B) {
		b.ResetTimer()
		cpuStart = cpuTime(b)
	}
	report := func(b *testing.B) {
		b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N), "ms/op")
		b.ReportMetric(float64((cpuTime(b)-cpuStart).Microseconds())/1000/float64(b.N), "cpu-ms/op")
	}

	b.Run("all", func(b *testing.B) {
		all(b, "c7")
		start(b)
		for b.Loop() {
			all(b, "c7")
		}
		report(b)
	})
	b.Run("all/uncached", func(b *testing.B) {
		start(b)
		for b.Loop() {
			uncached := &Deriver{Engine: e}
			got, err := uncached.RefreshAll(ctx, "c7", now)
			if err != nil || len(got.Income) == 0 || len(got.Commitments) == 0 || len(got.Affordability) != 3 {
				b.Fatalf("RefreshAll: %v (%d streams, %d commitments, %d affordability windows)",
					err, len(got.Income), len(got.Commitments), len(got.Affordability))
			}
		}
		report(b)
	})
	b.Run("refresh+affordability", func(b *testing.B) {
		refresh(b, "c7")
		start(b)
		for b.Loop() {
			refresh(b, "c7")
			affordability(b, "c7")
		}
		report(b)
	})
	b.Run("refresh", func(b *testing.B) {
		start(b)
		for b.Loop() {
			refresh(b, "c7")
		}
		report(b)
	})
	b.Run("affordability", func(b *testing.B) {
		start(b)
		for b.Loop() {
			affordability(b, "c7")
		}
		report(b)
	})
	b.Run("all/first", func(b *testing.B) {
		start(b)
		for i := 0; b.Loop(); i++ {
			if i+1 >= customers/2 {
				b.Fatalf("more iterations than the %d customers kept for all/first", customers/2-1)
			}
			all(b, "c"+strconv.Itoa(customers/2+i+1))
		}
		report(b)
	})
	b.Run("refresh+affordability/first", func(b *testing.B) {
		start(b)
		for i := 0; b.Loop(); i++ {
			if i >= customers/2 {
				b.Fatalf("more iterations than the %d customers kept for refresh+affordability/first", customers/2)
			}
			c := "c" + strconv.Itoa(i)
			refresh(b, c)
			affordability(b, c)
		}
		report(b)
	})
}

// cpuTime returns the user and system CPU time the process has used.
func cpuTime(b *testing.B) time.Duration {
	var usage syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &usage); err != nil {
		b.Fatalf("getrusage: %v", err)
	}
	return time.Duration(usage.Utime.Nano() + usage.Stime.Nano())
}

// benchSetup stores benchRowsPerCustomer booked entries for each of
// customers, and a closing balance per customer, and merges the parts of
// transactions.
func benchSetup(b *testing.B, customers int) store.Engine {
	ctx := context.Background()
	e := storetest.New(b)
	entries := customers * benchRowsPerCustomer

	// Each customer's entries cycle through ten categories with one payee
	// each, an income credit among them, and spread evenly from
	// 1 December 2024. Rent and utilities go by direct debit.
	insert := `INSERT INTO transactions (customer_id, account_id, transaction_key, transaction_id, status,
    booking_time, booking_date, amount, currency, description, counterparty, bank_tx_code, category, category_rule,
    content_hash, source, ingested_at)
SELECT customer, 'acc-1', toString(number), toString(number), 'booked',
       toDateTime64(day, 3, 'UTC'), day,
       if(startsWith(category, 'income.'), toDecimal64(1500, 5), toDecimal64(-(number % 97 + 1), 5)),
       'GBP', concat('BENCH ', category), concat('PAYEE ', category),
       if(category IN ('housing.rent', 'utilities'), 'IssuedDirectDebits', ''),
       category, 'bench', '', 'bench', toDateTime64('2026-12-01 00:00:00', 3, 'UTC')
FROM (
    SELECT number,
        concat('c', toString(number % {customers:UInt64})) AS customer,
        toDate32('2024-12-01') + toInt32(intDiv(intDiv(number, {customers:UInt64}) * 730, {per_customer:UInt64})) AS day,
        ['income.salary', 'housing.rent', 'groceries', 'transport', 'eating_out', 'gambling', 'utilities',
         'shopping', 'transfer', 'returned_payment'][intDiv(number, {customers:UInt64}) % 10 + 1] AS category
    FROM numbers({entries:UInt64})
)`
	err := e.Exec(ctx, insert, store.P("customers", strconv.Itoa(customers)),
		store.P("per_customer", strconv.Itoa(benchRowsPerCustomer)), store.P("entries", strconv.Itoa(entries)))
	if err != nil {
		b.Fatalf("insert entries: %v", err)
	}
	err = e.Exec(ctx, `INSERT INTO balances (customer_id, account_id, type, amount, currency, as_of, credit_line_included, credit_line, content_hash, source, ingested_at)
SELECT concat('c', toString(number)), 'acc-1', 'ClosingBooked', toDecimal64(1000, 5), 'GBP',
       toDateTime64('2026-11-30 23:59:59', 3, 'UTC'), false, toDecimal64(0, 5), '', 'bench', now64(3, 'UTC')
FROM numbers({customers:UInt64})`, store.P("customers", strconv.Itoa(customers)))
	if err != nil {
		b.Fatalf("insert balances: %v", err)
	}

	// A long-running store has merged its parts in the background. Merge
	// them now, so that no merge competes with the measured reads and each
	// read looks up one part instead of one per inserted block.
	if err := e.Exec(ctx, "OPTIMIZE TABLE transactions FINAL"); err != nil {
		b.Fatalf("merge transactions parts: %v", err)
	}
	return e
}
