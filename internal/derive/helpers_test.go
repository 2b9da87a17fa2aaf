package derive

import (
	"context"
	"errors"
	"strconv"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/openbanking-insights/insights"
	"github.com/openbanking-insights/insights/internal/store"
	"github.com/openbanking-insights/insights/internal/store/storetest"
)

func TestMain(m *testing.M) { storetest.Main(m) }

func mustTime(t *testing.T, s string) time.Time {
	t.Helper()
	v, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatalf("bad test time %q: %v", s, err)
	}
	return v
}

func mustDate(t *testing.T, s string) insights.Date {
	t.Helper()
	d, err := insights.ParseDate(s)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func mustAmount(t *testing.T, s string) insights.Amount {
	t.Helper()
	a, err := insights.ParseSignedAmount(s)
	if err != nil {
		t.Fatalf("bad test amount %q: %v", s, err)
	}
	return a
}

func exec(t *testing.T, e store.Engine, query string, params ...store.Param) {
	t.Helper()
	if err := e.Exec(context.Background(), query, params...); err != nil {
		t.Fatalf("exec: %v\n%s", err, query)
	}
}

// party is a parties row; an empty birth stores NULL.
type party struct {
	id, birth, postCode string
}

func insertParty(t *testing.T, e store.Engine, customer string, p party) {
	t.Helper()
	exec(t, e, `INSERT INTO parties (customer_id, party_id, name, birth_date, address_lines, town, post_code, country, content_hash, source, ingested_at)
SELECT {customer:String}, {party:String}, 'Test Holder', toDate32OrNull({birth:String}), ['1 Test Street'], 'London',
       {post:String}, 'GB', '', 'test', now64(3, 'UTC')`,
		store.P("customer", customer), store.P("party", p.id), store.P("birth", p.birth), store.P("post", p.postCode))
}

// balance is a balances row; asOf is RFC 3339.
type balance struct {
	account, typ, amount, currency, asOf string
	creditLineIncluded                   bool
	creditLine                           string
}

func insertBalance(t *testing.T, e store.Engine, customer string, b balance) {
	t.Helper()
	if b.creditLine == "" {
		b.creditLine = "0"
	}
	exec(t, e, `INSERT INTO balances (customer_id, account_id, type, amount, currency, as_of, credit_line_included, credit_line, content_hash, source, ingested_at)
SELECT {customer:String}, {account:String}, {type:String}, toDecimal64({amount:String}, 5), {currency:String},
       fromUnixTimestamp64Milli({as_of:Int64}, 'UTC'), {included:Bool}, toDecimal64({line:String}, 5), '', 'test', now64(3, 'UTC')`,
		store.P("customer", customer), store.P("account", b.account), store.P("type", b.typ),
		store.P("amount", b.amount), store.P("currency", b.currency),
		store.P("as_of", strconv.FormatInt(mustTime(t, b.asOf).UnixMilli(), 10)),
		store.P("included", strconv.FormatBool(b.creditLineIncluded)), store.P("line", b.creditLine))
}

// credit is a booked transaction, booked at midnight UTC of date, on
// account (acc-1 when empty). A negative amount makes it a debit.
type credit struct {
	key, date, amount, counterparty, description, account string
}

// insertCredits stores credits as booked transactions with ingested_at
// set to ingestedAt.
func insertCredits(t *testing.T, e store.Engine, customer string, ingestedAt time.Time, credits ...credit) {
	t.Helper()
	for _, c := range credits {
		booked := mustTime(t, c.date+"T00:00:00Z")
		if c.account == "" {
			c.account = "acc-1"
		}
		exec(t, e, `INSERT INTO transactions (customer_id, account_id, transaction_key, transaction_id, status, booking_time,
    booking_date, amount, currency, description, counterparty, bank_tx_code, bank_tx_subcode, category, category_rule,
    content_hash, source, ingested_at)
SELECT {customer:String}, {account:String}, {key:String}, {key:String}, 'booked', fromUnixTimestamp64Milli({booked:Int64}, 'UTC'),
       toDate32({date:String}), toDecimal64({amount:String}, 5), 'GBP', {description:String}, {counterparty:String},
       'ReceivedCreditTransfer', 'DomesticCreditTransfer', 'uncategorized', '', '', 'test',
       fromUnixTimestamp64Milli({ingested:Int64}, 'UTC')`,
			store.P("customer", customer), store.P("account", c.account), store.P("key", c.key), store.P("booked", strconv.FormatInt(booked.UnixMilli(), 10)),
			store.P("date", c.date), store.P("amount", c.amount), store.P("description", c.description),
			store.P("counterparty", c.counterparty), store.P("ingested", strconv.FormatInt(ingestedAt.UnixMilli(), 10)))
	}
}

// salaries returns monthly salary credits from one employer on the dates.
func salaries(payer string, dates ...string) []credit {
	out := make([]credit, len(dates))
	for i, d := range dates {
		out[i] = credit{key: payer + d, date: d, amount: "2100.00", counterparty: payer, description: payer + " SALARY"}
	}
	return out
}

func derive1(t *testing.T, d *Deriver, customer string, req insights.ClaimRequest, now time.Time) insights.ClaimResult {
	t.Helper()
	res, err := d.Derive(context.Background(), customer, []insights.ClaimRequest{req}, now)
	if err != nil {
		t.Fatalf("Derive: %v", err)
	}
	if len(res) != 1 {
		t.Fatalf("Derive returned %d results, want 1", len(res))
	}
	if res[0].Request != req {
		t.Errorf("result Request = %+v, want %+v", res[0].Request, req)
	}
	return res[0]
}

var errBroken = errors.New("engine broken for test")

// brokenEngine fails every call, to drive the storage error paths.
type brokenEngine struct{}

func (brokenEngine) Exec(context.Context, string, ...store.Param) error { return errBroken }
func (brokenEngine) Query(context.Context, string, ...store.Param) (store.Rows, error) {
	return nil, errBroken
}
func (brokenEngine) InsertArrow(context.Context, string, arrow.RecordBatch) error { return errBroken }
func (brokenEngine) Database() string                                             { return "broken" }
func (brokenEngine) Close() error                                                 { return nil }
