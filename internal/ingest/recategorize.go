package ingest

import (
	"context"
	"fmt"
	"time"

	insights "github.com/openbanking-insights/insights"
	"github.com/openbanking-insights/insights/internal/store"
)

// Recategorize runs the customer's categorizer (Loader.CategorizerFor or
// Loader.Categorizer) again over the customer's current transactions. It
// stores a new version of each transaction whose category or rule changes,
// when include(before, after) returns true for the stored and the new
// category_rule. A nil include takes every change.
//
// The new versions go through a load of source, as a pull's rows do: they
// are staged, then moved by Commit with a newer ingested_at and a content
// hash over the new category, and the load is recorded in loads. So
// readers with FINAL see the new category, a crash leaves stored data as it
// was, and a later load of the same transaction with the same categorizer
// finds it stored. Pending entries keep their status, and superseded or
// vanished entries are not changed. Result.Transactions counts the
// recategorised rows; no load is made when there are none.
//
// NOTE: a load of the same customer committed between the read and the
// commit here can have its newer category for a row replaced by the one
// computed here from the older row.
func (l *Loader) Recategorize(ctx context.Context, customerID, source string, include func(before, after string) bool) (Result, error) {
	if customerID == "" {
		return Result{Source: source}, fmt.Errorf("recategorize: customer ID is empty")
	}
	ld, err := l.Begin(ctx, customerID, source)
	if err != nil {
		return Result{Source: source}, fmt.Errorf("recategorize: %w", err)
	}
	stored, err := l.currentTransactions(ctx, customerID)
	if err != nil {
		return l.abortRecategorize(ctx, ld, err)
	}

	for i := range stored {
		t := &stored[i]
		before, beforeRule := t.Category, t.CategoryRule
		t.Category, t.CategoryRule = "", ""
		if ld.categorize != nil {
			ld.categorize(t)
		}
		if t.Category == "" {
			t.Category = insights.CategoryUncategorized
		}
		if t.Category == before && t.CategoryRule == beforeRule {
			continue
		}
		if include != nil && !include(beforeRule, t.CategoryRule) {
			continue
		}
		if err := ld.transactions.add(ctx, ld, t); err != nil {
			return l.abortRecategorize(ctx, ld, err)
		}
		ld.records.Transactions++
	}
	if ld.records.Transactions == 0 {
		if err := ld.Abort(ctx); err != nil {
			return Result{Source: source}, fmt.Errorf("recategorize: %w", err)
		}
		return Result{Source: source}, nil
	}
	res, err := ld.Commit(ctx, nil)
	if err != nil {
		return res, fmt.Errorf("recategorize: %w", err)
	}
	return res, nil
}

func (l *Loader) abortRecategorize(ctx context.Context, ld *Load, err error) (Result, error) {
	if abortErr := ld.Abort(context.WithoutCancel(ctx)); abortErr != nil {
		l.logger().Error("abort recategorization", "load_id", ld.id, "err", abortErr)
	}
	return Result{Source: ld.source}, fmt.Errorf("recategorize: %w", err)
}

// currentTransactions reads the customer's current transactions with the
// columns their content hash covers.
func (l *Loader) currentTransactions(ctx context.Context, customerID string) ([]insights.Transaction, error) {
	rows, err := l.Engine.Query(ctx, `SELECT account_id, transaction_key, transaction_id, toString(status),
  toUnixTimestamp64Milli(booking_time), toBool(value_time IS NULL),
  toUnixTimestamp64Milli(ifNull(value_time, toDateTime64(0, 3, 'UTC'))), toString(booking_date),
  toString(amount), currency, description, counterparty, mcc, bank_tx_code, bank_tx_subcode,
  proprietary_code, proprietary_issuer, toString(category), toString(category_rule)
FROM transactions FINAL
WHERE customer_id = {customer:String} AND state = 'current'
ORDER BY account_id, transaction_key`, store.P("customer", customerID))
	if err != nil {
		return nil, fmt.Errorf("read stored transactions: %w", err)
	}
	defer rows.Close()

	var out []insights.Transaction
	for rows.Next() {
		t := insights.Transaction{CustomerID: customerID}
		var status, bookingDate, amount, category string
		var bookingMillis, valueMillis int64
		var noValueTime bool
		if err := rows.Scan(&t.AccountID, &t.Key, &t.TransactionID, &status, &bookingMillis, &noValueTime, &valueMillis,
			&bookingDate, &amount, &t.Currency, &t.Description, &t.Counterparty, &t.MCC, &t.BankTransactionCode,
			&t.BankTransactionSubCode, &t.ProprietaryCode, &t.ProprietaryIssuer, &category, &t.CategoryRule); err != nil {
			return nil, fmt.Errorf("read stored transactions: %w", err)
		}
		t.Status = insights.TransactionStatus(status)
		t.BookingTime = time.UnixMilli(bookingMillis).UTC()
		if !noValueTime {
			t.ValueTime = time.UnixMilli(valueMillis).UTC()
		}
		if t.BookingDate, err = insights.ParseDate(bookingDate); err != nil {
			return nil, fmt.Errorf("read stored transaction %s: booking_date %q: %w", t.Key, bookingDate, err)
		}
		if t.Amount, err = insights.ParseSignedAmount(amount); err != nil {
			return nil, fmt.Errorf("read stored transaction %s: amount %q: %w", t.Key, amount, err)
		}
		t.Category = insights.Category(category)
		out = append(out, t)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read stored transactions: %w", err)
	}
	return out, nil
}
