package derive

import (
	"context"
	"fmt"
	"time"

	"github.com/openbanking-insights/insights"
	"github.com/openbanking-insights/insights/internal/categorize"
	"github.com/openbanking-insights/insights/internal/store"
)

// historyQuery reads the customer's booked transactions, credits and
// debits, with only the columns the income and commitment detectors use:
// each column costs time per row to format and parse. FINAL keeps the
// newest version of a transaction stored more than once. The WHERE clause
// fixes customer_id, the first column of the table's sorting key, so only
// that customer's granules are read and merged. The order is fixed so that
// the detectors merge entries of one day in the same order every time.
const historyQuery = `SELECT
    account_id, toString(booking_date), toString(amount), toString(currency),
    description, counterparty, toString(mcc),
    toString(bank_tx_code), toString(bank_tx_subcode), toString(proprietary_code),
    toString(category)
FROM transactions FINAL
WHERE customer_id = {customer:String} AND status = 'booked' AND amount != 0
ORDER BY booking_time, account_id, transaction_key
SETTINGS max_threads = 1, optimize_read_in_order = 1`

// ownTransferRule is the CategoryRule of a credit or debit that
// markOwnTransfers found mirrored on another of the customer's accounts.
const ownTransferRule = "derive:own-account-transfer"

// Derived is one derivation of a customer's income streams and committed
// outgoings, each sorted by counterparty and currency.
type Derived struct {
	Income      []categorize.Stream
	Commitments []categorize.Commitment
}

// RefreshIncome refreshes the customer's income streams and commitments as
// RefreshInsights does and returns the income streams, sorted by payer.
func (d *Deriver) RefreshIncome(ctx context.Context, customerID string, now time.Time) ([]insights.IncomeStream, error) {
	derived, err := d.RefreshInsights(ctx, customerID, now)
	if err != nil {
		return nil, err
	}
	return plainStreams(derived.Income), nil
}

// RefreshInsights detects the customer's income streams and committed
// outgoings from the booked transactions stored now, with today in Zone as
// the detection date. Each of the two sets is stored under a derived_at
// later than any stored one, unless it equals the newest stored set of its
// kind: re-deriving unchanged data (a restart that reloads the same files)
// must not grow the tables. An empty set is not stored, so the newest
// stored set stays readable.
//
// It runs two queries when nothing changed (the transactions, then both
// stored sets) and one insert per changed set.
func (d *Deriver) RefreshInsights(ctx context.Context, customerID string, now time.Time) (Derived, error) {
	if customerID == "" {
		return Derived{}, insights.Errorf(insights.ErrInvalid, "customer ID is empty")
	}
	txs, err := d.bookedHistory(ctx, customerID)
	if err != nil {
		return Derived{}, fmt.Errorf("refresh insights: read transactions: %w", err)
	}

	// Step 1: detect, on the customer's local date.
	today := d.today(now)
	derived := Derived{
		Income:      categorize.DetectIncomeDetailed(txs, today, d.calendar()),
		Commitments: categorize.DetectCommitments(txs, today, d.calendar()),
	}

	// Step 2: compare with the newest stored sets.
	stored, err := d.storedSets(ctx, customerID, incomeTable, commitmentsTable)
	if err != nil {
		return Derived{}, fmt.Errorf("refresh insights: %w", err)
	}
	incomeChanged := stored.incomeAt.IsZero() || !sameStreams(stored.income, derived.Income)
	commitmentsChanged := stored.commitmentsAt.IsZero() || !sameCommitments(stored.commitments, derived.Commitments)
	if !incomeChanged && !commitmentsChanged {
		d.logger().Debug("insights unchanged", "customer_id", customerID,
			"streams", len(derived.Income), "commitments", len(derived.Commitments))
		return derived, nil
	}

	// Step 3: store each changed set under one derived_at that no stored
	// set of either kind has.
	derivedAt := now.UTC().Truncate(time.Millisecond)
	for _, last := range []time.Time{stored.incomeAt, stored.commitmentsAt} {
		if !derivedAt.After(last) {
			derivedAt = last.Add(time.Millisecond)
		}
	}
	if incomeChanged {
		if err := d.insertSet(ctx, incomeTable, customerID, derivedAt, streamRows(derived.Income)); err != nil {
			return Derived{}, fmt.Errorf("refresh insights: %w", err)
		}
	}
	if commitmentsChanged {
		if err := d.insertSet(ctx, commitmentsTable, customerID, derivedAt, derived.Commitments); err != nil {
			return Derived{}, fmt.Errorf("refresh insights: %w", err)
		}
	}

	d.logger().Info("insights derived", "customer_id", customerID, "transactions", len(txs),
		"streams", len(derived.Income), "commitments", len(derived.Commitments),
		"income_changed", incomeChanged, "commitments_changed", commitmentsChanged, "derived_at", derivedAt)
	return derived, nil
}

