package main

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

// insertPulls stores two pulls of alice's consent at the demo bank, as a
// bank refresh records them: a complete one and a later incomplete one
// with two problems.
func insertPulls(t *testing.T, dataDir string) {
	t.Helper()
	engine := openTestStorage(t, dataDir)
	defer engine.Close()
	for _, statement := range []string{
		`INSERT INTO bank_consents (consent_id, customer_id, bank_id, status, updated_at)
VALUES ('bc_1', 'alice', 'demo', 'authorised', now64(3, 'UTC'))`,
		`INSERT INTO pulls (pull_id, consent_id, customer_id, started_at, finished_at, outcome, pages, transactions, problems)
VALUES ('p1', 'bc_1', 'alice', '2026-11-02 09:00:00', '2026-11-02 09:00:01.250', 'complete', 12, 544, []),
       ('p2', 'bc_1', 'alice', '2026-11-03 09:00:00', '2026-11-03 09:00:02', 'incomplete', 3, 80,
        ['page loop at /open-banking/v3.1/aisp/accounts/A1/transactions?page=2', 'second problem'])`,
	} {
		if err := engine.Exec(context.Background(), statement); err != nil {
			t.Fatal(err)
		}
	}
}

func TestPulls_listAndFilter(t *testing.T) {
	dataDir := t.TempDir()
	if out := mustCLI(t, "pulls", "-data", dataDir); !strings.Contains(out, "no pulls recorded") {
		t.Errorf("empty list = %q", out)
	}
	insertPulls(t, dataDir)

	out := mustCLI(t, "pulls", "-data", dataDir)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 3 {
		t.Fatalf("list has %d lines, want a header and two pulls:\n%s", len(lines), out)
	}
	for _, want := range []string{"2026-11-03T09:00:02Z", "alice", "demo", "bc_1", "incomplete", "page loop at", "(and 1 more)", "2s"} {
		if !strings.Contains(lines[1], want) {
			t.Errorf("newest pull lacks %q: %s", want, lines[1])
		}
	}
	for _, want := range []string{"complete", "544", "1.25s"} {
		if !strings.Contains(lines[2], want) {
			t.Errorf("older pull lacks %q: %s", want, lines[2])
		}
	}

	var pulls []map[string]any
	if err := json.Unmarshal([]byte(mustCLI(t, "pulls", "-data", dataDir, "-outcome", "incomplete", "-json")), &pulls); err != nil {
		t.Fatal(err)
	}
	if len(pulls) != 1 || pulls[0]["pull_id"] != "p2" {
		t.Fatalf("incomplete pulls = %v, want p2", pulls)
	}
	if problems, _ := pulls[0]["problems"].([]any); len(problems) != 2 {
		t.Errorf("problems of p2 = %v, want both", pulls[0]["problems"])
	}
	if out := mustCLI(t, "pulls", "-data", dataDir, "-customer", "bob"); !strings.Contains(out, "no recorded pulls match") {
		t.Errorf("bob's pulls = %q", out)
	}
}

func TestPulls_invalidFlags(t *testing.T) {
	dataDir := t.TempDir()
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"-outcome", "done"}, `-outcome "done"`},
		{[]string{"-limit", "-2"}, "-limit -2"},
	} {
		_, err := cli(t, append([]string{"pulls", "-data", dataDir}, tc.args...)...)
		var exit exitError
		if !errors.As(err, &exit) || exit.code != 2 || !strings.Contains(exit.msg, tc.want) {
			t.Errorf("pulls %v: %v, want exit 2 naming %s", tc.args, err, tc.want)
		}
	}
}
