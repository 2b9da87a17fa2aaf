package ingest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	insights "github.com/openbanking-insights/insights"
	"github.com/openbanking-insights/insights/internal/obie"
	"github.com/openbanking-insights/insights/internal/store"
	"github.com/openbanking-insights/insights/internal/store/storetest"
	// The service hashes files with lukechampine.com/blake3. This other
	// implementation, which it used before, checks the digests against it.
	"github.com/zeebo/blake3"
)

func TestMain(m *testing.M) { storetest.Main(m) }

const testdata = "../../testdata/obie/"

var fixedNow = time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC)

func newLoader(t *testing.T, engine store.Engine) *Loader {
	t.Helper()
	tick := fixedNow
	return &Loader{
		Engine: engine,
		// Each load gets a later ingested_at, as real loads do.
		Now: func() time.Time { tick = tick.Add(time.Second); return tick },
	}
}

// writeTemp writes data to a new file in a temporary folder, so
// a test can load content under a name and hash of its choosing.
func writeTemp(t *testing.T, name string, data []byte) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func mustCounts(t *testing.T, l *Loader, customer string) Counts {
	t.Helper()
	c, err := l.Counts(context.Background(), customer)
	if err != nil {
		t.Fatalf("Counts: %v", err)
	}
	return c
}

func physicalRows(t *testing.T, engine store.Engine, table, customer string) int {
	t.Helper()
	n, err := countRows(context.Background(), engine, table, customer, false)
	if err != nil {
		t.Fatalf("count %s: %v", table, err)
	}
	return n
}

// TestLoadFile_loadTwiceSameCounts loads files twice, hashing each file
// before staging it and while staging it (as LoadFile does for large
// files): the second loads are skipped, store nothing and leave no load
// table behind.
func TestLoadFile_loadTwiceSameCounts(t *testing.T) {
	files := []string{
		"v3.1/accounts/cs-ozone-bulk-five-accounts.json",
		"v3.1/transactions/cs-ozone-bulk-large.json",
		"v3.1.11/balances/bulk.json",
		"v3.1.11/parties/account-parties-company-and-official.json",
	}
	for _, tc := range []struct {
		name             string
		hashWhileStaging int64
	}{
		{"hashed before staging", 0},
		{"hashed while staging", 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			engine := storetest.New(t)
			l := newLoader(t, engine)
			l.hashWhileStaging = tc.hashWhileStaging

			for _, f := range files {
				res, err := l.LoadFile(ctx, "c1", testdata+f)
				if err != nil {
					t.Fatalf("first load of %s: %v", f, err)
				}
				if res.Skipped {
					t.Errorf("first load of %s skipped", f)
				}
			}
			first := mustCounts(t, l, "c1")
			want := Counts{Accounts: 5, Balances: 2, Parties: 2, Transactions: 315, Loads: 4}
			if first != want {
				t.Fatalf("counts after first load = %+v, want %+v", first, want)
			}
			physical := physicalRows(t, engine, "transactions", "c1")

			for _, f := range files {
				res, err := l.LoadFile(ctx, "c1", testdata+f)
				if err != nil {
					t.Fatalf("second load of %s: %v", f, err)
				}
				if !res.Skipped {
					t.Errorf("second load of %s not skipped", f)
				}
			}
			if got := mustCounts(t, l, "c1"); got != first {
				t.Errorf("counts after second load = %+v, want %+v", got, first)
			}
			if got := physicalRows(t, engine, "transactions", "c1"); got != physical {
				t.Errorf("physical transaction rows after second load = %d, want %d", got, physical)
			}
			if tables := loadTables(t, engine); len(tables) != 0 {
				t.Errorf("load tables left after the skipped loads: %v", tables)
			}
		})
	}
}

