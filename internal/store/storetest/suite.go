package storetest

import (
	"context"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/openbanking-insights/insights/internal/store"
)

// Suite checks what the service relies on from a storage engine: value
// types, query parameters, migrations, deduplication of replaced rows and
// of insert tokens, Arrow inserts and partition drops. open returns a fresh,
// migrated engine; each engine's tests call Suite with its own.
func Suite(t *testing.T, open func(testing.TB) store.Engine) {
	t.Run("scan types", func(t *testing.T) { checkScanTypes(t, open(t)) })
	t.Run("query parameters", func(t *testing.T) { checkParameters(t, open(t)) })
	t.Run("migrate twice", func(t *testing.T) { checkMigrateTwice(t, open(t)) })
	t.Run("final keeps newest row", func(t *testing.T) { checkFinal(t, open(t)) })
	t.Run("insert token deduplicates", func(t *testing.T) { checkInsertToken(t, open(t)) })
	t.Run("insert arrow", func(t *testing.T) { checkInsertArrow(t, open(t)) })
	t.Run("drop partition", func(t *testing.T) { checkDropPartition(t, open(t)) })
}

func queryInt(t *testing.T, e store.Engine, query string, params ...store.Param) int64 {
	t.Helper()
	rows, err := e.Query(context.Background(), query, params...)
	if err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	defer rows.Close()
	var n int64
	if !rows.Next() {
		t.Fatalf("%s: no row (err %v)", query, rows.Err())
	}
	if err := rows.Scan(&n); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return n
}

func exec(t *testing.T, e store.Engine, query string, params ...store.Param) {
	t.Helper()
	if err := e.Exec(context.Background(), query, params...); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
}

func checkScanTypes(t *testing.T, e store.Engine) {
	rows, err := e.Query(context.Background(),
		"SELECT 'text', toInt64(-7), toUInt64(18446744073709551615), toFloat64(2.5), true, ['a', 'b']")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	if !rows.Next() {
		t.Fatalf("no row: %v", rows.Err())
	}
	var (
		s   string
		i   int64
		u   uint64
		f   float64
		b   bool
		arr []string
	)
	if err := rows.Scan(&s, &i, &u, &f, &b, &arr); err != nil {
		t.Fatal(err)
	}
	if s != "text" || i != -7 || u != 18446744073709551615 || f != 2.5 || !b || strings.Join(arr, ",") != "a,b" {
		t.Errorf("scanned %q %d %d %v %v %v", s, i, u, f, b, arr)
	}
}

func checkParameters(t *testing.T, e store.Engine) {
	// Backslashes, line breaks and tabs would be read as escape sequences
	// or separators if the engine passed the value through unescaped.
	hostile := "it's \"quoted\"; DROP TABLE clients -- {v:String}\nline two\twith \\n and a trailing \\"
	rows, err := e.Query(context.Background(), "SELECT {v:String}, length({v:String})", store.P("v", hostile))
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	if !rows.Next() {
		t.Fatalf("no row: %v", rows.Err())
	}
	var got string
	var n int64
	if err := rows.Scan(&got, &n); err != nil {
		t.Fatal(err)
	}
	if got != hostile || n != int64(len(hostile)) {
		t.Errorf("parameter came back as %q (length %d), want %q", got, n, hostile)
	}

	// An Array(String) value is an array literal whose elements carry their
	// own quote escaping, under the escaping of the parameter itself.
	literal := `['it\'s','back\\slash']`
	arrayRows, err := e.Query(context.Background(), "SELECT {a:Array(String)}", store.P("a", literal))
	if err != nil {
		t.Fatal(err)
	}
	defer arrayRows.Close()
	if !arrayRows.Next() {
		t.Fatalf("no row: %v", arrayRows.Err())
	}
	var elements []string
	if err := arrayRows.Scan(&elements); err != nil {
		t.Fatal(err)
	}
	if want := []string{"it's", `back\slash`}; strings.Join(elements, "|") != strings.Join(want, "|") {
		t.Errorf("array parameter came back as %q, want %q", elements, want)
	}
}

func checkMigrateTwice(t *testing.T, e store.Engine) {
	if err := store.Migrate(context.Background(), e, nil); err != nil {
		t.Fatalf("second migrate: %v", err)
	}
	migrations, err := store.Migrations()
	if err != nil {
		t.Fatal(err)
	}
	if n := queryInt(t, e, "SELECT toInt64(count()) FROM schema_migrations FINAL"); n != int64(len(migrations)) {
		t.Errorf("schema_migrations has %d versions, want %d", n, len(migrations))
	}
}

