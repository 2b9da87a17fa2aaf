// Package loadtest drives a real `insights serve` process over HTTP on
// 127.0.0.1, as merchants and customers would, and measures attestation
// issuance: it generates a data set into the embedded engine, starts the
// service on it, runs request, consent and token fetch flows at fixed
// rates and reports throughput, latency percentiles, errors and the
// service's memory. cmd/insights-load is its command line.
package loadtest

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"time"

	"github.com/openbanking-insights/insights/internal/store"
	"github.com/openbanking-insights/insights/internal/store/chdb"
)

// Spec sizes a generated data set.
type Spec struct {
	Customers               int
	TransactionsPerCustomer int
}

// Transactions returns the number of transactions the spec generates.
func (s Spec) Transactions() int { return s.Customers * s.TransactionsPerCustomer }

// CustomerID returns the ID of generated customer i (0-based).
func CustomerID(i int) string { return fmt.Sprintf("load-%05d", i) }

// PostCode is the post code of every generated customer's address.
const PostCode = "LS6 2QT"

// generateStatements fill the tables of one customer set with INSERT ...
// SELECT FROM numbers(), which the engine runs at about a million rows per
// second, instead of encoding rows in Go. Every customer has one GBP
// current account with an available balance of 100 to 5,099.99, one party
// born between 1960 and 2008 at PostCode, and {per} booked transactions
// spread over the 400 days before {now}: card spending, and a salary credit
// from the same employer every 30 days.
var generateStatements = []string{
	`INSERT INTO accounts (customer_id, account_id, currency, account_type, account_sub_type, nickname, status, content_hash, source, ingested_at)
SELECT concat('load-', leftPad(toString(number), 5, '0')) AS c, concat(c, '-current'), 'GBP', 'Personal', 'CurrentAccount',
    'Current', 'Enabled', hex(sipHash64(c)), 'loadtest', fromUnixTimestamp64Milli({now:Int64}, 'UTC')
FROM numbers({customers:UInt64})`,

	`INSERT INTO balances (customer_id, account_id, type, amount, currency, as_of, credit_line_included, credit_line, content_hash, source, ingested_at)
SELECT concat('load-', leftPad(toString(number), 5, '0')) AS c, concat(c, '-current'), 'InterimAvailable',
    toDecimal64(100 + (cityHash64(number, 'balance') % 500000) / 100, 5), 'GBP',
    fromUnixTimestamp64Milli({now:Int64}, 'UTC'), false, toDecimal64(0, 5), hex(sipHash64(c, 'balance')), 'loadtest',
    fromUnixTimestamp64Milli({now:Int64}, 'UTC')
FROM numbers({customers:UInt64})`,

	`INSERT INTO parties (customer_id, party_id, name, birth_date, address_lines, town, post_code, country, content_hash, source, ingested_at)
SELECT concat('load-', leftPad(toString(number), 5, '0')) AS c, concat(c, '-party'), concat('Load Customer ', toString(number)),
    toDate32('1960-01-01') + toInt32(cityHash64(number, 'birth') % 17500), [concat(toString(number % 200 + 1), ' Otley Road')],
    'Leeds', {post_code:String}, 'GB', hex(sipHash64(c, 'party')), 'loadtest', fromUnixTimestamp64Milli({now:Int64}, 'UTC')
FROM numbers({customers:UInt64})`,

	`INSERT INTO transactions (customer_id, account_id, transaction_key, transaction_id, status, booking_time, value_time, booking_date,
    amount, currency, description, counterparty, mcc, bank_tx_code, bank_tx_subcode, category, content_hash, source, ingested_at)
SELECT c, concat(c, '-current'), concat('tx-', toString(number)), concat('tx-', toString(number)), 'booked', t, t, toDate32(t),
    if(salary, toDecimal64(2450, 5), toDecimal64(-toInt64(1 + cityHash64(number, 'amount') % 12000) / 100, 5)), 'GBP',
    if(salary, 'ACME LTD SALARY', ['TESCO STORES', 'COSTA COFFEE', 'TFL TRAVEL', 'AMAZON', 'SAINSBURYS'][1 + number % 5]),
    if(salary, 'ACME LTD', ['Tesco', 'Costa', 'TfL', 'Amazon', 'Sainsburys'][1 + number % 5]),
    if(salary, '', ['5411', '5814', '4111', '5942', '5411'][1 + number % 5]),
    if(salary, 'ReceivedCreditTransfer', 'IssuedDebitTransfer'), '', if(salary, 'income:salary', 'spending:general'),
    hex(sipHash64(number)), 'loadtest', fromUnixTimestamp64Milli({now:Int64}, 'UTC')
FROM (
    SELECT number, concat('load-', leftPad(toString(intDiv(number, {per:UInt64})), 5, '0')) AS c,
        number % {per:UInt64} AS i, i % 40 = 0 AS salary,
        fromUnixTimestamp64Milli({now:Int64} - toInt64(intDiv(i * 400 * 86400000, {per:UInt64})), 'UTC') AS t
    FROM numbers({rows:UInt64})
)`,
}

// Generate creates the schema in dataDir and fills it with spec's
// customers. It opens the embedded engine in this process, so no service
// may run on dataDir meanwhile.
func Generate(ctx context.Context, dataDir, library string, spec Spec, logger *slog.Logger) error {
	e, err := chdb.Open(ctx, chdb.Config{Path: filepath.Join(dataDir, "chdb"), Database: "insights", Library: library, Logger: logger})
	if err != nil {
		return fmt.Errorf("open embedded engine in %s: %w", dataDir, err)
	}
	defer e.Close()
	if err := store.Migrate(ctx, e, logger); err != nil {
		return fmt.Errorf("migrate %s: %w", dataDir, err)
	}

	params := []store.Param{
		store.P("now", fmt.Sprint(time.Now().UnixMilli())),
		store.P("customers", fmt.Sprint(spec.Customers)),
		store.P("per", fmt.Sprint(spec.TransactionsPerCustomer)),
		store.P("rows", fmt.Sprint(spec.Transactions())),
		store.P("post_code", PostCode),
	}
	for i, stmt := range generateStatements {
		start := time.Now()
		if err := e.Exec(ctx, stmt, usedParams(stmt, params)...); err != nil {
			return fmt.Errorf("generate data, statement %d: %w", i+1, err)
		}
		logger.Info("generated", "statement", i+1, "seconds", time.Since(start).Seconds())
	}
	return nil
}

// usedParams returns the params that stmt refers to: ClickHouse rejects a
// query given parameters it does not use.
func usedParams(stmt string, params []store.Param) []store.Param {
	var out []store.Param
	for _, p := range params {
		if strings.Contains(stmt, "{"+p.Name+":") {
			out = append(out, p)
		}
	}
	return out
}