// TestCheckFile_largeFileDigest hashes a file of several copy buffers,
// not a multiple of BLAKE3's chunk size, and compares the digest with
// another implementation's. Files loaded before keep their digests.
func TestCheckFile_largeFileDigest(t *testing.T) {
	l := newLoader(t, storetest.New(t))
	data := make([]byte, 5<<20+12345)
	r := rand.New(rand.NewPCG(3, 4))
	for i := range data {
		data[i] = byte(r.Uint32())
	}
	path := filepath.Join(t.TempDir(), "feed.ndjson")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()

	check := l.checkFile(context.Background(), "c1", path, f)
	if check.err != nil {
		t.Fatal(check.err)
	}
	want := blake3.Sum256(data)
	if check.digest != fileDigestPrefix+hex.EncodeToString(want[:]) {
		t.Errorf("digest = %s, want %s%x", check.digest, fileDigestPrefix, want)
	}
	if check.loaded {
		t.Error("a file never loaded is reported as loaded")
	}
}

// TestLoadFile_digest checks the digest a file load records, and that a
// file recorded by its SHA-256, as loads were before BLAKE3, is loaded
// again without storing anything new.
func TestLoadFile_digest(t *testing.T) {
	ctx := context.Background()
	engine := storetest.New(t)
	l := newLoader(t, engine)
	path := testdata + "v3.1/transactions/cs-ozone-bulk-large.json"
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	b3 := blake3.Sum256(data)
	want := "blake3:" + hex.EncodeToString(b3[:])
	if _, err := l.LoadFile(ctx, "c1", path); err != nil {
		t.Fatal(err)
	}
	n, err := l.count(ctx, "SELECT count() FROM loads WHERE customer_id = 'c1' AND sha256 = {d:String}", store.P("d", want))
	if err != nil || n != 1 {
		t.Fatalf("loads rows with digest %s = %d, %v; want 1", want, n, err)
	}

	// Record the load the old way, as a store written before BLAKE3 has it.
	old := sha256.Sum256(data)
	for _, q := range []string{
		"ALTER TABLE loads DELETE WHERE customer_id = 'c1' SETTINGS mutations_sync = 1",
		"INSERT INTO loads (customer_id, sha256, source, loaded_at) VALUES ('c1', {d:String}, 'old', now64(3))",
	} {
		if err := engine.Exec(ctx, q, store.P("d", hex.EncodeToString(old[:]))); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	before, physical := mustCounts(t, l, "c1"), physicalRows(t, engine, "transactions", "c1")
	res, err := l.LoadFile(ctx, "c1", path)
	if err != nil {
		t.Fatal(err)
	}
	if res.Skipped || res.Unchanged == 0 {
		t.Errorf("reload of a file recorded by SHA-256: Skipped %v, Unchanged %d; want it read and found stored", res.Skipped, res.Unchanged)
	}
	after := mustCounts(t, l, "c1")
	after.Loads = before.Loads
	if after != before || physicalRows(t, engine, "transactions", "c1") != physical {
		t.Errorf("reload stored rows: counts %+v, want %+v", after, before)
	}
}

// TestLoadFile_noRecords loads files without records: each is reported as
// empty, stores nothing, records no load and leaves no load table, so a
// second load of it is read again instead of skipped.
func TestLoadFile_noRecords(t *testing.T) {
	for _, tc := range []struct {
		name, file, content string
	}{
		{"empty NDJSON", "feed.ndjson", ""},
		{"NDJSON of blank lines", "feed.ndjson", "\n  \n\t\n"},
		{"page without transactions", "page.json",
			`{"Data":{"Transaction":[]},"Links":{"Self":"https://bank.example/accounts/a1/transactions"},"Meta":{"TotalPages":1}}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			engine := storetest.New(t)
			l := newLoader(t, engine)
			path := writeTemp(t, tc.file, []byte(tc.content))

			for _, attempt := range []string{"first", "second"} {
				res, err := l.LoadFile(ctx, "c1", path)
				if err != nil {
					t.Fatalf("%s load: %v", attempt, err)
				}
				if !res.Empty || res.Skipped {
					t.Errorf("%s load: Empty = %v, Skipped = %v, want Empty and not Skipped", attempt, res.Empty, res.Skipped)
				}
			}
			if got := mustCounts(t, l, "c1"); got != (Counts{}) {
				t.Errorf("counts = %+v, want none", got)
			}
			if tables := loadTables(t, engine); len(tables) != 0 {
				t.Errorf("load tables left: %v", tables)
			}
		})
	}
}

func TestLoadFile_sameContentNewFileStoredOnce(t *testing.T) {
	ctx := context.Background()
	engine := storetest.New(t)
	l := newLoader(t, engine)
	data, err := os.ReadFile(testdata + "v3.1/transactions/cs-ozone-bulk-large.json")
	if err != nil {
		t.Fatal(err)
	}

	if _, err := l.LoadFile(ctx, "c1", writeTemp(t, "a.json", data)); err != nil {
		t.Fatal(err)
	}
	// A trailing newline changes the file hash but none of its records.
	res, err := l.LoadFile(ctx, "c1", writeTemp(t, "b.json", append(data, '\n')))
	if err != nil {
		t.Fatal(err)
	}
	if res.Skipped {
		t.Fatal("second file skipped although its hash differs")
	}
	if res.Unchanged != 315 {
		t.Errorf("Unchanged = %d, want 315", res.Unchanged)
	}
	if n := physicalRows(t, engine, "transactions", "c1"); n != 315 {
		t.Errorf("physical transaction rows = %d, want 315", n)
	}
}

func TestLoadFile_changedContentReplaces(t *testing.T) {
	ctx := context.Background()
	engine := storetest.New(t)
	l := newLoader(t, engine)
	data, err := os.ReadFile(testdata + "v3.1.11/transactions/bulk.json")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.LoadFile(ctx, "c1", writeTemp(t, "a.json", data)); err != nil {
		t.Fatal(err)
	}

	// The bank corrects the narrative of TransactionId 123.
	changed := strings.Replace(string(data), "Cash from Aubrey", "Cash from A.", 1)
	res, err := l.LoadFile(ctx, "c1", writeTemp(t, "b.json", []byte(changed)))
	if err != nil {
		t.Fatal(err)
	}
	if res.Unchanged != 1 {
		t.Errorf("Unchanged = %d, want 1", res.Unchanged)
	}
	if got := mustCounts(t, l, "c1").Transactions; got != 2 {
		t.Errorf("transactions = %d, want 2", got)
	}
	if n := physicalRows(t, engine, "transactions", "c1"); n != 3 {
		t.Errorf("physical transaction rows = %d, want 3", n)
	}

	rows, err := engine.Query(ctx, `SELECT description FROM transactions FINAL
WHERE customer_id = 'c1' AND transaction_key = 'id:123'`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var desc string
	if !rows.Next() {
		t.Fatal("transaction id:123 not stored")
	}
	if err := rows.Scan(&desc); err != nil {
		t.Fatal(err)
	}
	if desc != "Cash from A." {
		t.Errorf("description = %q, want the corrected one", desc)
	}
}

func TestLoadFile_invalidStoresNothing(t *testing.T) {
	ctx := context.Background()
	engine := storetest.New(t)
	l := newLoader(t, engine)
	if _, err := l.LoadFile(ctx, "c1", testdata+"v3.1.11/transactions/bulk.json"); err != nil {
		t.Fatal(err)
	}
	before := mustCounts(t, l, "c1")

	// The first record is valid, the second has a signed amount: the file
	// must be rejected whole.
	ndjson := `{"Transaction":{"AccountId":"A1","CreditDebitIndicator":"Credit","Status":"Booked","BookingDateTime":"2024-05-01T09:00:00Z","Amount":{"Amount":"1.00","Currency":"GBP"}}}
{"Transaction":{"AccountId":"A1","CreditDebitIndicator":"Debit","Status":"Booked","BookingDateTime":"2024-05-01T09:00:00Z","Amount":{"Amount":"-5","Currency":"GBP"}}}
`
	for _, path := range []string{
		writeTemp(t, "bad.ndjson", []byte(ndjson)),
		testdata + "v4.0/transactions/single-account.invalid.json",
		testdata + "v3.1/accounts/cs-schema-invalid-misspelt-keys.json",
	} {
		_, err := l.LoadFile(ctx, "c1", path)
		var list *obie.ErrorList
		if !errors.As(err, &list) {
			t.Fatalf("LoadFile(%s) error = %v, want an *obie.ErrorList", filepath.Base(path), err)
		}
		if after := mustCounts(t, l, "c1"); after != before {
			t.Errorf("counts after %s = %+v, want unchanged %+v", filepath.Base(path), after, before)
		}
	}
}

func TestLoadFile_bstMidnightBookingDate(t *testing.T) {
	ctx := context.Background()
	engine := storetest.New(t)
	l := newLoader(t, engine)
	// A bank that books by date sends UK midnight in UTC: in British Summer
	// Time, 23:00Z on the previous day.
	ndjson := `{"Transaction":{"AccountId":"A1","TransactionId":"t1","CreditDebitIndicator":"Credit","Status":"Booked","BookingDateTime":"2017-06-30T23:00:00.000Z","Amount":{"Amount":"2500.00","Currency":"GBP"}}}
{"Transaction":{"AccountId":"A1","TransactionId":"t2","CreditDebitIndicator":"Debit","Status":"Booked","BookingDateTime":"2017-01-02T00:00:00.000Z","Amount":{"Amount":"6.2","Currency":"GBP"}}}
`
	if _, err := l.LoadFile(ctx, "c1", writeTemp(t, "bst.ndjson", []byte(ndjson))); err != nil {
		t.Fatal(err)
	}

	rows, err := engine.Query(ctx, `SELECT transaction_id, toString(booking_date), toString(amount)
FROM transactions FINAL WHERE customer_id = 'c1' ORDER BY transaction_id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	want := [][3]string{{"t1", "2017-07-01", "2500"}, {"t2", "2017-01-02", "-6.2"}}
	var got [][3]string
	for rows.Next() {
		var r [3]string
		if err := rows.Scan(&r[0], &r[1], &r[2]); err != nil {
			t.Fatal(err)
		}
		got = append(got, r)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Fatalf("rows = %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("row %d = %v, want %v", i, got[i], want[i])
		}
	}
}

type stubCategorizer struct{}

func (stubCategorizer) Categorize(t *insights.Transaction) {
	if t.Amount > 0 {
		t.Category, t.CategoryRule = insights.CategoryOtherIncome, "test.credit"
	}
}

func TestLoadFile_storedColumns(t *testing.T) {
	ctx := context.Background()
	engine := storetest.New(t)
	l := newLoader(t, engine)
	l.Categorizer = stubCategorizer{}
	for _, f := range []string{
		"v3.1.11/transactions/bulk.json",
		"v3.1.11/balances/single-account-creditline-included-in-credit.json",
		"v3.1.11/party/account-party-owner.json",
		"v4.0/accounts/bulk-detail-permission.json",
	} {
		if _, err := l.LoadFile(ctx, "c1", testdata+f); err != nil {
			t.Fatalf("load %s: %v", f, err)
		}
	}

	tests := []struct {
		name  string
		query string
		want  string
	}{
		{"debit amount", "SELECT toString(amount) FROM transactions FINAL WHERE transaction_id = '567'", "-100"},
		{"credit category", "SELECT toString(category) FROM transactions FINAL WHERE transaction_id = '123'", "income.other"},
		{"debit uncategorized", "SELECT toString(category) FROM transactions FINAL WHERE transaction_id = '567'", "uncategorized"},
		{"value time", "SELECT toString(value_time) FROM transactions FINAL WHERE transaction_id = '123'", "2017-04-05 10:45:22.000"},
		{"balance", "SELECT toString(amount) FROM balances FINAL", "800"},
		{"credit line", "SELECT toString(credit_line) FROM balances FINAL", "500"},
		{"credit line included", "SELECT toString(credit_line_included) FROM balances FINAL", "true"},
		{"party post code", "SELECT post_code FROM parties FINAL", "NW1 1AB"},
		{"party address line", "SELECT address_lines[1] FROM parties FINAL", "15 Street"},
		{"party no birth date", "SELECT toString(isNull(birth_date)) FROM parties FINAL", "1"},
		{"v4 account type", "SELECT toString(account_sub_type) FROM accounts FINAL WHERE account_id = '22289'", "CurrentAccount"},
		{"v4 account category", "SELECT toString(account_type) FROM accounts FINAL WHERE account_id = '22289'", "Personal"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rows, err := engine.Query(ctx, tt.query)
			if err != nil {
				t.Fatal(err)
			}
			defer rows.Close()
			if !rows.Next() {
				t.Fatalf("no row; err = %v", rows.Err())
			}
			var got string
			if err := rows.Scan(&got); err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestLoadFile_birthDateExtension(t *testing.T) {
	ctx := context.Background()
	engine := storetest.New(t)
	l := newLoader(t, engine)
	ndjson := `{"Party":{"PartyId":"P1","Name":"Test Person","BirthDate":"2000-02-29","Address":{"AddressType":"Residential","AddressLine":["1 High St"],"TownName":"Leeds","PostCode":"LS1 1AA","Country":"UK"}}}` + "\n"
	if _, err := l.LoadFile(ctx, "c1", writeTemp(t, "party.ndjson", []byte(ndjson))); err != nil {
		t.Fatal(err)
	}

	rows, err := engine.Query(ctx, "SELECT toString(birth_date), toString(country) FROM parties FINAL WHERE customer_id = 'c1'")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	if !rows.Next() {
		t.Fatalf("no party stored; err = %v", rows.Err())
	}
	var birth, country string
	if err := rows.Scan(&birth, &country); err != nil {
		t.Fatal(err)
	}
	if birth != "2000-02-29" {
		t.Errorf("birth_date = %q, want 2000-02-29", birth)
	}
	if country != "GB" {
		t.Errorf("country = %q, want GB", country)
	}
}

func TestLoadFile_customersSeparate(t *testing.T) {
	ctx := context.Background()
	engine := storetest.New(t)
	l := newLoader(t, engine)
	path := testdata + "v3.1.11/transactions/bulk.json"
	if _, err := l.LoadFile(ctx, "c1", path); err != nil {
		t.Fatal(err)
	}
	res, err := l.LoadFile(ctx, "c2", path)
	if err != nil {
		t.Fatal(err)
	}
	if res.Skipped {
		t.Error("file loaded for c1 was skipped for c2")
	}
	if got := mustCounts(t, l, "c2").Transactions; got != 2 {
		t.Errorf("c2 transactions = %d, want 2", got)
	}
}

// TestLoadFile_notRegularFiles checks that a directory and a named pipe
// are rejected with an error naming them before anything is read or
// staged (opening a pipe with no writer would block).
func TestLoadFile_notRegularFiles(t *testing.T) {
	engine := storetest.New(t)
	l := newLoader(t, engine)
	dir := t.TempDir()
	pipe := filepath.Join(dir, "feed.ndjson")
	if err := syscall.Mkfifo(pipe, 0o600); err != nil {
		t.Fatalf("mkfifo: %v", err)
	}
	for _, tc := range []struct {
		path, want string
	}{
		{dir, "is a directory"},
		{pipe, "is not a regular file"},
	} {
		_, err := l.LoadFile(context.Background(), "c1", tc.path)
		if err == nil || !strings.Contains(err.Error(), tc.path+" "+tc.want) {
			t.Errorf("LoadFile(%s) error = %v, want one containing %q", tc.path, err, tc.want)
		}
	}
	if tables := loadTables(t, engine); len(tables) != 0 {
		t.Errorf("load tables left: %v", tables)
	}
}