// bookedHistory reads the rows of historyQuery as transactions. Fields
// that historyQuery leaves out (Key, TransactionID, BookingTime,
// CategoryRule and the like) are zero. A stored category of uncategorized
// is cleared, so that the detectors apply the built-in rules to it.
// Transfers between the customer's own accounts are then marked (see
// markOwnTransfers).
func (d *Deriver) bookedHistory(ctx context.Context, customerID string) ([]insights.Transaction, error) {
	rows, err := d.Engine.Query(ctx, historyQuery, store.P("customer", customerID))
	if err != nil {
		return nil, err
	}
	defer rows.Close()

	var txs []insights.Transaction
	for rows.Next() {
		t, err := scanTransaction(rows, customerID)
		if err != nil {
			return nil, fmt.Errorf("transaction %d: %w", len(txs), err)
		}
		txs = append(txs, t)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	markOwnTransfers(txs)
	return txs, nil
}

func scanTransaction(rows store.Rows, customerID string) (insights.Transaction, error) {
	t := insights.Transaction{CustomerID: customerID, Status: insights.StatusBooked}
	var bookingDate, amount, category string
	err := rows.Scan(&t.AccountID, &bookingDate, &amount, &t.Currency, &t.Description, &t.Counterparty,
		&t.MCC, &t.BankTransactionCode, &t.BankTransactionSubCode, &t.ProprietaryCode, &category)
	if err != nil {
		return t, err
	}

	if t.BookingDate, err = insights.ParseDate(bookingDate); err != nil {
		return t, fmt.Errorf("booking_date: %w", err)
	}
	if t.Amount, err = insights.ParseSignedAmount(amount); err != nil {
		return t, fmt.Errorf("amount: %w", err)
	}
	t.Category = insights.Category(category)
	if t.Category == insights.CategoryUncategorized {
		t.Category = ""
	}
	return t, nil
}

// markOwnTransfers marks as transfers the entries that mirror an entry of
// the same size and currency, in the other direction, on another of the
// customer's accounts booked within a day: money moved between the
// customer's own accounts, which is neither income nor a commitment. A
// single transaction cannot show this, so the categorizer may have missed
// it, and feeds do not carry the other account's AccountId.
//
// The entry's own category wins when it is stronger evidence than an equal
// amount: salary, benefits and pension credits (from bank codes or the
// payer's text), and debits of a committed category such as a credit card
// repayment, which does move money to another own account.
func markOwnTransfers(txs []insights.Transaction) {
	type side struct {
		size     insights.Amount
		currency string
		credit   bool
	}
	type booking struct {
		account string
		date    insights.Date
	}
	bookings := make(map[side][]booking, len(txs))
	for i := range txs {
		t := &txs[i]
		s := side{size: abs(t.Amount), currency: t.Currency, credit: t.Amount > 0}
		bookings[s] = append(bookings[s], booking{t.AccountID, t.BookingDate})
	}

	for i := range txs {
		t := &txs[i]
		if keepsOwnCategory(t) {
			continue
		}
		mirror := side{size: abs(t.Amount), currency: t.Currency, credit: t.Amount < 0}
		for _, b := range bookings[mirror] {
			if b.account != t.AccountID && absInt(t.BookingDate.DaysUntil(b.date)) <= 1 {
				t.Category, t.CategoryRule = insights.CategoryTransfer, ownTransferRule
				break
			}
		}
	}
}

// keepsOwnCategory reports whether t's category outweighs a mirrored entry
// on another account (see markOwnTransfers).
func keepsOwnCategory(t *insights.Transaction) bool {
	switch t.Category {
	case insights.CategorySalary, insights.CategoryBenefits, insights.CategoryPension:
		return t.Amount > 0
	case insights.CategoryRent, insights.CategoryMortgage, insights.CategoryCouncilTax,
		insights.CategoryUtilities, insights.CategoryLoan, insights.CategoryCreditCard,
		insights.CategoryInsurance, insights.CategorySubscriptions, insights.CategoryBuyNowPayLater:
		return t.Amount < 0
	}
	return false
}

func abs(a insights.Amount) insights.Amount {
	if a < 0 {
		return -a
	}
	return a
}

func absInt(n int) int {
	if n < 0 {
		return -n
	}
	return n
}
