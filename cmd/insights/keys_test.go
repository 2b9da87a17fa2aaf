package main

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/openbanking-insights/insights/internal/attest"
)

// listedKeys runs `insights keys list` and returns its rows after the
// header, each split into fields.
func listedKeys(t *testing.T, dataDir string) [][]string {
	t.Helper()
	out := mustCLI(t, "keys", "list", "-data", dataDir)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) == 0 || !strings.HasPrefix(lines[0], "KID") {
		t.Fatalf("keys list has no header:\n%s", out)
	}
	var rows [][]string
	for _, line := range lines[1:] {
		rows = append(rows, strings.Fields(line))
	}
	return rows
}

// backdateKeyFile renames the key file of kid so that its name states
// created as its creation time.
func backdateKeyFile(t *testing.T, dir, kid string, created time.Time) {
	t.Helper()
	matches, err := filepath.Glob(filepath.Join(dir, "*-"+kid+".jwk"))
	if err != nil || len(matches) != 1 {
		t.Fatalf("key files of kid %s = %v (%v); want one", kid, matches, err)
	}
	name := created.UTC().Format("20060102T150405Z") + "-" + kid + ".jwk"
	if err := os.Rename(matches[0], filepath.Join(dir, name)); err != nil {
		t.Fatal(err)
	}
}

func TestKeys_rotateListPrune(t *testing.T) {
	dataDir := t.TempDir()
	dir := keyDir(dataDir)
	keys, err := attest.LoadOrCreateKeys(dir)
	if err != nil {
		t.Fatal(err)
	}
	first := keys.SigningKeyID()

	rows := listedKeys(t, dataDir)
	if len(rows) != 1 || rows[0][0] != first || rows[0][1] != "ES256" || rows[0][3] != "signing" {
		t.Fatalf("keys list before rotation = %v; want one signing ES256 key %s", rows, first)
	}

	out := mustCLI(t, "keys", "rotate", "-data", dataDir, "-signing-alg", "EdDSA")
	rows = listedKeys(t, dataDir)
	if len(rows) != 2 {
		t.Fatalf("keys list after rotation = %v; want two keys", rows)
	}
	second := rows[1][0]
	if !strings.Contains(out, "kid "+second) || !strings.Contains(out, first) {
		t.Errorf("rotate output %q does not name the new kid %s and the previous kid %s", out, second, first)
	}
	wantStates := []struct{ kid, alg, state string }{{first, "ES256", "published"}, {second, "EdDSA", "signing"}}
	for i, w := range wantStates {
		if rows[i][0] != w.kid || rows[i][1] != w.alg || rows[i][3] != w.state {
			t.Errorf("row %d = %v; want kid %s, alg %s, state %s", i, rows[i], w.kid, w.alg, w.state)
		}
	}

	out = mustCLI(t, "keys", "prune", "-data", dataDir)
	if !strings.Contains(out, "no key to retire") {
		t.Errorf("prune right after rotation printed %q; want nothing retired", out)
	}

	// Backdating the second key's creation backdates the moment the first
	// key stopped signing past the token lifetime and the margin.
	backdateKeyFile(t, dir, first, time.Now().Add(-72*time.Hour))
	backdateKeyFile(t, dir, second, time.Now().Add(-48*time.Hour))
	out = mustCLI(t, "keys", "prune", "-data", dataDir, "-token-lifetime", "1h")
	if strings.TrimSpace(out) != "retired kid "+first {
		t.Errorf("prune printed %q; want the first kid retired", out)
	}
	rows = listedKeys(t, dataDir)
	if len(rows) != 2 || rows[0][0] != first || rows[0][3] != "retired" || rows[1][3] != "signing" {
		t.Errorf("keys list after pruning = %v; want the first key retired and the second signing", rows)
	}
}

func TestKeys_rejects(t *testing.T) {
	emptyData := t.TempDir()
	if err := os.Mkdir(keyDir(emptyData), 0o700); err != nil {
		t.Fatal(err)
	}
	missingData := filepath.Join(t.TempDir(), "absent")

	tests := []struct {
		name     string
		args     []string
		wantCode int // 0 when the error is not an exitError
		wantErr  string
	}{
		{"no subcommand", []string{"keys"}, 2, "Usage: insights keys"},
		{"unknown subcommand", []string{"keys", "delete"}, 2, `unknown subcommand "delete"`},
		{"list missing dir", []string{"keys", "list", "-data", missingData}, 0, "check -data"},
		{"rotate missing dir", []string{"keys", "rotate", "-data", missingData}, 0, "check -data"},
		{"rotate empty dir", []string{"keys", "rotate", "-data", emptyData}, 0, "has no signing key"},
		{"prune empty dir", []string{"keys", "prune", "-data", emptyData}, 0, "has no signing key"},
		{"rotate HMAC", []string{"keys", "rotate", "-data", emptyData, "-signing-alg", "HS256"}, 2, `-signing-alg (INSIGHTS_SIGNING_ALG): signing algorithm "HS256"`},
		{"prune zero lifetime", []string{"keys", "prune", "-data", emptyData, "-token-lifetime", "0s"}, 2, "-token-lifetime 0s"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := cli(t, tt.args...)
			if err == nil {
				t.Fatalf("insights %s succeeded; want error containing %q", strings.Join(tt.args, " "), tt.wantErr)
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("error = %q; want it to contain %q", err, tt.wantErr)
			}
			var exit exitError
			code := 0
			if errors.As(err, &exit) {
				code = exit.code
			}
			if code != tt.wantCode {
				t.Errorf("exit code = %d; want %d", code, tt.wantCode)
			}
		})
	}
	if _, err := os.Stat(missingData); !os.IsNotExist(err) {
		t.Errorf("a failed keys command created %s", missingData)
	}
	if files, _ := filepath.Glob(filepath.Join(keyDir(emptyData), "*.jwk")); len(files) != 0 {
		t.Errorf("a failed keys command created key files %v", files)
	}
}

func TestServeConfig_keyFlags(t *testing.T) {
	tests := []struct {
		name, alg, rotation string
		wantErr             string // empty when valid
	}{
		{"defaults", "ES256", "@every 720h", ""},
		{"unset", "", "", ""},
		{"EdDSA monthly", "EdDSA", "0 4 1 * *", ""},
		{"rotation off", "ES256", "off", ""},
		{"HMAC", "HS256", "off", `-signing-alg (INSIGHTS_SIGNING_ALG): signing algorithm "HS256"`},
		{"lower-case alg", "eddsa", "off", `signing algorithm "eddsa"`},
		{"bad spec", "ES256", "every month", `-key-rotation (INSIGHTS_KEY_ROTATION) "every month"`},
		{"bad every", "ES256", "@every thirty days", `-key-rotation (INSIGHTS_KEY_ROTATION) "@every thirty days"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := serveConfig{
				Storage:    storageConfig{DataDir: t.TempDir()},
				Addr:       "127.0.0.1:0",
				RequestTTL: time.Minute, TokenLifetime: time.Minute, SessionTTL: time.Minute,
				SigningAlg: tt.alg, KeyRotation: tt.rotation,
			}
			err := cfg.validate()
			if tt.wantErr == "" {
				if err != nil {
					t.Errorf("validate: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("validate error = %v; want it to contain %q", err, tt.wantErr)
			}
		})
	}
}