func checkFinal(t *testing.T, e store.Engine) {
	insert := `INSERT INTO accounts (customer_id, account_id, nickname, ingested_at)
VALUES ({c:String}, 'acc-1', {nick:String}, fromUnixTimestamp64Milli({at:Int64}, 'UTC'))`
	for i, c := range []string{"cust-a", "cust-b", "cust-c"} {
		exec(t, e, insert, store.P("c", c), store.P("nick", "old"), store.P("at", "1000"))
		exec(t, e, insert, store.P("c", c), store.P("nick", "new"), store.P("at", "2000"))
		if n := queryInt(t, e, "SELECT toInt64(count()) FROM accounts FINAL WHERE customer_id = {c:String}", store.P("c", c)); n != 1 {
			t.Errorf("customer %d: %d rows after FINAL, want 1", i, n)
		}
	}
	if n := queryInt(t, e, "SELECT toInt64(countIf(nickname = 'new')) FROM accounts FINAL"); n != 3 {
		t.Errorf("%d accounts kept the newest row, want 3", n)
	}
}

func checkInsertToken(t *testing.T, e store.Engine) {
	insert := `INSERT INTO job_leases (job, term, holder, acquired_at, expires_at)
SETTINGS insert_deduplicate = 1, insert_deduplication_token = 'suite/1'
VALUES ('suite', 1, {holder:String}, now64(3), now64(3))`
	exec(t, e, insert, store.P("holder", "first"))
	exec(t, e, insert, store.P("holder", "second"))
	if n := queryInt(t, e, "SELECT toInt64(count()) FROM job_leases WHERE job = 'suite'"); n != 1 {
		t.Errorf("two inserts with one deduplication token stored %d rows, want 1", n)
	}
	if n := queryInt(t, e, "SELECT toInt64(countIf(holder = 'first')) FROM job_leases WHERE job = 'suite'"); n != 1 {
		t.Error("the stored row is not the first insert's")
	}
}

func checkInsertArrow(t *testing.T, e store.Engine) {
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "customer_id", Type: arrow.BinaryTypes.String},
		{Name: "party_id", Type: arrow.BinaryTypes.String},
		{Name: "name", Type: arrow.BinaryTypes.String},
	}, nil)
	b := array.NewRecordBuilder(memory.NewGoAllocator(), schema)
	defer b.Release()
	for i, c := range []string{"cust-a", "cust-b", "cust-c", "cust-d"} {
		b.Field(0).(*array.StringBuilder).Append(c)
		b.Field(1).(*array.StringBuilder).Append("party")
		b.Field(2).(*array.StringBuilder).Append(strings.Repeat("n", i+1))
	}
	rec := b.NewRecordBatch()
	defer rec.Release()
	if err := e.InsertArrow(context.Background(), "parties", rec); err != nil {
		t.Fatalf("InsertArrow: %v", err)
	}
	if n := queryInt(t, e, "SELECT toInt64(sum(length(name))) FROM parties"); n != 10 {
		t.Errorf("stored name lengths sum to %d, want 10", n)
	}
}

func checkDropPartition(t *testing.T, e store.Engine) {
	insert := `INSERT INTO transactions_staging (load_id, seq, customer_id, account_id, transaction_key)
VALUES ({load:String}, 1, {c:String}, 'acc', 'tx')`
	for _, c := range []string{"cust-a", "cust-b", "cust-c"} {
		exec(t, e, insert, store.P("load", "load-1"), store.P("c", c))
		exec(t, e, insert, store.P("load", "load-2"), store.P("c", c))
	}
	exec(t, e, "ALTER TABLE transactions_staging DROP PARTITION 'load-1'")
	if n := queryInt(t, e, "SELECT toInt64(count()) FROM transactions_staging WHERE load_id = 'load-1'"); n != 0 {
		t.Errorf("%d rows of the dropped partition remain", n)
	}
	if n := queryInt(t, e, "SELECT toInt64(count()) FROM transactions_staging WHERE load_id = 'load-2'"); n != 3 {
		t.Errorf("%d rows of the kept partition remain, want 3", n)
	}
}
