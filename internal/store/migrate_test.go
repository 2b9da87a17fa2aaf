package store_test

import (
	"context"
	"strings"
	"testing"

	"github.com/openbanking-insights/insights/internal/store"
	"github.com/openbanking-insights/insights/internal/store/storetest"
)

func TestMain(m *testing.M) { storetest.Main(m) }

func TestMigrate_idempotent(t *testing.T) {
	e := storetest.New(t) // applies every migration once
	ctx := context.Background()

	if err := store.Migrate(ctx, e, nil); err != nil {
		t.Fatalf("second migrate: %v", err)
	}
	migrations, err := store.Migrations()
	if err != nil {
		t.Fatal(err)
	}

	rows, err := e.Query(ctx, "SELECT toInt64(count()) FROM schema_migrations")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var n int64
	if !rows.Next() {
		t.Fatal("no count row")
	}
	if err := rows.Scan(&n); err != nil {
		t.Fatal(err)
	}
	if int(n) != len(migrations) {
		t.Errorf("schema_migrations has %d rows, want %d (one per migration)", n, len(migrations))
	}
}

func TestMigrations_tablesExist(t *testing.T) {
	e := storetest.New(t)
	want := []string{"accounts", "balances", "parties", "transactions", "loads", "income_streams",
		"clients", "consent_events", "attestations", "audit_log", "schema_migrations"}

	rows, err := e.Query(context.Background(),
		"SELECT name FROM system.tables WHERE database = {db:String}", store.P("db", e.Database()))
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	got := map[string]bool{}
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			t.Fatal(err)
		}
		got[name] = true
	}
	for _, name := range want {
		if !got[name] {
			t.Errorf("table %s missing after migration", name)
		}
	}
}

// TestMigrations_transactionsMergeWidth checks that merges of transactions
// take at most 50 parts (migration 0019), which bounds their memory.
func TestMigrations_transactionsMergeWidth(t *testing.T) {
	e := storetest.New(t)
	rows, err := e.Query(context.Background(),
		"SELECT engine_full FROM system.tables WHERE database = {db:String} AND name = 'transactions'",
		store.P("db", e.Database()))
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var engine string
	for rows.Next() {
		if err := rows.Scan(&engine); err != nil {
			t.Fatal(err)
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(engine, "max_parts_to_merge_at_once = 50") {
		t.Errorf("transactions engine = %q, want max_parts_to_merge_at_once = 50", engine)
	}
}
