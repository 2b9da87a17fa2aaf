package derive

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/openbanking-insights/insights"
	"github.com/openbanking-insights/insights/internal/categorize"
	"github.com/openbanking-insights/insights/internal/store"
)

// historyQuery reads the customer's booked transactions, credits and
// debits, with only the columns the income and commitment detectors and
// the affordability sums use: each column costs time per row to format and
// parse. FINAL keeps the newest version of a transaction stored more than
// once. The WHERE clause fixes customer_id, the first column of the
// table's sorting key, so only that customer's granules are read and
// merged. The order is fixed so that the detectors merge entries of one
// day in the same order every time. {state} is the state column, or
// 'current' when the table has none (see stateColumn).
const historyQuery = `SELECT
    account_id, toString(booking_date), toString(amount), toString(currency),
    description, counterparty, toString(mcc),
    toString(bank_tx_code), toString(bank_tx_subcode), toString(proprietary_code),
    toString(category), {state}
FROM transactions FINAL
WHERE customer_id = {customer:String} AND status = 'booked'
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
// must not grow the tables. An empty set is stored as one marker row (see
// emptySetRule) only when it replaces a set that was not empty.
//
// It reads the transactions on one connection while it reads the stamps
// of the stored sets, the payment orders and any stored set not cached on
// another (see readStored), and inserts the changed sets at once.
func (d *Deriver) RefreshInsights(ctx context.Context, customerID string, now time.Time) (Derived, error) {
	derived, _, _, err := d.refresh(ctx, customerID, now, false)
	return derived, err
}

// refresh is RefreshInsights. When anchors is true, it also reads the
// balance anchors, and returns them with the affordability day rows built
// from its read of the transactions (see bookedHistory).
func (d *Deriver) refresh(ctx context.Context, customerID string, now time.Time, anchors bool) (Derived, []dayFlows, []anchor, error) {
	if customerID == "" {
		return Derived{}, nil, nil, insights.Errorf(insights.ErrInvalid, "customer ID is empty")
	}
	state, err := d.stateColumn(ctx)
	if err != nil {
		return Derived{}, nil, nil, fmt.Errorf("refresh insights: %w", err)
	}
	today := d.today(now)

	// Step 1: read the stored sets, the payment orders and, when anchors
	// is true, the balances while the transactions are read and detected.
	// Each query takes a free connection of the engine, so they run at
	// once when it has two.
	var (
		side      sideRows
		stored    storedSets
		active    []categorize.PaymentOrder
		storedErr error
		wait      sync.WaitGroup
	)
	wait.Go(func() { side, stored, active, storedErr = d.readStored(ctx, customerID, today, anchors) })
	derived, days, transactions, err := d.detect(ctx, customerID, state, today)
	wait.Wait()
	if err != nil {
		return Derived{}, nil, nil, fmt.Errorf("refresh insights: %w", err)
	}
	if storedErr != nil {
		return Derived{}, nil, nil, fmt.Errorf("refresh insights: %w", storedErr)
	}
	// Active direct debits and standing orders the banks list are known
	// commitments.
	if len(active) > 0 {
		derived.Commitments = categorize.ApplyOrders(derived.Commitments, active, customerID, today)
	}

	// Step 2: compare with the newest stored sets.
	// With nothing stored, an empty set is no change.
	incomeChanged := !sameStreams(stored.income, derived.Income) ||
		stored.incomeAt.IsZero() && len(derived.Income) > 0
	commitmentsChanged := !sameCommitments(stored.commitments, derived.Commitments) ||
		stored.commitmentsAt.IsZero() && len(derived.Commitments) > 0
	if !incomeChanged && !commitmentsChanged {
		d.logger().Debug("insights unchanged", "customer_id", customerID,
			"streams", len(derived.Income), "commitments", len(derived.Commitments))
		return derived, days, side.anchors, nil
	}

	// Step 3: store each changed set under one derived_at that no stored
	// set of either kind has.
	derivedAt := now.UTC().Truncate(time.Millisecond)
	for _, last := range []time.Time{stored.incomeAt, stored.commitmentsAt} {
		if !derivedAt.After(last) {
			derivedAt = last.Add(time.Millisecond)
		}
	}
	var changed []setRows
	var tables []setTable
	if incomeChanged {
		changed, tables = append(changed, setRows{rows: streamRows(derived.Income)}), append(tables, incomeTable)
	}
	if commitmentsChanged {
		changed, tables = append(changed, setRows{rows: derived.Commitments}), append(tables, commitmentsTable)
	}
	if err := d.insertSets(ctx, customerID, derivedAt, tables, changed); err != nil {
		return Derived{}, nil, nil, fmt.Errorf("refresh insights: %w", err)
	}

	d.logger().Info("insights derived", "customer_id", customerID, "transactions", transactions,
		"streams", len(derived.Income), "commitments", len(derived.Commitments),
		"income_changed", incomeChanged, "commitments_changed", commitmentsChanged, "derived_at", derivedAt)
	return derived, days, side.anchors, nil
}

// insertSets inserts each of sets into the table of the same index under
// derivedAt, at once, and records each set stored in d's setCache. An
// empty set is stored as its marker row.
func (d *Deriver) insertSets(ctx context.Context, customerID string, derivedAt time.Time, tables []setTable, sets []setRows) error {
	errs := make([]error, len(sets))
	var wait sync.WaitGroup
	for i, t := range tables {
		wait.Go(func() {
			if errs[i] = d.insertSet(ctx, t, customerID, derivedAt, sets[i].rows); errs[i] == nil {
				// A copy, because the caller gets the derived slices. The
				// marker row of an empty set counts as one stored row.
				stored := setRows{rows: slices.Clone(sets[i].rows), derivedAt: derivedAt, stored: max(len(sets[i].rows), 1)}
				d.setCache.put(t, customerID, stored)
			}
		})
	}
	wait.Wait()
	return errors.Join(errs...)
}

// detect reads the customer's booked history and detects income streams
// and commitments on today, the customer's local date. It also returns the
// history's affordability day rows and the number of transactions read.
func (d *Deriver) detect(ctx context.Context, customerID, state string, today insights.Date) (Derived, []dayFlows, int, error) {
	txs, days, err := d.bookedHistory(ctx, customerID, state)
	if err != nil {
		return Derived{}, nil, 0, fmt.Errorf("read transactions: %w", err)
	}
	derived := Derived{
		Income:      categorize.DetectIncomeDetailed(txs, today, d.calendar()),
		Commitments: categorize.DetectCommitments(txs, today, d.calendar()),
	}
	return derived, days, len(txs), nil
}

// bookedHistory reads the rows of historyQuery, with state the SQL of its
// state column. It returns the transactions of a non-zero amount for the
// detectors, and the affordability day rows of the current ones (see
// dayRows). Fields that historyQuery leaves out (Key, TransactionID,
// BookingTime, CategoryRule and the like) are zero. A stored category of
// uncategorized is cleared, so that the detectors apply the built-in rules
// to it. Transfers between the customer's own accounts are then marked
// (see markOwnTransfers), but the day rows keep the stored categories.
func (d *Deriver) bookedHistory(ctx context.Context, customerID, state string) ([]insights.Transaction, []dayFlows, error) {
	query := strings.Replace(historyQuery, "{state}", state, 1)
	rows, err := d.Engine.Query(ctx, query, store.P("customer", customerID))
	if err != nil {
		return nil, nil, err
	}
	defer rows.Close()

	var (
		txs  []insights.Transaction
		days dayRows
	)
	for n := 0; rows.Next(); n++ {
		t, category, state, err := scanTransaction(rows, customerID)
		if err != nil {
			return nil, nil, fmt.Errorf("transaction %d: %w", n, err)
		}
		if t.Currency == AffordabilityCurrency && state == stateCurrent {
			days.add(t.AccountID, t.BookingDate, t.Amount, category)
		}
		if t.Amount != 0 {
			txs = append(txs, t)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, nil, err
	}
	markOwnTransfers(txs)
	return txs, days.list(), nil
}

// scanTransaction scans a row of historyQuery. It also returns the stored
// category, uncategorized included, and the state.
func scanTransaction(rows store.Rows, customerID string) (t insights.Transaction, category, state string, err error) {
	t = insights.Transaction{CustomerID: customerID, Status: insights.StatusBooked}
	var bookingDate, amount string
	err = rows.Scan(&t.AccountID, &bookingDate, &amount, &t.Currency, &t.Description, &t.Counterparty,
		&t.MCC, &t.BankTransactionCode, &t.BankTransactionSubCode, &t.ProprietaryCode, &category, &state)
	if err != nil {
		return t, "", "", err
	}

	if t.BookingDate, err = insights.ParseDate(bookingDate); err != nil {
		return t, "", "", fmt.Errorf("booking_date: %w", err)
	}
	if t.Amount, err = insights.ParseSignedAmount(amount); err != nil {
		return t, "", "", fmt.Errorf("amount: %w", err)
	}
	t.Category = insights.Category(category)
	if t.Category == insights.CategoryUncategorized {
		t.Category = ""
	}
	return t, category, state, nil
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
